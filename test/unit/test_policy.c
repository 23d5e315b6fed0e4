/* test_policy.c - EnergyPolicy parsing, the policy set and pod selection, budget rings,
 * and the status apply body. Fixtures: test/fixtures/policy/enp_*.json, shaped as the
 * API server returns them (managedFields, last-applied annotation, defaults filled). */
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

#include "agent/policy/energypolicy.h"
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

static void test_parse_full(void **st)
{
	(void)st;
	struct wl_err e = { { 0 } };
	json_t *o = load("enp_redis.json");
	struct energypolicy *p = energypolicy_parse(o, &e);
	if (!p)
		fail_msg("%s", e.msg);
	assert_string_equal(p->ns, "shop");
	assert_string_equal(p->name, "redis");
	assert_string_equal(p->uid, "9d0c5a3e-4f1b-4a53-9c1e-0b1c2d3e4f50");
	assert_string_equal(p->resource_version, "48213");
	assert_string_equal(p->creation_timestamp, "2026-03-01T10:00:00Z");
	assert_int_equal(p->generation, 3);
	assert_int_equal(p->idle_policy, IDLE_REQUEST);
	assert_int_equal(p->update_interval_ms, 90000);
	assert_true(p->has_carbon);
	assert_true(p->carbon_g_per_kwh == 350);
	assert_int_equal(p->n_budgets, 3);
	assert_string_equal(p->budgets[0].name, "daily");
	assert_int_equal(p->budgets[0].window_ms, 24ull * 3600000);
	assert_true(p->budgets[0].max_joules == 3.6e6);
	assert_int_equal(p->budgets[0].action, EP_ACTION_EVENT);
	assert_int_equal(p->budgets[1].window_ms, 5400000); /* 1.5h */
	assert_int_equal(p->budgets[1].action, EP_ACTION_ANNOTATE);
	assert_int_equal(p->budgets[2].action, EP_ACTION_EVENT); /* defaulted */
	/* podSelector app=redis, tier in (cache, db) */
	json_t *l1 = J("{\"app\":\"redis\",\"tier\":\"db\",\"pod-template-hash\":\"7d9f\"}");
	json_t *l2 = J("{\"app\":\"redis\",\"tier\":\"batch\"}");
	assert_true(kube_selector_matches(p->pod_selector, l1));
	assert_false(kube_selector_matches(p->pod_selector, l2));
	assert_false(kube_selector_matches(p->pod_selector, NULL));
	json_decref(l1);
	json_decref(l2);
	energypolicy_free(p);
	energypolicy_free(NULL);
	json_decref(o);
}

static void test_parse_defaults(void **st)
{
	(void)st;
	struct wl_err e = { { 0 } };
	/* as created without the CRD's defaulting (e.g. an older CRD): no spec at all */
	json_t *o = J("{\"metadata\":{\"name\":\"x\",\"namespace\":\"n\",\"uid\":\"u-1\","
		      "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"}}");
	struct energypolicy *p = energypolicy_parse(o, &e);
	if (!p)
		fail_msg("%s", e.msg);
	assert_int_equal(p->idle_policy, IDLE_EVEN);
	assert_int_equal(p->update_interval_ms, 60000);
	assert_false(p->has_carbon);
	assert_int_equal(p->n_budgets, 0);
	assert_true(kube_selector_matches(p->pod_selector, NULL));
	assert_int_equal(p->generation, 0);
	energypolicy_free(p);
	json_decref(o);
}

/* energypolicy_parse as assert_files_refused wants it: made anything? (freed) */
static bool parse_made(json_t *o, struct wl_err *e)
{
	struct energypolicy *p = energypolicy_parse(o, e);
	bool made = p != NULL;

	energypolicy_free(p);
	return made;
}

