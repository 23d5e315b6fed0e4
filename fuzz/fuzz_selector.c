/* fuzz_selector.c - metav1.LabelSelector (kube_selector_parse/matches). The input is a
 * JSON object {"selector": ..., "labels": ...} or a bare selector. Property: an empty
 * selector matches every label set. */
#include "fuzz_common.h"

#include <jansson.h>

#include "agent/kube/kube_selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wl_err e = { "" };
	struct kube_selector *s;
	json_error_t jerr;
	json_t *doc, *sel, *labels;

	doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
	if (!doc)
		return 0;
	sel = json_object_get(doc, "selector");
	if (!sel)
		sel = doc;
	labels = json_object_get(doc, "labels");
	if (!json_is_object(labels))
		labels = NULL; /* the contract: an object or NULL */
	s = kube_selector_parse(sel, &e);
	if (s) {
		bool any = kube_selector_matches(s, labels);
		int terms = kube_selector_terms(s);
		(void)kube_selector_matches(s, NULL);
		FZ_CHECK(terms >= 0, "terms %d", terms);
		if (terms == 0)
			FZ_CHECK(any, "an empty selector did not match");
	}
	kube_selector_free(s);
	json_decref(doc);
	return 0;
}
