/* humanfmt.c - see humanfmt.h. */
#include "humanfmt.h"

#include <math.h>
#include <stdio.h>

/* x rounded as printed with d decimals. */
static double rounded(double x, int d)
{
	double p = pow(10, d);
	return round(x * p) / p;
}

/* Decimals that show x (> 0) with 3 significant digits: 2 for [1, 10), 1 for [10, 100),
 * 0 from 100 on; more below 1 (only used where no smaller prefix exists). One fewer
 * when rounding carries into a new digit (9.996 -> "10.0", not "10.00"). */
static int decimals(double x)
{
	int d = 2 - (int)floor(log10(x));

	d = d < 0 ? 0 : d > 9 ? 9 : d;
	if (d > 0 && rounded(x, d) >= pow(10, 3 - d))
		d--;
	return d;
}

struct scale {
	double factor;
	const char *name;
};

/* Picks the largest scale <= v (the smallest when v is below every one), then moves
 * one up when 3-digit rounding reaches 1000 of it ("999.7 W" -> "1.00 kW"). */
static int print_scaled(double v, const struct scale *s, size_t n, char *out, size_t cap)
{
	size_t i = 0;
	double x;
	int d;

	while (i + 1 < n && v >= s[i + 1].factor)
		i++;
	x = v / s[i].factor;
	d = decimals(x);
	if (i + 1 < n && rounded(x, d) >= s[i + 1].factor / s[i].factor) {
		i++;
		x = v / s[i].factor;
		d = decimals(x);
	}
	if (x >= 1000 && i + 1 == n)
		return snprintf(out, cap, "> 999 %s", s[i].name);
	return snprintf(out, cap, "%.*f %s", d, x, s[i].name);
}

static const struct scale WATTS[] = { { 1e-9, "nW" }, { 1e-6, "uW" }, { 1e-3, "mW" },
				      { 1, "W" },     { 1e3, "kW" },  { 1e6, "MW" },
				      { 1e9, "GW" },  { 1e12, "TW" }, { 1e15, "PW" } };
static const struct scale JOULES[] = { { 1e-9, "nJ" }, { 1e-6, "uJ" }, { 1e-3, "mJ" },
				       { 1, "J" },     { 1e3, "kJ" },  { 1e6, "MJ" },
				       { 1e9, "GJ" },  { 1e12, "TJ" }, { 1e15, "PJ" } };
static const struct scale GRAMS[] = { { 1e-9, "ng" }, { 1e-6, "ug" }, { 1e-3, "mg" },
				      { 1, "g" },     { 1e3, "kg" },  { 1e6, "t" },
				      { 1e9, "kt" },  { 1e12, "Mt" } };
static const struct scale SECONDS[] = { { 1e-3, "ms" }, { 1, "s" },     { 60, "min" },
					{ 3600, "h" },  { 86400, "d" } };

int hf_format(double v, enum hf_unit unit, char *out, size_t cap)
{
	const struct scale *s;
	size_t n, base = 3; /* index of the unprefixed unit */

	switch (unit) {
	case HF_WATTS:
		s = WATTS, n = sizeof(WATTS) / sizeof(*WATTS);
		break;
	case HF_JOULES:
		s = JOULES, n = sizeof(JOULES) / sizeof(*JOULES);
		break;
	case HF_GRAMS:
		s = GRAMS, n = sizeof(GRAMS) / sizeof(*GRAMS);
		break;
	case HF_SECONDS:
		s = SECONDS, n = sizeof(SECONDS) / sizeof(*SECONDS), base = 1;
		break;
	default:
		return snprintf(out, cap, "-");
	}
	if (!isfinite(v) || v < 0)
		return snprintf(out, cap, "-");
	if (v == 0)
		return snprintf(out, cap, "0 %s", s[base].name);
	return print_scaled(v, s, n, out, cap);
}
