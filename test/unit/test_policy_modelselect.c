/* test_policy_modelselect.c - PowerModel objects from the API (JSON) and the selection
 * of the node's model, with "last good" fallback. Fixtures: test/fixtures/policy/pwm_*. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/policy/modelselect.h"
#include "test/unit/fixture_json.h"
#include "test/unit/fixture_refused.h"

static json_t *load(const char *file)
{
	return fixture_json_file("policy", file);
}

static json_t *J(const char *s)
{
	return fixture_json_text(s);
}

static const char NODE_M7I[] = "{\"kubernetes.io/hostname\":\"node-1\",\"kubernetes.io/os\":\"linux\","
			       "\"node.kubernetes.io/instance-type\":\"m7i.metal\"}";
static const char NODE_M7I_EU[] = "{\"kubernetes.io/hostname\":\"node-2\",\"node.kubernetes.io/"
				  "instance-type\":\"m7i.metal\",\"topology.kubernetes.io/zone\":"
				  "\"eu-west-1a\"}";
static const char NODE_GPU[] = "{\"node.kubernetes.io/instance-type\":\"m7i.metal\",\"topology."
			       "kubernetes.io/zone\":\"eu-west-1a\",\"nvidia.com/gpu.present\":\"true\"}";

static void test_from_json(void **st)
{
	(void)st;
	struct powermodel m;
	struct wl_err e = { { 0 } };
	json_t *o = load("pwm_regression.json");
	if (model_from_json(o, &m, &e))
		fail_msg("%s", e.msg);
	assert_string_equal(m.name, "xeon-8480-eu");
	assert_int_equal(m.priority, 10);
	assert_int_equal(m.attribution, PM_ATTR_REGRESSION);
	assert_true(m.zone[ZONE_PACKAGE].present && m.zone[ZONE_PACKAGE].estimated);
	assert_true(m.zone[ZONE_PACKAGE].intercept_w == 40);
	assert_true(m.zone[ZONE_PACKAGE].weight[FEAT_CPU_TIME] == 14.2);
	assert_true(m.zone[ZONE_PACKAGE].weight[FEAT_INSTRUCTIONS] == 0.8);
	assert_true(m.zone[ZONE_DRAM].present && !m.zone[ZONE_DRAM].estimated);
	assert_true(m.zone[ZONE_DRAM].idle_w == 3);
	assert_true(m.zone[ZONE_DRAM].weight[FEAT_CACHE_MISSES] == 0.05);
	assert_false(m.zone[ZONE_CORE].present);
	assert_true(isnan(m.fit_r2));
	json_decref(o);

	/* annotations from `wattlet model fit` */
	json_t *lst = load("pwm_list.json");
	assert_int_equal(model_from_json(json_array_get(json_object_get(lst, "items"), 1), &m, &e), 0);
	assert_string_equal(m.name, "xeon-8480-ratio");
	assert_true(fabs(m.fit_r2 - 0.987) < 1e-12);
	assert_true(fabs(m.fit_mape - 2.1) < 1e-12);
	assert_int_equal(m.fit_samples, 3600);
	assert_true(m.zone[ZONE_PACKAGE].idle_w == 38.5);
	assert_true(m.zone[ZONE_DRAM].idle_w < 0); /* learned */
	json_decref(lst);
}

/* model_from_json as assert_files_refused wants it: made a model? */
static bool from_json_made(json_t *o, struct wl_err *e)
{
	struct powermodel m;

	return model_from_json(o, &m, e) == 0;
}

static void test_from_json_bad(void **st)
{
	(void)st;
	static const struct refused_file cases[] = {
		{ "pwm_bad_negative_idle.json", "spec.zones[1].idleWatts: -3 is negative" },
		{ "pwm_bad_unknown_zone.json", "spec.zones[0].zone: unknown zone 'socket'" },
		{ "pwm_bad_unknown_feature.json",
		  "spec.zones[0].regression.coefficients[1].feature: unknown feature 'branches'" },
		{ "pwm_bad_weight_string.json", "spec.zones[0].regression.coefficients[0].weight: not a number" },
		{ "pwm_bad_estimated_noreg.json", "spec.zones[0].regression: missing" },
		{ "pwm_bad_dup_zone.json", "spec.zones[1].zone: zone 'package' is listed twice" },
		{ "pwm_bad_priority_high.json", "spec.priority: 1001 is outside 0..1000" },
		{ "pwm_bad_priority_float.json", "spec.priority: not an integer" },
		{ "pwm_bad_absurd_watts.json", "spec.zones[0].regression.interceptWatts: 5e+07 is absurd" },
		{ "pwm_bad_zones_many.json", "spec.zones: 7 items (must be 1..6)" },
		{ "pwm_bad_spec_unknown.json", "spec.zone: unknown field" },
		{ "pwm_bad_selector_op.json", "spec.nodeSelector: " },
		{ "pwm_bad_wrong_api.json", "apiVersion: 'wattlet.dev/v2'" },
	};
	assert_files_refused("policy", cases, sizeof(cases) / sizeof(cases[0]), from_json_made);
	struct powermodel m;
	struct wl_err e = { { 0 } };
	json_t *x = J("{\"metadata\":{\"name\":\"x\"}}");
	assert_int_equal(model_from_json(x, &m, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "spec: missing"));
	assert_int_equal(model_from_json(NULL, &m, &e), -EINVAL);
	json_decref(x);
}

