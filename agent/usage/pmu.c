/* pmu.c - see pmu.h */
#include "pmu.h"

#include <errno.h>
#include <perfmon/pfmlib_perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpf/cpuusage.h" /* cu_mul_div: the program's own scaling arithmetic */

#define ONLINE_PATH "/sys/devices/system/cpu/online"

struct pmu {
	int ncpu, nonline;
	unsigned have;
	int *fds; /* [counter * ncpu + cpu] */
	char hw_reason[256], sw_reason[256];
};

static const char *const event_names[PMU_NCOUNTERS] = {
	[PMU_INSTRUCTIONS] = "perf::INSTRUCTIONS",
	[PMU_CYCLES] = "perf::CYCLES",
	[PMU_CACHE_MISSES] = "perf::CACHE-MISSES",
	[PMU_TASK_CLOCK] = "perf::TASK-CLOCK",
};

const char *pmu_event_name(enum pmu_counter c)
{
	return (unsigned)c < PMU_NCOUNTERS ? event_names[c] : "?";
}

uint64_t pmu_scale(const struct pmu_value *now, const struct pmu_value *then)
{
	uint64_t d = now->counter - then->counter;
	uint64_t en = now->enabled - then->enabled, ru = now->running - then->running;

	if (ru == en)
		return d;
	if (ru == 0)
		return 0;
	return cu_mul_div(d, en, ru); /* d * en / ru, no overflow for slices of any length */
}

int pmu_parse_cpulist(const char *s, bool *online, int ncpu)
{
	int n = 0;

	if (!s || !online || ncpu <= 0)
		return -EINVAL;
	memset(online, 0, (size_t)ncpu * sizeof(*online));
	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 0)
			return -EINVAL;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a)
				return -EINVAL;
			s = end;
		}
		for (long c = a; c <= b && c < ncpu; c++)
			if (!online[c]) {
				online[c] = true;
				n++;
			}
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -EINVAL;
	}
	return n;
}

