/* test_meter_read.c - meter backends on fixture trees: MSR, hwmon and ACPI; files that
 * are not regular files, the read timestamp, stalls, re-probing. Probe and powercap:
 * test_meter.c. */
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

/* --- msr ------------------------------------------------------------------- */

static void test_msr_intel(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	struct meter_probe pr[METER_KIND_COUNT];
	(void)state;

	fx_init(&f, "intel-2s", METER_MSR);
	assert_null(fx_open(&f, pr));
	assert_non_null(strstr(pr[METER_MSR].reason, "modprobe msr"));
	fx_make_cpu_dir(&f);
	for (int cpu = 0; cpu < 4; cpu++) {
		write_msr(f.root, cpu, 0x606, 0x000A0E03); /* ESU 14: 61.035 uJ */
		write_msr(f.root, cpu, 0x611, 0x10000000 + (uint64_t)cpu);
		write_msr(f.root, cpu, 0x639, 0x08000000);
		write_msr(f.root, cpu, 0x641, 0); /* pp1 not implemented on servers */
		write_msr(f.root, cpu, 0x619, 0x01000000);
		write_msr(f.root, cpu, 0x64d, 5000);
	}
	write_msr(f.root, 2, 0x611, 0xFFFFF000); /* socket 1 about to wrap */
	m = fx_open_zones(&f, pr,
			  BIT(ZONE_PACKAGE) | BIT(ZONE_CORE) | BIT(ZONE_DRAM) | BIT(ZONE_PLATFORM));
	assert_non_null(strstr(pr[METER_MSR].reason, "Intel"));
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	write_msr(f.root, 0, 0x611, 0x10000000 + 16384); /* 1 J */
	write_msr(f.root, 2, 0x611, 0x1000);             /* wrapped: 8192 counts, 0.5 J */
	write_msr(f.root, 0, 0x639, 0x08000000 + 16384);
	write_msr(f.root, 2, 0x639, 0x08000000 + 16384);
	write_msr(f.root, 0, 0x619, 0x01000000 + 65536); /* SPR dram: 2^-16 J -> 1 J */
	write_msr(f.root, 2, 0x619, 0x01000000 + 65536);
	write_msr(f.root, 0, 0x64d, 5100);               /* SPR psys: 1 J units */
	write_msr(f.root, 2, 0x64d, 9999);               /* psys read once, on package 0 */
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 1500000);
	assert_int_equal(d.uj[ZONE_CORE], 2000000);
	assert_int_equal(d.uj[ZONE_DRAM], 2000000);
	assert_int_equal(d.uj[ZONE_PLATFORM], 100000000);
	assert_int_equal(d.reset_mask | d.error_mask, 0);
	fx_end(&f, m);
}

/* AMD's RAPL MSRs are adjacent (0xC0010299..0xC001029B), so in a regular file their
 * 8-byte windows overlap: writing the unit MSR then the package MSR leaves
 *   ESU = byte 0x29A, core(0x29A) = package << 8 | byte 0x29A (low 32 bits).
 * The expectations below follow from that layout, which only holds when the reader
 * uses exactly those offsets and bits 12:8 of the unit MSR. */
static void amd_msr(const char *root, int cpu, uint32_t pkg)
{
	write_msr(root, cpu, 0xC0010299ull, 0x000A1003); /* ESU 16: 15.2587890625 uJ */
	write_msr(root, cpu, 0xC001029Bull, pkg);
}

