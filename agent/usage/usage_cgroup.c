/* usage_cgroup.c - the cgroup usage source: CPU time from v2 cpu.stat / v1 cpuacct.usage.
 *
 * Each read walks the CPU hierarchy (pre-order, by directory fd) and reads every
 * cgroup's hierarchical CPU counter. For each cgroup c:
 *   dh(c)   = total_now(c) - total_prev(c)          (hierarchical delta)
 *   excl(c) = max(0, dh(c) - sum of dh(children of c seen in this read))
 * Subtracting deltas (not totals) means a child that disappears needs no correction:
 * what it ran in its last partial interval stays in its parent's hierarchical
 * counter and is reported as the parent's (v1 cpuacct and v2 rstat both keep a
 * removed child's time in the parent), and nothing is counted twice.
 *
 * New cgroups. The kernel starts a cgroup's counter at 0 at mkdir. A cgroup absent
 * from the previous read, when that read was complete (every cgroup it listed was
 * read and tracked), was therefore created after it, and its whole counter was
 * spent in this interval: its first delta is its total. When the previous read was
 * not complete (max_cgroups overflow, an unreadable counter), a first-seen cgroup
 * may be an old one we failed to track; its first delta is then 0.
 *
 * Never a wrong number. When a cgroup's own delta is unknown (unreadable counter,
 * first seen without a complete baseline, or a counter that went backwards), that
 * cgroup is not reported and neither is its parent for this read (the parent's
 * hierarchical delta holds time we cannot take out). That time stays unplaced for
 * the caller (node total minus entries), rather than being given to someone.
 *
 * Bounds. At most max_cgroups are tracked per read, in walk order; each one beyond
 * that adds 1 to `dropped` per read, and its time is reported in its nearest tracked
 * ancestor (same for cgroups below max_depth). `vanished` counts cgroups listed by
 * the walk that disappeared before their directory or counter could be read.
 *
 * Memory: two track arrays (current and previous read) and the entry array grow by
 * doubling up to max_cgroups and are then reused; an open-addressing hash of the
 * previous read's ids is rebuilt after every read. Path strings are allocated once
 * per cgroup and move from the previous array to the current one.
 */
#include "usage_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEF_MAX_CGROUPS 16384
#define DEF_MAX_DEPTH 16
#define HARD_MAX_CGROUPS (1u << 24)
#define INIT_CAP 256

struct track {
	uint64_t id;
	uint64_t total; /* hierarchical counter at this read, ns */
	uint64_t dh;    /* hierarchical delta this read */
	uint64_t sub;   /* sum of tracked children's dh */
	char *path;
	int32_t parent; /* index in the same array, -1 none */
	bool withhold;  /* not reported this read */
	bool unknown;   /* own delta unknown this read */
};

struct cgsrc {
	const struct cg_layout *layout;
	unsigned max_cgroups, max_depth;

	struct track *cur, *prev;
	size_t n_cur, n_prev, cap;
	struct usage_entry *entries;
	size_t n_entries;

	uint32_t *hash; /* indexes into prev + 1; 0 = empty */
	size_t hash_size;

	bool have_prev;     /* a previous read exists */
	bool prev_complete; /* it tracked and read everything it listed */

	/* per read */
	int32_t parent_at[CG_WALK_MAX_DEPTH];
	uint64_t read_dropped, read_vanished, read_unreadable;
	int read_err;

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

static void free_paths(struct track *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t[i].path);
		t[i].path = NULL;
	}
}

static void withhold_parent(struct cgsrc *s, unsigned depth)
{
	if (depth > 0 && s->parent_at[depth - 1] >= 0)
		s->cur[s->parent_at[depth - 1]].withhold = true;
}

