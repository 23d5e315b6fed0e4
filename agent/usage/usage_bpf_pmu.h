/* usage_bpf_pmu.h - the counter part of the eBPF usage source (internal to
 * agent/usage/; used by usage_bpf.c only).
 *
 * Path of a counter feature: pmu.c resolves the event with libpfm4 and opens it per
 * online CPU -> the fds go into the program's perf event arrays (pmu_instr,
 * pmu_cycles, pmu_cmiss, pmu_tclk) -> at sched_switch the program reads this CPU's
 * counter with bpf_perf_event_read_value and charges the outgoing task's cgroup the
 * difference since its switch-in, scaled by time_enabled/time_running (multiplexing;
 * where its switch-in was not seen, its CPU-time share of the count since the last
 * switch seen on that CPU: docs/design.md "Counters at the switch") -> userspace sums cg_stats as for CPU time and adds, for the task running now, the
 * counter read from its fd minus the switch-in reading (cpu_state).
 * The program reads a group only when its rodata flag is set (have_pmu: the hardware
 * set, where the CPU has it; have_tclk: task-clock, only when a zone is configured
 * with task_clock), so a node without them pays nothing at sched_switch.
 *
 * Ownership: struct bpf_pmu is embedded in the source's state; bpf_pmu_close() frees
 * what bpf_pmu_open() took. Return convention: 0 or negative errno; nothing logs.
 */
#ifndef WATTLET_USAGE_BPF_PMU_H
#define WATTLET_USAGE_BPF_PMU_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/cpuusage.h"
#include "pmu.h"
#include "usage.h"

struct cpuusage_bpf;

struct bpf_pmu {
	struct pmu *pmu;
	int ncpu;
	bool hw;           /* the hardware set is fed to the program */
	bool sw;           /* task-clock is fed to the program */
	char hw_reason[200];
	char sw_reason[240];
	uint64_t misses;   /* CU_DROP_PMU total at the last read */
};

/* Opens the counters (never fails for their absence: reasons say why); -ENOMEM or
 * -EINVAL with err set. */
int bpf_pmu_open(struct bpf_pmu *bp, int ncpu, const struct usage_opts *opts,
		 struct wl_err *err);
void bpf_pmu_close(struct bpf_pmu *bp);
/* Before load: the rodata flags and the perf event arrays' sizes. */
int bpf_pmu_prepare(const struct bpf_pmu *bp, struct cpuusage_bpf *sk);
/* After load: every counter fd into its perf event array. */
int bpf_pmu_fill(const struct bpf_pmu *bp, struct cpuusage_bpf *sk);
/* The program did not load with counters: closes them, says why. */
void bpf_pmu_disable(struct bpf_pmu *bp, const char *why);
/* probe->pmu_ok/pmu_reason and probe->task_clock_ok/task_clock_reason. */
void bpf_pmu_probe(const struct bpf_pmu *bp, struct usage_probe *probe);
/* Adds to v[] what the task running on cpu has counted since its switch-in (cc: that
 * CPU's cpu_state copy). */
void bpf_pmu_slice(const struct bpf_pmu *bp, int cpu, const struct cu_cpu *cc,
		   uint64_t v[FEAT_COUNT]);
/* The counter features measured in this read: none of a group whose reads failed in
 * the program since the last call (a CPU without its counter, a counter never
 * running), so attribution falls back to cpu_time for that tick. */
uint32_t bpf_pmu_features(struct bpf_pmu *bp, struct cpuusage_bpf *sk);

#endif
