/* test_cgroup.c - layout detection, walk and CPU counters on fixture trees and on
 * this machine's real cgroup mounts. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/cgroup/cgroup.h"
#include "test/unit/fixture.h"

static void fx(char *out, size_t cap, const char *rel)
{
	fixture_path(out, cap, "cgroup", rel);
}

/* ends_with: layout paths are built from the root we pass in */
static void assert_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	if (a < b || strcmp(s + a - b, suffix) != 0)
		fail_msg("\"%s\" does not end with \"%s\"", s, suffix);
}

/* A fixture tree and what cg_layout_detect made of it. */
struct tree {
	char root[PATH_MAX]; /* the tree's path */
	struct cg_layout l;
	struct wl_err e;
};

/* cg_layout_detect on fixture tree `name` under pref, into t; returns what it returns. */
static int detect(struct tree *t, const char *name, enum cg_pref pref)
{
	fx(t->root, sizeof(t->root), name);
	return cg_layout_detect(t->root, pref, &t->l, &t->e);
}

/* Detection of fixture tree `name` succeeds with this mode and CPU hierarchy, whose path
 * ends with cpu_root_end (NULL: not checked). */
static void assert_detects(struct tree *t, const char *name, enum cg_mode mode, bool cpu_is_v2,
			   const char *cpu_root_end)
{
	assert_int_equal(detect(t, name, CG_PREF_AUTO), 0);
	assert_int_equal(t->l.mode, mode);
	assert_int_equal(t->l.cpu_is_v2, cpu_is_v2);
	if (cpu_root_end)
		assert_ends_with(t->l.cpu_root, cpu_root_end);
}

