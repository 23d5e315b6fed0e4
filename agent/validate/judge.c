/* judge.c - pass, fail or refuse, from the measured numbers and the thresholds.
 *
 * Node: every compared zone's |deviation| <= node_pct, and the meter sane.
 * Workload (judged zone only):
 *   refuse  the node was saturated during the baseline, or the CPU used outside the
 *           instances (other CPU) changed between a step and the phase before it, or
 *           drifted within a phase, by more than the step's other_limit (below), or the
 *           smallest step is below min_step_w: nothing can be concluded;
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
 *
 * The other-CPU limit, from the judge's tolerance. Step k adds an instance using C
 * cores; the sampler's delta is P_i C + P_o dO, where dO is how much the CPU used
 * outside the instances changed since the previous phase and P_i, P_o are the watts per
 * busy core of the instance and of that other work. A correct agent gives the instance
 * P_i C, so its deviation reads  -P_o dO / (P_i C + P_o dO)  ~  -(dO / C)(P_o / P_i):
 * a systematic error the CIs do not contain (a steady change of load is not noise).
 * With P_o ~ P_i (exact on a CPU-time power model like the simulated meter's), the
 * bias is dO / C. It may take at most the share max_other_bias (default 0.5) of the
 * tolerance workload_pct: |dO| <= max_other_bias x workload_pct / 100 x C. At the
 * default 0.5 x 5 % the other CPU can move the deviation by 2.5 points, so alone it
 * can neither fail a correct agent (that needs more than 5) nor pass one more than
 * 7.5 % off; other work drawing up to twice the instance's watts per core still stays
 * within the tolerance. For a 0.3-core instance the limit is 0.0075 cores; for one
 * core, 0.025. A drift within a phase (second half's mean - first half's) is held to
 * the tightest limit of the steps whose delta uses that phase: the load was not steady
 * while the phase was measured, so which share of it a phase mean holds is chance.
 * A change or drift counts only by what exceeds its own 95 % CI (from the phases' CIs
 * of the mean: sqrt(ci_a^2 + ci_b^2) for a change between two phases, 2 ci for a drift,
 * the difference of two half-phase means): a shift that is clearly there refuses
 * everything, PASS and FAIL alike. Random fluctuation of a few hundredths of a core
 * (kernel threads, the agent itself) is already in the power CIs, and judged on point
 * estimates alone it refused nearly every run on a real node. The CI excuses at most
 * OTHER_RELIEF_MAX limits (a wide CI of a few windows must not hide a background job
 * stopping: seen, other CPU +0.63 cores within a bursty step whose CI hid it, and a
 * correct agent at -68 % +- 26).
 * A FAIL must also survive the other CPU's point estimates (blaming a correct agent is
 * the worse error): a step is failed only when no ratio rho = P_o / P_i in
 * [0, OTHER_WATTS_RATIO_MAX] makes the agent's value a correct one. The node delta is
 * P_i (C + rho dO), so a correct agent reports delta x C / (C + rho dO); the deviation
 * from that is monotonic in rho, so the two ends decide: a sign change between them, a
 * denominator that can reach 0, or an end within workload_pct (less the deviation's CI,
 * scaled to that end) refuses instead. Drift within a phase is not added: the power and
 * the other CPU of a phase are means over the same windows, so the delta holds
 * P_o dO whatever the order the load came in (drift only widens the CIs, which count).
 * Until session 5 this guard held every point estimate to the limit itself, which a
 * quiet node's own fluctuation exceeds (-0.024 cores at one step of a 0.3-core run):
 * an agent 26-42 % off was refused there instead of failed.
 * Steps without a measured instance CPU (C <= 0) are left to min_step_w.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../common/nametab.h"
#include "validate.h"

const char *verdict_name(enum verdict v)
{
	static const char *const names[] = {
		[VERDICT_PASS] = "pass", [VERDICT_FAIL] = "fail", [VERDICT_REFUSED] = "refused",
		[VERDICT_ERROR] = "error",
	};
	return nametab_name(names, NAMETAB_LEN(names), v, "error");
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
	t->max_other_bias = 0.5;
}

/* r's verdict v, and its reason formatted from fmt. */
static void set_verdict(struct validate_report *r, enum verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_verdict(struct validate_report *r, enum verdict v, const char *fmt, ...)
{
	va_list ap;

	r->verdict = v;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
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
		set_verdict(r, VERDICT_ERROR,
			    "no zone is measured by both the sampler and the agent");
		return;
	}
	if (worst >= 0) {
		set_verdict(r, VERDICT_FAIL,
			    "zone %s: the agent's node power deviates %.3f %% from the sampler's "
			    "(threshold %.3g %%)", zone_name((enum zone)worst), worst_dev,
			    r->thr.node_pct);
		return;
	}
	if (!r->checks.sane) {
		set_verdict(r, VERDICT_FAIL, "meter sanity: %.400s", r->checks.notes);
		return;
	}
	snprintf(r->reason, sizeof(r->reason),
		 "every zone within %.3g %% of the independent sampler", r->thr.node_pct);
}

