/* test_kube_owner.c - a pod's owner (kube_owner.h) from both pod sources: the kubelet's
 * PodList (kube_pods_load_list) and single watch objects (kube_pods_upsert), with bad
 * ownerReferences giving no owner, never a crash or a wrong one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/kube/kube_owner.h"
#include "agent/kube/kube_pods.h"
#include "test/unit/fixture.h"

/* pods_owners.json: pod name -> expected owner ("" "" = none) */
static const struct {
	const char *pod, *kind, *name;
} WANT[] = {
	{ "web-7d9f8b6c5d-x2k4p", "Deployment", "web" },
	{ "legacy-rs-abcde", "ReplicaSet", "legacy-rs" },    /* no pod-template-hash */
	{ "odd-rs-x", "ReplicaSet", "odd-rs" },		     /* hash not the name's suffix */
	{ "db-0", "StatefulSet", "db" },
	{ "fluent-abcde", "DaemonSet", "fluent" },
	{ "report-28345678-abcde", "Job", "report-28345678" }, /* a CronJob's Job stays Job */
	{ "kube-apiserver-node-1", "Node", "node-1" },	     /* static pod's mirror */
	{ "debug", "Pod", "debug" },			     /* bare pod */
	{ "vm-launcher", "VirtualMachineInstance", "vm1" },  /* other kinds as given */
	{ "adopted", "ConfigMap", "notcontroller" },	     /* none marked: the first */
	{ "second-is-controller", "DaemonSet", "ds" },	     /* the controller, not 1st */
	{ "refs-not-array", "", "" },
	{ "bad-kind", "", "" },
	{ "slash-name", "", "" },
	{ "long-name", "", "" },
	{ "refs-not-objects", "", "" },
	{ "kind-number", "", "" },
	{ "empty-refs", "Pod", "empty-refs" },
	{ "hash-equals-name", "ReplicaSet", "abc" }, /* nothing left before "-<hash>" */
	{ "null-refs", "Pod", "null-refs" },
};
#define NWANT (sizeof(WANT) / sizeof(*WANT))

static void check_table(struct kube_pods *p)
{
	assert_int_equal(kube_pods_count(p), NWANT);
	for (size_t w = 0; w < NWANT; w++) {
		const struct kube_pod_info *pi = NULL;
		for (size_t i = 0; i < kube_pods_count(p) && !pi; i++)
			if (strcmp(kube_pods_at(p, i)->name, WANT[w].pod) == 0)
				pi = kube_pods_at(p, i);
		if (!pi)
			fail_msg("pod %s missing", WANT[w].pod);
		if (strcmp(pi->owner_kind, WANT[w].kind) || strcmp(pi->owner_name, WANT[w].name))
			fail_msg("%s: owner %s/%s, want %s/%s", WANT[w].pod, pi->owner_kind,
				 pi->owner_name, WANT[w].kind, WANT[w].name);
	}
}

static void test_kubelet_list(void **st)
{
	struct wl_err e = { { 0 } };
	size_t len;
	char *buf = fixture_slurp("kube", "pods_owners.json", 1 << 20, &len);
	struct kube_pods *p = kube_pods_new();
	const struct kube_container_info *c;
	(void)st;

	assert_non_null(p);
	assert_int_equal(kube_pods_load_list(p, buf, len, &e), 0);
	check_table(p);
	/* a container finds its pod's owner */
	c = kube_pods_find(p, "containerd://000000000000000000000000000000000000000000000000"
			      "0000000000000001");
	assert_non_null(c);
	assert_string_equal(c->pod->owner_kind, "Deployment");
	free(buf);
	kube_pods_free(p);
}

/* The API server watch path: the same objects one by one (events), then a pod whose
 * ownerReferences change (orphaned, adopted) is re-derived on upsert. */
