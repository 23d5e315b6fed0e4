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
 * A cgroup's CPU time is its cg_stats sum over CPUs plus, on each CPU, cu_cpu.pend
 * where cu_cpu.pend_cg names it and the running slice where cu_cpu.cgid names it
 * (now minus the switch-in time while pid != 0).
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
#define CU_TCLK 4 /* perf software event task-clock (ns) */
#define CU_NVAL 5

/* Counters (slots CU_INSTR..CU_TCLK), one perf event array each; cu_cpu.pmu[i] is
 * slot CU_INSTR + i. */
#define CU_NPMU 4

#define CU_DROP_CG 0
#define CU_DROP_TGID 1
#define CU_UNSEEN 2 /* task storage not available: slice not charged */
#define CU_DROP_GONE 3 /* cg_gone full: a removed cgroup's name was not kept */
#define CU_DROP_PMU 4 /* a configured counter could not be read at a switch (no counter
			 on that CPU: brought online after the open), or it did
			 not run at all in a slice (multiplexed out) */
#define CU_NDROP 5

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

/* One counter reading: value and the times it was enabled and running (they differ
 * when the kernel multiplexes counters); a delta is scaled by enabled / running. */
struct cu_ctr {
	__u64 counter;
	__u64 enabled;
	__u64 running;
};

/* Per CPU: the task switched in last (pid 0 = idle), since when (ts, see below; 0
 * when idle), its cgroup id (cgid, 0: idle), the PMU readings then, and pend: what
 * tasks of cgroup pend_cg ran on this CPU and is not in cg_stats yet. pend is kept
 * for the cgroup charged last on this CPU and added to cg_stats only when a task of
 * another cgroup is charged here (or a task exits), so a CPU that goes from a task to
 * idle and back to a task of the same cgroup touches no hash map at all. (A cgroup
 * emptied by moving its tasks out, then removed, can leave its pend on an idle CPU:
 * userspace counts it from cpu_state in the read that reports the removed cgroup; the
 * later flush makes a cg_stats entry for an id no walk knows, deleted unreported.)
 *
 * ts is read from this CPU's run-queue clock (rq->clock, which the scheduler has just
 * updated for the switch: no clock read of our own), or - where the kernel does not
 * offer it (raw_tp, no group scheduling) - from CLOCK_MONOTONIC. cal_clk and cal_mono
 * are one reading of that clock and of CLOCK_MONOTONIC at the same moment, renewed
 * when older than CU_CAL_NS; the switch-in time in CLOCK_MONOTONIC is then
 * cal_mono + (ts - cal_clk) (both clocks count the same ns; with the CLOCK_MONOTONIC
 * fallback, cal_clk == cal_mono == ts).
 *
 * Written by the program at every switch, read by userspace while that may happen:
 * seq_begin (last member) is written first, seq_end (first member) last, each with
 * the switch's sequence number; userspace copies in address order, so a copy with
 * seq_end == seq_begin is not torn (on x86's ordered stores and loads). */
struct cu_cpu {
	__u64 seq_end;
	__u64 ts;
	__u64 cal_clk;
	__u64 cal_mono;
	__u64 cgid;
	__u64 pend_cg;
	__u32 pid;
	__u32 pad;
	struct cu_ctr pmu[CU_NPMU];
	struct cu_val pend;
	__u64 seq_begin;
};

/* A calibration pair (cu_cpu.cal_*) is renewed after this many ns of the run-queue
 * clock: one CLOCK_MONOTONIC read per ms per busy CPU instead of one per switch. The
 * two clocks drift apart by at most NTP's slew (500 ppm): < 1 us within a period. */
#define CU_CAL_NS 1000000ULL

/* task_struct.flags: the task is exiting (include/linux/sched.h; not in BTF). */
#define CU_PF_EXITING 0x00000004

/* a * b / c without overflowing 64 bits, for the counter arithmetic of the program and
 * of userspace (multiplexing scale: b/c = enabled/running >= 1; a slice's share: b/c =
 * its CPU time / the counter's enabled time <= 1). b and c (times in ns) are halved
 * together until both fit in 32 bits, which keeps their ratio to 2^-31; then
 * (a / c) * b + (a % c) * b / c cannot overflow unless the result does. 0 when c is
 * 0 (or becomes 0: a ratio above 2^32, which no counter reading gives). */
static inline __attribute__((always_inline)) __u64 cu_mul_div(__u64 a, __u64 b, __u64 c)
{
	for (int i = 0; i < 32 && ((b | c) >> 32); i++) {
		b >>= 1;
		c >>= 1;
	}
	if (!c)
		return 0;
	return a / c * b + a % c * b / c;
}

#endif
