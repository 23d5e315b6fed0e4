/* redfish_tl.c - see redfish_tl.h. */
#include "redfish_tl.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "redfish_json.h"

void rf_tl_init(struct rf_tl *tl, uint64_t stale_ns, bool use_kwh)
{
	memset(tl, 0, sizeof(*tl));
	tl->stale_ns = stale_ns;
	tl->use_kwh = use_kwh;
}

/* The line's value at x in segment p -> q. */
static double watts_at(const struct rf_point *p, const struct rf_point *q, uint64_t x)
{
	double f = (double)(x - p->t_ns) / (double)(q->t_ns - p->t_ns);
	return p->watts + (q->watts - p->watts) * f;
}

/* Energy (uJ, double) of segment p -> q over [x0, x1] inside it; *counter: the counter's. */
static double part_uj(const struct rf_tl *tl, const struct rf_point *p, const struct rf_point *q,
		      uint64_t x0, uint64_t x1, bool *counter)
{
	double dt = (double)(q->t_ns - p->t_ns);
	double part = (watts_at(p, q, x0) + watts_at(p, q, x1)) / 2 * (double)(x1 - x0) / 1e3;
	double whole = (p->watts + q->watts) / 2 * dt / 1e3;

	*counter = false;
	if (tl->use_kwh && p->have_kwh && q->have_kwh && q->kwh >= p->kwh) {
		double e = (q->kwh - p->kwh) * 3.6e12; /* kWh -> uJ */
		if (e <= RF_MAX_WATTS * dt / 1e3) {
			*counter = true;
			if (x0 == p->t_ns && x1 == q->t_ns)
				return e;
			return whole > 0 ? e * part / whole : e * (double)(x1 - x0) / dt;
		}
	}
	return part;
}

struct acc {
	double uj;
	uint64_t span, gap;
	unsigned segments, counter_segments, gaps;
};

/* Integrates pt[0..] from the cursor to end (<= newest), moving the cursor and dropping
 * the readings behind it. */
static void advance(struct rf_tl *tl, uint64_t end, struct acc *a)
{
	unsigned i = 0;

	while (i + 1 < tl->n && tl->cursor < end) {
		const struct rf_point *p = &tl->pt[i], *q = &tl->pt[i + 1];
		uint64_t x0 = tl->cursor > p->t_ns ? tl->cursor : p->t_ns;
		uint64_t x1 = end < q->t_ns ? end : q->t_ns;
		bool counter;

		if (x1 > x0) {
			if (q->t_ns - p->t_ns > tl->stale_ns) {
				a->gap += x1 - x0;
				a->gaps++;
			} else {
				a->uj += part_uj(tl, p, q, x0, x1, &counter);
				a->span += x1 - x0;
				a->segments++;
				a->counter_segments += counter;
			}
			tl->cursor = x1;
		}
		if (tl->cursor >= q->t_ns)
			i++;
		else
			break;
	}
	if (i) {
		memmove(tl->pt, tl->pt + i, (tl->n - i) * sizeof(tl->pt[0]));
		tl->n -= i;
	}
}

static uint64_t whole_uj(struct rf_tl *tl, double uj)
{
	double e = uj + tl->frac_uj, w = floor(e);

	tl->frac_uj = e - w;
	return (uint64_t)w;
}

int rf_tl_add(struct rf_tl *tl, const struct rf_point *p)
{
	if (!tl || !p)
		return -EINVAL;
	if (!isfinite(p->watts) || p->watts < 0 || p->watts > RF_MAX_WATTS)
		return -ERANGE;
	if (tl->n && p->t_ns <= tl->pt[tl->n - 1].t_ns)
		return -EINVAL;
	if (tl->n == RF_TL_POINTS) { /* nobody took for a long time: integrate the oldest */
		struct acc a = { 0 };
		advance(tl, tl->pt[1].t_ns, &a);
		tl->over_uj += whole_uj(tl, a.uj);
		tl->over_span_ns += a.span;
		tl->over_gap_ns += a.gap;
		tl->over_segments += a.segments;
		tl->over_gaps += a.gaps;
	}
	if (tl->n == 0)
		tl->cursor = p->t_ns;
	tl->pt[tl->n++] = *p;
	tl->readings++;
	return 0;
}

void rf_tl_take(struct rf_tl *tl, uint64_t now_ns, uint64_t until_ns, struct rf_take *out)
{
	struct acc a = { 0 };
	uint64_t newest, end;

	memset(out, 0, sizeof(*out));
	out->have_reading = tl->n > 0;
	out->stale = true;
	if (!tl->n)
		return;
	newest = tl->pt[tl->n - 1].t_ns;
	out->age_ns = now_ns > newest ? now_ns - newest : 0;
	out->stale = out->age_ns > tl->stale_ns;
	out->from_ns = tl->cursor;
	end = until_ns < newest ? until_ns : newest;
	if (end > tl->cursor)
		advance(tl, end, &a);
	out->to_ns = tl->cursor;
	out->uj = whole_uj(tl, a.uj) + tl->over_uj;
	out->span_ns = a.span + tl->over_span_ns;
	out->gap_ns = a.gap + tl->over_gap_ns;
	out->segments = a.segments + tl->over_segments;
	out->counter_segments = a.counter_segments;
	out->gaps = a.gaps + tl->over_gaps;
	tl->over_uj = tl->over_span_ns = tl->over_gap_ns = 0;
	tl->over_segments = tl->over_gaps = 0;
}
