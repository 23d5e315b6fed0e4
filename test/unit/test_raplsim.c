/* test_raplsim.c - the simulated RAPL meter: power curve, /proc/stat parsing, the
 * wrapping counter, and (when the binary is built) the program itself: tree layout,
 * wrap of energy_uj against the truth file, clean SIGTERM exit.
 *
 * The program is found at $RAPLSIM, default build/raplsim; tests of it skip when it
 * is not there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/common/util.h"
#include "sim/raplsim_model.h"

/* ---- curve ---- */

static void test_curve_defaults_linear(void **state)
{
	struct raplsim_curve c;
	double w[RS_ZONES];
	char why[128];
	(void)state;

	raplsim_curve_defaults(&c);
	assert_int_equal(raplsim_curve_check(&c, why, sizeof(why)), 0);
	raplsim_power(&c, 0, w);
	assert_true(w[RS_PACKAGE] == 10);
	assert_true(w[RS_CORE] == 2);
	assert_true(w[RS_DRAM] == 1.5);
	assert_true(w[RS_PSYS] == 16.5);
	raplsim_power(&c, 2, w);
	assert_true(fabs(w[RS_PACKAGE] - 40) < 1e-12);     /* 10 + 15 * 2 */
	assert_true(fabs(w[RS_CORE] - 26) < 1e-12);        /* 2 + 0.8 * 30 */
	assert_true(fabs(w[RS_DRAM] - 2.5) < 1e-12);       /* 1.5 + 0.5 * 2 */
	assert_true(fabs(w[RS_PSYS] - 47.5) < 1e-12);      /* 40 + 2.5 + 5 */
	/* negative or NaN busy is treated as idle, not propagated */
	raplsim_power(&c, -3, w);
	assert_true(w[RS_PACKAGE] == 10);
	raplsim_power(&c, NAN, w);
	assert_true(w[RS_PACKAGE] == 10);
}

static void test_curve_exponent(void **state)
{
	struct raplsim_curve c;
	double w[RS_ZONES];
	(void)state;

	raplsim_curve_defaults(&c);
	c.exponent = 2;
	c.w_per_core = 4;
	raplsim_power(&c, 3, w);
	assert_true(fabs(w[RS_PACKAGE] - (10 + 4 * 9)) < 1e-12);
	c.exponent = 0.5;
	raplsim_power(&c, 4, w);
	assert_true(fabs(w[RS_PACKAGE] - (10 + 4 * 2)) < 1e-12);
}

