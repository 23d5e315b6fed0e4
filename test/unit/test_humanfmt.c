/* test_humanfmt.c - display numbers (humanfmt.h): 3 significant digits, SI prefixes,
 * rounding that carries into the next prefix, and values that must say nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "agent/common/humanfmt.h"

static void is(double v, enum hf_unit u, const char *want)
{
	char out[32];
	int n = hf_format(v, u, out, sizeof(out));

	if (strcmp(out, want) != 0)
		fail_msg("%.17g: got '%s', want '%s'", v, out, want);
	assert_int_equal(n, (int)strlen(want));
}

/* significant digits of the number in s ("0.00118 g" -> 3) */
static int sig(const char *s)
{
	int n = 0, lead = 1;
	for (; *s && *s != ' '; s++) {
		if (*s == '.' || *s == '>')
			continue;
		if (*s == '0' && lead)
			continue;
		lead = 0;
		n++;
	}
	return n;
}

static void test_examples(void **st)
{
	(void)st;
	is(10.6186763344, HF_WATTS, "10.6 W");
	is(26.622378, HF_JOULES, "26.6 J");
	is(0.00118096177778, HF_GRAMS, "1.18 mg");
	is(0, HF_WATTS, "0 W");
	is(0, HF_GRAMS, "0 g");
	is(0, HF_SECONDS, "0 s");
	is(1, HF_JOULES, "1.00 J");
	is(999.4, HF_WATTS, "999 W");
	is(999.5, HF_WATTS, "1.00 kW"); /* rounding carries into the next prefix */
	is(9.996, HF_WATTS, "10.0 W");
	is(99.96, HF_WATTS, "100 W");
	is(123456.7, HF_JOULES, "123 kJ");
	is(3.6e6, HF_JOULES, "3.60 MJ");
	is(4.2e13, HF_JOULES, "42.0 TJ");
	is(2.5e6, HF_GRAMS, "2.50 t");
	is(0.25, HF_WATTS, "250 mW");
	is(1e-12, HF_WATTS, "0.00100 nW"); /* below every prefix: still 3 digits */
	is(60, HF_SECONDS, "1.00 min");
	is(59.4, HF_SECONDS, "59.4 s");
	is(7200, HF_SECONDS, "2.00 h");
	is(1e21, HF_WATTS, "> 999 PW");
	is(NAN, HF_WATTS, "-");
	is(INFINITY, HF_JOULES, "-");
	is(-1, HF_JOULES, "-");
}

/* every value over 40 decades prints at most 3 significant digits, parses back within
 * 0.5 % of the value, and never overflows a small buffer */
static void test_sweep(void **st)
{
	static const char *const pfx = "num kMGTP";
	static const double mult[] = { 1e-9, 1e-6, 1e-3, 1, 1e3, 1e6, 1e9, 1e12, 1e15 };
	char out[16], tiny[4];
	(void)st;

	for (double v = 1.234e-9; v < 1e18; v *= 1.37) {
		double x;
		char unit[8];
		const char *p;
		assert_true(hf_format(v, HF_WATTS, out, sizeof(out)) < (int)sizeof(out));
		if (sig(out) > 3)
			fail_msg("%g -> '%s': more than 3 significant digits", v, out);
		if (out[0] == '>')
			continue;
		assert_int_equal(sscanf(out, "%lf %7s", &x, unit), 2);
		p = strlen(unit) == 2 ? strchr(pfx, unit[0]) : pfx + 3;
		assert_non_null(p);
		x *= mult[p - pfx];
		if (fabs(x - v) > 0.005 * v)
			fail_msg("%g -> '%s' reads back as %g", v, out, x);
	}
	assert_int_equal(hf_format(12345, HF_JOULES, tiny, sizeof(tiny)), 7); /* "12.3 kJ" */
	assert_string_equal(tiny, "12.");
}

WL_TEST_MAIN(
	cmocka_unit_test(test_examples),
	cmocka_unit_test(test_sweep))
