/* test_config.c - config defaults, YAML loading and its error positions, --set,
 * validation, dump/load round trip and duration parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/config/config.h"
#include "test/unit/fixture.h"

static void fixture(char *out, size_t cap, const char *name)
{
	fixture_path(out, cap, "config", name);
}

/* Loads a fixture over defaults; expects failure with exactly
 * "<fixture path>:<where_and_message>". */
static void expect_error(const char *name, const char *tail)
{
	char path[512], want[1024];
	struct config c, before;
	struct wl_err e = { { 0 } };

	fixture(path, sizeof(path), name);
	config_defaults(&c);
	before = c;
	assert_int_equal(config_load_file(&c, path, &e), -EINVAL);
	snprintf(want, sizeof(want), "%s:%s", path, tail);
	assert_string_equal(e.msg, want);
	/* a failed load changes nothing */
	assert_memory_equal(&c, &before, sizeof(c));
}

/* c: the defaults with fixture `name` loaded over them, which must succeed. */
static void load_fixture(struct config *c, const char *name)
{
	char path[512];
	struct wl_err e = { { 0 } };

	fixture(path, sizeof(path), name);
	config_defaults(c);
	assert_int_equal(config_load_file(c, path, &e), 0);
}

static void assert_config_equal(const struct config *a, const struct config *b)
{
	assert_int_equal(a->tick_ms, b->tick_ms);
	assert_string_equal(a->listen, b->listen);
	assert_int_equal(a->meter_n_order, b->meter_n_order);
	for (int i = 0; i < a->meter_n_order; i++)
		assert_int_equal(a->meter_order[i], b->meter_order[i]);
	assert_string_equal(a->sysfs_root, b->sysfs_root);
	assert_string_equal(a->powercap_root, b->powercap_root);
	assert_string_equal(a->dev_root, b->dev_root);
	assert_true(a->meter_max_watts == b->meter_max_watts);
	assert_string_equal(a->cgroup_root, b->cgroup_root);
	assert_int_equal(a->cgroup_hierarchy, b->cgroup_hierarchy);
	assert_int_equal(a->containers_only, b->containers_only);
	assert_int_equal(a->max_cgroups, b->max_cgroups);
	assert_int_equal(a->usage_source, b->usage_source);
	assert_string_equal(a->proc_root, b->proc_root);
	for (int z = 0; z < ZONE_COUNT; z++) {
		assert_true(a->idle_watts[z] == b->idle_watts[z]);
		assert_int_equal(a->zone_feature[z], b->zone_feature[z]);
	}
	assert_int_equal(a->idle_window_ms, b->idle_window_ms);
	assert_true(a->idle_percentile == b->idle_percentile);
	assert_true(a->idle_low_util == b->idle_low_util);
	assert_int_equal(a->idle_policy, b->idle_policy);
	assert_string_equal(a->checkpoint_path, b->checkpoint_path);
	assert_int_equal(a->checkpoint_interval_ms, b->checkpoint_interval_ms);
	assert_int_equal(a->retention_ms, b->retention_ms);
	assert_int_equal(a->kepler_compat, b->kepler_compat);
	assert_int_equal(a->per_cgroup_metrics, b->per_cgroup_metrics);
	assert_int_equal(a->log_level, b->log_level);
}

/* ---- defaults and the good file ---- */

