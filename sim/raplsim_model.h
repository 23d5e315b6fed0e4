/* raplsim_model.h - the arithmetic of the simulated RAPL meter (sim/raplsim.c):
 * CPU busy-ness from /proc/stat, the power curve, and a wrapping energy counter.
 *
 * Pure functions on caller-owned values: no allocation, no I/O, no logging.
 * Compiled into libwattlet.a so test/unit/test_raplsim.c can test it; only the
 * raplsim program uses it.
 *
 * The curve (busy = busy CPUs over the interval, 0..ncpu):
 *   package = idle_w + w_per_core * busy^exponent
 *   core    = core_idle_w + core_share * (package - idle_w)
 *   dram    = dram_idle_w + dram_w_per_core * busy
 *   psys    = package + dram + psys_extra_w        (only with --psys)
 *
 * Return convention: 0 or a negative errno.
 */
#ifndef WATTLET_RAPLSIM_MODEL_H
#define WATTLET_RAPLSIM_MODEL_H

#include <stddef.h>
#include <stdint.h>

enum raplsim_zone { RS_PACKAGE, RS_CORE, RS_DRAM, RS_PSYS, RS_ZONES };

struct raplsim_curve {
	double idle_w;          /* package power with nothing running: 10 W */
	double w_per_core;      /* dynamic package watts per busy CPU (at exponent 1): 15 W */
	double exponent;        /* shape of the package curve: 1.0 = linear */
	double core_share;      /* share of the package's dynamic power drawn by cores: 0.8 */
	double core_idle_w;     /* core zone power when idle: 2 W */
	double dram_idle_w;     /* dram power when idle: 1.5 W */
	double dram_w_per_core; /* dram watts per busy CPU: 0.5 W */
	double psys_extra_w;    /* platform power beyond package + dram: 5 W */
};

void raplsim_curve_defaults(struct raplsim_curve *c);
/* -EINVAL with why filled when a parameter is negative, not finite, exponent is not
 * in (0, 4], core_share not in 0..1 or core_idle_w > idle_w. */
int raplsim_curve_check(const struct raplsim_curve *c, char *why, size_t cap);
/* Watts per zone for busy CPUs (clamped at 0 from below). */
void raplsim_power(const struct raplsim_curve *c, double busy, double w[RS_ZONES]);

/* The aggregate "cpu" line of /proc/stat, in USER_HZ ticks. */
struct raplsim_cpustat {
	uint64_t busy;  /* user + nice + system + irq + softirq + steal */
	uint64_t total; /* busy + idle + iowait */
	uint64_t idle;  /* idle + iowait */
	int ncpu;       /* number of "cpuN" lines */
};

/* Parses /proc/stat text. -EINVAL if the "cpu" line is missing or malformed or no
 * "cpuN" line is present. guest/guest_nice are already counted in user/nice. */
int raplsim_parse_stat(const char *text, struct raplsim_cpustat *out);
/* Busy CPUs between two samples: ncpu * dbusy / dtotal, in 0..ncpu. -EAGAIN when no
 * tick passed (dtotal == 0), -ERANGE when a counter went backwards. */
int raplsim_busy_cpus(const struct raplsim_cpustat *prev, const struct raplsim_cpustat *cur,
		      double *busy);
/* Busy CPUs from idle time: ncpu - didle / user_hz / wall_s. On a tickless kernel the
 * idle (and iowait) fields are measured at idle entry and exit, not sampled by the
 * timer tick as the busy fields are, so this follows short bursts that tick sampling
 * misses or overcounts (a 30 % duty-cycle load read 6 % low, with 4x the noise, from
 * the tick fields over 3 s windows here). The 1/user_hz quantum makes a single short
 * interval's value jump; what does not fit into 0..ncpu is carried (in *carry_cpu_s,
 * start at 0) into the next interval, so busy CPU-seconds summed over time are exact
 * to one quantum. -ERANGE when idle went backwards, -EINVAL on wall_s <= 0. */
int raplsim_busy_from_idle(const struct raplsim_cpustat *prev, const struct raplsim_cpustat *cur,
			   double wall_s, long user_hz, double *carry_cpu_s, double *busy);

/* An energy_uj counter. value stays in 0..max_uj and wraps to 0 after max_uj, i.e.
 * modulo max_uj + 1, so a reader's delta is cur - prev, or cur + max_uj + 1 - prev
 * after a wrap. total_uj counts every whole microjoule ever added (no wrap); the
 * fraction below 1 uJ is carried to the next add, so nothing is lost to rounding. */
struct raplsim_counter {
	uint64_t value_uj;
	uint64_t max_uj;
	uint64_t total_uj;
	double frac_uj;
};

/* -EINVAL if max_uj is 0 or start > max_uj. */
int raplsim_counter_init(struct raplsim_counter *c, uint64_t max_uj, uint64_t start_uj);
/* Adds uj (>= 0, finite) and returns the whole microjoules added; -EINVAL otherwise. */
int raplsim_counter_add(struct raplsim_counter *c, double uj, uint64_t *added);
/* Delta between two readings of a counter with range max_uj (the reader's side). */
uint64_t raplsim_counter_delta(uint64_t prev, uint64_t cur, uint64_t max_uj);

#endif