static int visit(int dirfd, const char *relpath, uint64_t id, unsigned depth, void *ctx)
{
	struct cgsrc *s = ctx;
	struct track *t;
	uint64_t total;
	int32_t pi;
	int r;

	if (depth >= CG_WALK_MAX_DEPTH)
		return 0;
	s->parent_at[depth] = -1; /* until this cgroup is tracked */
	if (s->n_cur == s->cap) {
		r = grow(s);
		if (r == -ENOSPC) {
			s->read_dropped++;
			return 0;
		}
		if (r) {
			s->read_err = r;
			return r;
		}
	}
	r = cg_read_cpu_ns_at(s->layout, dirfd, &total);
	if (r == -ENOENT) {
		s->read_vanished++;
		return 0;
	}
	if (r) {
		/* garbage or unreadable: skip it; its parent's exclusive is unknown */
		s->read_unreadable++;
		withhold_parent(s, depth);
		return 0;
	}

	t = &s->cur[s->n_cur];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->total = total;
	t->parent = depth > 0 ? s->parent_at[depth - 1] : -1;

	pi = prev_lookup(s, id);
	if (pi >= 0 && s->prev[pi].path && strcmp(s->prev[pi].path, relpath) == 0) {
		struct track *p = &s->prev[pi];
		t->path = p->path;
		p->path = NULL;
		if (total >= p->total) {
			t->dh = total - p->total;
		} else {
			t->unknown = true; /* counter went backwards: not the same cgroup */
		}
	} else {
		t->path = strdup(relpath);
		if (!t->path) {
			s->read_err = -ENOMEM;
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
		withhold_parent(s, depth);
	}
	s->parent_at[depth] = (int32_t)s->n_cur;
	s->n_cur++;
	return 0;
}

static void reset_state(struct cgsrc *s)
{
	free_paths(s->cur, s->n_cur);
	free_paths(s->prev, s->n_prev);
	s->n_cur = s->n_prev = 0;
	s->have_prev = false;
	s->prev_complete = false;
	if (s->hash)
		memset(s->hash, 0, s->hash_size * sizeof(*s->hash));
}

static int cgsrc_read(void *state, const struct usage_entry **entries, size_t *n,
		      uint32_t *feature_mask, uint64_t *dropped, uint64_t *vanished)
{
	struct cgsrc *s = state;
	uint64_t walk_vanished = 0;
	struct track *tmp;
	int r;

	s->n_cur = 0;
	s->read_dropped = s->read_vanished = s->read_unreadable = 0;
	s->read_err = 0;
	for (size_t i = 0; i < CG_WALK_MAX_DEPTH; i++)
		s->parent_at[i] = -1;

	r = cg_walk_at(s->layout, NULL, s->max_depth, visit, s, &walk_vanished);
	if (r) {
		/* the moved path strings are split between the arrays: start over */
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

	/* cgroups of the previous read not seen now are gone: free their paths */
	free_paths(s->prev, s->n_prev);
	tmp = s->prev;
	s->prev = s->cur;
	s->n_prev = s->n_cur;
	s->cur = tmp;
	s->n_cur = 0;
	r = rebuild_hash(s);
	if (r) {
		reset_state(s);
		return r;
	}
	s->have_prev = true;
	s->prev_complete = s->read_dropped == 0 && s->read_unreadable == 0;
	s->dropped += s->read_dropped;
	s->vanished += s->read_vanished + walk_vanished;

	*entries = s->entries;
	*n = s->n_entries;
	*feature_mask = 1u << FEAT_CPU_TIME;
	*dropped = s->dropped;
	*vanished = s->vanished;
	return 0;
}

static void cgsrc_close(void *state)
{
	struct cgsrc *s = state;
	if (!s)
		return;
	free_paths(s->cur, s->n_cur);
	free_paths(s->prev, s->n_prev);
	free(s->cur);
	free(s->prev);
	free(s->entries);
	free(s->hash);
	free(s);
}

static void *cgsrc_open(const struct usage_opts *opts, struct usage_probe *probe,
			struct wl_err *err)
{
	struct cgsrc *s;
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
	s = calloc(1, sizeof(*s));
	if (!s) {
		err_set(err, ENOMEM, "cgroup usage source: out of memory");
		return NULL;
	}
	s->layout = opts->layout;
	s->max_cgroups = opts->max_cgroups ? opts->max_cgroups : DEF_MAX_CGROUPS;
	if (s->max_cgroups > HARD_MAX_CGROUPS)
		s->max_cgroups = HARD_MAX_CGROUPS;
	s->max_depth = opts->max_depth ? opts->max_depth : DEF_MAX_DEPTH;
	if (s->max_depth > CG_WALK_MAX_DEPTH - 1)
		s->max_depth = CG_WALK_MAX_DEPTH - 1;
	if (probe) {
		probe->pmu_ok = false;
		snprintf(probe->pmu_reason, sizeof(probe->pmu_reason),
			 "hardware counters need the eBPF source (the cgroup source measures CPU "
			 "time only)");
		/* a walk only sees cgroups alive at a read */
		probe->removed_ok = false;
		snprintf(probe->removed_reason, sizeof(probe->removed_reason),
			 "cgroup source: cgroups created and removed between two reads are not "
			 "seen, their CPU time goes to system (the eBPF source keeps it)");
	}
	return s;
}

const struct usage_src_ops usage_cgroup_ops = {
	.name = "cgroup",
	.open = cgsrc_open,
	.close = cgsrc_close,
	.read = cgsrc_read,
};
