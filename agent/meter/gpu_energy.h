/* gpu_energy.h - one GPU's energy per interval from NVML readings (pure, no I/O).
 *
 * A GPU reports either a total-energy counter (millijoules since the driver loaded,
 * 64-bit, Volta and later) or only its power draw (milliwatts). This turns a series of
 * readings into energy per interval:
 *   counter  the counter's step. Backwards means the driver reloaded (a reset): the
 *            energy since the reset is the new value when that is plausible, else 0.
 *            A forward step above max_watts x the interval is garbage the first time
 *            (error, baseline kept) and a reset when the next reading confirms it.
 *   power    trapezoid between consecutive readings: (P0 + P1) / 2 x dt. A gap longer
 *            than max_gap_ns (missed ticks, failed reads) is not integrated - nobody
 *            knows what the GPU drew - the reading becomes the new baseline and the
 *            step says GPU_STEP_GAP (energy 0). Readings above max_watts are garbage.
 * A failed reading (have neither value) is GPU_STEP_ERR and keeps the baseline, so the
 * next good counter reading covers the gap (a power reading covers it within max_gap).
 * Sub-microjoule remainders are carried, so the sum over intervals is exact.
 *
 * Ownership: the caller owns struct gpu_energy (zero-initialise it). No allocation.
 * Return convention: gpu_energy_step() returns 0 or -EINVAL (bad arguments, or time
 * going backwards).
 */
#ifndef WATTLET_GPU_ENERGY_H
#define WATTLET_GPU_ENERGY_H

#include <stdbool.h>
#include <stdint.h>

enum gpu_step_res {
	GPU_STEP_BASE,  /* first reading: baseline, no energy */
	GPU_STEP_OK,    /* energy for the interval */
	GPU_STEP_RESET, /* the counter went back (driver reload) or a jump was confirmed */
	GPU_STEP_GAP,   /* power only, interval longer than max_gap: rebased, no energy */
	GPU_STEP_ERR,   /* reading missing or implausible: baseline kept, no energy */
};

struct gpu_reading {
	bool have_mj;   /* energy counter read */
	uint64_t mj;
	bool have_mw;   /* power read */
	uint32_t mw;
	uint64_t t_ns;  /* CLOCK_MONOTONIC of the reading */
};

struct gpu_energy {
	bool use_counter; /* decided by the first reading: the counter when it has one */
	bool have_base;
	uint64_t base_mj, base_t;
	uint32_t base_mw;
	bool have_pend;   /* an implausible forward counter step seen, not yet accepted */
	uint64_t pend_mj, pend_t;
	double frac_uj;
};

#define GPU_DEFAULT_MAX_WATTS 2000.0
#define GPU_DEFAULT_MAX_GAP_NS (10ull * 1000000000ull)

/* One reading -> *uj (energy since the previous accepted reading) and *res. */
int gpu_energy_step(struct gpu_energy *s, const struct gpu_reading *r, double max_watts,
		    uint64_t max_gap_ns, uint64_t *uj, enum gpu_step_res *res);

const char *gpu_step_name(enum gpu_step_res r);

#endif
