/* usage.c - source dispatch (eBPF first, cgroup fallback), node busy time from
 * /proc/stat, and the sample's timestamps. */
#include "usage_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct usage {
	const struct usage_src_ops *ops;
	void *state;
	char proc_root[PATH_MAX];
	uint64_t ns_per_tick;
	bool have_prev;
	uint64_t prev_t_ns, prev_busy_ns;
	/* node busy time from measured idle (see node_busy_idle) */
	bool prev_idle_ok;
	uint64_t prev_up_cs, prev_idle_ticks;
	double carry_ns;
};

const char *const usage_source_names[USAGE_SOURCE_COUNT] = {
	[USAGE_AUTO] = "auto",
	[USAGE_EBPF] = "ebpf",
	[USAGE_CGROUP] = "cgroup",
};

const char *usage_source_name(enum usage_source s)
{
	if ((unsigned)s < USAGE_SOURCE_COUNT)
		return usage_source_names[s];
	return "unknown";
}

int usage_source_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < USAGE_SOURCE_COUNT; i++)
		if (strcmp(name, usage_source_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

/* Parses the aggregate "cpu " line of /proc/stat into busy clock ticks:
 * user+nice+system+irq+softirq+steal (guest and guest_nice are already inside user
 * and nice; idle and iowait are not busy); idle gets idle+iowait (may be NULL). */
static int parse_cpu_line(const char *line, uint64_t *ticks, uint64_t *idle)
{
	uint64_t f[8] = { 0 };
	const char *p = line;
	size_t nf = 0;

	if (strncmp(p, "cpu ", 4) != 0)
		return -EINVAL;
	p += 4;
	while (nf < 8) {
		uint64_t v = 0;
		const char *st;
		while (*p == ' ')
			p++;
		if (*p == '\n' || *p == '\0')
			break;
		st = p;
		while (*p >= '0' && *p <= '9') {
			unsigned d = (unsigned)(*p - '0');
			if (v > (UINT64_MAX - d) / 10)
				return -ERANGE;
			v = v * 10 + d;
			p++;
		}
		if (p == st || (*p != ' ' && *p != '\n' && *p != '\0'))
			return -EINVAL;
		f[nf++] = v;
	}
	if (nf < 7) /* user nice system idle iowait irq softirq [steal] */
		return -EINVAL;
	*ticks = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
	if (idle)
		*idle = f[3] + f[4];
	return 0;
}

/* Reads up to cap-1 bytes of a small file into buf (NUL-terminated); stops early once
 * `enough` says the text read so far suffices (NULL: read all). */
static int read_head(const char *path, char *buf, size_t cap, bool (*enough)(const char *, size_t))
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	while (got < cap - 1) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (enough && enough(buf, got))
			break;
	}
	close(fd);
	buf[got] = '\0';
	return (int)got;
}

/* The cpu lines come first in /proc/stat: enough once a line not starting with "cpu"
 * has begun (its first 3 bytes seen), or the text ended. */
static bool past_cpu_lines(const char *buf, size_t len)
{
	const char *p = buf;

	for (;;) {
		const char *nl = memchr(p, '\n', len - (size_t)(p - buf));
		if (!nl)
			return false;
		p = nl + 1;
		if ((size_t)(p - buf) + 3 > len)
			return false;
		if (strncmp(p, "cpu", 3) != 0)
			return true;
	}
}

/* /proc/stat's cpu lines: busy ticks and idle+iowait ticks of the aggregate line, and
 * the number of "cpuN" lines (online CPUs). */
static int stat_cpu(const char *proc_root, uint64_t *busy, uint64_t *idle, unsigned *ncpu)
{
	char path[PATH_MAX], buf[65536];
	const char *p;
	int r, got;

	r = path_join(path, sizeof(path), proc_root, "stat");
	if (r)
		return r;
	got = read_head(path, buf, sizeof(buf), past_cpu_lines);
	if (got < 0)
		return got;
	if (!memchr(buf, '\n', (size_t)got))
		return -EINVAL;
	r = parse_cpu_line(buf, busy, idle);
	if (r)
		return r;
	*ncpu = 0;
	for (p = strchr(buf, '\n'); p && strncmp(p + 1, "cpu", 3) == 0; p = strchr(p + 1, '\n'))
		if (p[4] >= '0' && p[4] <= '9')
			(*ncpu)++;
	return 0;
}

