// SPDX-License-Identifier: GPL-2.0
/* cpuusage.bpf.c - on-CPU time (and per-CPU perf counters where configured: the
 * hardware set where present, the task-clock software event) per cgroup and,
 * when userspace sets per_process, per tgid, accumulated at sched_switch. Per-CPU
 * state only, no locks.
 *
 * At each switch the outgoing task is charged the on-CPU time the scheduler
 * accounted it since it was last charged (se.sum_exec_runtime, the number
 * cpuacct.usage and cpu.stat usage_usec are made of; kept per task in task local
 * storage); the idle task (pid 0) is not charged. The cgroup id is the v2 (default
 * hierarchy) cgroup's kernfs id, or - when userspace sets use_v1 - the kernfs id of
 * the task's cpuacct v1 cgroup. Either equals the cgroup directory's inode number.
 *
 * The hot path avoids the cgroup hash map: each CPU keeps the charge of the cgroup
 * it charged last in cpu_state (pend), and adds it to cg_stats only when a task of
 * another cgroup is charged there, or a task exits (its cgroup may be removed next:
 * its charge must then be in cg_stats). Switches inside one cgroup, also through
 * idle, therefore touch only per-CPU memory; userspace adds pend when it reads.
 *
 * The switch-in time comes from the run-queue clock the scheduler has just updated
 * (no clock read per switch, which cost ~30 ns here); one CLOCK_MONOTONIC reading per
 * CU_CAL_NS maps it for userspace (cu_cpu.cal_*). Cost per switch and the ideas
 * measured: docs/design.md, `make bench`.
 *
 * Cgroups removed before userspace named them (short Jobs, init containers: created
 * and removed within one tick) keep their charge: cg_gone_* at cgroup_rmdir records,
 * for the walked hierarchy only, id -> (parent id, name) in the bounded cg_gone map
 * (full: counted in drops[CU_DROP_GONE]); userspace names the cgroup from its
 * parent, reads its cg_stats entry a last time and deletes both entries. These run
 * at rmdir only, never on the sched_switch path; userspace loads the object without
 * them where they fail to load or attach (then as before: such usage goes to system).
 *
 * Each program exists as tp_btf (direct, BTF-checked loads of kernel fields) and
 * raw_tp (bpf_probe_read_kernel through BPF_CORE_READ); userspace picks one set with
 * bpf_program__set_autoload. The shared code takes a constant `btf` so clang keeps
 * only one kind of access in each.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bpf/cpuusage.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool use_v1 = false;      /* cgroup id from the cpuacct v1 css */
const volatile bool have_pmu = false;    /* pmu_instr/cycles/cmiss hold opened counters */
const volatile bool have_tclk = false;   /* pmu_tclk holds task-clock counters (only when
					    a zone is configured with task_clock) */
const volatile bool per_process = true;  /* also charge tgid_stats */

/* CLOCK_MONOTONIC ns when userspace attached: tasks started later are charged
 * from birth, older ones from their first switch-out after it. */
__u64 t0_ns = 0;

/* Bumped on cgroup mkdir/rmdir in any hierarchy; userspace re-walks on change. */
__u64 cg_events = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CU_DEF_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct cu_val);
} cg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CU_DEF_MAX_TGIDS);
	__type(key, __u32);
	__type(value, struct cu_val);
} tgid_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cu_task);
} task_rt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cu_cpu);
} cpu_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CU_NDROP);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, CU_DEF_MAX_GONE);
	__type(key, __u64);
	__type(value, struct cu_gone);
} cg_gone SEC(".maps");

/* The counters' perf event arrays (max_entries 0: libbpf sizes them to the number of
 * possible CPUs). */
#define PMU_ARRAY(name)                                   \
	struct {                                          \
		__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);  \
		__uint(key_size, sizeof(int));            \
		__uint(value_size, sizeof(int));          \
	} name SEC(".maps")

PMU_ARRAY(pmu_instr);
PMU_ARRAY(pmu_cycles);
PMU_ARRAY(pmu_cmiss);
PMU_ARRAY(pmu_tclk);

/* A kernel field: the direct load `direct` where btf (tp_btf), else BPF_CORE_READ of
 * the rest. btf is a compile-time constant at every use. */
#define KREAD(btf, direct, ...) ((btf) ? (direct) : BPF_CORE_READ(__VA_ARGS__))

/* Keeps clang from moving the seq_begin/seq_end stores across the others. */
#define COMPILER_BARRIER() asm volatile("" ::: "memory")

