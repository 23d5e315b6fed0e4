/* cgroup.c - cgroup layout discovery, directory walk and CPU time counters. */
#include "../common/caps.h"
#include "../common/nametab.h"
#include "cgroup.h"
#include "dirlist.h"

#include <dirent.h>
#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CG_DEFAULT_ROOT "/sys/fs/cgroup"
#define CG_STAT_BUF 1024

/* v1 directory names under which a cpuacct hierarchy is mounted, in order of
 * preference. "cpu" comes last: it is a cpuacct hierarchy only when co-mounted
 * (or a symlink to the co-mounted directory), which the cpuacct.usage check decides. */
static const char *const v1_cpuacct_dirs[] = { "cpuacct", "cpu,cpuacct", "cpuacct,cpu", "cpu" };

const char *cg_mode_name(enum cg_mode m)
{
	static const char *const names[] = {
		[CG_MODE_V1] = "v1", [CG_MODE_V2] = "v2", [CG_MODE_HYBRID] = "hybrid"
	};
	return nametab_name(names, NAMETAB_LEN(names), m, "unknown");
}

static bool dir_has_file(const char *dir, const char *file)
{
	char p[PATH_MAX];
	struct stat st;

	if (path_join(p, sizeof(p), dir, file))
		return false;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Finds the v1 cpuacct hierarchy under root; fills out (PATH_MAX) or returns false. */
static bool find_v1_cpuacct(const char *root, char *out)
{
	for (size_t i = 0; i < sizeof(v1_cpuacct_dirs) / sizeof(v1_cpuacct_dirs[0]); i++) {
		char p[PATH_MAX];
		if (path_join(p, sizeof(p), root, v1_cpuacct_dirs[i]))
			continue;
		if (is_dir(p) && dir_has_file(p, "cpuacct.usage")) {
			memcpy(out, p, strlen(p) + 1);
			return true;
		}
	}
	return false;
}

int cg_layout_detect(const char *root, enum cg_pref pref, struct cg_layout *out,
		     struct wl_err *err)
{
	char unified[PATH_MAX], v1[PATH_MAX];
	bool v2_root, has_unified, has_v1;
	size_t rl;

	if (!out)
		return err_set(err, EINVAL, "cgroup layout: no output given");
	memset(out, 0, sizeof(*out));
	if (!root || !*root)
		root = CG_DEFAULT_ROOT;
	rl = strlen(root);
	if (rl >= sizeof(out->root))
		return err_set(err, ENAMETOOLONG, "cgroup root path too long");
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	memcpy(out->root, root, rl);
	out->root[rl] = '\0';

	if (!is_dir(out->root))
		return err_set(err, ENOENT, "cgroup root %s is not a directory", out->root);

	v2_root = dir_has_file(out->root, "cgroup.controllers");
	has_unified = false;
	if (!v2_root && path_join(unified, sizeof(unified), out->root, "unified") == 0)
		has_unified = dir_has_file(unified, "cgroup.controllers");
	has_v1 = !v2_root && find_v1_cpuacct(out->root, v1);

	if (v2_root) {
		out->mode = CG_MODE_V2;
		memcpy(out->unified_root, out->root, rl + 1);
	} else if (has_unified) {
		/* Hybrid. Without a v1 cpuacct hierarchy (unusual) CPU time can only come
		 * from cgroup2's cpu.stat, which exists in every v2 cgroup. */
		out->mode = CG_MODE_HYBRID;
		memcpy(out->unified_root, unified, strlen(unified) + 1);
	} else if (has_v1) {
		out->mode = CG_MODE_V1;
	} else {
		return err_set(err, ENOENT,
			       "no cgroup hierarchy under %s: looked for cgroup.controllers "
			       "(v2), unified/cgroup.controllers (hybrid), and cpuacct.usage "
			       "in cpuacct/, cpu,cpuacct/, cpuacct,cpu/ or cpu/ (v1)",
			       out->root);
	}

	switch (pref) {
	case CG_PREF_V2:
		if (!out->unified_root[0])
			return err_set(err, ENOENT,
				       "cgroup v2 requested but %s is pure v1: no "
				       "cgroup.controllers in %s or %s/unified",
				       out->root, out->root, out->root);
		out->cpu_is_v2 = true;
		break;
	case CG_PREF_V1:
		if (!has_v1)
			return err_set(err, ENOENT,
				       "cgroup v1 requested but no cpuacct hierarchy (a "
				       "directory with cpuacct.usage: cpuacct, cpu,cpuacct, "
				       "cpuacct,cpu) under %s",
				       out->root);
		out->cpu_is_v2 = false;
		break;
	case CG_PREF_AUTO:
	default:
		out->cpu_is_v2 = (out->mode == CG_MODE_V2) || !has_v1;
		break;
	}
	if (out->cpu_is_v2)
		memcpy(out->cpu_root, out->unified_root, strlen(out->unified_root) + 1);
	else
		memcpy(out->cpu_root, v1, strlen(v1) + 1);
	return 0;
}

/* --- walk -------------------------------------------------------------------------
 *
 * Speed matters (every cgroup, every tick), and on a VM each syscall costs ~1-2 us, so
 * the walk uses raw getdents64 into one buffer instead of DIR streams (fdopendir
 * adds an fstat and fcntls per directory), and takes ids from d_ino (the inode number
 * kernfs, tmpfs and ext4 report there) instead of an fstat per cgroup. Per cgroup:
 * openat + getdents64 x2 + close. The names of a directory's subdirectories are kept
 * on a stack-like arena (dirlist.h, shared with usage_cgroup.c) until all of them are
 * visited.
 */

struct walk_level {
	int fd;
	size_t start;   /* arena offset of this directory's first subdirectory record */
	size_t pos;     /* next record to visit */
	size_t end;
	size_t rel_len; /* length of this directory's relpath ("" for the root) */
};

int cg_walk_at(const struct cg_layout *l, const char *hier_root, unsigned max_depth,
	       cg_visit_at_fn fn, void *ctx, uint64_t *vanished)
{
	struct walk_level st[CG_WALK_MAX_DEPTH];
	struct cg_dirlist a = { NULL, 0, 0 };
	char rel[PATH_MAX];
	char *dents = NULL;
	struct stat sb;
	int top = -1, fd, ret = 0;

	if (!fn || (!l && !hier_root))
		return -EINVAL;
	if (!hier_root)
		hier_root = l->cpu_root;
	if (max_depth > CG_WALK_MAX_DEPTH - 1)
		max_depth = CG_WALK_MAX_DEPTH - 1;

	fd = open(hier_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = fn(fd, "/", (uint64_t)sb.st_ino, 0, ctx);
	if (ret || max_depth == 0) {
		close(fd);
		return ret;
	}
	dents = malloc(CG_DIRLIST_DENTS);
	if (!dents) {
		close(fd);
		return -ENOMEM;
	}
	ret = cg_dirlist_read(&a, fd, dents);
	if (ret) {
		close(fd);
		goto cleanup;
	}
	st[++top] = (struct walk_level){ fd, 0, 0, a.top, 0 };

	while (top >= 0) {
		struct walk_level *lv = &st[top];
		uint64_t ino;
		uint16_t nl;
		const char *name;
		size_t base;
		int cfd;

		if (lv->pos >= lv->end) {
			close(lv->fd);
			a.top = lv->start;
			top--;
			continue;
		}
		name = cg_dirlist_next(&a, &lv->pos, &ino, &nl);

		cfd = openat(lv->fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (cfd < 0) {
			if (errno == ENOENT && vanished)
				(*vanished)++;
			continue; /* vanished, not a directory, or not ours to read */
		}
		base = lv->rel_len;
		if (base + 1 + nl >= sizeof(rel)) {
			close(cfd);
			continue;
		}
		rel[base] = '/';
		memcpy(rel + base + 1, name, (size_t)nl + 1);
		ret = fn(cfd, rel, ino, (unsigned)top + 1, ctx);
		if (ret) {
			close(cfd);
			goto cleanup;
		}
		if ((unsigned)top + 1 < max_depth) {
			size_t start = a.top;
			int r = cg_dirlist_read(&a, cfd, dents); /* may move a.buf; lv stays valid */
			if (r) {
				if (r == -ENOENT && vanished)
					(*vanished)++;
				a.top = start;
				close(cfd);
				if (r == -ENOMEM) {
					ret = r;
					goto cleanup;
				}
				continue;
			}
			st[top + 1] =
				(struct walk_level){ cfd, start, start, a.top, base + 1 + nl };
			top++;
		} else {
			close(cfd);
		}
	}
cleanup:
	while (top >= 0)
		close(st[top--].fd);
	free(dents);
	free(a.buf);
	return ret;
}

struct walk_adapter {
	cg_visit_fn fn;
	void *ctx;
};

static int walk_adapt(int dirfd, const char *relpath, uint64_t id, unsigned depth, void *ctx)
{
	struct walk_adapter *a = ctx;
	(void)dirfd;
	(void)depth;
	return a->fn(relpath, id, a->ctx);
}

int cg_walk(const struct cg_layout *l, const char *hier_root, unsigned max_depth,
	    cg_visit_fn fn, void *ctx)
{
	struct walk_adapter a = { fn, ctx };
	if (!fn)
		return -EINVAL;
	return cg_walk_at(l, hier_root, max_depth, walk_adapt, &a, NULL);
}

/* --- CPU time ------------------------------------------------------------------- */

/* Strict decimal of exactly [s, e): digits only. */
static int parse_dec(const char *s, const char *e, uint64_t *out)
{
	uint64_t v = 0;
	if (s == e)
		return -EINVAL;
	for (; s < e; s++) {
		unsigned dgt;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		dgt = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - dgt) / 10)
			return -ERANGE;
		v = v * 10 + dgt;
	}
	*out = v;
	return 0;
}

int cg_parse_cpu_ns(bool v2, const char *text, uint64_t *ns)
{
	static const char key[] = "usage_usec";
	const size_t kl = sizeof(key) - 1;
	const char *p = text;

	if (!text || !ns)
		return -EINVAL;
	if (!v2)
		return parse_u64(text, ns);

	while (*p) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if ((size_t)(eol - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == ' ') {
			const char *v = p + kl + 1, *ve = eol;
			uint64_t usec;
			int r;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\r'))
				ve--;
			r = parse_dec(v, ve, &usec);
			if (r)
				return r;
			if (usec > UINT64_MAX / 1000)
				return -ERANGE;
			*ns = usec * 1000;
			return 0;
		}
		p = *eol ? eol + 1 : eol;
	}
	return -EINVAL; /* no usage_usec line */
}

static int read_fd_text(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	for (;;) {
		size_t want = cap - 1 - got;
		ssize_t n = read(fd, buf + got, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == cap - 1)
			return -EINVAL; /* far larger than any real counter file */
		/* cgroup files are seq_files: a short read that ends a line is the whole
		 * file, which saves the read() that would return 0 */
		if ((size_t)n < want && buf[got - 1] == '\n')
			break;
	}
	buf[got] = '\0';
	return 0;
}

static int vanish_errno(int e)
{
	return (e == -ENOENT || e == -ENODEV) ? -ENOENT : e;
}

int cg_read_cpu_ns_at(const struct cg_layout *l, int dirfd, uint64_t *ns)
{
	char buf[CG_STAT_BUF];
	int fd, r;

	if (!l || dirfd < 0 || !ns)
		return -EINVAL;
	fd = openat(dirfd, l->cpu_is_v2 ? "cpu.stat" : "cpuacct.usage", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vanish_errno(-errno);
	r = read_fd_text(fd, buf, sizeof(buf));
	close(fd);
	if (r)
		return vanish_errno(r);
	return cg_parse_cpu_ns(l->cpu_is_v2, buf, ns);
}

int cg_read_cpu_ns(const struct cg_layout *l, const char *relpath, uint64_t *ns)
{
	char dir[PATH_MAX];
	int fd, r;

	if (!l || !relpath || !ns)
		return -EINVAL;
	r = path_join(dir, sizeof(dir), l->cpu_root, relpath);
	if (r)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return vanish_errno(-errno);
	r = cg_read_cpu_ns_at(l, fd, ns);
	close(fd);
	return r;
}
