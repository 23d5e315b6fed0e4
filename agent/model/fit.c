/* fit.c - see fit.h. */
#include "fit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMAX 8

/* Solves G[P,P] z = h[P] by Cholesky; P given as an index list. -EDOM if singular. */
static int solve_passive(const double *G, const double *h, int n, const int *P, int np, double *z)
{
	double L[NMAX][NMAX] = { { 0 } }, y[NMAX];

	for (int i = 0; i < np; i++) {
		for (int j = 0; j <= i; j++) {
			double s = G[P[i] * n + P[j]];
			for (int k = 0; k < j; k++)
				s -= L[i][k] * L[j][k];
			if (i == j) {
				if (!(s > 1e-12 * (fabs(G[P[i] * n + P[i]]) + 1e-300)))
					return -EDOM;
				L[i][i] = sqrt(s);
			} else {
				L[i][j] = s / L[j][j];
			}
		}
	}
	for (int i = 0; i < np; i++) {
		double s = h[P[i]];
		for (int k = 0; k < i; k++)
			s -= L[i][k] * y[k];
		y[i] = s / L[i][i];
	}
	for (int i = np - 1; i >= 0; i--) {
		double s = y[i];
		for (int k = i + 1; k < np; k++)
			s -= L[k][i] * z[k];
		z[i] = s / L[i][i];
	}
	return 0;
}

int fit_nnls(const double *G, const double *h, int n, double *x)
{
	bool passive[NMAX] = { false };
	double w[NMAX], z[NMAX], scale = 0;
	int P[NMAX], np;

	if (!G || !h || !x || n < 1 || n > NMAX)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		x[i] = 0;
		scale = fmax(scale, fabs(h[i]));
	}
	const double tol = 1e-12 * (scale > 0 ? scale : 1);
	for (int outer = 0; outer < 10 * n; outer++) {
		int jmax = -1;
		double wmax = tol;
		for (int i = 0; i < n; i++) {
			double s = h[i];
			for (int k = 0; k < n; k++)
				s -= G[i * n + k] * x[k];
			w[i] = s;
			if (!passive[i] && w[i] > wmax) {
				wmax = w[i];
				jmax = i;
			}
		}
		if (jmax < 0)
			return 0; /* KKT: every active gradient <= 0 */
		passive[jmax] = true;
		for (int inner = 0; inner < 10 * n; inner++) {
			double alpha = 1;
			bool feasible = true;
			int rc;

			np = 0;
			for (int i = 0; i < n; i++)
				if (passive[i])
					P[np++] = i;
			rc = solve_passive(G, h, n, P, np, z);
			if (rc)
				return rc;
			for (int k = 0; k < np; k++)
				if (z[k] <= 0) {
					feasible = false;
					double d = x[P[k]] - z[k];
					double a = d > 0 ? x[P[k]] / d : 0;
					if (a < alpha)
						alpha = a;
				}
			if (feasible) {
				for (int i = 0; i < n; i++)
					x[i] = 0;
				for (int k = 0; k < np; k++)
					x[P[k]] = z[k];
				break;
			}
			for (int k = 0; k < np; k++) {
				x[P[k]] += alpha * (z[k] - x[P[k]]);
				if (x[P[k]] <= tol * 1e-3) {
					x[P[k]] = 0;
					passive[P[k]] = false;
				}
			}
			/* the variable that hit zero with alpha leaves; guard anyway */
			bool any = false;
			for (int i = 0; i < n; i++)
				any |= passive[i];
			if (!any)
				break;
		}
	}
	return 0;
}

/* ---- fitting a recording ---------------------------------------------------------- */

static bool usable(const struct rec_tick *t, int z)
{
	return t->dt_ns > 0 && (t->zone_mask & (1u << z)) && !(t->bad_mask & (1u << z));
}

static void rates_of(const struct rec_tick *t, double x[FEAT_COUNT])
{
	pm_rates(t->node, t->dt_ns, x);
}

/* R^2 of regressing column j on the columns in cols (least squares with intercept),
 * from the centred Gram matrix C (FEAT_COUNT x FEAT_COUNT). */