static __always_inline __u64 css_set_cgid(struct css_set *cs, const bool btf)
{
	if (use_v1 && bpf_core_enum_value_exists(enum cgroup_subsys_id, cpuacct_cgrp_id)) {
		int sid = bpf_core_enum_value(enum cgroup_subsys_id, cpuacct_cgrp_id);
		struct cgroup_subsys_state *css = NULL;

		if (sid < 0 || sid >= CGROUP_SUBSYS_COUNT)
			return 0;
		if (btf)
			return cs->subsys[sid]->cgroup->kn->id;
		bpf_core_read(&css, sizeof(css), &cs->subsys[sid]);
		return BPF_CORE_READ(css, cgroup, kn, id);
	}
	return KREAD(btf, cs->dfl_cgrp->kn->id, cs, dfl_cgrp, kn, id);
}

static __always_inline void count_drop(__u32 which)
{
	__u64 *d = bpf_map_lookup_elem(&drops, &which);

	if (d)
		*d += 1;
}

static __always_inline void add_val(struct cu_val *v, const struct cu_val *d)
{
	v->v[CU_CPU_NS] += d->v[CU_CPU_NS];
	if (have_pmu) {
		v->v[CU_INSTR] += d->v[CU_INSTR];
		v->v[CU_CYCLES] += d->v[CU_CYCLES];
		v->v[CU_CMISS] += d->v[CU_CMISS];
	}
	if (have_tclk)
		v->v[CU_TCLK] += d->v[CU_TCLK];
}

/* Adds d to map[key] on this CPU, inserting the key if new. */
static __always_inline void charge(void *map, const void *key, const struct cu_val *d,
				   __u32 drop_slot)
{
	struct cu_val *v = bpf_map_lookup_elem(map, key);
	long rc;

	if (v) {
		add_val(v, d);
		return;
	}
	rc = bpf_map_update_elem(map, key, d, BPF_NOEXIST);
	if (rc == 0)
		return;
	/* another CPU inserted it meanwhile */
	v = bpf_map_lookup_elem(map, key);
	if (v)
		add_val(v, d);
	else
		count_drop(drop_slot);
}

/* Moves this CPU's pend into cg_stats. */
static __always_inline void flush_pend(struct cu_cpu *c)
{
	if (c->pend_cg && c->pend.v[CU_CPU_NS]) {
		__u64 cgid = c->pend_cg;

		charge(&cg_stats, &cgid, &c->pend, CU_DROP_CG);
		__builtin_memset(&c->pend, 0, sizeof(c->pend));
	}
}

/* This CPU's counter in map; all zero (and counted) when there is none here. */
static __always_inline void pmu_read(void *map, struct cu_ctr *out)
{
	struct bpf_perf_event_value pv = {};

	if (bpf_perf_event_read_value(map, BPF_F_CURRENT_CPU, &pv, sizeof(pv))) {
		count_drop(CU_DROP_PMU);
		return; /* out stays zero: no delta from or to it */
	}
	out->counter = pv.counter;
	out->enabled = pv.enabled;
	out->running = pv.running;
}

/* The count between two readings, scaled by enabled / running when the kernel
 * multiplexed the counter; 0 when either reading is missing or it never ran. */
static __always_inline __u64 ctr_delta(const struct cu_ctr *now, const struct cu_ctr *then)
{
	__u64 d, en, ru;

	if (!now->enabled || !then->enabled || now->counter < then->counter)
		return 0;
	d = now->counter - then->counter;
	en = now->enabled - then->enabled;
	ru = now->running - then->running;
	if (ru == en)
		return d;
	if (ru == 0) {
		count_drop(CU_DROP_PMU);
		return 0;
	}
	return cu_mul_div(d, en, ru);
}

/* The counter slice of prev when its switch-in on this CPU was not seen (c->pid is
 * another task): the CPU's count since the last switch seen here, times prev's on-CPU
 * time cpu_ns over that interval's length (the counter's enabled time), at most the
 * whole count. Exact for task-clock (it counts the interval's time); for hardware
 * counters it assumes the unseen task before prev counted at prev's rate. Unseen
 * switch-ins are real: a task switched in before the program was attached, and on
 * some kernels switches out of some threads that never reach the sched_switch
 * tracepoint (measured on this project's VMs: tasks switched in after them lost their
 * whole slice, -0.5 to -28 % of a rarely switched cgroup's task-clock). */
static __always_inline __u64 ctr_share(const struct cu_ctr *now, const struct cu_ctr *then,
				       __u64 cpu_ns)
{
	__u64 d = ctr_delta(now, then), en = now->enabled - then->enabled;

	if (!d || cpu_ns >= en)
		return d;
	return cu_mul_div(d, cpu_ns, en);
}

/* prev's count of counter i: since its switch-in when that was seen here, else its
 * CPU-time share of the count since the last switch seen here. */
static __always_inline __u64 ctr_charge(const struct cu_cpu *c, __u32 ppid,
					const struct cu_ctr *pmu_now, int i, __u64 cpu_ns)
{
	if (c->pid == ppid)
		return ctr_delta(&pmu_now[i], &c->pmu[i]);
	return ctr_share(&pmu_now[i], &c->pmu[i], cpu_ns);
}

