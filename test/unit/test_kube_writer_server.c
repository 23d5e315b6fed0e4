/* test_kube_writer_server.c - the PodEnergy / NodeEnergy / Event / EnergyPolicy status
 * writer end to end against tls_server.py, which validates every apply against the CRDs'
 * openAPIV3Schema; API errors, an invalid node, a server that is down. The writer's
 * logic with an injected transport is test_kube_writer.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "agent/kube/kube_http.h"
#include "agent/kube/kube_writer.h"
#include "agent/policy/energypolicy.h"
#include "test_kube_server.h"
#include "test/unit/fixture_kube_writer.h"

/* A server test that checks applies against the CRDs' schemas: a fresh server state,
 * or a skip (saying why) when the server could not load crds/. */
#define NEED_SCHEMAS()                                                                     \
	do {                                                                               \
		json_t *sj_;                                                               \
		size_t ns_;                                                                \
		NEED_SERVER();                                                             \
		srv_reset();                                                               \
		sj_ = srv_call("GET", "/__writes", NULL);                                  \
		ns_ = json_array_size(json_object_get(sj_, "schemas"));                    \
		json_decref(sj_);                                                          \
		if (ns_ != 3) {                                                            \
			printf("skipped: the server could not load crds/ (python3-yaml?)\n"); \
			skip();                                                            \
		}                                                                          \
	} while (0)

#define EP_SRV_PATH "/apis/wattlet.dev/v1alpha1/namespaces/shop/energypolicies/e2e"

/* A count from the writer's stats s is want; where not, the writer's last error is
 * printed before the test fails. */
static void assert_count(const struct kube_writer_stats *s, uint64_t got, uint64_t want)
{
	if (got != want)
		fprintf(stderr, "last error: %s\n", s->last_error);
	assert_int_equal(got, want);
}

/* ---- end to end against the TLS server ------------------------------------------------------ */

static void test_server_apply_schema(void **st)
{
	struct kube_config *c;
	struct kube_writer_opts o = { .node_name = "node-1" };
	struct kube_writer *w;
	struct kube_writer_stats s;
	struct kw_pod p = mkpod("shop", "redis-0", "6f3c-uid", 4.2, 1234.5);
	struct kw_pod odd = mkpod("shop", "odd-0", "odd-uid", NAN, -3);
	struct kw_node n = mknode(52.3);
	struct kw_event ev = { "wattlet.dev/v1alpha1", "PowerModel", NULL, "bad-model", NULL,
			       "InvalidModel", "zone gpu: weight out of range", "Warning" };
	json_t *j, *log, *objs, *x;
	size_t i;
	(void)st;
	NEED_SCHEMAS();
	w = fixture_kw_srv_new(&c, &o);
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_offer_pod(w, &odd), 0);
	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	assert_int_equal(kube_writer_event(w, &ev), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 7);
	kube_writer_stats(w, &s);
	assert_count(&s, s.writes_ok, 3);
	assert_int_equal(s.events_sent, 1);
	/* by resource: each new object is two requests (create, status) */
	assert_int_equal(s.pod_writes_ok, 2);
	assert_int_equal(s.pod_requests, 4);
	assert_int_equal(s.node_writes_ok, 1);
	assert_int_equal(s.node_requests, 2);
	assert_int_equal(s.event_requests, 1);
	assert_int_equal(s.pod_writes_failed + s.node_writes_failed, 0);
	assert_int_equal(s.invalid, 0);
	assert_int_equal(s.values_omitted, 4); /* NaN watts x3, joules < 0 */

	j = srv_call("GET", "/__writes", NULL);
	log = json_object_get(j, "log");
	assert_int_equal(json_array_size(log), 7);
	json_array_foreach(log, i, x)
	{
		long st_code = (long)json_integer_value(json_object_get(x, "status"));
		if (st_code != 200 && st_code != 201)
			fprintf(stderr, "%s\n", json_dumps(x, 0));
		assert_true(st_code == 200 || st_code == 201);
	}
	objs = json_object_get(j, "objects");
	x = json_object_get(objs, "shop/podenergies/redis-0");
	assert_non_null(x);
	assert_float_equal(jnum(x, "status.watts"), 4.2, 1e-9);
	assert_string_equal(jpath_str(x, "spec.podUID"), "6f3c-uid");
	x = json_object_get(objs, "/nodeenergies/node-1");
	assert_non_null(x);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(x, "status"), "model"), "name")),
			    "builtin-ratio");
	x = json_array_get(json_object_get(j, "events"), 0);
	assert_string_equal(json_string_value(json_object_get(x, "reason")), "InvalidModel");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(x, "metadata"), "namespace")),
			    "default");
	json_decref(j);
	fixture_kw_srv_free(w, c);
}


