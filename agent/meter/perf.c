/* perf.c - RAPL through the perf "power" PMU.
 *
 * <sysfs>/bus/event_source/devices/power/{type,cpumask} and events/energy-* with
 * their .scale (Joules per count) and .unit files. One counter per package, opened on
 * the CPU the PMU's cpumask names for it (or the lowest CPU of each package from
 * topology when there is no cpumask). psys is platform-wide and is opened once. The
 * kernel extends the 32-bit hardware counter to 64 bits, so no wrap here.
 */
#include "meter_impl.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PERF_MAX_CPUS 64

static const struct {
	const char *event;
	enum zone zone;
	const char *name; /* "package" becomes package-<pkg> */
} perf_events[] = {
	{ "energy-pkg", ZONE_PACKAGE, "package" }, { "energy-cores", ZONE_CORE, "core" },
	{ "energy-gpu", ZONE_UNCORE, "uncore" },   { "energy-ram", ZONE_DRAM, "dram" },
	{ "energy-psys", ZONE_PLATFORM, "psys" },
};

int meter_perf_parse_config(const char *spec, uint64_t *config)
{
	const char *p;
	char *end;
	unsigned long long v;

	if (!spec || !config)
		return -EINVAL;
	p = spec;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, "event=", 6) != 0)
		return strchr(p, '=') ? -EOPNOTSUPP : -EINVAL;
	p += 6;
	if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
		return -EINVAL;
	errno = 0;
	v = strtoull(p, &end, 0);
	if (errno || end == p)
		return -EINVAL;
	if (*end == ',')
		return -EOPNOTSUPP; /* umask= and friends: not used by the power PMU */
	while (*end == ' ' || *end == '\n' || *end == '\t')
		end++;
	if (*end != '\0')
		return -EINVAL;
	*config = v;
	return 0;
}

static int open_counter(uint32_t type, uint64_t config, int cpu)
{
	struct perf_event_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config = config;
	fd = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return -errno;
	return (int)fd;
}

static int read_event(const char *pmu, const char *ev, uint64_t *config, double *scale)
{
	char p[512], buf[128];
	int err;

	if (fmt_path(p, sizeof(p), "%s/events/%s", pmu, ev) || meter_read_attr(p, buf, sizeof(buf), NULL, NULL))
		return -ENOENT;
	err = meter_perf_parse_config(buf, config);
	if (err)
		return err;
	if (fmt_path(p, sizeof(p), "%s/events/%s.scale", pmu, ev) ||
	    meter_read_attr(p, buf, sizeof(buf), NULL, NULL) || parse_double(buf, scale) || *scale <= 0)
		return -EINVAL;
	if (fmt_path(p, sizeof(p), "%s/events/%s.unit", pmu, ev) == 0 &&
	    meter_read_attr_str(p, buf, sizeof(buf)) == 0 && strcmp(buf, "Joules") != 0)
		return -EINVAL;
	return 0;
}

int meter_perf_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap)
{
	char pmu[400], p[512], buf[256];
	int cpus[PERF_MAX_CPUS], pkgs[PERF_MAX_CPUS], n_cpu, err = 0, open_err = 0;
	uint64_t type;
	int n_ev = 0;
	char fail_what[96] = "";

	if (fmt_path(pmu, sizeof(pmu), "%s/bus/event_source/devices/power", c->sysfs_root) ||
	    !path_exists(pmu)) {
		snprintf(reason, cap, "no perf power PMU at %s/bus/event_source/devices/power "
			 "(no RAPL for perf: VM, unsupported CPU or kernel)", c->sysfs_root);
		return -ENOENT;
	}
	if (fmt_path(p, sizeof(p), "%s/type", pmu) || meter_read_attr_u64(p, &type, NULL) || type > UINT32_MAX) {
		snprintf(reason, cap, "power PMU has no valid type file");
		return -EINVAL;
	}
	if (fmt_path(p, sizeof(p), "%s/cpumask", pmu) == 0 &&
	    meter_read_attr(p, buf, sizeof(buf), NULL, NULL) == 0) {
		n_cpu = meter_parse_cpulist(buf, cpus, PERF_MAX_CPUS);
		for (int i = 0; i < n_cpu; i++) {
			int pk = meter_cpu_package(c->sysfs_root, cpus[i]);
			pkgs[i] = pk >= 0 ? pk : i;
		}
	} else {
		n_cpu = meter_package_cpus(c->sysfs_root, cpus, pkgs, PERF_MAX_CPUS);
	}
	if (n_cpu <= 0) {
		snprintf(reason, cap, "power PMU: cannot find one CPU per package (%s)",
			 n_cpu < 0 ? strerror(-n_cpu) : "empty cpumask");
		return n_cpu < 0 ? n_cpu : -ENODEV;
	}

	for (size_t e = 0; e < sizeof(perf_events) / sizeof(perf_events[0]); e++) {
		uint64_t config;
		double scale;

		if (read_event(pmu, perf_events[e].event, &config, &scale))
			continue;
		n_ev++;
		for (int i = 0; i < n_cpu; i++) {
			struct meter_dom d = { 0 };
			int fd;

			if (perf_events[e].zone == ZONE_PLATFORM && i > 0)
				break; /* platform-wide: once */
			fd = open_counter((uint32_t)type, config, cpus[i]);
			if (fd < 0) {
				if (!open_err) {
					open_err = fd;
					snprintf(fail_what, sizeof(fail_what),
						 "power/%s type %llu config 0x%llx cpu %d",
						 perf_events[e].event, (unsigned long long)type,
						 (unsigned long long)config, cpus[i]);
				}
				continue;
			}
			d.zone = perf_events[e].zone;
			if (d.zone == ZONE_PACKAGE)
				snprintf(d.name, sizeof(d.name), "package-%d", pkgs[i]);
			else
				snprintf(d.name, sizeof(d.name), "%s", perf_events[e].name);
			snprintf(d.src, sizeof(d.src), "power/%s cpu%d", perf_events[e].event,
				 cpus[i]);
			d.how = SRC_PERF;
			d.fd = fd;
			d.uj_per_raw = scale * 1e6;
			d.wrap = 0;
			err = meter_add_dom(m, &d, NULL);
			if (err) {
				close(fd);
				snprintf(reason, cap, "cannot add perf domain: %s", strerror(-err));
				return err;
			}
		}
	}
	if (n_ev == 0) {
		snprintf(reason, cap, "power PMU has no usable energy-* events (event, .scale, "
			 ".unit=Joules)");
		return -ENODEV;
	}
	if (m->n == 0) {
		if (open_err == -EACCES || open_err == -EPERM)
			snprintf(reason, cap, "perf_event_open(%s) denied (%s): needs root or "
				 "CAP_PERFMON, or kernel.perf_event_paranoid <= 0",
				 fail_what, strerror(-open_err));
		else
			snprintf(reason, cap, "perf_event_open(%s) failed: %s", fail_what,
				 strerror(-open_err));
		return open_err ? open_err : -ENODEV;
	}
	meter_summarize(m, "perf power PMU ", reason, cap);
	return 0;
}
