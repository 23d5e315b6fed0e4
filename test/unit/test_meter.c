/* test_meter.c - meter backends on fixture trees: names and probe order, powercap (wrap,
 * reset, garbage, vanishing, permissions), perf. MSR, hwmon, ACPI and hostile files:
 * test_meter_read.c. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/meter/meter.h"
#include "agent/meter/meter_impl.h"
#include "test/unit/fixture.h"
#include "test/unit/fixture_meter.h"

/* --- names, probe, describe ------------------------------------------------ */

static void test_kind_names(void **state)
{
	(void)state;
	for (int k = 0; k < METER_KIND_COUNT; k++)
		assert_int_equal(meter_kind_from_name(meter_kind_name((enum meter_kind)k)), k);
	assert_string_equal(meter_kind_name(METER_ACPI), "acpi");
	assert_int_equal(meter_kind_from_name("rapl"), -EINVAL);
	assert_int_equal(meter_kind_from_name(NULL), -EINVAL);
	meter_close(NULL);
}

static void test_probe_order(void **state)
{
	struct fx f;
	struct meter_probe pr[METER_KIND_COUNT];
	struct meter *m;
	(void)state;

	fx_init(&f, "intel-2s", METER_PERF);
	f.o.order[1] = METER_MSR;
	f.o.order[2] = METER_POWERCAP;
	f.o.order[3] = METER_ACPI;
	f.o.n_order = 4; /* hwmon left out */
	m = meter_open(&f.o, pr);
	assert_non_null(m);
	assert_int_equal(meter_get_kind(m), METER_POWERCAP);
	assert_true(pr[METER_PERF].tried && !pr[METER_PERF].usable);
	assert_non_null(strstr(pr[METER_PERF].reason, "perf_event_open"));
	assert_true(pr[METER_MSR].tried && !pr[METER_MSR].usable);
	assert_non_null(strstr(pr[METER_MSR].reason, "modprobe msr"));
	assert_true(pr[METER_POWERCAP].usable && pr[METER_POWERCAP].chosen);
	assert_non_null(strstr(pr[METER_POWERCAP].reason, "7 domains"));
	assert_true(pr[METER_ACPI].tried && pr[METER_ACPI].usable && !pr[METER_ACPI].chosen);
	assert_false(pr[METER_HWMON].tried);
	assert_string_equal(pr[METER_HWMON].reason, "not in meter.order");
	fx_end(&f, m);
}

static void test_probe_this_host(void **state)
{
	struct meter_probe pr[METER_KIND_COUNT];
	struct meter *m;
	(void)state;

	/* the real machine: every kind is tried and explains itself */
	m = meter_open(NULL, pr);
	for (int k = 0; k < METER_KIND_COUNT; k++) {
		assert_true(pr[k].tried);
		assert_true(strlen(pr[k].reason) > 10);
		assert_null(strchr(pr[k].reason, '\n'));
		print_message("  probe %-8s %s: %s\n", meter_kind_name((enum meter_kind)k),
			      pr[k].usable ? "usable" : "no", pr[k].reason);
	}
	if (!m)
		assert_false(pr[METER_POWERCAP].usable);
	meter_close(m);
}

/* --- powercap -------------------------------------------------------------- */

