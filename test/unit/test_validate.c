/* test_validate.c - platform validation: statistics (mean, spread, Student-t CI) and the
 * judge (pass / fail / refuse, the other-CPU rule on synthetic window series). The
 * report JSON, state file, metrics, agent-reply parser, checks and the standalone
 * target: test_validate_report.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/export/export.h"
#include "agent/ledger/ledger.h"
#include "agent/validate/validate.h"
#include "test/unit/fixture.h"
#include "test/unit/fixture_validate.h"

/* ---- statistics ----------------------------------------------------------------- */

static void test_stats_known_values(void **state)
{
	/* 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample sd sqrt(32/7) */
	const double x[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	struct vstats s;
	(void)state;

	assert_int_equal(vstats_compute(x, 8, &s), 0);
	assert_int_equal(s.n, 8);
	assert_true(fabs(s.mean - 5.0) < 1e-12);
	assert_true(fabs(s.stddev - sqrt(32.0 / 7.0)) < 1e-12);
	/* t(0.975, 7) = 2.365 */
	assert_true(fabs(s.ci95 - 2.365 * sqrt(32.0 / 7.0) / sqrt(8.0)) < 1e-9);
}

static void test_stats_edges(void **state)
{
	const double one[] = { 3.5 };
	const double bad[] = { 1, NAN, 2 };
	const double same[] = { 7, 7, 7 };
	struct vstats s;
	(void)state;

	assert_int_equal(vstats_compute(one, 1, &s), 0);
	assert_true(s.mean == 3.5 && s.stddev == 0 && s.ci95 == 0);
	assert_int_equal(vstats_compute(one, 0, &s), -EINVAL);
	assert_int_equal(vstats_compute(bad, 3, &s), -EINVAL);
	assert_int_equal(vstats_compute(NULL, 3, &s), -EINVAL);
	assert_int_equal(vstats_compute(same, 3, &s), 0);
	assert_true(s.stddev == 0 && s.ci95 == 0);
}

static void test_t95(void **state)
{
	(void)state;
	assert_true(isnan(vstats_t95(0)));
	assert_true(fabs(vstats_t95(1) - 12.706) < 1e-9);
	assert_true(fabs(vstats_t95(4) - 2.776) < 1e-9);
	assert_true(fabs(vstats_t95(30) - 2.042) < 1e-9);
	/* exact: t(0.975, 40) = 2.0211, 60: 2.0003, 120: 1.9799; tends to 1.96 */
	assert_true(fabs(vstats_t95(40) - 2.0211) < 0.002);
	assert_true(fabs(vstats_t95(60) - 2.0003) < 0.002);
	assert_true(fabs(vstats_t95(120) - 1.9799) < 0.002);
	assert_true(vstats_t95(31) < vstats_t95(30) && vstats_t95(100000) > 1.959);
}

static void test_deviation_ci(void **state)
{
	(void)state;
	/* 5.85 W vs a 4.5 +- 0.707 W delta: 30 % +- 20.4 points */
	assert_true(fabs(validate_deviation_ci95_pct(5.85, 0, 4.5, 0.707) - 20.42) < 0.01);
	/* both uncertain: the two terms add in quadrature */
	assert_true(fabs(validate_deviation_ci95_pct(4.0, 0.3, 4.0, 0.4) -
			 100 * sqrt(0.075 * 0.075 + 0.1 * 0.1)) < 1e-9);
	/* nothing attributed: only the reported term */
	assert_true(fabs(validate_deviation_ci95_pct(0, 0.1, 2.0, 0.5) - 5.0) < 1e-9);
	assert_true(isnan(validate_deviation_ci95_pct(1, 0.1, 0, 0.1)));
	assert_true(isnan(validate_deviation_ci95_pct(1, -0.1, 1, 0.1)));
	assert_true(isnan(validate_deviation_ci95_pct(NAN, 0.1, 1, 0.1)));
}

/* The e2e baseline that was refused: one window with a burst of cluster activity */
static void test_trim_outliers(void **state)
{
	double x[VALIDATE_MAX_SAMPLES] = { 11.859, 12.107, 11.607, 12.100, 13.838, 11.956 };
	double ys[2][VALIDATE_MAX_SAMPLES] = { { 1, 2, 3, 4, 5, 6 }, { 10, 20, 30, 40, 50, 60 } };
	double flat[VALIDATE_MAX_SAMPLES] = { 5, 5, 5, 9, 5, 5 };
	double few[VALIDATE_MAX_SAMPLES] = { 1, 1.1, 0.9, 50 };
	double two[VALIDATE_MAX_SAMPLES] = { 10, 10.1, 9.9, 10.05, 9.95, 10.02, 9.98, 30, 31 };
	struct vstats st;
	(void)state;

	assert_int_equal(vstats_trim_outliers(x, ys, 2, 6), 5);
	assert_true(x[3] == 12.100 && x[4] == 11.956); /* compacted in order */
	/* the same window left the agent's series */
	assert_true(ys[0][4] == 6 && ys[1][3] == 40 && ys[1][4] == 60);
	vstats_compute(x, 5, &st);
	assert_true(st.ci95 < 0.35); /* judged now: 10 % of a ~3.5 W step */
	/* no spread (MAD 0), too few windows: nothing dropped */
	assert_int_equal(vstats_trim_outliers(flat, NULL, 0, 6), 6);
	assert_int_equal(vstats_trim_outliers(few, NULL, 0, 4), 4);
	/* at most n / 4 (2 of 9): both bursts go, farthest first */
	assert_int_equal(vstats_trim_outliers(two, NULL, 0, 9), 7);
	for (int i = 0; i < 7; i++)
		assert_true(two[i] < 11);
	/* a level shift is not an outlier: a plain step up stays */
	{
		double shift[VALIDATE_MAX_SAMPLES] = { 10, 10.1, 9.9, 14, 14.1, 13.9 };
		assert_int_equal(vstats_trim_outliers(shift, NULL, 0, 6), 6);
	}
}

static void test_deviation_and_diff_ci(void **state)
{
	struct vstats a = { .n = 5, .mean = 1, .ci95 = 0.3 }, b = { .n = 5, .mean = 2, .ci95 = 0.4 };
	(void)state;

	/* the talk's POD1: Kepler 0.071 W vs validator delta 0.069 W: +2.90 % */
	assert_true(fabs(validate_deviation_pct(0.071, 0.069) - 2.8986) < 1e-3);
	assert_true(fabs(validate_deviation_pct(0.068, 0.072) + 5.5556) < 1e-3);
	assert_true(isnan(validate_deviation_pct(1, 0)));
	assert_true(isnan(validate_deviation_pct(NAN, 1)));
	assert_true(fabs(vstats_diff_ci95(&a, &b) - 0.5) < 1e-12);
}

/* ---- judge ---------------------------------------------------------------------- */

static void test_judge_node(void **state)
{
	struct validate_report r;
	(void)state;

	node_report(&r, 0.07, -0.32);
	validate_judge_node(&r);
	assert_int_equal(r.verdict, VERDICT_PASS);
	assert_true(r.zones[ZONE_PACKAGE].pass && r.zones[ZONE_DRAM].pass);

	node_report(&r, 0.07, -1.5); /* dram beyond 1 % */
	validate_judge_node(&r);
	assert_int_equal(r.verdict, VERDICT_FAIL);
	assert_false(r.zones[ZONE_DRAM].pass);
	assert_non_null(strstr(r.reason, "dram"));

	node_report(&r, 0.5, 0.1);
	r.thr.node_pct = 0.25; /* configurable */
	validate_judge_node(&r);
	assert_int_equal(r.verdict, VERDICT_FAIL);

	node_report(&r, NAN, 0.1); /* a missing number never passes */
	validate_judge_node(&r);
	assert_int_equal(r.verdict, VERDICT_FAIL);

	node_report(&r, 0.0, 0.0);
	r.checks.sane = false;
	snprintf(r.checks.notes, sizeof(r.checks.notes), "1 counter reset(s)");
	validate_judge_node(&r);
	assert_int_equal(r.verdict, VERDICT_FAIL);
	assert_non_null(strstr(r.reason, "reset"));

	node_report(&r, 0.0, 0.0);
	r.zone_mask = 0;
	validate_judge_node(&r);
	assert_int_equal(r.verdict, VERDICT_ERROR);
}

/* The workload judge's verdict on wl_report(r, ...)'s report. */
static enum verdict judge_wl(struct validate_report *r, double ci, int n, const double *delta,
			     const double *wattlet)
{
	wl_report(r, ci, n, delta, wattlet);
	validate_judge_workload(r);
	return r->verdict;
}

static void test_judge_workload(void **state)
{
	const double delta[] = { 4.5, 4.4, 4.6 };
	const double good[] = { 4.45, 4.5, 4.55 };
	const double biased[] = { 4.5 * 1.3, 4.4 * 1.3, 4.6 * 1.3 };
	const double talk_delta[] = { 0.069, 0.143, 0.072 };
	const double talk_kepler[] = { 0.071, 0.138, 0.068 };
	struct validate_report r;
	(void)state;

	assert_int_equal(judge_wl(&r, 0.05, 3, delta, good), VERDICT_PASS);
	assert_true(fabs(r.expected_step_w - 4.4) < 1e-12);
	for (int i = 0; i < 3; i++)
		assert_true(r.steps[i].pass);

	/* the injected 30 % bias is caught */
	assert_int_equal(judge_wl(&r, 0.05, 3, delta, biased), VERDICT_FAIL);
	assert_false(r.steps[0].pass);
	assert_non_null(strstr(r.reason, "30.00 %"));

	/* the same numbers with a noisy baseline (CI 0.5 W, 11 % of a step): the bias is
	 * still beyond 5 % at the near end of its CI (30 - 20.4 %): a confident FAIL */
	assert_int_equal(judge_wl(&r, 0.5, 3, delta, biased), VERDICT_FAIL);
	assert_non_null(strstr(r.reason, "even allowing for the noise"));
	/* twice that noise: the CI reaches back inside 5 %: refused, not judged */
	assert_int_equal(judge_wl(&r, 1.0, 3, delta, biased), VERDICT_REFUSED);
	assert_non_null(strstr(r.reason, "REFUSED TO JUDGE"));
	assert_non_null(strstr(r.reason, "noisy"));
	/* and good numbers with noise are refused, never passed */
	assert_int_equal(judge_wl(&r, 0.5, 3, delta, good), VERDICT_REFUSED);
	/* the boundary: ci == max_noise x smallest step is still judged */
	assert_int_equal(judge_wl(&r, 0.44, 3, delta, good), VERDICT_PASS);
	assert_int_equal(judge_wl(&r, 0.4401, 3, delta, good), VERDICT_REFUSED);

	/* a saturated node: refused whatever the numbers say */
	wl_report(&r, 0.05, 3, delta, good);
	r.baseline_cpu_util = 0.97;
	validate_judge_workload(&r);
	assert_int_equal(r.verdict, VERDICT_REFUSED);
	assert_non_null(strstr(r.reason, "saturated"));
	r.baseline_cpu_util = 0.5;
	validate_judge_workload(&r);
	assert_int_equal(r.verdict, VERDICT_PASS);

	/* a quiet baseline but a step whose load changed under it: refused */
	wl_report(&r, 0.05, 3, delta, good);
	r.steps[1].delta_ci95 = 2.0;
	validate_judge_workload(&r);
	assert_int_equal(r.verdict, VERDICT_REFUSED);
	assert_non_null(strstr(r.reason, "step 2 is too noisy"));

	/* the talk's Redis table: -5.56 % at step 3 fails a 5 % threshold, passes 6 % */
	assert_int_equal(judge_wl(&r, 0.0001, 3, talk_delta, talk_kepler), VERDICT_FAIL);
	assert_true(r.steps[0].pass && r.steps[1].pass && !r.steps[2].pass);
	r.thr.workload_pct = 6;
	validate_judge_workload(&r);
	assert_int_equal(r.verdict, VERDICT_PASS);

	/* the same table with the noise of a real run (CI 1 mW on 70 mW steps): -5.56 % +-
	 * 1.9 reaches back inside 5 %: inconclusive, refused; -8 % +- 1.8 fails */
	assert_int_equal(judge_wl(&r, 0.001, 3, talk_delta, talk_kepler), VERDICT_REFUSED);
	assert_non_null(strstr(r.reason, "inconclusive: step 3"));
	{
		const double k2[] = { 0.071, 0.138, 0.072 * 0.92 };
		assert_int_equal(judge_wl(&r, 0.001, 3, talk_delta, k2), VERDICT_FAIL);
	}

	/* a workload too small to see */
	{
		const double tiny[] = { 0.01 }, w[] = { 0.01 };
		assert_int_equal(judge_wl(&r, 0.0001, 1, tiny, w), VERDICT_REFUSED);
		assert_non_null(strstr(r.reason, "too small"));
	}
	/* a step that lowered the power: deviation is computed against it and fails */
	{
		const double neg[] = { -4.5 }, w[] = { 4.5 };
		assert_int_equal(judge_wl(&r, 0.01, 1, neg, w), VERDICT_FAIL);
	}
	/* no steps */
	assert_int_equal(judge_wl(&r, 0.05, 0, delta, good), VERDICT_ERROR);
	/* meter problems fail an otherwise good run */
	wl_report(&r, 0.05, 3, delta, good);
	r.checks.sane = false;
	validate_judge_workload(&r);
	assert_int_equal(r.verdict, VERDICT_FAIL);
}

/* ---- the other-CPU rule, from synthetic window series ------------------------------- */

/* A run on the simulated meter's curve: idle 10 W + 15 W per busy core. Each instance
 * uses 0.3 core (4.5 W); the agent and the sampler use 0.02 core ("other" even on a
 * quiet node); bg(phase, window) adds a background job's cores. The agent gives each
 * instance 4.5 W x (1 + bias). Small deterministic noise on every series, as measured
 * windows have. Phases of 8 windows: baseline, then 3 steps. */
#define SYN_WINDOWS 8
#define SYN_STEPS 3
typedef double (*bg_fn)(int phase, int window);

static double noise(unsigned *seed, double amp)
{
	*seed = *seed * 1103515245u + 12345u;
	return amp * (((*seed >> 8) & 0xffff) / 32767.5 - 1.0);
}

static double bg_none(int phase, int window)
{
	(void)phase;
	(void)window;
	return 0;
}

static double bg_steady(int phase, int window)
{
	(void)phase;
	(void)window;
	return 0.5;
}

/* the incident: a background build ran through the baseline and stopped before step 1 */
static double bg_stops_after_baseline(int phase, int window)
{
	(void)window;
	return phase == 0 ? 0.5 : 0;
}

static double bg_stops_mid_baseline(int phase, int window)
{
	return phase == 0 && window < SYN_WINDOWS / 2 ? 0.1 : 0;
}

/* halfway through the whole run: in the middle of step 2 */
static double bg_stops_mid_run(int phase, int window)
{
	return phase < 2 || (phase == 2 && window < SYN_WINDOWS / 2) ? 0.5 : 0;
}

static double syn_shift; /* bg_shift: cores of a background that starts with step 1 */
static double bg_shift(int phase, int window)
{
	(void)window;
	return phase >= 1 ? syn_shift : 0;
}

/* a quiet node: nothing starts or stops, but the kernel threads, the agent and the
 * sampler come and go by a few hundredths of a core from window to window, and the
 * phase means move by up to 0.01 cores (the quiet integration run that refused a
 * 26-42 % biased agent moved them by -0.024 .. +0.012) */
static double bg_quiet(int phase, int window)
{
	static const double jitter[4][SYN_WINDOWS] = {
		{ 0.05, 0.02, 0.07, 0.03, 0.06, 0.02, 0.05, 0.02 }, /* mean 0.04 */
		{ 0.02, 0.04, 0.03, 0.01, 0.05, 0.02, 0.04, 0.03 }, /* 0.03: -0.010 */
		{ 0.04, 0.05, 0.02, 0.05, 0.03, 0.06, 0.02, 0.03 }, /* 0.0375: +0.0075 */
		{ 0.03, 0.02, 0.05, 0.02, 0.04, 0.03, 0.05, 0.02 }, /* 0.0325: -0.005 */
	};

	return jitter[phase][window];
}

static void synth_run(struct validate_report *r, double bias, bg_fn bg)
{
	struct vwindows *w = calloc(1, sizeof(*w));
	unsigned seed = 12345;

	assert_non_null(w);
	memset(r, 0, sizeof(*r));
	r->kind = "workload";
	r->zone = ZONE_PACKAGE;
	validate_thresholds_default(&r->thr);
	r->checks.sane = true;
	r->baseline_cpu_util = -1;
	for (int p = 0; p <= SYN_STEPS; p++) {
		memset(w, 0, sizeof(*w));
		w->n = SYN_WINDOWS;
		w->n_inst = p;
		for (int i = 0; i < SYN_WINDOWS; i++) {
			double busy = 0.02 + bg(p, i) + noise(&seed, 0.002);
			w->y[VW_OTHER][i] = busy;
			for (int k = 0; k < p; k++) {
				double c = 0.3 + noise(&seed, 0.002);
				w->y[VW_INST_CPU + k][i] = c;
				w->y[VW_INST_W + k][i] = 15 * c * (1 + bias) + noise(&seed, 0.01);
				busy += c;
			}
			w->node_w[i] = 10 + 15 * busy + noise(&seed, 0.05);
		}
		assert_int_equal(validate_workload_phase(r, p, w), 0);
	}
	free(w);
	assert_int_equal(r->n_steps, SYN_STEPS);
	validate_judge_workload(r);
}

static void test_phase_numbers(void **state)
{
	struct validate_report r;
	struct vwindows *w = calloc(1, sizeof(*w));
	(void)state;

	assert_non_null(w);
	synth_run(&r, 0, bg_stops_mid_run);
	assert_true(r.other_known);
	assert_true(fabs(r.baseline_other.cores.mean - 0.52) < 0.002);
	assert_true(fabs(r.baseline_other.drift) < 0.003);
	assert_true(fabs(r.steps[0].cpu.mean - 0.3) < 0.002);
	assert_true(fabs(r.steps[0].other_limit - 0.5 * 0.05 * r.steps[0].cpu.mean) < 1e-12);
	/* step 2: the background ran for the first half: mean 0.27, drift -0.5 */
	assert_true(fabs(r.steps[1].other.cores.mean - 0.27) < 0.003);
	assert_true(fabs(r.steps[1].other.drift + 0.5) < 0.003);
	assert_true(fabs(r.steps[2].other_change + 0.25) < 0.003);
	assert_true(fabs(r.steps[2].delta_w - 4.5 + 3.75) < 0.1);
	assert_true(fabs(r.steps[2].all_instances_w - 13.5) < 0.1);
	assert_true(fabs(r.steps[2].all_instances_delta_w - 4.5) < 0.1);

	/* order and shape are checked */
	memset(&r, 0, sizeof(r));
	validate_thresholds_default(&r.thr);
	w->n = 4;
	w->n_inst = 1;
	assert_int_equal(validate_workload_phase(&r, 1, w), -EINVAL); /* no baseline yet */
	w->n_inst = 0;
	assert_int_equal(validate_workload_phase(&r, 1, w), -EINVAL); /* n_inst != phase */
	w->n = 0;
	assert_int_equal(validate_workload_phase(&r, 0, w), -EINVAL);
	/* an unknown other CPU in any window: the rule is not applied */
	w->n = 4;
	for (int i = 0; i < 4; i++)
		w->node_w[i] = 10;
	w->y[VW_OTHER][2] = NAN;
	assert_int_equal(validate_workload_phase(&r, 0, w), 0);
	assert_false(r.other_known);
	free(w);
}

static void test_judge_other_cpu(void **state)
{
	const double biases[] = { 0, 0.3 };
	struct validate_report r;
	(void)state;

	/* a quiet node: the attribution is judged as before */
	synth_run(&r, 0, bg_none);
	assert_int_equal(r.verdict, VERDICT_PASS);
	synth_run(&r, 0.3, bg_none);
	assert_int_equal(r.verdict, VERDICT_FAIL);
	/* a steady background changes the level, not the delta: still judged */
	synth_run(&r, 0, bg_steady);
	assert_int_equal(r.verdict, VERDICT_PASS);
	synth_run(&r, 0.3, bg_steady);
	assert_int_equal(r.verdict, VERDICT_FAIL);

	/* a quiet node's own fluctuation moves the other CPU's phase means by more than
	 * the 0.0075-core limit (point estimates) but within their CIs: the real agent
	 * passes and the biased one fails (it was refused until session 5: the FAIL guard
	 * held those point estimates to the limit) */
	synth_run(&r, 0, bg_quiet);
	assert_true(fabs(r.steps[0].other_change) > 0.0075);
	assert_int_equal(r.verdict, VERDICT_PASS);
	synth_run(&r, 0.3, bg_quiet);
	assert_int_equal(r.verdict, VERDICT_FAIL);
	assert_non_null(strstr(r.reason, "even allowing for the noise"));
	/* the guard still protects a correct agent from a change that explains its error:
	 * the integration run's step 1 (other CPU -0.024 cores beside 0.305 cores) with a
	 * deviation a rho of up to 2 covers, +12 % +- 2 */
	synth_run(&r, 0, bg_quiet);
	r.steps[0].other_change = -0.024;
	r.steps[0].cpu.mean = 0.305;
	r.steps[0].delta_w = 4.2;
	r.steps[0].wattlet_w.mean = 4.2 * 1.12;
	r.steps[0].deviation_pct = 12;
	r.steps[0].deviation_ci95 = 2;
	validate_judge_workload(&r);
	assert_int_equal(r.verdict, VERDICT_REFUSED);
	assert_non_null(strstr(r.reason, "step 1's deviation 12.00 % +- 2.00 could come from"));
	assert_non_null(strstr(r.reason, "between 0 and +18.7 %"));
	/* ... and fails what no such ratio covers: +42 % +- 8.8 there (the biased run) */
	r.steps[0].wattlet_w.mean = 4.2 * 1.42;
	r.steps[0].deviation_pct = 42;
	r.steps[0].deviation_ci95 = 8.8;
	validate_judge_workload(&r);
	assert_int_equal(r.verdict, VERDICT_FAIL);
	/* a change that could cancel the whole delta (C + 2 dO <= 0) explains anything
	 * (the level-shift rule off, so that the FAIL guard answers) */
	r.steps[0].other_change = -0.2;
	r.thr.max_other_bias = 1000;
	validate_judge_workload(&r);
	assert_int_equal(r.verdict, VERDICT_REFUSED);
	assert_non_null(strstr(r.reason, "any deviation"));

	for (size_t b = 0; b < 2; b++) {
		/* the incident: without the rule a correct agent is failed ... */
		synth_run(&r, biases[b], bg_stops_after_baseline);
		assert_int_equal(r.verdict, VERDICT_REFUSED);
		assert_non_null(strstr(r.reason, "other CPU"));
		assert_non_null(strstr(r.reason, "changed by -0.500 cores from the baseline to "
						 "step 1"));
		/* background stops halfway through the baseline */
		synth_run(&r, biases[b], bg_stops_mid_baseline);
		assert_int_equal(r.verdict, VERDICT_REFUSED);
		assert_non_null(strstr(r.reason, "other CPU"));
		assert_non_null(strstr(r.reason, "drifted by -0.100 cores within the baseline"));
		/* ... and halfway through the run, in the middle of step 2 */
		synth_run(&r, biases[b], bg_stops_mid_run);
		assert_int_equal(r.verdict, VERDICT_REFUSED);
		assert_non_null(strstr(r.reason, "other CPU"));
		assert_non_null(strstr(r.reason, "drifted by -0.50"));
		assert_non_null(strstr(r.reason, "cores within step 2"));
	}
	/* ... which the old judge failed (a correct agent!); with the level-shift rule off
	 * the FAIL guard still refuses it: a 0.5-core drop beside a 0.3-core instance can
	 * cancel the whole delta */
	{
		struct validate_report o;
		synth_run(&o, 0, bg_stops_after_baseline);
		o.thr.max_other_bias = 1000; /* the level-shift rule off */
		validate_judge_workload(&o);
		assert_int_equal(o.verdict, VERDICT_REFUSED);
		assert_non_null(strstr(o.reason, "could come from the change of the CPU used "
						 "outside the instances"));
		/* an unmeasured other CPU is not a reason to refuse */
		synth_run(&o, 0, bg_stops_after_baseline);
		o.other_known = false;
		validate_judge_workload(&o);
		assert_int_equal(o.verdict, VERDICT_FAIL);
	}

	/* the limit: 0.5 x 5 % of the 0.3-core step = 0.0075 cores */
	syn_shift = 0.006;
	synth_run(&r, 0, bg_shift);
	assert_int_equal(r.verdict, VERDICT_PASS);
	syn_shift = -0.006;
	synth_run(&r, 0, bg_shift);
	assert_int_equal(r.verdict, VERDICT_PASS);
	syn_shift = 0.010;
	synth_run(&r, 0, bg_shift);
	assert_int_equal(r.verdict, VERDICT_REFUSED);
	assert_non_null(strstr(r.reason, "from the baseline to step 1"));
	assert_non_null(strstr(r.reason, "0.0075 cores allowed"));
	/* a looser bias share lets it through */
	syn_shift = 0.010;
	synth_run(&r, 0, bg_shift);
	r.thr.max_other_bias = 1.0;
	validate_judge_workload(&r);
	assert_true(fabs(r.steps[0].other_limit - 0.05 * r.steps[0].cpu.mean) < 1e-12);
	assert_int_equal(r.verdict, VERDICT_PASS);
	syn_shift = 0;
}

WL_TEST_MAIN(
	cmocka_unit_test(test_stats_known_values),
	cmocka_unit_test(test_stats_edges),
	cmocka_unit_test(test_t95),
	cmocka_unit_test(test_deviation_and_diff_ci),
	cmocka_unit_test(test_deviation_ci),
	cmocka_unit_test(test_trim_outliers),
	cmocka_unit_test(test_judge_node),
	cmocka_unit_test(test_judge_workload),
	cmocka_unit_test(test_phase_numbers),
	cmocka_unit_test(test_judge_other_cpu))