static void test_msr_amd(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	struct meter_probe pr[METER_KIND_COUNT];
	char buf[256];
	(void)state;

	fx_init(&f, "amd-epyc", METER_MSR);
	fx_make_cpu_dir(&f);
	/* sparse files: the offsets are near 3 GiB */
	amd_msr(f.root, 0, 0x00200000); /* core(cpu0) = 0x20000010 */
	amd_msr(f.root, 1, 0x00300000); /* core(cpu1) = 0x30000010 */
	amd_msr(f.root, 2, 0x00400000); /* SMT siblings of cpu0, cpu1 */
	amd_msr(f.root, 3, 0x00500000);
	m = fx_open_zones(&f, pr, BIT(ZONE_PACKAGE) | BIT(ZONE_CORE));
	assert_non_null(strstr(pr[METER_MSR].reason, "AMD fam 0x19"));
	assert_int_equal(meter_describe(m, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "package-0 (cpu0 msr 0xc001029b), core x2 (cpu0 msr 0xc001029a, ...)");
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	amd_msr(f.root, 0, 0x00200000 + 65536); /* pkg +1 J; core(cpu0) +2^24 counts = 256 J */
	amd_msr(f.root, 1, 0x00300000 + 256);   /* core(cpu1) +65536 counts = 1 J */
	amd_msr(f.root, 2, 0x00700000);         /* siblings: not read */
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 1000000);
	assert_int_equal(d.uj[ZONE_CORE], 257000000);
	assert_int_equal(d.reset_mask | d.error_mask, 0);
	meter_close(m);

	/* family 15h has no RAPL */
	put(f.root, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 21\n"
				   "model\t\t: 2\n\n");
	assert_null(fx_open(&f, pr));
	assert_non_null(strstr(pr[METER_MSR].reason, "needs family 17h+"));
	put(f.root, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: CentaurHauls\ncpu family\t: 6\n\n");
	assert_null(fx_open(&f, pr));
	assert_non_null(strstr(pr[METER_MSR].reason, "CentaurHauls"));
	rm_tree(f.root);
}

static void test_msr_fractional_units(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	uint64_t total = 0;
	(void)state;

	fx_init(&f, "laptop", METER_MSR);
	fx_make_cpu_dir(&f);
	for (int cpu = 0; cpu < 2; cpu++) {
		write_msr(f.root, cpu, 0x606, 0x000A0E03);
		write_msr(f.root, cpu, 0x611, 1000);
	}
	m = fx_open_zones(&f, NULL, BIT(ZONE_PACKAGE)); /* others read EIO (short) */
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	/* 1 count = 61.03515625 uJ; 64 reads of 1 count each must not lose the fractions */
	for (int i = 1; i <= 64; i++) {
		write_msr(f.root, 0, 0x611, 1000 + (uint64_t)i);
		assert_int_equal(meter_read_at(m, T0 + (uint64_t)i * SEC, &d), 0);
		total += d.uj[ZONE_PACKAGE];
	}
	assert_int_equal(total, 3906); /* 64 * 61.03515625 = 3906.25 */
	fx_end(&f, m);
}

/* --- hwmon and acpi -------------------------------------------------------- */

static void test_hwmon_energy(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	char buf[512];
	(void)state;

	m = fx_start_zones(&f, "amd-epyc", METER_HWMON,
			   BIT(ZONE_PACKAGE) | BIT(ZONE_CORE));
	assert_int_equal(meter_describe(m, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "Esocket0 (hwmon1 amd_energy energy3_input)"));
	assert_null(strstr(buf, "k10temp"));
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	put_u64(f.root, "sys/class/hwmon/hwmon1/energy1_input", 118273645000ull + 2500000);
	put_u64(f.root, "sys/class/hwmon/hwmon1/energy2_input", 117364512000ull + 1500000);
	put_u64(f.root, "sys/class/hwmon/hwmon1/energy3_input", 9182736451000ull + 90000000);
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_CORE], 4000000);
	assert_int_equal(d.uj[ZONE_PACKAGE], 90000000);
	/* a hwmon energy counter has no known range: going back is a reset */
	put_u64(f.root, "sys/class/hwmon/hwmon1/energy3_input", 3000000);
	assert_int_equal(meter_read_at(m, T0 + 2 * SEC, &d), 0);
	assert_int_equal(d.reset_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(d.uj[ZONE_PACKAGE], 3000000);
	fx_end(&f, m);
}

