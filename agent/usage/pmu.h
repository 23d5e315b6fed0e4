/* pmu.h - per-CPU counters for the eBPF usage source: the hardware set
 * (instructions, cycles, cache misses) and the software event task-clock.
 *
 * Event names are resolved with libpfm4 (generic perf:: events, so the same names
 * work on Intel, AMD and Arm) and opened with perf_event_open, one counter per online
 * CPU, counting every task on that CPU (pid -1), with time_enabled/time_running in
 * the read format (multiplexing: see pmu_scale).
 *
 * Two groups, each all or nothing over the online CPUs (attribution needs the same
 * feature on every CPU a workload may run on):
 *   hardware  PMU_INSTRUCTIONS, PMU_CYCLES, PMU_CACHE_MISSES: opened when the CPU has
 *             them (absent in VMs without a vPMU: a reason, not an error)
 *   software  PMU_TASK_CLOCK (perf::TASK-CLOCK): opened only when asked (want_sw)
 * CPUs not in the online list (/sys/devices/system/cpu/online, or online_path) are
 * skipped: nothing runs there; a CPU brought online later has no counter (its reads
 * fail in the program and are counted; the feature is then not reported for that
 * read). A counter that cannot be opened on an online CPU turns its whole group off
 * with a reason naming the event, the CPU and the error; the other group is kept.
 *
 * Ownership: the pmu owns its fds; pmu_close() closes them (NULL-safe).
 * pmu_open() returns NULL only for bad arguments or no memory (err set); a pmu
 * with no group open is valid (pmu_have() == 0, reasons say why).
 */
#ifndef WATTLET_PMU_H
#define WATTLET_PMU_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/util.h"

enum pmu_counter {
	PMU_INSTRUCTIONS,
	PMU_CYCLES,
	PMU_CACHE_MISSES,
	PMU_TASK_CLOCK,
	PMU_NCOUNTERS
};

#define PMU_HW_MASK ((1u << PMU_INSTRUCTIONS) | (1u << PMU_CYCLES) | (1u << PMU_CACHE_MISSES))
#define PMU_SW_MASK (1u << PMU_TASK_CLOCK)

struct pmu_opts {
	int ncpu;                /* possible CPUs (the perf event arrays' size) */
	bool want_sw;            /* open task-clock */
	const char *online_path; /* default /sys/devices/system/cpu/online */
};

/* One counter reading as read(2) returns it with TOTAL_TIME_ENABLED|RUNNING. */
struct pmu_value {
	uint64_t counter, enabled, running;
};

struct pmu;

struct pmu *pmu_open(const struct pmu_opts *o, struct wl_err *err);
void pmu_close(struct pmu *p);
/* Bit c set: counter c is open on every online CPU. */
unsigned pmu_have(const struct pmu *p);
/* Why the hardware / software group is or is not open (one line). */
const char *pmu_hw_reason(const struct pmu *p);
const char *pmu_sw_reason(const struct pmu *p);
/* Online CPUs found at open (the rest have no counters). */
int pmu_online(const struct pmu *p);
/* The fd of counter c on cpu, or -1 (not open, offline, out of range). */
int pmu_fd(const struct pmu *p, enum pmu_counter c, int cpu);
/* Reads counter c on cpu now: 0 or -errno (-ENOENT: no counter there). */
int pmu_read(const struct pmu *p, enum pmu_counter c, int cpu, struct pmu_value *out);
/* The libpfm4 event name of counter c. */
const char *pmu_event_name(enum pmu_counter c);
/* The count between two readings of one counter, scaled by enabled/running where the
 * kernel multiplexed it (ran it for only part of the time): delta * enabled / running;
 * 0 when it did not run at all. */
uint64_t pmu_scale(const struct pmu_value *now, const struct pmu_value *then);
/* Parses a sysfs CPU list ("0-3,5\n") into online[0..ncpu) (CPUs >= ncpu ignored);
 * returns the number online, or -EINVAL. */
int pmu_parse_cpulist(const char *s, bool *online, int ncpu);

#endif
