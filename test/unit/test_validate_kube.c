/* test_validate_kube.c - the Kubernetes workload target (target_kube.c) against the
 * Deployment model of tls_server.py: scale to 0 and wait for the pods to go, scale up
 * one replica at a time keying each new pod "pod:<uid>", liveness by name + uid,
 * teardown restoring the replica count; unknown deployment, a pod on another node,
 * pods that never become Ready, bad names. The target polls every 500 ms by itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <jansson.h>

#include "agent/kube/kube_http.h"
#include "agent/validate/validate.h"
#include "test_kube_server.h"

#define NS "ns1"

/* ---- talking to the test server --------------------------------------------------------- */


/* GET /__deploy; the caller decrefs. */
static json_t *srv_state(void)
{
	return srv_call("GET", "/__deploy", NULL);
}

/* The model of NS/name in state (borrowed), or NULL. */
static json_t *dep_of(json_t *state, const char *name)
{
	char key[128];
	snprintf(key, sizeof(key), "%s/%s", NS, name);
	return json_object_get(json_object_get(state, "deployments"), key);
}

static long replicas_of(const char *name)
{
	json_t *st = srv_state();
	json_t *d = dep_of(st, name);
	long n;
	assert_non_null(d);
	n = (long)json_integer_value(json_object_get(d, "replicas"));
	json_decref(st);
	return n;
}

static size_t npods_of(const char *name)
{
	json_t *st = srv_state();
	json_t *d = dep_of(st, name);
	size_t n;
	assert_non_null(d);
	n = json_array_size(json_object_get(d, "pods"));
	json_decref(st);
	return n;
}

/* Scale PATCHes the server accepted for NS/name; *last: replicas of the last (or -1). */
static int patches_of(const char *name, long *last)
{
	json_t *st = srv_state(), *p;
	size_t i;
	int n = 0;

	*last = -1;
	json_array_foreach(json_object_get(st, "patches"), i, p) {
		if (strcmp(json_string_value(json_object_get(p, "ns")), NS) != 0 ||
		    strcmp(json_string_value(json_object_get(p, "name")), name) != 0)
			continue;
		n++;
		*last = (long)json_integer_value(
			json_object_get(json_object_get(json_object_get(p, "body"), "spec"), "replicas"));
	}
	json_decref(st);
	return n;
}

/* Name of the pod of NS/dname with this uid ("" when none) into out; *lists (may be
 * NULL): how often the server listed it (Ready from the third list on). */
static void pod_name_of(const char *dname, const char *uid, char *out, size_t cap, long *lists)
{
	json_t *st = srv_state(), *p;
	size_t i;

	out[0] = '\0';
	json_array_foreach(json_object_get(dep_of(st, dname), "pods"), i, p) {
		if (strcmp(json_string_value(json_object_get(p, "uid")), uid) != 0)
			continue;
		snprintf(out, cap, "%s", json_string_value(json_object_get(p, "name")));
		if (lists)
			*lists = (long)json_integer_value(json_object_get(p, "lists"));
	}
	json_decref(st);
}

static void kill_pod(const char *pod, bool recreate)
{
	char body[256];
	json_t *j;

	snprintf(body, sizeof(body), "{\"ns\":\"%s\",\"pod\":\"%s\",\"recreate\":%s}", NS, pod,
		 recreate ? "true" : "false");
	j = srv_call("POST", "/__deploy/kill", body);
	assert_non_null(json_object_get(j, "killed"));
	json_decref(j);
}

/* ---- the target ------------------------------------------------------------------------- */

struct ctx {
	struct kube_config *kc;
	struct vtarget t;
};

static void open_target(struct ctx *c, const char *name, const char *node, uint64_t timeout_ms,
			volatile sig_atomic_t *stop)
{
	struct vtarget_kube_opts o = { 0 };
	struct wl_err e = { { 0 } };

	c->kc = tsrv_config(&S, NULL);
	assert_non_null(c->kc);
	o.kc = c->kc;
	o.ns = NS;
	o.name = name;
	o.node = node;
	o.ready_timeout_ms = timeout_ms;
	o.stop = stop;
	if (vtarget_kube_new(&c->t, &o, &e) != 0)
		fail_msg("vtarget_kube_new: %s", e.msg);
	assert_non_null(c->t.ops);
}

static void close_target(struct ctx *c)
{
	vtarget_close(&c->t);
	assert_null(c->t.ops);
	kube_config_free(c->kc);
}

/* A fresh fake API server and a target on deployment name, prepared: the preparation
 * must succeed. */
static void open_prepared(struct ctx *c, const char *name, const char *node, uint64_t timeout_ms,
			  volatile sig_atomic_t *stop)
{
	struct wl_err e = { { 0 } };
	int rc;

	srv_reset();
	open_target(c, name, node, timeout_ms, stop);
	rc = c->t.ops->prepare(c->t.impl, &e);
	if (rc)
		fail_msg("prepare: %d %s", rc, e.msg);
}

