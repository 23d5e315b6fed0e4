/* usage_cgroup.c - the cgroup usage source: CPU time from v2 cpu.stat / v1 cpuacct.usage.
 *
 * Each read walks the CPU hierarchy (pre-order, by directory fd) and reads the
 * cgroups' hierarchical CPU counters. For each cgroup c:
 *   dh(c)   = total_now(c) - total_prev(c)          (hierarchical delta)
 *   excl(c) = max(0, dh(c) - sum of dh(children of c seen in this read))
 * Subtracting deltas (not totals) means a child that disappears needs no correction:
 * what it ran in its last partial interval stays in its parent's hierarchical
 * counter and is reported as the parent's (v1 cpuacct and v2 rstat both keep a
 * removed child's time in the parent), and nothing is counted twice.
 *
 * Unchanged subtrees are not read. Both counters are hierarchical and only grow, so
 * a cgroup whose counter did not move since the previous read has descendants whose
 * counters did not move either: its subtree is carried over from the previous read
 * (same ids, paths, zero deltas) without listing a directory or reading a file.
 * This is done only when the previous read was complete (below), and every
 * USAGE_CGROUP_FULL_EVERY-th read walks everything: a cgroup created with no CPU
 * time, or removed, below a parent that stays idle is seen there at the latest.
 * A cgroup first seen later than it was created (it sat below an idle parent) still
 * gets its whole counter as its first delta: its counter was 0 at mkdir and could
 * not move while its parent's did not, so all of it was spent since the last read.
 *
 * Files kept open. The counter file of each tracked cgroup stays open between
 * reads and is read again with one pread() at offset 0 (cgroup files are
 * seq_files, regenerated for every read from offset 0). A cgroup removed while we
 * hold its file answers ENODEV and counts as gone; one removed and re-created under
 * the same name has a new directory inode, so the listing does not match the old
 * track (ids are compared, not only names) and the new one is opened afresh. At most
 * fd_cap files are kept: by default half the soft RLIMIT_NOFILE (the HTTP server
 * takes at most a quarter, meters, checkpoints and the API clients the rest) and
 * never more than max_cgroups; cgroups beyond it are opened, read and closed at
 * every read, as are all of them on a tree that is not a cgroup filesystem (a file
 * there can be replaced or unlinked under an open descriptor without notice). If
 * an open fails with EMFILE/ENFILE anyway, the cap drops for good to half the files
 * held, the others are closed at once and the open is tried again. Counter files
 * are opened O_NONBLOCK and must be regular files (a FIFO planted in a fixture or a
 * bind mount cannot stall a read).
 *
 * New cgroups. The kernel starts a cgroup's counter at 0 at mkdir. A cgroup absent
 * from the previous read, when that read was complete (every cgroup it listed was
 * read and tracked), was therefore created after it, and its whole counter was
 * spent in this interval: its first delta is its total. When the previous read was
 * not complete (max_cgroups overflow, an unreadable counter), a first-seen cgroup
 * may be an old one we failed to track; its first delta is then 0.
 *
 * Never a wrong number. When a cgroup's own delta is unknown (unreadable counter,
 * first seen without a complete baseline, or a counter that went backwards: a v1
 * counter reset, or a different cgroup), that cgroup is not reported and neither is
 * its parent for this read (the parent's hierarchical delta holds time we cannot take
 * out). That time stays unplaced for the caller (node total minus entries), rather
 * than being given to someone.
 *
 * Bounds. At most max_cgroups are tracked per read, in walk order; each one beyond
 * that adds 1 to `dropped` per read, and its time is reported in its nearest tracked
 * ancestor (same for cgroups below max_depth). `vanished` counts cgroups listed by
 * the walk that disappeared before their directory or counter could be read.
 * Cost per read: one pread per cgroup below a parent whose counter moved, plus one
 * directory listing (open, getdents, close) per cgroup whose own counter moved;
 * nothing for the rest; every USAGE_CGROUP_FULL_EVERY-th read, one pread and one
 * listing per cgroup (plus an open and close each above fd_cap). File descriptors: fd_cap + 1 (the root) + at most max_depth
 * directories open during a read.
 *
 * Memory: two track arrays (current and previous read) and the entry array grow by
 * doubling up to max_cgroups and are then reused; an open-addressing hash of the
 * previous read's ids is rebuilt after every read. Path strings are allocated once
 * per cgroup and move from the previous array to the current one, as do open files.
 */
