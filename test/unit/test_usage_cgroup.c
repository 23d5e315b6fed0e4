/* test_usage_cgroup.c - the cgroup usage source's incremental read: subtrees below
 * an unchanged counter carried over unread, counter files kept open (and the
 * degrade to open/close per read above the file cap, or on EMFILE), cgroups removed
 * and re-created under the same name. A fixture v2 tree in a temp dir (files
 * rewritten in place between reads, as the kernel regenerates them), and the real
 * v1 and v2 hierarchies where the test runs as root. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
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

/* --- a fixture v2 tree ------------------------------------------------------------- */

#define MAXN 64
struct tree {
	char root[PATH_MAX];
	struct cg_layout l;
	const char *rel[MAXN];
	uint64_t usec[MAXN];
	size_t n;
};

static void put(const char *dir, const char *file, const char *text)
{
	char p[PATH_MAX];
	FILE *f;
	assert_int_equal(path_join(p, sizeof(p), dir, file), 0);
	f = fopen(p, "w"); /* in place: an open descriptor sees the new text */
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static ssize_t node_of(const struct tree *t, const char *rel)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->rel[i], rel))
			return (ssize_t)i;
	return -1;
}

static void write_node(struct tree *t, size_t i)
{
	char dir[PATH_MAX], text[128];
	assert_int_equal(path_join(dir, sizeof(dir), t->root, t->rel[i]), 0);
	snprintf(text, sizeof(text), "usage_usec %llu\nuser_usec 0\nsystem_usec 0\n",
		 (unsigned long long)t->usec[i]);
	put(dir, "cpu.stat", text);
}

static void write_all(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		write_node(t, i);
}

/* rel ran usec of CPU: its counter and its ancestors' grow (hierarchical) */
static void bump(struct tree *t, const char *rel, uint64_t usec)
{
	assert_true(node_of(t, rel) >= 0);
	for (size_t i = 0; i < t->n; i++)
		if (fixture_cg_ancestor_or_self(t->rel[i], rel))
			t->usec[i] += usec;
}

