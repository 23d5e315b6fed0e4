/* fixture_validate.h - validation reports the validate tests share (test_validate.c,
 * test_validate_report.c): a node report with the package and dram deviations given, and a
 * workload report of n steps over a 10 W baseline. Include after <cmocka.h>. */
#ifndef WATTLET_TEST_FIXTURE_VALIDATE_H
#define WATTLET_TEST_FIXTURE_VALIDATE_H

#include <math.h>
#include <string.h>

#include "agent/validate/validate.h"

static inline void node_report(struct validate_report *r, double pkg_dev, double dram_dev)
{
	memset(r, 0, sizeof(*r));
	r->kind = "node";
	validate_thresholds_default(&r->thr);
	r->checks.sane = true;
	r->zone_mask = (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM);
	r->zones[ZONE_PACKAGE].deviation_pct = pkg_dev;
	r->zones[ZONE_DRAM].deviation_pct = dram_dev;
}

/* baseline mean 10 W +- ci; steps with the given deltas and wattlet watts */
static inline void wl_report(struct validate_report *r, double base_ci, int n, const double *delta,
			     const double *wattlet)
{
	memset(r, 0, sizeof(*r));
	r->kind = "workload";
	r->zone = ZONE_PACKAGE;
	validate_thresholds_default(&r->thr);
	r->checks.sane = true;
	r->baseline_w = (struct vstats){ .n = 5, .mean = 10, .stddev = base_ci, .ci95 = base_ci };
	r->baseline_cpu_util = -1;
	r->n_steps = n;
	for (int i = 0; i < n; i++) {
		struct vstep_result *s = &r->steps[i];
		s->step = i + 1;
		s->delta_w = delta[i];
		s->wattlet_w = (struct vstats){ .n = 5, .mean = wattlet[i] };
		s->node_w = (struct vstats){ .n = 5, .mean = 10 + delta[i] * (i + 1) };
		s->delta_ci95 = base_ci * M_SQRT2; /* the step as noisy as the baseline */
		s->deviation_pct = validate_deviation_pct(wattlet[i], delta[i]);
		s->deviation_ci95 = validate_deviation_ci95_pct(wattlet[i], 0, delta[i],
								s->delta_ci95);
	}
}

#endif