static void test_parse_bad(void **st)
{
	(void)st;
	static const struct refused_file cases[] = {
		{ "enp_bad_interval_short.json", "spec.updateInterval: 5s is outside 10s..1h" },
		{ "enp_bad_interval_garbage.json", "spec.updateInterval: '1 minute' is not a duration" },
		{ "enp_bad_window_short.json", "spec.budgets[0].window: 30s is outside 1m..720h" },
		{ "enp_bad_window_long.json", "spec.budgets[0].window: 721h is outside" },
		{ "enp_bad_maxjoules_zero.json", "spec.budgets[1].maxJoules: 0 is outside (0, 1e15]" },
		{ "enp_bad_maxjoules_huge.json", "spec.budgets[1].maxJoules: 1e+16 is outside" },
		{ "enp_bad_carbon_high.json", "spec.carbonIntensity: 6000 is outside 0..5000" },
		{ "enp_bad_carbon_negative.json", "spec.carbonIntensity: -1 is outside" },
		{ "enp_bad_carbon_string.json", "spec.carbonIntensity: not a number" },
		{ "enp_bad_idle_unknown.json", "spec.idlePolicy: unknown policy 'fair'" },
		{ "enp_bad_budget_dup.json", "spec.budgets[2].name: 'daily' is listed twice" },
		{ "enp_bad_budget_name.json", "spec.budgets[2].name: 'Burst_1' is not a DNS label" },
		{ "enp_bad_budget_action.json", "spec.budgets[0].action: unknown action 'evict'" },
		{ "enp_bad_budget_missing.json", "spec.budgets[0].maxJoules: missing" },
		{ "enp_bad_budget_unknown.json", "spec.budgets[0].maxWatts: unknown field" },
		{ "enp_bad_budgets_many.json", "spec.budgets: 17 items (at most 16)" },
		{ "enp_bad_spec_unknown.json", "spec.idlePolicyy: unknown field" },
		{ "enp_bad_selector_op.json", "spec.podSelector: " },
		{ "enp_bad_selector_exists_values.json", "spec.podSelector: " },
		{ "enp_bad_no_uid.json", "metadata.uid: missing" },
		{ "enp_bad_no_created.json", "metadata.creationTimestamp: missing" },
		{ "enp_bad_bad_created.json", "'2026-02-30T00:00:00Z' is not an RFC 3339 time" },
		{ "enp_bad_wrong_kind.json", "kind: 'PowerModel' (expected EnergyPolicy)" },
		{ "enp_bad_bad_ns.json", "metadata.namespace: 'Shop_1' is not a DNS label" },
	};
	assert_files_refused("policy", cases, sizeof(cases) / sizeof(cases[0]), parse_made);
	/* not even an object */
	struct wl_err e = { { 0 } };
	json_t *a = J("[1,2]");
	assert_null(energypolicy_parse(a, &e));
	assert_non_null(strstr(e.msg, "not a JSON object"));
	assert_null(energypolicy_parse(NULL, &e));
	json_decref(a);
}

static void test_durations(void **st)
{
	(void)st;
	static const struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
		{ "90s", 90000 }, { "1h30m", 5400000 }, { "1.5h", 5400000 }, { "500ms", 500 },
		{ "0.5s", 500 }, { "720h", 2592000000ull }, { "1m0.25s", 60250 }, { "10s", 10000 },
		{ "1h1h", 7200000 }, { "0.0001s", 0 },
	};
	static const char *const bad[] = { "", "1", "h", "1.h", ".5s", "-1s", "1d", "1s2",
					   "1 s", "1S", "1us", "1e3s" };
	uint64_t ms;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(ep_parse_duration_ms(ok[i].s, &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ep_parse_duration_ms(bad[i], &ms) == 0)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(ep_parse_duration_ms("99999999999999999999h", &ms), -ERANGE);
	assert_int_equal(ep_parse_duration_ms("5124095576030431h", &ms), -ERANGE);
	assert_int_equal(ep_parse_duration_ms(NULL, &ms), -EINVAL);
}