static void test_defaults(void **state)
{
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	config_defaults(&c);
	assert_int_equal(c.tick_ms, 1000);
	assert_string_equal(c.listen, "0.0.0.0:9102");
	assert_int_equal(c.meter_n_order, 5);
	assert_int_equal(c.meter_order[0], METER_POWERCAP);
	assert_int_equal(c.meter_order[1], METER_PERF);
	assert_int_equal(c.meter_order[2], METER_MSR);
	assert_int_equal(c.meter_order[3], METER_HWMON);
	assert_int_equal(c.meter_order[4], METER_ACPI);
	assert_string_equal(c.sysfs_root, "/sys");
	assert_string_equal(c.powercap_root, "");
	assert_string_equal(c.dev_root, "/dev");
	assert_true(c.meter_max_watts == 2000);
	assert_string_equal(c.cgroup_root, "/sys/fs/cgroup");
	assert_int_equal(c.cgroup_hierarchy, CG_PREF_AUTO);
	assert_false(c.containers_only);
	assert_int_equal(c.max_cgroups, 16384);
	assert_int_equal(c.usage_source, USAGE_AUTO);
	assert_string_equal(c.proc_root, "/proc");
	for (int z = 0; z < ZONE_COUNT; z++)
		assert_true(c.idle_watts[z] < 0);
	/* PMU features where a PMU exists; attribution falls back to CPU time */
	assert_int_equal(c.zone_feature[ZONE_PACKAGE], FEAT_INSTRUCTIONS);
	assert_int_equal(c.zone_feature[ZONE_CORE], FEAT_INSTRUCTIONS);
	assert_int_equal(c.zone_feature[ZONE_DRAM], FEAT_CACHE_MISSES);
	assert_int_equal(c.zone_feature[ZONE_UNCORE], FEAT_CPU_TIME);
	assert_int_equal(c.zone_feature[ZONE_PLATFORM], FEAT_CPU_TIME);
	assert_int_equal(c.idle_window_ms, 30 * 60 * 1000);
	assert_true(c.idle_percentile == 5);
	assert_true(c.idle_low_util == 0.10);
	assert_int_equal(c.idle_policy, IDLE_EVEN);
	assert_string_equal(c.checkpoint_path, "/var/lib/wattlet/ledger.ckpt");
	assert_int_equal(c.checkpoint_interval_ms, 10000);
	assert_int_equal(c.retention_ms, 600000);
	assert_false(c.kepler_compat);
	assert_true(c.per_cgroup_metrics);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_int_equal(config_validate(&c, &e), 0);
}

static void test_good_file(void **state)
{
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	load_fixture(&c, "good.yaml");
	assert_int_equal(c.tick_ms, 2000);
	assert_string_equal(c.listen, "127.0.0.1:9200");
	assert_int_equal(c.meter_n_order, 2);
	assert_int_equal(c.meter_order[0], METER_PERF);
	assert_int_equal(c.meter_order[1], METER_POWERCAP);
	assert_string_equal(c.sysfs_root, "/host/sys");
	assert_string_equal(c.powercap_root, "/tmp/raplsim");
	assert_string_equal(c.dev_root, "/host/dev");
	assert_true(c.meter_max_watts == 1500.5);
	assert_string_equal(c.cgroup_root, "/host/sys/fs/cgroup");
	assert_int_equal(c.cgroup_hierarchy, CG_PREF_V2);
	assert_true(c.containers_only);
	assert_int_equal(c.max_cgroups, 4096);
	assert_int_equal(c.usage_source, USAGE_CGROUP);
	assert_string_equal(c.proc_root, "/host/proc");
	assert_true(c.idle_watts[ZONE_PACKAGE] == 42.5);
	assert_true(c.idle_watts[ZONE_DRAM] == 3);
	assert_true(c.idle_watts[ZONE_CORE] < 0); /* not named: still learned */
	assert_int_equal(c.idle_window_ms, 3600000);
	assert_true(c.idle_percentile == 10);
	assert_true(c.idle_low_util == 0.25);
	assert_int_equal(c.zone_feature[ZONE_PACKAGE], FEAT_INSTRUCTIONS);
	assert_int_equal(c.zone_feature[ZONE_DRAM], FEAT_CACHE_MISSES);
	assert_int_equal(c.zone_feature[ZONE_CORE], FEAT_INSTRUCTIONS); /* default kept */
	assert_int_equal(c.idle_policy, IDLE_REQUEST);
	assert_string_equal(c.checkpoint_path, "");
	assert_int_equal(c.checkpoint_interval_ms, 0);
	assert_int_equal(c.retention_ms, 5400000);
	assert_true(c.kepler_compat);
	assert_false(c.per_cgroup_metrics);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(config_validate(&c, &e), 0);
}

static void test_empty_file_keeps_defaults(void **state)
{
	struct config c, d;
	(void)state;

	load_fixture(&c, "empty.yaml");
	config_defaults(&d);
	assert_config_equal(&c, &d);
}

