/* test_model.c - PowerModel parsing/validation (YAML and parsed values), prediction,
 * estimation, regression attribution, and the recording format. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/attrib/attrib.h"
#include "agent/model/powermodel.h"
#include "agent/model/record.h"
#include "test/unit/fixture.h"

static int load(const char *name, struct powermodel *m, struct wl_err *err)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/model/%s", fixture_dir(), name);
	return pm_load_file(p, m, err);
}

static void test_good_api_example(void **state)
{
	struct powermodel m;
	struct wl_err err = { "" };
	(void)state;
	assert_int_equal(load("good.yaml", &m, &err), 0);
	assert_string_equal(m.name, "xeon-8480-ratio");
	assert_int_equal(m.priority, 10);
	assert_int_equal(m.attribution, PM_ATTR_RATIO);
	assert_true(m.zone[ZONE_PACKAGE].present);
	assert_false(m.zone[ZONE_PACKAGE].estimated);
	assert_false(m.zone[ZONE_DRAM].present);
	assert_true(m.zone[ZONE_PACKAGE].idle_w == 38.5);
	assert_true(m.zone[ZONE_PACKAGE].weight[FEAT_CPU_TIME] == 14.2);
	assert_int_equal(m.zone[ZONE_PACKAGE].coef_mask, 1u << FEAT_CPU_TIME);
	assert_true(fabs(m.fit_r2 - 0.987) < 1e-12);
	assert_int_equal(m.fit_samples, 3600);
	assert_int_equal(pm_estimated_mask(&m), 0);
	/* measured zone with idleWatts: the model's idle */
	assert_true(pm_idle_w(&m, ZONE_PACKAGE) == 38.5);
	assert_true(pm_idle_w(&m, ZONE_DRAM) < 0);
}

static void test_estimated_predict_roundtrip(void **state)
{
	struct powermodel m, back;
	struct wl_err err = { "" };
	struct strbuf sb;
	double rate[FEAT_COUNT] = { 0 };
	(void)state;
	assert_int_equal(load("estimated.yaml", &m, &err), 0);
	assert_int_equal(pm_estimated_mask(&m), (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM));
	assert_int_equal(m.attribution, PM_ATTR_REGRESSION);
	rate[FEAT_CPU_TIME] = 1.5;     /* cores */
	rate[FEAT_INSTRUCTIONS] = 2.0; /* 1e9/s */
	assert_true(fabs(pm_predict_w(&m.zone[ZONE_PACKAGE], rate) - (10 + 22.5 + 5)) < 1e-9);
	assert_true(fabs(pm_predict_dynamic_w(&m.zone[ZONE_DRAM], rate) - 0.75) < 1e-9);
	assert_true(pm_idle_w(&m, ZONE_PACKAGE) == 10);

	strbuf_init(&sb, 1 << 16);
	assert_int_equal(pm_to_yaml(&m, NULL, &sb), 0);
	assert_int_equal(pm_parse_yaml(sb.buf, sb.len, &back, &err), 0);
	assert_int_equal(memcmp(back.zone, m.zone, sizeof(m.zone)), 0);
	assert_string_equal(back.name, m.name);
	strbuf_release(&sb);
}

struct bad_case {
	const char *file;
	const char *needle; /* must appear in the error: the field and the reason */
};

/* Every case must be refused with -EINVAL and an error naming its needle. files: each
 * case is a model fixture file, whose path must also lead the message; else the case is
 * the YAML text itself. */
static void check_refused(const struct bad_case *cases, size_t n, bool files)
{
	for (size_t i = 0; i < n; i++) {
		struct powermodel m;
		struct wl_err err = { "" };
		const char *f = cases[i].file;
		int rc = files ? load(f, &m, &err) : pm_parse_yaml(f, strlen(f), &m, &err);

		if (rc != -EINVAL || !strstr(err.msg, cases[i].needle))
			fail_msg("case %zu (%.40s): rc %d, error '%s' lacks '%s'", i, f, rc,
				 err.msg, cases[i].needle);
		if (files)
			assert_non_null(strstr(err.msg, f)); /* the path leads the message */
	}
}