static void test_hwmon_power_integration(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	char buf[512];
	(void)state;

	m = fx_start_zones(&f, "hwmon-psu", METER_HWMON,
			   BIT(ZONE_PLATFORM) | BIT(ZONE_GPU));
	assert_int_equal(meter_describe(m, buf, sizeof(buf)), 0);
	assert_null(strstr(buf, "pout1")); /* PSU output would double count the input */
	assert_non_null(strstr(buf, "pin (hwmon0 dps920ab power1_input)"));
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	put_u64(f.root, "sys/class/hwmon/hwmon0/power1_input", 500000000);
	put_u64(f.root, "sys/class/hwmon/hwmon0/power2_input", 480000000);
	put_u64(f.root, "sys/class/hwmon/hwmon1/power1_average", 45000000);
	assert_int_equal(meter_read_at(m, T0 + 2 * SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_PLATFORM], 812000000); /* (312 + 500) / 2 W * 2 s */
	assert_int_equal(d.uj[ZONE_GPU], 80000000);       /* (35 + 45) / 2 W * 2 s */
	/* 500 ms at a steady 500 W */
	assert_int_equal(meter_read_at(m, T0 + 2 * SEC + SEC / 2, &d), 0);
	assert_int_equal(d.uj[ZONE_PLATFORM], 250000000);
	/* garbage power (above max_watts, or text) is an error, not a number */
	put(f.root, "sys/class/hwmon/hwmon0/power1_input", "9000000000\n");
	assert_int_equal(meter_read_at(m, T0 + 3 * SEC, &d), 0);
	assert_int_equal(d.error_mask, BIT(ZONE_PLATFORM));
	assert_int_equal(d.uj[ZONE_PLATFORM], 0);
	meter_close(m);

	/* the acpi kind finds nothing here */
	struct meter_probe pr[METER_KIND_COUNT];
	f.o.order[0] = METER_ACPI;
	assert_null(fx_open(&f, pr));
	assert_non_null(strstr(pr[METER_ACPI].reason, "power_meter"));
	rm_tree(f.root);
}

static void test_acpi_power_meter(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	struct meter_probe pr[METER_KIND_COUNT];
	char buf[256];
	(void)state;

	fx_init(&f, "intel-2s", METER_HWMON);
	/* hwmon must not claim the ACPI meter (nor coretemp's temperatures) */
	assert_null(fx_open(&f, pr));
	assert_non_null(strstr(pr[METER_HWMON].reason, "power_meter left to acpi"));

	f.o.order[0] = METER_ACPI;
	m = fx_open_zones(&f, pr, BIT(ZONE_PLATFORM));
	assert_int_equal(meter_get_kind(m), METER_ACPI);
	assert_int_equal(meter_describe(m, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "power1 (hwmon0 power_meter power1_average)");
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	put_u64(f.root, "sys/class/hwmon/hwmon0/device/power1_average", 255000000);
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_PLATFORM], 250000000);
	/* unreadable for a tick: error, then the gap is integrated from the last sample */
	put(f.root, "sys/class/hwmon/hwmon0/device/power1_average", "abc\n");
	assert_int_equal(meter_read_at(m, T0 + 2 * SEC, &d), -EINVAL); /* nothing readable */
	assert_int_equal(d.error_mask, BIT(ZONE_PLATFORM));
	assert_int_equal(d.uj[ZONE_PLATFORM], 0);
	put_u64(f.root, "sys/class/hwmon/hwmon0/device/power1_average", 265000000);
	assert_int_equal(meter_read_at(m, T0 + 3 * SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_PLATFORM], 520000000); /* (255 + 265) / 2 W * 2 s */
	fx_end(&f, m);
}

static void test_read_real_clock(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d1, d2;
	(void)state;

	m = fx_start(&f, "amd-epyc", METER_POWERCAP);
	assert_int_equal(meter_read(m, &d1), 0);
	assert_int_equal(d1.dt_ns, 0);
	assert_int_equal(meter_read(m, &d2), 0);
	assert_true(d2.t_ns >= d1.t_ns);
	assert_int_equal(d2.dt_ns, d2.t_ns - d1.t_ns);
	assert_int_equal(d2.uj[ZONE_PACKAGE], 0); /* counters did not move */
	fx_end(&f, m);
}