static void test_times(void **st)
{
	(void)st;
	int64_t ms;
	assert_int_equal(ep_parse_time_ms("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(ep_parse_time_ms("2026-11-25T08:30:00Z", &ms), 0);
	assert_int_equal(ms, 1795595400000ll);
	assert_int_equal(ep_parse_time_ms("2026-11-25T10:30:00.250+02:00", &ms), 0);
	assert_int_equal(ms, 1795595400250ll);
	assert_int_equal(ep_parse_time_ms("2024-02-29T00:00:00Z", &ms), 0);
	assert_int_equal(ep_parse_time_ms("2023-02-29T00:00:00Z", &ms), -EINVAL);
	assert_int_equal(ep_parse_time_ms("2026-11-25 08:30:00Z", &ms), -EINVAL);
	assert_int_equal(ep_parse_time_ms("2026-11-25T08:30:00", &ms), -EINVAL);
	assert_int_equal(ep_parse_time_ms("2026-11-25T08:30:00Zjunk", &ms), -EINVAL);
	assert_int_equal(ep_parse_time_ms("2026-13-25T08:30:00Z", &ms), -EINVAL);
}

static const char *for_pod(struct policy_set *s, const char *ns, const char *labels)
{
	json_t *l = labels ? J(labels) : NULL;
	const struct energypolicy *p = policy_for_pod(s, ns, l);
	json_decref(l);
	return p ? p->name : "(none)";
}

FIXTURE_JSON_LOAD_SET(policy_set, "policy", "enp_list.json")

static json_t *list_item(const char *name, const char *ns)
{
	json_t *lst = load("enp_list.json"), *it, *r = NULL;
	size_t i;
	json_array_foreach(json_object_get(lst, "items"), i, it) {
		json_t *md = json_object_get(it, "metadata");
		if (!strcmp(json_string_value(json_object_get(md, "name")), name) &&
		    !strcmp(json_string_value(json_object_get(md, "namespace")), ns))
			r = json_deep_copy(it);
	}
	json_decref(lst);
	assert_non_null(r);
	return r;
}

static void test_selection(void **st)
{
	(void)st;
	struct policy_set *s = load_set();
	assert_int_equal(policy_set_count(s), 5);
	/* default (2026-01-15) is older than redis (2026-03-01): it wins */
	assert_string_equal(for_pod(s, "shop", "{\"app\":\"redis\",\"tier\":\"db\"}"), "default");
	/* legacy and batch: same creationTimestamp, older than default; batch < legacy */
	assert_string_equal(for_pod(s, "shop", "{\"legacy\":\"1\",\"tier\":\"batch\"}"), "batch");
	assert_string_equal(for_pod(s, "shop", "{\"legacy\":\"\"}"), "legacy");
	assert_string_equal(for_pod(s, "shop", NULL), "default");
	assert_string_equal(for_pod(s, "web", "{\"tier\":\"batch\"}"), "default");
	assert_string_equal(for_pod(s, "other", "{}"), "(none)");
	json_t *labels = json_string("not an object");
	assert_string_equal(policy_for_pod(s, "shop", labels)->name, "default");
	json_decref(labels);

	/* DELETED default: redis is next for the redis pod */
	json_t *d = list_item("default", "shop");
	assert_int_equal(policy_set_remove(s, d), 0);
	assert_int_equal(policy_set_remove(s, d), -ENOENT);
	assert_string_equal(for_pod(s, "shop", "{\"app\":\"redis\",\"tier\":\"db\"}"), "redis");
	assert_string_equal(for_pod(s, "shop", "{\"app\":\"redis\"}"), "(none)");
	assert_string_equal(for_pod(s, "web", "{}"), "default");
	json_t *nouid = J("{\"metadata\":{\"name\":\"x\"}}");
	assert_int_equal(policy_set_remove(s, nouid), -EINVAL);
	json_decref(nouid);

	/* relist without batch and legacy: they go */
	policy_set_begin_sync(s);
	json_t *r = list_item("redis", "shop"), *w = list_item("default", "web");
	struct wl_err e = { { 0 } };
	assert_int_equal(policy_set_upsert(s, r, &e), 0);
	assert_int_equal(policy_set_upsert(s, w, &e), 0);
	policy_set_end_sync(s);
	assert_int_equal(policy_set_count(s), 2);
	assert_string_equal(for_pod(s, "shop", "{\"legacy\":\"1\",\"tier\":\"batch\"}"), "(none)");
	json_decref(r);
	json_decref(w);
	json_decref(d);
	policy_set_free(s);
	policy_set_free(NULL);
}

/* An invalid MODIFIED keeps the last valid version in effect, with the error readable;
 * a policy never valid selects nothing but is listed with its error. */
static void test_invalid_update(void **st)
{
	(void)st;
	struct policy_set *s = load_set();
	struct wl_err e = { { 0 } };
	struct policy_entry_info info;
	json_t *bad = load("enp_bad_interval_short.json"); /* same uid as redis */
	json_t *d = list_item("default", "shop");
	assert_int_equal(policy_set_remove(s, d), 0);
	assert_int_equal(policy_set_upsert(s, bad, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "EnergyPolicy shop/redis: spec.updateInterval"));
	json_t *l = J("{\"app\":\"redis\",\"tier\":\"cache\"}");
	const struct energypolicy *p = policy_for_pod(s, "shop", l);
	assert_non_null(p);
	assert_string_equal(p->name, "redis");
	assert_int_equal(p->update_interval_ms, 90000); /* the last good */
	bool found = false;
	for (size_t i = 0; i < policy_set_count(s); i++) {
		assert_int_equal(policy_set_at(s, i, &info), 0);
		if (strcmp(info.name, "redis") == 0) {
			found = true;
			assert_non_null(strstr(info.error, "5s is outside 10s..1h"));
			assert_ptr_equal(info.policy, p);
			assert_int_equal(info.generation, 3);
		} else {
			assert_string_equal(info.error, "");
		}
	}
	assert_true(found);
	assert_int_equal(policy_set_at(s, policy_set_count(s), &info), -ERANGE);

	/* a brand-new invalid one (other uid): listed, selects nothing */
	json_t *nv = load("enp_bad_carbon_high.json");
	json_object_set_new(json_object_get(nv, "metadata"), "uid", json_string("new-uid-1"));
	json_object_set_new(json_object_get(nv, "metadata"), "creationTimestamp",
			    json_string("2000-01-01T00:00:00Z"));
	size_t before = policy_set_count(s);
	assert_int_equal(policy_set_upsert(s, nv, &e), -EINVAL);
	assert_int_equal(policy_set_count(s), before + 1);
	assert_string_equal(policy_for_pod(s, "shop", l)->name, "redis");
	/* without a uid nothing can be kept */
	json_t *nouid = load("enp_bad_no_uid.json");
	assert_int_equal(policy_set_upsert(s, nouid, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "metadata.uid"));
	assert_int_equal(policy_set_count(s), before + 1);

	/* fixing it makes it valid again: error cleared */
	json_t *good = load("enp_redis.json");
	json_object_set_new(json_object_get(good, "spec"), "updateInterval", json_string("2m"));
	assert_int_equal(policy_set_upsert(s, good, &e), 0);
	assert_int_equal(policy_for_pod(s, "shop", l)->update_interval_ms, 120000);
	json_decref(good);
	json_decref(nouid);
	json_decref(nv);
	json_decref(l);
	json_decref(d);
	json_decref(bad);
	policy_set_free(s);
}

/* Ring vs the exact window sum over the full history, with random power. */
static void test_ring_accuracy(void **st)
{
	(void)st;
	enum { N = 3 * 360 + 7 }; /* 3 h of 10 s samples */
	static double cum[N];
	static uint64_t t[N];
	struct ep_ring r;
	double j, maxw = 0, prev_w = 0;
	uint64_t span;
	srand(7);
	assert_int_equal(ep_ring_init(&r, 3600000), 0);
	assert_int_equal(ep_ring_window(&r, &j, &span), -ENODATA);
	for (int i = 0; i < N; i++) {
		double w = (rand() % 2000) / 10.0; /* 0..200 W */
		t[i] = 5000 + (uint64_t)i * 10000 + (uint64_t)(rand() % 3) * 1000;
		cum[i] = i ? cum[i - 1] + prev_w * (double)(t[i] - t[i - 1]) / 1000 : 0;
		prev_w = w;
		if (w > maxw)
			maxw = w;
		assert_int_equal(ep_ring_add(&r, t[i], cum[i]), 0);
		assert_true(r.n <= EP_RING_CAP);
		assert_int_equal(ep_ring_window(&r, &j, &span), 0);
		if (t[i] - t[0] < 3600000) {
			/* young: everything since the first sample, exactly */
			assert_true(fabs(j - cum[i]) < 1e-6);
			assert_int_equal(span, t[i] - t[0]);
			continue;
		}
		assert_int_equal(span, 3600000);
		/* exact: cum at t[i] - window, interpolated between full-history samples */
		uint64_t s0 = t[i] - 3600000;
		int k = 0;
		while (t[k + 1] <= s0)
			k++;
		double base = cum[k] + (cum[k + 1] - cum[k]) * (double)(s0 - t[k]) / (double)(t[k + 1] - t[k]);
		double exact = cum[i] - base;
		/* documented bound: energy of one step (window/60) plus one sample period */
		double bound = maxw * (3600.0 / EP_RING_STEPS + 12);
		if (fabs(j - exact) > bound)
			fail_msg("i=%d ring %.1f exact %.1f bound %.1f", i, j, exact, bound);
	}
	assert_int_equal(r.n, EP_RING_CAP);
	assert_int_equal(r.resets, 0);
}

static void test_ring_constant_and_resets(void **st)
{
	(void)st;
	struct ep_ring r;
	double j;
	uint64_t span;
	assert_int_equal(ep_ring_init(&r, 0), -EINVAL);
	assert_int_equal(ep_ring_init(&r, 60000), 0);
	/* 5 W for 10 min in 1 s samples: the last minute holds 300 J, exactly */
	for (uint64_t s = 0; s <= 600; s++)
		assert_int_equal(ep_ring_add(&r, 1000000 + s * 1000, 5.0 * (double)s), 0);
	assert_int_equal(ep_ring_window(&r, &j, &span), 0);
	assert_true(fabs(j - 300) < 1e-9);
	assert_int_equal(span, 60000);
	/* the counter went back (pod restarted without the ledger): history dropped */
	assert_int_equal(ep_ring_add(&r, 1601000, 10), 0);
	assert_int_equal(r.resets, 1);
	assert_int_equal(ep_ring_window(&r, &j, &span), 0);
	assert_true(j == 0 && span == 0);
	assert_int_equal(ep_ring_add(&r, 1611000, 60), 0);
	assert_int_equal(ep_ring_window(&r, &j, &span), 0);
	assert_true(fabs(j - 50) < 1e-9);
	assert_int_equal(span, 10000);
	/* time went back */
	assert_int_equal(ep_ring_add(&r, 5, 60), 0);
	assert_int_equal(r.resets, 2);
	/* bad values change nothing */
	assert_int_equal(ep_ring_add(&r, 10, NAN), -EINVAL);
	assert_int_equal(ep_ring_add(&r, 10, -1), -EINVAL);
	assert_int_equal(ep_ring_add(&r, 10, INFINITY), -EINVAL);
	assert_int_equal(r.last.t_ms, 5);
	struct ep_ring z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(ep_ring_add(&z, 1, 1), -EINVAL); /* not initialised */
}

static void test_budget_check(void **st)
{
	(void)st;
	struct ep_budget b = { .name = "daily", .window_ms = 86400000, .max_joules = 3.6e6 };
	assert_int_equal(policy_budget_check(&b, 3.6e6), 0);
	assert_int_equal(policy_budget_check(&b, 3600000.5), 1);
	assert_int_equal(policy_budget_check(&b, 0), 0);
	assert_int_equal(policy_budget_check(&b, NAN), -EINVAL);
	assert_int_equal(policy_budget_check(&b, -1), -EINVAL);
	assert_int_equal(policy_budget_check(NULL, 1), -EINVAL);
}

static void test_status(void **st)
{
	(void)st;
	struct policy_set *s = load_set();
	struct policy_entry_info info = { 0 };
	struct wl_err e = { { 0 } };
	size_t i;
	for (i = 0; i < policy_set_count(s); i++) {
		policy_set_at(s, i, &info);
		if (!strcmp(info.name, "redis"))
			break;
	}
	struct ep_status_in in = { .matched_pods = 12, .total_joules = 7.2e6,
				   .now_real_ns = 1795595400ull * 1000000000ull };
	json_t *b = ep_status_build(&info, &in, &e);
	if (!b)
		fail_msg("%s", e.msg);
	assert_string_equal(json_string_value(json_object_get(b, "apiVersion")), "wattlet.dev/v1alpha1");
	assert_string_equal(json_string_value(json_object_get(b, "kind")), "EnergyPolicy");
	json_t *md = json_object_get(b, "metadata"), *sj = json_object_get(b, "status");
	assert_string_equal(json_string_value(json_object_get(md, "name")), "redis");
	assert_string_equal(json_string_value(json_object_get(md, "namespace")), "shop");
	assert_int_equal(json_integer_value(json_object_get(sj, "matchedPods")), 12);
	assert_true(json_number_value(json_object_get(sj, "totalJoules")) == 7.2e6);
	/* 7.2e6 J = 2 kWh x 350 g/kWh = 700 g */
	assert_true(fabs(json_number_value(json_object_get(sj, "totalCO2eGrams")) - 700) < 1e-9);
	/* the same for kubectl get: 3 significant digits and a unit */
	assert_string_equal(json_string_value(json_object_get(json_object_get(sj, "display"),
							      "energy")),
			    "7.20 MJ");
	assert_string_equal(json_string_value(json_object_get(json_object_get(sj, "display"),
							      "co2e")),
			    "700 g");
	assert_string_equal(json_string_value(json_object_get(sj, "lastUpdateTime")),
			    "2026-11-25T08:30:00Z");
	json_t *c = json_array_get(json_object_get(sj, "conditions"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "type")), "Valid");
	assert_string_equal(json_string_value(json_object_get(c, "status")), "True");
	assert_string_equal(json_string_value(json_object_get(c, "lastTransitionTime")),
			    "2026-11-25T08:30:00Z");
	assert_int_equal(json_integer_value(json_object_get(c, "observedGeneration")), 3);
	/* nothing but what a /status apply may carry */
	assert_int_equal(json_object_size(b), 4);
	assert_int_equal(json_object_size(md), 2);
	json_decref(b);

	/* no carbonIntensity: no CO2e; an error gives Valid=False with the message */
	for (i = 0; i < policy_set_count(s); i++) {
		policy_set_at(s, i, &info);
		if (!strcmp(info.name, "default") && !strcmp(info.ns, "shop"))
			break;
	}
	info.error = "spec.updateInterval: 5s is outside 10s..1h";
	in.since_real_ns = 1795590000ull * 1000000000ull;
	b = ep_status_build(&info, &in, &e);
	assert_non_null(b);
	sj = json_object_get(b, "status");
	assert_null(json_object_get(sj, "totalCO2eGrams"));
	assert_null(json_object_get(json_object_get(sj, "display"), "co2e"));
	c = json_array_get(json_object_get(sj, "conditions"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "status")), "False");
	assert_string_equal(json_string_value(json_object_get(c, "reason")), "InvalidSpec");
	assert_string_equal(json_string_value(json_object_get(c, "message")), info.error);
	assert_string_equal(json_string_value(json_object_get(c, "lastTransitionTime")),
			    "2026-11-25T07:00:00Z");
	assert_int_equal(json_integer_value(json_object_get(c, "observedGeneration")), 1);
	json_decref(b);

	in.total_joules = NAN;
	assert_null(ep_status_build(&info, &in, &e));
	assert_non_null(strstr(e.msg, "totalJoules"));
	in.total_joules = -1;
	assert_null(ep_status_build(&info, &in, &e));
	assert_null(ep_status_build(NULL, &in, &e));
	assert_true(fabs(ep_co2e_grams(3.6e6, 350) - 350) < 1e-12);
	policy_set_free(s);
}


