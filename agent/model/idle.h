/* idle.h - learns a zone's idle power from recent (power, utilisation) samples.
 *
 * Idle power has one meaning everywhere: the zone's power with no workload running.
 * It is configured, or learned here from a sliding window of per-tick samples:
 *   1. "learned" (fit): samples are binned by node utilisation (fraction of all CPUs
 *      busy, 5 % bins); each bin's median power is a robust point; a least-squares line
 *      through the bin medians (each bin weighted by its sample count) is extrapolated
 *      to zero utilisation. Used when at least 3 bins hold >= 5 samples (and >= 1 % of
 *      the window) each and their utilisation spans >= 25 % and the intercept is plausible (0 <= idle <= the low percentile).
 *   2. "learned" (low): otherwise, when some samples were taken at low utilisation
 *      (<= low_util), the chosen low percentile of their power.
 *   3. the last learned value (also restored from the checkpoint by idle_est_seed()).
 *   4. "fallback": the low percentile of all samples. Under sustained load this
 *      overestimates idle (dynamic goes toward zero) - it never collapses idle to
 *      zero - and the source says so, so operators configure model.idle_watts.
 * Because 1. extrapolates from the spread of load, sustained load does not pull the
 * estimate down toward zero as a usage-ratio residual does.
 *
 * Ownership: idle_est_new() returns an object freed with idle_est_free() (NULL-safe).
 * Return convention: 0 or negative errno; -EAGAIN from idle_est_get() while there are
 * no samples and nothing seeded.
 */
#ifndef WATTLET_IDLE_H
#define WATTLET_IDLE_H

#include <stdbool.h>
#include <stddef.h>

enum idle_source { IDLE_SRC_NONE, IDLE_SRC_CONFIGURED, IDLE_SRC_FIT, IDLE_SRC_LOW, IDLE_SRC_SEED,
		   IDLE_SRC_FALLBACK };

struct idle_est *idle_est_new(size_t window, double percentile, double low_util);
void idle_est_free(struct idle_est *e);

/* watts: the zone's average power over the tick; util: node busy fraction 0..1. */
void idle_est_add(struct idle_est *e, double watts, double util);
/* A previously learned value (e.g. from the checkpoint), used until samples decide. */
void idle_est_seed(struct idle_est *e, double watts);
/* Recomputes the estimate (call at most every few ticks; O(window log window)). */
int idle_est_update(struct idle_est *e);
/* The current estimate and where it came from. */
int idle_est_get(const struct idle_est *e, double *watts, enum idle_source *src);
size_t idle_est_count(const struct idle_est *e);

const char *idle_source_name(enum idle_source s);

/* How the current estimate was made (for sharing it with other nodes of the class). */
struct idle_info {
	enum idle_source src;
	size_t samples;     /* in the window */
	size_t fit_bins;    /* learned-fit: bins through which the line was fitted */
	double fit_span;    /* learned-fit: utilisation span of those bins */
	double fit_rmse;    /* learned-fit: weighted RMS of the bin medians about the line, W */
	size_t low_samples; /* learned-low: samples at utilisation <= low_util */
};

#define IDLE_CONFIDENT_SAMPLES 120 /* samples (or a full window, if smaller) before an
					   estimate is shared */

/* Fills *out; returns true when the estimate is confident enough to stand for the
 * node's hardware class: learned-fit or learned-low from this window (not the
 * checkpoint, not the fallback) with >= min(IDLE_CONFIDENT_SAMPLES, window) samples (learned-low:
 * >= MIN_LOW_SAMPLES of them at low utilisation). */
bool idle_est_info(const struct idle_est *e, struct idle_info *out);

#endif