static bool limit_ok(double lim)
{
	return isfinite(lim) && lim >= 0;
}

static const char *phase_name(int p, char *buf, size_t cap)
{
	if (p == 0)
		snprintf(buf, cap, "the baseline");
	else
		snprintf(buf, cap, "step %d", p);
	return buf;
}

/* The CI may excuse at most this many limits of a shift: with few windows a CI is wide
 * enough to hide a background job stopping (4 x 1 s windows: 0.4 cores). */
#define OTHER_RELIEF_MAX 4.0

/* Other work may draw up to this many times the instance's watts per core when the
 * FAIL guard asks whether the other CPU's change explains a deviation. */
#define OTHER_WATTS_RATIO_MAX 2.0

/* A phase's 95 % CI of the mean, 0 where unknown (one window). */
static double ci_or0(const struct vother_cpu *o)
{
	return isfinite(o->cores.ci95) && o->cores.ci95 > 0 ? o->cores.ci95 : 0;
}

/* How far |x| is beyond its CI half-width ci (0 when within it; NAN stays NAN). */
static double beyond_ci(double x, double ci)
{
	double b = fabs(x) - ci;
	return b > 0 ? b : (isnan(b) ? b : 0);
}

/* The part of a shift x that counts against limit lim: what exceeds its CI half-width
 * ci, the CI excusing at most OTHER_RELIEF_MAX limits. */
static double other_excess(double x, double ci, double lim)
{
	return beyond_ci(x, fmin(ci, OTHER_RELIEF_MAX * lim));
}

/* The other-CPU rule (see the top of this file): refuses and returns true when the
 * CPU used outside the instances changed or drifted beyond a step's limit. Phases in
 * time order; within one, its drift before its change against the phase before. */
