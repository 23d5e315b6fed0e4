#include "zone.h"

#include <errno.h>
#include <string.h>

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

static int lookup(const char *const *names, int n, const char *name)
{
	if (!name)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -EINVAL;
}

const char *zone_name(enum zone z)
{
	return (unsigned)z < ZONE_COUNT ? zone_names[z] : "unknown";
}

int zone_from_name(const char *name)
{
	return lookup(zone_names, ZONE_COUNT, name);
}

const char *feature_name(enum feature f)
{
	return (unsigned)f < FEAT_COUNT ? feature_names[f] : "unknown";
}

int feature_from_name(const char *name)
{
	return lookup(feature_names, FEAT_COUNT, name);
}

const char *mode_name(enum mode m)
{
	return (unsigned)m < MODE_COUNT ? mode_names[m] : "unknown";
}
