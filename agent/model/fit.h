/* fit.h - fitting a regression PowerModel to a recording (record.h).
 *
 * Per zone, each usable tick (dt > 0, zone measured and not bad) gives one sample:
 *     y = zone energy / dt (W),  x_f = node feature rate in docs/api.md units.
 * The model y = b + sum_f w_f x_f is fitted with every coefficient, the intercept b
 * included, constrained to be >= 0 (Lawson-Hanson NNLS on column-scaled normal
 * equations; with ridge > 0, an L2 penalty ridge * |w|^2 on the scaled feature weights,
 * never on the intercept). The LAST `holdout` fraction of the samples in time order is
 * not used for fitting; R^2 and MAPE are computed on it.
 *
 * Refused with a clear error (never a silently bad model):
 *   - too few samples: fewer than max(20, 5 * (features + 1)) for training or fewer
 *     than 5 held out;
 *   - a feature that does not vary in the training part (standard deviation < 2 %
 *     of its mean: a steady load, where idle and per-unit power cannot be told apart);
 *   - collinear features: a feature whose training values are explained by the others
 *     with R^2 > 0.999 (their weights could be traded for one another);
 *   - no zone with measured energy.
 * Features with no data at all (all zero, e.g. PMU counters on a host without a PMU)
 * are left out and named in notes.
 *
 * Return convention: 0 or negative errno with err filled. Nothing logs; no allocation
 * survives a call.
 */
#ifndef WATTLET_FIT_H
#define WATTLET_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "../common/zone.h"
#include "powermodel.h"
#include "record.h"

#define FIT_MIN_TRAIN 20
#define FIT_MIN_TEST 5
#define FIT_COLLINEAR_R2 0.999

struct fit_opts {
	double holdout;     /* 0 <= holdout < 1; 0.25 typical */
	uint32_t zone_mask; /* zones to fit; 0 = every zone measured in the recording */
	uint32_t feature_mask; /* features to use; 0 = every feature with data */
	double ridge;       /* >= 0; 0 = plain NNLS */
};

struct fit_zone {
	bool fitted;
	double intercept_w;
	uint32_t coef_mask;
	double weight[FEAT_COUNT];
	size_t n_train, n_test;
	double r2, mape;       /* held-out part (training part when holdout is 0); r2 NAN
				  when the held-out power does not vary */
	double train_r2;
};

struct fit_result {
	struct fit_zone zone[ZONE_COUNT];
	size_t n_samples;      /* usable ticks, all zones together */
	char notes[512];       /* features left out and why */
};

int fit_recording(const struct recording *r, const struct fit_opts *o, struct fit_result *res,
		  struct wl_err *err);

/* Builds a PowerModel from a fit: fitted zones with regressions, source estimated or
 * measured, the given attribution; fit-* annotations are the worst zone's (lowest R^2,
 * highest MAPE). */
int fit_to_model(const struct fit_result *res, const struct fit_opts *o, const char *name,
		 bool estimated, enum pm_attribution attr, struct powermodel *out, struct wl_err *err);

/* Non-negative least squares on normal equations: minimises x'Gx - 2h'x subject to
 * x >= 0 (G n x n symmetric positive semi-definite, n <= 8). Lawson-Hanson active
 * set. -EDOM when a passive subproblem is singular. */
int fit_nnls(const double *G, const double *h, int n, double *x);

#endif