static void test_powercap_2s(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	char buf[512];
	(void)state;

	m = fx_start_zones(&f, "intel-2s", METER_POWERCAP,
			   BIT(ZONE_PACKAGE) | BIT(ZONE_CORE) | BIT(ZONE_DRAM) | BIT(ZONE_PLATFORM));
	assert_int_equal(meter_describe(m, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "package-0 (intel-rapl:0), core (intel-rapl:0:0), "
				 "dram (intel-rapl:0:1), package-1 (intel-rapl:1), "
				 "core (intel-rapl:1:0), dram (intel-rapl:1:1), psys (intel-rapl:2)");
	assert_int_equal(meter_describe(m, buf, 20), -ENOSPC);
	assert_true(strlen(buf) < 20);

	assert_int_equal(meter_read_at(m, T0, &d), 0);
	assert_int_equal(d.dt_ns, 0);
	for (int z = 0; z < ZONE_COUNT; z++)
		assert_int_equal(d.uj[z], 0);
	assert_int_equal(d.error_mask, 0);

	put_u64(f.root, PC "intel-rapl:0/energy_uj", 73248391254ull + 150000000);
	put_u64(f.root, PC "intel-rapl:1/energy_uj", 70112983001ull + 120000000);
	put_u64(f.root, PC "intel-rapl:0/intel-rapl:0:0/energy_uj", 41022837112ull + 90000000);
	put_u64(f.root, PC "intel-rapl:1/intel-rapl:1:0/energy_uj", 39871625001ull + 80000000);
	put_u64(f.root, PC "intel-rapl:0/intel-rapl:0:1/energy_uj", 9183726512ull + 20000000);
	put_u64(f.root, PC "intel-rapl:1/intel-rapl:1:1/energy_uj", 8827162534ull + 25000000);
	put_u64(f.root, PC "intel-rapl:2/energy_uj", 412983000000ull + 400000000);
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.dt_ns, SEC);
	assert_int_equal(d.uj[ZONE_PACKAGE], 270000000); /* both sockets summed */
	assert_int_equal(d.uj[ZONE_CORE], 170000000);
	assert_int_equal(d.uj[ZONE_DRAM], 45000000);
	assert_int_equal(d.uj[ZONE_PLATFORM], 400000000);
	assert_int_equal(d.uj[ZONE_UNCORE], 0);
	assert_int_equal(d.reset_mask | d.error_mask, 0);
	assert_int_equal(meter_read_at(m, T0 + SEC - 1, &d), -EINVAL); /* time went back */
	fx_end(&f, m);
}

static void test_powercap_laptop_mmio_and_wrap(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	char buf[512];
	const uint64_t max = 262143328850ull;
	(void)state;

	m = fx_start_zones(&f, "laptop", METER_POWERCAP,
			   BIT(ZONE_PACKAGE) | BIT(ZONE_CORE) | BIT(ZONE_UNCORE) | BIT(ZONE_PLATFORM));
	assert_int_equal(meter_describe(m, buf, sizeof(buf)), 0);
	assert_null(strstr(buf, "mmio")); /* the MMIO twin of package-0 is not counted */

	put_u64(f.root, PC "intel-rapl:0/energy_uj", max - 1000);
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 500);
	put(f.root, "sys/devices/virtual/powercap/intel-rapl-mmio/intel-rapl-mmio:0/energy_uj",
	    "999999\n");
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 1500); /* max-1000 -> 500 across the wrap */
	assert_int_equal(d.reset_mask, 0);
	assert_int_equal(d.error_mask, 0);
	fx_end(&f, m);
}

static void test_powercap_amd(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	(void)state;

	m = fx_start_zones(&f, "amd-epyc", METER_POWERCAP,
			   BIT(ZONE_PACKAGE) | BIT(ZONE_CORE));
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 30918273645ull + 180000000);
	put_u64(f.root, PC "intel-rapl:0/intel-rapl:0:0/energy_uj", 1283746512ull + 3000000);
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 180000000);
	assert_int_equal(d.uj[ZONE_CORE], 3000000);
	fx_end(&f, m);
}

