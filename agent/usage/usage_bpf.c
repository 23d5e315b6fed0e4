/* usage_bpf.c - the eBPF usage source (bpf/cpuusage.bpf.c).
 *
 * open:  counters (usage_bpf_pmu.c: the hardware set where present, task-clock when
 *        configured) -> skeleton open -> rodata (cgroup id flavour, counters) ->
 *        load with tp_btf programs, or raw_tp ones if that fails -> perf fds into the
 *        perf event arrays -> attach.
 * read:  batch-read cg_stats and sum the per-CPU values; add the slice each CPU's
 *        current task has run so far (cpu_state), so a task that never leaves the CPU
 *        is still counted; map ids to paths from a cg_walk() of cpu_root, re-walked
 *        when the kernel reports a cgroup mkdir/rmdir, or an unknown id shows up
 *        (then at most every WALK_UNKNOWN_NS); cgroups gone from the walk get their last delta
 *        reported and leave the map. Exited processes leave tgid_stats in the kernel
 *        (leader exit) and by a periodic sweep here.
 *
 * Short-lived cgroups (created and removed between two reads, so no walk ever saw
 * them: short Jobs, init containers) are charged to their own entry in the read after
 * their removal. The kernel side records every removed cgroup of the walked
 * hierarchy at cgroup_rmdir in cg_gone: id -> (parent id, name), bounded
 * (CU_DEF_MAX_GONE; a full map counts in drops and the usage goes to system as
 * before). Each read takes cg_gone *before* cg_stats, so every id taken was removed
 * before its stats were read and those stats are final (but for the last task's final
 * switch-out, which can land microseconds after rmdir: a read falling in between
 * counts that slice from cpu_state and loses only what the switch adds later). The
 * path is the parent's (from the walk, from this read's vanished cgroups, or from
 * another cg_gone entry: a pod's cgroup removed together with its container) plus
 * the name; a parent from the kernel, not a path, so a cgroup namespace or a walk
 * root below the hierarchy root names it as the walk would. The entry is
 * reported once with its whole total, then deleted from cg_stats and cg_gone, so
 * neither map grows. An id removed after cg_gone was taken keeps its cg_stats entry
 * (the rewalk does not delete ids still listed in cg_gone) until the next read.
 * Where the rmdir program does not load or attach, the object is loaded without it
 * (probe says why) and such cgroups' usage goes to system, as before.
 *
 * Totals per id are kept monotonic (a torn read of cpu_state cannot make a delta
 * negative). libbpf's messages are captured, not printed (WATTLET_BPF_DEBUG=1 prints).
 */
#include "usage_impl.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/cpuusage.h"
#include "bpf/cpuusage.skel.h"
#include "usage_bpf_pmu.h"

#define WALK_UNKNOWN_NS 2000000000ULL   /* walks for unknown ids: at most every 2 s */
#define TGID_SWEEP_NS 10000000000ULL    /* sweep exited tgids every 10 s */
#define BATCH_KEYS 256u                 /* keys per bpf_map_lookup_batch call */
#define TGID_SWEEP_MAX 4096u            /* deletions per sweep */
#define CPU_STATE_TRIES 4               /* reads of cpu_state for an untorn copy */
#define CONSISTENT_TRIES 8              /* reads for a cg_stats + cpu_state pair with no
					   switch in between */

_Static_assert(CU_NVAL == FEAT_COUNT, "cu_val slots follow enum feature");

struct tot {
	uint64_t id;
	uint64_t v[FEAT_COUNT];
};

struct known {
	uint64_t id;
	char *path;
};

/* A cg_gone entry taken this read; path resolved on demand, owned here. */
struct gone {
	uint64_t id;
	struct cu_gone v;
	char *path;
	bool failed; /* no path: the parent is unknown (too deep, or its record dropped) */
};

struct bpf_src {
	struct cpuusage_bpf *skel;
	const struct cg_layout *layout;
	struct bpf_pmu ctr; /* counters read at sched_switch (usage_bpf_pmu.h) */
	unsigned max_cgroups, max_depth;
	int ncpu;
	bool per_process; /* tgid_stats kept by the program (default; opts can turn off) */
	bool batch_ok;
	bool first;

	uint64_t *keys;       /* [BATCH_KEYS] */
	struct cu_val *vals;  /* [BATCH_KEYS * ncpu] */
	struct cu_cpu *cpus;  /* [ncpu] */
	struct cu_cpu *cpus2; /* [ncpu], re-read of torn copies */
	uint64_t retries;     /* reads repeated because a CPU switched during them */
	uint64_t *seq0;       /* [ncpu], each CPU's switch count before cg_stats was read */

	struct tot *cur, *prev; /* sorted by id */
	size_t ncur, nprev, cap_tot;

