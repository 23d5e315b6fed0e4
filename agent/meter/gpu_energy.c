/* gpu_energy.c - see gpu_energy.h. */
#include "gpu_energy.h"

#include <errno.h>
#include <math.h>

#define SLACK_NS 1000000ull /* a reading may be up to 1 ms older than its timestamp */

const char *gpu_step_name(enum gpu_step_res r)
{
	switch (r) {
	case GPU_STEP_BASE: return "baseline";
	case GPU_STEP_OK: return "ok";
	case GPU_STEP_RESET: return "reset";
	case GPU_STEP_GAP: return "gap";
	case GPU_STEP_ERR: return "error";
	}
	return "unknown";
}

/* max_watts x (t1 - t0 + slack) in microjoules */
static double limit_uj(double max_watts, uint64_t t0, uint64_t t1)
{
	uint64_t dt = t1 > t0 ? t1 - t0 : 0;
	return max_watts * (double)(dt + SLACK_NS) / 1e3;
}

static void rebase(struct gpu_energy *s, const struct gpu_reading *r)
{
	s->have_base = true;
	s->base_t = r->t_ns;
	s->have_pend = false;
	if (s->use_counter)
		s->base_mj = r->mj;
	else
		s->base_mw = r->mw;
}

static uint64_t take(struct gpu_energy *s, double uj)
{
	double e = uj + s->frac_uj;
	double whole = floor(e);

	s->frac_uj = e - whole;
	return (uint64_t)whole;
}

static enum gpu_step_res counter_step(struct gpu_energy *s, const struct gpu_reading *r,
				      double max_watts, double *uj)
{
	double lim = limit_uj(max_watts, s->base_t, r->t_ns);

	if (r->mj >= s->base_mj) {
		double step = (double)(r->mj - s->base_mj) * 1e3;
		if (step <= lim) {
			*uj = step;
			return GPU_STEP_OK;
		}
		if (s->have_pend && r->mj >= s->pend_mj &&
		    (double)(r->mj - s->pend_mj) * 1e3 <= limit_uj(max_watts, s->pend_t, r->t_ns)) {
			*uj = (double)(r->mj - s->pend_mj) * 1e3; /* a reset confirmed */
			return GPU_STEP_RESET;
		}
		s->have_pend = true;
		s->pend_mj = r->mj;
		s->pend_t = r->t_ns;
		return GPU_STEP_ERR;
	}
	/* backwards: the driver reloaded; count what it says since, if plausible */
	*uj = (double)r->mj * 1e3 <= lim ? (double)r->mj * 1e3 : 0;
	return GPU_STEP_RESET;
}

int gpu_energy_step(struct gpu_energy *s, const struct gpu_reading *r, double max_watts,
		    uint64_t max_gap_ns, uint64_t *uj, enum gpu_step_res *res)
{
	enum gpu_step_res out;
	double e = 0;

	if (!s || !r || !uj || !res)
		return -EINVAL;
	*uj = 0;
	if (!(max_watts > 0) || !isfinite(max_watts))
		max_watts = GPU_DEFAULT_MAX_WATTS;
	if (max_gap_ns == 0)
		max_gap_ns = GPU_DEFAULT_MAX_GAP_NS;
	if (s->have_base && r->t_ns < s->base_t)
		return -EINVAL;
	if (!s->have_base) {
		if (!r->have_mj && !r->have_mw) {
			*res = GPU_STEP_ERR;
			return 0;
		}
		s->use_counter = r->have_mj;
		if (!s->use_counter && (double)r->mw > max_watts * 1e3) {
			*res = GPU_STEP_ERR;
			return 0;
		}
		rebase(s, r);
		*res = GPU_STEP_BASE;
		return 0;
	}
	if (s->use_counter) {
		if (!r->have_mj) {
			*res = GPU_STEP_ERR;
			return 0;
		}
		out = counter_step(s, r, max_watts, &e);
	} else {
		if (!r->have_mw || (double)r->mw > max_watts * 1e3) {
			*res = GPU_STEP_ERR;
			return 0;
		}
		if (r->t_ns - s->base_t > max_gap_ns) {
			out = GPU_STEP_GAP;
		} else {
			/* mW x ns / 1e6 = uJ */
			e = ((double)s->base_mw + (double)r->mw) / 2.0 * (double)(r->t_ns - s->base_t) / 1e6;
			out = GPU_STEP_OK;
		}
	}
	if (out == GPU_STEP_ERR) {
		*res = out;
		return 0;
	}
	rebase(s, r);
	*uj = take(s, e);
	*res = out;
	return 0;
}