/* Charges prev (pid ppid, not idle) what the scheduler accounted it since it was
 * last charged: lossless even when a switch-in went unseen. */
static __always_inline void charge_prev(struct cu_cpu *c, struct task_struct *prev, __u32 ppid,
					const struct cu_ctr *pmu_now, const bool btf)
{
	/* raw_tp: prev is an untyped pointer; at sched_switch it is current */
	struct task_struct *self = btf ? prev : bpf_get_current_task_btf();
	struct cu_task *t = bpf_task_storage_get(&task_rt, self, NULL,
						 BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u64 rt = KREAD(btf, prev->se.sum_exec_runtime, prev, se.sum_exec_runtime);
	__u64 cs = (__u64)KREAD(btf, prev->cgroups, prev, cgroups);
	struct cu_val d = {};

	if (!t) {
		count_drop(CU_UNSEEN);
		return;
	}
	if (!t->cs) { /* first sight */
		if (KREAD(btf, prev->start_time, prev, start_time) < t0_ns)
			t->rt = rt;
	}
	if (cs != t->cs) { /* new, or moved to another cgroup */
		t->cs = cs;
		t->cgid = css_set_cgid((struct css_set *)cs, btf);
	}
	if (rt <= t->rt)
		return;
	d.v[CU_CPU_NS] = rt - t->rt;
	if (have_pmu) {
		d.v[CU_INSTR] = ctr_charge(c, ppid, pmu_now, 0, d.v[CU_CPU_NS]);
		d.v[CU_CYCLES] = ctr_charge(c, ppid, pmu_now, 1, d.v[CU_CPU_NS]);
		d.v[CU_CMISS] = ctr_charge(c, ppid, pmu_now, 2, d.v[CU_CPU_NS]);
	}
	if (have_tclk)
		d.v[CU_TCLK] = ctr_charge(c, ppid, pmu_now, 3, d.v[CU_CPU_NS]);
	t->rt = rt;
	if (t->cgid) {
		if (t->cgid == c->pend_cg) {
			add_val(&c->pend, &d); /* the common case: the cgroup charged last here */
		} else {
			flush_pend(c);
			c->pend_cg = t->cgid;
			c->pend = d;
		}
		/* an exiting task may be its cgroup's last: its charge goes to cg_stats now,
		 * not when this CPU next charges another cgroup (userspace reads a removed
		 * cgroup's cg_stats entry a last time) */
		if (KREAD(btf, prev->flags, prev, flags) & CU_PF_EXITING)
			flush_pend(c);
	}
	if (per_process) {
		__u32 tgid = KREAD(btf, prev->tgid, prev, tgid);
		charge(&tgid_stats, &tgid, &d, CU_DROP_TGID);
	}
}

/* The switch-in time (cu_cpu.ts) of next, not idle: this CPU's run-queue clock where
 * the kernel has one we can reach (tp_btf, group scheduling: next->se.cfs_rq->rq, this
 * CPU's rq), with a CLOCK_MONOTONIC calibration pair renewed every CU_CAL_NS; else
 * CLOCK_MONOTONIC itself (calibration pair = the reading). 0: no time (no slice). */
static __always_inline __u64 switch_clock(struct cu_cpu *c, struct task_struct *next,
					  const bool btf)
{
	__u64 clk;

	if (!btf || !bpf_core_field_exists(struct sched_entity, cfs_rq) ||
	    !bpf_core_field_exists(struct cfs_rq, rq) || !bpf_core_field_exists(struct rq, clock)) {
		clk = bpf_ktime_get_ns();
		c->cal_clk = clk;
		c->cal_mono = clk;
		return clk;
	}
	clk = next->se.cfs_rq->rq->clock; /* a fault-safe load: 0 if a pointer is NULL */
	if (clk && clk - c->cal_clk >= CU_CAL_NS) {
		c->cal_mono = bpf_ktime_get_ns();
		c->cal_clk = clk;
	}
	return clk;
}

static __always_inline int on_switch(struct task_struct *prev, struct task_struct *next,
				     const bool btf)
{
	__u32 zero = 0;
	struct cu_cpu *c = bpf_map_lookup_elem(&cpu_state, &zero);
	struct cu_ctr pmu_now[CU_NPMU]; /* zeroed, and used, only with counters configured */
	__u64 seq;
	__u32 ppid, npid;

	if (!c)
		return 0;
	seq = c->seq_end + 1;
	c->seq_begin = seq;
	COMPILER_BARRIER();
	if (have_pmu || have_tclk)
		__builtin_memset(pmu_now, 0, sizeof(pmu_now));
	if (have_pmu) {
		pmu_read(&pmu_instr, &pmu_now[0]);
		pmu_read(&pmu_cycles, &pmu_now[1]);
		pmu_read(&pmu_cmiss, &pmu_now[2]);
	}
	if (have_tclk)
		pmu_read(&pmu_tclk, &pmu_now[3]);
	ppid = KREAD(btf, prev->pid, prev, pid);
	if (ppid != 0)
		charge_prev(c, prev, ppid, pmu_now, btf);

	/* who runs now: its cgroup owns the running slice */
	npid = KREAD(btf, next->pid, next, pid);
	c->pid = npid;
	if (npid != 0) {
		c->cgid = css_set_cgid(KREAD(btf, next->cgroups, next, cgroups), btf);
		c->ts = switch_clock(c, next, btf);
	} else {
		c->cgid = 0;
		c->ts = 0;
	}
	if (have_pmu) {
		c->pmu[0] = pmu_now[0];
		c->pmu[1] = pmu_now[1];
		c->pmu[2] = pmu_now[2];
	}
	if (have_tclk)
		c->pmu[3] = pmu_now[3];
	COMPILER_BARRIER();
	c->seq_end = seq;
	return 0;
}

static __always_inline int on_exit(struct task_struct *p, const bool btf)
{
	__u32 pid, tgid;

	if (!per_process)
		return 0;
	pid = KREAD(btf, p->pid, p, pid);
	tgid = KREAD(btf, p->tgid, p, tgid);
	/* the leader's exit ends the process; stray threads are swept by userspace */
	if (pid == tgid)
		bpf_map_delete_elem(&tgid_stats, &tgid);
	return 0;
}

/* Is cgrp in the hierarchy whose ids cg_stats uses (v2: the default hierarchy, id 0;
 * v1: the one carrying cpuacct)? Ids of different hierarchies may collide. */
static __always_inline bool walked_hierarchy(struct cgroup *cgrp, const bool btf)
{
	if (use_v1) {
		int sid;
		__u32 mask;

		if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, cpuacct_cgrp_id))
			return false;
		sid = bpf_core_enum_value(enum cgroup_subsys_id, cpuacct_cgrp_id);
		if (sid < 0 || sid >= 32)
			return false;
		mask = KREAD(btf, cgrp->root->subsys_mask, cgrp, root, subsys_mask);
		return mask & (1u << sid);
	}
	return KREAD(btf, cgrp->root->hierarchy_id, cgrp, root, hierarchy_id) == 0;
}