	struct known *known; /* sorted by id, from the last walk */
	size_t nknown;
	struct known *stale; /* vanished cgroups reported this read, sorted by id */
	size_t nstale;

	bool gone_on;        /* the cgroup_rmdir recorder is attached */
	struct gone *gone;   /* cg_gone as taken this read, sorted by id */
	size_t ngone, cap_gone;
	uint64_t gone_lost;  /* removed cgroups with usage not reported (output bound) */

	struct usage_entry *out;
	size_t cap_out;

	uint64_t last_walk_ns, walk_events, last_sweep_ns;
	uint64_t walk_overflow, vanished;
};

/* libbpf's print callback has no context argument; the last warning is kept per
 * thread so open() can name the cause. */
static _Thread_local char libbpf_last[200];

static int libbpf_capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static const char *dbg_env = "WATTLET_BPF_DEBUG";
	va_list cp;

	if (getenv(dbg_env)) {
		va_copy(cp, ap);
		vfprintf(stderr, fmt, cp);
		va_end(cp);
	}
	if (level == LIBBPF_WARN) {
		int n = vsnprintf(libbpf_last, sizeof(libbpf_last), fmt, ap);

		if (n > 0) {
			size_t l = strlen(libbpf_last);

			while (l && (libbpf_last[l - 1] == '\n' || libbpf_last[l - 1] == ' '))
				libbpf_last[--l] = '\0';
		}
	}
	return 0;
}

static int cmp_tot(const void *a, const void *b)
{
	uint64_t x = ((const struct tot *)a)->id, y = ((const struct tot *)b)->id;

	return x < y ? -1 : x > y;
}

static int cmp_gone(const void *a, const void *b)
{
	uint64_t x = ((const struct gone *)a)->id, y = ((const struct gone *)b)->id;

	return x < y ? -1 : x > y;
}

static int cmp_known(const void *a, const void *b)
{
	uint64_t x = ((const struct known *)a)->id, y = ((const struct known *)b)->id;

	return x < y ? -1 : x > y;
}

static struct tot *find_tot(struct tot *t, size_t n, uint64_t id)
{
	struct tot key = { .id = id };

	return n ? bsearch(&key, t, n, sizeof(*t), cmp_tot) : NULL;
}

static struct known *find_known(struct known *k, size_t n, uint64_t id)
{
	struct known key = { .id = id };

	return n ? bsearch(&key, k, n, sizeof(*k), cmp_known) : NULL;
}

static void free_known(struct known *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(k[i].path);
	free(k);
}

static void free_stale(struct bpf_src *s)
{
	for (size_t i = 0; i < s->nstale; i++)
		free(s->stale[i].path);
	s->nstale = 0;
}

static void free_gone(struct bpf_src *s)
{
	for (size_t i = 0; i < s->ngone; i++)
		free(s->gone[i].path);
	s->ngone = 0;
}

static void bpf_close(void *state)
{
	struct bpf_src *s = state;

	if (!s)
		return;
	cpuusage_bpf__destroy(s->skel);
	bpf_pmu_close(&s->ctr);
	free(s->keys);
	free(s->vals);
	free(s->cpus);
	free(s->cpus2);
	free(s->seq0);
	free(s->cur);
	free(s->prev);
	free_known(s->known, s->nknown);
	free_stale(s);
	free(s->stale);
	free_gone(s);
	free(s->gone);
	free(s->out);
	free(s);
}

static int load_err(struct wl_err *err, int rc, const char *what)
{
	char lock[128] = "";
	int e = rc < 0 ? -rc : rc;

	if (e == EPERM || e == EACCES) {
		if (read_file("/sys/kernel/security/lockdown", lock, sizeof(lock), NULL) == 0 &&
		    strstr(lock, "[confidentiality]"))
			return err_set(err, e, "eBPF: kernel is locked down (lockdown=confidentiality)");
		return err_set(err, e, "eBPF: permission denied (need root or CAP_BPF+CAP_PERFMON)");
	}
	if (!path_exists("/sys/kernel/btf/vmlinux"))
		return err_set(err, e, "eBPF: no kernel BTF (/sys/kernel/btf/vmlinux): %s failed: %s",
			       what, strerror(e));
	return err_set(err, e, "eBPF: %s failed: %s%s%s", what, strerror(e),
		       libbpf_last[0] ? "; libbpf: " : "", libbpf_last);
}

/* One attempt with the tp_btf (btf=true) or raw_tp programs, with or without the
 * cgroup_rmdir recorder of removed cgroups (gone). */
