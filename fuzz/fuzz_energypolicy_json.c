/* fuzz_energypolicy_json.c - EnergyPolicy objects (energypolicy_parse, the policy set,
 * selection by pod labels); a non-JSON input goes to the duration and time parsers. */
#include "fuzz_common.h"

#include <jansson.h>

#include "agent/policy/energypolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wl_err e = { "" };
	struct energypolicy *p;
	struct policy_set *set;
	json_t *obj, *labels;
	json_error_t jerr;
	const char *ns;

	obj = json_loadb((const char *)data, size, 0, &jerr);
	if (!obj) {
		char *s = fz_cstr(data, size);
		uint64_t ms;
		int64_t t;
		(void)ep_parse_duration_ms(s, &ms);
		(void)ep_parse_time_ms(s, &t);
		free(s);
		return 0;
	}
	p = energypolicy_parse(obj, &e);
	if (p) {
		FZ_CHECK(p->pod_selector != NULL, "pod_selector is NULL");
		FZ_CHECK(p->n_budgets <= EP_MAX_BUDGETS, "n_budgets %zu", p->n_budgets);
	}
	energypolicy_free(p);

	set = policy_set_new();
	if (!set)
		abort();
	FZ_SET_UPSERT(policy, set, obj, &e);
	for (size_t i = 0; i < policy_set_count(set); i++) {
		struct policy_entry_info info;
		FZ_CHECK(policy_set_at(set, i, &info) == 0, "policy_set_at(%zu) failed", i);
	}
	ns = json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
	labels = json_pack("{ss}", "app", "redis");
	(void)policy_for_pod(set, ns ? ns : "default", labels);
	(void)policy_for_pod(set, "default", NULL);
	(void)policy_set_remove(set, obj);
	policy_set_free(set);
	json_decref(labels);
	json_decref(obj);
	return 0;
}
