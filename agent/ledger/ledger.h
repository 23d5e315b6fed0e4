/* ledger.h - monotonic energy totals per workload, zone and mode; retention; checkpoint.
 *
 * A workload is keyed by its cgroup path (stable across agent restarts, unlike
 * cgroup ids). One row, LEDGER_SYSTEM_KEY, holds "system": processes outside any
 * workload, the kernel, and energy the attribution could not place elsewhere. The
 * node row holds what the meter measured. Totals are integer microjoules, so the
 * conservation Σ rows == node holds exactly (attrib.h).
 *
 * Rows not updated by ledger_commit_tick() are "terminated" from that tick on; they
 * keep their totals for `retention_ns`, then ledger_expire() drops them.
 *
 * Checkpoint: ledger_save() writes a versioned text file to <path>.tmp, fsyncs it and
 * renames it over <path> (atomic: a reader sees the old or the new file, never a
 * torn one). ledger_load() restores node and row totals; rows come back terminated
 * until they are seen again, so totals continue across a restart.
 *
 * Ownership: the ledger owns its rows and their strings; pointers from
 * ledger_row_at()/ledger_get() are valid until the next call that adds or expires
 * rows (ledger_row_get, ledger_expire, ledger_load).
 * Return convention: 0 or negative errno, err filled where given. No logging.
 */
#ifndef WATTLET_LEDGER_H
#define WATTLET_LEDGER_H

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

int ledger_save(const struct ledger *l, const char *path, struct wl_err *err);
int ledger_load(struct ledger *l, const char *path, struct wl_err *err);

#endif
