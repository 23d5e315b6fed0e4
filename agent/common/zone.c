#include "zone.h"

#include "nametab.h"

static const char *const zone_names[ZONE_COUNT] = {
	[ZONE_PACKAGE] = "package", [ZONE_CORE] = "core", [ZONE_UNCORE] = "uncore",
	[ZONE_DRAM] = "dram",       [ZONE_PLATFORM] = "platform", [ZONE_GPU] = "gpu",
};

static const char *const feature_names[FEAT_COUNT] = {
	[FEAT_CPU_TIME] = "cpu_time",
	[FEAT_INSTRUCTIONS] = "instructions",
	[FEAT_CYCLES] = "cycles",
	[FEAT_CACHE_MISSES] = "cache_misses",
	[FEAT_TASK_CLOCK] = "task_clock",
};

static const char *const mode_names[MODE_COUNT] = {
	[MODE_DYNAMIC] = "dynamic",
	[MODE_IDLE] = "idle",
};

const char *zone_name(enum zone z)
{
	return nametab_name(zone_names, ZONE_COUNT, z, "unknown");
}

int zone_from_name(const char *name)
{
	return nametab_find(zone_names, ZONE_COUNT, name);
}

const char *feature_name(enum feature f)
{
	return nametab_name(feature_names, FEAT_COUNT, f, "unknown");
}

int feature_from_name(const char *name)
{
	return nametab_find(feature_names, FEAT_COUNT, name);
}

const char *mode_name(enum mode m)
{
	return nametab_name(mode_names, MODE_COUNT, m, "unknown");
}
