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

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/cgroup/cgroup.h"
#include "agent/usage/usage_impl.h"
#include "bpf/cpuusage.h"

#define MAX_KIDS 8
#define MAX_DIRS 8

struct fx {
	struct cg_layout layout;
	char base_rel[128];          /* "/wattlet-bpftest-<pid>" */
	char dirs[MAX_DIRS][PATH_MAX]; /* absolute, created by us, removed in reverse */
	int ndirs;
	pid_t kids[MAX_KIDS];
	int nkids;
	void *src;
	struct usage_probe probe;
};

static const char *skip_reason(void)
{
	if (geteuid() != 0)
		return "not root";
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return "no kernel BTF at /sys/kernel/btf/vmlinux";
	if (!usage_bpf_ops)
		return "eBPF source not built";
	return NULL;
}

static int fx_setup(void **state, enum cg_pref pref)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct wl_err err = { "" };

	assert_non_null(f);
	*state = f;
	if (skip_reason())
		return 0;
	if (cg_layout_detect("/sys/fs/cgroup", pref, &f->layout, &err) < 0) {
		printf("# layout: %s\n", err.msg);
		f->layout.cpu_root[0] = '\0';
		return 0;
	}
	snprintf(f->base_rel, sizeof(f->base_rel), "/wattlet-bpftest-%d", (int)getpid());
	return 0;
}

static int setup_auto(void **state)
{
	return fx_setup(state, CG_PREF_AUTO);
}

static int setup_v2(void **state)
{
	return fx_setup(state, CG_PREF_V2);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	for (int i = 0; i < f->nkids; i++) {
		kill(f->kids[i], SIGKILL);
		waitpid(f->kids[i], NULL, 0);
	}
	if (f->src)
		usage_bpf_ops->close(f->src);
	for (int i = f->ndirs - 1; i >= 0; i--)
		rmdir(f->dirs[i]);
	free(f);
	return 0;
}

/* Skips the test (with why) unless the environment allows it. */
#define REQUIRE_ENV(f)                                                                   \
	do {                                                                             \
		const char *why_ = skip_reason();                                        \
		if (!why_ && !(f)->layout.cpu_root[0])                                   \
			why_ = "no usable cgroup layout";                                \
		if (why_) {                                                              \
			printf("# skipped: %s\n", why_);                                 \
			skip();                                                          \
		}                                                                        \
	} while (0)

static void mk_cg(struct fx *f, const char *rel, char *abs_out)
{
	char p[PATH_MAX];

	assert_int_equal(fmt_path(p, sizeof(p), "%s%s", f->layout.cpu_root, rel), 0);
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
	assert_true(f->ndirs < MAX_DIRS);
	snprintf(f->dirs[f->ndirs++], PATH_MAX, "%s", p);
	if (abs_out)
		snprintf(abs_out, PATH_MAX, "%s", p);
}

static uint64_t inode_of(const char *abs)
{
	struct stat st;

	assert_int_equal(stat(abs, &st), 0);
	return (uint64_t)st.st_ino;
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
static pid_t spawn(struct fx *f, const char *abs, uint64_t spin_ns, int duty)
{
	int pfd[2];
	pid_t pid;
	char c = 0;

	assert_int_equal(pipe(pfd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char p[PATH_MAX];
		FILE *fp;
		uint64_t start;

		close(pfd[0]);
		snprintf(p, sizeof(p), "%s/cgroup.procs", abs);
		fp = fopen(p, "w");
		if (!fp || fprintf(fp, "%d\n", (int)getpid()) < 0 || fclose(fp) != 0)
			_exit(3);
		if (write(pfd[1], "x", 1) != 1)
			_exit(4);
		close(pfd[1]);
		start = thread_cpu_ns();
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
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1); /* child is in its cgroup */
	close(pfd[0]);
	assert_true(f->nkids < MAX_KIDS);
	f->kids[f->nkids++] = pid;
	return pid;
}

static void open_src(struct fx *f)
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

struct snap {
	const struct usage_entry *e;
	size_t n;
	uint32_t mask;
	uint64_t dropped, vanished;
};

static void do_read(struct fx *f, struct snap *s)
{
	assert_int_equal(usage_bpf_ops->read(f->src, &s->e, &s->n, &s->mask, &s->dropped,
					     &s->vanished),
			 0);
}

static const struct usage_entry *find_entry(const struct snap *s, uint64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].id == id)
			return &s->e[i];
	return NULL;
}

