/* metrics_impl.h - private to metrics*.c: one rendering of /metrics (its output buffer,
 * the ledger and status it reads, the escaped label sets of its rows) and the helpers the
 * family writers share. Not thread-safe; owned by export_metrics_render(). */
#ifndef WATTLET_EXPORT_METRICS_IMPL_H
#define WATTLET_EXPORT_METRICS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "export_impl.h"

#define LABEL_SCRATCH_CAP (64u << 20)

struct render {
	struct out_buf o;
	const struct ledger *l;
	const struct agent_status *s;
	uint32_t zones;
	size_t n;
	struct strbuf lbl;   /* escaped label sets of all rows, back to back */
	size_t *lbl_off;     /* n + 1 offsets into lbl */
	char zm[ZONE_COUNT][MODE_COUNT][48]; /* ",zone=\"z\",mode=\"m\"} " */
	bool pod_rows;       /* rows are pod aggregates (wattlet_pod_*), not workloads */
	bool detail;         /* today's full series (metrics.detail), else lean */
	uint32_t lean_zones; /* zones of the lean joules series */
	uint8_t *lvl;        /* lean: per row, how long its id is (0 short, 1 full, 2 key) */
	struct strbuf ids;   /* lean: scratch for the uniqueness check */
};

/* Lean series show only zones that do not nest inside another shown one. */
#define LEAN_ZONES ((1u << ZONE_PACKAGE) | (1u << ZONE_DRAM) | (1u << ZONE_PLATFORM) | \
		    (1u << ZONE_GPU))

/* s when it is a non-empty string, else dflt. */
const char *mx_str_or(const char *s, const char *dflt);
/* The "# HELP" and "# TYPE" lines of one family. */
void mx_family(struct out_buf *o, const char *name, const char *type, const char *help);
/* name{k="v" (v escaped), the label set left open. */
void mx_open1(struct out_buf *o, const char *name, const char *k, const char *v);

/* Kepler-compatible families (metrics_kepler.c): node series, and per-container
 * (by_pod false) or per-pod (by_pod true) sums of the rows. 0 or -ENOMEM. */
void mx_kepler_node(struct render *r);
int mx_kepler_workloads(struct render *r, bool by_pod);

#endif
