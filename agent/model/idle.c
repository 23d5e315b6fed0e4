#include "idle.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../common/nametab.h"

#define NBINS 20 /* utilisation bins of 5 % */
#define MIN_FIT_BINS 3
#define MIN_FIT_SPAN 0.25 /* extrapolation error grows as noise / span */
#define MIN_BIN_SAMPLES 5
#define MIN_LOW_SAMPLES 5

struct sample {
	double w, u;
};

struct idle_est {
	struct sample *ring;
	size_t cap, n, head;
	double percentile, low_util;
	double *scratch; /* cap doubles, reused by update */
	double est;
	enum idle_source src;
	double seed;
	bool has_seed;
	struct idle_info info; /* of the last update */
};

struct idle_est *idle_est_new(size_t window, double percentile, double low_util)
{
	struct idle_est *e;

	if (window < 2 || percentile < 0 || percentile > 100 || low_util < 0 || low_util > 1)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->ring = calloc(window, sizeof(*e->ring));
	e->scratch = calloc(window, sizeof(*e->scratch));
	if (!e->ring || !e->scratch) {
		idle_est_free(e);
		return NULL;
	}
	e->cap = window;
	e->percentile = percentile;
	e->low_util = low_util;
	return e;
}

void idle_est_free(struct idle_est *e)
{
	if (!e)
		return;
	free(e->ring);
	free(e->scratch);
	free(e);
}

void idle_est_add(struct idle_est *e, double watts, double util)
{
	if (!isfinite(watts) || !isfinite(util) || watts < 0)
		return;
	if (util < 0)
		util = 0;
	if (util > 1)
		util = 1;
	e->ring[e->head] = (struct sample){ watts, util };
	e->head = (e->head + 1) % e->cap;
	if (e->n < e->cap)
		e->n++;
}

