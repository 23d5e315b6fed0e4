/* test_top_group.c - `wattlet top` rows (top_group.h): names a Kubernetes user knows,
 * grouping per pod, namespace and owner whose sums equal the rows', and bad members. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/cli/top_group.h"

/* An /api/v1/workloads "workloads" array: two containers, the sandbox and the pod cgroup
 * of a Deployment's pod, a StatefulSet pod's container, a pod not named yet, a service
 * and system; one member that is not an object. */
static const char *DOC =
	"["
	"{\"workload\":\"/kubepods/pod1/c1\",\"kind\":\"container\",\"pod_uid\":\"u1\","
	" \"namespace\":\"shop\",\"pod\":\"web-1\",\"container\":\"nginx\","
	" \"owner_kind\":\"Deployment\",\"owner_name\":\"web\",\"watts\":10,"
	" \"watts_dynamic\":8,\"watts_idle\":2,\"joules\":100,\"cpu_cores\":1,"
	" \"terminated\":false},"
	"{\"workload\":\"/kubepods/pod1/c2\",\"kind\":\"container\",\"pod_uid\":\"u1\","
	" \"namespace\":\"shop\",\"pod\":\"web-1\",\"container\":\"side\","
	" \"owner_kind\":\"Deployment\",\"owner_name\":\"web\",\"watts\":1,"
	" \"watts_dynamic\":0.5,\"watts_idle\":0.5,\"joules\":10,\"cpu_cores\":0.1,"
	" \"terminated\":true},"
	"{\"workload\":\"/kubepods/pod1\",\"kind\":\"pod\",\"pod_uid\":\"u1\","
	" \"namespace\":\"shop\",\"pod\":\"web-1\",\"container\":\"\","
	" \"owner_kind\":\"Deployment\",\"owner_name\":\"web\",\"watts\":0.25,\"joules\":1},"
	"{\"workload\":\"/kubepods/pod1/sb\",\"kind\":\"container\",\"pod_uid\":\"u1\","
	" \"container_id\":\"0123456789abcdef\",\"namespace\":\"shop\",\"pod\":\"web-1\","
	" \"owner_kind\":\"Deployment\",\"owner_name\":\"web\",\"watts\":0,\"joules\":0.5},"
	"{\"workload\":\"/kubepods/pod2/c1\",\"kind\":\"container\",\"pod_uid\":\"u2\","
	" \"namespace\":\"db\",\"pod\":\"pg-0\",\"container\":\"pg\","
	" \"owner_kind\":\"StatefulSet\",\"owner_name\":\"pg\",\"watts\":20,\"joules\":200},"
	"{\"workload\":\"/kubepods/pod3/c1\",\"kind\":\"container\",\"pod_uid\":\"u3\","
	" \"namespace\":\"\",\"pod\":\"\",\"container\":\"\",\"watts\":3,\"joules\":30},"
	"{\"workload\":\"/system.slice/sshd.service\",\"kind\":\"cgroup\","
	" \"watts\":0.5,\"joules\":5},"
	"{\"workload\":\"system\",\"kind\":\"system\",\"watts\":5,\"joules\":50},"
	"42"
	"]";

static json_t *doc(void)
{
	json_error_t je;
	json_t *d = json_loads(DOC, 0, &je);
	if (!d)
		fail_msg("test document: %s", je.text);
	return d;
}

static const struct top_row *find(const struct top_row *r, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, name) == 0)
			return &r[i];
	fail_msg("no row %s", name);
	return NULL;
}

static void sums_equal(const struct top_row *r, size_t n)
{
	double w = 0, j = 0;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		w += r[i].watts;
		j += r[i].joules;
		m += r[i].members;
		if (i && r[i].watts > r[i - 1].watts)
			fail_msg("not sorted by watts at %s", r[i].name);
	}
	assert_true(fabs(w - 39.75) < 1e-9);
	assert_true(fabs(j - 396.5) < 1e-9);
	assert_int_equal(m, 8);
}

/* The rows of d grouped by g: built, sorted by watts, and summing to the document. */
static void build(const json_t *d, enum top_group g, struct top_row **r, size_t *n)
{
	assert_int_equal(top_rows_build(d, g, r, n), 0);
	sums_equal(*r, *n);
}