static int busy_ticks(const char *proc_root, uint64_t *ticks)
{
	uint64_t idle;
	unsigned ncpu;

	return stat_cpu(proc_root, ticks, &idle, &ncpu);
}

/* /proc/uptime's first field in centiseconds (it has two decimals). */
static int uptime_cs(const char *proc_root, uint64_t *cs)
{
	char path[PATH_MAX], buf[128];
	uint64_t whole = 0, frac = 0;
	int r = path_join(path, sizeof(path), proc_root, "uptime"), got, nf = 0;
	const char *p = buf;

	if (r)
		return r;
	got = read_head(path, buf, sizeof(buf), NULL);
	if (got < 0)
		return got;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	while (*p >= '0' && *p <= '9') {
		if (whole > UINT64_MAX / 1000)
			return -ERANGE;
		whole = whole * 10 + (uint64_t)(*p++ - '0');
	}
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			if (nf < 2) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				nf++;
			}
	if (*p != ' ' && *p != '\n')
		return -EINVAL;
	while (nf++ < 2)
		frac *= 10;
	*cs = whole * 100 + frac;
	return 0;
}

/* Node busy nanoseconds between two reads from measured idle time: online CPUs x the
 * uptime that passed, minus the idle+iowait time that passed. On a tickless kernel
 * idle is measured at idle entry and exit, whereas the busy fields are sampled by the
 * timer tick, which misses or overcounts short and periodic bursts (a 30 % duty-cycle
 * load read ~6 % low here) and, being lower than the cgroups' precise sum, let the
 * node's non-task CPU time (interrupts taken while idle: ~1-3 % of busy time) be
 * shared out to the workloads instead of staying with "system". Both counters tick in
 * 10 ms quanta: what does not fit into 0..ncpu x uptime is carried to the next read
 * (bounded), so the sum over reads stays exact. -ENODATA when a counter is missing or
 * went back (the caller falls back to the busy fields). */
static int node_busy_idle(struct usage *u, bool first, uint64_t idle_t, unsigned ncpu,
			  uint64_t *busy_ns)
{
	uint64_t up, d_up, d_idle;
	double span, got, carry_max;

	if (ncpu == 0 || uptime_cs(u->proc_root, &up)) {
		u->prev_idle_ok = false;
		return -ENODATA;
	}
	if (first || !u->prev_idle_ok || up < u->prev_up_cs || idle_t < u->prev_idle_ticks) {
		u->prev_idle_ok = true;
		u->prev_up_cs = up;
		u->prev_idle_ticks = idle_t;
		u->carry_ns = 0;
		return first ? 0 : -ENODATA;
	}
	d_up = up - u->prev_up_cs;
	d_idle = idle_t - u->prev_idle_ticks;
	u->prev_up_cs = up;
	u->prev_idle_ticks = idle_t;
	span = (double)ncpu * (double)d_up * 1e7;
	got = span - (double)d_idle * (double)u->ns_per_tick + u->carry_ns;
	u->carry_ns = got;
	got = got < 0 ? 0 : got > span ? span : got;
	u->carry_ns -= got;
	carry_max = 4.0 * (ncpu + 1) * (double)u->ns_per_tick;
	if (u->carry_ns > carry_max)
		u->carry_ns = carry_max;
	else if (u->carry_ns < -carry_max)
		u->carry_ns = -carry_max;
	*busy_ns = (uint64_t)got;
	return 0;
}

static uint64_t tick_ns(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0 || hz > 1000000000L)
		hz = 100;
	return 1000000000ull / (uint64_t)hz;
}

int usage_read_proc_stat_busy_ns(const char *proc_root, uint64_t *busy_ns)
{
	uint64_t t, per = tick_ns();
	int r;

	if (!busy_ns)
		return -EINVAL;
	r = busy_ticks(proc_root ? proc_root : "/proc", &t);
	if (r)
		return r;
	if (t > UINT64_MAX / per)
		return -ERANGE;
	*busy_ns = t * per;
	return 0;
}

/* Copies msg into dst, truncating to fit (reasons are informational). */
static void set_reason(char *dst, size_t cap, const char *msg)
{
	size_t n = strnlen(msg, cap - 1);
	memcpy(dst, msg, n);
	dst[n] = '\0';
}

struct usage *usage_open(const struct usage_opts *opts, struct usage_probe *probe,
			 struct wl_err *err)
{
	struct usage_probe local;
	struct usage *u = NULL;
	struct wl_err e2 = { { 0 } };
	uint64_t busy;
	int r;