static void test_powercap_reset(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	(void)state;

	m = fx_start(&f, "intel-2s", METER_POWERCAP);
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	/* 73.2 GJ-counter back to 1 J: a wrap would mean ~189 kJ in 1 s -> reset */
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 1000000);
	put_u64(f.root, PC "intel-rapl:1/energy_uj", 70112983001ull + 2000000);
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.reset_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(d.error_mask, 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 1000000 + 2000000);
	/* rebaselined: the next read counts from 1 J */
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 6000000);
	assert_int_equal(meter_read_at(m, T0 + 2 * SEC, &d), 0);
	assert_int_equal(d.reset_mask, 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 5000000);
	/* a reset to an implausible value counts 0, then rebaselines */
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 100000000000ull);
	assert_int_equal(meter_read_at(m, T0 + 3 * SEC, &d), 0);
	assert_int_equal(d.reset_mask, 0); /* forward, not back: an implausible jump */
	assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(d.uj[ZONE_PACKAGE], 0);
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 100000000000ull + 7000000);
	assert_int_equal(meter_read_at(m, T0 + 4 * SEC, &d), 0);
	assert_int_equal(d.reset_mask, BIT(ZONE_PACKAGE)); /* the jump stuck: accepted */
	assert_int_equal(d.error_mask, 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 7000000);
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 50000000000ull); /* back, implausible */
	assert_int_equal(meter_read_at(m, T0 + 5 * SEC, &d), 0);
	assert_int_equal(d.reset_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(d.uj[ZONE_PACKAGE], 0);
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 50000000000ull + 4000000);
	assert_int_equal(meter_read_at(m, T0 + 6 * SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 4000000);
	assert_int_equal(d.reset_mask, 0);
	fx_end(&f, m);
}

static void test_powercap_max_watts_opt(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	(void)state;

	fx_init(&f, "laptop", METER_POWERCAP);
	f.o.max_watts = 50; /* a laptop: 60 W for 1 s cannot be real */
	m = fx_open(&f, NULL);
	assert_non_null(m);
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 18273645123ull + 60000000);
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(d.uj[ZONE_PACKAGE], 0);
	/* after 2 s more the same 60 J is 20 W average: plausible, nothing lost */
	assert_int_equal(meter_read_at(m, T0 + 3 * SEC, &d), 0);
	assert_int_equal(d.error_mask, 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 60000000);
	fx_end(&f, m);
}

static void test_powercap_garbage(void **state)
{
	static const char *const bad[] = { "abc\n", "", "-5\n", "99999999999999999999999\n",
					   "300000000000\n" /* above max_energy_range_uj */,
					   "12 34\n", "0x10\n" };
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fx f;
		struct meter *m;
		struct meter_delta d;

		m = fx_start(&f, "intel-2s", METER_POWERCAP);
		assert_int_equal(meter_read_at(m, T0, &d), 0);
		put(f.root, PC "intel-rapl:1/energy_uj", bad[i]);
		put_u64(f.root, PC "intel-rapl:0/energy_uj", 73248391254ull + 100000000);
		put_u64(f.root, PC "intel-rapl:0/intel-rapl:0:0/energy_uj", 41022837112ull + 9000000);
		assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
		assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
		assert_int_equal(d.uj[ZONE_PACKAGE], 0);    /* the whole zone waits */
		assert_int_equal(d.uj[ZONE_CORE], 9000000); /* other zones unaffected */
		assert_true(d.zone_mask & BIT(ZONE_PACKAGE));
		/* good again: the next read covers the gap for both sockets */
		put_u64(f.root, PC "intel-rapl:1/energy_uj", 70112983001ull + 130000000);
		put_u64(f.root, PC "intel-rapl:0/energy_uj", 73248391254ull + 200000000);
		assert_int_equal(meter_read_at(m, T0 + 2 * SEC, &d), 0);
		assert_int_equal(d.error_mask, 0);
		assert_int_equal(d.uj[ZONE_PACKAGE], 330000000);
		fx_end(&f, m);
	}
}

