/* throttle.c - see throttle.h. */
#include "throttle.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "../common/nametab.h"

bool thr_system_namespace(const char *ns)
{
	return ns && (strcmp(ns, "kube-system") == 0 || strcmp(ns, "kube-public") == 0 ||
		      strcmp(ns, "kube-node-lease") == 0);
}

double thr_rate_w(const struct ep_budget *b)
{
	return b && b->window_ms ? b->max_joules / (b->window_ms / 1000.0) : 0;
}

uint64_t thr_period_ms(uint64_t window_ms)
{
	uint64_t p = window_ms / 6;
	if (p < THR_PERIOD_MIN_MS)
		p = THR_PERIOD_MIN_MS;
	if (p > THR_PERIOD_MAX_MS)
		p = THR_PERIOD_MAX_MS;
	return p;
}

const char *thr_reason_name(enum thr_reason r)
{
	static const char *const names[] = {
		[THR_R_OVER_BUDGET] = "OverBudget", [THR_R_OFF_RATE] = "OffRate",
		[THR_R_UNDER_BUDGET] = "UnderBudget", [THR_R_NOT_SELECTED] = "NotSelected",
		[THR_R_SYSTEM_NS] = "SystemNamespace",
	};
	return nametab_name(names, NAMETAB_LEN(names), r, ""); /* THR_R_NONE: "" */
}

static uint32_t clamp_limit(double mcpu, uint32_t floor_mcpu, uint32_t cap_mcpu)
{
	if (!(mcpu >= floor_mcpu)) /* NaN too */
		mcpu = floor_mcpu;
	if (cap_mcpu && mcpu > cap_mcpu)
		mcpu = cap_mcpu > floor_mcpu ? cap_mcpu : floor_mcpu;
	if (mcpu > 4e9)
		mcpu = 4e9;
	return (uint32_t)(mcpu + 0.5);
}

static void set_ref(struct thr_state *st, const struct thr_input *in)
{
	st->has_ref = true;
	st->ref_ms = in->now_ms;
	st->ref_j = in->joules_total;
	st->ref_cpu_s = in->cpu_s_total;
}

static void restore(struct thr_state *st, struct thr_decision *out, enum thr_reason why)
{
	out->verdict = THR_RESTORE;
	out->reason = why;
	out->limit_mcpu = st->limit_mcpu;
	st->throttled = false;
	st->limit_mcpu = 0;
	st->since_ms = 0;
	st->settle = false;
}

int throttle_step(struct thr_state *st, const struct thr_input *in, struct thr_decision *out)
{
	const struct ep_budget *b;
	double dt, dj, dc, rate;
	bool eligible;

	if (!st || !in || !out || !isfinite(in->joules_total) || in->joules_total < 0 ||
	    !isfinite(in->cpu_s_total) || in->cpu_s_total < 0 || !isfinite(in->window_joules) ||
	    in->window_joules < 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	b = in->budget && in->budget->action == EP_ACTION_THROTTLE ? in->budget : NULL;
	eligible = b && (!thr_system_namespace(in->ns) || b->throttle.system_namespaces);
	if (!eligible) {
		st->has_ref = false;
		if (st->throttled)
			restore(st, out, b ? THR_R_SYSTEM_NS : THR_R_NOT_SELECTED);
		else if (b)
			out->reason = THR_R_SYSTEM_NS;
		return 0;
	}
	rate = thr_rate_w(b);
	out->rate_w = rate;
	if (!st->has_ref || in->now_ms < st->ref_ms || in->joules_total < st->ref_j ||
	    in->cpu_s_total < st->ref_cpu_s) {
		set_ref(st, in); /* first look, or a clock / counter went back */
		return 0;
	}
	if (in->now_ms - st->ref_ms < thr_period_ms(b->window_ms))
		return 0;
	dt = (in->now_ms - st->ref_ms) / 1000.0;
	dj = in->joules_total - st->ref_j;
	dc = in->cpu_s_total - st->ref_cpu_s;
	set_ref(st, in);
	st->watts = dj / dt;
	st->cores = dc / dt;
	out->watts = st->watts;
	out->cores = st->cores;

	if (!st->throttled) {
		if (!(in->window_joules > b->max_joules) || !(st->watts > rate))
			return 0;
		/* the pod's own W per core, scaled to the rate; no CPU seen: the floor */
		double l = st->cores > 0.0005 ? st->cores * rate / st->watts * 1000.0 : 0;
		st->throttled = true;
		st->limit_mcpu = clamp_limit(l, b->throttle.min_mcpu, in->cap_mcpu);
		st->since_ms = in->now_ms;
		st->settle = true;
		out->verdict = THR_THROTTLE;
		out->reason = THR_R_OVER_BUDGET;
		out->limit_mcpu = st->limit_mcpu;
		return 0;
	}
	if (in->span_ms >= b->window_ms &&
	    in->window_joules < THR_RESTORE_FRACTION * b->max_joules) {
		restore(st, out, THR_R_UNDER_BUDGET);
		return 0;
	}
	out->limit_mcpu = st->limit_mcpu;
	if (st->settle) {
		st->settle = false; /* this period saw the change being applied */
		return 0;
	}
	if (fabs(st->watts - rate) <= THR_TOLERANCE * rate)
		return 0;
	{
		double f = st->watts > 0 ? rate / st->watts : 4.0;
		uint32_t nl;
		if (f > 4.0)
			f = 4.0;
		if (f < 0.25)
			f = 0.25;
		nl = clamp_limit(st->limit_mcpu * f, b->throttle.min_mcpu, in->cap_mcpu);
		if (nl == st->limit_mcpu ||
		    fabs((double)nl - st->limit_mcpu) < THR_MIN_STEP * st->limit_mcpu)
			return 0; /* at the floor / cap, or too small a change */
		st->limit_mcpu = nl;
		st->settle = true;
		out->verdict = THR_ADJUST;
		out->reason = THR_R_OFF_RATE;
		out->limit_mcpu = nl;
	}
	return 0;
}
