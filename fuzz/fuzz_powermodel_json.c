/* fuzz_powermodel_json.c - PowerModel objects as the API server sends them
 * (model_from_json, model_set_upsert/select/remove). Property: a model accepted from
 * JSON is accepted by the YAML path too once rendered (both validate alike). */
#include "fuzz_common.h"

#include <jansson.h>

#include "agent/policy/modelselect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct powermodel m, back;
	struct model_choice ch;
	struct wl_err e = { "" };
	struct model_set *set;
	json_t *obj, *labels;
	json_error_t jerr;

	obj = json_loadb((const char *)data, size, 0, &jerr);
	if (!obj)
		return 0;
	if (model_from_json(obj, &m, &e) == 0) {
		struct strbuf sb;
		strbuf_init(&sb, 1 << 20);
		FZ_CHECK(pm_to_yaml(&m, NULL, &sb) == 0, "pm_to_yaml failed");
		FZ_CHECK(pm_parse_yaml(sb.buf, sb.len, &back, &e) == 0,
			 "model accepted from JSON refused as YAML: %s\n%.*s", e.msg, (int)sb.len,
			 sb.buf);
		FZ_CHECK(memcmp(back.zone, m.zone, sizeof(m.zone)) == 0, "zones differ");
		strbuf_release(&sb);
	}
	set = model_set_new();
	if (!set)
		abort();
	labels = json_pack("{ss}", "kubernetes.io/hostname", "node-1");
	FZ_SET_UPSERT(model, set, obj, &e);
	(void)model_select(set, labels, &ch);
	(void)model_select(set, NULL, &ch);
	for (size_t i = 0; i < model_set_count(set); i++) {
		struct model_entry_info info;
		FZ_CHECK(model_set_at(set, i, &info) == 0, "model_set_at(%zu) failed", i);
	}
	(void)model_set_remove(set, obj);
	model_set_free(set);
	json_decref(labels);
	json_decref(obj);
	return 0;
}