static uint64_t cg_cpu(struct fx *f, const char *rel)
{
	uint64_t ns = 0;

	assert_int_equal(cg_read_cpu_ns(&f->layout, rel, &ns), 0);
	return ns;
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

/* A cgroup counter read before (lo) and after (hi) one eBPF read. The read takes its
 * totals at one instant inside (its clock reading, before the walk and the removed-cgroup
 * bookkeeping), so lo <= that sample <= hi: comparing with a counter read only after
 * the read would add the time busy tasks ran during the rest of it (under load and
 * cgroup churn, tens to hundreds of ms, different for the two reads). */
struct bracket {
	uint64_t lo, hi;
};

/* got (an eBPF delta between two reads) against the counter's delta over the same
 * interval, which lies between lo = b1.lo - b0.hi and hi = b1.hi - b0.lo: within rel
 * of that range. The range must be narrow (slack at most a quarter of the delta: a
 * read that slow is itself a bug), so the check stays as strict as the window allows. */
static void assert_bracketed(uint64_t got, struct bracket b0, struct bracket b1, double rel,
			     const char *what)
{
	uint64_t lo = b1.lo - b0.hi, hi = b1.hi - b0.lo;
	double glo = (double)got - (double)lo * (1.0 - rel);
	double ghi = (double)hi * (1.0 + rel) - (double)got;

	printf("# %-28s ebpf %10.3f ms  cgroup %10.3f .. %10.3f ms  diff %+.3f%% .. %+.3f%%\n",
	       what, got / 1e6, lo / 1e6, hi / 1e6,
	       hi ? 100.0 * ((double)got - (double)hi) / (double)hi : 0.0,
	       lo ? 100.0 * ((double)got - (double)lo) / (double)lo : 0.0);
	assert_true(b0.hi >= b0.lo && b1.lo >= b0.hi && b1.hi >= b1.lo);
	assert_true(4 * (hi - lo) <= lo);
	assert_true(glo >= 0 && ghi >= 0);
}

/* CPU ns of tgid in the tgid_stats map this process holds (summed over CPUs); false
 * when no such map or no entry. */
static bool tgid_map_ns(uint32_t tgid, uint64_t *ns)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    strcmp(info.name, "tgid_stats") == 0 && info.key_size == 4) {
			int ncpu = libbpf_num_possible_cpus();
			size_t vsz = ((size_t)info.value_size + 7u) & ~(size_t)7u;
			uint8_t *v = calloc((size_t)(ncpu > 0 ? ncpu : 1), vsz);
			bool found = v && bpf_map_lookup_elem(fd, &tgid, v) == 0;

			*ns = 0;
			for (int c = 0; found && c < ncpu; c++)
				*ns += *(const uint64_t *)(v + (size_t)c * vsz); /* slot 0: CPU ns */
			free(v);
			return found;
		}
	}
	return false;
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
static void run_accuracy(struct fx *f)
{
	char a[PATH_MAX], b[PATH_MAX], rel_a[160], rel_b[160];
	uint64_t id_a, id_b;
	struct bracket a0, b0, a1, b1;
	struct snap s0, s1;
	const struct usage_entry *ea, *eb;
	struct timespec win = { 5, 200000000 };
	pid_t kb;

	mk_cg(f, f->base_rel, NULL);
	snprintf(rel_a, sizeof(rel_a), "%s/a", f->base_rel);
	snprintf(rel_b, sizeof(rel_b), "%s/b", f->base_rel);
	mk_cg(f, rel_a, a);
	mk_cg(f, rel_b, b);
	id_a = inode_of(a);
	id_b = inode_of(b);
	open_src(f);
	spawn(f, a, 0, 100); /* a: one CPU-bound process */
	kb = spawn(f, b, 0, 60); /* b: bursts and sleeps, many switches */
	spawn(f, b, 0, 60);

	a0.lo = cg_cpu(f, rel_a);
	b0.lo = cg_cpu(f, rel_b);
	do_read(f, &s0);
	a0.hi = cg_cpu(f, rel_a);
	b0.hi = cg_cpu(f, rel_b);
	assert_true(s0.mask & (1u << FEAT_CPU_TIME));
	if (!f->probe.pmu_ok)
		assert_int_equal(s0.mask, 1u << FEAT_CPU_TIME);
	nanosleep(&win, NULL); /* the measurement window itself */
	a1.lo = cg_cpu(f, rel_a);
	b1.lo = cg_cpu(f, rel_b);
	do_read(f, &s1);
	a1.hi = cg_cpu(f, rel_a);
	b1.hi = cg_cpu(f, rel_b);

	ea = find_entry(&s1, id_a);
	eb = find_entry(&s1, id_b);
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
	assert_bracketed(ea->delta[FEAT_CPU_TIME], a0, a1, 0.02, "busy cgroup a");
	assert_bracketed(eb->delta[FEAT_CPU_TIME], b0, b1, 0.02, "switchy cgroup b");
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

static void test_accuracy(void **state)
{
	struct fx *f = *state;

	REQUIRE_ENV(f);
	printf("# layout %s, cpu root %s\n", cg_mode_name(f->layout.mode), f->layout.cpu_root);
	run_accuracy(f);
}

static void test_accuracy_v2(void **state)
{
	struct fx *f = *state;

	REQUIRE_ENV(f);
	if (!f->layout.cpu_is_v2) {
		printf("# skipped: cannot force a v2 cpu root here\n");
		skip();
	}
	printf("# forced v2, cpu root %s\n", f->layout.cpu_root);
	run_accuracy(f);
}

/* Does a cg_stats map this process holds still have key id? (Only our own fds:
 * another agent on the host tracks the same cgroups in its own map.) */
static bool any_map_has(uint64_t id)
{
	bool found = false;

	for (int fd = 3; fd < 1024 && !found; fd++) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    strcmp(info.name, "cg_stats") == 0 && info.key_size == 8) {
			int ncpu = libbpf_num_possible_cpus();
			void *v = calloc((size_t)(ncpu > 0 ? ncpu : 1),
					 ((size_t)info.value_size + 7u) & ~(size_t)7u);

			if (v && bpf_map_lookup_elem(fd, &id, v) == 0)
				found = true;
			free(v);
		}
	}
	return found;
}