/* Two nodes' agents write one EnergyPolicy's status through kube_writer_offer_status:
 * each its own status.nodes[] entry (field manager wattlet-<node>), then the sums
 * (wattlet); the server checks every body against crds/energypolicies and merges the
 * applies per manager like server-side apply. */
static void ep_info_from(json_t *obj, struct policy_set *set, struct policy_entry_info *info)
{
	struct wl_err e = { { 0 } };
	if (policy_set_upsert(set, obj, &e) != 0)
		fail_msg("upsert: %s", e.msg);
	assert_int_equal(policy_set_at(set, 0, info), 0);
}

static void ep_offer(struct kube_writer *w, const char *key, const char *fm, json_t *body)
{
	char *txt;
	assert_non_null(body);
	txt = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	assert_int_equal(kube_writer_offer_status(w, key, EP_SRV_PATH "/status", fm, txt), 0);
	free(txt);
}

static void test_server_energypolicy_status(void **st)
{
	struct kube_config *c;
	struct wl_err e = { { 0 } };
	struct kube_writer *w;
	struct kube_writer_stats s;
	struct policy_set *set = policy_set_new();
	struct policy_entry_info info;
	struct ep_status_in in;
	const uint64_t now = 1795595400ull * S_NS;
	struct ep_node_part n1 = { "node-1", 2, 1000.0, 0.1, now, 0 };
	struct ep_node_part n2 = { "node-2", 1, 500.0, 0.05, now, 0 };
	json_t *j, *obj, *x;
	(void)st;
	NEED_SCHEMAS();
	w = fixture_kw_srv_new(&c, NULL);
	/* the policy (as a user would apply it) */
	assert_int_equal(kube_writer_offer_status(w, "create", EP_SRV_PATH, "kubectl",
		"{\"apiVersion\":\"wattlet.dev/v1alpha1\",\"kind\":\"EnergyPolicy\","
		"\"metadata\":{\"name\":\"e2e\",\"namespace\":\"shop\"},"
		"\"spec\":{\"updateInterval\":\"10s\",\"carbonIntensity\":400}}"), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	obj = json_loads("{\"apiVersion\":\"wattlet.dev/v1alpha1\",\"kind\":\"EnergyPolicy\","
			 "\"metadata\":{\"name\":\"e2e\",\"namespace\":\"shop\",\"uid\":\"u-e2e\","
			 "\"creationTimestamp\":\"2026-11-25T08:00:00Z\",\"generation\":1},"
			 "\"spec\":{\"updateInterval\":\"10s\",\"carbonIntensity\":400}}",
			 0, NULL);
	ep_info_from(obj, set, &info);

	/* node-1: its entry, then the sums (nothing watched from node-2 yet) */
	ep_offer(w, "u-e2e/node", "wattlet-node-1", ep_status_node_build(&info, &n1, &e));
	assert_int_equal(ep_status_sum(&info, "node-1", &n1, now, 100 * S_NS / 1000000, &in), 1);
	ep_offer(w, "u-e2e/sum", "wattlet", ep_status_build(&info, &in, &e));
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	/* node-2, having watched node-1's entry */
	x = srv_call("GET", "/__writes", NULL);
	json_object_set(obj, "status", json_object_get(json_object_get(json_object_get(x, "objects"),
					"shop/energypolicies/e2e"), "status"));
	json_decref(x);
	ep_info_from(obj, set, &info);
	ep_offer(w, "u-e2e/node", "wattlet-node-2", ep_status_node_build(&info, &n2, &e));
	assert_int_equal(ep_status_sum(&info, "node-2", &n2, now, 100 * S_NS / 1000000, &in), 2);
	ep_offer(w, "u-e2e/sum", "wattlet", ep_status_build(&info, &in, &e));
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	kube_writer_stats(w, &s);
	assert_count(&s, s.applies_ok, 5);
	assert_int_equal(s.invalid, 0);

	j = srv_call("GET", "/__writes", NULL);
	x = json_object_get(json_object_get(json_object_get(j, "objects"), "shop/energypolicies/e2e"),
			    "status");
	assert_non_null(x);
	assert_int_equal(json_integer_value(json_object_get(x, "matchedPods")), 3);
	assert_float_equal(jnum(x, "totalJoules"), 1500.0, 1e-9);
	assert_float_equal(jnum(x, "totalCO2eGrams"), 0.15, 1e-12);
	assert_int_equal(json_array_size(json_object_get(x, "nodes")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(x,
			    "nodes"), 0), "node")), "node-1");
	assert_float_equal(jnum(json_array_get(json_object_get(x, "nodes"), 1), "totalJoules"), 500.0,
			   1e-9);
	/* and the spec is untouched by the status applies */
	assert_float_equal(jnum(json_object_get(json_object_get(j, "objects"), "shop/energypolicies/e2e"),
				"spec.carbonIntensity"), 400, 1e-9);
	json_decref(j);

	/* node-1 has no pods of it any more: status {} by its manager removes its entry */
	ep_offer(w, "u-e2e/node", "wattlet-node-1", ep_status_node_build(&info, NULL, &e));
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	j = srv_call("GET", "/__writes", NULL);
	x = json_object_get(json_object_get(json_object_get(j, "objects"), "shop/energypolicies/e2e"),
			    "status");
	assert_int_equal(json_array_size(json_object_get(x, "nodes")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(x,
			    "nodes"), 0), "node")), "node-2");
	assert_non_null(json_object_get(x, "matchedPods")); /* the sums are wattlet's */
	json_decref(j);

	/* a body the CRD rejects (a node entry without its key) is 422 */
	assert_int_equal(kube_writer_offer_status(w, "bad", EP_SRV_PATH "/status", "wattlet-x",
		"{\"apiVersion\":\"wattlet.dev/v1alpha1\",\"kind\":\"EnergyPolicy\","
		"\"metadata\":{\"name\":\"e2e\",\"namespace\":\"shop\"},"
		"\"status\":{\"nodes\":[{\"matchedPods\":1}]}}"), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	kube_writer_stats(w, &s);
	assert_int_equal(s.invalid, 1);
	assert_non_null(strstr(s.last_error, "node"));
	json_decref(obj);
	policy_set_free(set);
	fixture_kw_srv_free(w, c);
}