static void test_scale_cycle(void **st)
{
	struct ctx c;
	struct wl_err e = { { 0 } };
	char keys[3][128], name[128];
	json_t *list;
	long last, lists = 0;
	int rc, n0;
	(void)st;
	NEED_SERVER();
	open_prepared(&c, "web", "node-1", 10000, NULL);
	assert_int_equal(patches_of("web", &last), 1);
	assert_int_equal(last, 0);
	assert_int_equal(replicas_of("web"), 0);
	assert_int_equal(npods_of("web"), 0);
	list = srv_call("GET", "/api/v1/namespaces/" NS "/pods?labelSelector=app%3Dweb", NULL);
	assert_true(json_is_array(json_object_get(list, "items")));
	assert_int_equal(json_array_size(json_object_get(list, "items")), 0);
	json_decref(list);

	/* out of order: refused before anything is sent */
	assert_int_equal(c.t.ops->scale_up(c.t.impl, 2, keys[0], sizeof(keys[0]), &e), -EINVAL);
	assert_int_equal(patches_of("web", &last), 1);

	for (int step = 1; step <= 3; step++) {
		const char *uid;
		rc = c.t.ops->scale_up(c.t.impl, step, keys[step - 1], sizeof(keys[0]), &e);
		if (rc)
			fail_msg("scale_up(%d): %d %s", step, rc, e.msg);
		assert_int_equal(strncmp(keys[step - 1], "pod:", 4), 0);
		uid = keys[step - 1] + 4;
		assert_true(strlen(uid) > 0);
		/* the server has that pod, and the target saw it Ready before it returned */
		pod_name_of("web", uid, name, sizeof(name), &lists);
		assert_true(name[0] != '\0');
		assert_true(lists >= 3);
		for (int j = 0; j < step - 1; j++)
			assert_string_not_equal(keys[j], keys[step - 1]);
		assert_int_equal(patches_of("web", &last), 1 + step);
		assert_int_equal(last, step);
		assert_int_equal(replicas_of("web"), step);
		assert_int_equal(npods_of("web"), (size_t)step);
	}
	/* the three keys are the three pods now running */
	{
		json_t *s = srv_state(), *p;
		size_t i;
		int seen = 0;
		json_array_foreach(json_object_get(dep_of(s, "web"), "pods"), i, p)
			for (int j = 0; j < 3; j++)
				seen += strcmp(json_string_value(json_object_get(p, "uid")), keys[j] + 4) == 0;
		json_decref(s);
		assert_int_equal(seen, 3);
	}

	assert_false(c.t.ops->alive(c.t.impl, 0));
	assert_false(c.t.ops->alive(c.t.impl, 4));
	for (int step = 1; step <= 3; step++)
		assert_true(c.t.ops->alive(c.t.impl, step));

	/* pod 2 deleted: gone; pod 3 replaced under the same name: another uid */
	pod_name_of("web", keys[1] + 4, name, sizeof(name), NULL);
	kill_pod(name, false);
	assert_false(c.t.ops->alive(c.t.impl, 2));
	pod_name_of("web", keys[2] + 4, name, sizeof(name), NULL);
	kill_pod(name, true);
	pod_name_of("web", keys[2] + 4, name, sizeof(name), NULL);
	assert_string_equal(name, ""); /* the uid is gone, the name lives on */
	assert_false(c.t.ops->alive(c.t.impl, 3));
	assert_true(c.t.ops->alive(c.t.impl, 1));

	/* teardown restores the 2 replicas prepare found, once */
	n0 = patches_of("web", &last);
	c.t.ops->teardown(c.t.impl);
	assert_int_equal(patches_of("web", &last), n0 + 1);
	assert_int_equal(last, 2);
	assert_int_equal(replicas_of("web"), 2);
	c.t.ops->teardown(c.t.impl);
	assert_int_equal(patches_of("web", &last), n0 + 1);
	close_target(&c); /* teardown again inside */
	assert_int_equal(patches_of("web", &last), n0 + 1);
	assert_int_equal(replicas_of("web"), 2);
}

static void test_unknown_deployment(void **st)
{
	struct ctx c;
	struct wl_err e = { { 0 } };
	long last;
	int rc;
	(void)st;
	NEED_SERVER();
	srv_reset();
	open_target(&c, "nosuch", "node-1", 5000, NULL);
	rc = c.t.ops->prepare(c.t.impl, &e);
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(e.msg, NS "/nosuch"));
	assert_non_null(strstr(e.msg, "not found"));
	close_target(&c); /* teardown: nothing to restore, nothing sent */
	assert_int_equal(patches_of("nosuch", &last), 0);
}