/* --- files that are not regular files, the read timestamp, stalls, re-probing ----- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void replace_with_fifo(const char *root, const char *rel)
{
	char p[700];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0600), 0);
}

static void test_fifo_in_place(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_probe pr[METER_KIND_COUNT];
	struct meter_delta d;
	char p[700], why[1024];
	double t0;
	(void)state;

	/* a regression blocks in open() on the FIFO: SIGALRM ends the test run instead */
	alarm(10);
	m = fx_start(&f, "intel-2s", METER_POWERCAP);
	assert_int_equal(meter_read(m, &d), 0); /* the real clock, as the daemon reads */

	replace_with_fifo(f.root, PC "intel-rapl:1/energy_uj");
	/* small steps: with the real clock, max_watts x (dt + 1 ms) is only a few joules */
	put_u64(f.root, PC "intel-rapl:0/energy_uj", 73248391254ull + 200000);
	put_u64(f.root, PC "intel-rapl:0/intel-rapl:0:0/energy_uj", 41022837112ull + 100000);
	t0 = now_s();
	assert_int_equal(meter_read(m, &d), 0);
	assert_true(now_s() - t0 < 1.0);
	assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(d.uj[ZONE_PACKAGE], 0);
	assert_int_equal(d.uj[ZONE_CORE], 100000); /* other zones go on */
	assert_int_equal(meter_describe_errors(m, d.error_mask, why, sizeof(why)), 0);
	print_message("  %s\n", why);
	assert_non_null(strstr(why, "intel-rapl:1"));
	assert_non_null(strstr(why, "is a FIFO, not a regular file"));
	assert_int_equal(meter_describe_errors(m, BIT(ZONE_CORE), why, sizeof(why)), 0);
	assert_string_equal(why, "");
	/* again: still an error, and the domain is not dropped as vanished */
	t0 = now_s();
	assert_int_equal(meter_read(m, &d), 0);
	assert_true(now_s() - t0 < 1.0);
	assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
	assert_true(meter_zone_mask(m) & BIT(ZONE_PACKAGE)); /* not dropped as vanished */

	/* back to a regular file: the next read books the whole gap of both sockets */
	snprintf(p, sizeof(p), "%s/" PC "intel-rapl:1/energy_uj", f.root);
	assert_int_equal(unlink(p), 0);
	put_u64(f.root, PC "intel-rapl:1/energy_uj", 70112983001ull + 300000);
	assert_int_equal(meter_read(m, &d), 0);
	assert_int_equal(d.error_mask, 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 200000 + 300000);
	meter_close(m);

	/* probing a tree with FIFOs in it returns promptly too (the daemon re-probes in its
	 * loop): a FIFO as a zone's name and as its energy_uj */
	replace_with_fifo(f.root, PC "intel-rapl:0/name");
	replace_with_fifo(f.root, PC "intel-rapl:1/energy_uj");
	t0 = now_s();
	m = fx_open(&f, pr);
	assert_true(now_s() - t0 < 1.0);
	assert_non_null(m); /* the other zones are still usable */
	assert_int_equal(meter_describe(m, why, sizeof(why)), 0);
	assert_null(strstr(why, "intel-rapl:0)"));
	assert_null(strstr(why, "intel-rapl:1)"));
	assert_non_null(strstr(why, "intel-rapl:2"));
	meter_close(m);
	alarm(0);
	rm_tree(f.root);
}

static void test_dir_and_symlink_in_place(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	char p[700], q[700], why[1024];
	(void)state;

	alarm(10);
	m = fx_start(&f, "intel-2s", METER_POWERCAP);
	assert_int_equal(meter_read_at(m, T0, &d), 0);

	/* a directory */
	snprintf(p, sizeof(p), "%s/" PC "intel-rapl:1/energy_uj", f.root);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
	assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(meter_describe_errors(m, d.error_mask, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "is a directory"));
	assert_int_equal(rmdir(p), 0);

	/* a symbolic link to a FIFO: not followed */
	snprintf(q, sizeof(q), "%s/fifo", f.root);
	assert_int_equal(mkfifo(q, 0600), 0);
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(meter_read_at(m, T0 + 2 * SEC, &d), 0);
	assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(meter_describe_errors(m, d.error_mask, why, sizeof(why)), 0);
	assert_non_null(strstr(why, "is a symbolic link"));
	assert_int_equal(unlink(p), 0);

	/* a symbolic link to a regular file is refused as well (sysfs attributes never are) */
	snprintf(q, sizeof(q), "%s/value", f.root);
	put_u64(f.root, "value", 70112983001ull + 1000);
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(meter_read_at(m, T0 + 3 * SEC, &d), 0);
	assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(unlink(p), 0);

	/* the directory part of the path may be a link: class/powercap/intel-rapl:N is one */
	put_u64(f.root, PC "intel-rapl:1/energy_uj", 70112983001ull + 2000);
	assert_int_equal(meter_read_at(m, T0 + 4 * SEC, &d), 0);
	assert_int_equal(d.error_mask, 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 2000);
	assert_int_equal(meter_describe_errors(m, ~0u, why, sizeof(why)), 0);
	assert_string_equal(why, "");

	/* the file helpers directly */
	{
		uint64_t v;
		unsigned ft;
		char b[16];
		snprintf(q, sizeof(q), "%s/fifo", f.root);
		assert_int_equal(meter_read_attr_u64(q, &v, &ft), -EINVAL);
		assert_int_equal(ft, S_IFIFO);
		assert_int_equal(meter_read_attr_str(f.root, b, sizeof(b)), -EISDIR);
		assert_true(meter_open_dev(q, &ft) < 0);
		assert_int_equal(ft, S_IFIFO);
		int fd = meter_open_dev("/dev/null", &ft); /* a character device is fine */
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(meter_read_attr_u64("/dev/null", &v, &ft), -EINVAL);
		assert_int_equal(ft, S_IFCHR);
	}
	meter_close(m);
	alarm(0);
	rm_tree(f.root);
}

