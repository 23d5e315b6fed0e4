/* test_kube_selector.c - metav1.LabelSelector parsing and matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <string.h>

#include "agent/kube/kube_selector.h"
#include "test/unit/fixture_refused.h"

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

/* A selector (JSON) and whether it matches NODE's labels. */
struct node_case {
	const char *sel;
	bool matches;
};

static void assert_node_cases(const struct node_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (match(cases[i].sel, NODE) != cases[i].matches)
			fail_msg("selector %s: matches %d, expected %d", cases[i].sel,
				 !cases[i].matches, cases[i].matches);
}

static void test_match_labels(void **st)
{
	static const struct node_case cases[] = {
		{ "{\"matchLabels\":{\"node.kubernetes.io/instance-type\":\"m7i.metal\"}}", true },
		{ "{\"matchLabels\":{\"node.kubernetes.io/instance-type\":\"m7i.large\"}}", false },
		{ "{\"matchLabels\":{\"missing\":\"x\"}}", false },
		/* AND of all terms */
		{ "{\"matchLabels\":{\"kubernetes.io/hostname\":\"node-1\",\"gpu\":\"yes\"}}", false },
		{ "{\"matchLabels\":{\"gpu\":\"\"}}", true },
	};
	(void)st;
	assert_node_cases(cases, sizeof(cases) / sizeof(cases[0]));
	assert_false(match("{\"matchLabels\":{\"a\":\"b\"}}", NULL));
}

static void test_expressions(void **st)
{
	static const struct node_case cases[] = {
		{ "{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"In\",\"values\":[\"eu-west-1b\",\"eu-west-1a\"]}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"In\",\"values\":[\"us-east-1a\"]}]}", false },
		{ "{\"matchExpressions\":[{\"key\":\"nokey\",\"operator\":\"In\",\"values\":[\"x\"]}]}", false },
		{ "{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"NotIn\",\"values\":[\"us-east-1a\"]}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"topology.kubernetes.io/zone\",\"operator\":\"NotIn\",\"values\":[\"eu-west-1a\"]}]}", false },
		/* NotIn matches when the key is absent (Kubernetes semantics) */
		{ "{\"matchExpressions\":[{\"key\":\"nokey\",\"operator\":\"NotIn\",\"values\":[\"x\"]}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}", false },
		{ "{\"matchExpressions\":[{\"key\":\"nokey\",\"operator\":\"DoesNotExist\",\"values\":[]}]}", true },
		{ "{\"matchExpressions\":[{\"key\":\"nokey\",\"operator\":\"Exists\"}]}", false },
		/* labels and expressions combined */
		{ "{\"matchLabels\":{\"kubernetes.io/hostname\":\"node-1\"},\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", true },
		{ "{\"matchLabels\":{\"kubernetes.io/hostname\":\"node-2\"},\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", false },
	};
	(void)st;
	assert_node_cases(cases, sizeof(cases) / sizeof(cases[0]));
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
	bool made = s != NULL;

	json_decref(j);
	kube_selector_free(s);
	assert_refused_with(sel, made, e.msg, want);
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
