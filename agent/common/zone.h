/* zone.h - energy zones, usage features and attribution modes shared by every stage.
 *
 * Pure value types and name tables; no allocation, no state.
 * zone_from_name()/feature_from_name() return the enum value (>= 0) or -EINVAL.
 */
#ifndef WATTLET_ZONE_H
#define WATTLET_ZONE_H

enum zone {
	ZONE_PACKAGE,  /* RAPL package-N, summed over sockets */
	ZONE_CORE,     /* RAPL core (pp0) */
	ZONE_UNCORE,   /* RAPL uncore (pp1 / graphics) */
	ZONE_DRAM,     /* RAPL dram */
	ZONE_PLATFORM, /* RAPL psys, hwmon or ACPI whole-platform power */
	ZONE_GPU,      /* accelerators */
	ZONE_COUNT
};

enum feature {
	FEAT_CPU_TIME,     /* on-CPU nanoseconds */
	FEAT_INSTRUCTIONS, /* retired instructions (PMU) */
	FEAT_CYCLES,       /* CPU cycles (PMU) */
	FEAT_CACHE_MISSES, /* last-level cache misses (PMU) */
	FEAT_TASK_CLOCK,   /* on-CPU ns counted by the perf software event task-clock, read
	                    * through the same per-CPU counter path as the PMU ones; opened
	                    * only when a zone is configured with it */
	FEAT_COUNT
};

enum mode { MODE_DYNAMIC, MODE_IDLE, MODE_COUNT };

const char *zone_name(enum zone z);
int zone_from_name(const char *name);
const char *feature_name(enum feature f);
int feature_from_name(const char *name);
const char *mode_name(enum mode m);

#endif
