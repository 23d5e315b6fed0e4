/* judge.c - pass, fail or refuse, from the measured numbers and the thresholds.
 *
 * Node: every compared zone's |deviation| <= node_pct, and the meter sane.
 * Workload (judged zone only):
 *   refuse  the node was saturated during the baseline, or the smallest step is below
 *           min_step_w: nothing can be concluded;
 *   fail    (confidently) a step's deviation is beyond workload_pct even at the near
 *           end of its 95 % CI: |deviation| - ci > workload_pct. Noise cannot hide a
 *           gross error, so this is judged before the noise rules below;
 *   refuse  the baseline's CI half-width is above max_noise x the expected step (the
 *           smallest step the sampler saw), or a step's delta CI is above sqrt(2) x
 *           that (the load changed during the step): whether the attribution is within
 *           the threshold would be decided by the noise, so no verdict is given;
 *   refuse  (inconclusive) a step's |deviation| is above workload_pct but its CI reaches
 *           back inside: neither pass nor fail is supported by the numbers;
 *   fail    a step's |deviation| > workload_pct with no CI known, or the meter is not
 *           sane;
 *   pass    otherwise: every step's deviation within workload_pct and the noise bounded
 *           as above.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"

const char *verdict_name(enum verdict v)
{
	switch (v) {
	case VERDICT_PASS:
		return "pass";
	case VERDICT_FAIL:
		return "fail";
	case VERDICT_REFUSED:
		return "refused";
	default:
		return "error";
	}
}

void validate_thresholds_default(struct validate_thresholds *t)
{
	if (!t)
		return;
	t->node_pct = 1.0;
	t->workload_pct = 5.0;
	t->max_noise = 0.10;
	t->min_step_w = 0.05;
	t->max_baseline_util = 0.85;
}

static bool within(double dev, double thr)
{
	return isfinite(dev) && fabs(dev) <= thr;
}

void validate_judge_node(struct validate_report *r)
{
	int worst = -1, compared = 0;
	double worst_dev = 0;

	if (!r)
		return;
	r->verdict = VERDICT_PASS;
	r->reason[0] = '\0';
	for (int z = 0; z < ZONE_COUNT; z++) {
		struct vzone_result *zr = &r->zones[z];
		if (!(r->zone_mask & (1u << z)))
			continue;
		compared++;
		zr->pass = within(zr->deviation_pct, r->thr.node_pct);
		if (!zr->pass && (worst < 0 || !isfinite(zr->deviation_pct) ||
				  fabs(zr->deviation_pct) > fabs(worst_dev))) {
			worst = z;
			worst_dev = zr->deviation_pct;
		}
	}
	if (compared == 0) {
		r->verdict = VERDICT_ERROR;
		snprintf(r->reason, sizeof(r->reason),
			 "no zone is measured by both the sampler and the agent");
		return;
	}
	if (worst >= 0) {
		r->verdict = VERDICT_FAIL;
		snprintf(r->reason, sizeof(r->reason),
			 "zone %s: the agent's node power deviates %.3f %% from the sampler's "
			 "(threshold %.3g %%)", zone_name((enum zone)worst), worst_dev,
			 r->thr.node_pct);
		return;
	}
	if (!r->checks.sane) {
		r->verdict = VERDICT_FAIL;
		snprintf(r->reason, sizeof(r->reason), "meter sanity: %.400s", r->checks.notes);
		return;
	}
	snprintf(r->reason, sizeof(r->reason),
		 "every zone within %.3g %% of the independent sampler", r->thr.node_pct);
}

void validate_judge_workload(struct validate_report *r)
{
	double expected = INFINITY;
	int worst = -1;

	if (!r)
		return;
	r->reason[0] = '\0';
	if (r->n_steps <= 0 || r->baseline_w.n < 2) {
		r->verdict = VERDICT_ERROR;
		snprintf(r->reason, sizeof(r->reason), "no baseline or no step was measured");
		return;
	}
	for (int i = 0; i < r->n_steps; i++) {
		struct vstep_result *s = &r->steps[i];
		double d = isfinite(s->delta_w) ? fabs(s->delta_w) : 0;
		if (d < expected)
			expected = d;
		s->pass = within(s->deviation_pct, r->thr.workload_pct);
		if (!s->pass && (worst < 0 || !isfinite(s->deviation_pct) ||
				 fabs(s->deviation_pct) > fabs(r->steps[worst].deviation_pct)))
			worst = i;
	}
	r->expected_step_w = expected;
	if (r->baseline_cpu_util > r->thr.max_baseline_util) {
		r->verdict = VERDICT_REFUSED;
		snprintf(r->reason, sizeof(r->reason),
			 "REFUSED TO JUDGE: the node was already saturated: %.0f %% of all CPUs busy "
			 "during the baseline (above %.0f %%), so a new instance displaces other "
			 "work instead of adding power; run on a quieter node",
			 r->baseline_cpu_util * 100, r->thr.max_baseline_util * 100);
		return;
	}
	if (!(expected >= r->thr.min_step_w)) {
		r->verdict = VERDICT_REFUSED;
		snprintf(r->reason, sizeof(r->reason),
			 "REFUSED TO JUDGE: the smallest step changed node %s power by only %.3f W "
			 "(below %.3g W); the workload is too small to measure",
			 zone_name(r->zone), expected, r->thr.min_step_w);
		return;
	}
	for (int i = 0; i < r->n_steps; i++) {
		const struct vstep_result *s = &r->steps[i];
		if (isfinite(s->deviation_pct) && isfinite(s->deviation_ci95) &&
		    fabs(s->deviation_pct) - s->deviation_ci95 > r->thr.workload_pct) {
			r->verdict = VERDICT_FAIL;
			snprintf(r->reason, sizeof(r->reason),
				 "step %d: wattlet gave the new workload %.3f W, the node power rose by "
				 "%.3f W: deviation %.2f %% +- %.2f (95 %% CI), beyond %.3g %% even "
				 "allowing for the noise", s->step, s->wattlet_w.mean, s->delta_w,
				 s->deviation_pct, s->deviation_ci95, r->thr.workload_pct);
			return;
		}
	}
	if (!(r->baseline_w.ci95 <= r->thr.max_noise * expected)) {
		r->verdict = VERDICT_REFUSED;
		snprintf(r->reason, sizeof(r->reason),
			 "REFUSED TO JUDGE: the baseline is too noisy: its 95 %% CI half-width "
			 "%.3f W is above %.0f %% of the expected step (%.3f W); use more or "
			 "longer samples, a quieter node, or a larger workload",
			 r->baseline_w.ci95, r->thr.max_noise * 100, expected);
		return;
	}
	for (int i = 0; i < r->n_steps; i++) {
		const struct vstep_result *s = &r->steps[i];
		/* a difference of two means with the baseline's noise has sqrt(2) x its CI */
		if (!(s->delta_ci95 <= M_SQRT2 * r->thr.max_noise * expected)) {
			r->verdict = VERDICT_REFUSED;
			snprintf(r->reason, sizeof(r->reason),
				 "REFUSED TO JUDGE: step %d is too noisy: its delta's 95 %% CI "
				 "half-width %.3f W is above %.0f %% x sqrt(2) of the expected step "
				 "(%.3f W); the load changed during the step", s->step, s->delta_ci95,
				 r->thr.max_noise * 100, expected);
			return;
		}
	}
	if (worst >= 0 && isfinite(r->steps[worst].deviation_pct) &&
	    isfinite(r->steps[worst].deviation_ci95) &&
	    fabs(r->steps[worst].deviation_pct) - r->steps[worst].deviation_ci95 <=
		    r->thr.workload_pct) {
		const struct vstep_result *s = &r->steps[worst];
		r->verdict = VERDICT_REFUSED;
		snprintf(r->reason, sizeof(r->reason),
			 "REFUSED TO JUDGE: inconclusive: step %d's deviation %.2f %% +- %.2f (95 %% "
			 "CI) reaches both sides of the %.3g %% threshold; use more or longer "
			 "samples or a quieter node", s->step, s->deviation_pct, s->deviation_ci95,
			 r->thr.workload_pct);
		return;
	}
	if (worst >= 0) {
		const struct vstep_result *s = &r->steps[worst];
		r->verdict = VERDICT_FAIL;
		snprintf(r->reason, sizeof(r->reason),
			 "step %d: wattlet gave the new workload %.3f W, the node power rose by "
			 "%.3f W: deviation %.2f %% (threshold %.3g %%)", s->step,
			 s->wattlet_w.mean, s->delta_w, s->deviation_pct, r->thr.workload_pct);
		return;
	}
	if (!r->checks.sane) {
		r->verdict = VERDICT_FAIL;
		snprintf(r->reason, sizeof(r->reason), "meter sanity: %.400s", r->checks.notes);
		return;
	}
	r->verdict = VERDICT_PASS;
	snprintf(r->reason, sizeof(r->reason),
		 "every step within %.3g %% of the node power delta", r->thr.workload_pct);
}