/* The tests on fixture trees get a fresh, zeroed struct tree as their state. */
static int setup(void **state)
{
	*state = calloc(1, sizeof(struct tree));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Detection of fixture tree `name` under pref fails with -ENOENT, and the error names
 * what was looked for (mentions `what`). */
static void assert_refused(struct tree *t, const char *name, enum cg_pref pref, const char *what)
{
	assert_int_equal(detect(t, name, pref), -ENOENT);
	assert_non_null(strstr(t->e.msg, what));
}

/* --- layout ----------------------------------------------------------------------- */

static void test_layout_v2(void **state)
{
	struct tree *t = *state;
	assert_detects(t, "v2", CG_MODE_V2, true, NULL);
	assert_string_equal(t->l.cpu_root, t->root);
	assert_string_equal(t->l.unified_root, t->root);
	assert_string_equal(cg_mode_name(t->l.mode), "v2");
	/* v1 cannot be forced on a pure v2 tree, and the error says what was looked for */
	assert_refused(t, "v2", CG_PREF_V1, "cpuacct");
}

static void test_layout_v1(void **state)
{
	struct tree *t = *state;
	assert_detects(t, "v1", CG_MODE_V1, false, "/v1/cpuacct");
	assert_string_equal(t->l.unified_root, "");
	assert_refused(t, "v1", CG_PREF_V2, "cgroup.controllers");
}

static void test_layout_hybrid(void **state)
{
	struct tree *t = *state;
	/* containers' accounting is in cpuacct in hybrid */
	assert_detects(t, "hybrid", CG_MODE_HYBRID, false, "/hybrid/cpuacct");
	assert_ends_with(t->l.unified_root, "/hybrid/unified");
	assert_string_equal(cg_mode_name(t->l.mode), "hybrid");
	/* forcing v2 walks the unified hierarchy */
	assert_int_equal(detect(t, "hybrid", CG_PREF_V2), 0);
	assert_true(t->l.cpu_is_v2);
	assert_ends_with(t->l.cpu_root, "/hybrid/unified");
	assert_int_equal(detect(t, "hybrid", CG_PREF_V1), 0);
	assert_false(t->l.cpu_is_v2);
}

static void test_layout_hybrid_without_cpuacct(void **state)
{
	assert_detects(*state, "hybrid-nocpuacct", CG_MODE_HYBRID, true, "/unified");
}

static void test_layout_comounted(void **state)
{
	struct tree *t = *state;
	uint64_t ns;
	assert_detects(t, "comount", CG_MODE_V1, false, NULL);
	/* cpuacct -> cpu,cpuacct symlink: either name reaches the same counters */
	assert_int_equal(cg_read_cpu_ns(&t->l, "/", &ns), 0);
	assert_int_equal(ns, 70000000000ull);
	assert_int_equal(cg_read_cpu_ns(&t->l, "/kubepods.slice", &ns), 0);
	assert_int_equal(ns, 1000);

	assert_int_equal(detect(t, "comount-rev", CG_PREF_AUTO), 0);
	assert_int_equal(t->l.mode, CG_MODE_V1);
	assert_ends_with(t->l.cpu_root, "/cpuacct,cpu");
	assert_int_equal(cg_read_cpu_ns(&t->l, "/", &ns), 0);
	assert_int_equal(ns, 1234);
}

static void test_layout_nothing(void **state)
{
	struct tree *t = *state;
	assert_refused(t, "none", CG_PREF_AUTO, "cgroup.controllers");
	assert_non_null(strstr(t->e.msg, "cpuacct.usage"));
	assert_non_null(strstr(t->e.msg, "/none"));

	assert_refused(t, "does-not-exist", CG_PREF_AUTO, "not a directory");
}

static void test_layout_real(void **state)
{
	struct cg_layout l;
	struct wl_err e = { { 0 } };
	uint64_t a, b;
	(void)state;
	if (cg_layout_detect(NULL, CG_PREF_AUTO, &l, &e) != 0) {
		fprintf(stderr, "[  SKIP    ] no cgroup mount here: %s\n", e.msg);
		skip();
	}
	assert_string_equal(l.root, "/sys/fs/cgroup");
	assert_int_equal(cg_read_cpu_ns(&l, "/", &a), 0);
	assert_int_equal(cg_read_cpu_ns(&l, "/", &b), 0);
	assert_true(a > 0 && b >= a);
	if (path_exists("/sys/fs/cgroup/unified/cgroup.controllers") &&
	    path_exists("/sys/fs/cgroup/cpuacct/cpuacct.usage")) {
		assert_int_equal(l.mode, CG_MODE_HYBRID);
		assert_string_equal(l.cpu_root, "/sys/fs/cgroup/cpuacct");
		assert_string_equal(l.unified_root, "/sys/fs/cgroup/unified");
	}
}

/* --- counter parsing ---------------------------------------------------------------- */

static void test_parse_cpu(void **state)
{
	uint64_t ns = 42;
	(void)state;
	assert_int_equal(cg_parse_cpu_ns(true, "usage_usec 12\nuser_usec 7\nsystem_usec 5\n", &ns), 0);
	assert_int_equal(ns, 12000);
	/* key anywhere, not just the first line */
	assert_int_equal(cg_parse_cpu_ns(true, "user_usec 7\nsystem_usec 5\nusage_usec 99\n", &ns), 0);
	assert_int_equal(ns, 99000);
	/* no trailing newline */
	assert_int_equal(cg_parse_cpu_ns(true, "usage_usec 3", &ns), 0);
	assert_int_equal(ns, 3000);
	ns = 42;
	assert_int_equal(cg_parse_cpu_ns(true, "", &ns), -EINVAL);
	assert_int_equal(cg_parse_cpu_ns(true, "usage_usecs 5\n", &ns), -EINVAL);
	assert_int_equal(cg_parse_cpu_ns(true, "xusage_usec 5\n", &ns), -EINVAL);
	assert_int_equal(cg_parse_cpu_ns(true, "usage_usec banana\n", &ns), -EINVAL);
	assert_int_equal(cg_parse_cpu_ns(true, "usage_usec -5\n", &ns), -EINVAL);
	assert_int_equal(cg_parse_cpu_ns(true, "usage_usec 12abc\n", &ns), -EINVAL);
	assert_int_equal(cg_parse_cpu_ns(true, "usage_usec \n", &ns), -EINVAL);
	assert_int_equal(cg_parse_cpu_ns(true, "usage_usec 18446744073709552\n", &ns), -ERANGE);
	assert_int_equal(cg_parse_cpu_ns(true, "usage_usec 99999999999999999999999\n", &ns), -ERANGE);
	assert_int_equal(ns, 42); /* untouched on error */
	assert_int_equal(cg_parse_cpu_ns(false, "123456789\n", &ns), 0);
	assert_int_equal(ns, 123456789);
	assert_int_equal(cg_parse_cpu_ns(false, "12 34\n", &ns), -EINVAL);
	assert_int_equal(cg_parse_cpu_ns(false, "\n", &ns), -EINVAL);
	assert_int_equal(cg_parse_cpu_ns(false, "-1\n", &ns), -EINVAL);
}

static void test_read_cpu_fixture(void **state)
{
	struct tree *t = *state;
	uint64_t ns;
	assert_int_equal(detect(t, "v2", CG_PREF_AUTO), 0);
	assert_int_equal(cg_read_cpu_ns(&t->l, "/", &ns), 0);
	assert_int_equal(ns, 10000000ull * 1000);
	assert_int_equal(cg_read_cpu_ns(&t->l, "/system.slice/sshd.service", &ns), 0);
	assert_int_equal(ns, 1000000ull * 1000);
	assert_int_equal(cg_read_cpu_ns(&t->l, "/gone.scope", &ns), -ENOENT);

	assert_int_equal(detect(t, "v1", CG_PREF_AUTO), 0);
	assert_int_equal(cg_read_cpu_ns(&t->l, "/kubepods/besteffort", &ns), 0);
	assert_int_equal(ns, 30000000000ull);
}

/* --- walk --------------------------------------------------------------------------- */

struct seen {
	char paths[64][PATH_MAX];
	uint64_t ids[64];
	unsigned depth[64];
	size_t n;
	const char *root;
	const char *stop_at;
};

static int record(int dirfd, const char *rel, uint64_t id, unsigned depth, void *ctx)
{
	struct seen *s = ctx;
	(void)dirfd;
	if (s->n >= 64)
		return -E2BIG;
	snprintf(s->paths[s->n], PATH_MAX, "%s", rel);
	s->ids[s->n] = id;
	s->depth[s->n] = depth;
	s->n++;
	if (s->stop_at && strcmp(rel, s->stop_at) == 0)
		return 77;
	return 0;
}

static ssize_t find_path(const struct seen *s, const char *rel)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->paths[i], rel) == 0)
			return (ssize_t)i;
	return -1;
}