/* An injected clock that, when read, advances the counter as the hardware would after
 * the stamp: what meter_read books must be what the files held before the stamp. */
struct clock_ctx {
	const char *root;
	uint64_t t, raw_after;
	int calls;
};

static uint64_t test_clock(void *p)
{
	struct clock_ctx *c = p;
	c->calls++;
	put_u64(c->root, PC "intel-rapl:0/energy_uj", c->raw_after);
	return c->t;
}

static void test_timestamp_after_reads(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	struct clock_ctx ck = { 0 };
	const uint64_t base = 30918273645ull;
	(void)state;

	fx_init(&f, "amd-epyc", METER_POWERCAP);
	ck.root = f.root;
	f.o.clock = test_clock;
	f.o.clock_ctx = &ck;
	m = fx_open(&f, NULL);
	assert_non_null(m);
	ck.t = T0;
	ck.raw_after = base + 5000000;
	assert_int_equal(meter_read(m, &d), 0);
	assert_int_equal(ck.calls, 1);
	assert_int_equal(d.t_ns, T0);
	/* the reading held `base`; the 5 J written at the stamp belong to the next interval */
	ck.t = T0 + SEC;
	ck.raw_after = base + 12000000;
	assert_int_equal(meter_read(m, &d), 0);
	assert_int_equal(d.dt_ns, SEC);
	assert_int_equal(d.uj[ZONE_PACKAGE], 5000000);
	ck.t = T0 + 2 * SEC;
	assert_int_equal(meter_read(m, &d), 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 7000000);
	/* an injected clock going back is refused */
	ck.t = T0;
	assert_int_equal(meter_read(m, &d), -EINVAL);
	fx_end(&f, m);
}

static void test_stall_bounded(void **state)
{
	struct fx f;
	struct meter *m;
	struct meter_delta d;
	const uint64_t base = 30918273645ull;
	uint64_t booked = 0;
	(void)state;

	fx_init(&f, "amd-epyc", METER_POWERCAP);
	f.o.max_watts = 100;
	m = fx_open(&f, NULL);
	assert_non_null(m);
	assert_int_equal(meter_read_at(m, T0, &d), 0);
	/* a 10 s stall at 90 W: plausible, booked in full */
	put_u64(f.root, PC "intel-rapl:0/energy_uj", base + 900000000);
	assert_int_equal(meter_read_at(m, T0 + 10 * SEC, &d), 0);
	assert_int_equal(d.error_mask | d.reset_mask, 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 900000000);
	/* 1 s later the counter has moved 5 kJ: above 100 W x 1 s, not booked */
	put_u64(f.root, PC "intel-rapl:0/energy_uj", base + 900000000 + 5000000000ull);
	assert_int_equal(meter_read_at(m, T0 + 11 * SEC, &d), 0);
	assert_int_equal(d.error_mask, BIT(ZONE_PACKAGE));
	booked += d.uj[ZONE_PACKAGE];
	/* it sticks: a reset; only what came after the jump (50 J in 1 s) is booked */
	put_u64(f.root, PC "intel-rapl:0/energy_uj", base + 900000000 + 5050000000ull);
	assert_int_equal(meter_read_at(m, T0 + 12 * SEC, &d), 0);
	assert_int_equal(d.reset_mask, BIT(ZONE_PACKAGE));
	assert_int_equal(d.error_mask, 0);
	booked += d.uj[ZONE_PACKAGE];
	assert_int_equal(booked, 50000000);
	assert_true((double)booked <= 100.0 * 2 * 1e6); /* max_watts x the 2 s elapsed */
	fx_end(&f, m);
}

static void mk_zone(const char *root, const char *rel, const char *name, uint64_t uj)
{
	char p[700];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/name", rel);
	put(root, p, name);
	snprintf(p, sizeof(p), "%s/max_energy_range_uj", rel);
	put_u64(root, p, 262143328850ull);
	snprintf(p, sizeof(p), "%s/energy_uj", rel);
	put_u64(root, p, uj);
}

