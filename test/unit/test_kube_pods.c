/* test_kube_pods.c - PodList (kubelet /pods shape) -> container identity table. */
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

#include "agent/kube/kube_pods.h"
#include "test/unit/fixture.h"

static struct kube_pods *load(const char *name)
{
	struct wl_err e = { { 0 } };
	size_t len;
	char *buf = fixture_slurp("kube", name, 1 << 20, &len);
	struct kube_pods *p = kube_pods_new();
	assert_non_null(p);
	if (kube_pods_load_list(p, buf, len, &e))
		fail_msg("%s: %s", name, e.msg);
	free(buf);
	return p;
}

static void near(double a, double b)
{
	if (fabs(a - b) > 1e-9)
		fail_msg("%.12g != %.12g", a, b);
}

static void test_kubelet_list(void **st)
{
	struct kube_pods *p = load("pods_kubelet.json");
	const struct kube_container_info *c;
	const struct kube_pod_info *pod;
	(void)st;

	assert_int_equal(kube_pods_count(p), 7); /* 8 items, "broken" has no uid */
	assert_int_equal(kube_pods_skipped(p), 1);
	/* coredns + migrate, log-shipper, metrics, web, web(prev), debugger + report + weird */
	assert_int_equal(kube_pods_containers(p), 9);

	c = kube_pods_find(p, fixture_cid("a1"));
	assert_non_null(c);
	assert_string_equal(c->name, "coredns");
	assert_string_equal(c->runtime, "containerd");
	assert_string_equal(c->pod->ns, "kube-system");
	assert_string_equal(c->pod->name, "coredns-5d78c9869d-x7k2p");
	assert_string_equal(c->pod->uid, "0d7f4c3a-1b2e-4f60-9a8b-7c6d5e4f3a21");
	assert_string_equal(c->pod->qos_class, "Burstable");
	assert_string_equal(c->pod->node, "node-1");
	near(c->cpu_request_cores, 0.1);
	assert_false(c->cpu_request_bad);
	assert_int_equal(c->kind, KUBE_CTR_APP);
	assert_false(c->terminated);
	assert_string_equal(json_string_value(json_object_get(c->pod->labels, "k8s-app")), "kube-dns");
	/* with the runtime prefix too */
	{
		char full[128];
		snprintf(full, sizeof(full), "containerd://%s", fixture_cid("a1"));
		assert_ptr_equal(kube_pods_find(p, full), c);
	}

	/* init container, completed */
	c = kube_pods_find(p, fixture_cid("b1"));
	assert_non_null(c);
	assert_string_equal(c->name, "migrate");
	assert_int_equal(c->kind, KUBE_CTR_INIT);
	assert_true(c->terminated);
	near(c->cpu_request_cores, 0.5);
	/* sidecar init container */
	c = kube_pods_find(p, fixture_cid("b2"));
	assert_non_null(c);
	assert_string_equal(c->name, "log-shipper");
	near(c->cpu_request_cores, 0.25);
	/* restarted app container: current and previous instance */
	c = kube_pods_find(p, fixture_cid("c1"));
	assert_non_null(c);
	assert_string_equal(c->name, "web");
	assert_false(c->previous);
	near(c->cpu_request_cores, 1.0);
	c = kube_pods_find(p, fixture_cid("c0"));
	assert_non_null(c);
	assert_string_equal(c->name, "web");
	assert_true(c->previous);
	assert_true(c->terminated);
	c = kube_pods_find(p, fixture_cid("c2"));
	near(c->cpu_request_cores, 0.05);
	/* ephemeral container: no resources */
	c = kube_pods_find(p, fixture_cid("d1"));
	assert_non_null(c);
	assert_int_equal(c->kind, KUBE_CTR_EPHEMERAL);
	assert_string_equal(c->name, "debugger-7xk2q");
	near(c->cpu_request_cores, 0);
	assert_string_equal(c->pod->name, "web-0");
	/* pod request: max(1 + 0.05 + 0.25 sidecar, 0.5 init + 0.25 sidecar) */
	near(c->pod->cpu_request_cores, 1.3);

	/* terminated container of a finished job; "2k" cores parses */
	c = kube_pods_find(p, fixture_cid("e1"));
	assert_non_null(c);
	assert_true(c->terminated);
	near(c->cpu_request_cores, 2000);
	assert_string_equal(c->pod->phase, "Succeeded");

	/* invalid quantity: flagged, not a silent number */
	c = kube_pods_find(p, fixture_cid("f1"));
	assert_non_null(c);
	assert_true(c->cpu_request_bad);
	near(c->cpu_request_cores, 0);

	/* pods without container ids are known by uid */
	pod = kube_pods_find_pod(p, "12345678-aaaa-4bbb-8ccc-ddddeeeeffff");
	assert_non_null(pod);
	assert_string_equal(pod->phase, ""); /* no status at all */
	assert_string_equal(pod->qos_class, "");
	near(pod->cpu_request_cores, 0.25);
	pod = kube_pods_find_pod(p, "7e6d5c4b-3a29-4180-9f7e-6d5c4b3a2918");
	assert_non_null(pod);
	assert_string_equal(pod->qos_class, "Guaranteed");
	near(pod->cpu_request_cores, 2);
	pod = kube_pods_find_pod(p, "aa11bb22-cc33-4d44-8e55-ff6677889900");
	assert_string_equal(pod->phase, "Pending");
	assert_string_equal(pod->qos_class, "BestEffort");

	assert_null(kube_pods_find(p, fixture_cid("ff")));
	assert_null(kube_pods_find(p, ""));
	assert_null(kube_pods_find(p, NULL));
	assert_null(kube_pods_find_pod(p, "nope"));
	kube_pods_free(p);
}