static void test_curve_check(void **state)
{
	struct raplsim_curve c;
	char why[128];
	(void)state;

	raplsim_curve_defaults(&c);
	c.exponent = 0;
	assert_int_equal(raplsim_curve_check(&c, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "exponent must be in (0, 4], got 0");
	raplsim_curve_defaults(&c);
	c.idle_w = -1;
	assert_int_equal(raplsim_curve_check(&c, why, sizeof(why)), -EINVAL);
	raplsim_curve_defaults(&c);
	c.core_share = 1.5;
	assert_int_equal(raplsim_curve_check(&c, why, sizeof(why)), -EINVAL);
	raplsim_curve_defaults(&c);
	c.core_idle_w = 11;
	assert_int_equal(raplsim_curve_check(&c, why, sizeof(why)), -EINVAL);
	raplsim_curve_defaults(&c);
	c.w_per_core = INFINITY;
	assert_int_equal(raplsim_curve_check(&c, why, sizeof(why)), -EINVAL);
}

/* ---- /proc/stat ---- */

/* shaped like a 2-CPU Debian 12 machine's /proc/stat */
static const char stat_a[] =
	"cpu  8598 0 3581 155576 1779 0 63 19 0 0\n"
	"cpu0 2704 0 1355 80567 152 0 17 5 0 0\n"
	"cpu1 5894 0 2225 75008 1627 0 46 13 0 0\n"
	"intr 341022 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 14\n"
	"ctxt 602913\n"
	"btime 1732520000\n"
	"processes 4410\n"
	"procs_running 2\n"
	"procs_blocked 0\n"
	"softirq 183251 1 53211 2 7811 6013 0 311 60044 0 55858\n";
/* 100 ticks later: 150 busy (user 120 + system 25 + softirq 3 + steal 2), 50 idle */
static const char stat_b[] =
	"cpu  8718 0 3606 155626 1779 0 66 21 0 0\n"
	"cpu0 2760 0 1368 80592 152 0 18 6 0 0\n"
	"cpu1 5958 0 2238 75034 1627 0 48 15 0 0\n"
	"intr 342022 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 1 14\n";

static void test_parse_stat(void **state)
{
	struct raplsim_cpustat a, b;
	double busy;
	(void)state;

	assert_int_equal(raplsim_parse_stat(stat_a, &a), 0);
	assert_int_equal(a.ncpu, 2);
	assert_int_equal(a.busy, 8598 + 3581 + 63 + 19);
	assert_int_equal(a.total, 8598 + 3581 + 63 + 19 + 155576 + 1779);
	assert_int_equal(raplsim_parse_stat(stat_b, &b), 0);
	assert_int_equal(raplsim_busy_cpus(&a, &b, &busy), 0);
	assert_true(fabs(busy - 2.0 * 150 / 200) < 1e-12);
	/* no tick between samples, counters going back */
	assert_int_equal(raplsim_busy_cpus(&a, &a, &busy), -EAGAIN);
	assert_int_equal(raplsim_busy_cpus(&b, &a, &busy), -ERANGE);
}

/* Idle-based busy: 50 idle ticks (0.5 s at USER_HZ 100) over 1 s of wall time on 2
 * CPUs is 1.5 busy CPUs; a short interval whose quantum overshoots is clamped and the
 * excess carried, so the sum over intervals stays exact. */
static void test_busy_from_idle(void **state)
{
	struct raplsim_cpustat a, b, c;
	double busy, carry = 0, sum = 0;
	(void)state;

	assert_int_equal(raplsim_parse_stat(stat_a, &a), 0);
	assert_int_equal(raplsim_parse_stat(stat_b, &b), 0);
	assert_int_equal(a.idle, 155576 + 1779);
	assert_int_equal(raplsim_busy_from_idle(&a, &b, 1.0, 100, &carry, &busy), 0);
	assert_true(fabs(busy - 1.5) < 1e-12);
	assert_true(fabs(carry) < 1e-12);
	/* 10 ms intervals; idle jumps by 3 ticks (30 ms) in the first, 0 in the next two:
	 * 2 CPUs x 30 ms = 60 ms of CPU time, 30 ms idle -> 30 ms busy in all */
	c = a;
	c.idle += 3;
	assert_int_equal(raplsim_busy_from_idle(&a, &c, 0.010, 100, &carry, &busy), 0);
	assert_true(busy == 0.0); /* -10 ms clamped to 0, carried */
	assert_true(fabs(carry + 0.010) < 1e-12);
	sum += busy * 0.010;
	assert_int_equal(raplsim_busy_from_idle(&c, &c, 0.010, 100, &carry, &busy), 0);
	sum += busy * 0.010;
	assert_int_equal(raplsim_busy_from_idle(&c, &c, 0.010, 100, &carry, &busy), 0);
	sum += busy * 0.010;
	assert_true(fabs(sum - 0.030) < 1e-12);
	assert_true(fabs(carry) < 1e-12);
	/* a carry far beyond quantisation is capped (4 quanta per CPU), not paid back */
	carry = 0;
	c = a;
	c.idle += 1000;
	assert_int_equal(raplsim_busy_from_idle(&a, &c, 1.0, 100, &carry, &busy), 0);
	assert_true(busy == 0.0);
	assert_true(fabs(carry + 0.08) < 1e-12);
	/* idle going back, no time */
	assert_int_equal(raplsim_busy_from_idle(&b, &a, 1.0, 100, &carry, &busy), -ERANGE);
	assert_int_equal(raplsim_busy_from_idle(&a, &b, 0, 100, &carry, &busy), -EINVAL);
}

static void test_parse_stat_bad(void **state)
{
	struct raplsim_cpustat s;
	(void)state;

	assert_int_equal(raplsim_parse_stat("", &s), -EINVAL);
	assert_int_equal(raplsim_parse_stat("intr 1 2 3\n", &s), -EINVAL);
	/* no per-CPU lines */
	assert_int_equal(raplsim_parse_stat("cpu  1 2 3 4 5 6 7 8 0 0\n", &s), -EINVAL);
	/* garbage and too few fields */
	assert_int_equal(raplsim_parse_stat("cpu  1 2 x 4\ncpu0 1 2 3 4\n", &s), -EINVAL);
	assert_int_equal(raplsim_parse_stat("cpu  1 2 3\ncpu0 1 2 3\n", &s), -EINVAL);
	assert_int_equal(raplsim_parse_stat("cpu  -1 2 3 4\ncpu0 1 2 3 4\n", &s), -EINVAL);
	assert_int_equal(raplsim_parse_stat("cpu  99999999999999999999999 2 3 4\ncpu0 1 2 3 4\n", &s),
			 -EINVAL);
	/* a 2.6.11-era line with only 4 fields still parses */
	assert_int_equal(raplsim_parse_stat("cpu  10 0 5 85\ncpu0 10 0 5 85\n", &s), 0);
	assert_int_equal(s.busy, 15);
	assert_int_equal(s.total, 100);
}

/* ---- the counter ---- */

static void test_counter_wrap(void **state)
{
	struct raplsim_counter c;
	uint64_t added, prev, sum = 0, wraps = 0;
	(void)state;

	assert_int_equal(raplsim_counter_init(&c, 0, 0), -EINVAL);
	assert_int_equal(raplsim_counter_init(&c, 10, 11), -EINVAL);
	assert_int_equal(raplsim_counter_init(&c, 1000, 990), 0);
	assert_int_equal(raplsim_counter_add(&c, 10, &added), 0);
	assert_int_equal(c.value_uj, 1000); /* max itself is a valid reading */
	assert_int_equal(raplsim_counter_add(&c, 1, &added), 0);
	assert_int_equal(c.value_uj, 0);    /* then it wraps to 0 */
	assert_int_equal(raplsim_counter_delta(1000, 0, 1000), 1);
	assert_int_equal(raplsim_counter_delta(995, 4, 1000), 10);
	assert_int_equal(raplsim_counter_delta(4, 995, 1000), 991);

	/* many adds of odd sizes: the reader's wrapped deltas sum to the truth */
	assert_int_equal(raplsim_counter_init(&c, 999, 500), 0);
	prev = c.value_uj;
	for (int i = 0; i < 10000; i++) {
		assert_int_equal(raplsim_counter_add(&c, 37.3 + (i % 13) * 61.7, &added), 0);
		assert_true(c.value_uj <= 999);
		if (c.value_uj < prev)
			wraps++;
		sum += raplsim_counter_delta(prev, c.value_uj, 999);
		prev = c.value_uj;
	}
	assert_true(wraps > 100);
	assert_int_equal(sum, c.total_uj);
	assert_int_equal(c.value_uj, (500 + c.total_uj) % 1000);
	/* the sub-microjoule remainder is carried, not dropped */
	double exact = 0;
	for (int i = 0; i < 10000; i++)
		exact += 37.3 + (i % 13) * 61.7;
	assert_true(fabs((double)c.total_uj + c.frac_uj - exact) < 1e-3);
}

static void test_counter_fraction_and_big_steps(void **state)
{
	struct raplsim_counter c;
	uint64_t added;
	(void)state;

	assert_int_equal(raplsim_counter_init(&c, 262143328850ULL, 0), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(raplsim_counter_add(&c, 0.25, &added), 0);
	assert_int_equal(c.total_uj, 2);
	assert_int_equal(c.value_uj, 2);
	/* one step longer than several whole ranges */
	assert_int_equal(raplsim_counter_init(&c, 99, 0), 0);
	assert_int_equal(raplsim_counter_add(&c, 1234, &added), 0);
	assert_int_equal(added, 1234);
	assert_int_equal(c.value_uj, 34);
	/* the largest range never overflows */
	assert_int_equal(raplsim_counter_init(&c, UINT64_MAX, UINT64_MAX - 5), 0);
	assert_int_equal(raplsim_counter_add(&c, 10, &added), 0);
	assert_int_equal(c.value_uj, 4);
	assert_int_equal(raplsim_counter_add(&c, -1, &added), -EINVAL);
	assert_int_equal(raplsim_counter_add(&c, NAN, &added), -EINVAL);
}

/* ---- the program ---- */

static const char *sim_bin(void)
{
	const char *b = getenv("RAPLSIM");
	return b && *b ? b : "build/raplsim";
}

/* true when sim_bin() is this simulator (not missing, not a stale placeholder) */
static bool sim_usable(void)
{
	char cmd[512];
	if (access(sim_bin(), X_OK) != 0) {
		print_message("skipped: %s not built (make build/raplsim, or set RAPLSIM)\n",
			      sim_bin());
		return false;
	}
	snprintf(cmd, sizeof(cmd), "'%s' --help 2>/dev/null | grep -q 'SIMULATED Intel RAPL'",
		 sim_bin());
	if (system(cmd) != 0) {
		print_message("skipped: %s is not the simulator (stale build? make build/raplsim)\n",
			      sim_bin());
		return false;
	}
	return true;
}

static int make_tmpdir(char *out, size_t cap)
{
	snprintf(out, cap, "/tmp/wattlet-raplsim-XXXXXX");
	return mkdtemp(out) ? 0 : -errno;
}

static int run_cmd(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint64_t read_u64_at(const char *dir, const char *rel)
{
	char p[512];
	uint64_t v = 0;
	assert_int_equal(fmt_path(p, sizeof(p), "%s/%s", dir, rel), 0);
	assert_int_equal(read_u64_file(p, &v), 0);
	return v;
}

/* The one-line file dir/rel reads want. */
static void assert_str_at(const char *dir, const char *rel, const char *want)
{
	char p[512], v[64];

	assert_int_equal(fmt_path(p, sizeof(p), "%s/%s", dir, rel), 0);
	assert_int_equal(read_str_file(p, v, sizeof(v)), 0);
	assert_string_equal(v, want);
}

/* The exit status of the program run with args (a shell command line's tail). */
static int sim_exit(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s %s", sim_bin(), args);
	return run_cmd(cmd);
}

/* The start of a test of the program: skipped where it cannot run; a fresh directory
 * in dir and the path of its truth file in truth. */
static void sim_start(char *dir, size_t dcap, char *truth, size_t tcap)
{
	if (!sim_usable())
		skip();
	assert_int_equal(make_tmpdir(dir, dcap), 0);
	snprintf(truth, tcap, "%s/truth", dir);
}

/* Cumulative microjoules of zone `key` ("package") on the last line of the truth file,
 * and the number of lines. */
static int truth_last(const char *path, const char *key, uint64_t *uj, double *watts)
{
	FILE *f = fopen(path, "r");
	char line[1024], last[1024] = "", pat[64];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		snprintf(last, sizeof(last), "%s", line);
		n++;
	}
	fclose(f);
	if (n == 0)
		return 0;
	snprintf(pat, sizeof(pat), " %s_j=", key);
	char *p = strstr(last, pat);
	assert_non_null(p);
	unsigned long long j, frac;
	assert_int_equal(sscanf(p + strlen(pat), "%llu.%6llu", &j, &frac), 2);
	*uj = j * 1000000ULL + frac;
	if (watts) {
		snprintf(pat, sizeof(pat), " %s_w=", key);
		p = strstr(last, pat);
		assert_non_null(p);
		*watts = strtod(p + strlen(pat), NULL);
	}
	return n;
}

static void test_program_once_wraps(void **state)
{
	static const struct {
		const char *key, *rel;
		double watts; /* with --busy-cpus 1.5 and defaults */
	} z[] = {
		{ "package", "intel-rapl:0/energy_uj", 32.5 },
		{ "core", "intel-rapl:0:0/energy_uj", 20 },
		{ "dram", "intel-rapl:0/intel-rapl:0:1/energy_uj", 2.25 },
		{ "psys", "intel-rapl:1/energy_uj", 39.75 },
	};
	/* 4 J: psys (39.75 W) wraps about every 5th 20 ms update. A reader can only
	 * unwrap steps smaller than the range, exactly as with real RAPL, so the range
	 * leaves room for a 100 ms scheduling delay on a busy machine. */
	const uint64_t max = 4000000;
	char dir[128], truth[256], cmd[1024], out[256], name[64];
	uint64_t prev[4], sum[4] = { 0 };
	int wraps = 0;
	(void)state;

	sim_start(dir, sizeof(dir), truth, sizeof(truth));
	snprintf(out, sizeof(out), "%s/stdout", dir);

	/* What a reader of the counters can know: each step modulo the range. A step
	 * longer than the range (the process delayed > 100 ms on a loaded machine) loses
	 * whole ranges - as with real RAPL read too slowly - so the expected sum is the
	 * truth's steps taken modulo (max + 1); without long steps it is the truth. */
	uint64_t expect[4] = { 0 }, cum_prev[4] = { 0 };
	int long_steps = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(cmd, sizeof(cmd),
			 "%s --dir %s/pc --once --psys --busy-cpus 1.5 --interval-ms 20 "
			 "--max-range-uj %" PRIu64 " --truth %s > %s", sim_bin(), dir, max, truth, out);
		assert_int_equal(run_cmd(cmd), 0);
		for (int k = 0; k < 4; k++) {
			char base[160];
			uint64_t cum;
			snprintf(base, sizeof(base), "%s/pc", dir);
			uint64_t v = read_u64_at(base, z[k].rel);
			assert_true(v <= max);
			assert_int_equal(truth_last(truth, z[k].key, &cum, NULL), i + 1);
			expect[k] += (cum - cum_prev[k]) % (max + 1);
			long_steps += cum - cum_prev[k] > max;
			cum_prev[k] = cum;
			if (i == 0) {
				sum[k] = v; /* fresh tree starts at 0 */
			} else {
				if (v < prev[k])
					wraps++;
				sum[k] += raplsim_counter_delta(prev[k], v, max);
			}
			prev[k] = v;
		}
	}
	if (long_steps)
		print_message("note: %d step(s) longer than the counter range (loaded machine)\n",
			      long_steps);
	assert_true(wraps >= 10);
	for (int k = 0; k < 4; k++) {
		uint64_t cum;
		double w;
		snprintf(name, sizeof(name), "%s", z[k].key);
		assert_int_equal(truth_last(truth, name, &cum, &w), 40);
		/* the wrapped counter, read as an agent would, gives exactly what can be known */
		assert_int_equal(sum[k], expect[k]);
		if (!long_steps)
			assert_int_equal(sum[k], cum);
		assert_true(fabs(w - z[k].watts) < 1e-9);
		/* ~40 x 20 ms at w watts; loose bound, the run is timed by the kernel */
		assert_true((double)cum > 0.5 * w * 40 * 0.02 * 1e6);
	}
	/* layout as the kernel shows it */
	char base[160];
	snprintf(base, sizeof(base), "%s/pc", dir);
	assert_int_equal(read_u64_at(base, "intel-rapl:0/max_energy_range_uj"), max);
	assert_int_equal(read_u64_at(base, "intel-rapl:0:1/max_energy_range_uj"), max);
	assert_str_at(base, "intel-rapl:0/name", "package-0");
	assert_str_at(base, "intel-rapl:0:0/name", "core");
	assert_str_at(base, "intel-rapl:0/intel-rapl:0:1/name", "dram");
	assert_str_at(base, "intel-rapl:1/name", "psys");
	assert_str_at(base, "intel-rapl:0/enabled", "1");
	char p[512];
	struct stat st;
	snprintf(p, sizeof(p), "%s/intel-rapl:0/energy_uj", base);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0400);
	/* it says it is simulated */
	assert_int_equal(read_file(out, p, sizeof(p), NULL), 0);
	assert_non_null(strstr(p, "SIMULATED RAPL meter"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(run_cmd(cmd), 0);
}

static void test_program_runs_and_stops(void **state)
{
	char dir[128], truth[256], pidf[256], base[200];
	const uint64_t max = 2000000;
	uint64_t cum = 0;
	pid_t pid;
	int n = 0, status;
	(void)state;

	sim_start(dir, sizeof(dir), truth, sizeof(truth));
	snprintf(pidf, sizeof(pidf), "%s/pid", dir);
	snprintf(base, sizeof(base), "%s/pc", dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char maxs[32];
		int fd = open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		snprintf(maxs, sizeof(maxs), "%" PRIu64, max);
		execl(sim_bin(), sim_bin(), "--dir", base, "--interval-ms", "10", "--max-range-uj",
		      maxs, "--truth", truth, "--pid-file", pidf, (char *)NULL);
		_exit(127);
	}
	/* wait (bounded) until it has done 30 updates */
	for (int i = 0; i < 1000 && n < 30; i++) {
		struct timespec ts = { 0, 10 * 1000000L };
		n = truth_last(truth, "package", &cum, NULL);
		if (n < 30)
			nanosleep(&ts, NULL);
	}
	assert_true(n >= 30);
	assert_true(path_exists(pidf));
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(path_exists(pidf)); /* removed on a clean exit */
	/* the counters, after any number of wraps, equal the truth modulo the range */
	const char *keys[3] = { "package", "core", "dram" };
	const char *rel[3] = { "intel-rapl:0/energy_uj", "intel-rapl:0:0/energy_uj",
			       "intel-rapl:0:1/energy_uj" };
	for (int k = 0; k < 3; k++) {
		assert_true(truth_last(truth, keys[k], &cum, NULL) >= 30);
		assert_int_equal(read_u64_at(base, rel[k]), cum % (max + 1));
	}
	assert_true(cum > 0);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(run_cmd(cmd), 0);
}

static void test_program_bad_flags(void **state)
{
	(void)state;

	if (!sim_usable())
		skip();
	assert_int_equal(sim_exit("--exponent 0 --once --dir /tmp/x 2>/dev/null"), 2);
	assert_int_equal(sim_exit("--max-range-uj 0 2>/dev/null"), 2);
	assert_int_equal(sim_exit("--interval-ms abc 2>/dev/null"), 2);
	assert_int_equal(sim_exit("--help | grep -q 'SIMULATED'"), 0);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_curve_defaults_linear),
	cmocka_unit_test(test_curve_exponent),
	cmocka_unit_test(test_curve_check),
	cmocka_unit_test(test_parse_stat),
	cmocka_unit_test(test_parse_stat_bad),
	cmocka_unit_test(test_busy_from_idle),
	cmocka_unit_test(test_counter_wrap),
	cmocka_unit_test(test_counter_fraction_and_big_steps),
	cmocka_unit_test(test_program_once_wraps),
	cmocka_unit_test(test_program_runs_and_stops),
	cmocka_unit_test(test_program_bad_flags))
