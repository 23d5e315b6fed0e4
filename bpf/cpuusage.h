/* cpuusage.h - types and constants shared by bpf/cpuusage.bpf.c and
 * agent/usage/usage_bpf.c. Types and constants only.
 *
 * Maps (see cpuusage.bpf.c):
 *   cg_stats    percpu hash  u64 cgroup id -> struct cu_val (cumulative, flushed)
 *   tgid_stats  percpu hash  u32 tgid      -> struct cu_val (cumulative; only when
 *                                            per_process is set)
 *   cpu_state   percpu array [0]           -> struct cu_cpu (who runs here since when,
 *                                            and the charge not yet in cg_stats)
 *   drops       percpu array [CU_DROP_*]   -> u64 failed map inserts
 *   cg_gone     hash         u64 cgroup id -> struct cu_gone: cgroups of the walked
 *                                            hierarchy removed since userspace last
 *                                            read (filled at cgroup_rmdir; userspace
 *                                            reads each entry's cg_stats once more,
 *                                            then deletes both entries)
 *
 * A cgroup's CPU time is its cg_stats sum over CPUs plus, on each CPU whose cu_cpu.cgid
 * names it, cu_cpu.pend and the running slice (now - ts while pid != 0).
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
#define CU_DROP_GONE 3 /* cg_gone full: a removed cgroup's name was not kept */
#define CU_NDROP 4

#define CU_DEF_MAX_CGROUPS 16384
#define CU_DEF_MAX_TGIDS 32768
/* Removed cgroups kept between two reads (a churn of 2048 per second at 2 s ticks). */
#define CU_DEF_MAX_GONE 4096
#define CU_NAME_LEN 256 /* a cgroup directory name (NAME_MAX 255) and its NUL */

/* Per task (task local storage): its se.sum_exec_runtime when last charged, and
 * the css_set / cgroup id seen then (cgroup id recomputed when css_set changes). */
struct cu_task {
	__u64 rt;
	__u64 cs;
	__u64 cgid;
};

/* A removed cgroup (cg_gone value): its parent's id and its directory name, so
 * userspace can name it from the parent's path even if it never saw it alive. */
struct cu_gone {
	__u64 parent;
	char name[CU_NAME_LEN];
};

struct cu_val {
	__u64 v[CU_NVAL];
};

/* Per CPU: the task switched in last (pid 0 = idle), since when (ts,
 * CLOCK_MONOTONIC ns, for userspace to add the running slice), its cgroup id (0:
 * idle), the PMU readings then, and pend: what tasks of cgroup cgid ran on this CPU
 * and is not in cg_stats yet (it is flushed there when a task of another cgroup, or
 * idle, is switched in - so pend always belongs to the cgroup running now).
 *
 * Written by the program at every switch, read by userspace while that may happen:
 * seq_begin (last member) is written first, seq_end (first member) last, each with
 * the switch's sequence number; userspace copies in address order, so a copy with
 * seq_end == seq_begin is not torn (on x86's ordered stores and loads). */
struct cu_cpu {
	__u64 seq_end;
	__u64 ts;
	__u64 cgid;
	__u32 pid;
	__u32 pad;
	__u64 pmu[CU_NPMU];
	struct cu_val pend;
	__u64 seq_begin;
};

#endif
