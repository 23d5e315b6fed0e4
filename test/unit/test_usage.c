/* test_usage.c - the usage dispatcher and the cgroup source: exclusive CPU deltas on a
 * fixture tree (copied to a temp dir and rewritten between reads), /proc/stat, and a
 * real-kernel run of a busy process inside fresh cgroups (root only). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/cgroup/cgroup.h"
#include "agent/usage/usage.h"
#include "agent/usage/usage_impl.h"
#include "test/unit/fixture.h"
#include "test/unit/fixture_usage.h"

#define CID1 "3f1e0c5a9d7b2e4f6a8c0b1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f"
#define CID2 "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
#define UIDU "8b2f6d4e_1c3a_4f5b_9d7e_0a2c4e6f8b1d"

#define R "/"
#define K "/kubepods.slice"
#define B K "/kubepods-burstable.slice"
#define P B "/kubepods-burstable-pod" UIDU ".slice"
#define C1 P "/cri-containerd-" CID1 ".scope"
#define C2 P "/cri-containerd-" CID2 ".scope"
#define BE K "/kubepods-besteffort.slice"
#define S "/system.slice"
#define SSH S "/sshd.service"
#define CTD S "/containerd.service"
#define U "/user.slice"
#define I "/init.scope"
#define NEWSVC S "/new.service"
#define M U "/user-1000.slice"

/* --- temp tree helpers ------------------------------------------------------------- */

static int copy_tree(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *de;
	int r = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char sp[PATH_MAX], dp[PATH_MAX], buf[4096];
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (path_join(sp, sizeof(sp), src, de->d_name) ||
		    path_join(dp, sizeof(dp), dst, de->d_name) || lstat(sp, &st)) {
			r = -EIO;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(dp, 0755) || (r = copy_tree(sp, dp)))
				break;
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(sp, buf, sizeof(buf) - 1);
			if (n < 0)
				break;
			buf[n] = '\0';
			if (symlink(buf, dp))
				break;
		} else {
			size_t len;
			FILE *f;
			if (read_file(sp, buf, sizeof(buf), &len) || !(f = fopen(dp, "w"))) {
				r = -EIO;
				break;
			}
			fwrite(buf, 1, len, f);
			fclose(f);
		}
	}
	closedir(d);
	return r;
}

static void write_text(const char *base, const char *rel, const char *file, const char *text)
{
	char dir[PATH_MAX];
	assert_int_equal(path_join(dir, sizeof(dir), base, rel), 0);
	fixture_write(dir, file, text);
}

/* --- a model of the tree's hierarchical counters ---------------------------------- */

#define MAXN 32
struct tree {
	char base[PATH_MAX];
	char proc[PATH_MAX];
	bool v2;
	const char *rel[MAXN];
	uint64_t usec[MAXN];
	size_t n;
	uint64_t busy_ticks;
	struct cg_layout l;
};

static void write_node(struct tree *t, size_t i)
{
	char text[256];
	if (t->v2) {
		/* alternate the line order: usage_usec is not always the first line */
		if (i % 2)
			snprintf(text, sizeof(text),
				 "user_usec %llu\nsystem_usec 0\nusage_usec %llu\nnr_periods 0\n",
				 (unsigned long long)t->usec[i], (unsigned long long)t->usec[i]);
		else
			snprintf(text, sizeof(text), "usage_usec %llu\nuser_usec %llu\nsystem_usec 0\n",
				 (unsigned long long)t->usec[i], (unsigned long long)t->usec[i]);
		write_text(t->l.cpu_root, t->rel[i], "cpu.stat", text);
	} else {
		snprintf(text, sizeof(text), "%llu\n", (unsigned long long)t->usec[i] * 1000);
		write_text(t->l.cpu_root, t->rel[i], "cpuacct.usage", text);
	}
}

static void write_all(struct tree *t)
{
	char text[128];
	for (size_t i = 0; i < t->n; i++)
		write_node(t, i);
	snprintf(text, sizeof(text), "cpu  %llu 0 0 5000 10 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n",
		 (unsigned long long)t->busy_ticks);
	write_text(t->proc, "/", "stat", text);
}

static ssize_t node_of(struct tree *t, const char *rel)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->rel[i], rel))
			return (ssize_t)i;
	return -1;
}

/* rel ran dusec of CPU: its counter and every ancestor's grow by that */
static void bump(struct tree *t, const char *rel, uint64_t dusec)
{
	assert_true(node_of(t, rel) >= 0);
	for (size_t i = 0; i < t->n; i++)
		if (fixture_cg_ancestor_or_self(t->rel[i], rel))
			t->usec[i] += dusec;
}

