/* test_kube_kubelet.c - pod identity from the kubelet's /pods (real HTTPS, in-cluster
 * config, cert verified against the cluster CA, on-demand refresh rate limit, the
 * explicit kubelet-only TLS opt-out) and from an API server pod watch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <string.h>

#include "agent/kube/kube_http.h"
#include "agent/kube/kube_kubelet.h"
#include "test/unit/fixture.h"
#include "test_kube_server.h"


static struct kube_config *in_cluster(void)
{
	char sa[300], port[16];
	struct kube_config_opts o = { 0 };
	struct wl_err e = { { 0 } };
	struct kube_config *c;
	snprintf(sa, sizeof(sa), "%s/sa", S.dir);
	snprintf(port, sizeof(port), "%d", S.port);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	o.sa_dir = sa;
	c = kube_config_in_cluster(&o, &e);
	if (!c)
		fail_msg("%s", e.msg);
	return c;
}

/* Services until stats.refreshes reaches n or fails reaches f (20 s safety net). */
static void run_until(struct kube_kubelet *k, uint64_t refreshes, uint64_t failures)
{
	struct kube_kubelet_stats ks;
	uint64_t deadline = mono_ns() + 20000000000ull;
	do {
		assert_int_equal(kube_kubelet_service(k, 50), 0);
		kube_kubelet_stats(k, &ks);
	} while (ks.refreshes < refreshes && ks.failures < failures && mono_ns() < deadline);
	if (ks.refreshes < refreshes && ks.failures < failures)
		fail_msg("timed out; last error: %s", ks.last_error);
}

static int pods_hits(struct kube_config *c)
{
	struct kube_http *h = kube_http_new(c, NULL, NULL);
	struct kube_resp r;
	json_t *log, *it;
	size_t i;
	int n = 0;
	assert_int_equal(kube_http_request(h, "GET", "/__log", NULL, NULL, &r, NULL), 0);
	log = json_loadb(r.body, r.len, 0, NULL);
	json_array_foreach(json_object_get(log, "log"), i, it) {
		if (strcmp(json_string_value(json_object_get(it, "path")), "/pods") == 0) {
			assert_string_equal(json_string_value(json_object_get(it, "auth")),
					    "Bearer sa-token-1");
			n++;
		}
	}
	json_decref(log);
	kube_resp_release(&r);
	kube_http_free(h);
	return n;
}

