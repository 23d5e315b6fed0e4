/* test_util.c - the strict number parsers, wl_zalloc and the enum name tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/common/nametab.h"
#include "agent/common/util.h"

struct num_case {
	const char *in;
	int rc;          /* expected return */
	uint64_t u;      /* parse_u64's value when rc == 0 */
	int i_rc;        /* parse_i64's expected return */
	int64_t i;       /* its value when i_rc == 0 */
};

static const struct num_case num_cases[] = {
	{ "0", 0, 0, 0, 0 },
	{ "42", 0, 42, 0, 42 },
	{ " \t17\n", 0, 17, 0, 17 },
	{ "18446744073709551615", 0, UINT64_MAX, -ERANGE, 0 },
	{ "18446744073709551616", -ERANGE, 0, -ERANGE, 0 },
	{ "9223372036854775807", 0, INT64_MAX, 0, INT64_MAX },
	{ "-9223372036854775808", -EINVAL, 0, 0, INT64_MIN },
	{ "-5", -EINVAL, 0, 0, -5 },
	{ "+5", -EINVAL, 0, 0, 5 },
	{ "-", -EINVAL, 0, -EINVAL, 0 },
	{ "- 5", -EINVAL, 0, -EINVAL, 0 },
	{ "", -EINVAL, 0, -EINVAL, 0 },
	{ "   ", -EINVAL, 0, -EINVAL, 0 },
	{ "12x", -EINVAL, 0, -EINVAL, 0 },
	{ "1 2", -EINVAL, 0, -EINVAL, 0 },
	{ "0x10", -EINVAL, 0, -EINVAL, 0 },
	{ NULL, -EINVAL, 0, -EINVAL, 0 },
};

/* Every case through both parsers; a failed parse leaves the output untouched. */
static void test_parse_integers(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(num_cases) / sizeof(num_cases[0]); k++) {
		const struct num_case *c = &num_cases[k];
		uint64_t u = 777;
		int64_t i = -777;

		assert_int_equal(parse_u64(c->in, &u), c->rc);
		assert_int_equal(u, c->rc ? 777 : c->u);
		assert_int_equal(parse_i64(c->in, &i), c->i_rc);
		assert_int_equal(i, c->i_rc ? -777 : c->i);
	}
}

static void test_zalloc(void **state)
{
	struct wl_err e = { "untouched" };
	unsigned char *p = wl_zalloc(64, "who", &e);

	(void)state;
	assert_non_null(p);
	for (int k = 0; k < 64; k++)
		assert_int_equal(p[k], 0);
	assert_string_equal(e.msg, "untouched"); /* only a failure writes the error */
	free(p);
}

enum color { C_RED, C_GREEN, C_BLUE, C_UNNAMED, C_COUNT };

static const char *const color_names[C_COUNT] = {
	[C_RED] = "red", [C_GREEN] = "green", [C_BLUE] = "blue", /* C_UNNAMED: a hole */
};

static void test_nametab_name(void **state)
{
	(void)state;
	assert_int_equal(NAMETAB_LEN(color_names), C_COUNT);
	assert_string_equal(nametab_name(color_names, C_COUNT, C_RED, "?"), "red");
	assert_string_equal(nametab_name(color_names, C_COUNT, C_BLUE, "?"), "blue");
	assert_string_equal(nametab_name(color_names, C_COUNT, C_UNNAMED, "?"), "?");
	assert_string_equal(nametab_name(color_names, C_COUNT, C_COUNT, "?"), "?");
	assert_string_equal(nametab_name(color_names, C_COUNT, -1, "none"), "none");
	assert_null(nametab_name(color_names, C_COUNT, 99, NULL));
}

static void test_nametab_find(void **state)
{
	(void)state;
	assert_int_equal(nametab_find(color_names, C_COUNT, "red"), C_RED);
	assert_int_equal(nametab_find(color_names, C_COUNT, "blue"), C_BLUE);
	assert_int_equal(nametab_find(color_names, C_COUNT, "Blue"), -EINVAL);
	assert_int_equal(nametab_find(color_names, C_COUNT, ""), -EINVAL);
	assert_int_equal(nametab_find(color_names, C_COUNT, NULL), -EINVAL);
	assert_int_equal(nametab_find(color_names, C_BLUE, "blue"), -EINVAL); /* past n */
}

WL_TEST_MAIN(cmocka_unit_test(test_parse_integers), cmocka_unit_test(test_zalloc),
	     cmocka_unit_test(test_nametab_name), cmocka_unit_test(test_nametab_find))