static void add_node(struct tree *t, const char *rel, uint64_t usec)
{
	char p[PATH_MAX];
	assert_true(t->n < MAXN);
	assert_int_equal(path_join(p, sizeof(p), t->l.cpu_root, rel), 0);
	if (mkdir(p, 0755) && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
	t->rel[t->n] = rel;
	t->usec[t->n] = 0;
	t->n++;
	bump(t, rel, usec); /* a new cgroup's time is charged to its ancestors too */
}

static void remove_node(struct tree *t, const char *rel)
{
	char p[PATH_MAX];
	ssize_t k = node_of(t, rel);
	assert_true(k >= 0);
	assert_int_equal(path_join(p, sizeof(p), t->l.cpu_root, rel), 0);
	fixture_rm_tree(p);
	/* the ancestors keep the time it ran (the kernel keeps it too) */
	t->rel[k] = t->rel[t->n - 1];
	t->usec[k] = t->usec[t->n - 1];
	t->n--;
}

static void tree_setup(struct tree *t, const char *fixture, bool v2)
{
	static const struct {
		const char *rel;
		uint64_t usec;
	} v2_nodes[] = {
		{ R, 10000000 }, { I, 400000 },  { S, 3000000 }, { SSH, 1000000 },
		{ CTD, 1500000 }, { U, 500000 }, { K, 5000000 }, { B, 4000000 },
		{ P, 3000000 },  { C1, 2000000 }, { C2, 900000 }, { BE, 100000 },
	};
	char src[PATH_MAX], cg[PATH_MAX];

	memset(t, 0, sizeof(*t));
	t->v2 = v2;
	snprintf(t->base, sizeof(t->base), "/tmp/wattlet-usage-XXXXXX");
	assert_non_null(mkdtemp(t->base));
	assert_int_equal(fmt_path(src, sizeof(src), "%s/cgroup/%s", fixture_dir(), fixture), 0);
	assert_int_equal(fmt_path(cg, sizeof(cg), "%s/cg", t->base), 0);
	assert_int_equal(mkdir(cg, 0755), 0);
	assert_int_equal(copy_tree(src, cg), 0);
	assert_int_equal(fmt_path(t->proc, sizeof(t->proc), "%s/proc", t->base), 0);
	assert_int_equal(mkdir(t->proc, 0755), 0);
	t->busy_ticks = 1000;
	assert_int_equal(cg_layout_detect(cg, CG_PREF_AUTO, &t->l, NULL), 0);
	assert_int_equal(t->l.cpu_is_v2, v2);
	if (v2) {
		for (size_t i = 0; i < sizeof(v2_nodes) / sizeof(v2_nodes[0]); i++) {
			t->rel[i] = v2_nodes[i].rel;
			t->usec[i] = v2_nodes[i].usec;
		}
		t->n = sizeof(v2_nodes) / sizeof(v2_nodes[0]);
	}
	write_all(t);
}

static const struct usage_entry *entry_of(const struct usage_sample *s, const char *rel)
{
	return fixture_usage_entry(s->entries, s->n, rel);
}

static void expect(const struct usage_sample *s, const char *rel, uint64_t ns)
{
	fixture_usage_expect_cpu(s->entries, s->n, rel, ns);
}

static void expect_absent(const struct usage_sample *s, const char *rel)
{
	if (entry_of(s, rel))
		fail_msg("%s reported, but its number cannot be known this read", rel);
}

static uint64_t sum_entries(const struct usage_sample *s)
{
	uint64_t t = 0;
	for (size_t i = 0; i < s->n; i++)
		t += s->entries[i].delta[FEAT_CPU_TIME];
	return t;
}

static struct usage *open_cgroup_src(struct tree *t, unsigned max_cg, unsigned max_depth,
				     struct usage_probe *probe)
{
	struct usage_opts o = { .layout = &t->l, .source = USAGE_CGROUP, .max_cgroups = max_cg,
				.max_depth = max_depth, .proc_root = t->proc };
	struct wl_err e = { { 0 } };
	struct usage *u = usage_open(&o, probe, &e);
	if (!u)
		fail_msg("usage_open: %s", e.msg);
	return u;
}

/* A cgroup and an amount of its CPU time: usec it ran (BUMP), ns expected (EXPECT). */
struct cg_cpu {
	const char *rel;
	uint64_t n;
};

static void bump_cg(struct tree *t, struct cg_cpu c)
{
	bump(t, c.rel, c.n);
}

static void expect_cg(const struct usage_sample *s, struct cg_cpu c)
{
	expect(s, c.rel, c.n);
}

/* fn(arg, item) for each item of the list, in order (items of type type). */
#define EACH(type, fn, arg, ...)                                                           \
	do {                                                                               \
		const type each_[] = { __VA_ARGS__ };                                      \
		for (size_t i_ = 0; i_ < sizeof(each_) / sizeof(each_[0]); i_++)           \
			fn(arg, each_[i_]);                                                \
	} while (0)

/* Each listed { rel, usec } ran that much more (bump). */
#define BUMP(t, ...) EACH(struct cg_cpu, bump_cg, t, __VA_ARGS__)
/* s reports each listed { rel, ns } with exactly that CPU time (expect). */
#define EXPECT(s, ...) EACH(struct cg_cpu, expect_cg, s, __VA_ARGS__)
/* None of the listed cgroups is reported (expect_absent). */
#define EXPECT_ABSENT(s, ...) EACH(char *, expect_absent, s, __VA_ARGS__)

/* A cgroup source on t (bounds as open_cgroup_src) after its first read into s. */
static struct usage *open_and_read(struct tree *t, unsigned max_cg, unsigned max_depth,
				   struct usage_sample *s)
{
	struct usage *u = open_cgroup_src(t, max_cg, max_depth, NULL);

	assert_int_equal(usage_read(u, s), 0);
	return u;
}

static uint64_t tick_ns(void)
{
	return 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
}

/* --- tests ------------------------------------------------------------------------ */

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(usage_source_name(USAGE_AUTO), "auto");
	assert_string_equal(usage_source_name(USAGE_EBPF), "ebpf");
	assert_string_equal(usage_source_name(USAGE_CGROUP), "cgroup");
	assert_int_equal(usage_source_from_name("cgroup"), USAGE_CGROUP);
	assert_int_equal(usage_source_from_name("ebpf"), USAGE_EBPF);
	assert_int_equal(usage_source_from_name("auto"), USAGE_AUTO);
	assert_int_equal(usage_source_from_name("bpf"), -EINVAL);
	assert_int_equal(usage_source_from_name(NULL), -EINVAL);
}

