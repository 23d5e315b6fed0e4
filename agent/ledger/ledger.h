/* ledger.h - monotonic energy totals per workload, zone and mode; retention; checkpoint.
 *
 * A workload is keyed by its cgroup path (stable across agent restarts, unlike
 * cgroup ids). One row, LEDGER_SYSTEM_KEY, holds "system": processes outside any
 * workload, the kernel, and energy the attribution could not place elsewhere. The
 * node row holds what the meter measured. Totals are integer microjoules, so the
 * conservation Σ rows == node holds exactly (attrib.h) until a row expires; after that
 * Σ rows <= node.
 *
 * Rows not updated by ledger_commit_tick() are "terminated" from that tick on; they
 * keep their totals for `retention_ns`, then ledger_expire() drops them.
 *
 * Checkpoint (docs/design.md, State on disk): ledger_save() writes format 2, a text file
 * with one record per line, each ending in " #<FNV-1a 64 of the record, 16 hex digits>":
 *   wattlet-ledger 2
 *   node <ticks> <uj per zone and mode>        always line 2
 *   idle <learned idle W per zone>             always line 3
 *   row <cpu_ns> <uj per zone and mode> <co2e g> <key, '\' and newline escaped>
 *   end <row count>
 * It writes a new temporary file ".<name>.tmp-<random>" in the checkpoint's directory,
 * created with O_CREAT|O_EXCL|O_NOFOLLOW (never an existing file, never through a
 * symlink: a stale or planted name is skipped, not written), fsyncs it, renames it over
 * <path> and fsyncs the directory. rename() replaces a symlink at <path> itself and never
 * writes through it; a reader sees the old file or the new one, never a torn one.
 * A crash between create and rename leaves the temporary file behind; ledger_load()
 * removes such files (regular files of exactly that name pattern) before it reads.
 *
 * ledger_load() reads <path> only if it is a regular file (lstat, then O_NOFOLLOW |
 * O_NONBLOCK, so a symlink is refused and a FIFO never blocks) of at most 256 MiB, and
 * restores node and row totals; rows come back terminated until they are seen again, so
 * totals continue across a restart. Trust policy:
 *  - format 1 (no checksums, written by earlier versions) still loads, for upgrades;
 *    any damage in it refuses the whole file;
 *  - format 2: a record failing its checksum is dropped alone. The node record is what
 *    every other total is checked against, so when it fails nothing is restored; when a
 *    row fails, that row's workload starts again from zero and everything else is
 *    restored; a lost idle record means the idle model relearns. A record that passes
 *    its checksum but does not parse, or a duplicate row, was written that way: the
 *    whole file is refused;
 *  - consistency (ledger_set_rows_share_node, on by default): rows are shares of the
 *    node's measured energy (attrib.h: sum(workloads) + system == node per zone and mode
 *    every tick); rows only grow with the node and expired rows take their totals away,
 *    so sum(rows) <= node must hold per zone and mode. A file breaking it is refused:
 *    which numbers are wrong cannot be told.
 *  A file not restored whole is renamed (never followed) to <path>.bad-<unix time>[.N],
 *  never replacing an existing file.
 *
 * Ownership: the ledger owns its rows and their strings; pointers from
 * ledger_row_at()/ledger_get() are valid until the next call that adds or expires
 * rows (ledger_row_get, ledger_expire, ledger_load).
 * Return convention: 0 or negative errno, err filled where given. No logging.
 */
#ifndef WATTLET_LEDGER_H
#define WATTLET_LEDGER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cgroup/ident.h"
#include "../common/util.h"
#include "../common/zone.h"

#define LEDGER_SYSTEM_KEY "system"

struct ledger_row {
	char *key;                 /* cgroup path ("/a/b") or LEDGER_SYSTEM_KEY */
	uint64_t cgroup_id;        /* last id seen (0 for system) */
	struct cg_ident ident;     /* container identity when the path has one */
	char *ns, *pod, *container; /* Kubernetes names when known (owned; NULL when not);
				      not checkpointed: refilled when the pod is seen */
	char *owner_kind, *owner_name; /* the pod's owner (kube_owner.h), as ns/pod */
	bool is_system;
	bool terminated;           /* not seen in the last tick */
	uint64_t uj[ZONE_COUNT][MODE_COUNT];       /* monotonic totals */
	double watts[ZONE_COUNT][MODE_COUNT];      /* average over the last tick */
	uint64_t cpu_ns;           /* monotonic CPU time attributed to the row */
	double co2e_g;             /* monotonic grams CO2e (pods with a carbon intensity) */
	double cpu_cores;          /* CPU cores used over the last tick */
	uint64_t last_seen_ns;     /* CLOCK_MONOTONIC of the last tick that saw it */
	uint32_t gen;              /* tick generation it was last touched in */
	/* scratch for aggregating rows (pods): the owner's tick number and that
	 * tick's sums; the ledger itself does not use them */
	uint64_t gen_tick;
	uint64_t tick_uj[ZONE_COUNT][MODE_COUNT];
	uint64_t tick_cpu_ns;
};