static void test_kubelet_pods(void **st)
{
	struct kube_config *c;
	struct kube_kubelet *k;
	struct kube_kubelet_opts o = { 0 };
	struct kube_kubelet_stats ks;
	const struct kube_container_info *ci;
	struct wl_err e = { { 0 } };
	int hits0;
	(void)st;
	NEED_SERVER();
	c = in_cluster();
	hits0 = pods_hits(c);
	o.node = "localhost"; /* the name in the server certificate */
	o.kubelet_port = (unsigned)S.port;
	o.min_refresh_ms = 300;
	o.refresh_s = 3600;
	k = kube_kubelet_new(c, &o, &e);
	assert_non_null(k);
	/* nothing yet, and lookups never block */
	assert_null(kube_kubelet_lookup(k, fixture_cid("a1")));
	run_until(k, 1, 1);
	kube_kubelet_stats(k, &ks);
	assert_int_equal(ks.refreshes, 1);
	assert_int_equal(ks.failures, 0);
	assert_true(ks.synced);
	ci = kube_kubelet_lookup(k, fixture_cid("a1"));
	assert_non_null(ci);
	assert_string_equal(ci->pod->name, "coredns-5d78c9869d-x7k2p");
	assert_int_equal(kube_pods_count(kube_kubelet_pods(k)), 7);

	/* an unknown id asks for a refresh; more unknown ids within the rate limit do not
	 * add more */
	{
		assert_null(kube_kubelet_lookup(k, fixture_cid("77")));
		assert_null(kube_kubelet_lookup(k, fixture_cid("78")));
		run_until(k, 2, 1);
		kube_kubelet_stats(k, &ks);
		assert_int_equal(ks.refreshes, 2);
		assert_true(ks.on_demand >= 1 && ks.on_demand <= 2);
		assert_int_equal(kube_kubelet_service(k, 100), 0);
		kube_kubelet_stats(k, &ks);
		assert_int_equal(ks.refreshes, 2); /* no extra requests */
	}
	assert_int_equal(pods_hits(c) - hits0, 2);
	kube_kubelet_free(k);
	kube_config_free(c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_kubelet_tls(void **st)
{
	struct kube_config *c, *wrong;
	struct kube_kubelet *k;
	struct kube_kubelet_opts o = { 0 };
	struct kube_kubelet_stats ks;
	struct wl_err e = { { 0 } };
	(void)st;
	NEED_SERVER();
	c = in_cluster();
	/* node name not in the certificate, connected by address: host check fails */
	o.node = "node-1";
	o.kubelet_addr = "127.0.0.1";
	o.kubelet_port = (unsigned)S.port;
	o.backoff_base_ms = 50;
	k = kube_kubelet_new(c, &o, &e);
	assert_non_null(k);
	run_until(k, 1, 1);
	kube_kubelet_stats(k, &ks);
	assert_int_equal(ks.refreshes, 0);
	assert_false(ks.synced);
	assert_non_null(strstr(ks.last_error, "not trusted"));
	kube_kubelet_free(k);
	/* the name that is in the certificate, connected by address: fine */
	o.node = "localhost";
	k = kube_kubelet_new(c, &o, &e);
	run_until(k, 1, 1);
	kube_kubelet_stats(k, &ks);
	assert_int_equal(ks.refreshes, 1);
	kube_kubelet_free(k);
	/* the explicit, kubelet-only opt-out */
	o.node = "node-1";
	o.kubelet_insecure = true;
	k = kube_kubelet_new(c, &o, &e);
	run_until(k, 1, 1);
	kube_kubelet_stats(k, &ks);
	assert_int_equal(ks.refreshes, 1);
	kube_kubelet_free(k);
	/* a CA that did not sign the kubelet cert */
	wrong = tsrv_config(&S, "wrongca");
	o.node = "localhost";
	o.kubelet_addr = NULL;
	o.kubelet_insecure = false;
	k = kube_kubelet_new(wrong, &o, &e);
	run_until(k, 1, 1);
	kube_kubelet_stats(k, &ks);
	assert_int_equal(ks.refreshes, 0);
	assert_int_equal(kube_pods_count(kube_kubelet_pods(k)), 0);
	kube_kubelet_free(k);
	kube_config_free(wrong);
	/* bad node names are refused */
	o.node = "evil/path?x";
	assert_null(kube_kubelet_new(c, &o, &e));
	kube_config_free(c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void test_apiserver_watch_mode(void **st)
{
	struct kube_config *c;
	struct kube_kubelet *k;
	struct kube_kubelet_opts o = { 0 };
	struct wl_err e = { { 0 } };
	const struct kube_container_info *ci;
	uint64_t deadline;
	(void)st;
	NEED_SERVER();
	c = tsrv_config(&S, NULL);
	o.source = KUBE_PODS_APISERVER;
	o.node = "node-1";
	k = kube_kubelet_new(c, &o, &e);
	assert_non_null(k);
	deadline = mono_ns() + 20000000000ull;
	while (!kube_pods_find(kube_kubelet_pods(k), fixture_cid("ab")) && mono_ns() < deadline)
		assert_int_equal(kube_kubelet_service(k, 50), 0);
	ci = kube_kubelet_lookup(k, fixture_cid("ab"));
	assert_non_null(ci);
	assert_string_equal(ci->pod->name, "web-1");
	assert_string_equal(ci->name, "web");
	assert_null(kube_kubelet_lookup(k, fixture_cid("c1"))); /* web-0 was DELETED */
	assert_non_null(kube_kubelet_lookup(k, fixture_cid("a1")));
	assert_int_equal(kube_pods_count(kube_kubelet_pods(k)), 7);
	kube_kubelet_free(k);
	/* the field selector went to the server */
	{
		struct kube_http *h = kube_http_new(c, NULL, NULL);
		struct kube_resp r;
		assert_int_equal(kube_http_request(h, "GET", "/__log", NULL, NULL, &r, NULL), 0);
		assert_non_null(strstr(r.body, "\"fieldSelector\": \"spec.nodeName=node-1\""));
		kube_resp_release(&r);
		kube_http_free(h);
	}
	kube_config_free(c);
}

WL_TEST_MAIN_GROUP(tsrv_group_setup, tsrv_group_teardown,
	cmocka_unit_test(test_kubelet_pods),
	cmocka_unit_test(test_kubelet_tls),
	cmocka_unit_test(test_apiserver_watch_mode))
