/* test_idle.c - idle power learning: recovers a known idle, never collapses under load. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/model/idle.h"

#define IDLE_W 10.0
#define W_PER_UTIL 30.0 /* 2 cores x 15 W per busy core */

static double noise(void)
{
	return ((rand() % 2001) - 1000) / 1000.0 * 0.3; /* +-0.3 W */
}

/* n samples at random utilisations u_min + [0, u_span) (rand() seeded with seed), each
 * drawing the model's power IDLE_W + W_PER_UTIL x u plus noise. */
static void add_on_model(struct idle_est *e, unsigned seed, int n, double u_min, double u_span)
{
	srand(seed);
	for (int i = 0; i < n; i++) {
		double u = u_min + u_span * (rand() % 1000) / 1000.0;
		idle_est_add(e, IDLE_W + W_PER_UTIL * u + noise(), u);
	}
}

/* Updates e, which must then have an estimate: its source (the watts in *w). */
static enum idle_source learned(struct idle_est *e, double *w)
{
	enum idle_source src;

	assert_int_equal(idle_est_update(e), 0);
	assert_int_equal(idle_est_get(e, w, &src), 0);
	return src;
}

static void test_fit_recovers_idle_without_idle_periods(void **state)
{
	(void)state;
	struct idle_est *e = idle_est_new(1800, 5, 0.10);
	double w;
	/* the node is never below 30 % busy, so idle must come from extrapolation */
	add_on_model(e, 1, 1800, 0.3, 0.6);
	assert_int_equal(learned(e, &w), IDLE_SRC_FIT);
	assert_true(fabs(w - IDLE_W) < 0.5);
	idle_est_free(e);
}

static void test_sustained_load_does_not_collapse(void **state)
{
	(void)state;
	struct idle_est *e = idle_est_new(600, 5, 0.10);
	double w;
	enum idle_source src;
	/* learn with a mix of loads */
	add_on_model(e, 2, 600, 0, 1);
	learned(e, &w);
	assert_true(fabs(w - IDLE_W) < 0.5);
	/* then hours of flat full load: the window holds only u ~= 1 */
	for (int i = 0; i < 3000; i++) {
		idle_est_add(e, IDLE_W + W_PER_UTIL + noise(), 0.98 + 0.02 * (rand() % 2));
		if (i % 10 == 0)
			assert_int_equal(idle_est_update(e), 0);
	}
	assert_int_equal(idle_est_get(e, &w, &src), 0);
	/* kept the last learned value, neither zero nor the loaded power */
	assert_true(fabs(w - IDLE_W) < 0.5);
	idle_est_free(e);
}

static void test_low_util_percentile(void **state)
{
	(void)state;
	struct idle_est *e = idle_est_new(100, 5, 0.10);
	double w;
	for (int i = 0; i < 50; i++)
		idle_est_add(e, 12.0 + (i % 5) * 0.1, 0.02);
	assert_int_equal(learned(e, &w), IDLE_SRC_LOW);
	assert_true(w >= 12.0 && w < 12.1);
	idle_est_free(e);
}

static void test_fallback_is_labelled(void **state)
{
	(void)state;
	struct idle_est *e = idle_est_new(100, 5, 0.10);
	double w;
	enum idle_source src;
	assert_int_equal(idle_est_get(e, &w, &src), -EAGAIN);
	assert_int_equal(idle_est_update(e), -EAGAIN);
	for (int i = 0; i < 50; i++)
		idle_est_add(e, 40.0, 1.0); /* only ever fully loaded */
	assert_int_equal(learned(e, &w), IDLE_SRC_FALLBACK);
	assert_true(w > 39.0); /* overestimates rather than collapsing to zero */
	idle_est_free(e);
}

static void test_seed_then_learn(void **state)
{
	(void)state;
	struct idle_est *e = idle_est_new(100, 5, 0.10);
	double w;
	enum idle_source src;
	idle_est_seed(e, 9.5);
	assert_int_equal(idle_est_get(e, &w, &src), 0);
	assert_int_equal(src, IDLE_SRC_SEED);
	assert_true(w == 9.5);
	for (int i = 0; i < 20; i++)
		idle_est_add(e, 40.0, 1.0);
	assert_int_equal(learned(e, &w), IDLE_SRC_SEED); /* loaded-only samples do not override */
	idle_est_free(e);
}

static void test_bad_input_ignored(void **state)
{
	(void)state;
	struct idle_est *e = idle_est_new(10, 5, 0.10);
	idle_est_add(e, NAN, 0.5);
	idle_est_add(e, -3, 0.5);
	idle_est_add(e, INFINITY, 0.5);
	assert_int_equal(idle_est_count(e), 0);
	assert_null(idle_est_new(1, 5, 0.1));
	assert_null(idle_est_new(10, 500, 0.1));
	idle_est_free(e);
	idle_est_free(NULL);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_fit_recovers_idle_without_idle_periods),
	cmocka_unit_test(test_sustained_load_does_not_collapse),
	cmocka_unit_test(test_low_util_percentile),
	cmocka_unit_test(test_fallback_is_labelled),
	cmocka_unit_test(test_seed_then_learn),
	cmocka_unit_test(test_bad_input_ignored))