static const char *const v2_cgroups[] = {
	"/",
	"/init.scope",
	"/system.slice",
	"/system.slice/sshd.service",
	"/system.slice/containerd.service",
	"/user.slice",
	"/kubepods.slice",
	"/kubepods.slice/kubepods-burstable.slice",
	"/kubepods.slice/kubepods-burstable.slice/"
	"kubepods-burstable-pod8b2f6d4e_1c3a_4f5b_9d7e_0a2c4e6f8b1d.slice",
	"/kubepods.slice/kubepods-burstable.slice/"
	"kubepods-burstable-pod8b2f6d4e_1c3a_4f5b_9d7e_0a2c4e6f8b1d.slice/"
	"cri-containerd-3f1e0c5a9d7b2e4f6a8c0b1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f.scope",
	"/kubepods.slice/kubepods-burstable.slice/"
	"kubepods-burstable-pod8b2f6d4e_1c3a_4f5b_9d7e_0a2c4e6f8b1d.slice/"
	"cri-containerd-9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b.scope",
	"/kubepods.slice/kubepods-besteffort.slice",
};
#define N_V2 (sizeof(v2_cgroups) / sizeof(v2_cgroups[0]))

static void test_walk_fixture(void **state)
{
	static struct seen s;
	struct tree *t = *state;
	uint64_t vanished = 0;
	memset(&s, 0, sizeof(s));
	assert_int_equal(detect(t, "v2", CG_PREF_AUTO), 0);
	assert_int_equal(cg_walk_at(&t->l, NULL, 16, record, &s, &vanished), 0);
	assert_int_equal(s.n, N_V2);
	assert_int_equal(vanished, 0);
	assert_string_equal(s.paths[0], "/");
	for (size_t i = 0; i < N_V2; i++) {
		char full[PATH_MAX];
		struct stat st;
		ssize_t k = find_path(&s, v2_cgroups[i]);
		if (k < 0)
			fail_msg("walk missed %s", v2_cgroups[i]);
		assert_int_equal(path_join(full, sizeof(full), t->root, v2_cgroups[i]), 0);
		assert_int_equal(stat(full, &st), 0);
		assert_int_equal(s.ids[k], (uint64_t)st.st_ino); /* id = directory inode */
	}
	/* depth-first pre-order: each cgroup comes after its parent */
	for (size_t i = 1; i < s.n; i++) {
		char parent[PATH_MAX];
		char *slash;
		snprintf(parent, sizeof(parent), "%s", s.paths[i]);
		slash = strrchr(parent, '/');
		if (slash == parent)
			parent[1] = '\0';
		else
			*slash = '\0';
		assert_true(find_path(&s, parent) >= 0);
		assert_true((size_t)find_path(&s, parent) < i);
		assert_int_equal(s.depth[i], s.depth[find_path(&s, parent)] + 1);
	}
}

