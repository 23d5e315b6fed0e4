/* stats.c - means, spreads and Student-t confidence intervals for validation windows. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

/* Two-sided 95 % quantiles t(0.975, df), df = 1..30 (standard table values). */
static const double t95_table[30] = {
	12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
};

double vstats_t95(size_t df)
{
	double d;

	if (df == 0)
		return NAN;
	if (df <= 30)
		return t95_table[df - 1];
	/* Cornish-Fisher style expansion around the normal quantile; within 0.001 of the
	 * exact value for df > 30. */
	d = (double)df;
	{
		const double z = 1.959964;
		const double z3 = z * z * z, z5 = z3 * z * z;
		return z + (z3 + z) / (4 * d) + (5 * z5 + 16 * z3 + 3 * z) / (96 * d * d);
	}
}

int vstats_compute(const double *x, size_t n, struct vstats *out)
{
	double sum = 0, ss = 0, mean;

	if (!x || !out || n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			return -EINVAL;
		sum += x[i];
	}
	mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - mean) * (x[i] - mean);
	out->n = n;
	out->mean = mean;
	out->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
	out->ci95 = n > 1 ? vstats_t95(n - 1) * out->stddev / sqrt((double)n) : 0;
	return 0;
}

double validate_deviation_pct(double reported, double reference)
{
	if (!isfinite(reported) || !isfinite(reference) || reference == 0)
		return NAN;
	return (reported - reference) / reference * 100.0;
}

double vstats_diff_ci95(const struct vstats *a, const struct vstats *b)
{
	if (!a || !b)
		return NAN;
	return sqrt(a->ci95 * a->ci95 + b->ci95 * b->ci95);
}

double validate_deviation_ci95_pct(double reported, double reported_ci, double reference,
				   double reference_ci)
{
	double a, b;

	if (!isfinite(reported) || !isfinite(reference) || reference == 0 ||
	    !(reported_ci >= 0) || !(reference_ci >= 0))
		return NAN;
	/* first-order propagation through reported / reference */
	a = reported_ci / reference;
	b = reported * reference_ci / (reference * reference);
	return sqrt(a * a + b * b) * 100.0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

size_t vstats_trim_outliers(double *x, double (*ys)[VALIDATE_MAX_SAMPLES], size_t ny, size_t n)
{
	double tmp[VALIDATE_MAX_SAMPLES], med, mad, limit;
	size_t max_drop, dropped = 0;

	if (!x || n < 5 || n > VALIDATE_MAX_SAMPLES)
		return n;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			return n;
		tmp[i] = x[i];
	}
	med = median_of(tmp, n);
	for (size_t i = 0; i < n; i++)
		tmp[i] = fabs(x[i] - med);
	mad = median_of(tmp, n);
	if (!(mad > 0))
		return n;
	limit = 3.5 * 1.4826 * mad;
	max_drop = n / 4;
	while (dropped < max_drop) {
		size_t worst = 0;
		for (size_t i = 1; i < n; i++)
			if (fabs(x[i] - med) > fabs(x[worst] - med))
				worst = i;
		if (!(fabs(x[worst] - med) > limit))
			break;
		memmove(&x[worst], &x[worst + 1], (n - worst - 1) * sizeof(*x));
		for (size_t k = 0; ys && k < ny; k++)
			memmove(&ys[k][worst], &ys[k][worst + 1], (n - worst - 1) * sizeof(double));
		n--;
		dropped++;
	}
	return n;
}