static void test_pod_on_other_node(void **st)
{
	struct ctx c;
	struct wl_err e = { { 0 } };
	char key[128];
	long last;
	int rc;
	(void)st;
	NEED_SERVER();
	open_prepared(&c, "far", "node-1", 10000, NULL);
	rc = c.t.ops->scale_up(c.t.impl, 1, key, sizeof(key), &e);
	assert_int_equal(rc, -EXDEV);
	assert_non_null(strstr(e.msg, "other-node"));
	assert_non_null(strstr(e.msg, "node-1"));
	assert_non_null(strstr(e.msg, "far-")); /* the pod's name */
	close_target(&c);
	assert_int_equal(patches_of("far", &last), 3);
	assert_int_equal(last, 2);

	/* without a node to check the same pod is fine: the node was the reason */
	srv_reset();
	open_target(&c, "far", "", 10000, NULL);
	assert_int_equal(c.t.ops->prepare(c.t.impl, &e), 0);
	rc = c.t.ops->scale_up(c.t.impl, 1, key, sizeof(key), &e);
	if (rc)
		fail_msg("scale_up without node: %d %s", rc, e.msg);
	assert_int_equal(strncmp(key, "pod:", 4), 0);
	close_target(&c);
}

static void test_never_ready(void **st)
{
	struct ctx c;
	struct wl_err e = { { 0 } };
	char key[128];
	uint64_t t0, dt;
	long last;
	int rc;
	(void)st;
	NEED_SERVER();
	open_prepared(&c, "stuck", "node-1", 1500, NULL); /* the initial pods go away normally */
	t0 = mono_ns();
	rc = c.t.ops->scale_up(c.t.impl, 1, key, sizeof(key), &e);
	dt = mono_ns() - t0;
	assert_int_equal(rc, -ETIMEDOUT);
	assert_true(dt >= 1500000000ull);
	assert_true(dt < 1500000000ull + 2500000000ull); /* one poll over, plus slack */
	assert_non_null(strstr(e.msg, NS "/stuck"));
	assert_non_null(strstr(e.msg, "1 ready pod(s)"));
	assert_non_null(strstr(e.msg, "pods: 1, ready 0"));
	assert_false(c.t.ops->alive(c.t.impl, 1)); /* never became an instance */
	close_target(&c);
	assert_int_equal(patches_of("stuck", &last), 3);
	assert_int_equal(last, 2);
}

static void test_stop_flag(void **st)
{
	struct ctx c;
	struct wl_err e = { { 0 } };
	volatile sig_atomic_t stop = 0;
	char key[128];
	uint64_t t0;
	(void)st;
	NEED_SERVER();
	open_prepared(&c, "stuck", "node-1", 60000, &stop);
	stop = 1;
	t0 = mono_ns();
	assert_int_equal(c.t.ops->scale_up(c.t.impl, 1, key, sizeof(key), &e), -EINTR);
	assert_true(mono_ns() - t0 < 1000000000ull); /* not the 60 s timeout */
	close_target(&c);
	assert_int_equal(replicas_of("stuck"), 2);
}

static void test_bad_names(void **st)
{
	static const char *const bad[][2] = {
		{ NS, "Web" }, { NS, "" }, { NS, "a/b" }, { NS, NULL }, { "NS1", "web" },
		{ "", "web" }, { NULL, "web" }, { "a/b", "web" }, { NS, "web?x=1" },
		{ NS, ".." }, { NS, "-web" }, { NS, "web-" }, { NS, "a..b" }, { "ns.1", "web" },
	};
	static const struct vtarget_ops poison;
	struct vtarget_kube_opts o = { 0 };
	struct vtarget t;
	struct wl_err e = { { 0 } };
	struct kube_config *kc;
	(void)st;
	NEED_SERVER();
	kc = tsrv_config(&S, NULL);
	assert_non_null(kc);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.kc = kc;
		o.ns = bad[i][0];
		o.name = bad[i][1];
		t.ops = &poison; /* must be cleared */
		e.msg[0] = '\0';
		assert_int_equal(vtarget_kube_new(&t, &o, &e), -EINVAL);
		assert_null(t.ops);
		assert_true(e.msg[0] != '\0');
		vtarget_close(&t); /* NULL-safe */
	}
	o.kc = NULL;
	o.ns = NS;
	o.name = "web";
	assert_int_equal(vtarget_kube_new(&t, &o, &e), -EINVAL);
	assert_int_equal(vtarget_kube_new(NULL, &o, &e), -EINVAL);
	/* and a good one works */
	o.kc = kc;
	assert_int_equal(vtarget_kube_new(&t, &o, &e), 0);
	assert_non_null(t.ops);
	vtarget_close(&t);
	kube_config_free(kc);
}

WL_TEST_MAIN_GROUP(tsrv_group_setup, tsrv_group_teardown,
	cmocka_unit_test(test_bad_names),
	cmocka_unit_test(test_scale_cycle),
	cmocka_unit_test(test_unknown_deployment),
	cmocka_unit_test(test_pod_on_other_node),
	cmocka_unit_test(test_never_ready),
	cmocka_unit_test(test_stop_flag))
