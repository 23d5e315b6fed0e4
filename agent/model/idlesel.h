/* idlesel.h - which idle power each zone uses in one tick, and where it came from.
 *
 * Precedence per zone measured or estimated this tick (bit z in md->zone_mask):
 *   1. configured: cfg_w[z] >= 0 (model.idle_watts) always wins;
 *   2. model: the PowerModel in use gives an idle for the zone (pm_idle_w() >= 0);
 *   3. learned: the zone's estimator (idle.h), whose source name says how it learned;
 *   4. class: after idle_select(), idle_apply_class() replaces a learned "fallback"
 *      (never configured, model, learned-fit, learned-low or learned-checkpoint) with
 *      the idle that other nodes of the same hardware class learned confidently
 *      (kube/kube_classidle.h). So: configured > model > this node's own learned value
 *      > class > fallback.
 * A zone outside zone_mask gets 0 W and no source; so does a zone with neither a
 * configured value nor an estimator.
 * The estimator of a zone that is not configured is fed the tick's reading (average
 * watts, node utilisation) when the zone read cleanly (no error, no counter reset) over
 * a positive interval, also while the model's idle is used, so switching the model off
 * finds it warm; it is refitted when refit is true or while it holds < 30 samples.
 *
 * Ownership: the estimators stay the caller's; nothing is kept.
 * Return convention: void (no failure). No logging.
 */
#ifndef WATTLET_IDLESEL_H
#define WATTLET_IDLESEL_H

#include <stdbool.h>

#include "../common/zone.h"
#include "../meter/meter.h"
#include "idle.h"
#include "powermodel.h"

#define IDLE_REFIT_EVERY 10 /* ticks between idle re-estimates once the window warmed up */

struct idle_pick {
	double w[ZONE_COUNT];           /* idle watts to attribute per zone */
	const char *source[ZONE_COUNT]; /* "configured", "model", idle_source_name(),
					   "class"; NULL:
					   the zone was not selected this tick */
};

/* est: one estimator per zone (NULL for configured zones); cfg_w: configured idle per
 * zone (< 0: not configured); model: the PowerModel in use or NULL; util: node busy
 * fraction 0..1 over the tick. */
void idle_select(struct idle_est *const est[ZONE_COUNT], const double cfg_w[ZONE_COUNT],
		 const struct powermodel *model, const struct meter_delta *md, double util,
		 bool refit, struct idle_pick *out);

/* class_w: the class's idle per zone (< 0: none). Zones whose source is "fallback"
 * take it, with source "class". */
void idle_apply_class(const double class_w[ZONE_COUNT], struct idle_pick *pick);

#endif
