/* test_kube_selector.c - metav1.LabelSelector parsing and matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <string.h>

#include "agent/kube/kube_selector.h"

static json_t *J(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &je);
	if (!j)
		fail_msg("bad test JSON %s: %s", s, je.text);
	return j;
}

static bool match(const char *sel, const char *labels)
{
	struct wl_err e = { { 0 } };
	json_t *js = sel ? J(sel) : NULL, *jl = labels ? J(labels) : NULL;
	struct kube_selector *s = kube_selector_parse(js, &e);
	bool m;
	if (!s)
		fail_msg("selector %s rejected: %s", sel, e.msg);
	m = kube_selector_matches(s, jl);
	kube_selector_free(s);
	json_decref(js);
	json_decref(jl);
	return m;
}

static const char *NODE = "{\"kubernetes.io/hostname\":\"node-1\",\"node.kubernetes.io/instance-type\":"
			  "\"m7i.metal\",\"topology.kubernetes.io/zone\":\"eu-west-1a\",\"gpu\":\"\"}";

static void test_empty_and_absent(void **st)
{
	(void)st;
	assert_true(match("{}", NODE));
	assert_true(match(NULL, NODE));
	assert_true(match("null", NULL));
	assert_true(match("{\"matchLabels\":{},\"matchExpressions\":[]}", "{}"));
}

static void test_match_labels(void **st)
{
	(void)st;
	assert_true(match("{\"matchLabels\":{\"node.kubernetes.io/instance-type\":\"m7i.metal\"}}", NODE));
	assert_false(match("{\"matchLabels\":{\"node.kubernetes.io/instance-type\":\"m7i.large\"}}", NODE));
	assert_false(match("{\"matchLabels\":{\"missing\":\"x\"}}", NODE));
	/* AND of all terms */
	assert_false(match("{\"matchLabels\":{\"kubernetes.io/hostname\":\"node-1\",\"gpu\":\"yes\"}}", NODE));
	assert_true(match("{\"matchLabels\":{\"gpu\":\"\"}}", NODE));
	assert_false(match("{\"matchLabels\":{\"a\":\"b\"}}", NULL));
}

static void test_expressions(void **st)
{
	(void)st;
	assert_true(match("{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"In\",\"values\":[\"eu-west-1b\",\"eu-west-1a\"]}]}", NODE));
	assert_false(match("{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"In\",\"values\":[\"us-east-1a\"]}]}", NODE));
	assert_false(match("{\"matchExpressions\":[{\"key\":\"nokey\",\"operator\":\"In\",\"values\":[\"x\"]}]}", NODE));
	assert_true(match("{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"NotIn\",\"values\":[\"us-east-1a\"]}]}", NODE));
	assert_false(match("{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"NotIn\",\"values\":[\"eu-west-1a\"]}]}", NODE));
	/* NotIn matches when the key is absent (Kubernetes semantics) */
	assert_true(match("{\"matchExpressions\":[{\"key\":\"nokey\",\"operator\":\"NotIn\",\"values\":[\"x\"]}]}", NODE));
	assert_true(match("{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", NODE));
	assert_false(match("{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}", NODE));
	assert_true(match("{\"matchExpressions\":[{\"key\":\"nokey\",\"operator\":\"DoesNotExist\",\"values\":[]}]}", NODE));
	assert_false(match("{\"matchExpressions\":[{\"key\":\"nokey\",\"operator\":\"Exists\"}]}", NODE));
	/* labels and expressions combined */
	assert_true(match("{\"matchLabels\":{\"kubernetes.io/hostname\":\"node-1\"},\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", NODE));
	assert_false(match("{\"matchLabels\":{\"kubernetes.io/hostname\":\"node-2\"},\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", NODE));
}

static void test_terms(void **st)
{
	json_t *j = J("{\"matchLabels\":{\"a\":\"1\",\"b\":\"2\"},\"matchExpressions\":[{\"key\":\"c\",\"operator\":\"Exists\"}]}");
	struct kube_selector *s = kube_selector_parse(j, NULL);
	(void)st;
	assert_non_null(s);
	assert_int_equal(kube_selector_terms(s), 3);
	kube_selector_free(s);
	json_decref(j);
	s = kube_selector_parse(NULL, NULL);
	assert_int_equal(kube_selector_terms(s), 0);
	kube_selector_free(s);
	kube_selector_free(NULL);
	assert_false(kube_selector_matches(NULL, NULL));
}

static void reject(const char *sel, const char *want)
{
	struct wl_err e = { { 0 } };
	json_t *j = J(sel);
	struct kube_selector *s = kube_selector_parse(j, &e);
	json_decref(j);
	if (s) {
		kube_selector_free(s);
		fail_msg("accepted: %s", sel);
	}
	if (!strstr(e.msg, want))
		fail_msg("error \"%s\" lacks \"%s\"", e.msg, want);
}

static void test_invalid(void **st)
{
	(void)st;
	reject("[]", "not an object");
	reject("{\"matchLabels\":[]}", "matchLabels is not a map");
	reject("{\"matchLabels\":{\"a\":1}}", "matchLabels[a] is not a string");
	reject("{\"matchExpressions\":{}}", "matchExpressions is not a list");
	reject("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}", "operator must be");
	reject("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}", "needs at least one value");
	reject("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}", "needs at least one value");
	reject("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}", "takes no values");
	reject("{\"matchExpressions\":[{\"operator\":\"Exists\"}]}", "key missing");
	reject("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[1]}]}", "values[0] is not a string");
	reject("{\"matchExpressions\":[{\"key\":\"\",\"operator\":\"Exists\"}]}", "empty key");
	reject("{\"matchExpressions\":[\"a\"]}", "not an object");
}

WL_TEST_MAIN(
	cmocka_unit_test(test_empty_and_absent), cmocka_unit_test(test_match_labels),
	cmocka_unit_test(test_expressions),	 cmocka_unit_test(test_terms),
	cmocka_unit_test(test_invalid))
