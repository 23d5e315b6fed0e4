/* fixture_config.h - steps of the configuration-rule tests: a key set, then what
 * config_validate makes of the whole configuration (accepted, or refused with an error
 * that names the rule), or a value config_set itself refuses.
 *
 * Header-only; include after <cmocka.h>. Each step fails the test when it does not hold.
 */
#ifndef WATTLET_TEST_FIXTURE_CONFIG_H
#define WATTLET_TEST_FIXTURE_CONFIG_H

#include <string.h>

#include "agent/config/config.h"

/* A configuration under test and the error of its last step. */
struct config_test {
	struct config c;
	struct wl_err e;
};

/* t->c set to config_defaults(), which config_validate accepts. */
static inline void config_defaults_valid(struct config_test *t)
{
	config_defaults(&t->c);
	assert_int_equal(config_validate(&t->c, &t->e), 0);
}

/* config_set(key, value) succeeds; then config_validate accepts the configuration (want
 * NULL) or refuses it with an error containing want (left in t->e for more checks). */
static inline void assert_config_step(struct config_test *t, const char *key, const char *value,
				      const char *want)
{
	assert_int_equal(config_set(&t->c, key, value, &t->e), 0);
	if (!want) {
		assert_int_equal(config_validate(&t->c, &t->e), 0);
		return;
	}
	assert_int_not_equal(config_validate(&t->c, &t->e), 0);
	assert_non_null(strstr(t->e.msg, want));
}

/* config_set(key, value) refuses the value with an error containing want. */
static inline void assert_config_set_refused(struct config_test *t, const char *key,
					     const char *value, const char *want)
{
	assert_int_not_equal(config_set(&t->c, key, value, &t->e), 0);
	assert_non_null(strstr(t->e.msg, want));
}

#endif