/* A 50 ms process is accounted; its cgroup leaves the map after rmdir. */
static void test_short_process_and_sweep(void **state)
{
	struct fx *f = *state;
	char c[PATH_MAX], rel_c[160];
	uint64_t id_c, c0, c1;
	struct snap s0, s1, s2, s3;
	const struct usage_entry *e;
	int st = 0;

	REQUIRE_ENV(f);
	mk_cg(f, f->base_rel, NULL);
	snprintf(rel_c, sizeof(rel_c), "%s/short", f->base_rel);
	mk_cg(f, rel_c, c);
	id_c = inode_of(c);
	open_src(f);
	do_read(f, &s0);
	c0 = cg_cpu(f, rel_c);

	spawn(f, c, 50000000ull, 100);
	assert_int_equal(waitpid(f->kids[f->nkids - 1], &st, 0), f->kids[f->nkids - 1]);
	f->nkids--;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	do_read(f, &s1);
	c1 = cg_cpu(f, rel_c);
	e = find_entry(&s1, id_c);
	assert_non_null(e);
	assert_true(e->delta[FEAT_CPU_TIME] >= 45000000ull);
	assert_close(e->delta[FEAT_CPU_TIME], c1 - c0, 0.02, 500000, "50 ms process");
	assert_true(any_map_has(id_c));

	/* remove the cgroup: next read reports it one last time (no new usage) and
	 * deletes its map entry; the one after does not list it */
	assert_int_equal(rmdir(c), 0);
	f->ndirs--;
	do_read(f, &s2);
	assert_true(s2.vanished > s1.vanished);
	e = find_entry(&s2, id_c);
	assert_non_null(e);
	assert_int_equal(e->delta[FEAT_CPU_TIME], 0);
	assert_false(any_map_has(id_c));
	do_read(f, &s3);
	assert_null(find_entry(&s3, id_c));
	assert_int_equal(s3.dropped, 0);
}

/* Number of keys in the cg_gone map this process holds (-1: no such map); with
 * has != NULL, also whether key *has is among them. */
static int gone_map_count(uint64_t *has)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    strcmp(info.name, "cg_gone") == 0 && info.key_size == 8) {
			uint64_t key, next, *kp = NULL;
			int n = 0;

			bool found = false;

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
	}
	return -1;
}

/* A pod-like pair of cgroups (pod/ctr) created after one read and removed before the
 * next, never seen by a walk: ctr's ~300 ms of CPU time come back in the next read
 * under its own path (named from its removed parent), once, and leave both maps. */
