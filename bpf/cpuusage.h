/* cpuusage.h - types and constants shared by bpf/cpuusage.bpf.c and
 * agent/usage/usage_bpf.c. Types and constants only.
 *
 * Maps (see cpuusage.bpf.c):
 *   cg_stats    percpu hash  u64 cgroup id -> struct cu_val (cumulative)
 *   tgid_stats  percpu hash  u32 tgid      -> struct cu_val (cumulative)
 *   cpu_state   percpu array [0]           -> struct cu_cpu (who runs here since when)
 *   drops       percpu array [CU_DROP_*]   -> u64 failed map inserts
 */
#ifndef WATTLET_BPF_CPUUSAGE_H
#define WATTLET_BPF_CPUUSAGE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Value slots, in the order of enum feature (agent/common/zone.h). */
#define CU_CPU_NS 0
#define CU_INSTR 1
#define CU_CYCLES 2
#define CU_CMISS 3
#define CU_NVAL 4

/* PMU counters (slots CU_INSTR..CU_CMISS), one perf event array each. */
#define CU_NPMU 3

#define CU_DROP_CG 0
#define CU_DROP_TGID 1
#define CU_UNSEEN 2 /* task storage not available: slice not charged */
#define CU_NDROP 3

#define CU_DEF_MAX_CGROUPS 16384
#define CU_DEF_MAX_TGIDS 32768

/* Per task (task local storage): its se.sum_exec_runtime when last charged, and
 * the css_set / cgroup id seen then (cgroup id recomputed when css_set changes). */
struct cu_task {
	__u64 rt;
	__u64 cs;
	__u64 cgid;
};

struct cu_val {
	__u64 v[CU_NVAL];
};

/* Per CPU: the task switched in last (pid 0 = idle), since when (ts,
 * CLOCK_MONOTONIC ns, for userspace to add the running slice), its cgroup id
 * as last seen (0: unknown yet), and the PMU readings then. */
struct cu_cpu {
	__u64 ts;
	__u64 cgid;
	__u32 pid;
	__u32 pad;
	__u64 pmu[CU_NPMU];
};

#endif