static void add(struct tree *t, const char *rel)
{
	char p[PATH_MAX];
	assert_true(t->n < MAXN);
	assert_int_equal(path_join(p, sizeof(p), t->root, rel), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	t->rel[t->n] = rel;
	t->usec[t->n] = 0;
	t->n++;
	write_node(t, t->n - 1);
}

/* /, /a, /a/x, /a/y, /b, /b/z, with some CPU time each */
static void tree_setup(struct tree *t)
{
	static const char *const rels[] = { "/", "/a", "/a/x", "/a/y", "/b", "/b/z" };
	memset(t, 0, sizeof(*t));
	snprintf(t->root, sizeof(t->root), "/tmp/wattlet-ucg-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	put(t->root, "cgroup.controllers", "cpu memory\n");
	t->rel[0] = "/";
	t->n = 1;
	for (size_t i = 1; i < sizeof(rels) / sizeof(rels[0]); i++)
		add(t, rels[i]);
	bump(t, "/a/x", 1000);
	bump(t, "/a/y", 2000);
	bump(t, "/b/z", 3000);
	bump(t, "/", 500);
	write_all(t);
	assert_int_equal(cg_layout_detect(t->root, CG_PREF_AUTO, &t->l, NULL), 0);
	assert_true(t->l.cpu_is_v2);
}

/* --- reading through the source's own interface ------------------------------------ */

struct src {
	void *st;
	const struct usage_entry *e;
	size_t n;
	struct usage_cgroup_stats stats;
};

static void src_open(struct src *s, const struct cg_layout *l, int max_open)
{
	struct usage_opts o = { .layout = l, .source = USAGE_CGROUP, .cgroup_max_open = max_open };
	struct wl_err err = { { 0 } };
	memset(s, 0, sizeof(*s));
	s->st = usage_cgroup_ops.open(&o, NULL, &err);
	if (!s->st)
		fail_msg("open: %s", err.msg);
}

static void src_read(struct src *s)
{
	uint32_t mask;
	uint64_t dropped, vanished;
	assert_int_equal(usage_cgroup_ops.read(s->st, &s->e, &s->n, &mask, &dropped, &vanished), 0);
	usage_cgroup_stats(s->st, &s->stats);
}

static const struct usage_entry *entry(const struct src *s, const char *rel)
{
	return fixture_usage_entry(s->e, s->n, rel);
}

static void expect(const struct src *s, const char *rel, uint64_t usec)
{
	fixture_usage_expect_cpu(s->e, s->n, rel, usec * 1000);
}

static uint64_t ino_of(const char *root, const char *rel)
{
	char p[PATH_MAX];
	struct stat sb;
	assert_int_equal(path_join(p, sizeof(p), root, rel), 0);
	assert_int_equal(stat(p, &sb), 0);
	return (uint64_t)sb.st_ino;
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* --- tests ------------------------------------------------------------------------ */

/* A parent whose counter did not move: its children are neither listed nor read
 * (garbage planted in one stays unseen), and keep their entries with delta 0. A
 * changed child below a changed parent is read; its idle sibling is read too (one
 * pread) but not listed. Every USAGE_CGROUP_FULL_EVERY-th read reads everything. */
static void test_skip_unchanged(void **state)
{
	const int caps[] = { -1, 100 }; /* open/close per read, and files kept */
	(void)state;
	for (size_t c = 0; c < 2; c++) {
		struct tree t;
		struct src s;
		tree_setup(&t);
		src_open(&s, &t.l, caps[c]);
		src_read(&s); /* baseline: everything */
		assert_int_equal(s.n, 6);
		assert_true(s.stats.full);
		assert_int_equal(s.stats.counter_reads, 6);
		assert_int_equal(s.stats.fds_kept, caps[c] > 0 ? 6 : 0);

		/* 1: only /b/z ran: /a did not move, /a/x and /a/y are carried over */
		bump(&t, "/b/z", 70);
		write_all(&t);
		put(t.root, "a/x/cpu.stat", "usage_usec banana\n"); /* read it and x is withheld */
		src_read(&s);
		assert_false(s.stats.full);
		assert_int_equal(s.stats.counter_reads, 4); /* /, /a, /b, /b/z */
		assert_int_equal(s.stats.skipped, 2);
		assert_int_equal(s.n, 6);
		expect(&s, "/b/z", 70);
		expect(&s, "/b", 0);
		expect(&s, "/a/x", 0);
		expect(&s, "/a/y", 0);
		expect(&s, "/a", 0);
		expect(&s, "/", 0);
		assert_int_equal(entry(&s, "/a/x")->id, ino_of(t.root, "/a/x"));

		/* 2: /a/y ran: /a moved, so both its children are read; /b is idle now */
		write_all(&t); /* x readable again */
		bump(&t, "/a/y", 5);
		bump(&t, "/a", 1);
		write_all(&t);
		src_read(&s);
		assert_int_equal(s.stats.counter_reads, 5); /* /, /a, /a/x, /a/y, /b */
		assert_int_equal(s.stats.skipped, 1);       /* /b/z */
		/* listed: / and /a (their counters moved) and /a/y; idle /a/x is not */
		assert_int_equal(s.stats.dir_lists, 3);
		expect(&s, "/a/y", 5);
		expect(&s, "/a", 1);
		expect(&s, "/a/x", 0);
		expect(&s, "/b/z", 0);

		/* 3: nothing ran at all: only the root is read */
		src_read(&s);
		assert_int_equal(s.stats.counter_reads, 1);
		assert_int_equal(s.stats.skipped, 5);
		assert_int_equal(s.n, 6);

		/* the full read (garbage in /a/x under an idle /a is seen there) */
		put(t.root, "a/x/cpu.stat", "usage_usec banana\n");
		for (unsigned i = 4; i < USAGE_CGROUP_FULL_EVERY; i++) {
			src_read(&s);
			assert_false(s.stats.full);
			assert_non_null(entry(&s, "/a/x"));
		}
		src_read(&s);
		assert_true(s.stats.full);
		assert_int_equal(s.stats.counter_reads, 6);
		assert_null(entry(&s, "/a/x")); /* unreadable: withheld, and its parent */
		assert_null(entry(&s, "/a"));
		/* after an incomplete read nothing is skipped */
		write_all(&t);
		src_read(&s);
		assert_true(s.stats.full);
		assert_int_equal(s.stats.counter_reads, 6);
		usage_cgroup_ops.close(s.st);
		fixture_rm_tree(t.root);
	}
}

/* A cgroup removed and re-created under the same name is a different cgroup (new
 * directory inode): a new id, its whole counter as its first delta, the old one's
 * kept file closed. One re-created below a parent that stays idle is found at the
 * latest by the next full read. A counter that goes backwards is not trusted. */
static void test_recreated(void **state)
{
	struct tree t;
	struct src s;
	char p[PATH_MAX], q[PATH_MAX];
	uint64_t old_id, new_id;
	ssize_t k;
	(void)state;
	tree_setup(&t);
	src_open(&s, &t.l, 100);
	src_read(&s);
	bump(&t, "/a/x", 10);
	write_all(&t);
	src_read(&s);
	expect(&s, "/a/x", 10);
	old_id = entry(&s, "/a/x")->id;

	/* made before the old one goes, so the inode cannot be reused */
	assert_int_equal(path_join(p, sizeof(p), t.root, "/a/x.new"), 0);
	assert_int_equal(path_join(q, sizeof(q), t.root, "/a/x"), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	fixture_rm_tree(q);
	assert_int_equal(rename(p, q), 0);
	k = node_of(&t, "/a/x");
	t.usec[k] = 0; /* a fresh counter; the old one's time stays in /a and / */
	bump(&t, "/a/x", 40);
	write_all(&t);
	src_read(&s);
	new_id = ino_of(t.root, "/a/x");
	assert_true(new_id != old_id);
	assert_int_equal(entry(&s, "/a/x")->id, new_id);
	expect(&s, "/a/x", 40); /* not 40 - 1010 (old total), not withheld */
	expect(&s, "/a", 0);
	for (size_t i = 0; i < s.n; i++)
		assert_true(s.e[i].id != old_id);
	assert_int_equal(s.stats.fds_kept, 6);

	/* the counter of /a/y goes backwards (a v1 reset, say) while /a moved */
	k = node_of(&t, "/a/y");
	t.usec[k] -= 100;
	bump(&t, "/a/x", 1);
	write_all(&t);
	src_read(&s);
	assert_null(entry(&s, "/a/y"));
	assert_null(entry(&s, "/a"));
	expect(&s, "/a/x", 1);

	/* /b/z re-created with no CPU time below an idle /b: seen by the full read */
	assert_int_equal(path_join(p, sizeof(p), t.root, "/b/z.new"), 0);
	assert_int_equal(path_join(q, sizeof(q), t.root, "/b/z"), 0);
	old_id = ino_of(t.root, "/b/z");
	assert_int_equal(mkdir(p, 0755), 0);
	fixture_rm_tree(q);
	assert_int_equal(rename(p, q), 0);
	t.usec[node_of(&t, "/b/z")] = 0;
	write_all(&t);
	new_id = ino_of(t.root, "/b/z");
	for (;;) {
		src_read(&s);
		if (s.stats.full)
			break;
		assert_int_equal(entry(&s, "/b/z")->id, old_id); /* not yet looked at */
	}
	assert_int_equal(entry(&s, "/b/z")->id, new_id);
	expect(&s, "/b/z", 0);
	expect(&s, "/b", 0);
	usage_cgroup_ops.close(s.st);
	fixture_rm_tree(t.root);
}

/* The file cap: above it cgroups are opened and closed every read, with the same
 * numbers; the files held never exceed it; EMFILE lowers it instead of failing. */
static void test_fd_cap(void **state)
{
	struct tree t;
	struct src s[3];
	const int caps[3] = { -1, 2, 1000 };
	static char names[40][24];
	unsigned fds0;
	(void)state;
	tree_setup(&t);
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "/b/z/c%d", i);
		add(&t, names[i]);
	}
	write_all(&t);

	/* automatic: nothing kept on a tree that is not a cgroup filesystem */
	src_open(&s[0], &t.l, 0);
	src_read(&s[0]);
	assert_int_equal(s[0].stats.fd_cap, 0);
	assert_int_equal(s[0].stats.fds_kept, 0);
	usage_cgroup_ops.close(s[0].st);

	fds0 = open_fds();
	for (int k = 0; k < 3; k++) {
		src_open(&s[k], &t.l, caps[k]);
		src_read(&s[k]);
	}
	assert_int_equal(s[0].stats.fds_kept, 0);
	assert_int_equal(s[1].stats.fds_kept, 2);
	assert_int_equal(s[2].stats.fds_kept, 46);
	assert_int_equal(open_fds(), fds0 + 3 /* roots */ + 2 + 46);
	for (int round = 0; round < 12; round++) {
		bump(&t, names[round % 40], 10 + (uint64_t)round);
		if (round % 3 == 0)
			bump(&t, "/a/y", 3);
		bump(&t, "/b/z", 1);
		write_all(&t);
		for (int k = 0; k < 3; k++)
			src_read(&s[k]);
		assert_int_equal(s[0].n, 46);
		for (int k = 1; k < 3; k++) {
			assert_int_equal(s[k].n, s[0].n);
			for (size_t i = 0; i < s[0].n; i++) {
				const struct usage_entry *e = entry(&s[k], s[0].e[i].path);
				assert_non_null(e);
				assert_int_equal(e->id, s[0].e[i].id);
				assert_int_equal(e->delta[FEAT_CPU_TIME],
						 s[0].e[i].delta[FEAT_CPU_TIME]);
			}
		}
		expect(&s[1], names[round % 40], 10 + (uint64_t)round);
		expect(&s[1], "/b/z", 1);
		assert_int_equal(s[1].stats.fds_kept, 2);
	}
	assert_int_equal(open_fds(), fds0 + 3 + 2 + 46);

	/* EMFILE: room for a few more files only. The leaves are re-created (new
	 * inodes), so each must be opened again: the read still succeeds, the cap drops
	 * and files are given back at once. */
	{
		struct rlimit old, low;
		for (int i = 0; i < 40; i++) {
			char p[PATH_MAX], q[PATH_MAX];
			assert_int_equal(path_join(q, sizeof(q), t.root, names[i]), 0);
			assert_int_equal(fmt_path(p, sizeof(p), "%s.n", q), 0);
			assert_int_equal(mkdir(p, 0755), 0);
			fixture_rm_tree(q);
			assert_int_equal(rename(p, q), 0);
			t.usec[node_of(&t, names[i])] = 0;
		}
		for (int i = 0; i < 40; i++)
			bump(&t, names[i], 5);
		write_all(&t);
		usage_cgroup_ops.close(s[0].st);
		usage_cgroup_ops.close(s[1].st);
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
		low = old;
		low.rlim_cur = open_fds() + 8;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
		src_read(&s[2]);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
		assert_true(s[2].stats.shed > 0);
		assert_true(s[2].stats.fd_cap < 1000);
		assert_true(s[2].stats.fds_kept <= s[2].stats.fd_cap);
		assert_int_equal(s[2].n, 46);
		for (int i = 0; i < 40; i++)
			expect(&s[2], names[i], 5);
		bump(&t, names[7], 9);
		write_all(&t);
		src_read(&s[2]);
		assert_int_equal(s[2].n, 46);
		expect(&s[2], names[7], 9);
		assert_true(s[2].stats.fds_kept <= s[2].stats.fd_cap);
		usage_cgroup_ops.close(s[2].st);
	}
	fixture_rm_tree(t.root);
}

/* --- real kernel ------------------------------------------------------------------- */

static void spin(uint64_t ns)
{
	struct timespec ts;
	uint64_t t0, now;
	volatile uint64_t x = 0;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	do {
		for (int i = 0; i < 10000; i++)
			x += (uint64_t)i;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	} while (now - t0 < ns);
}

/* Runs a child that spins ns of CPU inside dir, and waits for it. */
static void run_in(const char *dir, uint64_t ns)
{
	char p[PATH_MAX], text[32];
	int go[2], status;
	pid_t pid;
	char c;
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		spin(ns);
		_exit(0);
	}
	close(go[0]);
	assert_int_equal(path_join(p, sizeof(p), dir, "cgroup.procs"), 0);
	snprintf(text, sizeof(text), "%d\n", (int)pid);
	{
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs(text, f);
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* On the real hierarchies: files kept (automatic cap on a cgroup filesystem), an
 * idle subtree carried over, a cgroup removed and re-created with the same name
 * read as a new cgroup with only its own CPU time. */
static void test_real(void **state)
{
	const enum cg_pref prefs[2] = { CG_PREF_V1, CG_PREF_V2 };
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "[  SKIP    ] real-kernel test needs root (cgroups)\n");
		skip();
	}
	for (int k = 0; k < 2; k++) {
		struct cg_layout l;
		struct wl_err err = { { 0 } };
		char base[PATH_MAX], idle[PATH_MAX], busy[PATH_MAX], rb[PATH_MAX], ri[PATH_MAX];
		struct src s;
		struct rlimit rl;
		const struct usage_entry *e;
		uint64_t old_id;
		if (cg_layout_detect(NULL, prefs[k], &l, &err)) {
			fprintf(stderr, "[  SKIP    ] no %s hierarchy: %s\n", k ? "v2" : "v1",
				err.msg);
			continue;
		}
		snprintf(rb, sizeof(rb), "/wattlet-ucg-%d/busy", (int)getpid());
		snprintf(ri, sizeof(ri), "/wattlet-ucg-%d/idle/c", (int)getpid());
		assert_int_equal(fmt_path(base, sizeof(base), "%s/wattlet-ucg-%d", l.cpu_root,
					  (int)getpid()),
				 0);
		assert_int_equal(fmt_path(idle, sizeof(idle), "%s/idle", base), 0);
		assert_int_equal(fmt_path(busy, sizeof(busy), "%s/busy", base), 0);
		if (mkdir(base, 0755)) {
			fprintf(stderr, "[  SKIP    ] mkdir %s: %s\n", base, strerror(errno));
			continue;
		}
		assert_int_equal(mkdir(idle, 0755), 0);
		assert_int_equal(mkdir(busy, 0755), 0);
		{
			char c[PATH_MAX];
			assert_int_equal(fmt_path(c, sizeof(c), "%s/c", idle), 0);
			assert_int_equal(mkdir(c, 0755), 0);
		}
		src_open(&s, &l, 0);
		src_read(&s);
		assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
		assert_true(s.stats.fd_cap > 0); /* a cgroup filesystem: files kept */
		assert_true(s.stats.fds_kept > 0);
		assert_true(s.stats.fds_kept <= rl.rlim_cur / 2);

		run_in(busy, 50000000ull);
		src_read(&s);
		e = entry(&s, rb);
		assert_non_null(e);
		assert_true(e->delta[FEAT_CPU_TIME] >= 40000000ull);
		old_id = e->id;
		assert_non_null(entry(&s, ri));
		expect(&s, ri, 0);

		/* re-created: the old file answers ENODEV, the listing has a new inode */
		assert_int_equal(rmdir(busy), 0);
		assert_int_equal(mkdir(busy, 0755), 0);
		run_in(busy, 20000000ull);
		src_read(&s);
		e = entry(&s, rb);
		assert_non_null(e);
		assert_true(e->id != old_id);
		assert_int_equal(e->id, ino_of(l.cpu_root, rb));
		fprintf(stderr, "# %s: re-created cgroup %llu ns (ran 20 ms)\n", k ? "v2" : "v1",
			(unsigned long long)e->delta[FEAT_CPU_TIME]);
		assert_true(e->delta[FEAT_CPU_TIME] >= 15000000ull);
		assert_true(e->delta[FEAT_CPU_TIME] < 45000000ull); /* not the old one's 50 ms */

		usage_cgroup_ops.close(s.st);
		{
			char c[PATH_MAX];
			assert_int_equal(fmt_path(c, sizeof(c), "%s/c", idle), 0);
			rmdir(c);
		}
		rmdir(idle);
		rmdir(busy);
		rmdir(base);
	}
}

WL_TEST_MAIN(
	cmocka_unit_test(test_skip_unchanged),
	cmocka_unit_test(test_recreated),
	cmocka_unit_test(test_fd_cap),
	cmocka_unit_test(test_real))
