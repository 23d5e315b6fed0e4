/* test_idlesel.c - which idle power each zone uses in a tick (agent/model/idlesel.h):
 * configured over model over learned, zones outside the tick's mask, what the
 * estimators are fed. */
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
	struct meter_delta md;
};

/* The zone's estimate as the estimator itself gives it: what "learned" must show. */
static void assert_learned(const struct idle_pick *p, struct idle_est *e, int z)
{
	double w;
	enum idle_source src;

	assert_int_equal(idle_est_get(e, &w, &src), 0);
	assert_string_equal(p->source[z], idle_source_name(src));
	assert_true(p->w[z] == w);
}

/* A PowerModel listing the zones given with an idle (< 0: listed, idle learned). */
static void model_idle(struct powermodel *m, int n, const int *zones, const double *idle)
{
	memset(m, 0, sizeof(*m));
	for (int i = 0; i < n; i++) {
		m->zone[zones[i]].present = true;
		m->zone[zones[i]].idle_w = idle[i];
	}
}

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	if (fixture_idle_new(f.est, f.cfg, 100))
		return -1;
	f.md.dt_ns = 2 * SEC;
	f.md.zone_mask = 1u << ZONE_PACKAGE | 1u << ZONE_DRAM;
	f.md.uj[ZONE_PACKAGE] = 40000000; /* 20 W over 2 s */
	f.md.uj[ZONE_DRAM] = 6000000;     /* 3 W */
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fixture_idle_free(f->est);
	return 0;
}

static void test_learned_and_fed(void **state)
{
	struct fixture *f = *state;
	struct idle_pick p;

	idle_est_seed(f->est[ZONE_PACKAGE], 11.0);
	idle_select(f->est, f->cfg, NULL, &f->md, 0.05, false, &p);
	assert_int_equal(idle_est_count(f->est[ZONE_PACKAGE]), 1);
	assert_int_equal(idle_est_count(f->est[ZONE_DRAM]), 1);
	assert_int_equal(idle_est_count(f->est[ZONE_CORE]), 0); /* not in the tick */
	assert_non_null(p.source[ZONE_PACKAGE]);
	assert_non_null(p.source[ZONE_DRAM]);
	assert_null(p.source[ZONE_CORE]);
	assert_true(p.w[ZONE_CORE] == 0);
	/* the seed holds until samples decide; dram's one 3 W sample is all it has */
	assert_learned(&p, f->est[ZONE_PACKAGE], ZONE_PACKAGE);
	assert_true(p.w[ZONE_PACKAGE] == 11.0);
	assert_learned(&p, f->est[ZONE_DRAM], ZONE_DRAM);
	assert_true(fabs(p.w[ZONE_DRAM] - 3.0) < 1e-9);
}

static void test_configured_wins(void **state)
{
	struct fixture *f = *state;
	struct powermodel m;
	struct idle_pick p;

	model_idle(&m, 1, (const int[]){ ZONE_PACKAGE }, (const double[]){ 9.0 });
	idle_est_free(f->est[ZONE_PACKAGE]); /* the daemon keeps no estimator for it */
	f->est[ZONE_PACKAGE] = NULL;
	f->cfg[ZONE_PACKAGE] = 7.5;
	idle_select(f->est, f->cfg, &m, &f->md, 0.5, true, &p);
	assert_string_equal(p.source[ZONE_PACKAGE], "configured");
	assert_true(p.w[ZONE_PACKAGE] == 7.5);
	/* the model says nothing about dram: learned */
	assert_learned(&p, f->est[ZONE_DRAM], ZONE_DRAM);
}

static void test_model_over_learned_still_fed(void **state)
{
	struct fixture *f = *state;
	struct powermodel m;
	struct idle_pick p;

	/* dram listed with its idle learned; core not measured this tick: not selected */
	model_idle(&m, 3, (const int[]){ ZONE_PACKAGE, ZONE_DRAM, ZONE_CORE },
		   (const double[]){ 9.0, -1, 4.0 });
	idle_select(f->est, f->cfg, &m, &f->md, 0.05, false, &p);
	assert_string_equal(p.source[ZONE_PACKAGE], "model");
	assert_true(p.w[ZONE_PACKAGE] == 9.0);
	assert_int_equal(idle_est_count(f->est[ZONE_PACKAGE]), 1); /* warm for later */
	assert_learned(&p, f->est[ZONE_DRAM], ZONE_DRAM);
	assert_null(p.source[ZONE_CORE]);
	assert_true(p.w[ZONE_CORE] == 0);
}

/* A zone whose read failed or reset is still selected but not fed; neither is any zone
 * over an empty interval. */
static void test_bad_readings_not_fed(void **state)
{
	struct fixture *f = *state;
	struct idle_pick p;

	idle_est_seed(f->est[ZONE_PACKAGE], 11.0);
	idle_est_seed(f->est[ZONE_DRAM], 2.0);
	f->md.error_mask = 1u << ZONE_PACKAGE;
	f->md.reset_mask = 1u << ZONE_DRAM;
	idle_select(f->est, f->cfg, NULL, &f->md, 0.05, true, &p);
	assert_int_equal(idle_est_count(f->est[ZONE_PACKAGE]), 0);
	assert_int_equal(idle_est_count(f->est[ZONE_DRAM]), 0);
	assert_string_equal(p.source[ZONE_PACKAGE], "learned-checkpoint");
	assert_true(p.w[ZONE_PACKAGE] == 11.0);
	assert_true(p.w[ZONE_DRAM] == 2.0);

	f->md.error_mask = f->md.reset_mask = 0;
	f->md.dt_ns = 0;
	idle_select(f->est, f->cfg, NULL, &f->md, 0.05, true, &p);
	assert_int_equal(idle_est_count(f->est[ZONE_PACKAGE]), 0);
}

WL_TEST_MAIN(
	WL_TEST_FIXTURE(test_learned_and_fed),
	WL_TEST_FIXTURE(test_configured_wins),
	WL_TEST_FIXTURE(test_model_over_learned_still_fed),
	WL_TEST_FIXTURE(test_bad_readings_not_fed))
