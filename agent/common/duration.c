/* duration.c - see duration.h. */
#include "duration.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#define FRAC_DIGITS_KEPT 12 /* finer digits cannot change whole milliseconds */

static int unit_ms(const char *s, size_t *len, uint64_t *mul)
{
	if (s[0] == 'm' && s[1] == 's') {
		*len = 2;
		*mul = 1;
	} else if (*s == 's') {
		*len = 1;
		*mul = 1000;
	} else if (*s == 'm') {
		*len = 1;
		*mul = 60000;
	} else if (*s == 'h') {
		*len = 1;
		*mul = 3600000;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* One term at *sp (a bare integer only when it is the whole string and flags allow it),
 * added to *acc; *sp moves past it. */
static int term(const char **sp, bool whole, unsigned flags, uint64_t *acc)
{
	const char *s = *sp;
	uint64_t ip = 0, frac = 0, fden = 1, mul, v;
	unsigned __int128 f;
	size_t ulen;
	int nint = 0, nfrac = 0;

	for (; *s >= '0' && *s <= '9'; s++, nint++)
		if (__builtin_mul_overflow(ip, 10, &ip) ||
		    __builtin_add_overflow(ip, (uint64_t)(*s - '0'), &ip))
			return -ERANGE;
	if (nint == 0)
		return -EINVAL;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, nfrac++) {
			if ((flags & DURATION_EXACT) && nfrac >= 9)
				return -EINVAL; /* finer than a nanosecond */
			if (nfrac < FRAC_DIGITS_KEPT) {
				frac = frac * 10 + (uint64_t)(*s - '0');
				fden *= 10;
			}
		}
		if (nfrac == 0)
			return -EINVAL;
	}
	if (*s == '\0' && whole && nfrac == 0 && (flags & DURATION_BARE_MS)) {
		mul = 1;
		ulen = 0;
	} else if (unit_ms(s, &ulen, &mul) < 0) {
		return -EINVAL;
	}
	if (__builtin_mul_overflow(ip, mul, &v))
		return -ERANGE;
	f = (unsigned __int128)frac * mul; /* < 1e12 * 3.6e6: no overflow */
	if ((flags & DURATION_EXACT) && f % fden)
		return -EINVAL; /* not a whole number of milliseconds */
	if (__builtin_add_overflow(v, (uint64_t)(f / fden), &v) ||
	    __builtin_add_overflow(*acc, v, acc))
		return -ERANGE;
	*sp = s + ulen;
	return 0;
}

int duration_parse_ms(const char *s, unsigned flags, uint64_t *ms)
{
	uint64_t acc = 0;
	const char *p = s;

	if (!s || !ms || *s == '\0')
		return -EINVAL;
	while (*p) {
		int r = term(&p, p == s, flags, &acc);
		if (r < 0)
			return r;
	}
	*ms = acc;
	return 0;
}
