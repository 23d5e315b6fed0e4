/* apply.h - folds one tick's attribution into the ledger and the per-pod aggregates.
 *
 * The second half of a tick (agent/pipeline/tick.h): attrib_compute() split the tick's
 * energy into shares; ledger_apply() adds them to the rows, the system row and the node,
 * commits the tick (rows not seen become terminated), expires old rows, and aggregates
 * every row that has a pod uid into a second ledger keyed by pod uid:
 *   - a workload row (key: cgroup path) gets its share's uj added to its totals, watts =
 *     share / dt_s, cpu_ns += its CPU time, cpu_cores = CPU time / usage interval;
 *   - the system row gets the attribution's system energy and the node's CPU time not
 *     attributed to any workload (never below 0);
 *   - the node gets the attribution's node energy, `zone_mask` and `platform_whole`;
 *   - a pod row accumulates the tick energy and CPU time of all its cgroups (so its
 *     total stays monotonic when a container restarts under a new cgroup); its
 *     tick_uj/tick_cpu_ns hold this tick's sums (kube_agent reads them for CO2e), its
 *     watts and cpu_cores are those sums over the tick; names come from the workload row.
 * Both ledgers are committed at the usage sample's time and expired by their retention.
 *
 * Cost: O(workloads) per tick plus the ledgers' own row look-ups.
 * Ownership: nothing is kept; the ledgers own their rows (ledger.h).
 * Return convention: 0, or -ENOMEM when some rows could not be added (err names the
 * first; everything else was applied and both ledgers were committed). No logging.
 */
#ifndef WATTLET_LEDGER_APPLY_H
#define WATTLET_LEDGER_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "../attrib/attrib.h"
#include "../common/util.h"
#include "../usage/usage.h"
#include "ledger.h"

struct ledger_tick {
	const struct usage_sample *usage;  /* the tick's usage (entries, t_ns, dt_ns) */
	const struct attrib_result *res;   /* attrib_compute() over that usage */
	double dt_s;                       /* the energy interval (meter's, else usage's) */
	uint32_t zone_mask;                /* zones measured or estimated this tick */
	bool platform_whole;               /* zone platform includes the GPUs (meter.h) */
};

/* Folds t into l and, when pods is not NULL, into the per-pod aggregates (see above).
 * usage->dt_ns must not be 0 (a baseline tick has nothing to fold). */
int ledger_apply(struct ledger *l, struct ledger *pods, const struct ledger_tick *t,
		 struct wl_err *err);

#endif