static void test_powercap_missing_and_vanishing(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	char p[700], buf[512];
	(void)state;

	m = fx_start(&f, "intel-2s", METER_POWERCAP);
	assert_int_equal(meter_read_at(m, T0, &d), 0);

	/* one file missing for a read, then back */
	snprintf(p, sizeof(p), "%s/" PC "intel-rapl:1/energy_uj", f.root);
	assert_int_equal(unlink(p), 0);
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 73248391254ull + 1000000);
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(d.uj[ZONE_PACKAGE], 0);
	put_u64(f.root, PC "intel-rapl:1/energy_uj", 70112983001ull + 2000000);
	assert_int_equal(meter_read_at(m, T0 + 2 * SEC, &d), 0);
	assert_int_equal(d.error_mask, 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 3000000);

	/* socket 1's dram zone disappears for good: errors, then dropped */
	snprintf(p, sizeof(p), "rm -rf '%s/" PC "intel-rapl:1/intel-rapl:1:1' "
		 "'%s/sys/class/powercap/intel-rapl:1:1'", f.root, f.root);
	assert_int_equal(system(p), 0);
	put_u64(f.root, PC "intel-rapl:0/intel-rapl:0:1/energy_uj", 9183726512ull + 4000000);
	for (int i = 0; i < METER_VANISH_READS; i++) {
		assert_int_equal(meter_read_at(m, T0 + (3 + (uint64_t)i) * SEC, &d), 0);
		assert_int_equal(d.error_mask, BIT(ZONE_DRAM));
		assert_int_equal(d.uj[ZONE_DRAM], 0);
	}
	assert_int_equal(meter_read_at(m, T0 + 10 * SEC, &d), 0);
	assert_int_equal(d.error_mask, 0);
	assert_true(d.zone_mask & BIT(ZONE_DRAM));
	assert_int_equal(d.uj[ZONE_DRAM], 4000000); /* socket 0 dram, gap included */
	assert_int_equal(meter_describe(m, buf, sizeof(buf)), 0);
	assert_null(strstr(buf, "intel-rapl:1:1"));
	assert_non_null(strstr(buf, "intel-rapl:0:1"));

	/* everything gone: meter_read fails */
	snprintf(p, sizeof(p), "rm -rf '%s/sys/devices/virtual/powercap'", f.root);
	assert_int_equal(system(p), 0);
	assert_true(meter_read_at(m, T0 + 11 * SEC, &d) < 0);
	assert_int_equal(d.error_mask, d.zone_mask);
	for (int i = 0; i < METER_VANISH_READS; i++)
		meter_read_at(m, T0 + (12 + (uint64_t)i) * SEC, &d);
	assert_int_equal(meter_zone_mask(m), 0);
	assert_int_equal(meter_read_at(m, T0 + 20 * SEC, &d), -ENODEV);
	fx_end(&f, m);
}

static int eacces_child(const char *sys)
{
	struct meter_opts o = { 0 };
	struct meter_probe pr[METER_KIND_COUNT];
	struct meter *m;

	o.order[0] = METER_POWERCAP;
	o.n_order = 1;
	o.sysfs_root = sys;
	m = meter_open(&o, pr);
	if (m)
		return 2;
	if (pr[METER_POWERCAP].usable)
		return 3;
	if (!strstr(pr[METER_POWERCAP].reason, "CVE-2020-8694") ||
	    !strstr(pr[METER_POWERCAP].reason, "EACCES"))
		return 4;
	return 0;
}

static void test_powercap_eacces(void **state)
{
	struct fx f;
	char cmd[700];
	(void)state;

	fx_init(&f, "intel-2s", METER_POWERCAP);
	/* energy_uj is 0400 root:root on a patched kernel */
	snprintf(cmd, sizeof(cmd), "find '%s/sys/devices' -name energy_uj -exec chmod 0400 {} +",
		 f.root);
	assert_int_equal(system(cmd), 0);
	if (geteuid() != 0) {
		assert_int_equal(eacces_child(f.sys), 0);
	} else {
		/* root ignores file modes: check as "nobody" in a child process */
		pid_t pid = fork();
		int st;
		assert_true(pid >= 0);
		if (pid == 0) {
			if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
				_exit(77);
			_exit(eacces_child(f.sys));
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) == 77) {
			rm_tree(f.root);
			skip(); /* cannot drop privileges here */
		}
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	rm_tree(f.root);
}