#include "usage_impl.h"

#include "../cgroup/dirlist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#define DEF_MAX_CGROUPS 16384
#define DEF_MAX_DEPTH 16
#define HARD_MAX_CGROUPS (1u << 24)
#define INIT_CAP 256
#define COUNTER_BUF 1024
#define MAGIC_CGROUP1 0x27e0ebL
#define MAGIC_CGROUP2 0x63677270L

struct track {
	uint64_t id;
	uint64_t total; /* hierarchical counter at this read, ns */
	uint64_t dh;    /* hierarchical delta this read */
	uint64_t sub;   /* sum of tracked children's dh */
	char *path;
	int32_t parent; /* index in the same array, -1 none */
	uint32_t end;   /* index past its last descendant (previous read's array) */
	int fd;         /* counter file kept open, or -1 */
	bool withhold;  /* not reported this read */
	bool unknown;   /* own delta unknown this read */
};

struct level {
	int fd;         /* this directory, open while its children are visited */
	size_t start;   /* arena offset of its first child record */
	size_t pos;     /* next record */
	size_t end;
	size_t rel_len; /* length of its relpath ("" for the root) */
	int32_t idx;    /* its track in cur, -1 untracked */
};

struct cgsrc {
	const struct cg_layout *layout;
	unsigned max_cgroups, max_depth;
	const char *counter_name;
	bool v2;
	int root_fd;
	uint64_t root_id;

	struct track *cur, *prev;
	size_t n_cur, n_prev, cap;
	struct usage_entry *entries;
	size_t n_entries;

	uint32_t *hash; /* indexes into prev + 1; 0 = empty */
	size_t hash_size;

	bool have_prev;     /* a previous read exists */
	bool prev_complete; /* it tracked and read everything it listed */
	uint64_t seq;       /* reads done */

	unsigned fd_cap, n_kept;

	char *dents;
	struct cg_dirlist arena; /* directory listings (dirlist.h) */
	char rel[PATH_MAX];

	/* per read */
	bool full;
	struct usage_cgroup_stats st;
	uint64_t read_dropped, read_vanished, read_unreadable;

	uint64_t dropped, vanished;
};

static uint64_t hash_id(uint64_t id)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdull;
	id ^= id >> 33;
	return id;
}

static int32_t prev_lookup(const struct cgsrc *s, uint64_t id)
{
	size_t mask = s->hash_size - 1;
	if (!s->hash)
		return -1;
	for (size_t h = hash_id(id) & mask;; h = (h + 1) & mask) {
		uint32_t v = s->hash[h];
		if (v == 0)
			return -1;
		if (s->prev[v - 1].id == id)
			return (int32_t)(v - 1);
	}
}

static int rebuild_hash(struct cgsrc *s)
{
	size_t want = 16;
	while (want < 2 * s->cap)
		want <<= 1;
	if (want != s->hash_size) {
		uint32_t *h = calloc(want, sizeof(*h));
		if (!h)
			return -ENOMEM;
		free(s->hash);
		s->hash = h;
		s->hash_size = want;
	} else {
		memset(s->hash, 0, s->hash_size * sizeof(*s->hash));
	}
	for (size_t i = 0; i < s->n_prev; i++) {
		size_t mask = s->hash_size - 1, h = hash_id(s->prev[i].id) & mask;
		while (s->hash[h])
			h = (h + 1) & mask;
		s->hash[h] = (uint32_t)i + 1;
	}
	return 0;
}

static int grow(struct cgsrc *s)
{
	size_t nc = s->cap ? s->cap * 2 : INIT_CAP;
	struct track *a, *b;
	struct usage_entry *e;

	if (nc > s->max_cgroups)
		nc = s->max_cgroups;
	if (nc <= s->cap)
		return -ENOSPC;
	a = realloc(s->cur, nc * sizeof(*a));
	if (!a)
		return -ENOMEM;
	s->cur = a;
	b = realloc(s->prev, nc * sizeof(*b));
	if (!b)
		return -ENOMEM;
	s->prev = b;
	e = realloc(s->entries, nc * sizeof(*e));
	if (!e)
		return -ENOMEM;
	s->entries = e;
	s->cap = nc;
	return 0;
}

static void drop_fd(struct cgsrc *s, int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
		s->n_kept--;
	}
}

/* Frees the paths and closes the kept files of tracks not moved on. */
static void release(struct cgsrc *s, struct track *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].path);
		t[i].path = NULL;
		drop_fd(s, &t[i].fd);
	}
}