static double r2_on_others(const double C[FEAT_COUNT][FEAT_COUNT], int j, const int *cols, int nc)
{
	double G[NMAX * NMAX], h[NMAX], b[NMAX], fitted = 0;
	int P[NMAX];

	if (nc == 0 || C[j][j] <= 0)
		return 0;
	for (int a = 0; a < nc; a++) {
		for (int c = 0; c < nc; c++)
			G[a * nc + c] = C[cols[a]][cols[c]];
		h[a] = C[cols[a]][j];
		P[a] = a;
	}
	if (solve_passive(G, h, nc, P, nc, b) != 0)
		return 1; /* the others are themselves dependent; treat as collinear */
	for (int a = 0; a < nc; a++)
		fitted += b[a] * h[a];
	return fitted / C[j][j];
}

static int fit_zone(const struct recording *r, int z, const struct fit_opts *o, uint32_t fmask,
		    struct fit_zone *fz, struct wl_err *err)
{
	size_t n = 0, n_train, seen = 0;
	int feats[FEAT_COUNT], k = 0;
	double mean[FEAT_COUNT] = { 0 }, C[FEAT_COUNT][FEAT_COUNT] = { { 0 } };
	double rms[FEAT_COUNT] = { 0 };
	double G[NMAX * NMAX] = { 0 }, h[NMAX] = { 0 }, sol[NMAX];
	int rc;

	memset(fz, 0, sizeof(*fz));
	for (int f = 0; f < FEAT_COUNT; f++)
		if (fmask & (1u << f))
			feats[k++] = f;
	for (size_t i = 0; i < r->n_ticks; i++)
		n += usable(&r->ticks[i], z);
	n_train = o->holdout > 0 ? (size_t)floor((double)n * (1 - o->holdout)) : n;
	fz->n_train = n_train;
	fz->n_test = n - n_train;
	{
		size_t need = FIT_MIN_TRAIN > 5 * (k + 1) ? FIT_MIN_TRAIN : (size_t)(5 * (k + 1));
		if (n_train < need || (o->holdout > 0 && fz->n_test < FIT_MIN_TEST))
			return err_set(err, EINVAL, "zone %s: the recording is too short: %zu usable ticks "
				       "give %zu for fitting and %zu held out; at least %zu and %d are needed "
				       "(%d features + intercept). Record longer, with varying load",
				       zone_name(z), n, n_train, fz->n_test, need, o->holdout > 0 ? FIT_MIN_TEST : 0, k);
	}

	/* training statistics: means, centred Gram (for the spread and collinearity checks) */
	for (size_t i = 0; i < r->n_ticks && seen < n_train; i++) {
		double x[FEAT_COUNT];
		if (!usable(&r->ticks[i], z))
			continue;
		rates_of(&r->ticks[i], x);
		for (int a = 0; a < k; a++)
			mean[feats[a]] += x[feats[a]];
		seen++;
	}
	for (int a = 0; a < k; a++)
		mean[feats[a]] /= (double)n_train;
	seen = 0;
	for (size_t i = 0; i < r->n_ticks && seen < n_train; i++) {
		const struct rec_tick *t = &r->ticks[i];
		double x[FEAT_COUNT], y, row[NMAX];
		if (!usable(t, z))
			continue;
		rates_of(t, x);
		for (int a = 0; a < k; a++) {
			for (int b = 0; b < k; b++)
				C[feats[a]][feats[b]] += (x[feats[a]] - mean[feats[a]]) * (x[feats[b]] - mean[feats[b]]);
			rms[feats[a]] += x[feats[a]] * x[feats[a]];
		}
		y = (double)t->uj[z] / 1e6 / (t->dt_ns / 1e9);
		row[0] = 1;
		for (int a = 0; a < k; a++)
			row[a + 1] = x[feats[a]];
		for (int a = 0; a <= k; a++) {
			h[a] += row[a] * y;
			for (int b = 0; b <= k; b++)
				G[a * (k + 1) + b] += row[a] * row[b];
		}
		seen++;
	}
	for (int a = 0; a < k; a++) {
		int f = feats[a];
		double var = C[f][f] / (double)n_train;
		rms[f] = sqrt(rms[f] / (double)n_train);
		if (!(var > 0) || sqrt(var) < 0.02 * fmax(fabs(mean[f]), 1e-12))
			return err_set(err, EINVAL, "zone %s: feature %s does not vary in the fitting part "
				       "(mean %.4g, sd %.3g): with a steady load idle power and the per-unit "
				       "power cannot be told apart. Record with varying load (e.g. stress-ng at "
				       "several levels)", zone_name(z), feature_name(f), mean[f], sqrt(var > 0 ? var : 0));
	}
	for (int a = 1; a < k; a++) {
		double r2 = r2_on_others(C, feats[a], feats, a);
		if (r2 > FIT_COLLINEAR_R2) {
			char others[128] = "";
			for (int b = 0; b < a; b++)
				snprintf(others + strlen(others), sizeof(others) - strlen(others), "%s%s",
					 b ? ", " : "", feature_name(feats[b]));
			return err_set(err, EINVAL, "zone %s: features are collinear: %s is explained by %s "
				       "with R^2 = %.6f (> %.3f), so their weights cannot be told apart. Fit "
				       "with fewer features (--features) or record a more varied load",
				       zone_name(z), feature_name(feats[a]), others, r2, FIT_COLLINEAR_R2);
		}
	}