static bool other_cpu_refused(struct validate_report *r)
{
	char a[32], b[32];

	if (!r->other_known)
		return false;
	for (int i = 0; i < r->n_steps; i++) /* from the thresholds in force */
		r->steps[i].other_limit = r->thr.max_other_bias * r->thr.workload_pct / 100.0 *
					  r->steps[i].cpu.mean;
	for (int p = 0; p <= r->n_steps; p++) {
		const struct vother_cpu *o = p == 0 ? &r->baseline_other : &r->steps[p - 1].other;
		double lim = INFINITY;
		int by = 0; /* the step whose limit applies */

		/* the steps whose delta uses phase p: p itself and p + 1 */
		for (int k = p; k <= p + 1 && k <= r->n_steps; k++) {
			const struct vstep_result *s = &r->steps[k - 1];
			if (k >= 1 && s->cpu.mean > 0 && limit_ok(s->other_limit) &&
			    s->other_limit < lim) {
				lim = s->other_limit;
				by = k;
			}
		}
		if (by && isfinite(o->drift) &&
		    !(other_excess(o->drift, 2 * ci_or0(o), lim) <= lim)) {
			const struct vstep_result *s = &r->steps[by - 1];
			set_verdict(r, VERDICT_REFUSED,
				    "REFUSED TO JUDGE: the CPU used outside the instances (other CPU) "
				    "drifted by %+.3f cores within %s (mean %.3f cores), beyond its "
				    "95 %% CI by more than the %.4f cores allowed (%.3g x %.3g %% of "
				    "step %d's %.3f-core instance): "
				    "the load around the workload was not steady, so the node power delta "
				    "is not the workload's; run on a quieter node", o->drift,
				    phase_name(p, a, sizeof(a)), o->cores.mean, lim, r->thr.max_other_bias,
				    r->thr.workload_pct, by, s->cpu.mean);
			return true;
		}
		if (p >= 1) {
			const struct vstep_result *s = &r->steps[p - 1];
			const struct vother_cpu *q = p == 1 ? &r->baseline_other : &r->steps[p - 2].other;
			if (!(s->cpu.mean > 0) || !limit_ok(s->other_limit))
				continue;
			double ci = hypot(ci_or0(q), ci_or0(&s->other));
			if (!(other_excess(s->other_change, ci, s->other_limit) <=
			      s->other_limit)) {
				set_verdict(r, VERDICT_REFUSED,
					    "REFUSED TO JUDGE: the CPU used outside the instances (other "
					    "CPU) changed by %+.3f cores from %s to step %d (%.3f -> %.3f "
					    "cores), beyond its 95 %% CI by more than the %.4f cores allowed "
					    "(%.3g x %.3g %% of "
					    "the new %.3f-core instance): other work, not the workload, "
					    "would move step %d's deviation by about %.0f %%; run on a "
					    "quieter node", s->other_change, phase_name(p - 1, b, sizeof(b)),
					    p, q->cores.mean, s->other.cores.mean, s->other_limit,
					    r->thr.max_other_bias, r->thr.workload_pct, s->cpu.mean, p,
					    100 * fabs(s->other_change) / s->cpu.mean);
				return true;
			}
		}
	}
	return false;
}

/* Step s's deviation from what a correct agent would report were other work drawing
 * rho times the instance's watts per core: delta x C / (C + rho dO). NAN where that
 * denominator is not positive (any value could then be correct). */
static double dev_at(const struct vstep_result *s, double rho)
{
	double c = s->cpu.mean, denom = c + rho * s->other_change;

	if (!(denom > 0))
		return NAN;
	return validate_deviation_pct(s->wattlet_w.mean, s->delta_w * c / denom);
}

/* Could the change of the CPU used outside the instances into step i's phase account
 * for its deviation (see the top of this file)? False where that change is unknown
 * (an unmeasured other CPU is not a reason to refuse). */
static bool other_cpu_explains(const struct validate_report *r, int i)
{
	const struct vstep_result *s = &r->steps[i];
	double d0, d1, ci0, ci1;

	if (!r->other_known || !isfinite(s->other_change) || !(s->cpu.mean > 0) ||
	    s->other_change == 0)
		return false;
	d0 = dev_at(s, 0);
	d1 = dev_at(s, OTHER_WATTS_RATIO_MAX);
	if (!isfinite(d0) || !isfinite(d1) || (d0 < 0) != (d1 < 0))
		return true;
	ci0 = isfinite(s->deviation_ci95) ? s->deviation_ci95 : 0;
	/* the CI in points scales with 1 / the reference the deviation is taken against */
	ci1 = ci0 * fabs((100 + d1) / (100 + d0));
	return fabs(d0) - ci0 <= r->thr.workload_pct || fabs(d1) - ci1 <= r->thr.workload_pct;
}

/* Refuses for step i, whose FAIL other_cpu_explains() could not rule out. */
static void refuse_explained(struct validate_report *r, int i)
{
	const struct vstep_result *s = &r->steps[i];
	double denom = s->cpu.mean + OTHER_WATTS_RATIO_MAX * s->other_change;
	char range[64];

	/* a correct agent's deviation (against the measured delta) spans 0 .. this */
	if (denom > 0)
		snprintf(range, sizeof(range), "between 0 and %+.1f %%",
			 100 * (s->cpu.mean / denom - 1));
	else
		snprintf(range, sizeof(range), "any deviation");
	set_verdict(r, VERDICT_REFUSED,
		    "REFUSED TO JUDGE: step %d's deviation %.2f %% +- %.2f could come from the change "
		    "of the CPU used outside the instances (other CPU), %+.3f cores beside a "
		    "%.3f-core instance: with other work drawing up to %.0fx the instance's watts "
		    "per core, a correct agent would read %s; run on a quieter node", s->step,
		    s->deviation_pct, isfinite(s->deviation_ci95) ? s->deviation_ci95 : 0.0,
		    s->other_change, s->cpu.mean, OTHER_WATTS_RATIO_MAX, range);
}