static void test_proc_stat(void **state)
{
	char p[PATH_MAX];
	uint64_t ns = 0;
	(void)state;
	assert_int_equal(fmt_path(p, sizeof(p), "%s/cgroup/proc", fixture_dir()), 0);
	assert_int_equal(usage_read_proc_stat_busy_ns(p, &ns), 0);
	/* user 2485 + nice 3 + system 1933 + irq 7 + softirq 45 + steal 12; idle, iowait
	 * and guest (40, already inside user) are not added */
	assert_int_equal(ns, (2485ull + 3 + 1933 + 7 + 45 + 12) * tick_ns());
	assert_int_equal(fmt_path(p, sizeof(p), "%s/cgroup/proc-garbage", fixture_dir()), 0);
	assert_int_equal(usage_read_proc_stat_busy_ns(p, &ns), -EINVAL);
	assert_int_equal(usage_read_proc_stat_busy_ns("/nonexistent/proc", &ns), -ENOENT);
	/* the real one, twice: monotonic */
	{
		uint64_t a, b;
		assert_int_equal(usage_read_proc_stat_busy_ns(NULL, &a), 0);
		assert_int_equal(usage_read_proc_stat_busy_ns("/proc", &b), 0);
		assert_true(a > 0 && b >= a);
	}
}

/* Node busy time from measured idle: online CPUs x uptime passed - idle+iowait passed
 * (the tick-sampled busy fields say something else on purpose); 10 ms quanta carried;
 * without /proc/uptime, the busy fields. */
static void write_proc(struct tree *t, uint64_t busy, uint64_t idle, const char *uptime)
{
	char text[512];
	snprintf(text, sizeof(text),
		 "cpu  %llu 0 0 %llu 10 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n"
		 "cpu1 0 0 0 0 0 0 0 0 0 0\nintr 12345 0 0 1\nctxt 99\n",
		 (unsigned long long)busy, (unsigned long long)idle);
	write_text(t->proc, "/", "stat", text);
	if (uptime)
		write_text(t->proc, "/", "uptime", uptime);
}

/* /proc says busy and idle ticks and uptime (NULL: the file as it is): the node CPU time
 * u's next read gives. */
static uint64_t node_busy_ns(struct usage *u, struct tree *t, uint64_t busy, uint64_t idle,
			     const char *uptime)
{
	struct usage_sample s;

	write_proc(t, busy, idle, uptime);
	assert_int_equal(usage_read(u, &s), 0);
	return s.node_delta[FEAT_CPU_TIME];
}