static void test_powercap_absent(void **state)
{
	struct fx f;
	struct meter_probe pr[METER_KIND_COUNT];
	(void)state;

	fx_init(&f, "hwmon-psu", METER_POWERCAP);
	assert_null(fx_open(&f, pr));
	assert_true(pr[METER_POWERCAP].tried && !pr[METER_POWERCAP].usable);
	assert_non_null(strstr(pr[METER_POWERCAP].reason, "does not exist"));
	/* an explicit powercap_root wins over sysfs_root */
	char abs[700];
	snprintf(abs, sizeof(abs), "%s/meter/laptop/sys/class/powercap", fixture_dir());
	f.o.powercap_root = abs;
	struct meter *m = fx_open_zones(&f, pr, BIT(ZONE_PACKAGE) | BIT(ZONE_CORE) |
							BIT(ZONE_UNCORE) | BIT(ZONE_PLATFORM));
	fx_end(&f, m);
}

/* --- perf ------------------------------------------------------------------ */

static void test_perf_parsing(void **state)
{
	uint64_t c = 99;
	int cpus[8];
	(void)state;

	assert_int_equal(meter_perf_parse_config("event=0x02\n", &c), 0);
	assert_int_equal(c, 2);
	assert_int_equal(meter_perf_parse_config("event=0x05", &c), 0);
	assert_int_equal(c, 5);
	assert_int_equal(meter_perf_parse_config("event=0x1d,umask=0x1", &c), -EOPNOTSUPP);
	assert_int_equal(meter_perf_parse_config("umask=0x1", &c), -EOPNOTSUPP);
	assert_int_equal(meter_perf_parse_config("garbage", &c), -EINVAL);
	assert_int_equal(meter_perf_parse_config("event=", &c), -EINVAL);
	assert_int_equal(meter_perf_parse_config("event=0x2zz", &c), -EINVAL);

	assert_int_equal(meter_parse_cpulist("0,28\n", cpus, 8), 2);
	assert_int_equal(cpus[1], 28);
	assert_int_equal(meter_parse_cpulist("0-3,8", cpus, 8), 5);
	assert_int_equal(cpus[3], 3);
	assert_int_equal(cpus[4], 8);
	assert_int_equal(meter_parse_cpulist("0-9", cpus, 8), -E2BIG);
	assert_int_equal(meter_parse_cpulist("", cpus, 8), -EINVAL);
	assert_int_equal(meter_parse_cpulist("3-1", cpus, 8), -EINVAL);
	assert_int_equal(meter_parse_cpulist("a", cpus, 8), -EINVAL);
}

static void test_perf_fixture_and_host(void **state)
{
	struct fx f;
	struct meter_probe pr[METER_KIND_COUNT];
	struct meter_opts o = { .order = { METER_PERF }, .n_order = 1 };
	int cpus[4], pkgs[4];
	(void)state;

	fx_init(&f, "intel-2s", METER_PERF);
	assert_int_equal(meter_package_cpus(f.sys, cpus, pkgs, 4), 2);
	assert_int_equal(cpus[0], 0);
	assert_int_equal(cpus[1], 2);
	assert_int_equal(pkgs[1], 1);
	/* the fixture's PMU type does not exist in this kernel: open fails, says why */
	assert_null(fx_open(&f, pr));
	assert_non_null(strstr(pr[METER_PERF].reason, "perf_event_open(power/energy-pkg type 19"));
	/* without any valid event the reason says so */
	put(f.root, "sys/bus/event_source/devices/power/events/energy-pkg.scale", "zero\n");
	put(f.root, "sys/bus/event_source/devices/power/events/energy-ram.unit", "Watts\n");
	put(f.root, "sys/bus/event_source/devices/power/events/energy-psys", "umask=3\n");
	assert_null(fx_open(&f, pr));
	assert_non_null(strstr(pr[METER_PERF].reason, "no usable energy-* events"));
	rm_tree(f.root);

	/* this host: no power PMU (VM) - or, on real RAPL hardware, a usable meter */
	struct meter *m = meter_open(&o, pr);
	if (m) {
		struct meter_delta d;
		assert_int_equal(meter_read(m, &d), 0);
		meter_close(m);
		return;
	}
	print_message("  perf on this host: %s\n", pr[METER_PERF].reason);
	assert_true(strstr(pr[METER_PERF].reason, "no perf power PMU") ||
		    strstr(pr[METER_PERF].reason, "perf_event_open"));
}