static int try_load(struct bpf_src *s, bool btf, bool gone, struct wl_err *err)
{
	struct cpuusage_bpf *sk;
	struct bpf_program *btf_progs[4], *raw_progs[4];
	int rc;

	sk = cpuusage_bpf__open();
	if (!sk)
		return load_err(err, -errno, "open");
	btf_progs[0] = sk->progs.btf_switch;
	btf_progs[1] = sk->progs.btf_exit;
	btf_progs[2] = sk->progs.btf_cg_mkdir;
	btf_progs[3] = sk->progs.btf_cg_rmdir;
	raw_progs[0] = sk->progs.raw_switch;
	raw_progs[1] = sk->progs.raw_exit;
	raw_progs[2] = sk->progs.raw_cg_mkdir;
	raw_progs[3] = sk->progs.raw_cg_rmdir;
	for (int i = 0; i < 4; i++) {
		bpf_program__set_autoload(btf_progs[i], btf);
		bpf_program__set_autoload(raw_progs[i], !btf);
	}
	bpf_program__set_autoload(sk->progs.btf_cg_gone, btf && gone);
	bpf_program__set_autoload(sk->progs.raw_cg_gone, !btf && gone);
	sk->rodata->use_v1 = !s->layout->cpu_is_v2;
	sk->rodata->per_process = s->per_process;
	rc = bpf_map__set_max_entries(sk->maps.cg_stats, s->max_cgroups);
	if (rc == 0)
		rc = bpf_pmu_prepare(&s->ctr, sk);
	if (rc) {
		rc = load_err(err, rc, "map sizing");
		goto cleanup;
	}
	rc = cpuusage_bpf__load(sk);
	if (rc) {
		rc = load_err(err, rc, btf ? "load (tp_btf)" : "load (raw_tp)");
		goto cleanup;
	}
	rc = bpf_pmu_fill(&s->ctr, sk);
	if (rc) {
		rc = load_err(err, rc, "counter map update");
		goto cleanup;
	}
	sk->bss->t0_ns = mono_ns();
	rc = cpuusage_bpf__attach(sk);
	if (rc) {
		rc = load_err(err, rc, btf ? "attach (tp_btf)" : "attach (raw_tp)");
		goto cleanup;
	}
	s->skel = sk;
	s->gone_on = gone;
	return 0;
cleanup:
	cpuusage_bpf__destroy(sk);
	return rc;
}

/* tp_btf, else raw_tp; each first with the removed-cgroup recorder, then without it
 * (a kernel where only that program fails keeps CPU accounting). err gets the first
 * attempt's reason; gone_why why the recorder is not used. Permission problems end
 * the search (they will not go away). */
static int load_any(struct bpf_src *s, struct wl_err *err, struct wl_err *gone_why)
{
	int rc = -EINVAL;

	gone_why->msg[0] = '\0';
	for (int b = 0; b < 2; b++)
		for (int g = 0; g < 2; g++) {
			struct wl_err e = { "" };

			rc = try_load(s, b == 0, g == 0, &e);
			if (rc == 0)
				return 0;
			if (b == 0 && g == 0 && err)
				*err = e;
			if (g == 0)
				*gone_why = e;
			if (rc == -EPERM || rc == -EACCES)
				return rc;
		}
	return rc;
}

static void *bpf_open(const struct usage_opts *opts, struct usage_probe *probe,
		      struct wl_err *err)
{
	struct bpf_src *s = NULL;
	struct wl_err gone_why = { "" };
	int rc;

	if (!opts || !opts->layout) {
		err_set(err, EINVAL, "eBPF: no cgroup layout given");
		goto cleanup;
	}
	s = wl_zalloc(sizeof(*s), "eBPF", err);
	if (!s)
		goto cleanup;
	s->layout = opts->layout;
	s->max_cgroups = opts->max_cgroups ? opts->max_cgroups : CU_DEF_MAX_CGROUPS;
	s->max_depth = opts->max_depth ? opts->max_depth : 16;
	s->first = true;
	s->batch_ok = true;
	s->per_process = !opts->ebpf_per_process_off;
	s->ncpu = libbpf_num_possible_cpus();
	if (s->ncpu <= 0) {
		err_set(err, -s->ncpu, "eBPF: cannot count possible CPUs");
		goto cleanup;
	}
	s->cap_tot = (size_t)s->max_cgroups + 2u * (size_t)s->ncpu; /* + each CPU's pend and slice */
	s->keys = calloc(BATCH_KEYS, sizeof(*s->keys));
	s->vals = calloc((size_t)BATCH_KEYS * (size_t)s->ncpu, sizeof(*s->vals));
	s->cpus = calloc((size_t)s->ncpu, sizeof(*s->cpus));
	s->cpus2 = calloc((size_t)s->ncpu, sizeof(*s->cpus2));
	s->seq0 = calloc((size_t)s->ncpu, sizeof(*s->seq0));
	s->cur = calloc(s->cap_tot, sizeof(*s->cur));
	s->prev = calloc(s->cap_tot, sizeof(*s->prev));
	if (!s->keys || !s->vals || !s->cpus || !s->cpus2 || !s->seq0 || !s->cur || !s->prev) {
		err_set(err, ENOMEM, "eBPF: out of memory");
		goto cleanup;
	}