static void test_node_busy_from_idle(void **state)
{
	struct tree t;
	struct usage_sample s;
	struct usage *u;
	char p[PATH_MAX];
	(void)state;
	tree_setup(&t, "v2", true);
	write_proc(&t, 1000, 5000, "100.00 50.10\n");
	u = open_and_read(&t, 0, 0, &s);
	assert_int_equal(s.node_delta[FEAT_CPU_TIME], 0);
	/* 1 s on 2 CPUs, 1.5 s idle: 0.5 s busy (the tick fields say 70 ms) */
	assert_int_equal(node_busy_ns(u, &t, 1007, 5150, "101.00 51.60\n"), 500000000ull);
	/* quanta: 10 ms of uptime with 30 ms idle, then 10 ms with none: 0, then 10 ms */
	assert_int_equal(node_busy_ns(u, &t, 1007, 5153, "101.01 51.63\n"), 0);
	assert_int_equal(node_busy_ns(u, &t, 1007, 5153, "101.02 51.63\n"), 10000000ull);
	/* idle going back (a garbage read): the busy fields for that read, then idle again */
	assert_int_equal(node_busy_ns(u, &t, 1010, 100, "102.02 51.63\n"), 3 * tick_ns());
	/* 2 s - 1 s idle */
	assert_int_equal(node_busy_ns(u, &t, 1011, 200, "103.02 52.63\n"), 1000000000ull);
	/* no /proc/uptime (or garbage in it): the busy fields */
	assert_int_equal(path_join(p, sizeof(p), t.proc, "uptime"), 0);
	write_text(t.proc, "/", "uptime", "garbage\n");
	assert_int_equal(node_busy_ns(u, &t, 1021, 300, NULL), 10 * tick_ns());
	assert_int_equal(unlink(p), 0);
	assert_int_equal(node_busy_ns(u, &t, 1026, 400, NULL), 5 * tick_ns());
	usage_close(u);
	fixture_rm_tree(t.base);
}

static void test_open_errors(void **state)
{
	struct tree t;
	struct usage_probe probe;
	struct wl_err e = { { 0 } };
	struct usage_opts o;
	struct usage *u;
	(void)state;
	tree_setup(&t, "v2", true);

	memset(&o, 0, sizeof(o));
	o.source = USAGE_CGROUP;
	o.proc_root = t.proc;
	assert_null(usage_open(&o, &probe, &e)); /* no layout */
	assert_non_null(strstr(e.msg, "layout"));

	o.layout = &t.l;
	o.proc_root = "/nonexistent/proc";
	assert_null(usage_open(&o, &probe, &e));
	assert_non_null(strstr(e.msg, "/nonexistent/proc/stat"));

	o.proc_root = t.proc;
	o.source = (enum usage_source)42;
	assert_null(usage_open(&o, &probe, &e));

	/* cgroup forced: probe says why eBPF is not used and why there is no PMU */
	o.source = USAGE_CGROUP;
	u = usage_open(&o, &probe, &e);
	assert_non_null(u);
	assert_int_equal(probe.in_use, USAGE_CGROUP);
	assert_false(probe.ebpf_ok);
	assert_false(probe.pmu_ok);
	assert_true(probe.ebpf_reason[0] != '\0');
	assert_non_null(strstr(probe.pmu_reason, "eBPF"));
	usage_close(u);
	usage_close(NULL);

	/* eBPF forced: works (eBPF built and permitted) or fails saying so, never falls back */
	o.source = USAGE_EBPF;
	e.msg[0] = '\0';
	u = usage_open(&o, &probe, &e);
	if (u) {
		assert_int_equal(probe.in_use, USAGE_EBPF);
		assert_true(probe.ebpf_ok);
		usage_close(u);
	} else {
		assert_non_null(strstr(e.msg, "eBPF"));
		if (!usage_bpf_ops)
			assert_non_null(strstr(e.msg, "not built"));
	}

	/* auto: eBPF if it opens, else the cgroup source with the reason */
	o.source = USAGE_AUTO;
	u = usage_open(&o, &probe, &e);
	assert_non_null(u);
	if (probe.in_use == USAGE_CGROUP) {
		assert_false(probe.ebpf_ok);
		assert_true(probe.ebpf_reason[0] != '\0');
	} else {
		assert_int_equal(probe.in_use, USAGE_EBPF);
	}
	usage_close(u);
	fixture_rm_tree(t.base);
}

