/* humanfmt.h - numbers a person reads at a glance: three significant digits and a unit
 * with an SI prefix ("10.6 W", "26.6 kJ", "1.18 mg"), for kubectl printer columns
 * (status.display of PodEnergy, NodeEnergy, EnergyPolicy) and `wattlet top`.
 *
 * The value is scaled by powers of 1000 within the unit's prefixes (for watts and
 * joules: n, µ (written "u"), m, none, k, M, G, T, P; for grams: ng ... g, kg, then
 * t (tonnes), kt, Mt) and printed with 3 significant digits, never in exponent form,
 * trailing zeros kept ("1.00 kW"): at most 3 significant digits. 0 prints "0 <unit>".
 * Outside the prefixes' range the mantissa has more integer digits (at most 4
 * significant still holds up to 1000x the largest prefix: beyond, "inf"-sized values
 * print "> 999 P<unit>"). Not finite or negative: "-" (CRD status fields are never
 * negative; a display is never wrong, it says nothing).
 *
 * Return convention: the length written (as snprintf, without the NUL), out always
 * NUL-terminated when cap > 0. No state, no logging; any thread.
 */
#ifndef WATTLET_HUMANFMT_H
#define WATTLET_HUMANFMT_H

#include <stddef.h>

enum hf_unit {
	HF_WATTS,  /* W */
	HF_JOULES, /* J */
	HF_GRAMS,  /* g, then t (1e6 g) */
	HF_SECONDS /* s below 1000 s, then min, h, d ("12.5 min", "3.20 h", "4.00 d") */
};

int hf_format(double v, enum hf_unit unit, char *out, size_t cap);

#endif
