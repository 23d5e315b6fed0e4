/* attrib.h - shares one tick's measured energy among workloads, exactly.
 *
 * Per zone z with energy E (microjoules) over the tick:
 *   idle    I = min(idle_w[z] * dt, E)           (never more than was measured)
 *   dynamic D = E - I
 * Dynamic energy is shared by each workload's share of the zone's usage feature
 * (zone_feature[z], CPU time when that feature is not measured). The denominator is
 * the node's total of that feature - for CPU time max(/proc/stat busy time, sum of all
 * cgroups) - so usage outside every workload (root cgroup, kernel threads, interrupts)
 * stays with "system" instead of being spread over workloads.
 * Idle energy follows the idle policy: none (all to system), even (equally among the
 * workloads active in the tick), usage (by the same share as dynamic), request (by
 * CPU request; without requests it behaves as even).
 *
 * Conservation is exact: shares are computed in integer microjoules rounded down, and
 * system receives the remainder, so for every zone and mode
 *   sum(workload uj) + system uj == node uj.
 *
 * Which usage entries are workloads: every entry except the root cgroup "/"; with
 * containers_only, only entries whose path is a container or pod cgroup - the rest
 * go to system.
 *
 * Ownership: the attrib object owns the result arrays, valid until the next compute.
 * Return convention: 0 or negative errno. No logging.
 */
#ifndef WATTLET_ATTRIB_H
#define WATTLET_ATTRIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/zone.h"
#include "../meter/meter.h"
#include "../usage/usage.h"

/* How a zone's idle energy is shared (config attribution.idle_policy, EnergyPolicy
 * spec.idlePolicy); see above. */
enum idle_policy { IDLE_NONE, IDLE_EVEN, IDLE_USAGE, IDLE_REQUEST };

struct attrib_input {
	const struct meter_delta *energy;
	const struct usage_sample *usage;
	double idle_w[ZONE_COUNT];
	enum feature zone_feature[ZONE_COUNT];
	enum idle_policy idle_policy;
	bool containers_only;
	const double *cpu_request; /* per usage entry (cores), or NULL */
	/* Per usage entry idle policy (e.g. from the pod's EnergyPolicy), or NULL = every
	 * workload follows idle_policy. When set, each workload's idle share is computed
	 * under its own policy: even = idle / (workloads active in the tick) when it is
	 * active; usage = its dynamic weight share; request = its CPU request over the sum
	 * of the requests of all workloads (as even when that sum is 0); none = 0. When the
	 * shares add up to more than the zone's idle energy they are scaled down in
	 * proportion; system keeps the remainder (conservation stays exact). */
	const enum idle_policy *entry_idle_policy;
	double test_bias;          /* TEST ONLY: workloads' dynamic weights x (1 + bias) */
	/* Regression attribution (PowerModel attribution: regression): for zones with bit z
	 * in reg_mask, dynamic energy (and idle under the usage policy) is shared by each
	 * workload's own predicted dynamic power sum_f reg_w[z][f] * rate_f (watts per
	 * docs/api.md rate unit; unmeasured features count 0) over the node's predicted
	 * dynamic power from the node's feature totals; system keeps the rest. A zone whose
	 * node prediction is 0 falls back to the ratio. Zero-initialised = off. */
	uint32_t reg_mask;
	double reg_w[ZONE_COUNT][FEAT_COUNT];
	/* Zones shared by weights measured elsewhere instead of a usage feature (zone gpu:
	 * each entry's part of each GPU's dynamic energy from NVML per-process samples,
	 * agent/usage/gpu.h). For bit z in ext_mask, entry i's weight is ext_weight[z][i]
	 * (one per usage entry) out of ext_total[z] (raised to their sum if lower); what
	 * non-workload entries hold and ext_total minus the sum stays with system. Used for
	 * the dynamic split and idle under the usage policy; zero-initialised = off. */
	uint32_t ext_mask;
	const uint64_t *ext_weight[ZONE_COUNT];
	uint64_t ext_total[ZONE_COUNT];
	const char *ext_name[ZONE_COUNT]; /* what the weights are, for the status ("nvml_sm") */
};

struct attrib_share {
	size_t entry; /* index into usage->entries */
	uint64_t uj[ZONE_COUNT][MODE_COUNT];
};

struct attrib_result {
	const struct attrib_share *shares; /* one per workload entry, in entry order */
	size_t n;
	uint64_t system_uj[ZONE_COUNT][MODE_COUNT];
	uint64_t node_uj[ZONE_COUNT][MODE_COUNT];
	enum feature used_feature[ZONE_COUNT];
};

struct attrib *attrib_new(void);
void attrib_free(struct attrib *a);
int attrib_compute(struct attrib *a, const struct attrib_input *in, struct attrib_result *out);

/* true when usage entry e is a workload under this input's rules */
bool attrib_is_workload(const struct attrib_input *in, const struct usage_entry *e);

#endif
