/* test_duration.c - the one duration parser (agent/common/duration.h) under both rule
 * sets: config (bare integers, exact milliseconds) and Kubernetes objects (units always,
 * fractions truncated). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/common/duration.h"

#define CFG (DURATION_BARE_MS | DURATION_EXACT)

struct dcase {
	const char *s;
	unsigned flags;
	int rc;
	uint64_t ms;
};

static void test_cases(void **state)
{
	static const struct dcase t[] = {
		/* shared syntax */
		{ "1h30m", CFG, 0, 5400000 }, { "1h30m", 0, 0, 5400000 },
		{ "1m0.25s", 0, 0, 60250 }, { "1h1h", CFG, 0, 7200000 }, { "500ms", 0, 0, 500 },
		{ "1.5h", CFG, 0, 5400000 },
		{ "", 0, -EINVAL, 0 }, { ".5s", CFG, -EINVAL, 0 }, { "1.s", 0, -EINVAL, 0 },
		{ "1S", 0, -EINVAL, 0 }, { "1 s", CFG, -EINVAL, 0 }, { "-1s", 0, -EINVAL, 0 },
		{ "1d", CFG, -EINVAL, 0 }, { "1e3s", 0, -EINVAL, 0 }, { "ms", CFG, -EINVAL, 0 },
		/* where the rule sets differ */
		{ "1500", CFG, 0, 1500 }, { "1500", 0, -EINVAL, 0 },
		{ "1ms500", CFG, -EINVAL, 0 }, { "1.5", CFG, -EINVAL, 0 },
		{ "0.0001s", 0, 0, 0 }, { "0.0001s", CFG, -EINVAL, 0 },
		{ "1.0005s", 0, 0, 1000 }, { "1.0005s", CFG, -EINVAL, 0 },
		{ "1.0000000000001s", 0, 0, 1000 }, { "1.0000000000s", CFG, -EINVAL, 0 },
		/* overflow */
		{ "5124095576030431h", 0, -ERANGE, 0 }, { "5124095576030432h", CFG, -ERANGE, 0 },
		{ "18446744073709551616", CFG, -ERANGE, 0 },
		{ "18446744073709551615ms1ms", 0, -ERANGE, 0 },
		{ "18446744073709551615", CFG, 0, UINT64_MAX },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t ms = 777;
		int rc = duration_parse_ms(t[i].s, t[i].flags, &ms);
		if (rc != t[i].rc || ms != (rc ? 777 : t[i].ms))
			fail_msg("\"%s\" flags %u: rc %d ms %llu, want rc %d ms %llu", t[i].s,
				 t[i].flags, rc, (unsigned long long)ms, t[i].rc,
				 (unsigned long long)(t[i].rc ? 777 : t[i].ms));
	}
	assert_int_equal(duration_parse_ms(NULL, 0, NULL), -EINVAL);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_cases))
