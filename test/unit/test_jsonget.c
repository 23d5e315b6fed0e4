/* test_jsonget.c - the JSON member getters (agent/common/jsonget.h): strict ones for
 * checked input (absent, null, wrong type, NUL byte, too long, error names the field) and
 * lenient ones with defaults. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/common/jsonget.h"
#include "test/unit/fixture_json.h"

static const char DOC[] = "{\"s\": \"abc\", \"empty\": \"\", \"n\": 2.5, \"i\": 7, \"nul\": null,"
			  " \"b\": true, \"o\": {}}";

static void test_strict_str(void **state)
{
	json_t *j = fixture_json_text(DOC);
	struct wl_err e = { "" };
	const char *s = "x";
	char buf[4];
	(void)state;

	/* a string with a NUL byte (json_loads refuses \u0000 unless asked to allow it) */
	json_object_set_new(j, "z", json_stringn("a\0b", 3));

	assert_int_equal(jg_str(j, "s", "f.s", &s, &e), 0);
	assert_string_equal(s, "abc");
	assert_int_equal(jg_str(j, "empty", "f.empty", &s, &e), 0);
	assert_string_equal(s, "");
	/* absent and null are the same; *out NULL */
	assert_int_equal(jg_str(j, "missing", "f.missing", &s, &e), -ENOENT);
	assert_null(s);
	s = "x";
	assert_int_equal(jg_str(j, "nul", "f.nul", &s, &e), -ENOENT);
	assert_null(s);
	assert_int_equal(jg_str(NULL, "s", "f.s", &s, &e), -ENOENT);
	/* wrong type and an embedded NUL are errors naming the field */
	assert_int_equal(jg_str(j, "n", "spec.zones[0].zone", &s, &e), -EINVAL);
	assert_string_equal(e.msg, "spec.zones[0].zone: not a string");
	assert_int_equal(jg_str(j, "z", "f.z", &s, &e), -EINVAL);
	assert_string_equal(e.msg, "f.z: contains a NUL byte");

	/* copies: the cap counts the terminator; out untouched on failure */
	assert_int_equal(jg_str_copy(j, "s", "f.s", buf, sizeof(buf), &e), 0);
	assert_string_equal(buf, "abc");
	memcpy(buf, "zz", 3);
	assert_int_equal(jg_str_copy(j, "s", "f.s", buf, 3, &e), -EINVAL);
	assert_string_equal(e.msg, "f.s: 3 characters (at most 2)");
	assert_string_equal(buf, "zz");
	assert_int_equal(jg_str_copy(j, "nul", "f.nul", buf, sizeof(buf), &e), -ENOENT);
	assert_int_equal(jg_str_copy(j, "o", "f.o", buf, sizeof(buf), &e), -EINVAL);
	assert_string_equal(e.msg, "f.o: not a string");
	assert_string_equal(buf, "zz");
	json_decref(j);
}

static void test_strict_num(void **state)
{
	json_t *j = fixture_json_text(DOC);
	struct wl_err e = { "" };
	double d = -1;
	(void)state;

	assert_int_equal(jg_num(j, "n", "f.n", &d, &e), 0);
	assert_true(d == 2.5);
	assert_int_equal(jg_num(j, "i", "f.i", &d, &e), 0); /* integers are numbers */
	assert_true(d == 7);
	d = -1;
	assert_int_equal(jg_num(j, "missing", "f.m", &d, &e), -ENOENT);
	assert_int_equal(jg_num(j, "nul", "f.nul", &d, &e), -ENOENT);
	assert_true(d == -1);
	assert_int_equal(jg_num(j, "s", "spec.carbonIntensity", &d, &e), -EINVAL);
	assert_string_equal(e.msg, "spec.carbonIntensity: not a number");
	assert_int_equal(jg_num(j, "b", "f.b", &d, &e), -EINVAL);
	assert_true(d == -1);
	json_decref(j);
}

static void test_lenient(void **state)
{
	json_t *j = fixture_json_text(DOC);
	(void)state;

	assert_string_equal(jg_str_or(j, "s", ""), "abc");
	assert_string_equal(jg_str_or(j, "missing", "dflt"), "dflt");
	assert_string_equal(jg_str_or(j, "n", "dflt"), "dflt");
	assert_null(jg_str_or(NULL, "s", NULL));
	assert_string_equal(jg_nonempty(j, "s"), "abc");
	assert_null(jg_nonempty(j, "empty"));
	assert_null(jg_nonempty(j, "nul"));
	assert_null(jg_nonempty(j, "i"));
	assert_true(jg_num_or(j, "n", 0) == 2.5);
	assert_true(jg_num_or(j, "i", 0) == 7);
	assert_true(jg_num_or(j, "s", 3) == 3);
	assert_true(jg_num_or(j, "missing", 0) == 0);
	assert_true(isnan(jg_num_or(j, "missing", NAN)));
	assert_true(isnan(jg_num_or(NULL, "n", NAN)));
	json_decref(j);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_strict_str),
	cmocka_unit_test(test_strict_num),
	cmocka_unit_test(test_lenient))