	/* scale feature columns to unit RMS; normal equations divided by n */
	{
		double s[NMAX];
		s[0] = 1;
		for (int a = 0; a < k; a++)
			s[a + 1] = rms[feats[a]];
		for (int a = 0; a <= k; a++) {
			h[a] /= s[a] * (double)n_train;
			for (int b = 0; b <= k; b++)
				G[a * (k + 1) + b] /= s[a] * s[b] * (double)n_train;
		}
		for (int a = 1; a <= k; a++)
			G[a * (k + 1) + a] += o->ridge;
		rc = fit_nnls(G, h, k + 1, sol);
		if (rc)
			return err_set(err, EINVAL, "zone %s: the least-squares problem is singular "
				       "(collinear features?)", zone_name(z));
		fz->intercept_w = sol[0];
		for (int a = 0; a < k; a++) {
			fz->weight[feats[a]] = sol[a + 1] / s[a + 1];
			fz->coef_mask |= 1u << feats[a];
		}
	}

	/* quality: on the held-out part (or the training part without holdout) */
	{
		double sy[2] = { 0 }, ss_res[2] = { 0 }, ss_tot[2] = { 0 }, ape = 0, ym[2];
		size_t cnt[2] = { 0 }, nape = 0;
		struct pm_zone pz = { .has_regression = true, .intercept_w = fz->intercept_w,
				      .coef_mask = fz->coef_mask };
		memcpy(pz.weight, fz->weight, sizeof(pz.weight));
		for (int pass = 0; pass < 2; pass++) {
			seen = 0;
			for (size_t i = 0; i < r->n_ticks; i++) {
				const struct rec_tick *t = &r->ticks[i];
				double x[FEAT_COUNT], y, p;
				int part;
				if (!usable(t, z))
					continue;
				part = seen++ < n_train ? 0 : 1;
				y = (double)t->uj[z] / 1e6 / (t->dt_ns / 1e9);
				if (pass == 0) {
					sy[part] += y;
					cnt[part]++;
					continue;
				}
				rates_of(t, x);
				p = pm_predict_w(&pz, x);
				ss_res[part] += (y - p) * (y - p);
				ss_tot[part] += (y - ym[part]) * (y - ym[part]);
				if (part == (fz->n_test ? 1 : 0) && y > 1e-9) {
					ape += fabs(y - p) / y;
					nape++;
				}
			}
			for (int p = 0; p < 2; p++)
				ym[p] = cnt[p] ? sy[p] / (double)cnt[p] : 0;
		}
		int q = fz->n_test ? 1 : 0;
		fz->train_r2 = ss_tot[0] > 0 ? 1 - ss_res[0] / ss_tot[0] : NAN;
		fz->r2 = ss_tot[q] > 1e-12 * (double)cnt[q] ? 1 - ss_res[q] / ss_tot[q] : NAN;
		fz->mape = nape ? 100 * ape / (double)nape : NAN;
	}
	fz->fitted = true;
	return 0;
}