static int encode(enum pmu_counter c, struct perf_event_attr *attr, char *why, size_t cap)
{
	pfm_perf_encode_arg_t arg;
	int rc;

	memset(attr, 0, sizeof(*attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = attr;
	arg.size = sizeof(arg);
	rc = pfm_get_os_event_encoding(event_names[c], PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT,
				       &arg);
	if (rc != PFM_SUCCESS) {
		snprintf(why, cap, "libpfm4 cannot encode %s: %s", event_names[c], pfm_strerror(rc));
		return -EOPNOTSUPP;
	}
	attr->size = sizeof(*attr);
	attr->disabled = 0;
	attr->inherit = 0;
	attr->read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	return 0;
}

static void close_group(struct pmu *p, unsigned mask)
{
	for (int c = 0; c < PMU_NCOUNTERS; c++) {
		if (!(mask & (1u << c)))
			continue;
		for (int cpu = 0; cpu < p->ncpu; cpu++) {
			int *fd = &p->fds[c * p->ncpu + cpu];

			if (*fd >= 0)
				close(*fd);
			*fd = -1;
		}
	}
}

/* Opens every counter of mask on every online CPU; on the first failure closes the
 * group and writes why. 0 or -errno. */
static int open_group(struct pmu *p, unsigned mask, const bool *online, char *why, size_t cap)
{
	for (int c = 0; c < PMU_NCOUNTERS; c++) {
		struct perf_event_attr attr;
		int rc;

		if (!(mask & (1u << c)))
			continue;
		rc = encode(c, &attr, why, cap);
		if (rc < 0) {
			close_group(p, mask);
			return rc;
		}
		for (int cpu = 0; cpu < p->ncpu; cpu++) {
			long fd;

			if (!online[cpu])
				continue;
			fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
			if (fd < 0) {
				int e = errno;
				bool hw = (mask & PMU_HW_MASK) != 0;

				snprintf(why, cap, "perf_event_open(%s, cpu %d of %d online): %s%s",
					 event_names[c], cpu, p->nonline, strerror(e),
					 hw && (e == ENOENT || e == EOPNOTSUPP || e == ENODEV)
						 ? " (no hardware counters; a VM without vPMU?)"
						 : "");
				close_group(p, mask);
				return -e;
			}
			p->fds[c * p->ncpu + cpu] = (int)fd;
		}
	}
	return 0;
}

void pmu_close(struct pmu *p)
{
	if (!p)
		return;
	if (p->fds)
		close_group(p, PMU_HW_MASK | PMU_SW_MASK);
	free(p->fds);
	free(p);
}

struct pmu *pmu_open(const struct pmu_opts *o, struct wl_err *err)
{
	struct pmu *p = NULL;
	bool *online = NULL;
	char list[4096];
	char why[160];
	int rc;

	if (!o || o->ncpu <= 0) {
		err_set(err, EINVAL, "PMU: bad CPU count %d", o ? o->ncpu : 0);
		goto cleanup;
	}
	p = calloc(1, sizeof(*p));
	online = calloc((size_t)o->ncpu, sizeof(*online));
	if (!p || !online || !(p->fds = calloc((size_t)o->ncpu * PMU_NCOUNTERS, sizeof(int)))) {
		err_set(err, ENOMEM, "PMU: out of memory");
		goto cleanup;
	}
	p->ncpu = o->ncpu;
	for (int i = 0; i < o->ncpu * PMU_NCOUNTERS; i++)
		p->fds[i] = -1;
	snprintf(p->sw_reason, sizeof(p->sw_reason),
		 "task_clock: not opened (no zone is configured with it)");
	rc = read_file(o->online_path ? o->online_path : ONLINE_PATH, list, sizeof(list), NULL);
	p->nonline = rc == 0 ? pmu_parse_cpulist(list, online, o->ncpu) : -1;
	if (p->nonline <= 0) { /* no list: assume all possible CPUs are online */
		for (int c = 0; c < o->ncpu; c++)
			online[c] = true;
		p->nonline = o->ncpu;
	}
	rc = pfm_initialize();
	if (rc != PFM_SUCCESS) {
		snprintf(p->hw_reason, sizeof(p->hw_reason), "PMU: libpfm4 init failed: %s",
			 pfm_strerror(rc));
		if (o->want_sw)
			snprintf(p->sw_reason, sizeof(p->sw_reason), "task_clock: off: %.200s",
				 p->hw_reason);
		goto done;
	}
	if (open_group(p, PMU_HW_MASK, online, why, sizeof(why)) == 0) {
		p->have |= PMU_HW_MASK;
		snprintf(p->hw_reason, sizeof(p->hw_reason), "PMU: %s, %s, %s on %d online CPUs",
			 event_names[PMU_INSTRUCTIONS], event_names[PMU_CYCLES],
			 event_names[PMU_CACHE_MISSES], p->nonline);
	} else {
		snprintf(p->hw_reason, sizeof(p->hw_reason), "PMU: %s", why);
	}
	if (!o->want_sw)
		goto done;
	if (open_group(p, PMU_SW_MASK, online, why, sizeof(why)) == 0) {
		p->have |= PMU_SW_MASK;
		snprintf(p->sw_reason, sizeof(p->sw_reason),
			 "task_clock: %s on %d online CPUs (%d offline skipped)",
			 event_names[PMU_TASK_CLOCK], p->nonline, p->ncpu - p->nonline);
	} else {
		snprintf(p->sw_reason, sizeof(p->sw_reason),
			 "task_clock: off, zones configured with it use cpu_time: %s", why);
	}
done:
	free(online);
	return p;
cleanup:
	free(online);
	pmu_close(p);
	return NULL;
}

unsigned pmu_have(const struct pmu *p)
{
	return p ? p->have : 0;
}

const char *pmu_hw_reason(const struct pmu *p)
{
	return p ? p->hw_reason : "PMU: not opened";
}

const char *pmu_sw_reason(const struct pmu *p)
{
	return p ? p->sw_reason : "task_clock: not opened";
}

int pmu_online(const struct pmu *p)
{
	return p ? p->nonline : 0;
}

int pmu_fd(const struct pmu *p, enum pmu_counter c, int cpu)
{
	if (!p || (unsigned)c >= PMU_NCOUNTERS || cpu < 0 || cpu >= p->ncpu)
		return -1;
	return p->fds[c * p->ncpu + cpu];
}

int pmu_read(const struct pmu *p, enum pmu_counter c, int cpu, struct pmu_value *out)
{
	int fd = pmu_fd(p, c, cpu);
	uint64_t v[3];
	ssize_t n;

	if (fd < 0)
		return -ENOENT;
	n = read(fd, v, sizeof(v));
	if (n != (ssize_t)sizeof(v))
		return n < 0 ? -errno : -EIO;
	out->counter = v[0];
	out->enabled = v[1];
	out->running = v[2];
	return 0;
}
