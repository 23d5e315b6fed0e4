/* record.h - `wattlet run --record FILE`: per-tick node energy and usage features, for
 * fitting a regression PowerModel (fit.h). Format "wattlet-record v1" (docs/models.md):
 *
 *   #wattlet-record v1
 *   # (further comment lines start with '#')
 *   N,t_ns,dt_ns,zone_mask,bad_mask,uj_package,uj_core,uj_uncore,uj_dram,uj_platform,uj_gpu,
 *     feature_mask,cpu_time_ns,instructions,cycles,cache_misses
 *   W,t_ns,cpu_time_ns,instructions,cycles,cache_misses,path
 *
 * One N line per tick (the node), then one W line per cgroup with any usage in that
 * tick (same t_ns). All numbers are unsigned decimal integers; masks are bit sets over
 * enum zone / enum feature (bit 0 = package / cpu_time). zone_mask: zones the METER
 * measured (estimated energy is never recorded as if measured); bad_mask: zones whose
 * read failed or reset this tick (their energy is not usable). The node's feature
 * value is max(the node counter, sum over all cgroups) - for cpu_time the node counter
 * is /proc/stat busy time, so kernel threads and interrupts are included. The path is
 * the last field and runs to the end of the line (it may contain commas).
 *
 * Ownership: rec_open() returns a writer freed by rec_close() (NULL-safe, flushes);
 * rec_load() returns a recording freed by rec_free() (NULL-safe).
 * Return convention: 0 or negative errno with err filled; nothing logs.
 */
#ifndef WATTLET_RECORD_H
#define WATTLET_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "../common/zone.h"
#include "../meter/meter.h"
#include "../usage/usage.h"

#define REC_MAGIC "#wattlet-record v1"
/* Features a recording holds: the first four (task_clock, a software counter that
 * equals cpu_time, is not recorded; its bit is never set in feature_mask). */
#define REC_NFEAT FEAT_TASK_CLOCK
#define REC_MAX_LINE 8192        /* longer lines are an error */
#define REC_MAX_TICKS 2000000    /* ~23 days at 1 s */
#define REC_MAX_WORKLOAD_ROWS 20000000

struct rec_writer *rec_open(const char *path, struct wl_err *err);
/* Appends one tick; md may be NULL (no meter). Flushes, so a killed agent leaves a
 * usable file. */
int rec_write(struct rec_writer *w, const struct meter_delta *md, const struct usage_sample *us,
	      struct wl_err *err);
void rec_close(struct rec_writer *w);

struct rec_tick {
	uint64_t t_ns, dt_ns;
	uint32_t zone_mask, bad_mask, feature_mask;
	uint64_t uj[ZONE_COUNT];
	uint64_t node[FEAT_COUNT];
	size_t first_wl, n_wl; /* this tick's rows in recording.wl */
};

struct rec_workload {
	uint64_t delta[FEAT_COUNT];
	char *path; /* owned by the recording */
};

struct recording {
	struct rec_tick *ticks;
	size_t n_ticks;
	struct rec_workload *wl;
	size_t n_wl;
};

/* Reads a recording; with_workloads false skips W lines (fitting needs only N). Errors
 * name "path:line: ...". Ticks must be in time order. */
struct recording *rec_load(const char *path, bool with_workloads, struct wl_err *err);
void rec_free(struct recording *r);

#endif