static void test_bad_files(void **state)
{
	static const struct bad_case cases[] = {
		{ "bad_negative.yaml", "spec.zones[0].regression.coefficients[0].weight: -15 is negative" },
		{ "bad_nan.yaml", "spec.zones[0].regression.coefficients[1].weight: NaN" },
		{ "bad_inf.yaml", "spec.zones[1].regression.interceptWatts: infinite" },
		{ "bad_unknown_zone.yaml", "spec.zones[1].zone: unknown zone 'dramm'" },
		{ "bad_unknown_feature.yaml", "coefficients[1].feature: unknown feature 'instrs'" },
		{ "bad_duplicate_zone.yaml", "spec.zones[1].zone: zone 'package' is listed twice" },
		{ "bad_kind.yaml", "kind: 'EnergyPolicy' (expected PowerModel)" },
		{ "bad_unknown_field.yaml", "spec.idle: unknown field" },
		{ "bad_estimated_noreg.yaml", "spec.zones[0].regression: missing; source: estimated needs a regression" },
		{ "bad_duplicate_spec.yaml", "line 15 column 1: spec: duplicate key (first at line 7, column 1)" },
	};
	(void)state;
	check_refused(cases, sizeof(cases) / sizeof(cases[0]), true);
}

static void test_bad_inline(void **state)
{
	static const struct bad_case cases[] = {
		{ "apiVersion: wattlet.dev/v1\nkind: PowerModel\nmetadata: {name: a}\nspec: {zones: [{zone: package}]}\n",
		  "apiVersion" },
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a}\nspec: {zones: []}\n",
		  "spec.zones: 0 items" },
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a}\n"
		  "spec: {zones: [{zone: package, regression: {interceptWatts: 1, coefficients: [{feature: cpu_time, weight: abc}]}}]}\n",
		  "weight: 'abc' is not a number" },
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a}\nspec: {priority: 5000, zones: [{zone: package}]}\n",
		  "spec.priority: 5000 is outside 0..1000" },
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: Bad_Name}\nspec: {zones: [{zone: package}]}\n",
		  "metadata.name" },
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a}\nspec: {attribution: regression, zones: [{zone: package}]}\n",
		  "no zone has a regression" },
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a}\nspec: {zones: [{zone: package, source: guessed}]}\n",
		  "spec.zones[0].source: unknown source 'guessed'" },
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a}\nspec: {zones: [{zone: package}]}\n---\nkind: x\n",
		  "more than one YAML document" },
		{ "apiVersion: [\n", "YAML syntax error" },
		{ "", "empty document" },
	};
	(void)state;
	check_refused(cases, sizeof(cases) / sizeof(cases[0]), false);
}

/* Equal keys in any mapping are refused, naming the later one and the first; the old
 * loader took the last and leaked what the first had allocated (ASan build). */
