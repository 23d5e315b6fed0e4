/* powermodel.h - a PowerModel (docs/api.md, wattlet.dev/v1alpha1): per-zone ratio and
 * linear regression power models, parsed, validated and used for prediction.
 *
 * Per zone z the regression model is
 *     P_z = interceptWatts + sum_f weight_f * rate_f          (watts)
 * with rates in the units of docs/api.md: cpu_time in CPU cores (CPU-seconds per
 * second), instructions and cycles in 1e9 per second, cache_misses in 1e6 per second.
 * interceptWatts is the zone's idle power under the model (the power with no
 * workload running - the one meaning of idle, see idle.h).
 *
 * Two ways in, one validation:
 *   pm_parse_yaml()  the PowerModel YAML (the file `wattlet model fit` writes, the one
 *                    `kubectl apply` takes; `model.file` in the agent's config);
 *   pm_from_spec()   values already parsed elsewhere (the Kubernetes API's JSON), as
 *                    strings and numbers; pm_parse_yaml() fills the same struct and
 *                    calls it, so both paths reject exactly the same things.
 * Errors name the field, e.g. "spec.zones[1].regression.coefficients[0].weight: -3 is
 * negative (must be >= 0)"; YAML syntax/type errors also give line and column.
 * Rejected: unknown zone/feature/source/attribution names, negative, NaN or infinite
 * numbers, `source: estimated` without `regression`, duplicate zones or coefficient
 * features, 0 or > 6 zones, 0 or > 4 coefficients, priority outside 0..1000,
 * wrong apiVersion/kind, unknown fields under spec.
 *
 * Ownership: struct powermodel is plain fixed-size data, nothing to free.
 * Return convention: 0 or negative errno (-EINVAL for bad input) with err filled.
 * Nothing here logs.
 */
#ifndef WATTLET_POWERMODEL_H
#define WATTLET_POWERMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/caps.h"
#include "../common/strbuf.h"
#include "../common/util.h"
#include "../common/zone.h"
#include "../meter/meter.h"
#include "../usage/usage.h"

#define PM_API_VERSION "wattlet.dev/v1alpha1"
#define PM_KIND "PowerModel"
#define PM_NAME_MAX 254
#define PM_MAX_COEF 4
#define PM_FILE_MAX ((int)WL_CAP_TEXT_FILE) /* a PowerModel file larger than this is refused */

enum pm_attribution { PM_ATTR_RATIO, PM_ATTR_REGRESSION };

struct pm_zone {
	bool present;       /* the model lists this zone */
	bool estimated;     /* source: estimated (else measured) */
	double idle_w;      /* idleWatts; < 0 = absent (learned) */
	enum feature feature; /* ratio feature (default cpu_time) */
	bool has_regression;
	double intercept_w; /* regression.interceptWatts */
	uint32_t coef_mask; /* bit f: a coefficient for feature f is given */
	double weight[FEAT_COUNT]; /* watts per rate unit; 0 where not given */
};

struct powermodel {
	char name[PM_NAME_MAX + 1];
	int priority;
	enum pm_attribution attribution;
	struct pm_zone zone[ZONE_COUNT]; /* indexed by enum zone */
	/* annotations written by `wattlet model fit` (informational; NAN when absent) */
	double fit_r2, fit_mape, fit_holdout;
	long fit_samples; /* -1 when absent */
};

/* ---- values already parsed (the JSON path) ---------------------------------- */

struct pm_coef_in {
	const char *feature; /* NULL = missing */
	double weight;
	bool has_weight;
};

struct pm_zone_in {
	const char *zone;     /* NULL = missing */
	const char *source;   /* NULL = "measured" */
	bool has_idle;
	double idle_watts;
	const char *feature;  /* NULL = "cpu_time" */
	bool has_regression;
	bool has_intercept;
	double intercept_watts;
	const struct pm_coef_in *coef;
	size_t n_coef;
};

struct pm_spec_in {
	const char *name;        /* metadata.name; NULL = missing */
	const char *attribution; /* NULL = "ratio" */
	bool has_priority;
	int64_t priority;
	const struct pm_zone_in *zones;
	size_t n_zones;
};

/* Validates in and fills out (zeroed first). */
int pm_from_spec(const struct pm_spec_in *in, struct powermodel *out, struct wl_err *err);
/* Parses one PowerModel YAML document of len bytes. */
int pm_parse_yaml(const char *text, size_t len, struct powermodel *out, struct wl_err *err);
/* Reads path (at most PM_FILE_MAX bytes) and parses it; errors start with the path. */
int pm_load_file(const char *path, struct powermodel *out, struct wl_err *err);

/* Feature rates in the model's units from usage deltas over dt_ns (> 0). */
void pm_rates(const uint64_t delta[FEAT_COUNT], uint64_t dt_ns, double rate[FEAT_COUNT]);
/* Rate units per raw count, e.g. 1e-9 for cpu_time ns per s -> cores. */
double pm_feature_unit(enum feature f);
/* The zone's predicted power in watts (intercept + sum weight*rate); 0 without a
 * regression. */
double pm_predict_w(const struct pm_zone *z, const double rate[FEAT_COUNT]);
/* Only the dynamic part (sum weight*rate), >= 0. */
double pm_predict_dynamic_w(const struct pm_zone *z, const double rate[FEAT_COUNT]);

/* Bit z set for every zone with source: estimated. */
uint32_t pm_estimated_mask(const struct powermodel *m);

/* Sets the fit statistic that the annotation key names to d: "wattlet.dev/fit-r2",
 * "-mape", "-holdout", and "-samples" (taken when 0 <= d < 1e15). Other keys leave pm
 * as it was. Shared by the YAML reader and the PowerModel CRD reader (modelselect). */
void pm_set_fit_annotation(struct powermodel *pm, const char *key, double d);

/* Renders m as PowerModel YAML (the layout of docs/api.md), annotations included
 * where set (fit_* not NAN / >= 0). extra_annotations: NULL or "key: value\n" lines
 * already indented by 4 spaces, appended under metadata.annotations. */
int pm_to_yaml(const struct powermodel *m, const char *extra_annotations, struct strbuf *out);

const char *pm_attribution_name(enum pm_attribution a);

/* ---- use in the agent ----------------------------------------------------------- */

/* The node's feature totals of a usage sample: max(node counter, sum over entries). */
void pm_node_totals(const struct usage_sample *us, uint64_t out[FEAT_COUNT]);
/* Estimation: for every estimated zone of m, sets md->uj[z] to the predicted power
 * (from the node's feature rates over us->dt_ns) times md->dt_ns, sets its zone_mask
 * bit and clears its error/reset bits (the meter's reading of that zone, if any, is
 * replaced). Returns the mask of zones estimated (0 without such zones or dt). */
uint32_t pm_estimate(const struct powermodel *m, const struct usage_sample *us,
		     struct meter_delta *md);
/* Idle power the model gives zone z: an estimated zone's interceptWatts, else
 * idleWatts; -1 when the model says nothing (learned). */
double pm_idle_w(const struct powermodel *m, enum zone z);
/* For attribution: regression, the zones with a regression and their weights. */
void pm_attrib_weights(const struct powermodel *m, uint32_t *mask,
		       double w[ZONE_COUNT][FEAT_COUNT]);

#endif
