/* raplsim_model.c - see raplsim_model.h. */
#include "raplsim_model.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void raplsim_curve_defaults(struct raplsim_curve *c)
{
	c->idle_w = 10;
	c->w_per_core = 15;
	c->exponent = 1.0;
	c->core_share = 0.8;
	c->core_idle_w = 2;
	c->dram_idle_w = 1.5;
	c->dram_w_per_core = 0.5;
	c->psys_extra_w = 5;
}

int raplsim_curve_check(const struct raplsim_curve *c, char *why, size_t cap)
{
	const struct {
		const char *name;
		double v;
	} p[] = {
		{ "idle watts", c->idle_w },          { "watts per core", c->w_per_core },
		{ "exponent", c->exponent },          { "core share", c->core_share },
		{ "core idle watts", c->core_idle_w }, { "dram idle watts", c->dram_idle_w },
		{ "dram watts per core", c->dram_w_per_core },
		{ "psys extra watts", c->psys_extra_w },
	};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		if (!isfinite(p[i].v) || p[i].v < 0 || p[i].v > 100000) {
			snprintf(why, cap, "%s must be in 0..100000, got %g", p[i].name, p[i].v);
			return -EINVAL;
		}
	}
	if (c->exponent <= 0 || c->exponent > 4) {
		snprintf(why, cap, "exponent must be in (0, 4], got %g", c->exponent);
		return -EINVAL;
	}
	if (c->core_share > 1) {
		snprintf(why, cap, "core share must be in 0..1, got %g", c->core_share);
		return -EINVAL;
	}
	if (c->core_idle_w > c->idle_w) {
		snprintf(why, cap, "core idle watts (%g) cannot exceed package idle watts (%g)",
			 c->core_idle_w, c->idle_w);
		return -EINVAL;
	}
	return 0;
}

void raplsim_power(const struct raplsim_curve *c, double busy, double w[RS_ZONES])
{
	double dyn;

	if (!(busy > 0)) /* also catches NaN */
		busy = 0;
	dyn = c->w_per_core * pow(busy, c->exponent);
	w[RS_PACKAGE] = c->idle_w + dyn;
	w[RS_CORE] = c->core_idle_w + c->core_share * dyn;
	w[RS_DRAM] = c->dram_idle_w + c->dram_w_per_core * busy;
	w[RS_PSYS] = w[RS_PACKAGE] + w[RS_DRAM] + c->psys_extra_w;
}

/* Parses up to n unsigned decimal fields separated by blanks; returns how many. */
static int parse_fields(const char *s, uint64_t *v, int n)
{
	int got = 0;

	while (got < n) {
		char *end;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!isdigit((unsigned char)*s))
			break;
		errno = 0;
		v[got] = strtoull(s, &end, 10);
		if (errno == ERANGE)
			return -ERANGE;
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\0')
			return -EINVAL;
		s = end;
		got++;
	}
	return got; /* later kernels may add fields: ignored */
}

int raplsim_parse_stat(const char *text, struct raplsim_cpustat *out)
{
	/* user nice system idle iowait irq softirq steal guest guest_nice */
	uint64_t f[10] = { 0 };
	bool have_cpu = false;
	int ncpu = 0;

	if (!text || !out)
		return -EINVAL;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		if (strncmp(line, "cpu ", 4) == 0) {
			int n = parse_fields(line + 4, f, 10);
			if (n < 4 || have_cpu)
				return -EINVAL; /* idle is field 4: older kernels have at least 4 */
			have_cpu = true;
		} else if (strncmp(line, "cpu", 3) == 0 && isdigit((unsigned char)line[3])) {
			ncpu++;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	if (!have_cpu || ncpu == 0)
		return -EINVAL;
	out->busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
	out->idle = f[3] + f[4];
	out->total = out->busy + out->idle;
	out->ncpu = ncpu;
	return 0;
}

int raplsim_busy_cpus(const struct raplsim_cpustat *prev, const struct raplsim_cpustat *cur,
		      double *busy)
{
	uint64_t db, dt;
	double b;

	if (cur->busy < prev->busy || cur->total < prev->total)
		return -ERANGE;
	db = cur->busy - prev->busy;
	dt = cur->total - prev->total;
	if (dt == 0)
		return -EAGAIN;
	if (db > dt)
		db = dt;
	b = (double)cur->ncpu * (double)db / (double)dt;
	*busy = b;
	return 0;
}

int raplsim_busy_from_idle(const struct raplsim_cpustat *prev, const struct raplsim_cpustat *cur,
			   double wall_s, long user_hz, double *carry_cpu_s, double *busy)
{
	double cap, cpu_s, got, carry_max;

	if (!(wall_s > 0) || user_hz <= 0 || cur->ncpu <= 0)
		return -EINVAL;
	if (cur->idle < prev->idle)
		return -ERANGE;
	cap = (double)cur->ncpu * wall_s;
	cpu_s = cap - (double)(cur->idle - prev->idle) / (double)user_hz + *carry_cpu_s;
	got = cpu_s < 0 ? 0 : cpu_s > cap ? cap : cpu_s;
	/* a carry beyond a few quanta per CPU is not quantisation (idle accounting that
	 * is not per-CPU exact, hotplug): dropped rather than paid back for ever */
	carry_max = 4.0 * cur->ncpu / (double)user_hz;
	*carry_cpu_s = cpu_s - got;
	if (*carry_cpu_s > carry_max)
		*carry_cpu_s = carry_max;
	else if (*carry_cpu_s < -carry_max)
		*carry_cpu_s = -carry_max;
	*busy = got / wall_s;
	return 0;
}

int raplsim_counter_init(struct raplsim_counter *c, uint64_t max_uj, uint64_t start_uj)
{
	if (max_uj == 0 || start_uj > max_uj)
		return -EINVAL;
	c->value_uj = start_uj;
	c->max_uj = max_uj;
	c->total_uj = 0;
	c->frac_uj = 0;
	return 0;
}

int raplsim_counter_add(struct raplsim_counter *c, double uj, uint64_t *added)
{
	double sum, whole;
	uint64_t w, r;

	if (!isfinite(uj) || uj < 0 || uj > 1e18)
		return -EINVAL;
	sum = c->frac_uj + uj;
	whole = floor(sum);
	c->frac_uj = sum - whole;
	w = (uint64_t)whole;
	c->total_uj += w;
	/* period is max_uj + 1 (values 0..max_uj); max_uj == UINT64_MAX never wraps here */
	r = c->max_uj == UINT64_MAX ? w : w % (c->max_uj + 1);
	if (r > c->max_uj - c->value_uj)
		c->value_uj = r - (c->max_uj - c->value_uj) - 1;
	else
		c->value_uj += r;
	if (added)
		*added = w;
	return 0;
}

uint64_t raplsim_counter_delta(uint64_t prev, uint64_t cur, uint64_t max_uj)
{
	if (cur >= prev)
		return cur - prev;
	return (max_uj - prev) + cur + 1;
}