static void test_duplicate_keys(void **state)
{
	static const struct bad_case cases[] = {
		/* a second zones: under one spec (both lists allocated) */
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a}\n"
		  "spec:\n  zones: [{zone: package, regression: {interceptWatts: 1, coefficients: "
		  "[{feature: cpu_time, weight: 2}]}}]\n  zones: [{zone: dram}]\n",
		  "line 6 column 3: zones: duplicate key (first at line 5, column 3)" },
		/* a second coefficients: in one regression */
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a}\n"
		  "spec: {zones: [{zone: package, regression: {interceptWatts: 1, "
		  "coefficients: [{feature: cpu_time, weight: 2}], coefficients: []}}]}\n",
		  "line 4 column 112: coefficients: duplicate key (first at line 4, column 64)" },
		/* inside a zone item, and in metadata */
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a}\n"
		  "spec: {zones: [{zone: package, zone: dram}]}\n",
		  "line 4 column 32: zone: duplicate key (first at line 4, column 17)" },
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nmetadata: {name: a, name: b}\n"
		  "spec: {zones: [{zone: package}]}\n",
		  "line 3 column 21: name: duplicate key (first at line 3, column 12)" },
		/* the first of several repeats is reported: kind (line 2) before apiVersion */
		{ "apiVersion: wattlet.dev/v1alpha1\nkind: PowerModel\nkind: PowerModel\n"
		  "metadata: {name: a}\nspec: {zones: [{zone: package}]}\napiVersion: x\n",
		  "line 3 column 1: kind: duplicate key (first at line 2, column 1)" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct powermodel m;
		struct wl_err err = { "" };
		int rc = pm_parse_yaml(cases[i].file, strlen(cases[i].file), &m, &err);
		if (rc != -EINVAL || strcmp(err.msg, cases[i].needle) != 0)
			fail_msg("case %zu: rc %d, error '%s', want '%s'", i, rc, err.msg,
				 cases[i].needle);
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 200k levels of flow nesting are refused at level 65 before libyaml's quadratic scan;
 * 64 levels get past the check (and fail on what they are). */
static void test_nesting_depth(void **state)
{
	size_t levels = 200000, pre = strlen("spec: ");
	char *text = malloc(pre + 2 * levels);
	struct powermodel m;
	struct wl_err err = { "" };
	double t0;
	(void)state;

	assert_non_null(text);
	memcpy(text, "spec: ", pre);
	memset(text + pre, '[', levels);
	memset(text + pre + levels, ']', levels);
	t0 = now_s();
	assert_int_equal(pm_parse_yaml(text, pre + 2 * levels, &m, &err), -EINVAL);
	print_message("200000-level flow nesting refused in %.3f ms\n", (now_s() - t0) * 1e3);
	assert_string_equal(err.msg, "line 1 column 70: nested deeper than 64 levels");
	/* top mapping + 63 lists */
	levels = 63;
	memset(text + pre, '[', levels);
	memset(text + pre + levels, ']', levels);
	assert_int_equal(pm_parse_yaml(text, pre + 2 * levels, &m, &err), -EINVAL);
	assert_string_equal(err.msg, "line 1 column 7: spec: expected a mapping");
	free(text);
}

/* The JSON path: values parsed elsewhere go through the same validation. */
static void test_from_spec(void **state)
{
	struct pm_coef_in coef[2] = { { "cpu_time", 12.0, true }, { "cache_misses", 0.01, true } };
	struct pm_zone_in zone = { .zone = "dram", .source = "estimated", .has_regression = true,
				   .has_intercept = true, .intercept_watts = 3, .coef = coef, .n_coef = 2 };
	struct pm_spec_in spec = { .name = "from-json", .zones = &zone, .n_zones = 1 };
	struct powermodel m;
	struct wl_err err = { "" };
	(void)state;
	assert_int_equal(pm_from_spec(&spec, &m, &err), 0);
	assert_true(m.zone[ZONE_DRAM].estimated);
	assert_true(m.zone[ZONE_DRAM].weight[FEAT_CACHE_MISSES] == 0.01);

	coef[1].weight = -0.5;
	assert_int_equal(pm_from_spec(&spec, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "spec.zones[0].regression.coefficients[1].weight: -0.5 is negative"));
	coef[1].weight = NAN;
	assert_int_equal(pm_from_spec(&spec, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "coefficients[1].weight: NaN"));
	coef[1].weight = 0.01;
	coef[1].feature = "cycles";
	coef[0].feature = "cycles";
	assert_int_equal(pm_from_spec(&spec, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "coefficients[1].feature: 'cycles' is listed twice"));
	coef[0].feature = "cpu_time";
	zone.has_intercept = false;
	assert_int_equal(pm_from_spec(&spec, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "interceptWatts: missing"));
	zone.has_intercept = true;
	zone.n_coef = 0;
	assert_int_equal(pm_from_spec(&spec, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "coefficients: 0 items"));
	spec.name = NULL;
	assert_int_equal(pm_from_spec(&spec, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "metadata.name: missing"));
}

static void test_estimate(void **state)
{
	struct powermodel m;
	struct wl_err err = { "" };
	struct usage_entry e[2] = { { .id = 1, .path = "/" }, { .id = 2, .path = "/a" } };
	struct usage_sample us = { .entries = e, .n = 2, .dt_ns = 1000000000 };
	struct meter_delta md = { .dt_ns = 2000000000, .error_mask = 1u << ZONE_PACKAGE };
	(void)state;
	assert_int_equal(load("estimated.yaml", &m, &err), 0);
	e[1].delta[FEAT_CPU_TIME] = 500000000; /* 0.5 cores */
	us.node_delta[FEAT_CPU_TIME] = 800000000; /* /proc/stat: 0.8 cores busy node-wide */
	e[1].delta[FEAT_INSTRUCTIONS] = 1000000000;
	us.feature_mask = 3;
	assert_int_equal(pm_estimate(&m, &us, &md), (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM));
	/* package: (10 + 15 x 0.8 + 2.5 x 1.0) W x 2 s */
	assert_int_equal(md.uj[ZONE_PACKAGE], 49000000);
	assert_int_equal(md.uj[ZONE_DRAM], (uint64_t)llround((1.5 + 0.5 * 0.8) * 2e6));
	assert_int_equal(md.zone_mask, (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM));
	assert_int_equal(md.error_mask, 0);
	us.dt_ns = 0;
	assert_int_equal(pm_estimate(&m, &us, &md), 0);
}

/* Regression attribution: shares by predicted dynamic power, conservation exact. */
static void test_attrib_regression(void **state)
{
	struct usage_entry e[3] = { { .id = 1, .path = "/" }, { .id = 2, .path = "/hi" }, { .id = 3, .path = "/lo" } };
	struct usage_sample us = { .entries = e, .n = 3, .dt_ns = 1000000000, .feature_mask = 3 };
	struct meter_delta md = { .dt_ns = 1000000000, .zone_mask = 1u << ZONE_PACKAGE };
	struct attrib_input in = { .energy = &md, .usage = &us, .idle_policy = IDLE_NONE };
	struct attrib_result res;
	struct attrib *a = attrib_new();
	uint64_t sum;
	(void)state;
	assert_non_null(a);
	e[1].delta[FEAT_CPU_TIME] = 1000000000; /* 1 core, 3e9 instr/s */
	e[1].delta[FEAT_INSTRUCTIONS] = 3000000000;
	e[2].delta[FEAT_CPU_TIME] = 1000000000; /* 1 core, 0.5e9 instr/s */
	e[2].delta[FEAT_INSTRUCTIONS] = 500000000;
	us.node_delta[FEAT_CPU_TIME] = 2000000000;
	md.uj[ZONE_PACKAGE] = 40000001;
	in.idle_w[ZONE_PACKAGE] = 10;
	/* ratio by cpu time: equal */
	assert_int_equal(attrib_compute(a, &in, &res), 0);
	assert_int_equal(res.shares[0].uj[ZONE_PACKAGE][MODE_DYNAMIC], res.shares[1].uj[ZONE_PACKAGE][MODE_DYNAMIC]);
	/* regression 5 W/core + 2 W per 1e9 instr/s: hi 11 W, lo 6 W of 17 predicted */
	in.reg_mask = 1u << ZONE_PACKAGE;
	in.reg_w[ZONE_PACKAGE][FEAT_CPU_TIME] = 5;
	in.reg_w[ZONE_PACKAGE][FEAT_INSTRUCTIONS] = 2;
	assert_int_equal(attrib_compute(a, &in, &res), 0);
	uint64_t hi = res.shares[0].uj[ZONE_PACKAGE][MODE_DYNAMIC], lo = res.shares[1].uj[ZONE_PACKAGE][MODE_DYNAMIC];
	assert_true(llabs((long long)hi - (long long)(30000001.0 * 11 / 17)) <= 1);
	assert_true(llabs((long long)lo - (long long)(30000001.0 * 6 / 17)) <= 1);
	sum = hi + lo + res.system_uj[ZONE_PACKAGE][MODE_DYNAMIC];
	assert_int_equal(sum, res.node_uj[ZONE_PACKAGE][MODE_DYNAMIC]);
	assert_int_equal(res.node_uj[ZONE_PACKAGE][MODE_DYNAMIC] + res.node_uj[ZONE_PACKAGE][MODE_IDLE], 40000001);
	/* node uses more than the workloads (kernel): system keeps that part */
	us.node_delta[FEAT_CPU_TIME] = 3000000000;
	assert_int_equal(attrib_compute(a, &in, &res), 0);
	assert_true(res.system_uj[ZONE_PACKAGE][MODE_DYNAMIC] > 30000001 * 4 / 22);
	sum = res.shares[0].uj[ZONE_PACKAGE][MODE_DYNAMIC] + res.shares[1].uj[ZONE_PACKAGE][MODE_DYNAMIC] +
	      res.system_uj[ZONE_PACKAGE][MODE_DYNAMIC];
	assert_int_equal(sum, res.node_uj[ZONE_PACKAGE][MODE_DYNAMIC]);
	/* weights only on a feature that is not measured: falls back to the ratio */
	us.feature_mask = 1;
	in.reg_w[ZONE_PACKAGE][FEAT_CPU_TIME] = 0;
	assert_int_equal(attrib_compute(a, &in, &res), 0);
	assert_int_equal(res.shares[0].uj[ZONE_PACKAGE][MODE_DYNAMIC], res.shares[1].uj[ZONE_PACKAGE][MODE_DYNAMIC]);
	attrib_free(a);
}

static void test_record_roundtrip(void **state)
{
	char path[] = "/tmp/wattlet-rec-XXXXXX";
	struct usage_entry e[3] = { { .id = 1, .path = "/" }, { .id = 2, .path = "/a,b" }, { .id = 3, .path = "/idle" } };
	struct usage_sample us = { .entries = e, .n = 3, .dt_ns = 1000000000, .feature_mask = 1, .t_ns = 5 };
	struct meter_delta md = { .dt_ns = 999000000, .zone_mask = 9, .error_mask = 8 };
	struct wl_err err = { "" };
	struct rec_writer *w;
	struct recording *r;
	int fd = mkstemp(path);
	(void)state;
	assert_true(fd >= 0);
	close(fd);
	e[0].delta[FEAT_CPU_TIME] = 10;
	e[1].delta[FEAT_CPU_TIME] = 20;
	us.node_delta[FEAT_CPU_TIME] = 25; /* less than the cgroups' sum: the sum wins */
	md.uj[ZONE_PACKAGE] = 123456;
	md.uj[ZONE_DRAM] = 7;
	w = rec_open(path, &err);
	assert_non_null(w);
	assert_int_equal(rec_write(w, &md, &us, &err), 0);
	us.t_ns = 6;
	assert_int_equal(rec_write(w, NULL, &us, &err), 0);
	rec_close(w);
	r = rec_load(path, true, &err);
	assert_non_null(r);
	assert_int_equal(r->n_ticks, 2);
	assert_int_equal(r->ticks[0].uj[ZONE_PACKAGE], 123456);
	assert_int_equal(r->ticks[0].zone_mask, 9);
	assert_int_equal(r->ticks[0].bad_mask, 8);
	assert_int_equal(r->ticks[0].node[FEAT_CPU_TIME], 30);
	assert_int_equal(r->ticks[0].dt_ns, 999000000);
	assert_int_equal(r->ticks[0].n_wl, 2); /* "/idle" had no usage */
	assert_string_equal(r->wl[1].path, "/a,b");
	assert_int_equal(r->ticks[1].zone_mask, 0); /* no meter: nothing measured */
	assert_int_equal(r->ticks[1].dt_ns, 1000000000);
	rec_free(r);

	/* garbage */
	FILE *f = fopen(path, "w");
	fputs("#wattlet-record v1\nN,1,2,3\n", f);
	fclose(f);
	assert_null(rec_load(path, false, &err));
	assert_non_null(strstr(err.msg, ":2: N line"));
	f = fopen(path, "w");
	fputs("time,watts\n", f);
	fclose(f);
	assert_null(rec_load(path, false, &err));
	assert_non_null(strstr(err.msg, "not a wattlet recording"));
	unlink(path);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_good_api_example),
	cmocka_unit_test(test_estimated_predict_roundtrip),
	cmocka_unit_test(test_bad_files),
	cmocka_unit_test(test_bad_inline),
	cmocka_unit_test(test_duplicate_keys),
	cmocka_unit_test(test_nesting_depth),
	cmocka_unit_test(test_from_spec),
	cmocka_unit_test(test_estimate),
	cmocka_unit_test(test_attrib_regression),
	cmocka_unit_test(test_record_roundtrip))
