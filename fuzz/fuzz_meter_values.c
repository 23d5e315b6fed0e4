/* fuzz_meter_values.c - the scalar parsers behind sysfs and config values: the first
 * input byte picks one of meter_parse_cpulist (".../cpus" lists), meter_perf_parse_config
 * (perf event files in sysfs), parse_u64/i64/double (energy_uj, max_energy_range_uj,
 * hwmon power*_input, ...) and parse_duration_ms (config durations); the rest is the text. */
#include "fuzz_common.h"

#include <math.h>

#include "agent/common/util.h"
#include "agent/config/config.h"
#include "agent/meter/meter_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	int cpus[64];

	if (size == 0)
		return 0;
	s = fz_cstr(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0: {
		int n = meter_parse_cpulist(s, cpus, 64);
		FZ_CHECK(n <= 64, "cpulist '%s' gave %d cpus", s, n);
		for (int i = 0; i < n; i++)
			FZ_CHECK(cpus[i] >= 0, "cpulist '%s' gave cpu %d", s, cpus[i]);
		break;
	}
	case 1: {
		uint64_t cfg;
		(void)meter_perf_parse_config(s, &cfg);
		break;
	}
	case 2: {
		uint64_t v;
		(void)parse_u64(s, &v);
		break;
	}
	case 3: {
		int64_t v;
		(void)parse_i64(s, &v);
		break;
	}
	case 4: {
		double v;
		if (parse_double(s, &v) == 0)
			FZ_CHECK(isfinite(v), "'%s' -> %g", s, v);
		break;
	}
	default: {
		uint64_t ms;
		(void)parse_duration_ms(s, &ms);
		break;
	}
	}
	free(s);
	return 0;
}