struct ledger_node {
	uint64_t uj[ZONE_COUNT][MODE_COUNT];  /* measured energy, split idle/dynamic */
	double watts[ZONE_COUNT][MODE_COUNT];
	uint32_t zone_mask;                   /* zones the meter measures */
	bool platform_whole;                  /* zone platform reads the whole machine, GPUs
						 included (BMC, ACPI power meter); the last
						 tick's, not checkpointed */
	uint64_t ticks;
	uint64_t last_tick_ns;
	double learned_idle_w[ZONE_COUNT];    /* model's learned idle (< 0: none); checkpointed
						 so a restart does not relearn from scratch */
};

struct ledger *ledger_new(uint64_t retention_ns);
void ledger_free(struct ledger *l);

/* Finds or creates the row for key; marks it seen in the current tick generation.
 * NULL on allocation failure. */
struct ledger_row *ledger_row_get(struct ledger *l, const char *key);
const struct ledger_row *ledger_find(const struct ledger *l, const char *key);
/* Sets the row's Kubernetes names (any may be NULL = unknown); copies them, and only
 * when they changed. -ENOMEM leaves the old names. */
int ledger_row_set_names(struct ledger_row *r, const char *ns, const char *pod,
			 const char *container);
/* Sets the row's pod owner (kind, name; NULL or "" = unknown), as ledger_row_set_names. */
int ledger_row_set_owner(struct ledger_row *r, const char *kind, const char *name);

/* Starts a tick: the rows touched until ledger_commit_tick() are the live ones. */
void ledger_begin_tick(struct ledger *l);
/* Ends a tick at time now_ns: rows not touched become terminated, watts of
 * terminated rows drop to 0, node tick count advances. */
void ledger_commit_tick(struct ledger *l, uint64_t now_ns);
/* Drops terminated rows whose last_seen_ns is older than retention. Returns count. */
size_t ledger_expire(struct ledger *l, uint64_t now_ns);

struct ledger_node *ledger_node(struct ledger *l);
const struct ledger_node *ledger_node_c(const struct ledger *l);
size_t ledger_count(const struct ledger *l);
const struct ledger_row *ledger_row_at(const struct ledger *l, size_t i);

/* Writes the checkpoint (see above). 0 or negative errno; on failure <path> is as before
 * and the temporary file is removed. */
int ledger_save(const struct ledger *l, const char *path, struct wl_err *err);

/* TEST ONLY: when set, supplies the random part of temporary file names. */
extern uint64_t (*ledger_test_tmp_random)(void);

/* Whether the rows are shares of the node's totals, so that a checkpoint whose rows add
 * up to more than the node per zone and mode is refused. On by default; turn it off for
 * a ledger whose node totals are not kept (the daemon's per-pod aggregates). */
void ledger_set_rows_share_node(struct ledger *l, bool on);

struct ledger_load_info {
	unsigned version;        /* format read: 1 (no checksums) or 2; 0 if not read */
	size_t rows;             /* rows restored */
	size_t rows_dropped;     /* rows of a damaged file not restored (when countable) */
	bool rows_lost_unknown;  /* the end record was lost: how many rows is unknown */
	bool idle_dropped;       /* learned idle not restored */
	char set_aside[PATH_MAX + 32]; /* where the file was moved; "" if it was not */
	size_t stale_tmps_removed; /* temporary files a crash left behind, removed first */
};

/* Restores the checkpoint at path (see the trust policy above). info may be NULL.
 *   0         the whole file was restored (info->version says which format)
 *   -EBADMSG  damaged, partly restored: l holds the node totals and every intact row,
 *             err says what was lost, the file was moved aside
 *   -ENOENT   no file; l unchanged
 *   other     nothing restored, l unchanged, err says why (-EINVAL: parse error,
 *             checksum mismatch in the node record, rows exceed node, truncated;
 *             -EFBIG: too large; -ELOOP: a symlink; -EISDIR: a directory; -EINVAL also
 *             for a FIFO, socket or device; an open or read error such as -EACCES or
 *             -EIO). Bad content, a symlink, an oversized file and a regular file that
 *             cannot be opened or read are moved aside (so the next checkpoint never
 *             overwrites totals that might still be recovered); directories and special
 *             files are left in place. */
int ledger_load(struct ledger *l, const char *path, struct ledger_load_info *info,
		struct wl_err *err);

#endif