static void test_ungrouped_names(void **st)
{
	json_t *d = doc();
	struct top_row *r;
	size_t n;
	const struct top_row *x;
	(void)st;

	build(d, TOP_GROUP_NONE, &r, &n);
	assert_int_equal(n, 8);
	assert_string_equal(r[0].name, "db/pg-0/pg"); /* busiest first */
	x = find(r, n, "shop/web-1/nginx");
	assert_string_equal(x->owner, "Deployment/web");
	assert_string_equal(x->key, "/kubepods/pod1/c1");
	assert_string_equal(x->kind, "container");
	x = find(r, n, "shop/web-1"); /* the pod-level cgroup */
	assert_string_equal(x->kind, "pod");
	assert_string_equal(find(r, n, "shop/web-1/0123456789ab")->kind, "container"); /* sandbox */
	assert_true(find(r, n, "shop/web-1/side")->terminated);
	x = find(r, n, "/kubepods/pod3/c1"); /* not named yet: its cgroup path */
	assert_string_equal(x->owner, "");
	find(r, n, "system");
	top_rows_free(r, n);
	json_decref(d);
}

static void test_grouped(void **st)
{
	json_t *d = doc();
	struct top_row *r;
	size_t n;
	const struct top_row *x;
	(void)st;

	build(d, TOP_GROUP_POD, &r, &n);
	assert_int_equal(n, 4); /* shop/web-1, db/pg-0, pod u3, (not in a pod) */
	x = find(r, n, "shop/web-1");
	assert_int_equal(x->members, 4);
	assert_true(fabs(x->watts - 11.25) < 1e-9);
	assert_true(fabs(x->watts_dynamic - 8.5) < 1e-9);
	assert_true(fabs(x->cpu_cores - 1.1) < 1e-9);
	assert_false(x->terminated); /* one of three terminated */
	assert_int_equal(find(r, n, "pod u3")->members, 1);
	assert_int_equal(find(r, n, TOP_NOT_IN_POD)->members, 2);
	assert_string_equal(x->key, "");
	top_rows_free(r, n);

	build(d, TOP_GROUP_NAMESPACE, &r, &n);
	assert_int_equal(n, 4);
	assert_int_equal(find(r, n, "shop")->members, 4);
	assert_int_equal(find(r, n, "db")->members, 1);
	assert_int_equal(find(r, n, TOP_UNNAMED_PODS)->members, 1);
	top_rows_free(r, n);

	build(d, TOP_GROUP_OWNER, &r, &n);
	assert_int_equal(n, 4);
	assert_int_equal(find(r, n, "shop/Deployment/web")->members, 4);
	assert_int_equal(find(r, n, "db/StatefulSet/pg")->members, 1);
	assert_int_equal(find(r, n, TOP_NO_OWNER)->members, 1);
	assert_true(fabs(find(r, n, TOP_NOT_IN_POD)->watts - 5.5) < 1e-9);
	top_rows_free(r, n);
	json_decref(d);
}

static void test_bad(void **st)
{
	struct top_row *r = (struct top_row *)1;
	size_t n = 9;
	enum top_group g;
	json_t *o = json_object(), *empty = json_array();
	(void)st;

	assert_int_equal(top_rows_build(o, TOP_GROUP_POD, &r, &n), -EINVAL);
	assert_null(r);
	assert_int_equal(n, 0);
	assert_int_equal(top_rows_build(empty, TOP_GROUP_OWNER, &r, &n), 0);
	assert_int_equal(n, 0);
	top_rows_free(r, n);
	json_decref(o);
	json_decref(empty);
	assert_int_equal(top_group_parse("ns", &g), 0);
	assert_int_equal(g, TOP_GROUP_NAMESPACE);
	assert_int_equal(top_group_parse("owner", &g), 0);
	assert_int_equal(g, TOP_GROUP_OWNER);
	assert_int_equal(top_group_parse("deployment", &g), -EINVAL);
	assert_int_equal(top_group_parse(NULL, &g), -EINVAL);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_ungrouped_names),
	cmocka_unit_test(test_grouped),
	cmocka_unit_test(test_bad))
