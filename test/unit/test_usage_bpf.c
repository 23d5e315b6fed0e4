/* test_usage_bpf.c - the eBPF usage source against the real kernel.
 *
 * Needs root and kernel BTF (skips with the reason otherwise). Creates its own
 * cgroups (wattlet-bpftest-<pid>) in the hierarchy the layout names, runs busy
 * children in them and checks the eBPF CPU time per cgroup against the cgroup's own
 * counter (cpuacct.usage / cpu.stat usage_usec). Cleans up in teardown, also when an
 * assertion fails.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testmain.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/cgroup/cgroup.h"
#include "agent/usage/usage_impl.h"
#include "bpf/cpuusage.h"
#include "fixture_bpf.h"

static int fx_setup(void **state, enum cg_pref pref)
{
	return fixture_bpf_setup(state, pref, "bpftest");
}

/* The set-up WL_TEST_FIXTURE uses: cgroup version chosen automatically. */
static int setup(void **state)
{
	return fx_setup(state, CG_PREF_AUTO);
}

static int setup_v2(void **state)
{
	return fx_setup(state, CG_PREF_V2);
}

static int teardown(void **state)
{
	return fixture_bpf_teardown(state);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Forks a child that joins cgroup dir abs, tells us, then spins: for spin_ns of its
 * own CPU time then exits (spin_ns > 0), or forever; duty < 100 sleeps between bursts
 * so it switches often. Returns once the child is in the cgroup. */
static pid_t spawn(struct fixture_bpf *f, const char *abs, uint64_t spin_ns, int duty)
{
	pid_t pid = fixture_bpf_fork(f, abs);

	if (pid == 0) {
		uint64_t start = thread_cpu_ns();

		for (;;) {
			volatile uint64_t x = 0;

			for (int i = 0; i < 200000; i++)
				x += (uint64_t)i;
			if (spin_ns && thread_cpu_ns() - start >= spin_ns)
				_exit(0);
			if (duty < 100) {
				struct timespec ts = { 0, 1000000 };

				nanosleep(&ts, NULL);
			}
		}
	}
	return pid;
}

static void open_src(struct fixture_bpf *f)
{
	struct usage_opts o = { .layout = &f->layout };
	struct wl_err err = { "" };

	f->src = usage_bpf_ops->open(&o, &f->probe, &err);
	if (!f->src)
		printf("# open: %s\n", err.msg);
	assert_non_null(f->src);
	assert_true(f->probe.ebpf_ok);
	printf("# %s\n# %s\n", f->probe.ebpf_reason, f->probe.pmu_reason);
}

static void assert_close(uint64_t got, uint64_t want, double rel, uint64_t abs_ns,
			 const char *what)
{
	double diff = (double)got - (double)want;
	double tol = rel * (double)want + (double)abs_ns;

	printf("# %-28s ebpf %10.3f ms  cgroup %10.3f ms  diff %+.3f%%\n", what, got / 1e6,
	       want / 1e6, want ? 100.0 * diff / (double)want : 0.0);
	assert_true(diff <= tol && -diff <= tol);
}

/* The first file descriptor from fd `from` up (below 1024) that this process holds for a
 * BPF map called name with key_size-byte keys, its info in *info; -1 when none. (Only
 * our own fds: another agent on the host tracks the same cgroups in its own maps.) */
static int own_map_fd(int from, const char *name, uint32_t key_size, struct bpf_map_info *info)
{
	for (int fd = from; fd < 1024; fd++) {
		uint32_t len = sizeof(*info);

		memset(info, 0, sizeof(*info));
		if (bpf_obj_get_info_by_fd(fd, info, &len) == 0 && strcmp(info->name, name) == 0 &&
		    info->key_size == key_size)
			return fd;
	}
	return -1;
}

/* CPU ns of tgid in the tgid_stats map this process holds (summed over CPUs); false
 * when no such map or no entry. */
static bool tgid_map_ns(uint32_t tgid, uint64_t *ns)
{
	struct bpf_map_info info;
	int fd = own_map_fd(3, "tgid_stats", 4, &info);
	int ncpu = libbpf_num_possible_cpus();
	size_t vsz;
	uint8_t *v;
	bool found;

	if (fd < 0)
		return false;
	vsz = ((size_t)info.value_size + 7u) & ~(size_t)7u;
	v = calloc((size_t)(ncpu > 0 ? ncpu : 1), vsz);
	found = v && bpf_map_lookup_elem(fd, &tgid, v) == 0;
	*ns = 0;
	for (int c = 0; found && c < ncpu; c++)
		*ns += *(const uint64_t *)(v + (size_t)c * vsz); /* slot 0: CPU ns */
	free(v);
	return found;
}

/* The scheduler's own on-CPU ns of a single-threaded process (/proc/<pid>/schedstat). */
static uint64_t schedstat_ns(pid_t pid)
{
	char p[64];
	unsigned long long ns = 0;
	FILE *fp;

	snprintf(p, sizeof(p), "/proc/%d/schedstat", (int)pid);
	fp = fopen(p, "r");
	assert_non_null(fp);
	assert_int_equal(fscanf(fp, "%llu", &ns), 1);
	fclose(fp);
	return ns;
}

/* Busy cgroups over >= 5 s: eBPF time per cgroup within 2 % of the cgroup counter. */
static void run_accuracy(struct fixture_bpf *f)
{
	char a[PATH_MAX], b[PATH_MAX], rel_a[160], rel_b[160];
	uint64_t id_a, id_b;
	struct fixture_bpf_bracket a0, b0, a1, b1;
	struct fixture_bpf_snap s0, s1;
	const struct usage_entry *ea, *eb;
	struct timespec win = { 5, 200000000 };
	pid_t kb;

	fixture_bpf_mk_cg(f, f->base_rel, NULL);
	id_a = fixture_bpf_mk_child(f, "a", rel_a, sizeof(rel_a), a);
	id_b = fixture_bpf_mk_child(f, "b", rel_b, sizeof(rel_b), b);
	open_src(f);
	spawn(f, a, 0, 100); /* a: one CPU-bound process */
	kb = spawn(f, b, 0, 60); /* b: bursts and sleeps, many switches */
	spawn(f, b, 0, 60);

	a0.lo = fixture_bpf_cg_cpu(f, rel_a);
	b0.lo = fixture_bpf_cg_cpu(f, rel_b);
	fixture_bpf_read(f, &s0);
	a0.hi = fixture_bpf_cg_cpu(f, rel_a);
	b0.hi = fixture_bpf_cg_cpu(f, rel_b);
	assert_true(s0.mask & (1u << FEAT_CPU_TIME));
	if (!f->probe.pmu_ok)
		assert_int_equal(s0.mask, 1u << FEAT_CPU_TIME);
	nanosleep(&win, NULL); /* the measurement window itself */
	a1.lo = fixture_bpf_cg_cpu(f, rel_a);
	b1.lo = fixture_bpf_cg_cpu(f, rel_b);
	fixture_bpf_read(f, &s1);
	a1.hi = fixture_bpf_cg_cpu(f, rel_a);
	b1.hi = fixture_bpf_cg_cpu(f, rel_b);

	ea = fixture_bpf_find(&s1, id_a);
	eb = fixture_bpf_find(&s1, id_b);
	assert_non_null(ea);
	assert_non_null(eb);
	assert_string_equal(ea->path, rel_a);
	assert_string_equal(eb->path, rel_b);
	/* the load really ran (a CPU-bound process: 5.2 s of CPU on an idle machine); on a
	 * machine so busy that it got under 1 s, the window says nothing: refuse to judge */
	assert_true(a1.lo - a0.hi > 10000000ull);
	if (a1.lo - a0.hi <= 1000000000ull) {
		printf("# skipped: machine too busy: the CPU-bound cgroup got only %.0f ms of "
		       "CPU in a 5.2 s window\n", (double)(a1.lo - a0.hi) / 1e6);
		skip();
	}
	fixture_bpf_assert_bracketed(ea->delta[FEAT_CPU_TIME], a0, a1, 0.02, "busy cgroup a");
	fixture_bpf_assert_bracketed(eb->delta[FEAT_CPU_TIME], b0, b1, 0.02, "switchy cgroup b");
	/* per process (on by default): a switchy child's tgid_stats entry holds what the
	 * scheduler accounted it since birth, less at most its running slice (its
	 * bursts are ~1 ms) */
	{
		uint64_t tns = 0, sns;

		assert_true(tgid_map_ns((uint32_t)kb, &tns));
		sns = schedstat_ns(kb);
		assert_close(tns, sns, 0.02, 20000000, "switchy process (tgid)");
	}
	/* the base cgroup itself runs nothing */
	{
		const struct usage_entry *base = NULL;

		for (size_t i = 0; i < s1.n; i++)
			if (strcmp(s1.e[i].path, f->base_rel) == 0)
				base = &s1.e[i];
		assert_non_null(base);
		assert_int_equal(base->delta[FEAT_CPU_TIME], 0);
	}
}

/* Runs run on the fixture in *state, in the layout it detected or (v2) in the forced v2
 * cpu root its setup asked for (skipped where there is none). */
static void run_layout(void **state, bool v2, void (*run)(struct fixture_bpf *))
{
	struct fixture_bpf *f = *state;

	FIXTURE_BPF_REQUIRE_ENV(f);
	if (v2 && !f->layout.cpu_is_v2) {
		printf("# skipped: cannot force a v2 cpu root here\n");
		skip();
	}
	if (v2)
		printf("# forced v2, cpu root %s\n", f->layout.cpu_root);
	else
		printf("# layout %s, cpu root %s\n", cg_mode_name(f->layout.mode),
		       f->layout.cpu_root);
	run(f);
}

static void test_accuracy(void **state)
{
	run_layout(state, false, run_accuracy);
}

static void test_accuracy_v2(void **state)
{
	run_layout(state, true, run_accuracy);
}

/* Does a cg_stats map this process holds still have key id? */
static bool any_map_has(uint64_t id)
{
	struct bpf_map_info info;
	bool found = false;

	for (int fd = own_map_fd(3, "cg_stats", 8, &info); fd >= 0 && !found;
	     fd = own_map_fd(fd + 1, "cg_stats", 8, &info)) {
		int ncpu = libbpf_num_possible_cpus();
		void *v = calloc((size_t)(ncpu > 0 ? ncpu : 1),
				 ((size_t)info.value_size + 7u) & ~(size_t)7u);

		if (v && bpf_map_lookup_elem(fd, &id, v) == 0)
			found = true;
		free(v);
	}
	return found;
}

/* A 50 ms process is accounted; its cgroup leaves the map after rmdir. */
static void test_short_process_and_sweep(void **state)
{
	struct fixture_bpf *f = *state;
	char c[PATH_MAX], rel_c[160];
	uint64_t id_c, c0, c1;
	struct fixture_bpf_snap s0, s1, s2, s3;
	const struct usage_entry *e;
	int st = 0;

	FIXTURE_BPF_REQUIRE_ENV(f);
	fixture_bpf_mk_cg(f, f->base_rel, NULL);
	id_c = fixture_bpf_mk_child(f, "short", rel_c, sizeof(rel_c), c);
	open_src(f);
	fixture_bpf_read(f, &s0);
	c0 = fixture_bpf_cg_cpu(f, rel_c);

	spawn(f, c, 50000000ull, 100);
	assert_int_equal(waitpid(f->kids[f->nkids - 1], &st, 0), f->kids[f->nkids - 1]);
	f->nkids--;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	fixture_bpf_read(f, &s1);
	c1 = fixture_bpf_cg_cpu(f, rel_c);
	e = fixture_bpf_find(&s1, id_c);
	assert_non_null(e);
	assert_true(e->delta[FEAT_CPU_TIME] >= 45000000ull);
	assert_close(e->delta[FEAT_CPU_TIME], c1 - c0, 0.02, 500000, "50 ms process");
	assert_true(any_map_has(id_c));

	/* remove the cgroup: next read reports it one last time (no new usage) and
	 * deletes its map entry; the one after does not list it */
	assert_int_equal(rmdir(c), 0);
	f->ndirs--;
	fixture_bpf_read(f, &s2);
	assert_true(s2.vanished > s1.vanished);
	e = fixture_bpf_find(&s2, id_c);
	assert_non_null(e);
	assert_int_equal(e->delta[FEAT_CPU_TIME], 0);
	assert_false(any_map_has(id_c));
	fixture_bpf_read(f, &s3);
	assert_null(fixture_bpf_find(&s3, id_c));
	assert_int_equal(s3.dropped, 0);
}

/* Number of keys in the cg_gone map this process holds (-1: no such map); with
 * has != NULL, also whether key *has is among them. */
static int gone_map_count(uint64_t *has)
{
	struct bpf_map_info info;
	int fd = own_map_fd(3, "cg_gone", 8, &info);
	uint64_t key, next, *kp = NULL;
	int n = 0;
	bool found = false;

	if (fd < 0)
		return -1;
	while (bpf_map_get_next_key(fd, kp, &next) == 0 && n < 100000) {
		key = next;
		kp = &key;
		n++;
		found = found || (has && key == *has);
	}
	if (has)
		*has = found;
	return n;
}

/* A pod-like pair of cgroups (pod/ctr) created after one read and removed before the
 * next, never seen by a walk: ctr's ~300 ms of CPU time come back in the next read
 * under its own path (named from its removed parent), once, and leave both maps. */
static void run_short_lived(struct fixture_bpf *f)
{
	char pod[PATH_MAX], ctr[PATH_MAX], rel_pod[160], rel_ctr[160];
	uint64_t id_ctr, id_pod, cpu;
	struct fixture_bpf_snap s0, s1, s2;
	const struct usage_entry *e;
	int st = 0;

	fixture_bpf_mk_cg(f, f->base_rel, NULL);
	open_src(f);
	printf("# %s\n", f->probe.removed_reason);
	assert_true(f->probe.removed_ok);
	fixture_bpf_read(f, &s0);

	id_pod = fixture_bpf_mk_child(f, "pod", rel_pod, sizeof(rel_pod), pod);
	id_ctr = fixture_bpf_mk_child(f, "pod/ctr", rel_ctr, sizeof(rel_ctr), ctr);
	spawn(f, ctr, 300000000ull, 100);
	assert_int_equal(waitpid(f->kids[f->nkids - 1], &st, 0), f->kids[f->nkids - 1]);
	f->nkids--;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cpu = fixture_bpf_cg_cpu(f, rel_ctr);
	assert_int_equal(rmdir(ctr), 0);
	assert_int_equal(rmdir(pod), 0);
	f->ndirs -= 2;

	fixture_bpf_read(f, &s1);
	e = fixture_bpf_find(&s1, id_ctr);
	assert_non_null(e);
	assert_string_equal(e->path, rel_ctr);
	assert_true(e->delta[FEAT_CPU_TIME] >= cpu / 100 * 95);
	assert_close(e->delta[FEAT_CPU_TIME], cpu, 0.02, 500000, "short-lived cgroup");
	assert_null(fixture_bpf_find(&s1, id_pod)); /* ran nothing: no entry */
	assert_true(s1.vanished > s0.vanished);
	assert_false(any_map_has(id_ctr));
	{ /* (other cgroups of the host may be removed meanwhile: only ours is checked) */
		uint64_t has = id_ctr;

		assert_true(gone_map_count(&has) >= 0);
		assert_false(has);
	}

	fixture_bpf_read(f, &s2);
	assert_null(fixture_bpf_find(&s2, id_ctr));
	assert_int_equal(s2.dropped, 0);
}

static void test_short_lived_cgroup(void **state)
{
	run_layout(state, false, run_short_lived);
}

/* The same in the v2 hierarchy (the recorder filters on the hierarchy). */
static void test_short_lived_cgroup_v2(void **state)
{
	run_layout(state, true, run_short_lived);
}

/* More cgroups removed between two reads than cg_gone holds: the overflow is counted
 * in dropped (bpf drops[CU_DROP_GONE]) and the next read empties the map. */
static void test_gone_overflow(void **state)
{
	struct fixture_bpf *f = *state;
	const int n = CU_DEF_MAX_GONE + 64;
	char base[PATH_MAX], p[PATH_MAX];
	struct fixture_bpf_snap s0, s1;
	int made = 0, removed = 0;

	FIXTURE_BPF_REQUIRE_ENV(f);
	fixture_bpf_mk_cg(f, f->base_rel, base);
	open_src(f);
	assert_true(f->probe.removed_ok);
	fixture_bpf_read(f, &s0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(fmt_path(p, sizeof(p), "%s/c%d", base, i), 0);
		made += mkdir(p, 0755) == 0;
	}
	for (int i = 0; i < n; i++) {
		assert_int_equal(fmt_path(p, sizeof(p), "%s/c%d", base, i), 0);
		removed += rmdir(p) == 0;
	}
	assert_int_equal(made, n);
	assert_int_equal(removed, n);
	fixture_bpf_read(f, &s1);
	printf("# %d cgroups removed between two reads: dropped %llu -> %llu\n", n,
	       (unsigned long long)s0.dropped, (unsigned long long)s1.dropped);
	assert_true(s1.dropped >= s0.dropped + 64);
	/* emptied, not left full (the host may remove a few cgroups meanwhile) */
	assert_true(gone_map_count(NULL) < 64);
}

/* Entries of a cgroup with no tasks have zero deltas; deltas never go backwards. */
static void test_baseline_zero(void **state)
{
	struct fixture_bpf *f = *state;
	struct fixture_bpf_snap s0;

	FIXTURE_BPF_REQUIRE_ENV(f);
	open_src(f);
	fixture_bpf_read(f, &s0);
	assert_true(s0.n > 0);
	for (size_t i = 0; i < s0.n; i++)
		for (int k = 0; k < FEAT_COUNT; k++)
			assert_int_equal(s0.e[i].delta[k], 0);
	/* the root is listed as "/" */
	{
		bool root = false;

		for (size_t i = 0; i < s0.n; i++)
			root = root || strcmp(s0.e[i].path, "/") == 0;
		assert_true(root);
	}
}

static void test_open_bad_args(void **state)
{
	struct wl_err err = { "" };
	struct usage_opts o = { 0 };
	struct usage_probe p;

	(void)state;
	if (!usage_bpf_ops) {
		printf("# skipped: eBPF source not built\n");
		skip();
	}
	memset(&p, 0, sizeof(p));
	assert_null(usage_bpf_ops->open(&o, &p, &err));
	assert_false(p.ebpf_ok);
	assert_non_null(strstr(err.msg, "eBPF"));
	usage_bpf_ops->close(NULL);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_open_bad_args),
	WL_TEST_FIXTURE(test_baseline_zero),
	WL_TEST_FIXTURE(test_short_process_and_sweep),
	WL_TEST_FIXTURE(test_short_lived_cgroup),
	cmocka_unit_test_setup_teardown(test_short_lived_cgroup_v2, setup_v2, teardown),
	WL_TEST_FIXTURE(test_gone_overflow),
	WL_TEST_FIXTURE(test_accuracy),
	cmocka_unit_test_setup_teardown(test_accuracy_v2, setup_v2, teardown))