static void test_exclusive_v2(void **state)
{
	struct tree t;
	struct usage_sample s;
	struct usage *u;
	uint64_t before_vanished;
	(void)state;
	tree_setup(&t, "v2", true);

	/* 1: baseline */
	u = open_and_read(&t, 0, 0, &s);
	assert_int_equal(s.n, 12);
	assert_int_equal(s.dt_ns, 0);
	assert_int_equal(sum_entries(&s), 0);
	assert_int_equal(s.node_delta[FEAT_CPU_TIME], 0);
	assert_true(s.feature_mask & (1u << FEAT_CPU_TIME));
	assert_false(s.feature_mask & (1u << FEAT_INSTRUCTIONS));
	for (size_t i = 0; i < s.n; i++) {
		struct stat st;
		char p[PATH_MAX];
		assert_int_equal(path_join(p, sizeof(p), t.l.cpu_root, s.entries[i].path), 0);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(s.entries[i].id, (uint64_t)st.st_ino);
	}

	/* 2: exclusive = own - children */
	BUMP(&t, { C1, 100 }, { C2, 50 }, { P, 10 }, { SSH, 30 }, { S, 5 }, { R, 20 });
	t.busy_ticks += 7;
	write_all(&t);
	assert_int_equal(usage_read(u, &s), 0);
	assert_int_equal(s.n, 12);
	assert_true(s.dt_ns > 0);
	assert_int_equal(s.node_delta[FEAT_CPU_TIME], 7 * tick_ns());
	EXPECT(&s, { C1, 100000 }, { C2, 50000 }, { P, 10000 }, { B, 0 }, { K, 0 }, { BE, 0 },
		   { SSH, 30000 }, { S, 5000 }, { CTD, 0 }, { R, 20000 });
	assert_int_equal(sum_entries(&s), 215000); /* = the root's hierarchical delta */
	assert_int_equal(s.vanished, 0);
	assert_int_equal(s.dropped, 0);

	/* 3: garbage in C2's cpu.stat: C2 skipped, and its pod (whose exclusive would hold
	 * C2's time) is not reported either; nothing else is affected */
	BUMP(&t, { C1, 40 }, { C2, 60 }, { SSH, 1 });
	write_all(&t);
	write_text(t.l.cpu_root, C2, "cpu.stat", "usage_usec banana\nuser_usec 1\n");
	assert_int_equal(usage_read(u, &s), 0);
	assert_int_equal(s.n, 10);
	EXPECT_ABSENT(&s, C2, P);
	EXPECT(&s, { C1, 40000 }, { B, 0 }, { SSH, 1000 }, { R, 0 });

	/* 4: C1 removed between reads (not "vanished"), C2 readable again, a new cgroup.
	 * The last read was incomplete, so first-seen cgroups (C2 again, new.service) have
	 * an unknown first delta: they and their parents are left out */
	before_vanished = s.vanished;
	remove_node(&t, C1);
	bump(&t, C2, 5);
	add_node(&t, NEWSVC, 700);
	write_all(&t);
	assert_int_equal(usage_read(u, &s), 0);
	assert_int_equal(s.vanished, before_vanished);
	EXPECT_ABSENT(&s, C1, C2, P, NEWSVC, S);
	EXPECT(&s, { SSH, 0 }, { B, 0 });
	assert_int_equal(s.n, 12 - 1 /* C1 */ + 1 /* new */ - 4);

	/* 5: all known again */
	BUMP(&t, { C2, 25 }, { P, 3 }, { NEWSVC, 10 });
	write_all(&t);
	assert_int_equal(usage_read(u, &s), 0);
	assert_int_equal(s.n, 12);
	EXPECT(&s, { C2, 25000 }, { P, 3000 }, { NEWSVC, 10000 }, { S, 0 }, { R, 0 });

	/* 6: after a complete read a new cgroup's counter started at 0 after it, so its
	 * whole total is this interval's; a counter that goes backwards is not trusted */
	add_node(&t, M, 300);
	t.usec[node_of(&t, I)] -= 100; /* only I: as if it were a different cgroup */
	write_all(&t);
	assert_int_equal(usage_read(u, &s), 0);
	EXPECT(&s, { M, 300000 }, { U, 0 });
	expect_absent(&s, I);
	expect_absent(&s, R); /* its child's delta is unknown */
	expect(&s, K, 0);

	/* 7: a cgroup whose counter is gone when read (vanished mid-read) */
	before_vanished = s.vanished;
	{
		char p[PATH_MAX];
		assert_int_equal(fmt_path(p, sizeof(p), "%s%s/cpu.stat", t.l.cpu_root, CTD), 0);
		assert_int_equal(unlink(p), 0);
	}
	bump(&t, SSH, 9);
	for (size_t i = 0; i < t.n; i++)
		if (strcmp(t.rel[i], CTD))
			write_node(&t, i);
	assert_int_equal(usage_read(u, &s), 0);
	assert_int_equal(s.vanished, before_vanished + 1);
	expect_absent(&s, CTD);
	EXPECT(&s, { SSH, 9000 }, { S, 0 }, { R, 0 });

	usage_close(u);
	fixture_rm_tree(t.base);
}