static void test_crio_docker(void **st)
{
	struct kube_pods *p = load("pods_crio_docker.json");
	const struct kube_container_info *c;
	(void)st;
	c = kube_pods_find(p, fixture_cid("9f"));
	assert_non_null(c);
	assert_string_equal(c->runtime, "cri-o");
	assert_string_equal(c->pod->qos_class, "BestEffort");
	c = kube_pods_find(p, fixture_cid("8e"));
	assert_non_null(c);
	assert_string_equal(c->runtime, "docker");
	near(c->cpu_request_cores, 1.5); /* a JSON number */
	kube_pods_free(p);
}

static void test_bad_input_keeps_table(void **st)
{
	static const char *bad[] = { "pods_truncated.json", "pods_garbage.json",
				     "pods_notlist.json" };
	struct kube_pods *p = load("pods_kubelet.json");
	(void)st;
	for (size_t i = 0; i < 3; i++) {
		struct wl_err e = { { 0 } };
		size_t len;
		char *buf = fixture_slurp("kube", bad[i], 1 << 20, &len);
		assert_int_equal(kube_pods_load_list(p, buf, len, &e), -EINVAL);
		assert_true(e.msg[0] != '\0');
		free(buf);
		assert_int_equal(kube_pods_count(p), 7);
		assert_non_null(kube_pods_find(p, fixture_cid("a1")));
	}
	kube_pods_free(p);
}

static json_t *pod_json(const char *uid, const char *name, const char *cid)
{
	json_t *j = json_pack("{s:{s:s,s:s,s:s},s:{s:[{s:s}]},s:{s:[{s:s,s:s}]}}", "metadata",
			      "uid", uid, "name", name, "namespace", "ns", "spec", "containers",
			      "name", "c", "status", "containerStatuses", "name", "c",
			      "containerID", cid);
	assert_non_null(j);
	return j;
}

static void test_upsert_remove_sync(void **st)
{
	struct kube_pods *p = kube_pods_new();
	struct wl_err e = { { 0 } };
	char c1[80], c2[80];
	json_t *a, *b, *a2, *bad;
	(void)st;
	snprintf(c1, sizeof(c1), "containerd://%s", fixture_cid("11"));
	snprintf(c2, sizeof(c2), "containerd://%s", fixture_cid("22"));
	a = pod_json("u-a", "a", c1);
	b = pod_json("u-b", "b", c2);
	a2 = pod_json("u-a", "a", c2);
	assert_int_equal(kube_pods_upsert(p, a, &e), 0);
	assert_int_equal(kube_pods_upsert(p, b, &e), 0);
	assert_int_equal(kube_pods_count(p), 2);
	assert_string_equal(kube_pods_find(p, fixture_cid("11"))->pod->name, "a");
	/* replace by uid */
	kube_pods_begin_sync(p);
	assert_int_equal(kube_pods_upsert(p, a2, &e), 0);
	assert_int_equal(kube_pods_count(p), 2);
	assert_null(kube_pods_find(p, fixture_cid("11")));
	kube_pods_end_sync(p); /* b not seen since begin_sync: gone */
	assert_int_equal(kube_pods_count(p), 1);
	assert_string_equal(kube_pods_find(p, fixture_cid("22"))->pod->name, "a");
	assert_int_equal(kube_pods_remove(p, a), 0);
	assert_int_equal(kube_pods_remove(p, a), -ENOENT);
	assert_int_equal(kube_pods_count(p), 0);
	assert_null(kube_pods_find(p, fixture_cid("22")));
	bad = json_pack("{s:{s:s}}", "metadata", "name", "x");
	assert_int_equal(kube_pods_upsert(p, bad, &e), -EINVAL);
	json_decref(a);
	json_decref(b);
	json_decref(a2);
	json_decref(bad);
	kube_pods_free(p);
	kube_pods_free(NULL);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_kubelet_list),
	cmocka_unit_test(test_crio_docker),
	cmocka_unit_test(test_bad_input_keeps_table),
	cmocka_unit_test(test_upsert_remove_sync))