static void test_walk_depth_and_stop(void **state)
{
	static struct seen s;
	struct tree *t = *state;
	assert_int_equal(detect(t, "v2", CG_PREF_AUTO), 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(cg_walk_at(&t->l, NULL, 0, record, &s, NULL), 0);
	assert_int_equal(s.n, 1);

	memset(&s, 0, sizeof(s));
	assert_int_equal(cg_walk_at(&t->l, NULL, 1, record, &s, NULL), 0);
	assert_int_equal(s.n, 5); /* / + four top-level cgroups */
	for (size_t i = 1; i < s.n; i++)
		assert_int_equal(s.depth[i], 1);

	memset(&s, 0, sizeof(s));
	assert_int_equal(cg_walk_at(&t->l, NULL, 3, record, &s, NULL), 0);
	assert_int_equal(s.n, N_V2 - 2); /* containers are at depth 4 */

	/* a non-zero return stops the walk and is returned */
	memset(&s, 0, sizeof(s));
	s.stop_at = "/kubepods.slice";
	assert_int_equal(cg_walk_at(&t->l, NULL, 16, record, &s, NULL), 77);
	assert_true(s.n < N_V2);

	/* the path-only face */
	assert_int_equal(cg_walk(&t->l, "/nonexistent/wattlet", 4, NULL, NULL), -EINVAL);
}

static int count_only(const char *rel, uint64_t id, void *ctx)
{
	(void)rel;
	(void)id;
	(*(size_t *)ctx)++;
	return 0;
}

static void test_walk_missing_root(void **state)
{
	struct tree *t = *state;
	size_t n = 0;
	assert_int_equal(detect(t, "v2", CG_PREF_AUTO), 0);
	assert_int_equal(cg_walk(&t->l, "/nonexistent/wattlet", 4, count_only, &n), -ENOENT);
	assert_int_equal(n, 0);
	assert_int_equal(cg_walk(&t->l, NULL, 16, count_only, &n), 0);
	assert_int_equal(n, N_V2);
}

/* A directory listed by readdir but removed before it is opened is skipped and counted.
 * The visitor removes a sibling that sorts after it in a fresh, small tree: readdir on
 * a directory opened before the removal may or may not still list it, so the test
 * accepts both outcomes but requires that the walk never reports the removed one. */
struct rm_ctx {
	char base[PATH_MAX];
	int removed;
	int saw_b_after;
	int saw_b_before;
};

static int rm_sibling(int dirfd, const char *rel, uint64_t id, unsigned depth, void *ctx)
{
	struct rm_ctx *c = ctx;
	char p[PATH_MAX];
	(void)dirfd;
	(void)id;
	(void)depth;
	if (strcmp(rel, "/a") == 0 && !c->removed) {
		assert_int_equal(fmt_path(p, sizeof(p), "%s/b", c->base), 0);
		assert_int_equal(rmdir(p), 0);
		c->removed = 1;
	} else if (strcmp(rel, "/b") == 0) {
		if (c->removed)
			c->saw_b_after = 1;
		else
			c->saw_b_before = 1;
	}
	return 0;
}

static void test_walk_vanish(void **state)
{
	struct rm_ctx c;
	char p[PATH_MAX];
	uint64_t vanished = 0;
	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.base, sizeof(c.base), "/tmp/wattlet-cgwalk-XXXXXX");
	assert_non_null(mkdtemp(c.base));
	assert_int_equal(fmt_path(p, sizeof(p), "%s/a", c.base), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(fmt_path(p, sizeof(p), "%s/b", c.base), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(cg_walk_at(NULL, c.base, 4, rm_sibling, &c, &vanished), 0);
	assert_false(c.saw_b_after);
	/* either readdir had already moved past b (it was visited before a) or b was
	 * listed and found gone (vanished 1); both are fine, a crash or report is not */
	assert_int_equal(c.removed, 1);
	assert_int_equal(vanished + (uint64_t)c.saw_b_before, 1);
	assert_int_equal(fmt_path(p, sizeof(p), "%s/a", c.base), 0);
	rmdir(p);
	rmdir(c.base);
}

WL_TEST_MAIN(
	WL_TEST_FIXTURE(test_layout_v2),
	WL_TEST_FIXTURE(test_layout_v1),
	WL_TEST_FIXTURE(test_layout_hybrid),
	WL_TEST_FIXTURE(test_layout_hybrid_without_cpuacct),
	WL_TEST_FIXTURE(test_layout_comounted),
	WL_TEST_FIXTURE(test_layout_nothing),
	cmocka_unit_test(test_layout_real),
	cmocka_unit_test(test_parse_cpu),
	WL_TEST_FIXTURE(test_read_cpu_fixture),
	WL_TEST_FIXTURE(test_walk_fixture),
	WL_TEST_FIXTURE(test_walk_depth_and_stop),
	WL_TEST_FIXTURE(test_walk_missing_root),
	cmocka_unit_test(test_walk_vanish))
