/* test_idle_class.c - idle shared by a hardware class: where the class's value stands in
 * the idle precedence (model/idlesel.h idle_apply_class), when a local estimate counts
 * as confident enough to share (model/idle.h idle_est_info). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/model/idlesel.h"
#include "test/unit/fixture_idle.h"

#define SEC 1000000000ull

struct fixture {
	struct idle_est *est[ZONE_COUNT];
	double cfg[ZONE_COUNT];
	double cls[ZONE_COUNT];
	struct meter_delta md;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	for (int z = 0; z < ZONE_COUNT; z++)
		f.cls[z] = -1;
	if (fixture_idle_new(f.est, f.cfg, 600))
		return -1;
	f.md.dt_ns = 1 * SEC;
	f.md.zone_mask = 1u << ZONE_PACKAGE | 1u << ZONE_DRAM;
	f.md.uj[ZONE_PACKAGE] = 77000000; /* 77 W: a node busy from its first second */
	f.md.uj[ZONE_DRAM] = 6000000;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fixture_idle_free(f->est);
	return 0;
}

/* pick for one tick at utilisation u, then the class applied */
static void tick(struct fixture *f, const struct powermodel *m, double u, struct idle_pick *p)
{
	idle_select(f->est, f->cfg, m, &f->md, u, true, p);
	idle_apply_class(f->cls, p);
}

/* the pick for zone z came from source, with exactly w watts */
static void assert_picked(const struct idle_pick *p, int z, const char *source, double w)
{
	assert_string_equal(p->source[z], source);
	assert_true(p->w[z] == w);
}

/* Busy from the first second (utilisation 0.9 every tick): the local estimate is a
 * fallback and the class's value replaces it. */
static void test_class_replaces_fallback(void **state)
{
	struct fixture *f = *state;
	struct idle_pick p;

	f->cls[ZONE_PACKAGE] = 40.0;
	for (int i = 0; i < 100; i++)
		tick(f, NULL, 0.9, &p);
	assert_picked(&p, ZONE_PACKAGE, "class", 40.0);
	/* dram has no class value: stays the local fallback */
	assert_string_equal(p.source[ZONE_DRAM], "fallback");
	assert_true(fabs(p.w[ZONE_DRAM] - 6.0) < 1e-9);
}

/* Configured and model idle win over the class. */
static void test_configured_and_model_win(void **state)
{
	struct fixture *f = *state;
	struct idle_pick p;
	struct powermodel m;

	memset(&m, 0, sizeof(m));
	m.zone[ZONE_DRAM].present = true;
	m.zone[ZONE_DRAM].idle_w = 2.5;
	f->cls[ZONE_PACKAGE] = 40.0;
	f->cls[ZONE_DRAM] = 3.0;
	f->cfg[ZONE_PACKAGE] = 30.0;
	tick(f, &m, 0.9, &p);
	assert_picked(&p, ZONE_PACKAGE, "configured", 30.0);
	assert_picked(&p, ZONE_DRAM, "model", 2.5);
}

/* This node's own learned values (low utilisation, checkpoint) win over the class. */
static void test_local_learned_wins(void **state)
{
	struct fixture *f = *state;
	struct idle_pick p;

	f->cls[ZONE_PACKAGE] = 40.0;
	f->cls[ZONE_DRAM] = 3.0;
	idle_est_seed(f->est[ZONE_DRAM], 4.0);
	for (int i = 0; i < 10; i++)
		tick(f, NULL, 0.02, &p); /* quiet: learned-low */
	assert_string_equal(p.source[ZONE_PACKAGE], "learned-low");
	assert_true(p.w[ZONE_PACKAGE] > 76.9);
	assert_string_equal(p.source[ZONE_DRAM], "learned-low");
}

static void test_checkpoint_wins(void **state)
{
	struct fixture *f = *state;
	struct idle_pick p;

	f->cls[ZONE_PACKAGE] = 40.0;
	idle_est_seed(f->est[ZONE_PACKAGE], 41.0);
	tick(f, NULL, 0.9, &p);
	assert_picked(&p, ZONE_PACKAGE, "learned-checkpoint", 41.0);
}