static void test_watch_upsert(void **st)
{
	struct wl_err e = { { 0 } };
	json_error_t je;
	size_t len;
	char *buf = fixture_slurp("kube", "pods_owners.json", 1 << 20, &len);
	json_t *doc = json_loadb(buf, len, 0, &je), *it, *pod;
	struct kube_pods *p = kube_pods_new();
	size_t i;
	(void)st;

	free(buf);
	assert_non_null(doc);
	assert_non_null(p);
	json_array_foreach(json_object_get(doc, "items"), i, it)
		assert_int_equal(kube_pods_upsert(p, it, &e), 0);
	check_table(p);
	pod = json_deep_copy(json_array_get(json_object_get(doc, "items"), 3)); /* db-0 */
	json_object_del(json_object_get(pod, "metadata"), "ownerReferences");
	assert_int_equal(kube_pods_upsert(p, pod, &e), 0);
	assert_int_equal(kube_pods_count(p), NWANT);
	for (i = 0; i < kube_pods_count(p); i++)
		if (strcmp(kube_pods_at(p, i)->name, "db-0") == 0) {
			assert_string_equal(kube_pods_at(p, i)->owner_kind, "Pod");
			assert_string_equal(kube_pods_at(p, i)->owner_name, "db-0");
		}
	json_decref(pod);
	json_decref(doc);
	kube_pods_free(p);
}

static void test_direct(void **st)
{
	static const char *const bad_names[] = { "", ".", "..", "a%2fb", "a\nb", "caf\xc3\xa9",
						 NULL };
	static const char *const bad_kinds[] = { "1Set", "Set-x", "" };
	struct kube_owner o;
	json_t *pod;
	(void)st;

	/* not an object, no metadata: no owner, empty strings */
	memset(&o, 'x', sizeof(o));
	assert_int_equal(kube_owner_of(NULL, &o), -ENOENT);
	assert_string_equal(o.kind, "");
	assert_string_equal(o.name, "");
	pod = json_pack("{s:s}", "metadata", "x");
	assert_int_equal(kube_owner_of(pod, &o), -ENOENT);
	json_decref(pod);
	/* a bare pod without a name: nothing to call it */
	pod = json_pack("{s:{}}", "metadata");
	assert_int_equal(kube_owner_of(pod, &o), -ENOENT);
	json_decref(pod);
	/* the longest valid name and kind fit; one more does not */
	{
		char name[260], kind[70];
		memset(name, 'a', 253);
		name[253] = '\0';
		memset(kind, 'K', 63);
		kind[63] = '\0';
		pod = json_pack("{s:{s:s,s:[{s:s,s:s,s:b}]}}", "metadata", "name", "p",
				"ownerReferences", "kind", kind, "name", name, "controller", 1);
		assert_int_equal(kube_owner_of(pod, &o), 0);
		assert_int_equal(strlen(o.name), 253);
		assert_int_equal(strlen(o.kind), 63);
		json_decref(pod);
		kind[63] = 'K';
		kind[64] = '\0';
		pod = json_pack("{s:{s:s,s:[{s:s,s:s,s:b}]}}", "metadata", "name", "p",
				"ownerReferences", "kind", kind, "name", "n", "controller", 1);
		assert_int_equal(kube_owner_of(pod, &o), -ENOENT);
		json_decref(pod);
	}
	/* a Deployment: the ReplicaSet's name without "-<hash>" */
	pod = json_pack("{s:{s:s,s:{s:s},s:[{s:s,s:s,s:b}]}}", "metadata", "name", "p", "labels",
			"pod-template-hash", "5d78c9869d", "ownerReferences", "kind", "ReplicaSet",
			"name", "my-app-5d78c9869d", "controller", 1);
	assert_int_equal(kube_owner_of(pod, &o), 0);
	assert_string_equal(o.kind, "Deployment");
	assert_string_equal(o.name, "my-app");
	json_decref(pod);
	/* names: path segment rules */
	assert_true(kube_owner_name_ok("web-1.a_b:c"));
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		if (kube_owner_name_ok(bad_names[i]))
			fail_msg("name '%s' accepted", bad_names[i] ? bad_names[i] : "(NULL)");
	assert_true(kube_owner_kind_ok("StatefulSet"));
	for (size_t i = 0; i < sizeof(bad_kinds) / sizeof(bad_kinds[0]); i++)
		if (kube_owner_kind_ok(bad_kinds[i]))
			fail_msg("kind '%s' accepted", bad_kinds[i]);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_kubelet_list),
	cmocka_unit_test(test_watch_upsert),
	cmocka_unit_test(test_direct))
