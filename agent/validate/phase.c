/* phase.c - from one phase's windows to the numbers of a workload report: outlier
 * windows left out (all series paired), the phase's stats, the step's delta and
 * deviation against the previous phase, and the CPU used outside the instances.
 * Pure arithmetic on struct vwindows, so the unit tests feed it synthetic series. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "validate.h"

/* Stats of the kept windows, with the count left out. */
static void phase_stats(const double *x, size_t kept, size_t samples, struct vstats *out)
{
	memset(out, 0, sizeof(*out));
	if (kept > 0)
		vstats_compute(x, kept, out);
	out->dropped = samples - kept;
}

static bool all_finite(const double *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return false;
	return true;
}

/* Other CPU of a phase: stats, and the drift (second half's mean - first half's; the
 * middle window of an odd count belongs to neither). */
static void other_stats(const double *x, size_t n, struct vother_cpu *o)
{
	double a = 0, b = 0;
	size_t h = n / 2;

	memset(o, 0, sizeof(*o));
	o->drift = NAN;
	if (n == 0 || !all_finite(x, n)) {
		o->cores.mean = o->cores.stddev = o->cores.ci95 = NAN;
		o->cores.n = n;
		return;
	}
	vstats_compute(x, n, &o->cores);
	if (h == 0)
		return;
	for (size_t i = 0; i < h; i++) {
		a += x[i];
		b += x[n - h + i];
	}
	o->drift = (b - a) / (double)h;
}

int validate_workload_phase(struct validate_report *r, int phase, struct vwindows *w)
{
	size_t samples, kept;
	bool finite;

	if (!r || !w || w->n == 0 || w->n > VALIDATE_MAX_SAMPLES || phase < 0 ||
	    phase > VALIDATE_MAX_STEPS || w->n_inst != phase)
		return -EINVAL;
	/* a step needs the phase before it */
	if (phase > 0 && (r->baseline_w.n == 0 || (phase > 1 && r->steps[phase - 2].node_w.n == 0)))
		return -EINVAL;
	samples = w->n;
	kept = vstats_trim_outliers(w->node_w, w->y, VW_ROWS, samples);
	w->n = kept;
	finite = all_finite(w->y[VW_OTHER], kept);
	if (phase == 0) {
		phase_stats(w->node_w, kept, samples, &r->baseline_w);
		other_stats(w->y[VW_OTHER], kept, &r->baseline_other);
		r->other_known = finite;
		r->n_steps = 0;
		return 0;
	}
	{
		struct vstep_result *s = &r->steps[phase - 1];
		const struct vstats *prev = phase == 1 ? &r->baseline_w : &r->steps[phase - 2].node_w;
		const struct vother_cpu *prev_other = phase == 1 ? &r->baseline_other :
								   &r->steps[phase - 2].other;
		double prev_sum = phase == 1 ? 0 : r->steps[phase - 2].all_instances_w, sum = 0;

		s->step = phase;
		phase_stats(w->node_w, kept, samples, &s->node_w);
		phase_stats(w->y[VW_INST_W + phase - 1], kept, samples, &s->wattlet_w);
		phase_stats(w->y[VW_INST_CPU + phase - 1], kept, samples, &s->cpu);
		s->delta_w = s->node_w.mean - prev->mean;
		s->delta_ci95 = vstats_diff_ci95(&s->node_w, prev);
		for (int q = 0; q < phase; q++) {
			struct vstats st;
			phase_stats(w->y[VW_INST_W + q], kept, samples, &st);
			sum += st.mean;
		}
		s->all_instances_w = sum;
		s->all_instances_delta_w = sum - prev_sum;
		s->deviation_pct = validate_deviation_pct(s->wattlet_w.mean, s->delta_w);
		s->deviation_ci95 = validate_deviation_ci95_pct(s->wattlet_w.mean, s->wattlet_w.ci95,
								s->delta_w, s->delta_ci95);
		other_stats(w->y[VW_OTHER], kept, &s->other);
		s->other_change = s->other.cores.mean - prev_other->cores.mean;
		s->other_limit = r->thr.max_other_bias * r->thr.workload_pct / 100.0 * s->cpu.mean;
		r->other_known = r->other_known && finite;
		r->n_steps = phase;
	}
	return 0;
}
