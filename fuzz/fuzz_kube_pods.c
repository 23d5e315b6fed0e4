/* fuzz_kube_pods.c - the kubelet's GET /pods PodList (kube_pods_load_list), then the
 * same items through the watch path (begin_sync, upsert, end_sync). Properties: every pod
 * in the table is found again by its uid; its owner is valid or absent, never half. */
#include "fuzz_common.h"

#include <jansson.h>

#include "agent/kube/kube_owner.h"
#include "agent/kube/kube_pods.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_table(struct kube_pods *p)
{
	for (size_t i = 0; i < kube_pods_count(p); i++) {
		const struct kube_pod_info *pi = kube_pods_at(p, i);
		FZ_CHECK(pi && pi->uid && pi->ns && pi->name, "pod %zu incomplete", i);
		FZ_CHECK(kube_pods_find_pod(p, pi->uid) != NULL, "pod uid '%s' not found", pi->uid);
		/* an owner is both valid strings or both empty (kube_owner.h) */
		FZ_CHECK(pi->owner_kind && pi->owner_name, "pod %zu: owner strings NULL", i);
		FZ_CHECK(!pi->owner_kind[0] == !pi->owner_name[0], "pod %zu: half an owner", i);
		FZ_CHECK(!pi->owner_kind[0] || (kube_owner_kind_ok(pi->owner_kind) &&
						kube_owner_name_ok(pi->owner_name)),
			 "pod %zu: invalid owner %s/%s", i, pi->owner_kind, pi->owner_name);
	}
	(void)kube_pods_find(p, "containerd://0123456789abcdef");
	(void)kube_pods_find(p, "0123456789abcdef");
	(void)kube_pods_containers(p);
	(void)kube_pods_skipped(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_pods *p = kube_pods_new();
	struct wl_err e = { "" };
	json_error_t jerr;
	json_t *doc, *items;

	if (!p)
		abort();
	(void)kube_pods_load_list(p, (const char *)data, size, &e);
	check_table(p);
	doc = json_loadb((const char *)data, size, 0, &jerr);
	items = json_object_get(doc, "items");
	if (json_is_array(items)) {
		size_t i;
		json_t *it;
		kube_pods_begin_sync(p);
		json_array_foreach (items, i, it)
			(void)kube_pods_upsert(p, it, &e);
		kube_pods_end_sync(p);
		check_table(p);
		json_array_foreach (items, i, it)
			(void)kube_pods_remove(p, it);
		check_table(p);
	}
	json_decref(doc);
	kube_pods_free(p);
	return 0;
}