	libbpf_set_print(libbpf_capture);
	libbpf_last[0] = '\0';

	if (bpf_pmu_open(&s->ctr, s->ncpu, opts, err) < 0)
		goto cleanup;

	rc = load_any(s, err, &gone_why);
	if (rc < 0 && rc != -EPERM && rc != -EACCES && (s->ctr.hw || s->ctr.sw)) {
		/* a counter-specific failure must not cost CPU time accounting */
		struct wl_err err3;

		bpf_pmu_disable(&s->ctr, "eBPF load with counters failed");
		if (load_any(s, &err3, &gone_why) == 0)
			rc = 0;
	}
	if (rc < 0)
		goto cleanup;

	if (probe) {
		probe->ebpf_ok = true;
		snprintf(probe->ebpf_reason, sizeof(probe->ebpf_reason),
			 "eBPF: %s/sched_switch attached, cgroup ids from %s",
			 bpf_program__autoload(s->skel->progs.btf_switch) ? "tp_btf" : "raw_tp",
			 s->layout->cpu_is_v2 ? "cgroup v2" : "v1 cpuacct");
		probe->removed_ok = s->gone_on;
		if (s->gone_on)
			snprintf(probe->removed_reason, sizeof(probe->removed_reason),
				 "cgroups removed between two reads keep their usage (%s/cgroup_rmdir "
				 "records up to %u per read)",
				 bpf_program__autoload(s->skel->progs.btf_cg_gone) ? "tp_btf" : "raw_tp",
				 (unsigned)CU_DEF_MAX_GONE);
		else
			snprintf(probe->removed_reason, sizeof(probe->removed_reason),
				 "cgroups removed between two reads are not seen, their usage goes "
				 "to system (cgroup_rmdir recorder: %.100s)",
				 gone_why.msg[0] ? gone_why.msg : "not loaded");
		bpf_pmu_probe(&s->ctr, probe);
	}
	return s;
cleanup:
	if (probe) {
		probe->ebpf_ok = false;
		snprintf(probe->ebpf_reason, sizeof(probe->ebpf_reason), "%.199s",
			 err ? err->msg : "eBPF: failed"); /* truncated to fit */
	}
	bpf_close(s);
	return NULL;
}

/* Adds a key's per-CPU values to cur (keys are unique within one map pass, but a
 * hash map iterated while it changes may repeat one: merged later by sort). */
static void add_cur(struct bpf_src *s, uint64_t id, const struct cu_val *pcpu)
{
	struct tot *t;

	if (id == 0 || s->ncur >= s->cap_tot)
		return;
	t = &s->cur[s->ncur++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	for (int c = 0; c < s->ncpu; c++)
		for (int f = 0; f < FEAT_COUNT; f++)
			t->v[f] += pcpu[c].v[f];
}

static int read_map_iter(struct bpf_src *s, int fd)
{
	uint64_t key, next;
	uint64_t *kp = NULL;
	unsigned guard = 0;

	while (bpf_map_get_next_key(fd, kp, &next) == 0) {
		key = next;
		kp = &key;
		if (++guard > s->max_cgroups * 2u)
			break; /* a map churning under us: stop, the next read catches up */
		if (bpf_map_lookup_elem(fd, &key, s->vals) == 0)
			add_cur(s, key, s->vals);
	}
	return 0;
}

static int read_cg_map(struct bpf_src *s)
{
	int fd = bpf_map__fd(s->skel->maps.cg_stats);
	uint64_t token = 0;
	bool started = false;
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);

	s->ncur = 0;
	if (!s->batch_ok)
		return read_map_iter(s, fd);
	for (;;) {
		__u32 count = BATCH_KEYS;
		int rc = bpf_map_lookup_batch(fd, started ? &token : NULL, &token, s->keys,
					      s->vals, &count, &opts);
		int e = rc < 0 ? errno : 0;

		if (rc < 0 && e != ENOENT) {
			if (!started && (e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP)) {
				s->batch_ok = false;
				return read_map_iter(s, fd);
			}
			if (e == ENOSPC) { /* a bucket larger than BATCH_KEYS */
				s->ncur = 0;
				return read_map_iter(s, fd);
			}
			return -e;
		}
		for (__u32 i = 0; i < count; i++)
			add_cur(s, s->keys[i], &s->vals[(size_t)i * (size_t)s->ncpu]);
		if (rc < 0) /* ENOENT: that was the last batch */
			return 0;
		started = true;
	}
}