/* The multi-node status: the set keeps the watched status, a node's own entry, the sums
 * over the entries (own fresh, others as watched, stale ones left out), and whether the
 * watched status already shows a body. */
static void test_status_nodes(void **st)
{
	(void)st;
	struct policy_set *s = policy_set_new();
	json_t *obj = list_item("redis", "shop"), *b, *sj, *n;
	struct policy_entry_info info = { 0 };
	struct ep_status_in in;
	struct ep_node_part own = { "node-1", 3, 50.0, 0.25, 1795595400ull * 1000000000ull, 0 };
	struct wl_err e = { { 0 } };
	const uint64_t now = 1795595400ull * 1000000000ull; /* 2026-11-25T08:30:00Z */

	/* redis: updateInterval 1m30s, carbonIntensity 350; the status as the API has it */
	json_object_set_new(obj, "status", J("{\"matchedPods\": 4, \"totalJoules\": 1099.0,"
		" \"totalCO2eGrams\": 0.6, \"lastUpdateTime\": \"2026-11-25T08:29:00Z\","
		" \"conditions\": [{\"type\": \"Valid\", \"status\": \"True\", \"reason\": \"Valid\","
		"   \"message\": \"spec is valid\", \"observedGeneration\": 3,"
		"   \"lastTransitionTime\": \"2026-11-20T10:00:00Z\"}],"
		" \"nodes\": ["
		"  {\"node\": \"node-1\", \"matchedPods\": 1, \"totalJoules\": 999.0,"
		"   \"totalCO2eGrams\": 0.1, \"lastUpdateTime\": \"2026-11-25T08:29:00Z\"},"
		"  {\"node\": \"node-2\", \"matchedPods\": 2, \"totalJoules\": 100.0,"
		"   \"totalCO2eGrams\": 0.5, \"lastUpdateTime\": \"2026-11-25T08:29:30Z\"},"
		"  {\"node\": \"node-3\", \"matchedPods\": 7, \"totalJoules\": 7000.0,"
		"   \"totalCO2eGrams\": 9.0, \"lastUpdateTime\": \"2026-11-25T08:14:59Z\"},"
		"  {\"node\": \"node-4\", \"matchedPods\": 5, \"totalJoules\": 5.0}]}"));
	assert_int_equal(policy_set_upsert(s, obj, &e), 0);
	json_decref(obj); /* the set keeps its own reference to the status */
	assert_int_equal(policy_set_at(s, 0, &info), 0);
	assert_non_null(info.status);
	assert_true(ep_status_has_node(&info, "node-2"));
	assert_false(ep_status_has_node(&info, "node-9"));

	/* own entry: only this node's item, under status.nodes */
	b = ep_status_node_build(&info, &own, &e);
	assert_non_null(b);
	sj = json_object_get(b, "status");
	assert_int_equal(json_object_size(sj), 1);
	assert_int_equal(json_array_size(json_object_get(sj, "nodes")), 1);
	n = json_array_get(json_object_get(sj, "nodes"), 0);
	assert_string_equal(json_string_value(json_object_get(n, "node")), "node-1");
	assert_int_equal(json_integer_value(json_object_get(n, "matchedPods")), 3);
	assert_true(json_number_value(json_object_get(n, "totalJoules")) == 50.0);
	assert_true(json_number_value(json_object_get(n, "totalCO2eGrams")) == 0.25);
	assert_string_equal(json_string_value(json_object_get(n, "lastUpdateTime")),
			    "2026-11-25T08:30:00Z");
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "metadata"), "name")),
			    "redis");
	json_decref(b);
	/* no part: status {} (applied by the node's manager, it removes its entry) */
	b = ep_status_node_build(&info, NULL, &e);
	assert_non_null(b);
	assert_int_equal(json_object_size(json_object_get(b, "status")), 0);
	json_decref(b);
	own.total_joules = NAN;
	assert_null(ep_status_node_build(&info, &own, &e));
	own.total_joules = 50.0;

	/* sums: own (3, 50 J, 0.25 g) + node-2 (2, 100 J, 0.5 g); node-1's watched entry is
	 * replaced by own; node-3 is 15:01 old, more than 10 intervals (15:00), and node-4
	 * has no time: both are left out */
	assert_int_equal(ep_status_sum(&info, "node-1", &own, now, 10 * 90000, &in), 2);
	assert_int_equal(in.matched_pods, 5);
	assert_true(fabs(in.total_joules - 150.0) < 1e-9);
	assert_true(in.co2e_given);
	assert_true(fabs(in.total_co2e_grams - 0.75) < 1e-12);
	assert_true(in.now_real_ns == now);
	/* the watched Valid=True condition's time is kept */
	assert_true(in.since_real_ns == 1795168800ull * 1000000000ull);
	b = ep_status_build(&info, &in, &e);
	assert_non_null(b);
	sj = json_object_get(b, "status");
	assert_int_equal(json_integer_value(json_object_get(sj, "matchedPods")), 5);
	assert_true(fabs(json_number_value(json_object_get(sj, "totalCO2eGrams")) - 0.75) < 1e-12);
	assert_null(json_object_get(sj, "nodes")); /* the sums never touch nodes[] */
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(sj,
			    "conditions"), 0), "lastTransitionTime")), "2026-11-20T10:00:00Z");
	/* the watched status shows 4 pods: not current */
	assert_false(ep_status_current(&info, b));
	json_decref(b);

	/* a wider staleness bound takes node-3 in */
	assert_int_equal(ep_status_sum(&info, "node-1", &own, now, 20 * 90000, &in), 3);
	assert_int_equal(in.matched_pods, 12);
	/* without own pods: only node-2 */
	assert_int_equal(ep_status_sum(&info, "node-1", NULL, now, 10 * 90000, &in), 1);
	assert_int_equal(in.matched_pods, 2);
	assert_true(fabs(in.total_joules - 100.0) < 1e-9);

	/* current: a body with exactly what the watched status shows (4 pods, 1099 J) */
	in.matched_pods = 4;
	in.total_joules = 1099.0;
	in.total_co2e_grams = 0.6;
	b = ep_status_build(&info, &in, &e);
	assert_true(ep_status_current(&info, b));
	json_decref(b);
	in.total_joules = 1099.01;
	b = ep_status_build(&info, &in, &e);
	assert_false(ep_status_current(&info, b));
	json_decref(b);
	/* an invalid spec makes the condition differ, and its time is not the old one */
	in.total_joules = 1099.0;
	info.error = "spec.budgets[0].window: 30s is outside 1m..720h";
	b = ep_status_build(&info, &in, &e);
	assert_false(ep_status_current(&info, b));
	json_decref(b);
	assert_int_equal(ep_status_sum(&info, "node-1", NULL, now, 10 * 90000, &in), 1);
	assert_true(in.since_real_ns == 0);

	assert_int_equal(ep_status_sum(NULL, "node-1", NULL, now, 1, &in), -EINVAL);
	policy_set_free(s);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_parse_full),
	cmocka_unit_test(test_parse_defaults),
	cmocka_unit_test(test_parse_bad),
	cmocka_unit_test(test_durations),
	cmocka_unit_test(test_times),
	cmocka_unit_test(test_selection),
	cmocka_unit_test(test_invalid_update),
	cmocka_unit_test(test_ring_accuracy),
	cmocka_unit_test(test_ring_constant_and_resets),
	cmocka_unit_test(test_budget_check),
	cmocka_unit_test(test_status),
	cmocka_unit_test(test_status_nodes))