static void test_server_errors(void **st)
{
	struct kube_config *c;
	struct kube_writer *w;
	struct kube_writer_stats s;
	char longname[300];
	struct kw_pod gone = mkpod("gone", "p", "u-gone", 1, 1);
	struct kw_pod toolong;
	uint64_t next = 0;
	(void)st;
	NEED_SERVER();
	srv_reset();
	memset(longname, 'a', 280);
	longname[280] = '\0';
	toolong = mkpod("shop", longname, "u-long", 1, 1);
	w = fixture_kw_srv_new(&c, NULL);
	assert_int_equal(kube_writer_offer_pod(w, &gone), 0);
	assert_int_equal(kube_writer_offer_pod(w, &toolong), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	kube_writer_stats(w, &s);
	assert_int_equal(s.not_found, 1);
	assert_int_equal(s.invalid, 1);
	assert_int_equal(s.writes_ok, 0);
	assert_int_equal(s.pod_writes_failed, 2);
	assert_int_equal(s.pod_requests, 2);
	assert_int_equal(s.pod_writes_ok + s.node_requests, 0);
	assert_false(s.backing_off);
	assert_true(strstr(s.last_error, "422") || strstr(s.last_error, "404"));

	/* 503: back off, then the write goes through */
	json_decref(srv_call("POST", "/__mode", "{\"fail\": 503, \"count\": 1}"));
	{
		struct kw_pod p = mkpod("shop", "ok-0", "u-ok", 1, 1);
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	}
	assert_int_equal(kube_writer_run_once(w, &next), 1);
	kube_writer_stats(w, &s);
	assert_true(s.backing_off);
	assert_int_equal(s.transport_errors, 1);
	assert_true(next > 0 && next <= 500);
	fixture_kw_srv_free(w, c);
}

/* The API refuses a NodeEnergy status (422 Invalid, a Status body naming the field): the
 * failure is counted by resource and reason with the API's message; a meterless node's
 * status (meter kind "none", as the agent sent it, issue 19) then goes through the
 * schema, and shows the failure in status.writeErrors. */
static void test_server_node_invalid(void **st)
{
	static const struct kw_condition BAD[] = {
		{ "EnergySource", "False", "No Meter!", "apply a PowerModel", 0 },
	};
	static const struct kw_condition GOOD[] = {
		{ "EnergySource", "False", "NoMeter", "apply a PowerModel with estimated zones", 0 },
	};
	static const struct kw_meter NONE[] = { { "none", false, "no energy meter" } };
	struct fclock fc = { 1000 * S_NS };
	struct kube_config *c;
	struct kube_writer_opts o = { .now_ns = fclock_now, .clock_ud = &fc };
	struct kube_writer *w;
	struct kube_writer_stats s;
	struct kw_node n = mknode(0);
	json_t *j, *x;
	(void)st;
	NEED_SCHEMAS();
	w = fixture_kw_srv_new(&c, &o);

	n.conditions = BAD;
	n.n_conditions = 1;
	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 2); /* created, status refused */
	kube_writer_stats(w, &s);
	assert_int_equal(s.node_writes_failed, 1);
	assert_int_equal(s.failures[KW_RES_NODEENERGIES][KW_REASON_INVALID], 1);
	assert_int_equal(s.last_reason, KW_REASON_INVALID);
	assert_int_equal(s.last_resource, KW_RES_NODEENERGIES);
	assert_false(s.backing_off);
	/* the API's own message, naming the field */
	assert_non_null(strstr(s.last_error, "is invalid"));
	assert_non_null(strstr(s.last_error, "reason"));

	/* the meterless status as the agent offers it: goes through the schema */
	n.conditions = GOOD;
	n.meters = NONE;
	n.n_meters = 1;
	n.energy_source = "none";
	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 0); /* not before the interval */
	fc.t += 31 * S_NS;
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	kube_writer_stats(w, &s);
	assert_count(&s, s.node_writes_ok, 1);
	j = srv_call("GET", "/__writes", NULL);
	x = json_object_get(json_object_get(json_object_get(j, "objects"), "/nodeenergies/node-1"),
			    "status");
	assert_non_null(x);
	assert_string_equal(json_string_value(json_object_get(x, "energySource")), "none");
	assert_int_equal(json_array_size(json_object_get(x, "meters")), 0);
	x = json_object_get(x, "writeErrors");
	assert_int_equal(json_integer_value(json_object_get(x, "failedWrites")), 1);
	assert_string_equal(json_string_value(json_object_get(x, "lastReason")), "Invalid");
	assert_non_null(strstr(json_string_value(json_object_get(x, "lastMessage")), "is invalid"));
	json_decref(j);
	fixture_kw_srv_free(w, c);
}