/* Reads cpu_state into s->cpus; a CPU whose copy is torn (a switch wrote it meanwhile,
 * seq_end != seq_begin) is read again, up to CPU_STATE_TRIES times, then left out
 * (pid and cgid cleared): its pending charge is then reported by a later read. */
static int read_cpu_state(struct bpf_src *s)
{
	int fd = bpf_map__fd(s->skel->maps.cpu_state);
	__u32 zero = 0;
	bool torn = true;

	if (bpf_map_lookup_elem(fd, &zero, s->cpus) < 0)
		return -errno;
	for (int tries = 1; torn && tries < CPU_STATE_TRIES; tries++) {
		torn = false;
		for (int c = 0; c < s->ncpu && !torn; c++)
			torn = s->cpus[c].seq_end != s->cpus[c].seq_begin;
		if (!torn)
			break;
		if (bpf_map_lookup_elem(fd, &zero, s->cpus2) < 0)
			return -errno;
		for (int c = 0; c < s->ncpu; c++)
			if (s->cpus[c].seq_end != s->cpus[c].seq_begin)
				s->cpus[c] = s->cpus2[c];
	}
	for (int c = 0; c < s->ncpu; c++)
		if (s->cpus[c].seq_end != s->cpus[c].seq_begin)
			memset(&s->cpus[c], 0, sizeof(s->cpus[c]));
	return 0;
}

/* Each CPU's switch count (seq_end; torn copies are fine: only equality is tested). */
static int snapshot_seqs(struct bpf_src *s)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.cpu_state), &zero, s->cpus2) < 0)
		return -errno;
	for (int c = 0; c < s->ncpu; c++)
		s->seq0[c] = s->cpus2[c].seq_end;
	return 0;
}

/* The CLOCK_MONOTONIC ns the task running on a CPU has run since its switch-in (0 if
 * none): ts is in the CPU's run-queue clock, mapped by the calibration pair. */
static uint64_t running_slice(const struct cu_cpu *cc, uint64_t now)
{
	uint64_t start;

	if (cc->pid == 0 || cc->cgid == 0 || cc->ts == 0)
		return 0;
	start = cc->cal_mono + (uint64_t)((int64_t)(cc->ts - cc->cal_clk));
	return start < now ? now - start : 0;
}

/* Sort cur, merge duplicate ids, add each CPU's pending charge and running slice,
 * then keep totals monotonic. cg_stats was read before cpu_state, so a pend flushed
 * in between is missed (reported later), never counted twice. */
static int finish_cur(struct bpf_src *s, uint64_t now)
{
	size_t w = 0;

	if (read_cpu_state(s) == 0) {
		for (int c = 0; c < s->ncpu; c++) {
			const struct cu_cpu *cc = &s->cpus[c];
			uint64_t slice = running_slice(cc, now);
			struct tot *t;

			if (cc->pend_cg != 0 && s->ncur < s->cap_tot) {
				t = &s->cur[s->ncur++];
				memset(t, 0, sizeof(*t));
				t->id = cc->pend_cg;
				for (int f = 0; f < FEAT_COUNT; f++)
					t->v[f] = cc->pend.v[f];
			}
			if (slice != 0 && s->ncur < s->cap_tot) {
				t = &s->cur[s->ncur++];
				memset(t, 0, sizeof(*t));
				t->id = cc->cgid;
				t->v[FEAT_CPU_TIME] = slice;
				bpf_pmu_slice(&s->ctr, c, cc, t->v);
			}
		}
	}
	qsort(s->cur, s->ncur, sizeof(*s->cur), cmp_tot);
	for (size_t i = 0; i < s->ncur; i++) {
		if (w && s->cur[w - 1].id == s->cur[i].id) {
			for (int f = 0; f < FEAT_COUNT; f++)
				s->cur[w - 1].v[f] += s->cur[i].v[f];
			continue;
		}
		s->cur[w++] = s->cur[i];
	}
	s->ncur = w;
	for (size_t i = 0; i < s->ncur; i++) {
		struct tot *p = find_tot(s->prev, s->nprev, s->cur[i].id);

		for (int f = 0; p && f < FEAT_COUNT; f++)
			if (s->cur[i].v[f] < p->v[f])
				s->cur[i].v[f] = p->v[f];
	}
	return 0;
}

struct walk_ctx {
	struct known *k;
	size_t n, cap;
	uint64_t overflow;
	int err;
};

static int walk_visit(const char *relpath, uint64_t id, void *ctx)
{
	struct walk_ctx *w = ctx;
	char *p;

	if (w->n >= w->cap) {
		w->overflow++;
		return 0;
	}
	p = strdup(relpath);
	if (!p) {
		w->err = -ENOMEM;
		return -ENOMEM;
	}
	w->k[w->n].id = id;
	w->k[w->n].path = p;
	w->n++;
	return 0;
}

