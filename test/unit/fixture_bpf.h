/* fixture_bpf.h - the eBPF usage source's kernel tests' fixture (test_usage_bpf,
 * test_usage_counters): cgroups of the test's own (<cpu root>/wattlet-<tag>-<pid>/...),
 * children that join one and spin there, reads of the source, and the cgroup's own CPU
 * counter read around a usage read to check a delta against.
 *
 * Header-only (each unit test is one .c file linked with the library); include it after
 * <cmocka.h>. fixture_bpf_setup() allocates the state (freed by fixture_bpf_teardown(),
 * which also kills and reaps the children, closes the source, removes the cgroups in
 * reverse order of creation and unlinks the temporary online list, also when an assertion
 * failed); the test opens f->src itself with usage_bpf_ops. Entries of a read belong to
 * the source (valid until its next read). A failed step fails the test.
 */
#ifndef WATTLET_TEST_FIXTURE_BPF_H
#define WATTLET_TEST_FIXTURE_BPF_H

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/cgroup/cgroup.h"
#include "agent/usage/usage_impl.h"

#define FIXTURE_BPF_MAX_KIDS 8
#define FIXTURE_BPF_MAX_DIRS 8

struct fixture_bpf {
	struct cg_layout layout;
	char base_rel[128];                         /* "/wattlet-<tag>-<pid>" */
	char dirs[FIXTURE_BPF_MAX_DIRS][PATH_MAX]; /* absolute, created by us, removed in reverse */
	int ndirs;
	pid_t kids[FIXTURE_BPF_MAX_KIDS];
	int nkids;
	void *src;
	struct usage_probe probe;
	char online[64]; /* a temporary CPU list file, or "" */
};

/* Why the kernel tests cannot run here, NULL when they can. */
static inline const char *fixture_bpf_skip_reason(void)
{
	if (geteuid() != 0)
		return "not root";
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return "no kernel BTF at /sys/kernel/btf/vmlinux";
	if (!usage_bpf_ops)
		return "eBPF source not built";
	return NULL;
}

/* The state in *state: the cgroup layout under /sys/fs/cgroup (pref) and the base
 * cgroup's relative path "/wattlet-<tag>-<pid>" (not created yet). Where the tests cannot
 * run or no layout is found (printed), the layout's cpu root stays "" and
 * FIXTURE_BPF_REQUIRE_ENV skips. Returns 0. */
static inline int fixture_bpf_setup(void **state, enum cg_pref pref, const char *tag)
{
	struct fixture_bpf *f = calloc(1, sizeof(*f));
	struct wl_err err = { "" };

	assert_non_null(f);
	*state = f;
	if (fixture_bpf_skip_reason())
		return 0;
	if (cg_layout_detect("/sys/fs/cgroup", pref, &f->layout, &err) < 0) {
		printf("# layout: %s\n", err.msg);
		f->layout.cpu_root[0] = '\0';
		return 0;
	}
	snprintf(f->base_rel, sizeof(f->base_rel), "/wattlet-%s-%d", tag, (int)getpid());
	return 0;
}

static inline int fixture_bpf_teardown(void **state)
{
	struct fixture_bpf *f = *state;

	for (int i = 0; i < f->nkids; i++) {
		kill(f->kids[i], SIGKILL);
		waitpid(f->kids[i], NULL, 0);
	}
	if (f->src)
		usage_bpf_ops->close(f->src);
	for (int i = f->ndirs - 1; i >= 0; i--)
		rmdir(f->dirs[i]);
	if (f->online[0])
		unlink(f->online);
	free(f);
	return 0;
}

/* Skips the test (with why) unless the environment allows it. */
#define FIXTURE_BPF_REQUIRE_ENV(f)                                                       \
	do {                                                                             \
		const char *why_ = fixture_bpf_skip_reason();                            \
		if (!why_ && !(f)->layout.cpu_root[0])                                   \
			why_ = "no usable cgroup layout";                                \
		if (why_) {                                                              \
			printf("# skipped: %s\n", why_);                                 \
			skip();                                                          \
		}                                                                        \
	} while (0)

/* Creates cgroup <cpu root><rel> (removed in teardown); its absolute path into abs_out
 * (PATH_MAX bytes) when not NULL. */
static inline void fixture_bpf_mk_cg(struct fixture_bpf *f, const char *rel, char *abs_out)
{
	char p[PATH_MAX];

	assert_int_equal(fmt_path(p, sizeof(p), "%s%s", f->layout.cpu_root, rel), 0);
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
	assert_true(f->ndirs < FIXTURE_BPF_MAX_DIRS);
	snprintf(f->dirs[f->ndirs++], PATH_MAX, "%s", p);
	if (abs_out)
		snprintf(abs_out, PATH_MAX, "%s", p);
}