static void test_server_down_and_thread(void **st)
{
	char kc[1024], p[300];
	struct kube_config_opts co = { 0 };
	struct kube_config *c;
	struct kube_writer_opts o = { 0 };
	struct wl_err e = { { 0 } };
	struct kube_writer *w;
	struct kube_writer_stats s;
	struct timespec ts = { 0, 5000000 };
	uint64_t t0, deadline;
	(void)st;
	NEED_SERVER();
	srv_reset();

	/* the thread writes on its own */
	c = tsrv_config(&S, NULL);
	w = kube_writer_new(c, &o, &e);
	assert_non_null(w);
	for (int i = 0; i < 3; i++) {
		char name[16];
		struct kw_pod pp;
		snprintf(name, sizeof(name), "t-%d", i);
		pp = mkpod("shop", name, name, 1, 1);
		assert_int_equal(kube_writer_offer_pod(w, &pp), 0);
	}
	deadline = mono_ns() + 10 * S_NS;
	do {
		kube_writer_stats(w, &s);
		if (s.writes_ok == 3)
			break;
		nanosleep(&ts, NULL); /* polling a condition, bounded by the deadline */
	} while (mono_ns() < deadline);
	assert_int_equal(s.writes_ok, 3);
	t0 = mono_ns();
	kube_writer_free(w);
	assert_true(mono_ns() - t0 < 500000000ull);
	kube_config_free(c);

	/* API down (connection refused): backs off, stops promptly */
	snprintf(kc, sizeof(kc),
		 "apiVersion: v1\nkind: Config\ncurrent-context: down\n"
		 "clusters:\n- name: down\n  cluster:\n    server: https://127.0.0.1:1\n"
		 "    certificate-authority: ca.crt\n"
		 "contexts:\n- name: down\n  context: {cluster: down, user: u}\n"
		 "users:\n- name: u\n  user:\n    token: t0k3n\n");
	assert_int_equal(tsrv_write(S.dir, "kubeconfig-down", kc), 0);
	snprintf(p, sizeof(p), "%s/kubeconfig-down", S.dir);
	c = kube_config_from_file(p, &co, &e);
	assert_non_null(c);
	o.backoff_base_ms = 60000;
	o.backoff_max_ms = 60000;
	w = kube_writer_new(c, &o, &e);
	assert_non_null(w);
	{
		struct kw_pod pp = mkpod("shop", "d-0", "d-0", 1, 1);
		assert_int_equal(kube_writer_offer_pod(w, &pp), 0);
	}
	deadline = mono_ns() + 10 * S_NS;
	do {
		kube_writer_stats(w, &s);
		if (s.backing_off)
			break;
		nanosleep(&ts, NULL);
	} while (mono_ns() < deadline);
	assert_true(s.backing_off);
	assert_int_equal(s.transport_errors, 1);
	assert_true(s.last_error[0] != '\0');
	t0 = mono_ns();
	kube_writer_free(w); /* in a 30-60 s backoff: must not wait for it */
	assert_true(mono_ns() - t0 < 500000000ull);
	kube_config_free(c);
}

int main(void)
{
	const struct CMUnitTest server[] = {
		cmocka_unit_test(test_server_apply_schema),
		cmocka_unit_test(test_server_energypolicy_status),
		cmocka_unit_test(test_server_errors),
		cmocka_unit_test(test_server_node_invalid),
		cmocka_unit_test(test_server_down_and_thread),
	};
	return cmocka_run_group_tests_name("kube_writer_server", server, tsrv_group_setup, tsrv_group_teardown);
}