static void test_missing_file(void **state)
{
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	config_defaults(&c);
	assert_int_equal(config_load_file(&c, "/nonexistent/wattlet.yaml", &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent/wattlet.yaml: cannot open"));
}

/* ---- each error class, with its exact position ---- */

static void test_err_unknown_key(void **state)
{
	(void)state;
	expect_error("unknown_key.yaml",
		     "4:3: unknown key \"meter.sysfs_rot\" (did you mean \"meter.sysfs_root\"?)");
	expect_error("unknown_top.yaml", "2:1: unknown key \"metre\" (did you mean \"meter\"?)");
	/* too far from every key: no suggestion */
	expect_error("unknown_far.yaml", "2:1: unknown key \"colour\"");
	expect_error("bad_zone.yaml",
		     "3:5: model.idle_watts: unknown zone \"pakage\" (did you mean \"package\"?); "
		     "zones are: package, core, uncore, dram, platform, gpu");
}

static void test_err_wrong_type(void **state)
{
	(void)state;
	expect_error("wrong_type.yaml", "3:14: metrics.workloads: expected a boolean, got a list");
	expect_error("wrong_type_bool.yaml",
		     "2:20: cgroup.containers_only: expected a boolean (true or false), got \"maybe\"");
	expect_error("bad_duration.yaml",
		     "2:14: ledger.retention: expected a duration such as \"500ms\", \"1s\", "
		     "\"1.5s\", \"10m\", \"2h\" or whole milliseconds, got \"ten minutes\"");
	expect_error("not_mapping.yaml", "1:1: the top level must be a mapping of keys, not a list");
}

static void test_err_bad_enum(void **state)
{
	(void)state;
	expect_error("bad_enum.yaml", "3:14: cgroup.hierarchy: \"v3\" is not one of: auto, v1, v2");
	expect_error("bad_meter.yaml",
		     "4:7: meter.order: \"rapl\" is not one of: powercap, perf, msr, hwmon, acpi");
}

static void test_err_out_of_range(void **state)
{
	(void)state;
	expect_error("out_of_range.yaml", "1:7: tick: 50ms is out of range (100ms..1m)");
	expect_error("out_of_range_double.yaml",
		     "2:20: model.idle_percentile: 75 is out of range (0..50)");
}

static void test_err_duplicate(void **state)
{
	(void)state;
	expect_error("duplicate.yaml", "4:1: duplicate key \"tick\" (first at line 1, column 1)");
	expect_error("duplicate_nested.yaml",
		     "5:5: duplicate key \"model.idle_watts.package\" (first at line 3, column 5)");
}

static void test_err_syntax(void **state)
{
	(void)state;
	expect_error("syntax.yaml",
		     "4:13: YAML syntax error: did not find expected ',' or ']' while parsing a "
		     "flow sequence started at line 3, column 10");
	expect_error("syntax_indent.yaml",
		     "4:2: YAML syntax error: did not find expected key while parsing a block "
		     "mapping started at line 1, column 1");
	expect_error("bad_utf8.yaml", "2:10: YAML syntax error: invalid leading UTF-8 octet");
	expect_error("two_docs.yaml", "2:1: only one YAML document is allowed in a config file");
}

/* ---- --set ---- */

/* ---- hostile files: size, nesting depth, many keys ---- */

/* Writes len bytes of text to a new temporary file; path gets its name. */
static void write_tmp(char *path, size_t cap, const char *text, size_t len)
{
	int fd;

	assert_true(cap > 32);
	snprintf(path, cap, "/tmp/wattlet-config-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "tick: " then levels '[' (no closing brackets needed: the depth check comes first) */
static int load_nested(size_t levels, struct wl_err *e, char *path, size_t cap, double *secs)
{
	size_t len = 6 + 2 * levels;
	char *text = malloc(len);
	struct config c;
	double t0;
	int r;

	assert_non_null(text);
	memcpy(text, "tick: ", 6);
	memset(text + 6, '[', levels);
	memset(text + 6 + levels, ']', levels);
	write_tmp(path, cap, text, len);
	free(text);
	config_defaults(&c);
	t0 = now_s();
	r = config_load_file(&c, path, e);
	*secs = now_s() - t0;
	unlink(path);
	return r;
}

static void test_err_nesting_depth(void **state)
{
	char path[64], want[256];
	struct wl_err e = { { 0 } };
	double secs;
	(void)state;

	/* 200k flow levels: refused at level 65 (the top mapping is level 1, so the 64th
	 * '[' at column 6 + 64), without libyaml's quadratic scan of the rest */
	assert_int_equal(load_nested(200000, &e, path, sizeof(path), &secs), -EINVAL);
	snprintf(want, sizeof(want), "%s:1:70: nested deeper than 64 levels", path);
	assert_string_equal(e.msg, want);
	print_message("200000-level flow nesting refused in %.3f ms\n", secs * 1e3);
	/* 64 levels (top mapping + 63 lists) pass the depth check and meet the type check */
	assert_int_equal(load_nested(63, &e, path, sizeof(path), &secs), -EINVAL);
	snprintf(want, sizeof(want), "%s:1:7: tick: expected a duration, got a list", path);
	assert_string_equal(e.msg, want);
}

/* n anchored list items under tick, one a line ("- &aI 1" on line I + 2) */
static int load_anchors(size_t n, struct wl_err *e, char *path, size_t cap)
{
	size_t tcap = 16 + n * 16, len = 0;
	char *text = malloc(tcap);
	struct config c;
	int r;

	assert_non_null(text);
	len += (size_t)snprintf(text, tcap, "tick:\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, tcap - len, "- &a%zu 1\n", i);
	write_tmp(path, cap, text, len);
	free(text);
	config_defaults(&c);
	r = config_load_file(&c, path, e);
	unlink(path);
	return r;
}

/* libyaml resolves each alias by a linear search of the anchors: 20k anchors and
 * aliases cost 1.7 s, so anchors are capped (256) before the tree is built */
static void test_err_anchors(void **state)
{
	char path[64], want[256];
	struct wl_err e = { { 0 } };
	(void)state;

	assert_int_equal(load_anchors(257, &e, path, sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:258:3: more than 256 anchors", path);
	assert_string_equal(e.msg, want);
	assert_int_equal(load_anchors(256, &e, path, sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2:1: tick: expected a duration, got a list", path);
	assert_string_equal(e.msg, want);
}

static void test_err_too_large(void **state)
{
	size_t len = (1u << 20) + 1;
	char path[64], *text = malloc(len);
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	assert_non_null(text);
	memset(text, '#', len); /* one long comment: valid YAML, only the size is wrong */
	write_tmp(path, sizeof(path), text, len);
	free(text);
	config_defaults(&c);
	assert_int_equal(config_load_file(&c, path, &e), -EFBIG);
	unlink(path);
	assert_non_null(strstr(e.msg, "larger than 1048576 bytes"));
}

/* 100k distinct keys in one mapping: the duplicate check must not be pairwise
 * (5e9 compares); the first unknown key is the error. */
static void test_err_many_keys(void **state)
{
	size_t n = 100000, cap = n * 16, len = 0;
	char path[64], want[256], *text = malloc(cap);
	struct config c;
	struct wl_err e = { { 0 } };
	double t0;
	(void)state;

	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "k%zu: 1\n", i);
	write_tmp(path, sizeof(path), text, len);
	free(text);
	config_defaults(&c);
	t0 = now_s();
	assert_int_equal(config_load_file(&c, path, &e), -EINVAL);
	print_message("100000 distinct keys refused in %.3f ms\n", (now_s() - t0) * 1e3);
	snprintf(want, sizeof(want), "%s:1:1: unknown key \"k0\"", path);
	unlink(path);
	assert_string_equal(e.msg, want);
}

static void test_err_duplicate_among_many(void **state)
{
	size_t n = 5000, cap = n * 16 + 64, len = 0;
	char path[64], want[256], *text = malloc(cap);
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "model:\n  idle_watts:\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, cap - len, "    z%zu: 1\n", i % 2500);
	write_tmp(path, sizeof(path), text, len);
	free(text);
	config_defaults(&c);
	assert_int_equal(config_load_file(&c, path, &e), -EINVAL);
	unlink(path);
	/* z0 comes back first, on line 3 + 2500 */
	snprintf(want, sizeof(want),
		 "%s:2503:5: duplicate key \"model.idle_watts.z0\" (first at line 3, column 5)",
		 path);
	assert_string_equal(e.msg, want);
}

static void test_set_overrides_file(void **state)
{
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	load_fixture(&c, "good.yaml");
	assert_int_equal(config_set(&c, "tick", "500ms", &e), 0);
	assert_int_equal(c.tick_ms, 500);
	assert_int_equal(config_set(&c, "meter.order", " msr , hwmon,acpi", &e), 0);
	assert_int_equal(c.meter_n_order, 3);
	assert_int_equal(c.meter_order[0], METER_MSR);
	assert_int_equal(c.meter_order[2], METER_ACPI);
	assert_int_equal(config_set(&c, "model.idle_watts.core", "7.5", &e), 0);
	assert_true(c.idle_watts[ZONE_CORE] == 7.5);
	assert_int_equal(config_set(&c, "model.idle_watts.package", "learn", &e), 0);
	assert_true(c.idle_watts[ZONE_PACKAGE] < 0);
	assert_int_equal(config_set(&c, "model.features.gpu", "cycles", &e), 0);
	assert_int_equal(c.zone_feature[ZONE_GPU], FEAT_CYCLES);
	assert_int_equal(config_set(&c, "metrics.workloads", "true", &e), 0);
	assert_true(c.per_cgroup_metrics);
	assert_int_equal(config_set(&c, "listen", "", &e), 0);
	assert_string_equal(c.listen, "");
	assert_int_equal(config_set(&c, "ledger.checkpoint_interval", "0", &e), 0);
	assert_int_equal(c.checkpoint_interval_ms, 0);
	/* untouched keys keep the file's value */
	assert_int_equal(c.cgroup_hierarchy, CG_PREF_V2);
}

static void expect_set_error(const char *key, const char *value, const char *want)
{
	struct config c, before;
	struct wl_err e = { { 0 } };

	config_defaults(&c);
	before = c;
	assert_int_equal(config_set(&c, key, value, &e), -EINVAL);
	assert_string_equal(e.msg, want);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_set_errors(void **state)
{
	(void)state;
	/* the same checks, and the same text after the location, as the file */
	expect_set_error("tick", "50ms", "--set tick: 50ms is out of range (100ms..1m)");
	expect_set_error("tick", "0", "--set tick: 0 is out of range (100ms..1m)");
	expect_set_error("tik", "1s", "--set tik: unknown key \"tik\" (did you mean \"tick\"?)");
	expect_set_error("meter.ordr", "perf",
			 "--set meter.ordr: unknown key \"meter.ordr\" (did you mean \"meter.order\"?)");
	expect_set_error("cgroup.hierarchy", "v3",
			 "--set cgroup.hierarchy: \"v3\" is not one of: auto, v1, v2");
	expect_set_error("meter.order", "perf,perf", "--set meter.order: \"perf\" is listed twice");
	expect_set_error("meter.order", "perf,,msr",
			 "--set meter.order: empty name in list \"perf,,msr\"");
	expect_set_error("meter.order", "", "--set meter.order: must name at least one meter");
	expect_set_error("model.idle_watts.pkg", "3",
			 "--set model.idle_watts.pkg: unknown zone \"pkg\"; zones are: package, core, "
			 "uncore, dram, platform, gpu");
	expect_set_error("model.idle_watts.dram", "-1",
			 "--set model.idle_watts.dram: -1 is out of range (0..100000)");
	expect_set_error("model.idle_watts", "3",
			 "--set model.idle_watts: name a zone, e.g. model.idle_watts.package");
	expect_set_error("meter", "x",
			 "--set meter: \"meter\" is a section; set one of its keys (e.g. meter.order)");
	expect_set_error("cgroup.max_cgroups", "-5",
			 "--set cgroup.max_cgroups: expected a whole number, got \"-5\"");
	expect_set_error("cgroup.max_cgroups", "0",
			 "--set cgroup.max_cgroups: 0 is out of range (1..1048576)");
	expect_set_error("meter.max_watts", "nan",
			 "--set meter.max_watts: nan is out of range (1..100000)");
	expect_set_error("meter.sysfs_root", "", "--set meter.sysfs_root: must not be empty");
	expect_set_error("listen", "localhost",
			 "--set listen: expected HOST:PORT with a port in 0..65535 (or \"\" to "
			 "disable HTTP), got \"localhost\"");
	expect_set_error("listen", "0.0.0.0:70000",
			 "--set listen: expected HOST:PORT with a port in 0..65535 (or \"\" to "
			 "disable HTTP), got \"0.0.0.0:70000\"");
	expect_set_error("usage.proc_root", "/pr\xff" "oc", "--set usage.proc_root: value is not valid UTF-8");
}

static void test_set_accepts_edge_values(void **state)
{
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	config_defaults(&c);
	assert_int_equal(config_set(&c, "tick", "100ms", &e), 0);
	assert_int_equal(config_set(&c, "tick", "60s", &e), 0);
	assert_int_equal(config_set(&c, "listen", "[::1]:9102", &e), 0);
	assert_int_equal(config_set(&c, "listen", ":9102", &e), 0);
	assert_int_equal(config_set(&c, "model.idle_percentile", "0", &e), 0);
	assert_int_equal(config_set(&c, "model.idle_low_utilization", "1", &e), 0);
	assert_int_equal(config_set(&c, "log.level", "warn", &e), 0);
	assert_int_equal(c.log_level, LOG_WARN);
}

/* ---- validation ---- */

static void test_validate_cross_field(void **state)
{
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	config_defaults(&c);
	assert_int_equal(config_set(&c, "tick", "2s", &e), 0);
	assert_int_equal(config_set(&c, "ledger.checkpoint_interval", "1s", &e), 0);
	assert_int_equal(config_validate(&c, &e), -EINVAL);
	assert_string_equal(e.msg, "config: ledger.checkpoint_interval (1s) must be 0 (only at "
				   "exit) or at least one tick (2s)");
	c.checkpoint_interval_ms = 0; /* only at exit */
	assert_int_equal(config_validate(&c, &e), 0);
	c.checkpoint_interval_ms = 2000; /* exactly one tick */
	assert_int_equal(config_validate(&c, &e), 0);

	assert_int_equal(config_set(&c, "model.idle_window", "1m", &e), 0);
	assert_int_equal(config_validate(&c, &e), -EINVAL);
	assert_string_equal(e.msg, "config: model.idle_window (1m) must span at least 60 ticks "
				   "(60 x 2s)");
	assert_int_equal(config_set(&c, "model.idle_window", "2m", &e), 0);
	assert_int_equal(config_validate(&c, &e), 0);
}

/* The cluster write budget (docs/kube.md): bad values name the key. */
static void test_write_budget_keys(void **state)
{
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	config_defaults(&c);
	assert_float_equal(c.write_budget, 50, 0);
	assert_float_equal(c.write_ceiling, 2, 0);
	assert_int_equal(config_validate(&c, &e), 0);
	expect_set_error("kubernetes.write_budget_per_s", "-1",
			 "--set kubernetes.write_budget_per_s: -1 is out of range (0..1000000)");
	expect_set_error("kubernetes.write_budget_per_s", "nan",
			 "--set kubernetes.write_budget_per_s: nan is out of range (0..1000000)");
	expect_set_error("kubernetes.write_budget_per_s", "lots",
			 "--set kubernetes.write_budget_per_s: expected a number, got \"lots\"");
	expect_set_error("kubernetes.write_ceiling_per_node_per_s", "-0.5",
			 "--set kubernetes.write_ceiling_per_node_per_s: -0.5 is out of range "
			 "(0..1000)");
	expect_set_error("kubernetes.write_ceiling_per_node_per_s", "inf",
			 "--set kubernetes.write_ceiling_per_node_per_s: inf is out of range "
			 "(0..1000)");
	/* a budget without a ceiling */
	assert_int_equal(config_set(&c, "kubernetes.write_ceiling_per_node_per_s", "0", &e), 0);
	assert_int_equal(config_validate(&c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "kubernetes.write_ceiling_per_node_per_s must be more "
				      "than 0 while kubernetes.write_budget_per_s is set (50)"));
	/* no budget: the ceiling does not matter */
	assert_int_equal(config_set(&c, "kubernetes.write_budget_per_s", "0", &e), 0);
	assert_int_equal(config_validate(&c, &e), 0);
	/* set by code */
	config_defaults(&c);
	c.write_budget = NAN;
	assert_int_equal(config_validate(&c, &e), -ERANGE);
	assert_string_equal(e.msg, "config: kubernetes.write_budget_per_s is out of range "
				   "(0..1000000)");
}

static void test_validate_fields_set_by_code(void **state)
{
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	config_defaults(&c);
	c.tick_ms = 10;
	assert_int_equal(config_validate(&c, &e), -ERANGE);
	assert_string_equal(e.msg, "config: tick is out of range (100ms..1m)");
	config_defaults(&c);
	c.meter_n_order = 2;
	c.meter_order[1] = METER_POWERCAP;
	assert_int_equal(config_validate(&c, &e), -EINVAL);
	assert_string_equal(e.msg, "config: meter.order lists \"powercap\" twice");
	config_defaults(&c);
	c.meter_n_order = 0;
	assert_int_equal(config_validate(&c, &e), -EINVAL);
	config_defaults(&c);
	c.idle_policy = (enum idle_policy)9;
	assert_int_equal(config_validate(&c, &e), -EINVAL);
	config_defaults(&c);
	c.idle_watts[ZONE_DRAM] = NAN;
	assert_int_equal(config_validate(&c, &e), -ERANGE);
}

/* ---- dump / load round trip ---- */

static void roundtrip(const struct config *in)
{
	char buf[8192], path[] = "/tmp/wattlet-config-rt-XXXXXX";
	struct config out;
	struct wl_err e = { { 0 } };
	int fd;

	assert_int_equal(config_dump(in, buf, sizeof(buf)), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf));
	close(fd);
	config_defaults(&out);
	/* start from something different so every key must really be read back */
	assert_int_equal(config_set(&out, "meter.order", "acpi", &e), 0);
	out.idle_watts[ZONE_GPU] = 99;
	int r = config_load_file(&out, path, &e);
	if (r)
		print_error("%s\n---\n%s", e.msg, buf);
	unlink(path);
	assert_int_equal(r, 0);
	/* the dump never names an unset idle zone, so clear the one we planted */
	if (in->idle_watts[ZONE_GPU] < 0)
		out.idle_watts[ZONE_GPU] = -1;
	assert_config_equal(in, &out);
}

static void test_roundtrip_defaults(void **state)
{
	struct config c;
	(void)state;
	config_defaults(&c);
	roundtrip(&c);
}

static void test_roundtrip_everything(void **state)
{
	struct config c;
	struct wl_err e = { { 0 } };
	(void)state;

	load_fixture(&c, "good.yaml");
	roundtrip(&c);

	/* awkward strings and doubles */
	assert_int_equal(config_set(&c, "meter.sysfs_root", "/a \"quoted\" \\path\\ #not-a-comment: x", &e), 0);
	assert_int_equal(config_set(&c, "cgroup.root", "/tab\there/ünïcødé/\xe2\x9a\xa1", &e), 0);
	assert_int_equal(config_set(&c, "ledger.checkpoint", "- [leading dash] {x}", &e), 0);
	assert_int_equal(config_set(&c, "model.idle_low_utilization", "0.1", &e), 0);
	assert_int_equal(config_set(&c, "meter.max_watts", "333.33333333333331", &e), 0);
	assert_int_equal(config_set(&c, "model.idle_watts.gpu", "0", &e), 0);
	assert_int_equal(config_set(&c, "tick", "1500ms", &e), 0);
	assert_int_equal(config_set(&c, "ledger.retention", "90s", &e), 0);
	c.idle_watts[ZONE_CORE] = 1.0 / 3.0;
	roundtrip(&c);
}

static void test_dump_too_small(void **state)
{
	struct config c;
	char buf[64];
	(void)state;
	config_defaults(&c);
	assert_int_equal(config_dump(&c, buf, sizeof(buf)), -ENOSPC);
	assert_true(strlen(buf) < sizeof(buf));
}

/* ---- durations ---- */

static void test_durations(void **state)
{
	static const struct {
		const char *in;
		int ok;
		uint64_t ms;
	} t[] = {
		{ "250ms", 1, 250 },
		{ "1s", 1, 1000 },
		{ "1.5s", 1, 1500 },
		{ "0.25s", 1, 250 },
		{ "10m", 1, 600000 },
		{ "1.25m", 1, 75000 },
		{ "2h", 1, 7200000 },
		{ "1h30m", 1, 5400000 },
		{ "1m30s500ms", 1, 90500 },
		{ "1500", 1, 1500 },
		{ "0", 1, 0 },
		{ "0s", 1, 0 },
		{ "18446744073709551615", 1, UINT64_MAX },
		{ "", 0, 0 },
		{ "-1s", 0, 0 },
		{ "-5", 0, 0 },
		{ "+1s", 0, 0 },
		{ "1x", 0, 0 },
		{ "s", 0, 0 },
		{ "ms", 0, 0 },
		{ "1.s", 0, 0 },
		{ ".5s", 0, 0 },
		{ "1.5", 0, 0 },       /* a fraction needs a unit */
		{ "0.5ms", 0, 0 },     /* below one millisecond */
		{ "1.0005s", 0, 0 },   /* not a whole millisecond */
		{ "1 s", 0, 0 },
		{ " 1s", 0, 0 },
		{ "1s ", 0, 0 },
		{ "1e3", 0, 0 },
		{ "1ms500", 0, 0 },    /* a bare integer only as the whole string */
		{ "1S", 0, 0 },
		{ "18446744073709551616", 0, 0 },
		{ "5124095576030432h", 0, 0 }, /* ms overflows 64 bits */
		{ "18446744073709551615ms1ms", 0, 0 },
		{ "99999999999999999999999s", 0, 0 },
	};
	(void)state;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t ms = 12345;
		int r = parse_duration_ms(t[i].in, &ms);
		if (t[i].ok) {
			if (r != 0 || ms != t[i].ms)
				fail_msg("\"%s\": r=%d ms=%llu, want %llu", t[i].in, r,
					 (unsigned long long)ms, (unsigned long long)t[i].ms);
		} else {
			if (r != -EINVAL || ms != 12345)
				fail_msg("\"%s\": r=%d, want -EINVAL and ms untouched", t[i].in, r);
		}
	}
	assert_int_equal(parse_duration_ms(NULL, NULL), -EINVAL);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(idle_policy_name(IDLE_REQUEST), "request");
	assert_int_equal(idle_policy_from_name("usage"), IDLE_USAGE);
	assert_int_equal(idle_policy_from_name("Usage"), -EINVAL);
	assert_int_equal(idle_policy_from_name(NULL), -EINVAL);
	assert_string_equal(idle_policy_name((enum idle_policy)77), "unknown");
	assert_string_equal(log_level_name(LOG_DEBUG), "debug");
	assert_int_equal(log_level_from_name("error"), LOG_ERROR);
	assert_int_equal(log_level_from_name("trace"), -EINVAL);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_defaults),
	cmocka_unit_test(test_good_file),
	cmocka_unit_test(test_empty_file_keeps_defaults),
	cmocka_unit_test(test_missing_file),
	cmocka_unit_test(test_err_unknown_key),
	cmocka_unit_test(test_err_wrong_type),
	cmocka_unit_test(test_err_bad_enum),
	cmocka_unit_test(test_err_out_of_range),
	cmocka_unit_test(test_err_duplicate),
	cmocka_unit_test(test_err_syntax),
	cmocka_unit_test(test_err_nesting_depth),
	cmocka_unit_test(test_err_anchors),
	cmocka_unit_test(test_err_too_large),
	cmocka_unit_test(test_err_many_keys),
	cmocka_unit_test(test_err_duplicate_among_many),
	cmocka_unit_test(test_set_overrides_file),
	cmocka_unit_test(test_set_errors),
	cmocka_unit_test(test_set_accepts_edge_values),
	cmocka_unit_test(test_validate_cross_field),
	cmocka_unit_test(test_validate_fields_set_by_code),
	cmocka_unit_test(test_write_budget_keys),
	cmocka_unit_test(test_roundtrip_defaults),
	cmocka_unit_test(test_roundtrip_everything),
	cmocka_unit_test(test_dump_too_small),
	cmocka_unit_test(test_durations),
	cmocka_unit_test(test_names))