	if (!probe)
		probe = &local;
	memset(probe, 0, sizeof(*probe));
	if (!opts) {
		err_set(err, EINVAL, "usage: no options given");
		return NULL;
	}
	if (opts->source != USAGE_AUTO && opts->source != USAGE_EBPF &&
	    opts->source != USAGE_CGROUP) {
		err_set(err, EINVAL, "usage: unknown source %d", (int)opts->source);
		return NULL;
	}
	u = wl_zalloc(sizeof(*u), "usage", err);
	if (!u)
		return NULL;
	if (fmt_path(u->proc_root, sizeof(u->proc_root), "%s",
		     opts->proc_root ? opts->proc_root : "/proc")) {
		err_set(err, ENAMETOOLONG, "usage: proc_root path too long");
		goto fail;
	}
	r = usage_read_proc_stat_busy_ns(u->proc_root, &busy);
	if (r) {
		err_set(err, -r, "usage: cannot read node CPU time from %s/stat: %s", u->proc_root,
			r == -EINVAL ? "no valid aggregate \"cpu\" line" : strerror(-r));
		goto fail;
	}
	u->ns_per_tick = tick_ns();

	if (opts->source == USAGE_EBPF || opts->source == USAGE_AUTO) {
		if (!usage_bpf_ops) {
			set_reason(probe->ebpf_reason, sizeof(probe->ebpf_reason),
				   "eBPF source not built into this agent");
		} else {
			e2.msg[0] = '\0';
			u->state = usage_bpf_ops->open(opts, probe, &e2);
			if (u->state) {
				u->ops = usage_bpf_ops;
				probe->in_use = USAGE_EBPF;
				probe->ebpf_ok = true;
				return u;
			}
			probe->ebpf_ok = false;
			set_reason(probe->ebpf_reason, sizeof(probe->ebpf_reason),
				   e2.msg[0] ? e2.msg : "eBPF source failed to open");
		}
		if (opts->source == USAGE_EBPF) {
			err_set(err, ENOTSUP, "usage: eBPF source requested but unavailable: %s",
				probe->ebpf_reason);
			goto fail;
		}
	} else {
		set_reason(probe->ebpf_reason, sizeof(probe->ebpf_reason),
			   "cgroup source selected by configuration");
	}

	u->state = usage_cgroup_ops.open(opts, probe, err);
	if (!u->state)
		goto fail;
	u->ops = &usage_cgroup_ops;
	probe->in_use = USAGE_CGROUP;
	probe->ebpf_ok = false;
	return u;
fail:
	free(u);
	return NULL;
}

void usage_close(struct usage *u)
{
	if (!u)
		return;
	if (u->ops && u->state)
		u->ops->close(u->state);
	free(u);
}

int usage_read(struct usage *u, struct usage_sample *out)
{
	const struct usage_entry *entries = NULL;
	uint64_t busy_t, busy_ns, t, dropped = 0, vanished = 0, idle_busy = 0, idle_t = 0;
	unsigned ncpu = 0;
	uint32_t mask = 0;
	size_t n = 0;
	int r, idle_r;

	if (!u || !out)
		return -EINVAL;
	/* cgroups and node totals back to back; the timestamp is taken after both */
	r = u->ops->read(u->state, &entries, &n, &mask, &dropped, &vanished);
	if (r)
		return r;
	r = stat_cpu(u->proc_root, &busy_t, &idle_t, &ncpu);
	idle_r = r ? -ENODATA : node_busy_idle(u, !u->have_prev, idle_t, ncpu, &idle_busy);
	t = mono_ns();
	if (r)
		return r;
	busy_ns = busy_t * u->ns_per_tick;

	memset(out, 0, sizeof(*out));
	out->t_ns = t;
	out->entries = entries;
	out->n = n;
	out->feature_mask = mask | (1u << FEAT_CPU_TIME);
	out->dropped = dropped;
	out->vanished = vanished;
	if (u->have_prev) {
		out->dt_ns = t - u->prev_t_ns;
		/* /proc/stat sums possible CPUs, so it should not go back; if it does,
		 * report nothing rather than a wrapped number */
		out->node_delta[FEAT_CPU_TIME] =
			idle_r == 0 ? idle_busy :
			busy_ns >= u->prev_busy_ns ? busy_ns - u->prev_busy_ns : 0;
	}
	u->have_prev = true;
	u->prev_t_ns = t;
	u->prev_busy_ns = busy_ns;
	return 0;
}
