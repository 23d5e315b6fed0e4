/* meter.h - the node's energy meters behind one interface.
 *
 * A meter turns raw hardware counters into energy deltas per zone. Counter wrap,
 * counter resets and power-only sources (integrated over time) are handled here:
 * nothing above this module sees a raw counter.
 *
 * Sources (enum meter_kind), tried in the configured order, first usable wins:
 *   powercap  RAPL via /sys/class/powercap/intel-rapl:N[:M] (every socket and zone,
 *             psys included; wrap via max_energy_range_uj). The powercap root can be
 *             overridden (used by the simulated meter; no special code path).
 *   perf      RAPL via the perf "power" PMU (/sys/bus/event_source/devices/power;
 *             event, scale and unit read from sysfs).
 *   msr       RAPL via /dev/cpu/N/msr (energy units from MSR_RAPL_POWER_UNIT),
 *             one CPU per package (from topology/physical_package_id).
 *   hwmon     /sys/class/hwmon/hwmonN energyX_input (uJ) or powerX_input (uW,
 *             integrated); zone "platform" unless the label says otherwise.
 *   acpi      ACPI power meter (power1_average in uW, hwmon name "power_meter"),
 *             integrated, zone "platform".
 *
 * Ownership: meter_open() returns a meter the caller frees with meter_close()
 * (NULL-safe). The probe array is filled for every kind in opts->order, usable or
 * not, with a one-line reason. Strings in it are owned by the caller's array.
 *
 * Return convention: 0 or negative errno. Nothing here logs.
 */
#ifndef WATTLET_METER_H
#define WATTLET_METER_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/util.h"
#include "../common/zone.h"

enum meter_kind {
	METER_POWERCAP,
	METER_PERF,
	METER_MSR,
	METER_HWMON,
	METER_ACPI,
	METER_KIND_COUNT
};

struct meter_opts {
	enum meter_kind order[METER_KIND_COUNT]; /* preference order */
	int n_order;                             /* entries used in order[] */
	const char *sysfs_root;    /* default "/sys" when NULL */
	const char *powercap_root; /* default "<sysfs_root>/class/powercap" when NULL */
	const char *dev_root;      /* default "/dev" when NULL */
	/* A wrapped delta above max_watts * dt is treated as a counter reset, not a
	 * wrap. 0 selects the default (2000 W per zone). */
	double max_watts;
	const char *proc_root;     /* default "/proc" when NULL (msr: CPU vendor/model) */
	/* CLOCK_MONOTONIC ns for meter_read(); NULL selects mono_ns(). Called after the
	 * domains are read (tests inject one). */
	uint64_t (*clock)(void *ctx);
	void *clock_ctx;
};

struct meter_probe {
	enum meter_kind kind;
	bool tried;       /* kind was in opts->order */
	bool usable;      /* it opened and can be read */
	bool chosen;      /* this is the meter in use */
	char reason[160]; /* why not usable, or a summary of what it found */
};

struct meter_delta {
	uint64_t t_ns;                  /* CLOCK_MONOTONIC at the read (taken after it) */
	uint64_t dt_ns;                 /* since the previous read (0 on the first) */
	uint64_t uj[ZONE_COUNT];        /* energy in the interval, microjoules */
	uint32_t zone_mask;             /* bit z set: zone z is measured */
	uint32_t reset_mask;            /* bit z set: a counter reset was detected */
	uint32_t error_mask;            /* bit z set: a read failed or was garbage; uj[z]=0 */
	bool platform_whole;            /* zone platform reads the whole machine, discrete GPUs
					 * included (ACPI power meter; the BMC, set by the Redfish
					 * stage); false: RAPL psys, which leaves them out, or
					 * hwmon (what a channel covers is unknown) */
};

/* Tries each kind in opts->order; returns the first usable meter, or NULL (with
 * every probe entry saying why) when none is. probe must have METER_KIND_COUNT
 * entries and may be NULL. */
struct meter *meter_open(const struct meter_opts *opts, struct meter_probe *probe);
void meter_close(struct meter *m);

enum meter_kind meter_get_kind(const struct meter *m);
uint32_t meter_zone_mask(const struct meter *m);
/* Names as used in config and probe output, indexed by enum meter_kind. */
extern const char *const meter_kind_names[METER_KIND_COUNT];
const char *meter_kind_name(enum meter_kind k);
int meter_kind_from_name(const char *name); /* kind or -EINVAL */

/* Human-readable list of the domains in use, e.g.
 * "package-0 (intel-rapl:0), core (intel-rapl:0:0), dram (intel-rapl:0:1)". */
int meter_describe(const struct meter *m, char *buf, size_t cap);

/* Reads every domain once and returns the energy since the previous call. The first
 * call establishes the baseline and returns uj[] all zero with dt_ns 0. A domain that
 * fails to read sets its error bit, contributes 0, and keeps its previous baseline so
 * no energy is lost once it reads again (the next good read covers the gap).
 * Every file is opened non-blocking and must be a regular file (a FIFO or directory in
 * a counter's place is a read error of that zone, never a stall). The timestamp is
 * taken after all domains are read, so dt_ns covers everything the values hold, and a
 * domain's step is bounded by max_watts x the time since its own baseline: a larger
 * forward step is an error once and then a counter reset (the step is discarded).
 * Returns 0, or a negative errno when no domain could be read at all. */
int meter_read(struct meter *m, struct meter_delta *out);

/* meter_read() with the caller's CLOCK_MONOTONIC timestamp t_ns instead of reading
 * the clock (for a caller that timestamps several sources back to back, and for
 * tests). t_ns must not go backwards between calls (-EINVAL if it does). */
int meter_read_at(struct meter *m, uint64_t t_ns, struct meter_delta *out);

/* One line naming the domains of the zones in zone_mask whose latest read failed and
 * why, e.g. "package-0 (intel-rapl:0): /sys/.../energy_uj is a FIFO, not a regular
 * file". 0, -ENOSPC when truncated, -EINVAL on bad arguments; "" when none failed. */
int meter_describe_errors(const struct meter *m, uint32_t zone_mask, char *buf, size_t cap);

/* Looking for a meter again while none is in use (a RAPL driver loaded after the agent
 * started, a simulated meter started a moment later). A meter is accepted once two
 * probes in a row find the same domains, so a tree still being created is not taken
 * half-way. The caller owns the struct (no allocation). */
struct meter_watch {
	uint64_t interval_ns; /* between probes; 0: never probe again */
	uint64_t next_ns;     /* monotonic time of the next probe */
	bool pending;         /* a meter was seen once; the next poll probes to confirm */
	char seen[512];       /* its meter_describe() text */
	uint64_t probes;      /* probes done */
};

void meter_watch_init(struct meter_watch *w, uint64_t interval_ns, uint64_t now_ns);
/* Probes when due (or to confirm a pending find) and returns a new meter the caller owns
 * (meter_close), or NULL. The meter has not been read: its first meter_read() is the
 * baseline, so no energy from before it appeared is invented. probe (may be NULL, else
 * METER_KIND_COUNT entries) is filled by each probe done. */
struct meter *meter_watch_poll(struct meter_watch *w, const struct meter_opts *opts,
			       uint64_t now_ns, struct meter_probe *probe);

#endif