static void test_exclusive_v1(void **state)
{
	struct tree t;
	struct usage_sample s;
	struct usage *u;
	const char *pod = "/kubepods/besteffort/pod8b2f6d4e-1c3a-4f5b-9d7e-0a2c4e6f8b1d";
	const char *ctr = "/kubepods/besteffort/pod8b2f6d4e-1c3a-4f5b-9d7e-0a2c4e6f8b1d/" CID1;
	(void)state;
	tree_setup(&t, "v1", false);
	/* the fixture's counters, in usec */
	t.rel[0] = "/", t.usec[0] = 90000000;
	t.rel[1] = "/kubepods", t.usec[1] = 40000000;
	t.rel[2] = "/kubepods/besteffort", t.usec[2] = 30000000;
	t.rel[3] = pod, t.usec[3] = 30000000;
	t.rel[4] = ctr, t.usec[4] = 20000000;
	t.rel[5] = "/system.slice", t.usec[5] = 5000000;
	t.n = 6;
	write_all(&t);
	u = open_and_read(&t, 0, 0, &s);
	assert_int_equal(s.n, 6);
	BUMP(&t, { ctr, 1234 }, { pod, 1 }, { "/system.slice", 77 }, { "/", 3 });
	write_all(&t);
	assert_int_equal(usage_read(u, &s), 0);
	EXPECT(&s, { ctr, 1234000 }, { pod, 1000 }, { "/kubepods/besteffort", 0 },
		   { "/kubepods", 0 }, { "/system.slice", 77000 }, { "/", 3000 });

	/* garbage: a v1 counter with a stray suffix */
	bump(&t, ctr, 5);
	write_all(&t);
	write_text(t.l.cpu_root, ctr, "cpuacct.usage", "12345x\n");
	assert_int_equal(usage_read(u, &s), 0);
	EXPECT_ABSENT(&s, ctr, pod);
	expect(&s, "/kubepods/besteffort", 0);
	usage_close(u);
	fixture_rm_tree(t.base);
}

/* Bounds: untracked cgroups' time lands in their nearest tracked ancestor, so the
 * tracked entries still add up to the root's delta */
static void test_bounds(void **state)
{
	struct tree t;
	struct usage_sample s;
	struct usage *u;
	(void)state;
	tree_setup(&t, "v2", true);

	u = open_and_read(&t, 4, 0, &s);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.dropped, 8);
	BUMP(&t, { C1, 100 }, { SSH, 50 }, { I, 7 });
	write_all(&t);
	assert_int_equal(usage_read(u, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.dropped, 16);
	assert_int_equal(sum_entries(&s), 157000);
	usage_close(u);

	u = open_and_read(&t, 0, 1, &s);
	assert_int_equal(s.n, 5);
	BUMP(&t, { C1, 100 }, { SSH, 50 });
	write_all(&t);
	assert_int_equal(usage_read(u, &s), 0);
	EXPECT(&s, { K, 100000 }, { S, 50000 }, { R, 0 });
	usage_close(u);

	/* memory is stable across reads: the entry array is reused */
	u = open_and_read(&t, 0, 0, &s);
	{
		const struct usage_entry *first = s.entries;
		for (int i = 0; i < 5; i++) {
			bump(&t, C2, 1);
			write_all(&t);
			assert_int_equal(usage_read(u, &s), 0);
			assert_ptr_equal(s.entries, first);
			expect(&s, C2, 1000);
		}
	}
	usage_close(u);
	fixture_rm_tree(t.base);
}

/* --- real kernel -------------------------------------------------------------------- */

struct real {
	char v2dir[PATH_MAX], v2busy[PATH_MAX];
	char v1dir[PATH_MAX], v1busy[PATH_MAX];
	pid_t child;
	int go[2];
	bool made_v2, made_v1, made_v2busy, made_v1busy;
};

static int real_setup(void **state)
{
	struct real *r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	r->child = -1;
	r->go[0] = r->go[1] = -1;
	*state = r;
	return 0;
}

static int real_teardown(void **state)
{
	struct real *r = *state;
	if (r->child > 0) {
		kill(r->child, SIGKILL);
		waitpid(r->child, NULL, 0);
	}
	if (r->go[0] >= 0)
		close(r->go[0]);
	if (r->go[1] >= 0)
		close(r->go[1]);
	/* a cgroup can be removed once its last task has exited (waitpid above) */
	if (r->made_v2busy)
		rmdir(r->v2busy);
	if (r->made_v1busy)
		rmdir(r->v1busy);
	if (r->made_v2)
		rmdir(r->v2dir);
	if (r->made_v1)
		rmdir(r->v1dir);
	free(r);
	return 0;
}