/* A zone not measured this tick gets no class value either. */
static void test_unselected_zone(void **state)
{
	struct fixture *f = *state;
	struct idle_pick p;

	f->cls[ZONE_CORE] = 20.0;
	tick(f, NULL, 0.9, &p);
	assert_null(p.source[ZONE_CORE]);
	assert_true(p.w[ZONE_CORE] == 0);
}

/* Confidence: a fit over a spread of utilisation with enough samples is shared; the
 * same fit with too few samples, a fallback or a checkpoint value is not. */
static void test_confidence(void **state)
{
	struct fixture *f = *state;
	struct idle_est *e = f->est[ZONE_PACKAGE];
	struct idle_info inf;
	double w;

	/* fallback under sustained load */
	for (int i = 0; i < 100; i++)
		idle_est_add(e, 77.0, 0.9);
	idle_est_update(e);
	assert_false(idle_est_info(e, &inf));
	assert_int_equal(inf.src, IDLE_SRC_FALLBACK);

	/* 40 W + 50 W x utilisation over 0.3..0.9: a fit */
	struct idle_est *g = idle_est_new(600, 5, 0.10);
	assert_non_null(g);
	for (int i = 0; i < 30; i++)
		idle_est_add(g, 40 + 50 * (0.3 + 0.6 * (i % 10) / 9.0), 0.3 + 0.6 * (i % 10) / 9.0);
	idle_est_update(g);
	assert_false(idle_est_info(g, &inf)); /* 30 samples: not yet */
	for (int i = 0; i < 60; i++)
		idle_est_add(g, 40 + 50 * (0.3 + 0.6 * (i % 10) / 9.0), 0.3 + 0.6 * (i % 10) / 9.0);
	idle_est_update(g);
	assert_false(idle_est_info(g, &inf)); /* 90: not yet */
	assert_int_equal(inf.src, IDLE_SRC_FIT);
	for (int i = 0; i < 30; i++)
		idle_est_add(g, 40 + 50 * (0.3 + 0.6 * (i % 10) / 9.0), 0.3 + 0.6 * (i % 10) / 9.0);
	idle_est_update(g);
	assert_true(idle_est_info(g, &inf));
	assert_int_equal(inf.src, IDLE_SRC_FIT);
	assert_int_equal(inf.samples, 120);
	assert_true(inf.fit_bins >= 3);
	assert_true(inf.fit_span >= 0.25);
	assert_true(inf.fit_rmse < 1e-6);
	assert_int_equal(idle_est_get(g, &w, NULL), 0);
	assert_true(fabs(w - 40.0) < 1e-6);
	idle_est_free(g);

	/* a window smaller than IDLE_CONFIDENT_SAMPLES: confident once full */
	g = idle_est_new(60, 5, 0.10);
	assert_non_null(g);
	for (int i = 0; i < 60; i++)
		idle_est_add(g, 40 + 50 * (0.3 + 0.6 * (i % 10) / 9.0), 0.3 + 0.6 * (i % 10) / 9.0);
	idle_est_update(g);
	assert_true(idle_est_info(g, &inf));
	idle_est_free(g);

	/* a checkpoint value alone is this node's, not shareable */
	g = idle_est_new(600, 5, 0.10);
	assert_non_null(g);
	idle_est_seed(g, 40);
	for (int i = 0; i < 100; i++)
		idle_est_add(g, 77.0, 0.9);
	idle_est_update(g);
	assert_false(idle_est_info(g, &inf));
	assert_int_equal(inf.src, IDLE_SRC_SEED);
	idle_est_free(g);
}

WL_TEST_MAIN(
	WL_TEST_FIXTURE(test_class_replaces_fallback),
	WL_TEST_FIXTURE(test_configured_and_model_win),
	WL_TEST_FIXTURE(test_local_learned_wins),
	WL_TEST_FIXTURE(test_checkpoint_wins),
	WL_TEST_FIXTURE(test_unselected_zone),
	WL_TEST_FIXTURE(test_confidence))
