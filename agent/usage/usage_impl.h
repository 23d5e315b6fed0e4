/* usage_impl.h - the private interface each usage source implements (internal to
 * agent/usage/). usage.c owns the dispatch, the /proc/stat node totals and the
 * timestamps; a source only fills entries.
 */
#ifndef WATTLET_USAGE_IMPL_H
#define WATTLET_USAGE_IMPL_H

#include "usage.h"

struct usage_src_ops {
	const char *name;
	/* Returns private state or NULL with err set (the reason shown by probe). */
	void *(*open)(const struct usage_opts *opts, struct usage_probe *probe,
		      struct wl_err *err);
	void (*close)(void *state);
	/* Fills entries and n (owned by the source, valid until the next call) with the
	 * exclusive usage since the previous call; sets *feature_mask, counters. */
	int (*read)(void *state, const struct usage_entry **entries, size_t *n,
		    uint32_t *feature_mask, uint64_t *dropped, uint64_t *vanished);
};

extern const struct usage_src_ops usage_cgroup_ops;

/* The cgroup source walks every cgroup (no subtree carried over unread) at every
 * read whose number (counted from 0, the baseline) is a multiple of this. */
#define USAGE_CGROUP_FULL_EVERY 30

/* What the cgroup source's last read did (for tests and benchmarks). */
struct usage_cgroup_stats {
	uint64_t counter_reads; /* counter files read (pread) */
	uint64_t opens;         /* files and directories opened */
	uint64_t dir_lists;     /* directories listed */
	uint64_t skipped;       /* cgroups carried over unread: below an unchanged parent */
	uint64_t shed;          /* kept files closed on EMFILE/ENFILE (the cap dropped) */
	unsigned fds_kept;      /* counter files open between reads after it */
	unsigned fd_cap;        /* at most this many (0: opened and closed every read) */
	bool full;              /* it walked every cgroup */
};
/* state: what usage_cgroup_ops.open returned. */
void usage_cgroup_stats(const void *state, struct usage_cgroup_stats *out);
/* Provided by usage_bpf.c when the eBPF source is built; usage.c falls back to the
 * cgroup source when this is NULL or its open() fails. */
extern const struct usage_src_ops *const usage_bpf_ops;

#endif