void idle_est_seed(struct idle_est *e, double watts)
{
	if (!isfinite(watts) || watts < 0)
		return;
	e->seed = watts;
	e->has_seed = true;
	if (e->src == IDLE_SRC_NONE) {
		e->est = watts;
		e->src = IDLE_SRC_SEED;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* percentile of v[0..n) (sorted in place), linear interpolation */
static double percentile_of(double *v, size_t n, double p)
{
	double pos, frac;
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	if (n == 1)
		return v[0];
	pos = p / 100.0 * (double)(n - 1);
	i = (size_t)pos;
	frac = pos - (double)i;
	return i + 1 < n ? v[i] * (1 - frac) + v[i + 1] * frac : v[n - 1];
}

static size_t bin_of(double u)
{
	size_t b = (size_t)(u * NBINS);
	return b >= NBINS ? NBINS - 1 : b;
}

/* Weighted least squares through per-bin medians; returns 0 and the intercept. */
static int fit_intercept(struct idle_est *e, double *intercept)
{
	struct idle_info *inf = &e->info;
	double med[NBINS], mu[NBINS], wt[NBINS];
	size_t used = 0;
	double umin = 1, umax = 0;

	for (size_t b = 0; b < NBINS; b++) {
		size_t k = 0;
		double usum = 0;
		for (size_t i = 0; i < e->n; i++)
			if (bin_of(e->ring[i].u) == b) {
				e->scratch[k++] = e->ring[i].w;
				usum += e->ring[i].u;
			}
		if (k < MIN_BIN_SAMPLES || k < e->n / 100)
			continue;
		med[used] = percentile_of(e->scratch, k, 50);
		mu[used] = usum / (double)k;
		wt[used] = (double)k;
		umin = fmin(umin, mu[used]);
		umax = fmax(umax, mu[used]);
		used++;
	}
	if (used < MIN_FIT_BINS || umax - umin < MIN_FIT_SPAN)
		return -EAGAIN;

	double sw = 0, su = 0, sp = 0, suu = 0, sup = 0;
	for (size_t i = 0; i < used; i++) {
		sw += wt[i];
		su += wt[i] * mu[i];
		sp += wt[i] * med[i];
		suu += wt[i] * mu[i] * mu[i];
		sup += wt[i] * mu[i] * med[i];
	}
	double den = sw * suu - su * su;
	if (fabs(den) < 1e-12)
		return -EAGAIN;
	double slope = (sw * sup - su * sp) / den;
	double icpt = (sp - slope * su) / sw;
	if (!isfinite(icpt) || slope < 0)
		return -EAGAIN;
	double ss = 0;
	for (size_t i = 0; i < used; i++) {
		double r = med[i] - (icpt + slope * mu[i]);
		ss += wt[i] * r * r;
	}
	inf->fit_bins = used;
	inf->fit_span = umax - umin;
	inf->fit_rmse = sqrt(ss / sw);
	*intercept = icpt;
	return 0;
}

int idle_est_update(struct idle_est *e)
{
	size_t k = 0;
	double low_pct, fit;

	if (e->n == 0)
		return e->src == IDLE_SRC_NONE ? -EAGAIN : 0;

	for (size_t i = 0; i < e->n; i++)
		e->scratch[k++] = e->ring[i].w;
	low_pct = percentile_of(e->scratch, k, e->percentile);
	memset(&e->info, 0, sizeof(e->info));

	if (fit_intercept(e, &fit) == 0 && fit >= 0 && fit <= low_pct) {
		e->est = fit;
		e->src = IDLE_SRC_FIT;
		return 0;
	}
	k = 0;
	for (size_t i = 0; i < e->n; i++)
		if (e->ring[i].u <= e->low_util)
			e->scratch[k++] = e->ring[i].w;
	if (k >= MIN_LOW_SAMPLES) {
		e->info.low_samples = k;
		e->est = percentile_of(e->scratch, k, e->percentile);
		e->src = IDLE_SRC_LOW;
		return 0;
	}
	if (e->src == IDLE_SRC_FIT || e->src == IDLE_SRC_LOW || e->src == IDLE_SRC_SEED)
		return 0; /* keep the last learned value */
	if (e->has_seed) {
		e->est = e->seed;
		e->src = IDLE_SRC_SEED;
		return 0;
	}
	e->est = low_pct;
	e->src = IDLE_SRC_FALLBACK;
	return 0;
}

int idle_est_get(const struct idle_est *e, double *watts, enum idle_source *src)
{
	if (e->src == IDLE_SRC_NONE)
		return -EAGAIN;
	*watts = e->est;
	if (src)
		*src = e->src;
	return 0;
}

size_t idle_est_count(const struct idle_est *e)
{
	return e->n;
}

const char *idle_source_name(enum idle_source s)
{
	static const char *const names[] = {
		[IDLE_SRC_NONE] = "none", [IDLE_SRC_CONFIGURED] = "configured",
		[IDLE_SRC_FIT] = "learned-fit", [IDLE_SRC_LOW] = "learned-low",
		[IDLE_SRC_SEED] = "learned-checkpoint", [IDLE_SRC_FALLBACK] = "fallback",
	};
	return nametab_name(names, NAMETAB_LEN(names), s, "none");
}

bool idle_est_info(const struct idle_est *e, struct idle_info *out)
{
	*out = e->info;
	out->src = e->src;
	out->samples = e->n;
	if (e->src != IDLE_SRC_FIT) {
		out->fit_bins = 0;
		out->fit_span = 0;
		out->fit_rmse = 0;
	}
	if (e->src != IDLE_SRC_LOW)
		out->low_samples = 0;
	if (e->n < (e->cap < IDLE_CONFIDENT_SAMPLES ? e->cap : IDLE_CONFIDENT_SAMPLES))
		return false;
	if (e->src == IDLE_SRC_FIT)
		return out->fit_bins >= MIN_FIT_BINS;
	return e->src == IDLE_SRC_LOW && out->low_samples >= MIN_LOW_SAMPLES;
}