/* Out of descriptors: halve the cap and give back files at once, those of cgroups
 * already read this time first. True if some were given back (worth a retry). */
static bool shed_files(struct cgsrc *s, int e)
{
	unsigned had = s->n_kept;
	if (e != EMFILE && e != ENFILE)
		return false;
	s->fd_cap = s->n_kept / 2;
	for (size_t i = s->n_cur; i-- > 0 && s->n_kept > s->fd_cap;)
		drop_fd(s, &s->cur[i].fd);
	for (size_t i = s->n_prev; i-- > 0 && s->n_kept > s->fd_cap;)
		drop_fd(s, &s->prev[i].fd);
	s->st.shed += had - s->n_kept;
	return s->n_kept < had;
}

/* The counter of an open counter file; -ENOENT if its cgroup is gone. */
static int read_counter(struct cgsrc *s, int fd, uint64_t *ns)
{
	char buf[COUNTER_BUF];
	ssize_t n;

	s->st.counter_reads++;
	do {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == ENOENT || errno == ENODEV) ? -ENOENT : -errno;
	if ((size_t)n == sizeof(buf) - 1)
		return -EINVAL; /* far larger than any real counter file */
	buf[n] = '\0';
	return cg_parse_cpu_ns(s->v2, buf, ns);
}

/* Opens dirfd's counter file: non-blocking, no links, a regular file. */
static int open_counter(struct cgsrc *s, int dirfd, int *out)
{
	struct stat sb;
	int fd;

	s->st.opens++;
	fd = openat(dirfd, s->counter_name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && shed_files(s, errno))
		fd = openat(dirfd, s->counter_name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return (e == ENOENT || e == ENODEV) ? -ENOENT : -e;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*out = fd;
	return 0;
}

/* Opens a child directory of pdirfd. -ENOENT if it vanished, other -errno if it is
 * not a directory we can read (skipped silently, as the walk always did). */
static int open_dir(struct cgsrc *s, int pdirfd, const char *name, int *out)
{
	int fd;
	s->st.opens++;
	fd = openat(pdirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && shed_files(s, errno))
		fd = openat(pdirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		return (e == ENOENT || e == ENODEV) ? -ENOENT : -e;
	}
	*out = fd;
	return 0;
}

/* Appends fd's subdirectories to the arena. 0, or -errno (-ENOENT: it vanished). */
static int list_subdirs(struct cgsrc *s, int fd)
{
	s->st.dir_lists++;
	return cg_dirlist_read(&s->arena, fd, s->dents);
}

static void withhold_parent(struct cgsrc *s, int32_t parent)
{
	if (parent >= 0)
		s->cur[parent].withhold = true;
}

/* Carries prev[pi]'s descendants over to cur below cur[ti], unread, delta 0. */
static int carry_subtree(struct cgsrc *s, int32_t pi, int32_t ti)
{
	uint32_t end = s->prev[pi].end;
	for (uint32_t j = (uint32_t)pi + 1; j < end; j++) {
		struct track *src, *d;
		if (s->n_cur == s->cap) {
			int r = grow(s);
			if (r == -ENOSPC) {
				s->read_dropped += end - j;
				return 0;
			}
			if (r)
				return r;
		}
		src = &s->prev[j];
		d = &s->cur[s->n_cur];
		*d = *src;
		d->dh = d->sub = 0;
		d->withhold = d->unknown = false;
		d->parent = src->parent - pi + ti; /* pre-order: the subtree is contiguous */
		src->path = NULL;
		src->fd = -1;
		s->n_cur++;
		s->st.skipped++;
	}
	return 0;
}

/* Visits one cgroup: name below the directory pdirfd (name NULL: the root), at
 * s->rel. Sets *idx to its track (-1 none) and *dirfd to an open directory to list
 * when the walk goes below it (-1 not). 0 or a fatal -errno. */
static int visit(struct cgsrc *s, int pdirfd, const char *name, uint64_t id, unsigned depth,
		 int32_t parent, int32_t *idx, int *dirfd)
{
	struct track *t;
	uint64_t total = 0;
	int32_t pi;
	int cfd = -1, fd = -1, r;
	bool tracked = false;

	*idx = -1;
	*dirfd = -1;
	if (s->n_cur == s->cap) {
		r = grow(s);
		if (r == -ENOSPC) {
			s->read_dropped++;
			goto below;
		}
		if (r)
			return r;
	}
	pi = prev_lookup(s, id);
	if (pi >= 0 && (!s->prev[pi].path || strcmp(s->prev[pi].path, s->rel) != 0))
		pi = -1; /* same inode, other name: treated as a different cgroup */

	if (pi >= 0 && s->prev[pi].fd >= 0) {
		fd = s->prev[pi].fd; /* moves with the track; closed here if it fails */
		s->prev[pi].fd = -1;
		r = read_counter(s, fd, &total);
		if (r)
			drop_fd(s, &fd);
	} else {
		r = name ? open_dir(s, pdirfd, name, &cfd) : open_dir(s, s->root_fd, ".", &cfd);
		if (r == -ENOENT) {
			s->read_vanished++;
			return 0;
		}
		if (r) {
			s->read_unreadable += (r == -EMFILE || r == -ENFILE);
			if (r == -EMFILE || r == -ENFILE)
				withhold_parent(s, parent);
			return 0; /* not a directory, or not ours to read */
		}
		r = open_counter(s, cfd, &fd);
		if (!r) {
			r = read_counter(s, fd, &total);
			if (!r && s->n_kept < s->fd_cap) {
				s->n_kept++;
			} else {
				close(fd);
				fd = -1;
			}
		}
	}
	if (r == -ENOENT) {
		s->read_vanished++;
		if (cfd >= 0)
			close(cfd);
		return 0;
	}
	if (r) {
		/* garbage or unreadable: skip it; its parent's exclusive is unknown */
		s->read_unreadable++;
		withhold_parent(s, parent);
		goto below;
	}

	t = &s->cur[s->n_cur];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->total = total;
	t->parent = parent;
	t->fd = fd;
	if (pi >= 0) {
		struct track *p = &s->prev[pi];
		t->path = p->path;
		p->path = NULL;
		if (total >= p->total)
			t->dh = total - p->total;
		else
			t->unknown = true; /* went backwards: a reset, or another cgroup */
	} else {
		t->path = strdup(s->rel);
		if (!t->path) {
			drop_fd(s, &t->fd);
			if (cfd >= 0)
				close(cfd);
			return -ENOMEM;
		}
		if (!s->have_prev)
			t->dh = 0; /* baseline read */
		else if (s->prev_complete)
			t->dh = total; /* created since the previous read: all of it is new */
		else
			t->unknown = true;
	}
	if (t->unknown) {
		t->withhold = true;
		withhold_parent(s, parent);
	}
	*idx = (int32_t)s->n_cur;
	s->n_cur++;
	tracked = true;

	if (depth < s->max_depth && !s->full && pi >= 0 && !t->unknown && t->dh == 0) {
		if (cfd >= 0)
			close(cfd);
		return carry_subtree(s, pi, *idx);
	}
below:
	if (depth >= s->max_depth) {
		if (cfd >= 0)
			close(cfd);
		return 0;
	}
	if (cfd < 0) {
		r = name ? open_dir(s, pdirfd, name, &cfd) : open_dir(s, s->root_fd, ".", &cfd);
		if (r) {
			if (r == -ENOENT)
				s->read_vanished++;
			else if (tracked && (r == -EMFILE || r == -ENFILE))
				s->read_unreadable++; /* its children were not listed */
			return 0;
		}
	}
	*dirfd = cfd;
	return 0;
}

/* Lists dirfd (taking it) and pushes it as level top + 1. 0 or a fatal -errno. */
static int push(struct cgsrc *s, struct level *st, int *top, int dirfd, size_t rel_len,
		int32_t idx)
{
	size_t start = s->arena.top;
	int r = list_subdirs(s, dirfd);
	if (r) {
		s->arena.top = start;
		close(dirfd);
		if (r == -ENOENT)
			s->read_vanished++;
		return r == -ENOMEM ? r : 0;
	}
	(*top)++;
	st[*top] = (struct level){ dirfd, start, start, s->arena.top, rel_len, idx };
	return 0;
}

static int walk(struct cgsrc *s)
{
	struct level st[CG_WALK_MAX_DEPTH];
	int top = -1, dirfd, ret;
	int32_t idx;

	s->arena.top = 0;
	strcpy(s->rel, "/");
	ret = visit(s, -1, NULL, s->root_id, 0, -1, &idx, &dirfd);
	if (ret || dirfd < 0)
		return ret;
	ret = push(s, st, &top, dirfd, 0, idx);

	while (!ret && top >= 0) {
		struct level *lv = &st[top];
		uint64_t ino;
		uint16_t nl;
		const char *name;
		size_t base;

		if (lv->pos >= lv->end) {
			close(lv->fd);
			s->arena.top = lv->start;
			top--;
			continue;
		}
		name = cg_dirlist_next(&s->arena, &lv->pos, &ino, &nl);

		base = lv->rel_len;
		if (base + 1 + nl >= sizeof(s->rel))
			continue;
		s->rel[base] = '/';
		memcpy(s->rel + base + 1, name, (size_t)nl + 1);
		ret = visit(s, lv->fd, name, ino, (unsigned)top + 1, lv->idx, &idx, &dirfd);
		if (!ret && dirfd >= 0)
			ret = push(s, st, &top, dirfd, base + 1 + nl, idx); /* may move the arena */
	}
	while (top >= 0)
		close(st[top--].fd);
	return ret;
}

static void reset_state(struct cgsrc *s)
{
	release(s, s->cur, s->n_cur);
	release(s, s->prev, s->n_prev);
	s->n_cur = s->n_prev = 0;
	s->have_prev = false;
	s->prev_complete = false;
	if (s->hash)
		memset(s->hash, 0, s->hash_size * sizeof(*s->hash));
}

/* end[i] for the (pre-order) previous read: past i's last descendant. */
static void mark_subtrees(struct cgsrc *s)
{
	for (size_t i = 0; i < s->n_prev; i++)
		s->prev[i].end = (uint32_t)i + 1;
	for (size_t i = s->n_prev; i-- > 1;) {
		int32_t p = s->prev[i].parent;
		if (p >= 0 && s->prev[p].end < s->prev[i].end)
			s->prev[p].end = s->prev[i].end;
	}
}

static int cgsrc_read(void *state, const struct usage_entry **entries, size_t *n,
		      uint32_t *feature_mask, uint64_t *dropped, uint64_t *vanished)
{
	struct cgsrc *s = state;
	struct track *tmp;
	int r;

	s->n_cur = 0;
	s->read_dropped = s->read_vanished = s->read_unreadable = 0;
	memset(&s->st, 0, sizeof(s->st));
	s->full = !s->have_prev || !s->prev_complete || s->seq % USAGE_CGROUP_FULL_EVERY == 0;
	s->seq++;

	r = walk(s);
	if (r) {
		/* the moved paths and files are split between the arrays: start over */
		reset_state(s);
		return r;
	}

	for (size_t i = 0; i < s->n_cur; i++) {
		struct track *t = &s->cur[i];
		if (t->parent >= 0 && !t->unknown)
			s->cur[t->parent].sub += t->dh;
	}
	s->n_entries = 0;
	for (size_t i = 0; i < s->n_cur; i++) {
		struct track *t = &s->cur[i];
		struct usage_entry *e;
		if (t->withhold)
			continue;
		e = &s->entries[s->n_entries++];
		memset(e, 0, sizeof(*e));
		e->id = t->id;
		e->path = t->path;
		e->delta[FEAT_CPU_TIME] = t->dh > t->sub ? t->dh - t->sub : 0;
	}

	/* cgroups of the previous read not seen now are gone: free their paths, files */
	release(s, s->prev, s->n_prev);
	tmp = s->prev;
	s->prev = s->cur;
	s->n_prev = s->n_cur;
	s->cur = tmp;
	s->n_cur = 0;
	mark_subtrees(s);
	r = rebuild_hash(s);
	if (r) {
		reset_state(s);
		return r;
	}
	s->have_prev = true;
	s->prev_complete = s->read_dropped == 0 && s->read_unreadable == 0;
	s->dropped += s->read_dropped;
	s->vanished += s->read_vanished;
	s->st.full = s->full;
	s->st.fds_kept = s->n_kept;
	s->st.fd_cap = s->fd_cap;

	*entries = s->entries;
	*n = s->n_entries;
	*feature_mask = 1u << FEAT_CPU_TIME;
	*dropped = s->dropped;
	*vanished = s->vanished;
	return 0;
}

void usage_cgroup_stats(const void *state, struct usage_cgroup_stats *out)
{
	const struct cgsrc *s = state;
	*out = s->st;
}

static void cgsrc_close(void *state)
{
	struct cgsrc *s = state;
	if (!s)
		return;
	release(s, s->cur, s->n_cur);
	release(s, s->prev, s->n_prev);
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s->cur);
	free(s->prev);
	free(s->entries);
	free(s->hash);
	free(s->dents);
	free(s->arena.buf);
	free(s);
}

