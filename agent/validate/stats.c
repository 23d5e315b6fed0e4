/* stats.c - means, spreads and Student-t confidence intervals for validation windows. */
#include <errno.h>
#include <math.h>

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