int fit_recording(const struct recording *r, const struct fit_opts *o, struct fit_result *res,
		  struct wl_err *err)
{
	uint32_t zmask = 0, fdata = 0, fmask;
	int rc;

	if (!r || !o || !res)
		return err_set(err, EINVAL, "fit: nothing to fit");
	memset(res, 0, sizeof(*res));
	if (!(o->holdout >= 0 && o->holdout < 1))
		return err_set(err, EINVAL, "holdout %g is outside [0, 1)", o->holdout);
	if (!(o->ridge >= 0) || !isfinite(o->ridge))
		return err_set(err, EINVAL, "ridge %g must be a finite value >= 0", o->ridge);
	for (size_t i = 0; i < r->n_ticks; i++) {
		const struct rec_tick *t = &r->ticks[i];
		zmask |= t->zone_mask;
		if (t->dt_ns && t->zone_mask)
			res->n_samples++;
		for (int f = 0; f < FEAT_COUNT; f++)
			if (t->node[f])
				fdata |= 1u << f;
	}
	if (!zmask)
		return err_set(err, EINVAL, "the recording has no measured energy (recorded without a "
			       "meter); record on a node with a meter of the same hardware");
	if (o->zone_mask) {
		for (int z = 0; z < ZONE_COUNT; z++)
			if ((o->zone_mask & (1u << z)) && !(zmask & (1u << z)))
				return err_set(err, EINVAL, "zone %s was not measured in the recording", zone_name(z));
		zmask = o->zone_mask;
	}
	fmask = o->feature_mask ? o->feature_mask : ((1u << REC_NFEAT) - 1);
	for (int f = 0; f < FEAT_COUNT; f++) {
		if (!(fmask & (1u << f)) || (fdata & (1u << f)))
			continue;
		if (o->feature_mask)
			return err_set(err, EINVAL, "feature %s has no data in the recording (all zero; "
				       "no hardware counters?)", feature_name(f));
		snprintf(res->notes + strlen(res->notes), sizeof(res->notes) - strlen(res->notes),
			 "%sfeature %s left out: all zero in the recording", res->notes[0] ? "; " : "",
			 feature_name(f));
		fmask &= ~(1u << f);
	}
	if (!fmask)
		return err_set(err, EINVAL, "no usage feature has data in the recording");
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(zmask & (1u << z)))
			continue;
		rc = fit_zone(r, z, o, fmask, &res->zone[z], err);
		if (rc)
			return rc;
	}
	return 0;
}

int fit_to_model(const struct fit_result *res, const struct fit_opts *o, const char *name,
		 bool estimated, enum pm_attribution attr, struct powermodel *out, struct wl_err *err)
{
	bool any = false;

	if (!res || !out || !name)
		return err_set(err, EINVAL, "fit_to_model: bad arguments");
	memset(out, 0, sizeof(*out));
	if (strlen(name) > PM_NAME_MAX)
		return err_set(err, EINVAL, "name too long");
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->attribution = attr;
	out->fit_r2 = out->fit_mape = NAN;
	out->fit_holdout = o ? o->holdout : NAN;
	out->fit_samples = (long)res->n_samples;
	for (int z = 0; z < ZONE_COUNT; z++) {
		const struct fit_zone *fz = &res->zone[z];
		struct pm_zone *pz = &out->zone[z];
		if (!fz->fitted)
			continue;
		any = true;
		pz->present = true;
		pz->estimated = estimated;
		pz->idle_w = -1;
		pz->feature = FEAT_CPU_TIME;
		pz->has_regression = true;
		pz->intercept_w = fz->intercept_w;
		pz->coef_mask = fz->coef_mask;
		memcpy(pz->weight, fz->weight, sizeof(pz->weight));
		if (isfinite(fz->r2) && !(fz->r2 >= out->fit_r2))
			out->fit_r2 = fz->r2;
		if (isfinite(fz->mape) && !(fz->mape <= out->fit_mape))
			out->fit_mape = fz->mape;
	}
	if (!any)
		return err_set(err, EINVAL, "no zone was fitted");
	return 0;
}
