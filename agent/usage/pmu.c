/* pmu.c - see pmu.h */
#include "pmu.h"

#include <errno.h>
#include <perfmon/pfmlib_perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct pmu {
	int ncpu;
	int *fds; /* [counter * ncpu + cpu] */
};

static const char *const event_names[PMU_NCOUNTERS] = {
	[PMU_INSTRUCTIONS] = "perf::INSTRUCTIONS",
	[PMU_CYCLES] = "perf::CYCLES",
	[PMU_CACHE_MISSES] = "perf::CACHE-MISSES",
};

const char *pmu_event_name(enum pmu_counter c)
{
	return (unsigned)c < PMU_NCOUNTERS ? event_names[c] : "?";
}

static int encode(enum pmu_counter c, struct perf_event_attr *attr, struct wl_err *err)
{
	pfm_perf_encode_arg_t arg;
	int rc;

	memset(attr, 0, sizeof(*attr));
	memset(&arg, 0, sizeof(arg));
	arg.attr = attr;
	arg.size = sizeof(arg);
	rc = pfm_get_os_event_encoding(event_names[c], PFM_PLM0 | PFM_PLM3, PFM_OS_PERF_EVENT,
				       &arg);
	if (rc != PFM_SUCCESS)
		return err_set(err, EOPNOTSUPP, "PMU: libpfm4 cannot encode %s: %s",
			       event_names[c], pfm_strerror(rc));
	attr->size = sizeof(*attr);
	attr->disabled = 0;
	attr->inherit = 0;
	return 0;
}

void pmu_close(struct pmu *p)
{
	if (!p)
		return;
	for (int i = 0; p->fds && i < PMU_NCOUNTERS * p->ncpu; i++)
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	free(p->fds);
	free(p);
}

struct pmu *pmu_open(int ncpu, struct wl_err *err)
{
	struct pmu *p = NULL;
	int rc;

	if (ncpu <= 0) {
		err_set(err, EINVAL, "PMU: bad CPU count %d", ncpu);
		goto cleanup;
	}
	rc = pfm_initialize();
	if (rc != PFM_SUCCESS) {
		err_set(err, ENOTSUP, "PMU: libpfm4 init failed: %s", pfm_strerror(rc));
		goto cleanup;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->fds = calloc((size_t)ncpu * PMU_NCOUNTERS, sizeof(int)))) {
		err_set(err, ENOMEM, "PMU: out of memory");
		goto cleanup;
	}
	p->ncpu = ncpu;
	for (int i = 0; i < ncpu * PMU_NCOUNTERS; i++)
		p->fds[i] = -1;
	for (int c = 0; c < PMU_NCOUNTERS; c++) {
		struct perf_event_attr attr;

		if (encode(c, &attr, err) < 0)
			goto cleanup;
		for (int cpu = 0; cpu < ncpu; cpu++) {
			long fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1,
					  PERF_FLAG_FD_CLOEXEC);
			if (fd < 0) {
				int e = errno;

				if (e == ENODEV && cpu > 0)
					continue; /* offline CPU: nothing runs there */
				err_set(err, e,
					"PMU: perf_event_open(%s, cpu %d): %s%s",
					event_names[c], cpu, strerror(e),
					(e == ENOENT || e == EOPNOTSUPP || e == ENODEV)
						? " (no hardware counters; a VM without vPMU?)"
						: "");
				goto cleanup;
			}
			p->fds[c * ncpu + cpu] = (int)fd;
		}
	}
	return p;
cleanup:
	pmu_close(p);
	return NULL;
}

int pmu_fd(const struct pmu *p, enum pmu_counter c, int cpu)
{
	if (!p || (unsigned)c >= PMU_NCOUNTERS || cpu < 0 || cpu >= p->ncpu)
		return -1;
	return p->fds[c * p->ncpu + cpu];
}
