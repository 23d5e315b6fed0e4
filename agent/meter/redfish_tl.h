/* redfish_tl.h - BMC power readings on the agent's timeline, integrated (pure, no I/O).
 *
 * Each reading is placed at the CLOCK_MONOTONIC time it was taken (the poller's estimate:
 * the middle of the request's time on the wire), not at the tick that consumes it.
 * Between two consecutive readings p, q (dt = q.t - p.t) power is the straight line
 * from p.watts to q.watts, and the segment's energy is
 *   counter    (q.kwh - p.kwh) x 3.6e12 uJ when both carry EnergykWh, use_kwh is set and
 *              the step is 0..RF_MAX_WATTS x dt (else the trapezoid: a reset or garbage);
 *   trapezoid  (p.watts + q.watts) / 2 x dt otherwise;
 *   gap        nothing when dt > stale_ns: nobody knows what the platform drew then.
 * rf_tl_take() integrates from where the previous take stopped (the cursor) up to
 * min(until, newest reading): part of a segment is the integral of the line over that
 * part (a counter segment's energy is shared in the same proportion). The caller asks
 * for the timeline up to "now minus the BMC's lag", so each tick gets an interval as long
 * as itself (smooth power) while readings keep coming; what is not covered yet is taken
 * by a later tick. Over any run of takes the sum is the integral of the readings from
 * the first reading to the last cursor, exactly: sub-microjoule remainders are carried.
 *
 * Ownership: the caller owns the struct (rf_tl_init; no allocation). Not thread-safe: the
 * poller holds its lock around both calls.
 * Return convention: rf_tl_add() 0, -EINVAL (a time not after the newest reading's, a
 * NULL), -ERANGE (watts not finite or outside 0..RF_MAX_WATTS). No logging.
 */
#ifndef WATTLET_REDFISH_TL_H
#define WATTLET_REDFISH_TL_H

#include <stdbool.h>
#include <stdint.h>

#define RF_TL_POINTS 64 /* readings kept ahead of the cursor; older ones are integrated */

struct rf_point {
	uint64_t t_ns; /* CLOCK_MONOTONIC when the reading was taken */
	double watts;
	bool have_kwh;
	double kwh;
};

struct rf_tl {
	uint64_t stale_ns;
	bool use_kwh;
	struct rf_point pt[RF_TL_POINTS]; /* pt[0].t <= cursor once there is one */
	unsigned n;
	uint64_t cursor;       /* integrated up to here (valid when n > 0) */
	double frac_uj;
	/* integrated on overflow, handed out by the next take */
	uint64_t over_uj, over_span_ns, over_gap_ns;
	unsigned over_segments, over_gaps;
	uint64_t readings;     /* accepted since init */
};

struct rf_take {
	uint64_t uj;        /* energy from the previous cursor to the new one */
	uint64_t from_ns, to_ns; /* the previous and the new cursor */
	uint64_t span_ns;   /* time integrated (to - from less the gaps) */
	uint64_t gap_ns;    /* time skipped as gaps */
	unsigned segments;  /* segments touched */
	unsigned counter_segments, gaps;
	bool have_reading;  /* any reading at all */
	uint64_t age_ns;    /* now - newest reading (0 without one) */
	bool stale;         /* no reading, or the newest is older than stale_ns */
};

void rf_tl_init(struct rf_tl *tl, uint64_t stale_ns, bool use_kwh);
int rf_tl_add(struct rf_tl *tl, const struct rf_point *p);
/* Integrates from the cursor to min(until_ns, newest reading) and moves the cursor
 * there; now_ns gives the age and staleness. */
void rf_tl_take(struct rf_tl *tl, uint64_t now_ns, uint64_t until_ns, struct rf_take *out);

#endif
