/* pmu.h - per-CPU hardware counters (instructions, cycles, cache misses) for the
 * eBPF usage source. Event names are resolved with libpfm4 (generic perf events,
 * so the same names work on Intel, AMD and Arm) and opened with perf_event_open,
 * one counter per CPU, counting every task on that CPU (pid -1).
 *
 * Ownership: the pmu owns its fds; pmu_close() closes them (NULL-safe).
 * pmu_open() returns NULL with a one-line reason in err when any counter cannot be
 * opened on any CPU (all or nothing: attribution needs the same feature everywhere).
 */
#ifndef WATTLET_PMU_H
#define WATTLET_PMU_H

#include "../common/util.h"

enum pmu_counter { PMU_INSTRUCTIONS, PMU_CYCLES, PMU_CACHE_MISSES, PMU_NCOUNTERS };

struct pmu;

struct pmu *pmu_open(int ncpu, struct wl_err *err);
void pmu_close(struct pmu *p);
/* The fd of counter c on cpu, or -1 if out of range. */
int pmu_fd(const struct pmu *p, enum pmu_counter c, int cpu);
/* The libpfm4 event name of counter c. */
const char *pmu_event_name(enum pmu_counter c);

#endif
