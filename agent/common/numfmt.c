/* numfmt.c - see numfmt.h. */
#include "numfmt.h"

#include <stdio.h>
#include <stdlib.h>

char *fmt_double_exact(double v, char out[NUMFMT_EXACT_CAP])
{
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(out, NUMFMT_EXACT_CAP, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			break;
	}
	return out;
}