/* Adds an output entry; grows out up to the bound. */
static int emit(struct bpf_src *s, size_t *n, uint64_t id, const char *path,
		const struct tot *now, const struct tot *before)
{
	struct usage_entry *e;

	if (*n >= s->cap_out) {
		size_t cap = s->cap_out ? s->cap_out * 2 : 64;
		size_t bound = (size_t)s->max_cgroups * 2u + 64u;
		struct usage_entry *ne;

		if (cap > bound)
			cap = bound;
		if (*n >= cap)
			return -ENOSPC;
		ne = realloc(s->out, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		s->out = ne;
		s->cap_out = cap;
	}
	e = &s->out[(*n)++];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->path = path;
	for (int f = 0; now && f < FEAT_COUNT; f++)
		e->delta[f] = now->v[f] - (before ? before->v[f] : 0);
	return 0;
}

static struct gone *find_gone(struct bpf_src *s, uint64_t id)
{
	struct gone key = { .id = id };

	return s->ngone ? bsearch(&key, s->gone, s->ngone, sizeof(*s->gone), cmp_gone) : NULL;
}

/* An id removed after cg_gone was taken this read, not yet named: its cg_stats entry
 * stays for the next read. */
static bool gone_later(struct bpf_src *s, uint64_t id)
{
	struct cu_gone v;

	return s->gone_on && !find_gone(s, id) &&
	       bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.cg_gone), &id, &v) == 0;
}

/* Re-walks cpu_root. Known cgroups missing from the new walk are reported one last
 * time (they move to stale) and their map entries are deleted; ids in the map that
 * the walk does not know are deleted too, except short-lived ones named by cg_gone
 * (charged by charge_gone, or in the next read). */