/* cgroup_rmdir: keep the removed cgroup's id -> (parent id, name) for userspace. */
static __always_inline int record_gone(struct cgroup *cgrp, const bool btf)
{
	struct cgroup_subsys_state *pcss;
	struct cu_gone g = {};
	const char *name;
	__u64 id;

	if (!cgrp || !walked_hierarchy(cgrp, btf))
		return 0;
	id = KREAD(btf, cgrp->kn->id, cgrp, kn, id);
	pcss = KREAD(btf, cgrp->self.parent, cgrp, self.parent);
	if (pcss)
		g.parent = KREAD(btf, pcss->cgroup->kn->id, pcss, cgroup, kn, id);
	name = KREAD(btf, cgrp->kn->name, cgrp, kn, name);
	if (!id || !g.parent || !name || bpf_probe_read_kernel_str(g.name, sizeof(g.name), name) <= 0)
		return 0;
	if (bpf_map_update_elem(&cg_gone, &id, &g, BPF_NOEXIST))
		count_drop(CU_DROP_GONE);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(btf_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev, next, true);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(raw_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return on_switch(prev, next, false);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(btf_exit, struct task_struct *p)
{
	return on_exit(p, true);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(raw_exit, struct task_struct *p)
{
	return on_exit(p, false);
}

/* The programs that count cgroup mkdir/rmdir events in cg_events, one per attach point. */
#define CG_EVENT_PROG(sec, name)                      \
	SEC(sec)                                      \
	int name(void *ctx)                           \
	{                                             \
		__sync_fetch_and_add(&cg_events, 1);  \
		return 0;                             \
	}

CG_EVENT_PROG("tp_btf/cgroup_mkdir", btf_cg_mkdir)
CG_EVENT_PROG("tp_btf/cgroup_rmdir", btf_cg_rmdir)
CG_EVENT_PROG("raw_tp/cgroup_mkdir", raw_cg_mkdir)
CG_EVENT_PROG("raw_tp/cgroup_rmdir", raw_cg_rmdir)

SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(btf_cg_gone, struct cgroup *cgrp, const char *path)
{
	return record_gone(cgrp, true);
}

SEC("raw_tp/cgroup_rmdir")
int BPF_PROG(raw_cg_gone, struct cgroup *cgrp, const char *path)
{
	return record_gone(cgrp, false);
}