static void test_reprobe_watch(void **state)
{
	char root[64] = "/tmp/wl-meter-XXXXXX";
	struct meter_opts o = { 0 };
	struct meter_probe pr[METER_KIND_COUNT];
	struct meter_watch w;
	struct meter *m;
	struct meter_delta d;
	(void)state;

	assert_non_null(mkdtemp(root));
	o.order[0] = METER_POWERCAP;
	o.n_order = 1;
	o.powercap_root = root;
	m = meter_open(&o, pr);
	assert_null(m); /* an empty tree: no meter */
	assert_non_null(strstr(pr[METER_POWERCAP].reason, "no intel-rapl zones"));

	meter_watch_init(&w, 10 * SEC, T0);
	assert_null(meter_watch_poll(&w, &o, T0 + 5 * SEC, pr)); /* not due */
	assert_int_equal(w.probes, 0);
	assert_null(meter_watch_poll(&w, &o, T0 + 10 * SEC, pr)); /* due, nothing there */
	assert_int_equal(w.probes, 1);

	/* the tree appears, first half-way: seen once, not taken */
	mk_zone(root, "intel-rapl:0", "package-0\n", 5000000000ull);
	assert_null(meter_watch_poll(&w, &o, T0 + 11 * SEC, pr)); /* not due yet */
	assert_int_equal(w.probes, 1);
	assert_null(meter_watch_poll(&w, &o, T0 + 20 * SEC, pr));
	assert_int_equal(w.probes, 2);
	assert_true(w.pending);
	mk_zone(root, "intel-rapl:0/intel-rapl:0:0", "core\n", 3000000000ull);
	assert_null(meter_watch_poll(&w, &o, T0 + 21 * SEC, pr)); /* changed: confirm again */
	assert_int_equal(w.probes, 3);
	m = meter_watch_poll(&w, &o, T0 + 22 * SEC, pr); /* same twice: taken */
	assert_non_null(m);
	assert_int_equal(w.probes, 4);
	assert_true(pr[METER_POWERCAP].chosen);
	assert_int_equal(meter_zone_mask(m), BIT(ZONE_PACKAGE) | BIT(ZONE_CORE));
	/* energy from before it appeared is not invented: the first read is a baseline */
	assert_int_equal(meter_read_at(m, T0 + 22 * SEC, &d), 0);
	assert_int_equal(d.dt_ns, 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 0);
	assert_int_equal(d.uj[ZONE_CORE], 0);
	put_u64(root, "intel-rapl:0/energy_uj", 5000000000ull + 40000000);
	assert_int_equal(meter_read_at(m, T0 + 23 * SEC, &d), 0);
	assert_int_equal(d.uj[ZONE_PACKAGE], 40000000);
	meter_close(m);

	/* a tree that disappears between the sighting and the confirmation is not taken */
	meter_watch_init(&w, SEC, T0);
	assert_null(meter_watch_poll(&w, &o, T0 + SEC, NULL));
	assert_true(w.pending);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/intel-rapl:0'", root);
	assert_int_equal(system(cmd), 0);
	assert_null(meter_watch_poll(&w, &o, T0 + SEC + 1, NULL));
	assert_false(w.pending);

	/* interval 0: never probes */
	mk_zone(root, "intel-rapl:0", "package-0\n", 1);
	meter_watch_init(&w, 0, T0);
	for (int i = 0; i < 3; i++)
		assert_null(meter_watch_poll(&w, &o, T0 + (uint64_t)i * 100 * SEC, NULL));
	assert_int_equal(w.probes, 0);
	rm_tree(root);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_msr_intel),
	cmocka_unit_test(test_msr_amd),
	cmocka_unit_test(test_msr_fractional_units),
	cmocka_unit_test(test_hwmon_energy),
	cmocka_unit_test(test_hwmon_power_integration),
	cmocka_unit_test(test_acpi_power_meter),
	cmocka_unit_test(test_read_real_clock),
	cmocka_unit_test(test_fifo_in_place),
	cmocka_unit_test(test_dir_and_symlink_in_place),
	cmocka_unit_test(test_timestamp_after_reads),
	cmocka_unit_test(test_stall_bounded),
	cmocka_unit_test(test_reprobe_watch))