FIXTURE_JSON_LOAD_SET(model_set, "policy", "pwm_list.json")

/* The selection tests get their model set as state: the list fixture's, or an empty one;
 * the tear-down frees it. */
static int list_set_setup(void **state)
{
	*state = load_set();
	return 0;
}

static int empty_set_setup(void **state)
{
	*state = model_set_new();
	return *state ? 0 : -1;
}

static int set_teardown(void **state)
{
	model_set_free(*state);
	return 0;
}

static const char *pick(struct model_set *s, const char *labels, struct model_choice *c)
{
	json_t *l = labels ? J(labels) : NULL;
	assert_int_equal(model_select(s, l, c), 0);
	json_decref(l);
	return c->name;
}

static void test_select_rules(void **st)
{
	struct model_set *s = *st;
	struct model_choice c;
	assert_int_equal(model_set_count(s), 5);
	/* only the selector-less model matches a plain node */
	assert_string_equal(pick(s, "{\"kubernetes.io/hostname\":\"n\"}", &c), "generic");
	assert_true(c.changed);
	assert_false(c.invalid);
	assert_string_equal(pick(s, NULL, &c), "generic");
	assert_false(c.changed);
	/* priority 10 beats 0; xeon-8480-ratio and aaa-m7i tie on priority and terms:
	 * alphabetically first name */
	assert_string_equal(pick(s, NODE_M7I, &c), "aaa-m7i");
	assert_true(c.changed);
	assert_string_equal(c.selected, "aaa-m7i");
	/* same priority, more selector terms */
	assert_string_equal(pick(s, NODE_M7I_EU, &c), "xeon-8480-eu");
	assert_int_equal(c.model->attribution, PM_ATTR_REGRESSION);
	assert_non_null(strstr(c.reason, "priority 10, 2 selector terms"));
	/* highest priority wins over more terms */
	assert_string_equal(pick(s, NODE_GPU, &c), "gpu-nodes");
	assert_true(c.model->zone[ZONE_GPU].idle_w == 60);

	/* all gone: built-in */
	model_set_begin_sync(s);
	model_set_end_sync(s);
	assert_int_equal(model_set_count(s), 0);
	assert_string_equal(pick(s, NODE_GPU, &c), MS_BUILTIN_NAME);
	assert_null(c.model);
	assert_true(c.changed);
	assert_string_equal(c.selected, "");
	assert_non_null(strstr(c.reason, "built-in"));
	assert_int_equal(model_select(NULL, NULL, &c), -EINVAL);
	model_set_free(NULL);
}