static void write_pid(const char *dir, pid_t pid)
{
	char p[PATH_MAX], text[32];
	assert_int_equal(path_join(p, sizeof(p), dir, "cgroup.procs"), 0);
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void spin_cpu(uint64_t ns)
{
	struct timespec ts;
	uint64_t start;
	volatile uint64_t x = 0;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	start = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	for (;;) {
		for (int i = 0; i < 100000; i++)
			x += (uint64_t)i;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
		if ((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - start >= ns)
			break;
	}
}

static bool within(uint64_t a, uint64_t b, double frac, uint64_t slack)
{
	uint64_t d = a > b ? a - b : b - a;
	return (double)d <= frac * (double)(a > b ? a : b) + (double)slack;
}

static void test_real_kernel(void **state)
{
	struct real *r = *state;
	struct cg_layout lv1, lv2;
	struct usage_opts o = { 0 };
	struct wl_err e = { { 0 } };
	struct usage *u1 = NULL, *u2 = NULL;
	struct usage_sample s;
	struct rusage ru;
	char rel[PATH_MAX], relbusy[PATH_MAX];
	uint64_t v1a, v1b, v2a, v2b, child_ns;
	const struct usage_entry *ent;
	int status;

	if (geteuid() != 0) {
		fprintf(stderr, "[  SKIP    ] real-kernel cgroup test needs root\n");
		skip();
	}
	if (cg_layout_detect(NULL, CG_PREF_V1, &lv1, &e) || cg_layout_detect(NULL, CG_PREF_V2, &lv2, &e)) {
		fprintf(stderr, "[  SKIP    ] needs both a v1 cpuacct and a v2 hierarchy: %s\n", e.msg);
		skip();
	}
	snprintf(rel, sizeof(rel), "/wattlet-test-%d", (int)getpid());
	assert_int_equal(fmt_path(relbusy, sizeof(relbusy), "%s/busy", rel), 0);
	assert_int_equal(fmt_path(r->v2dir, sizeof(r->v2dir), "%s%s", lv2.cpu_root, rel), 0);
	assert_int_equal(fmt_path(r->v2busy, sizeof(r->v2busy), "%s%s", lv2.cpu_root, relbusy), 0);
	assert_int_equal(fmt_path(r->v1dir, sizeof(r->v1dir), "%s%s", lv1.cpu_root, rel), 0);
	assert_int_equal(fmt_path(r->v1busy, sizeof(r->v1busy), "%s%s", lv1.cpu_root, relbusy), 0);
	if (mkdir(r->v2dir, 0755) != 0) {
		fprintf(stderr, "[  SKIP    ] cannot create %s: %s\n", r->v2dir, strerror(errno));
		skip();
	}
	r->made_v2 = true;
	assert_int_equal(mkdir(r->v2busy, 0755), 0);
	r->made_v2busy = true;
	assert_int_equal(mkdir(r->v1dir, 0755), 0);
	r->made_v1 = true;
	assert_int_equal(mkdir(r->v1busy, 0755), 0);
	r->made_v1busy = true;

	assert_int_equal(pipe(r->go), 0);
	r->child = fork();
	assert_true(r->child >= 0);
	if (r->child == 0) {
		char c;
		close(r->go[1]);
		if (read(r->go[0], &c, 1) != 1)
			_exit(2);
		spin_cpu(400000000ull);
		_exit(0);
	}
	close(r->go[0]);
	r->go[0] = -1;
	write_pid(r->v2busy, r->child);
	write_pid(r->v1busy, r->child);

	o.source = USAGE_CGROUP;
	o.layout = &lv1;
	u1 = usage_open(&o, NULL, &e);
	assert_non_null(u1);
	o.layout = &lv2;
	u2 = usage_open(&o, NULL, &e);
	assert_non_null(u2);
	assert_int_equal(usage_read(u1, &s), 0);
	assert_int_equal(usage_read(u2, &s), 0);
	assert_int_equal(cg_read_cpu_ns(&lv1, relbusy, &v1a), 0);
	assert_int_equal(cg_read_cpu_ns(&lv2, relbusy, &v2a), 0);

	assert_int_equal(write(r->go[1], "g", 1), 1); /* start spinning */
	assert_int_equal(wait4(r->child, &status, 0, &ru), r->child);
	r->child = -1;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	child_ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
		   ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;

	assert_int_equal(cg_read_cpu_ns(&lv1, relbusy, &v1b), 0);
	assert_int_equal(cg_read_cpu_ns(&lv2, relbusy, &v2b), 0);

	/* v1 cpuacct (what AUTO uses on this hybrid machine) */
	assert_int_equal(usage_read(u1, &s), 0);
	ent = entry_of(&s, relbusy);
	assert_non_null(ent);
	fprintf(stderr, "# v1: source %llu ns, cgroup counter %llu ns, rusage %llu ns, dt %llu ns\n",
		(unsigned long long)ent->delta[FEAT_CPU_TIME], (unsigned long long)(v1b - v1a),
		(unsigned long long)child_ns, (unsigned long long)s.dt_ns);
	assert_true(ent->delta[FEAT_CPU_TIME] >= 300000000ull);
	assert_true(within(ent->delta[FEAT_CPU_TIME], v1b - v1a, 0.03, 0));
	assert_true(within(ent->delta[FEAT_CPU_TIME], child_ns, 0.05, 20000000ull));
	ent = entry_of(&s, rel);
	assert_non_null(ent);
	assert_true(ent->delta[FEAT_CPU_TIME] < 5000000ull); /* the parent ran nothing itself */
	assert_true(s.node_delta[FEAT_CPU_TIME] + 30000000ull >= v1b - v1a);

	/* v2 cpu.stat */
	assert_int_equal(usage_read(u2, &s), 0);
	ent = entry_of(&s, relbusy);
	assert_non_null(ent);
	fprintf(stderr, "# v2: source %llu ns, cgroup counter %llu ns\n",
		(unsigned long long)ent->delta[FEAT_CPU_TIME], (unsigned long long)(v2b - v2a));
	assert_true(within(ent->delta[FEAT_CPU_TIME], v2b - v2a, 0.03, 0));
	assert_true(within(ent->delta[FEAT_CPU_TIME], child_ns, 0.05, 20000000ull));
	ent = entry_of(&s, rel);
	assert_non_null(ent);
	assert_true(ent->delta[FEAT_CPU_TIME] < 5000000ull);

	usage_close(u1);
	usage_close(u2);
}

/* Overhead: 1200 cgroups on the real v2 and v1 hierarchies, read repeatedly. */
static void test_real_scale(void **state)
{
	struct cg_layout l[2];
	char base[2][PATH_MAX];
	const unsigned ncg = 1200;
	struct wl_err e = { { 0 } };
	(void)state;

	if (geteuid() != 0) {
		fprintf(stderr, "[  SKIP    ] real-kernel scale test needs root\n");
		skip();
	}
	if (cg_layout_detect(NULL, CG_PREF_V1, &l[0], &e) || cg_layout_detect(NULL, CG_PREF_V2, &l[1], &e)) {
		fprintf(stderr, "[  SKIP    ] needs v1 cpuacct and v2: %s\n", e.msg);
		skip();
	}
	for (int k = 0; k < 2; k++) {
		struct usage_opts o = { .layout = &l[k], .source = USAGE_CGROUP };
		struct usage_sample s;
		struct usage *u;
		struct rusage r0, r1;
		uint64_t t0, t1, cpu_us;
		unsigned made = 0;
		int err = 0;
		(void)fmt_path(base[k], sizeof(base[k]), "%s/wattlet-scale-%d", l[k].cpu_root, (int)getpid());
		if (mkdir(base[k], 0755)) {
			fprintf(stderr, "[  SKIP    ] mkdir %s: %s\n", base[k], strerror(errno));
			skip();
		}
		for (unsigned i = 0; i < ncg; i++) {
			char p[PATH_MAX];
			(void)fmt_path(p, sizeof(p), "%s/pod%u", base[k], i / 10);
			if (i % 10 == 0 && mkdir(p, 0755))
				break;
			(void)fmt_path(p, sizeof(p), "%s/pod%u/c%u", base[k], i / 10, i % 10);
			if (mkdir(p, 0755))
				break;
			made++;
		}
		u = usage_open(&o, NULL, &e);
		if (u && usage_read(u, &s) == 0) {
			getrusage(RUSAGE_SELF, &r0);
			t0 = mono_ns();
			for (int i = 0; i < 10; i++)
				err |= usage_read(u, &s);
			t1 = mono_ns();
			getrusage(RUSAGE_SELF, &r1);
			cpu_us = (uint64_t)((r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1000000 +
					    (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) +
					    (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000 +
					    (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec));
			fprintf(stderr, "# %s: %zu cgroups, %.2f ms wall, %.2f ms CPU per read\n",
				l[k].cpu_is_v2 ? "v2" : "v1", s.n, (double)(t1 - t0) / 10e6,
				(double)cpu_us / 10e3);
			if (s.n < made || (t1 - t0) / 10 >= 250000000ull) /* far under a 1 s tick */
				err = -1;
		} else {
			err = -1;
		}
		usage_close(u);
		for (unsigned i = 0; i < made; i++) {
			char p[PATH_MAX];
			(void)fmt_path(p, sizeof(p), "%s/pod%u/c%u", base[k], i / 10, i % 10);
			rmdir(p);
			if (i % 10 == 9 || i + 1 == made) {
				(void)fmt_path(p, sizeof(p), "%s/pod%u", base[k], i / 10);
				rmdir(p);
			}
		}
		rmdir(base[k]);
		assert_int_equal(made, ncg);
		assert_int_equal(err, 0);
	}
}

WL_TEST_MAIN(
	cmocka_unit_test(test_names),
	cmocka_unit_test(test_proc_stat),
	cmocka_unit_test(test_node_busy_from_idle),
	cmocka_unit_test(test_open_errors),
	cmocka_unit_test(test_exclusive_v2),
	cmocka_unit_test(test_exclusive_v1),
	cmocka_unit_test(test_bounds),
	cmocka_unit_test_setup_teardown(test_real_kernel, real_setup, real_teardown),
	cmocka_unit_test(test_real_scale))