/* The inode number of abs (a cgroup's id). */
static inline uint64_t fixture_bpf_inode(const char *abs)
{
	struct stat st;

	assert_int_equal(stat(abs, &st), 0);
	return (uint64_t)st.st_ino;
}

/* Creates cgroup <base_rel>/<name> (below the test's own, which must exist; removed in
 * teardown): its path relative to the cpu root into rel (rel_size bytes), its absolute
 * path into abs (PATH_MAX bytes). Returns its id (inode number). */
static inline uint64_t fixture_bpf_mk_child(struct fixture_bpf *f, const char *name, char *rel,
					    size_t rel_size, char *abs)
{
	snprintf(rel, rel_size, "%s/%s", f->base_rel, name);
	fixture_bpf_mk_cg(f, rel, abs);
	return fixture_bpf_inode(abs);
}

/* Forks a child that joins cgroup dir abs. Returns 0 in the child (which is in the
 * cgroup and must end with _exit; it exits 3 or 4 itself where joining fails), and the
 * child's pid in the parent once the child is in the cgroup (killed in teardown). */
static inline pid_t fixture_bpf_fork(struct fixture_bpf *f, const char *abs)
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

		close(pfd[0]);
		snprintf(p, sizeof(p), "%s/cgroup.procs", abs);
		fp = fopen(p, "w");
		if (!fp || fprintf(fp, "%d\n", (int)getpid()) < 0 || fclose(fp) != 0)
			_exit(3);
		if (write(pfd[1], "x", 1) != 1)
			_exit(4);
		close(pfd[1]);
		return 0;
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1); /* child is in its cgroup */
	close(pfd[0]);
	assert_true(f->nkids < FIXTURE_BPF_MAX_KIDS);
	f->kids[f->nkids++] = pid;
	return pid;
}

/* One read of the source f->src. */
struct fixture_bpf_snap {
	const struct usage_entry *e;
	size_t n;
	uint32_t mask;
	uint64_t dropped, vanished;
};

static inline void fixture_bpf_read(struct fixture_bpf *f, struct fixture_bpf_snap *s)
{
	assert_int_equal(usage_bpf_ops->read(f->src, &s->e, &s->n, &s->mask, &s->dropped,
					     &s->vanished),
			 0);
}

/* The entry of s for cgroup id, NULL when none is. */
static inline const struct usage_entry *fixture_bpf_find(const struct fixture_bpf_snap *s,
							 uint64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->e[i].id == id)
			return &s->e[i];
	return NULL;
}

/* The cgroup rel's own CPU counter (cpuacct.usage / cpu.stat usage_usec), in ns. */
static inline uint64_t fixture_bpf_cg_cpu(struct fixture_bpf *f, const char *rel)
{
	uint64_t ns = 0;

	assert_int_equal(cg_read_cpu_ns(&f->layout, rel, &ns), 0);
	return ns;
}

/* A cgroup counter read before (lo) and after (hi) one usage read. The read takes its
 * totals at one instant inside (its clock reading, before the walk and the removed-cgroup
 * bookkeeping), so lo <= that sample <= hi: comparing with a counter read only after
 * the read would add the time busy tasks ran during the rest of it (under load and
 * cgroup churn, tens to hundreds of ms, different for the two reads). */
struct fixture_bpf_bracket {
	uint64_t lo, hi;
};

/* got (a delta between two usage reads) against the cgroup counter's delta over the same
 * interval, which lies between lo = b1.lo - b0.hi and hi = b1.hi - b0.lo: within rel of
 * that range. The range must be narrow (slack at most a quarter of the delta: a read that
 * slow is itself a bug), so the check stays as strict as the window allows. */
static inline void fixture_bpf_assert_bracketed(uint64_t got, struct fixture_bpf_bracket b0,
						struct fixture_bpf_bracket b1, double rel,
						const char *what)
{
	uint64_t lo = b1.lo - b0.hi, hi = b1.hi - b0.lo;

	printf("# %-30s %10.3f ms  cgroup CPU %10.3f .. %10.3f ms  diff %+.3f%% .. %+.3f%%\n",
	       what, got / 1e6, lo / 1e6, hi / 1e6,
	       hi ? 100.0 * ((double)got - (double)hi) / (double)hi : 0.0,
	       lo ? 100.0 * ((double)got - (double)lo) / (double)lo : 0.0);
	assert_true(b0.hi >= b0.lo && b1.lo >= b0.hi && b1.hi >= b1.lo);
	assert_true(4 * (hi - lo) <= lo);
	assert_true((double)got >= (double)lo * (1.0 - rel));
	assert_true((double)got <= (double)hi * (1.0 + rel));
}

#endif
