/* numfmt.h - a double written so that it reads back exactly: "%.*g" with the fewest
 * significant digits, from 6 to 17, for which strtod() gives v again (17 always does
 * for a finite v). "0.1" stays "0.1", 0.1 + 0.2 becomes "0.30000000000000004". Not finite:
 * as printf writes it ("inf", "nan").
 *
 * Return convention: out (always NUL-terminated). No state, no logging; any thread. */
#ifndef WATTLET_NUMFMT_H
#define WATTLET_NUMFMT_H

/* Room for any double in this form, with its NUL. */
#define NUMFMT_EXACT_CAP 40

char *fmt_double_exact(double v, char out[NUMFMT_EXACT_CAP]);

#endif