/* Drives the perf backend's open/read/close path for real through the kernel's
 * "software" PMU (type 1, config 0 = cpu-clock in ns) dressed up as a power PMU with
 * scale 1e-9: one count reads as 1 nJ, so the meter sees about 1 W per CPU. */
static void test_perf_read_path_software_pmu(void **state)
{
	char root[64], sys[128];
	struct meter_opts o = { .order = { METER_PERF }, .n_order = 1 };
	struct meter_probe pr[METER_KIND_COUNT];
	struct meter *m;
	struct meter_delta d;
	uint64_t t_end;
	(void)state;

	snprintf(root, sizeof(root), "/tmp/wl-meter-XXXXXX");
	assert_non_null(mkdtemp(root));
	snprintf(sys, sizeof(sys), "%s/sys", root);
	assert_int_equal(mkdir(sys, 0755), 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/bus/event_source/devices/power/events "
		 "%s/devices/system/cpu/cpu0/topology", sys, sys);
	assert_int_equal(system(cmd), 0);
	put(sys, "devices/system/cpu/cpu0/topology/physical_package_id", "0\n");
	put(sys, "bus/event_source/devices/power/type", "1\n");
	put(sys, "bus/event_source/devices/power/cpumask", "0\n");
	put(sys, "bus/event_source/devices/power/events/energy-pkg", "event=0x00\n");
	put(sys, "bus/event_source/devices/power/events/energy-pkg.scale", "1e-9\n");
	put(sys, "bus/event_source/devices/power/events/energy-pkg.unit", "Joules\n");
	o.sysfs_root = sys;
	m = meter_open(&o, pr);
	if (!m) {
		print_message("  skipped: software PMU cannot be opened here: %s\n",
			      pr[METER_PERF].reason);
		rm_tree(root);
		skip();
	}
	assert_int_equal(meter_zone_mask(m), BIT(ZONE_PACKAGE));
	assert_int_equal(meter_read(m, &d), 0);
	t_end = d.t_ns + 20000000; /* let 20 ms of cpu-clock pass (not a synchronisation) */
	while (mono_ns() < t_end)
		;
	assert_int_equal(meter_read(m, &d), 0);
	assert_int_equal(d.error_mask, 0);
	assert_true(d.dt_ns >= 20000000);
	/* cpu-clock of one CPU advances at most as fast as the wall clock */
	assert_true(d.uj[ZONE_PACKAGE] <= d.dt_ns / 1000 + 1000);
	assert_true(d.uj[ZONE_PACKAGE] >= d.dt_ns / 2000); /* and it did count */
	print_message("  software-PMU perf meter: %llu uJ over %llu ns\n",
		      (unsigned long long)d.uj[ZONE_PACKAGE], (unsigned long long)d.dt_ns);
	meter_close(m);
	rm_tree(root);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_kind_names),
	cmocka_unit_test(test_probe_order),
	cmocka_unit_test(test_probe_this_host),
	cmocka_unit_test(test_powercap_2s),
	cmocka_unit_test(test_powercap_laptop_mmio_and_wrap),
	cmocka_unit_test(test_powercap_amd),
	cmocka_unit_test(test_powercap_reset),
	cmocka_unit_test(test_powercap_max_watts_opt),
	cmocka_unit_test(test_powercap_garbage),
	cmocka_unit_test(test_powercap_missing_and_vanishing),
	cmocka_unit_test(test_powercap_eacces),
	cmocka_unit_test(test_powercap_absent),
	cmocka_unit_test(test_perf_parsing),
	cmocka_unit_test(test_perf_fixture_and_host),
	cmocka_unit_test(test_perf_read_path_software_pmu))
