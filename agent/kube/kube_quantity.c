#include "kube_quantity.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Multiplier of a suffix that ends the string; 0 when unknown. */
static double suffix_mult(const char *s)
{
	static const struct {
		const char *sfx;
		double mult;
	} tab[] = {
		{ "", 1.0 },	  { "n", 1e-9 },	{ "u", 1e-6 },	     { "m", 1e-3 },
		{ "k", 1e3 },	  { "M", 1e6 },		{ "G", 1e9 },	     { "T", 1e12 },
		{ "P", 1e15 },	  { "E", 1e18 },	{ "Ki", 1024.0 },    { "Mi", 1048576.0 },
		{ "Gi", 1073741824.0 }, { "Ti", 1099511627776.0 }, { "Pi", 1125899906842624.0 },
		{ "Ei", 1152921504606846976.0 },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(s, tab[i].sfx) == 0)
			return tab[i].mult;
	return 0;
}

int kube_quantity_parse(const char *s, double *out)
{
	const char *p = s, *num_start;
	char num[64];
	size_t nlen;
	double v, mult;
	bool digits = false;

	if (!s || !out)
		return -EINVAL;
	if (*p == '+' || *p == '-')
		p++;
	while (is_digit(*p)) {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (is_digit(*p)) {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return -EINVAL;
	num_start = s;
	nlen = (size_t)(p - num_start);
	if (nlen >= sizeof(num))
		return -EINVAL;
	memcpy(num, num_start, nlen);
	num[nlen] = '\0';
	v = strtod(num, NULL);

	if ((*p == 'e' || *p == 'E') && p[1] != '\0' && p[1] != 'i') {
		/* decimal exponent: e<int> */
		const char *q = p + 1;
		char *end;
		long ex;
		if (*q == '+' || *q == '-')
			q++;
		if (!is_digit(*q))
			return -EINVAL;
		while (is_digit(*q))
			q++;
		if (*q != '\0')
			return -EINVAL;
		errno = 0;
		ex = strtol(p + 1, &end, 10);
		if (errno || *end || ex > 400 || ex < -400)
			return -ERANGE;
		mult = pow(10.0, (double)ex);
	} else {
		mult = suffix_mult(p);
		if (mult == 0)
			return -EINVAL;
	}
	v *= mult;
	if (!isfinite(v))
		return -ERANGE;
	*out = v;
	return 0;
}

int kube_quantity_cores(const char *s, double *out)
{
	double v;
	int err = kube_quantity_parse(s, &v);
	if (err)
		return err;
	if (v < 0)
		return -ERANGE;
	*out = v;
	return 0;
}
