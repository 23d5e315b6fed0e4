/* checks.c - correctness checks as in the Kepler platform validation: what CPU this is,
 * which energy zones the platform's meter supports, and whether the meter behaved
 * (counters advancing, no resets, no read errors, plausible watts) during the run. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "validate.h"

#define SYSFS_MAGIC_NR 0x62656572

static void copy_value(char *dst, size_t cap, const char *line)
{
	const char *v = strchr(line, ':');
	size_t n;

	if (!v)
		return;
	v++;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, "\n");
	snprintf(dst, cap, "%.*s", (int)n, v);
}

void validate_checks_host(struct validate_checks *c, const char *proc_root)
{
	char path[PATH_MAX], line[512];
	struct utsname u;
	FILE *f;

	if (!c)
		return;
	snprintf(c->cpu_model, sizeof(c->cpu_model), "unknown");
	snprintf(c->cpu_vendor, sizeof(c->cpu_vendor), "unknown");
	snprintf(c->arch, sizeof(c->arch), "unknown");
	snprintf(c->kernel, sizeof(c->kernel), "unknown");
	c->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (uname(&u) == 0) {
		snprintf(c->arch, sizeof(c->arch), "%s", u.machine);
		snprintf(c->kernel, sizeof(c->kernel), "%s %s", u.sysname, u.release);
	}
	if (fmt_path(path, sizeof(path), "%s/cpuinfo", proc_root ? proc_root : "/proc") != 0)
		return;
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0 && !strcmp(c->cpu_model, "unknown"))
			copy_value(c->cpu_model, sizeof(c->cpu_model), line);
		else if (strncmp(line, "vendor_id", 9) == 0 && !strcmp(c->cpu_vendor, "unknown"))
			copy_value(c->cpu_vendor, sizeof(c->cpu_vendor), line);
		else if (strncmp(line, "CPU implementer", 15) == 0 &&
			 !strcmp(c->cpu_vendor, "unknown"))
			copy_value(c->cpu_vendor, sizeof(c->cpu_vendor), line);
		else if (line[0] == '\n')
			break; /* the first processor's block is enough */
	}
	fclose(f);
}

void validate_checks_meter(struct validate_checks *c, const struct meter *m,
			   const char *powercap_root)
{
	struct statfs sf;

	if (!c || !m)
		return;
	snprintf(c->meter, sizeof(c->meter), "%s", meter_kind_name(meter_get_kind(m)));
	meter_describe(m, c->meter_detail, sizeof(c->meter_detail));
	c->zone_mask = meter_zone_mask(m);
	/* Real powercap lives on sysfs; the simulated meter keeps a plain directory. */
	c->simulated = meter_get_kind(m) == METER_POWERCAP && powercap_root &&
		       statfs(powercap_root, &sf) == 0 && (long)sf.f_type != SYSFS_MAGIC_NR;
}

void validate_checks_window(struct validate_checks *c, const struct meter_delta *d, double dt,
			    double max_watts)
{
	bool bad = false;

	if (!c || !d)
		return;
	c->windows++;
	if (max_watts <= 0)
		max_watts = 2000;
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(d->zone_mask & (1u << z)))
			continue;
		if (d->reset_mask & (1u << z))
			c->resets++;
		if (d->error_mask & (1u << z)) {
			c->read_errors++;
			continue;
		}
		if (dt > 0) {
			double w = d->uj[z] / 1e6 / dt;
			/* a counter that does not advance over a whole window is stuck */
			if (!(w > 0) || w > max_watts)
				bad = true;
		}
	}
	if (bad)
		c->implausible++;
}

static void note(struct validate_checks *c, const char *text)
{
	size_t len = strlen(c->notes);

	if (len + 3 >= sizeof(c->notes))
		return;
	snprintf(c->notes + len, sizeof(c->notes) - len, "%s%s", len ? "; " : "", text);
}

void validate_checks_finish(struct validate_checks *c)
{
	char t[160];

	if (!c)
		return;
	c->notes[0] = '\0';
	if (c->resets) {
		snprintf(t, sizeof(t), "%llu counter reset(s) seen by the sampler",
			 (unsigned long long)c->resets);
		note(c, t);
	}
	if (c->read_errors) {
		snprintf(t, sizeof(t), "%llu zone read error(s) in the sampler",
			 (unsigned long long)c->read_errors);
		note(c, t);
	}
	if (c->implausible) {
		snprintf(t, sizeof(t), "%llu window(s) with a stuck counter or implausible watts",
			 (unsigned long long)c->implausible);
		note(c, t);
	}
	if (c->agent_resets || c->agent_errors) {
		snprintf(t, sizeof(t), "the agent counted %llu meter reset(s) and %llu error(s) "
			 "during the run", (unsigned long long)c->agent_resets,
			 (unsigned long long)c->agent_errors);
		note(c, t);
	}
	if (!c->agent_meter_matches)
		note(c, "the agent does not use the same meter as the sampler");
	c->sane = c->notes[0] == '\0';
	if (c->sane)
		snprintf(c->notes, sizeof(c->notes), "counters advanced in every window, no reset, "
			 "no read error, watts plausible");
}

int validate_cpu_jiffies(const char *proc_root, uint64_t *busy, uint64_t *total)
{
	char path[PATH_MAX], line[512];
	unsigned long long v[8] = { 0 };
	FILE *f;
	int n;

	if (!busy || !total)
		return -EINVAL;
	if (fmt_path(path, sizeof(path), "%s/stat", proc_root ? proc_root : "/proc") != 0)
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	/* cpu user nice system idle iowait irq softirq steal */
	n = sscanf(line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n < 4)
		return -EINVAL;
	*busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	*total = *busy + v[3] + v[4];
	return 0;
}

int validate_cpu_busy(const char *proc_root, double *busy_s, double *uptime_s)
{
	char path[PATH_MAX], line[512];
	unsigned long long v[5] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	unsigned ncpu = 0;
	bool agg = false;
	struct timespec ts;
	FILE *f;

	if (!busy_s || !uptime_s)
		return -EINVAL;
	if (hz <= 0)
		hz = 100;
	if (fmt_path(path, sizeof(path), "%s/stat", proc_root ? proc_root : "/proc") != 0)
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* the clock right after the open: /proc/stat is generated at the first read */
	clock_gettime(CLOCK_BOOTTIME, &ts);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "cpu ", 4) == 0) {
			/* cpu user nice system idle iowait */
			agg = sscanf(line, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
				     &v[3], &v[4]) == 5;
		} else if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9') {
			ncpu++;
		} else if (strncmp(line, "cpu", 3) != 0) {
			break; /* the cpu lines come first */
		}
	}
	fclose(f);
	if (!agg || ncpu == 0)
		return -EINVAL;
	*uptime_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	*busy_s = (double)ncpu * *uptime_s - (double)(v[3] + v[4]) / (double)hz;
	return 0;
}