static void run_short_lived(struct fx *f)
{
	char pod[PATH_MAX], ctr[PATH_MAX], rel_pod[160], rel_ctr[160];
	uint64_t id_ctr, id_pod, cpu;
	struct snap s0, s1, s2;
	const struct usage_entry *e;
	int st = 0;

	mk_cg(f, f->base_rel, NULL);
	open_src(f);
	printf("# %s\n", f->probe.removed_reason);
	assert_true(f->probe.removed_ok);
	do_read(f, &s0);

	snprintf(rel_pod, sizeof(rel_pod), "%s/pod", f->base_rel);
	snprintf(rel_ctr, sizeof(rel_ctr), "%s/pod/ctr", f->base_rel);
	mk_cg(f, rel_pod, pod);
	mk_cg(f, rel_ctr, ctr);
	id_pod = inode_of(pod);
	id_ctr = inode_of(ctr);
	spawn(f, ctr, 300000000ull, 100);
	assert_int_equal(waitpid(f->kids[f->nkids - 1], &st, 0), f->kids[f->nkids - 1]);
	f->nkids--;
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cpu = cg_cpu(f, rel_ctr);
	assert_int_equal(rmdir(ctr), 0);
	assert_int_equal(rmdir(pod), 0);
	f->ndirs -= 2;

	do_read(f, &s1);
	e = find_entry(&s1, id_ctr);
	assert_non_null(e);
	assert_string_equal(e->path, rel_ctr);
	assert_true(e->delta[FEAT_CPU_TIME] >= cpu / 100 * 95);
	assert_close(e->delta[FEAT_CPU_TIME], cpu, 0.02, 500000, "short-lived cgroup");
	assert_null(find_entry(&s1, id_pod)); /* ran nothing: no entry */
	assert_true(s1.vanished > s0.vanished);
	assert_false(any_map_has(id_ctr));
	{ /* (other cgroups of the host may be removed meanwhile: only ours is checked) */
		uint64_t has = id_ctr;

		assert_true(gone_map_count(&has) >= 0);
		assert_false(has);
	}

	do_read(f, &s2);
	assert_null(find_entry(&s2, id_ctr));
	assert_int_equal(s2.dropped, 0);
}

static void test_short_lived_cgroup(void **state)
{
	struct fx *f = *state;

	REQUIRE_ENV(f);
	printf("# layout %s, cpu root %s\n", cg_mode_name(f->layout.mode), f->layout.cpu_root);
	run_short_lived(f);
}

/* The same in the v2 hierarchy (the recorder filters on the hierarchy). */
static void test_short_lived_cgroup_v2(void **state)
{
	struct fx *f = *state;

	REQUIRE_ENV(f);
	if (!f->layout.cpu_is_v2) {
		printf("# skipped: cannot force a v2 cpu root here\n");
		skip();
	}
	printf("# forced v2, cpu root %s\n", f->layout.cpu_root);
	run_short_lived(f);
}

/* More cgroups removed between two reads than cg_gone holds: the overflow is counted
 * in dropped (bpf drops[CU_DROP_GONE]) and the next read empties the map. */
static void test_gone_overflow(void **state)
{
	struct fx *f = *state;
	const int n = CU_DEF_MAX_GONE + 64;
	char base[PATH_MAX], p[PATH_MAX];
	struct snap s0, s1;
	int made = 0, removed = 0;

	REQUIRE_ENV(f);
	mk_cg(f, f->base_rel, base);
	open_src(f);
	assert_true(f->probe.removed_ok);
	do_read(f, &s0);
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
	do_read(f, &s1);
	printf("# %d cgroups removed between two reads: dropped %llu -> %llu\n", n,
	       (unsigned long long)s0.dropped, (unsigned long long)s1.dropped);
	assert_true(s1.dropped >= s0.dropped + 64);
	/* emptied, not left full (the host may remove a few cgroups meanwhile) */
	assert_true(gone_map_count(NULL) < 64);
}

/* Entries of a cgroup with no tasks have zero deltas; deltas never go backwards. */
static void test_baseline_zero(void **state)
{
	struct fx *f = *state;
	struct snap s0;

	REQUIRE_ENV(f);
	open_src(f);
	do_read(f, &s0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_bad_args),
		cmocka_unit_test_setup_teardown(test_baseline_zero, setup_auto, teardown),
		cmocka_unit_test_setup_teardown(test_short_process_and_sweep, setup_auto, teardown),
		cmocka_unit_test_setup_teardown(test_short_lived_cgroup, setup_auto, teardown),
		cmocka_unit_test_setup_teardown(test_short_lived_cgroup_v2, setup_v2, teardown),
		cmocka_unit_test_setup_teardown(test_gone_overflow, setup_auto, teardown),
		cmocka_unit_test_setup_teardown(test_accuracy, setup_auto, teardown),
		cmocka_unit_test_setup_teardown(test_accuracy_v2, setup_v2, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