static int rewalk(struct bpf_src *s, uint64_t now, uint64_t events, size_t *nout)
{
	struct walk_ctx w = { 0 };
	int fd = bpf_map__fd(s->skel->maps.cg_stats);
	int rc;

	w.cap = s->max_cgroups;
	w.k = calloc(w.cap ? w.cap : 1, sizeof(*w.k));
	if (!w.k)
		return -ENOMEM;
	rc = cg_walk(s->layout, s->layout->cpu_root, s->max_depth, walk_visit, &w);
	if (rc < 0 || w.err < 0) {
		free_known(w.k, w.n);
		return w.err < 0 ? w.err : rc;
	}
	qsort(w.k, w.n, sizeof(*w.k), cmp_known);
	s->last_walk_ns = now;
	s->walk_events = events;
	s->walk_overflow = w.overflow;

	free_stale(s);
	free(s->stale);
	s->stale = calloc(s->nknown ? s->nknown : 1, sizeof(*s->stale));
	if (!s->stale) {
		free_known(w.k, w.n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->nknown; i++) {
		struct known *k = &s->known[i];

		if (find_known(w.k, w.n, k->id))
			continue;
		/* vanished: last delta, then out of the map */
		const struct tot *c = find_tot(s->cur, s->ncur, k->id);
		const struct tot *p = find_tot(s->prev, s->nprev, k->id);

		if (c && !s->first)
			(void)emit(s, nout, k->id, k->path, c, p);
		s->stale[s->nstale++] = *k; /* known is sorted, so stale is */
		k->path = NULL;
		s->vanished++;
	}
	free_known(s->known, s->nknown);
	s->known = w.k;
	s->nknown = w.n;
	for (size_t i = 0; i < s->ncur; i++) {
		uint64_t id = s->cur[i].id;

		if (find_known(s->known, s->nknown, id))
			continue;
		/* never-named ids that cg_gone names are charge_gone's (this read) or the
		 * next read's; vanished known ones were reported above */
		if (!find_known(s->stale, s->nstale, id) && (find_gone(s, id) || gone_later(s, id)))
			continue;
		bpf_map_delete_elem(fd, &id);
	}
	return 0;
}

/* Takes cg_gone into s->gone (sorted, unique). Called before cg_stats is read, so
 * the stats of every id taken are final. A map changing while it is iterated may
 * skip a key: it stays there for the next read. */
static int read_gone(struct bpf_src *s)
{
	int fd = bpf_map__fd(s->skel->maps.cg_gone);
	uint64_t key, next, *kp = NULL;
	unsigned guard = 0;
	size_t w = 0;

	free_gone(s);
	if (!s->gone_on)
		return 0;
	while (bpf_map_get_next_key(fd, kp, &next) == 0) {
		struct gone *g;

		key = next;
		kp = &key;
		if (++guard > 2u * CU_DEF_MAX_GONE)
			break;
		if (s->ngone >= s->cap_gone) {
			size_t cap = s->cap_gone ? s->cap_gone * 2 : 16;
			struct gone *ng;

			if (cap > 2u * CU_DEF_MAX_GONE)
				break;
			ng = realloc(s->gone, cap * sizeof(*ng));
			if (!ng)
				return -ENOMEM;
			s->gone = ng;
			s->cap_gone = cap;
		}
		g = &s->gone[s->ngone];
		memset(g, 0, sizeof(*g));
		if (bpf_map_lookup_elem(fd, &key, &g->v) != 0)
			continue;
		g->id = key;
		g->v.name[CU_NAME_LEN - 1] = '\0';
		s->ngone++;
	}
	if (s->ngone == 0)
		return 0;
	qsort(s->gone, s->ngone, sizeof(*s->gone), cmp_gone);
	for (size_t i = 0; i < s->ngone; i++)
		if (!w || s->gone[w - 1].id != s->gone[i].id)
			s->gone[w++] = s->gone[i];
	s->ngone = w;
	return 0;
}

/* The path of a removed cgroup: its parent's (a live cgroup, one that vanished this
 * read, or another removed one) + "/" + its name; NULL if the parent is unknown. */
static const char *gone_path(struct bpf_src *s, struct gone *g, unsigned depth)
{
	const struct known *k;
	const char *pp = NULL;
	struct gone *pg;
	size_t lp, ln;

	if (g->path || g->failed)
		return g->path;
	ln = strlen(g->v.name);
	if (depth < CG_WALK_MAX_DEPTH && ln > 0 && !strchr(g->v.name, '/')) {
		if ((k = find_known(s->known, s->nknown, g->v.parent)) ||
		    (k = find_known(s->stale, s->nstale, g->v.parent)))
			pp = k->path;
		else if ((pg = find_gone(s, g->v.parent)) && pg != g)
			pp = gone_path(s, pg, depth + 1);
	}
	if (!pp) {
		g->failed = true;
		return NULL;
	}
	lp = strcmp(pp, "/") == 0 ? 0 : strlen(pp);
	g->path = malloc(lp + 1 + ln + 1);
	if (!g->path) {
		g->failed = true;
		return NULL;
	}
	memcpy(g->path, pp, lp);
	g->path[lp] = '/';
	memcpy(g->path + lp + 1, g->v.name, ln + 1);
	return g->path;
}

/* Charges each removed cgroup taken from cg_gone that no walk named (a vanished
 * known one was reported by rewalk) with its whole final total, then deletes its
 * cg_stats and cg_gone entries. After a successful rewalk only. */
static void charge_gone(struct bpf_src *s, size_t *nout)
{
	int sfd = bpf_map__fd(s->skel->maps.cg_stats), gfd = bpf_map__fd(s->skel->maps.cg_gone);

	for (size_t i = 0; i < s->ngone; i++) {
		struct gone *g = &s->gone[i];
		const struct tot *c = find_tot(s->cur, s->ncur, g->id);

		if (find_known(s->known, s->nknown, g->id)) {
			/* alive after all (cannot happen: kernfs ids are not reused) */
			bpf_map_delete_elem(gfd, &g->id);
			continue;
		}
		/* no path: outside the walked subtree or deeper than max_depth (never
		 * tracked, like live ones there), or the parent's record was dropped
		 * (counted then): its usage stays with system, as before */
		if (c && !s->first && !find_known(s->stale, s->nstale, g->id)) {
			const char *path = gone_path(s, g, 0);

			if (path && emit(s, nout, g->id, path, c,
					 find_tot(s->prev, s->nprev, g->id)) == 0)
				s->vanished++;
			else if (path)
				s->gone_lost++; /* output bound reached */
		}
		bpf_map_delete_elem(sfd, &g->id);
		bpf_map_delete_elem(gfd, &g->id);
	}
}

static void sweep_tgids(struct bpf_src *s)
{
	int fd = bpf_map__fd(s->skel->maps.tgid_stats);
	uint32_t key, next, *kp = NULL;
	uint32_t *dead = calloc(TGID_SWEEP_MAX, sizeof(*dead));
	size_t nd = 0;
	unsigned guard = 0;

	if (!dead)
		return;
	while (nd < TGID_SWEEP_MAX && bpf_map_get_next_key(fd, kp, &next) == 0) {
		key = next;
		kp = &key;
		if (++guard > 4u * CU_DEF_MAX_TGIDS)
			break;
		if (key == 0 || (kill((pid_t)key, 0) < 0 && errno == ESRCH))
			dead[nd++] = key;
	}
	for (size_t i = 0; i < nd; i++)
		bpf_map_delete_elem(fd, &dead[i]);
	free(dead);
}

static uint64_t sum_drops(struct bpf_src *s)
{
	int fd = bpf_map__fd(s->skel->maps.drops);
	uint64_t *v = calloc((size_t)s->ncpu, sizeof(*v));
	uint64_t total = 0;
	const __u32 slots[] = { CU_DROP_CG, CU_DROP_GONE };

	if (!v)
		return 0;
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (bpf_map_lookup_elem(fd, &slots[i], v) == 0)
			for (int c = 0; c < s->ncpu; c++)
				total += v[c];
	free(v);
	return total;
}

static int bpf_read(void *state, const struct usage_entry **entries, size_t *n,
		    uint32_t *feature_mask, uint64_t *dropped, uint64_t *vanished)
{
	struct bpf_src *s = state;
	uint64_t now, events;
	size_t nout = 0;
	bool need_walk;
	int rc;

	if (!s || !entries || !n)
		return -EINVAL;
	/* removed cgroups first: their cg_stats entries, read next, are then final */
	rc = read_gone(s);
	if (rc < 0)
		return rc;
	/* A CPU's pend is flushed into cg_stats at a switch; if one lands between reading
	 * cg_stats and reading cpu_state, that pend would be missing from this read. So
	 * note every CPU's switch count first and read again (bounded) when any CPU
	 * switched meanwhile; only after CONSISTENT_TRIES does a read settle for
	 * reporting such a pend one read late. */
	for (int attempt = 0;; attempt++) {
		bool moved = false;
		rc = snapshot_seqs(s);
		if (rc == 0)
			rc = read_cg_map(s);
		if (rc < 0)
			return rc;
		now = mono_ns();
		rc = finish_cur(s, now);
		if (rc < 0)
			return rc;
		for (int c = 0; c < s->ncpu && !moved; c++)
			moved = s->cpus[c].seq_end != s->seq0[c];
		if (!moved || attempt + 1 >= CONSISTENT_TRIES)
			break;
		s->retries++;
	}

	events = __atomic_load_n(&s->skel->bss->cg_events, __ATOMIC_RELAXED);
	/* mkdir/rmdir seen: walk now (at most once per read); an id without a path
	 * (deeper than max_depth, or racing a mkdir): walk, rate limited */
	need_walk = s->first || events != s->walk_events || s->ngone > 0;
	for (size_t i = 0; !need_walk && i < s->ncur; i++)
		if (!find_known(s->known, s->nknown, s->cur[i].id) &&
		    now - s->last_walk_ns >= WALK_UNKNOWN_NS)
			need_walk = true;
	if (!s->first)
		free_stale(s);
	if (need_walk) {
		rc = rewalk(s, now, events, &nout);
		if (rc < 0 && s->first)
			return rc;
		if (rc == 0) /* else cg_gone is kept for the next read */
			charge_gone(s, &nout);
	}

	/* Every known cgroup, with its delta; ids with no path yet keep their old
	 * baseline so their usage is reported once they are known. */
	for (size_t i = 0; i < s->nknown; i++) {
		const struct known *k = &s->known[i];
		const struct tot *c = find_tot(s->cur, s->ncur, k->id);
		const struct tot *p = find_tot(s->prev, s->nprev, k->id);

		rc = emit(s, &nout, k->id, k->path, s->first ? NULL : c, p);
		if (rc < 0)
			break;
	}
	/* new baseline: cur for reported ids, the old baseline for unknown ones */
	{
		size_t w = 0;

		for (size_t i = 0; i < s->ncur; i++) {
			const struct tot *keep = &s->cur[i];

			if (!s->first && !find_known(s->known, s->nknown, keep->id)) {
				keep = find_tot(s->prev, s->nprev, keep->id);
				if (!keep)
					continue;
			}
			s->prev[w] = *keep;
			s->prev[w].id = s->cur[i].id;
			w++;
		}
		/* prev stays sorted: cur was sorted and w only skips */
		s->nprev = w;
	}

	if (now - s->last_sweep_ns >= TGID_SWEEP_NS) {
		sweep_tgids(s);
		s->last_sweep_ns = now;
	}
	s->first = false;
	*entries = s->out;
	*n = nout;
	if (feature_mask)
		*feature_mask = (1u << FEAT_CPU_TIME) | bpf_pmu_features(&s->ctr, s->skel);
	if (dropped)
		*dropped = sum_drops(s) + s->walk_overflow + s->gone_lost;
	if (vanished)
		*vanished = s->vanished;
	return 0;
}

static const struct usage_src_ops bpf_usage_ops = {
	.name = "ebpf",
	.open = bpf_open,
	.close = bpf_close,
	.read = bpf_read,
};

const struct usage_src_ops *const usage_bpf_ops = &bpf_usage_ops;