/* The winner turns invalid: the last applied valid model stays, with a reason. */
static void test_last_good(void **st)
{
	struct model_set *s = *st;
	struct model_choice c;
	struct wl_err e = { { 0 } };
	struct model_entry_info info;
	assert_string_equal(pick(s, NODE_M7I_EU, &c), "xeon-8480-eu");

	json_t *bad = load("pwm_bad_negative_idle.json"); /* same uid, MODIFIED */
	assert_int_equal(model_set_upsert(s, bad, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "PowerModel xeon-8480-eu: spec.zones[1].idleWatts"));
	assert_int_equal(model_set_count(s), 5);
	assert_string_equal(pick(s, NODE_M7I_EU, &c), "xeon-8480-eu");
	assert_true(c.invalid);
	assert_false(c.changed);
	assert_string_equal(c.selected, "xeon-8480-eu");
	assert_true(c.model->zone[ZONE_DRAM].idle_w == 3); /* the good version */
	assert_non_null(strstr(c.reason, "PowerModel xeon-8480-eu is invalid: spec.zones[1].idleWatts"));
	assert_non_null(strstr(c.reason, "keeping the last good model xeon-8480-eu"));
	bool seen = false;
	for (size_t i = 0; i < model_set_count(s); i++) {
		assert_int_equal(model_set_at(s, i, &info), 0);
		if (!strcmp(info.name, "xeon-8480-eu")) {
			seen = true;
			assert_false(info.valid);
			assert_null(info.model);
			assert_non_null(strstr(info.error, "-3 is negative"));
		}
	}
	assert_true(seen);
	assert_int_equal(model_set_at(s, 99, &info), -ERANGE);

	/* on a node whose last applied model was another, that one is kept */
	assert_string_equal(pick(s, NODE_M7I, &c), "aaa-m7i");
	assert_string_equal(pick(s, NODE_M7I_EU, &c), "aaa-m7i");
	assert_true(c.invalid);

	/* fixed with new values: applied, changed */
	json_t *good = load("pwm_regression.json");
	json_object_set_new(json_array_get(json_object_get(json_object_get(good, "spec"), "zones"), 1),
			    "idleWatts", json_real(4.5));
	assert_int_equal(model_set_upsert(s, good, &e), 0);
	assert_string_equal(pick(s, NODE_M7I_EU, &c), "xeon-8480-eu");
	assert_false(c.invalid);
	assert_true(c.changed);
	assert_true(c.model->zone[ZONE_DRAM].idle_w == 4.5);

	/* an invalid model with an out-of-range priority still competes (clamped to 1000)
	 * and, being invalid, leaves the last good in place */
	json_t *hi = load("pwm_bad_priority_high.json");
	json_object_set_new(json_object_get(hi, "metadata"), "uid", json_string("u-hi"));
	json_object_set_new(json_object_get(hi, "metadata"), "name", json_string("zz-high"));
	assert_int_equal(model_set_upsert(s, hi, &e), -EINVAL);
	assert_string_equal(pick(s, NODE_M7I_EU, &c), "xeon-8480-eu");
	assert_true(c.invalid);
	assert_string_equal(c.selected, "zz-high");
	/* ... and an invalid one whose selector can not be read selects nothing */
	json_t *so = load("pwm_bad_selector_op.json");
	json_object_set_new(json_object_get(so, "metadata"), "uid", json_string("u-so"));
	assert_int_equal(model_set_remove(s, hi), 0);
	assert_int_equal(model_set_remove(s, hi), -ENOENT);
	assert_int_equal(model_set_upsert(s, so, &e), -EINVAL);
	assert_string_equal(pick(s, NODE_M7I_EU, &c), "xeon-8480-eu");
	assert_false(c.invalid);

	json_decref(so);
	json_decref(hi);
	json_decref(good);
	json_decref(bad);
}

/* Nothing valid was ever applied: an invalid winner leaves the built-in model. */
static void test_invalid_without_last_good(void **st)
{
	struct model_set *s = *st;
	struct model_choice c;
	struct wl_err e = { { 0 } };
	json_t *bad = load("pwm_bad_unknown_zone.json");
	assert_int_equal(model_set_upsert(s, bad, &e), -EINVAL);
	assert_string_equal(pick(s, NODE_M7I_EU, &c), MS_BUILTIN_NAME);
	assert_null(c.model);
	assert_true(c.invalid);
	assert_non_null(strstr(c.reason, "keeping the last good model builtin-ratio"));
	/* the built-in counts as applied: a valid model, then none, then an invalid one
	 * falls back to built-in, not to the model that went away */
	json_t *lst = load("pwm_list.json");
	json_t *generic = json_array_get(json_object_get(lst, "items"), 0);
	assert_int_equal(model_set_upsert(s, generic, &e), 0);
	assert_int_equal(model_set_remove(s, bad), 0);
	assert_string_equal(pick(s, "{}", &c), "generic");
	assert_int_equal(model_set_remove(s, generic), 0);
	assert_string_equal(pick(s, "{}", &c), MS_BUILTIN_NAME);
	json_t *bad2 = load("pwm_bad_dup_zone.json");
	json_object_del(json_object_get(bad2, "spec"), "nodeSelector");
	assert_int_equal(model_set_upsert(s, bad2, &e), -EINVAL);
	assert_string_equal(pick(s, "{}", &c), MS_BUILTIN_NAME);
	assert_true(c.invalid);
	/* garbage objects */
	json_t *g = J("{\"metadata\":{}}");
	assert_int_equal(model_set_upsert(s, g, &e), -EINVAL);
	assert_int_equal(model_set_remove(s, g), -EINVAL);
	json_decref(g);
	json_decref(bad2);
	json_decref(lst);
	json_decref(bad);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_from_json),
	cmocka_unit_test(test_from_json_bad),
	cmocka_unit_test_setup_teardown(test_select_rules, list_set_setup, set_teardown),
	cmocka_unit_test_setup_teardown(test_last_good, list_set_setup, set_teardown),
	cmocka_unit_test_setup_teardown(test_invalid_without_last_good, empty_set_setup,
					set_teardown))