/* How many counter files may stay open (see the top of this file). */
static unsigned pick_fd_cap(const struct usage_opts *opts, int root_fd, unsigned max_cgroups)
{
	struct statfs sf;
	struct rlimit rl;
	uint64_t cap;

	if (opts->cgroup_max_open < 0)
		return 0;
	if (opts->cgroup_max_open > 0) {
		cap = (uint64_t)opts->cgroup_max_open;
	} else {
		if (fstatfs(root_fd, &sf) < 0 ||
		    ((long)sf.f_type != MAGIC_CGROUP1 && (long)sf.f_type != MAGIC_CGROUP2))
			return 0;
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
			return 0;
		cap = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur / 2;
	}
	return cap < max_cgroups ? (unsigned)cap : max_cgroups;
}

static void *cgsrc_open(const struct usage_opts *opts, struct usage_probe *probe,
			struct wl_err *err)
{
	struct cgsrc *s;
	struct stat sb;
	uint64_t ns;
	int r;

	if (!opts || !opts->layout) {
		err_set(err, EINVAL, "cgroup usage source: no cgroup layout given");
		return NULL;
	}
	r = cg_read_cpu_ns(opts->layout, "/", &ns);
	if (r) {
		err_set(err, -r, "cgroup usage source: cannot read the CPU counter (%s) of %s: %s",
			opts->layout->cpu_is_v2 ? "cpu.stat usage_usec" : "cpuacct.usage",
			opts->layout->cpu_root, strerror(-r));
		return NULL;
	}
	s = wl_zalloc(sizeof(*s), "cgroup usage source", err);
	if (!s)
		return NULL;
	s->root_fd = open(opts->layout->cpu_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0 || fstat(s->root_fd, &sb) < 0) {
		err_set(err, errno, "cgroup usage source: cannot open %s: %s",
			opts->layout->cpu_root, strerror(errno));
		goto fail;
	}
	s->dents = malloc(CG_DIRLIST_DENTS);
	if (!s->dents) {
		err_set(err, ENOMEM, "cgroup usage source: out of memory");
		goto fail;
	}
	s->root_id = (uint64_t)sb.st_ino;
	s->layout = opts->layout;
	s->v2 = opts->layout->cpu_is_v2;
	s->counter_name = s->v2 ? "cpu.stat" : "cpuacct.usage";
	s->max_cgroups = opts->max_cgroups ? opts->max_cgroups : DEF_MAX_CGROUPS;
	if (s->max_cgroups > HARD_MAX_CGROUPS)
		s->max_cgroups = HARD_MAX_CGROUPS;
	s->max_depth = opts->max_depth ? opts->max_depth : DEF_MAX_DEPTH;
	if (s->max_depth > CG_WALK_MAX_DEPTH - 1)
		s->max_depth = CG_WALK_MAX_DEPTH - 1;
	s->fd_cap = pick_fd_cap(opts, s->root_fd, s->max_cgroups);
	if (probe) {
		probe->pmu_ok = false;
		snprintf(probe->pmu_reason, sizeof(probe->pmu_reason),
			 "hardware counters need the eBPF source (the cgroup source measures CPU "
			 "time only)");
		probe->task_clock_ok = false;
		snprintf(probe->task_clock_reason, sizeof(probe->task_clock_reason), "%s",
			 (opts->counter_features & (1u << FEAT_TASK_CLOCK))
				 ? "task_clock: needs the eBPF source; zones configured with "
				   "it use cpu_time"
				 : "task_clock: not opened (no zone is configured with it)");
		/* a walk only sees cgroups alive at a read */
		probe->removed_ok = false;
		snprintf(probe->removed_reason, sizeof(probe->removed_reason),
			 "cgroup source: cgroups created and removed between two reads are not "
			 "seen, their CPU time goes to system (the eBPF source keeps it)");
	}
	return s;
fail:
	if (s->root_fd >= 0)
		close(s->root_fd);
	free(s->dents);
	free(s);
	return NULL;
}

const struct usage_src_ops usage_cgroup_ops = {
	.name = "cgroup",
	.open = cgsrc_open,
	.close = cgsrc_close,
	.read = cgsrc_read,
};