void validate_judge_workload(struct validate_report *r)
{
	double expected = INFINITY;
	int worst = -1, explained = -1;

	if (!r)
		return;
	r->reason[0] = '\0';
	if (r->n_steps <= 0 || r->baseline_w.n < 2) {
		set_verdict(r, VERDICT_ERROR, "no baseline or no step was measured");
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
		set_verdict(r, VERDICT_REFUSED,
			    "REFUSED TO JUDGE: the node was already saturated: %.0f %% of all CPUs busy "
			    "during the baseline (above %.0f %%), so a new instance displaces other "
			    "work instead of adding power; run on a quieter node",
			    r->baseline_cpu_util * 100, r->thr.max_baseline_util * 100);
		return;
	}
	if (other_cpu_refused(r)) /* a level shift beyond its CI: nothing can be judged */
		return;
	if (!(expected >= r->thr.min_step_w)) {
		set_verdict(r, VERDICT_REFUSED,
			    "REFUSED TO JUDGE: the smallest step changed node %s power by only %.3f W "
			    "(below %.3g W); the workload is too small to measure",
			    zone_name(r->zone), expected, r->thr.min_step_w);
		return;
	}
	for (int i = 0; i < r->n_steps; i++) {
		const struct vstep_result *s = &r->steps[i];
		if (isfinite(s->deviation_pct) && isfinite(s->deviation_ci95) &&
		    fabs(s->deviation_pct) - s->deviation_ci95 > r->thr.workload_pct) {
			/* never blame the agent for what other work's change could explain */
			if (other_cpu_explains(r, i)) {
				if (explained < 0)
					explained = i;
				continue;
			}
			set_verdict(r, VERDICT_FAIL,
				    "step %d: wattlet gave the new workload %.3f W, the node power rose by "
				    "%.3f W: deviation %.2f %% +- %.2f (95 %% CI), beyond %.3g %% even "
				    "allowing for the noise", s->step, s->wattlet_w.mean, s->delta_w,
				    s->deviation_pct, s->deviation_ci95, r->thr.workload_pct);
			return;
		}
	}
	if (explained >= 0) { /* every confident FAIL could be the other CPU's */
		refuse_explained(r, explained);
		return;
	}
	if (!(r->baseline_w.ci95 <= r->thr.max_noise * expected)) {
		set_verdict(r, VERDICT_REFUSED,
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
			set_verdict(r, VERDICT_REFUSED,
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
		set_verdict(r, VERDICT_REFUSED,
			    "REFUSED TO JUDGE: inconclusive: step %d's deviation %.2f %% +- %.2f (95 %% "
			    "CI) reaches both sides of the %.3g %% threshold; use more or longer "
			    "samples or a quieter node", s->step, s->deviation_pct, s->deviation_ci95,
			    r->thr.workload_pct);
		return;
	}
	if (worst >= 0) {
		const struct vstep_result *s = &r->steps[worst];
		if (other_cpu_explains(r, worst)) {
			refuse_explained(r, worst);
			return;
		}
		set_verdict(r, VERDICT_FAIL,
			    "step %d: wattlet gave the new workload %.3f W, the node power rose by "
			    "%.3f W: deviation %.2f %% (threshold %.3g %%)", s->step,
			    s->wattlet_w.mean, s->delta_w, s->deviation_pct, r->thr.workload_pct);
		return;
	}
	if (!r->checks.sane) {
		set_verdict(r, VERDICT_FAIL, "meter sanity: %.400s", r->checks.notes);
		return;
	}
	set_verdict(r, VERDICT_PASS,
		    "every step within %.3g %% of the node power delta", r->thr.workload_pct);
}
