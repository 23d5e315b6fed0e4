/* test_kube_throttle.c - the actuator of the budget action throttle (kube_throttle.h):
 * records, patches, the API path the cluster answers to, the start-up recovery.
 *
 * STAND-IN: the transport is injected and answers as the three kinds of API server do
 * (pods/resize of Kubernetes >= 1.33; 1.27-1.32 with InPlacePodVerticalScaling: no
 * resize subresource, a mutable pod spec; and without the gate: the spec refused with
 * the real 422 message), applying merge / strategic-merge patches to an in-memory pod.
 * The e2e cluster here is 1.30 without the gate, where test/e2e/throttle_test.go runs
 * the real thing; >= 1.33 cannot run on this machine yet (docs/e2e.md). */
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
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "agent/kube/kube_throttle.h"

enum api_kind { API_134, API_130_GATE, API_130 };

struct fake {
	enum api_kind kind;
	bool refuse_limit_removal; /* resize: a limit cannot be removed (422) */
	json_t *pods;		   /* array of Pod objects */
	int requests;
	char log[64][160]; /* "METHOD path" */
};

static json_t *find_pod(struct fake *f, const char *ns, const char *name)
{
	size_t i;
	json_t *p;
	json_array_foreach(f->pods, i, p) {
		const json_t *md = json_object_get(p, "metadata");
		if (strcmp(json_string_value(json_object_get(md, "namespace")), ns) == 0 &&
		    strcmp(json_string_value(json_object_get(md, "name")), name) == 0)
			return p;
	}
	return NULL;
}

/* RFC 7386 merge, plus a strategic-merge of "containers" lists by name. */
static void merge(json_t *t, const json_t *p)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)p, k, v) {
		json_t *cur = json_object_get(t, k);
		if (json_is_null(v)) {
			json_object_del(t, k);
		} else if (strcmp(k, "containers") == 0 && json_is_array(v) && json_is_array(cur)) {
			size_t i, j;
			json_t *pc, *tc;
			json_array_foreach(v, i, pc) {
				json_array_foreach(cur, j, tc) {
					if (json_equal(json_object_get(tc, "name"), json_object_get(pc, "name")))
						merge(tc, pc);
				}
			}
		} else if (json_is_object(v)) {
			if (!json_is_object(cur)) {
				cur = json_object();
				json_object_set_new(t, k, cur);
			}
			merge(cur, v);
			if (json_object_size(cur) == 0)
				json_object_del(t, k); /* the API server omits empty maps */
		} else {
			json_object_set(t, k, v);
		}
	}
}

static bool has_null_cpu_limit(const json_t *patch)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(patch, "spec"), "containers"), i, c) {
		json_t *l = json_object_get(json_object_get(json_object_get(c, "resources"), "limits"), "cpu");
		if (l && json_is_null(l))
			return true;
	}
	return false;
}

static int reply(long *status, char **resp, long st, const char *body)
{
	*status = st;
	*resp = body ? strdup(body) : NULL;
	return 0;
}

static int reply_json(long *status, char **resp, long st, const json_t *o)
{
	*status = st;
	*resp = json_dumps(o, JSON_COMPACT);
	return 0;
}

static int fake_send(void *ud, const char *method, const char *path, const char *body,
		     const char *ct, long *status, char **resp, struct wl_err *e)
{
	struct fake *f = ud;
	char ns[64] = "", name[128] = "", sub[32] = "";
	json_t *pod, *patch;

	(void)e;
	if (f->requests < 64)
		snprintf(f->log[f->requests], sizeof(f->log[0]), "%s %s", method, path);
	f->requests++;
	if (strncmp(path, "/api/v1/pods?", 13) == 0) {
		json_t *list = json_pack("{s:[]}", "items");
		size_t i;
		json_t *p;
		assert_non_null(strstr(path, "labelSelector=wattlet.dev%2Fthrottled"));
		assert_non_null(strstr(path, "fieldSelector=spec.nodeName%3Dnode-1"));
		json_array_foreach(f->pods, i, p) {
			if (json_object_get(json_object_get(json_object_get(p, "metadata"), "labels"),
					    "wattlet.dev/throttled"))
				json_array_append(json_object_get(list, "items"), p);
		}
		reply_json(status, resp, 200, list);
		json_decref(list);
		return 0;
	}
	if (sscanf(path, "/api/v1/namespaces/%63[^/]/pods/%127[^/]/%31s", ns, name, sub) < 2)
		return reply(status, resp, 404, "{\"kind\":\"Status\",\"message\":\"not found\"}");
	pod = find_pod(f, ns, name);
	if (strcmp(method, "GET") == 0)
		return pod ? reply_json(status, resp, 200, pod)
			   : reply(status, resp, 404, "{\"kind\":\"Status\",\"message\":\"pods not found\"}");
	assert_string_equal(method, "PATCH");
	patch = json_loads(body, 0, NULL);
	assert_non_null(patch);
	if (sub[0]) {
		assert_string_equal(sub, "resize");
		assert_string_equal(ct, "application/strategic-merge-patch+json");
		if (f->kind != API_134) {
			json_decref(patch);
			return reply(status, resp, 404,
				     "{\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"the server "
				     "could not find the requested resource\",\"reason\":\"NotFound\"}");
		}
		/* only resources may change through resize */
		assert_null(json_object_get(patch, "metadata"));
		if (f->refuse_limit_removal && has_null_cpu_limit(patch)) {
			json_decref(patch);
			return reply(status, resp, 422,
				     "{\"kind\":\"Status\",\"message\":\"Pod \\\"p\\\" is invalid: "
				     "spec.containers[1].resources.limits: Forbidden: resource limits "
				     "cannot be removed\",\"reason\":\"Invalid\"}");
		}
	} else if (json_object_get(patch, "spec") && f->kind == API_130) {
		json_decref(patch);
		return reply(status, resp, 422,
			     "{\"kind\":\"Status\",\"message\":\"Pod \\\"p\\\" is invalid: spec: "
			     "Forbidden: pod updates may not change fields other than "
			     "`spec.containers[*].image`,`spec.initContainers[*].image`,"
			     "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
			     "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be "
			     "set to 1 if it was previously negative)\",\"reason\":\"Invalid\"}");
	}
	if (!pod) {
		json_decref(patch);
		return reply(status, resp, 404, "{\"kind\":\"Status\",\"message\":\"pods not found\"}");
	}
	merge(pod, patch);
	json_decref(patch);
	return reply_json(status, resp, 200, pod);
}

static json_t *burstable_pod(const char *name, const char *uid)
{
	return json_pack(
		"{s:{s:s, s:s, s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}}},"
		" {s:s, s:{s:{s:s}}}]}, s:{s:s}}",
		"metadata", "name", name, "namespace", "apps", "uid", uid, "labels", "app", "x",
		"spec", "nodeName", "node-1", "containers",
		"name", "main", "resources", "requests", "cpu", "500m", "memory", "64Mi", "limits", "cpu",
		"1", "memory", "128Mi",
		"name", "side", "resources", "requests", "cpu", "100m",
		"status", "qosClass", "Burstable");
}

static const char *cpu(json_t *pod, size_t ctr, const char *kind)
{
	json_t *c = json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), ctr);
	return json_string_value(
		json_object_get(json_object_get(json_object_get(c, "resources"), kind), "cpu"));
}

static const char *annotation(json_t *pod)
{
	return json_string_value(json_object_get(
		json_object_get(json_object_get(pod, "metadata"), "annotations"), KT_ANNOTATION));
}

static bool labelled(json_t *pod)
{
	return json_object_get(json_object_get(json_object_get(pod, "metadata"), "labels"), KT_LABEL);
}

static const char *g_cgroot; /* method cgroup: the tree the tests make */

static struct kube_throttle *mk(struct fake *f, bool recovery)
{
	struct kube_throttle_opts o = { 0 };
	struct wl_err e = { "" };
	o.node = "node-1";
	o.cgroup_root = g_cgroot;
	o.node_mcpu = 4000;
	o.manual = true;
	o.no_recovery = !recovery;
	o.send = fake_send;
	o.send_ud = f;
	struct kube_throttle *kt = kube_throttle_new(NULL, &o, &e);
	if (!kt)
		fail_msg("%s", e.msg);
	return kt;
}

static bool g_cgroup; /* act() asks for method cgroup */

static struct kt_result act(struct kube_throttle *kt, const char *name, const char *uid,
			    enum kt_op op, uint32_t mcpu)
{
	struct kt_request r = { .ns = "apps", .name = name, .uid = uid, .op = op, .limit_mcpu = mcpu,
				.cgroup = g_cgroup };
	struct kt_result res;
	assert_int_equal(kube_throttle_request(kt, &r), 0);
	assert_int_equal(kube_throttle_run_once(kt), 1);
	assert_int_equal(kube_throttle_results(kt, &res, 1), 1);
	return res;
}

/* act() that must succeed: fails the test with the actuator's error otherwise. */
static struct kt_result act_ok(struct kube_throttle *kt, const char *name, const char *uid,
			       enum kt_op op, uint32_t mcpu)
{
	struct kt_result r = act(kt, name, uid, op, mcpu);
	if (!r.ok)
		fail_msg("%s", r.error);
	return r;
}

/* The first throttle of pod p (uid u-1) to mcpu: it must succeed by path, in requests
 * API requests. */
static struct kt_result first_set(struct kube_throttle *kt, uint32_t mcpu, enum kt_path path,
				  int requests)
{
	struct kt_result r = act_ok(kt, "p", "u-1", KT_SET, mcpu);

	assert_int_equal(r.path, path);
	assert_int_equal(r.requests, requests);
	return r;
}

/* Puts burstable pod p (uid u-1) in f, and q (uid u-2) too when npods is 2; a copy of p
 * as it is now in *orig (unless NULL); returns an actuator without start-up recovery. */
static struct kube_throttle *start(struct fake *f, size_t npods, json_t **orig)
{
	f->pods = json_pack("[o]", burstable_pod("p", "u-1"));
	if (npods == 2)
		json_array_append_new(f->pods, burstable_pod("q", "u-2"));
	if (orig)
		*orig = json_deep_copy(json_array_get(f->pods, 0));
	return mk(f, false);
}

/* A new agent whose start-up recovery restores exactly one pod (its result in *res). */
static struct kube_throttle *mk_recovered(struct fake *f, struct kt_result *res)
{
	struct kube_throttle *kt = mk(f, true);
	struct kt_result all[4];

	assert_int_equal(kube_throttle_run_once(kt), 1);
	assert_int_equal(kube_throttle_results(kt, all, 4), 1);
	if (!all[0].ok)
		fail_msg("%s", all[0].error);
	assert_true(all[0].recovered);
	*res = all[0];
	return kt;
}

/* Frees what start() and the test made (orig may be NULL). */
static void finish(struct kube_throttle *kt, struct fake *f, json_t *orig)
{
	kube_throttle_free(kt);
	json_decref(orig);
	json_decref(f->pods);
}

/* Kubernetes >= 1.33: pods/resize; the record goes first; restore puts everything back. */
static void test_resize_path(void **s)
{
	(void)s;
	struct fake f = { .kind = API_134 };
	json_t *orig;
	struct kube_throttle *kt = start(&f, 1, &orig);
	json_t *pod = json_array_get(f.pods, 0);

	struct kt_result r = first_set(kt, 400, KT_PATH_RESIZE, 3); /* GET, record, resize */
	assert_string_equal(f.log[1], "PATCH /api/v1/namespaces/apps/pods/p");
	assert_string_equal(f.log[2], "PATCH /api/v1/namespaces/apps/pods/p/resize");
	assert_int_equal(r.orig_mcpu, 0); /* "side" has no limit */
	assert_string_equal(cpu(pod, 0, "limits"), "200m");
	assert_string_equal(cpu(pod, 0, "requests"), "200m"); /* 500m > the new limit */
	assert_string_equal(cpu(pod, 1, "limits"), "200m");
	assert_string_equal(cpu(pod, 1, "requests"), "100m");
	assert_true(labelled(pod));
	assert_non_null(strstr(annotation(pod), "\"limits\":\"1\""));
	/* memory untouched */
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
				    json_array_get(json_object_get(json_object_get(pod, "spec"), "containers"), 0),
				    "resources"), "limits"), "memory")), "128Mi");

	/* adjust: the record stays the original one */
	f.requests = 0;
	r = act(kt, "p", "u-1", KT_SET, 1600);
	assert_true(r.ok);
	assert_int_equal(r.requests, 2); /* GET, resize */
	assert_string_equal(cpu(pod, 0, "limits"), "800m");
	assert_string_equal(cpu(pod, 0, "requests"), "500m");
	assert_non_null(strstr(annotation(pod), "\"limits\":\"1\""));

	f.requests = 0;
	r = act_ok(kt, "p", "u-1", KT_RESTORE, 0);
	assert_false(r.skipped);
	assert_int_equal(r.requests, 3); /* GET, resize, record off */
	assert_true(json_equal(pod, orig));
	struct kube_throttle_stats st;
	kube_throttle_stats(kt, &st);
	assert_int_equal(st.path, KT_PATH_RESIZE);
	assert_int_equal(st.sets_ok, 2);
	assert_int_equal(st.restores_ok, 1);
	finish(kt, &f, orig);
}

/* A limit the pod did not have cannot be removed: set to the node's CPUs, said so. */
static void test_restore_limit_not_removable(void **s)
{
	(void)s;
	struct fake f = { .kind = API_134, .refuse_limit_removal = true };
	struct kube_throttle *kt = start(&f, 1, NULL);
	json_t *pod = json_array_get(f.pods, 0);

	assert_true(act(kt, "p", "u-1", KT_SET, 400).ok);
	struct kt_result r = act_ok(kt, "p", "u-1", KT_RESTORE, 0);
	assert_string_equal(cpu(pod, 0, "limits"), "1");
	assert_string_equal(cpu(pod, 1, "limits"), "4000m");
	assert_non_null(strstr(r.error, "node's 4000m"));
	assert_null(annotation(pod));
	finish(kt, &f, NULL);
}

/* 1.27-1.32 with the gate: no resize subresource (404) -> the pod spec, remembered. */
static void test_spec_fallback(void **s)
{
	(void)s;
	struct fake f = { .kind = API_130_GATE };
	json_t *orig;
	struct kube_throttle *kt = start(&f, 2, &orig);
	json_t *pod = json_array_get(f.pods, 0);

	/* GET, record, resize 404, spec */
	struct kt_result r = first_set(kt, 300, KT_PATH_SPEC, 4);
	assert_string_equal(cpu(pod, 0, "limits"), "150m");
	assert_true(labelled(pod));
	f.requests = 0;
	r = act(kt, "q", "u-2", KT_SET, 300);
	assert_true(r.ok);
	assert_int_equal(r.requests, 2); /* GET, spec with the record: one patch */
	assert_true(labelled(json_array_get(f.pods, 1)));
	f.requests = 0;
	r = act(kt, "p", "u-1", KT_RESTORE, 0);
	assert_true(r.ok);
	assert_int_equal(r.requests, 2); /* GET, spec + record off together */
	assert_true(json_equal(pod, orig));
	finish(kt, &f, orig);
}

/* 1.30 without the gate: the cluster cannot; the record is taken off; not asked again. */
static void test_cannot_resize(void **s)
{
	(void)s;
	struct fake f = { .kind = API_130 };
	json_t *orig;
	struct kube_throttle *kt = start(&f, 1, &orig);

	struct kt_result r = act(kt, "p", "u-1", KT_SET, 300);
	assert_false(r.ok);
	assert_int_equal(r.path, KT_PATH_NONE);
	assert_non_null(strstr(r.error, "cannot resize pods in place"));
	assert_non_null(strstr(r.error, "may not change fields"));
	assert_int_equal(r.requests, 5); /* GET, record, resize 404, spec 422, record off */
	assert_true(json_equal(json_array_get(f.pods, 0), orig));
	f.requests = 0;
	r = act(kt, "p", "u-1", KT_SET, 300);
	assert_false(r.ok);
	assert_int_equal(r.requests, 0);
	assert_string_equal(kt_path_name(KT_PATH_NONE), "none");
	finish(kt, &f, orig);
}

/* Guaranteed keeps requests == limits; BestEffort is refused before any patch. */
static void test_qos(void **s)
{
	(void)s;
	struct fake f = { .kind = API_134 };
	json_t *g = json_pack("{s:{s:s, s:s, s:s}, s:{s:[{s:s, s:{s:{s:s}, s:{s:s}}}]}, s:{s:s}}",
			      "metadata", "name", "g", "namespace", "apps", "uid", "u-g", "spec",
			      "containers", "name", "c", "resources", "requests", "cpu", "2", "limits",
			      "cpu", "2", "status", "qosClass", "Guaranteed");
	json_t *be = json_pack("{s:{s:s, s:s, s:s}, s:{s:[{s:s}]}, s:{s:s}}", "metadata", "name",
			       "be", "namespace", "apps", "uid", "u-be", "spec", "containers", "name",
			       "c", "status", "qosClass", "BestEffort");
	f.pods = json_pack("[oo]", g, be);
	struct kube_throttle *kt = mk(&f, false);

	struct kt_result r = act(kt, "g", "u-g", KT_SET, 700);
	assert_true(r.ok);
	assert_int_equal(r.orig_mcpu, 2000);
	assert_string_equal(cpu(g, 0, "limits"), "700m");
	assert_string_equal(cpu(g, 0, "requests"), "700m");
	assert_true(act(kt, "g", "u-g", KT_RESTORE, 0).ok);
	assert_string_equal(cpu(g, 0, "limits"), "2");
	assert_string_equal(cpu(g, 0, "requests"), "2");
	f.requests = 0;
	r = act(kt, "be", "u-be", KT_SET, 700);
	assert_false(r.ok);
	assert_non_null(strstr(r.error, "BestEffort"));
	assert_int_equal(f.requests, 1); /* the GET only */
	finish(kt, &f, NULL);
}

/* A new agent restores what an earlier one left throttled (its record and label). */
static void test_recovery_at_start(void **s)
{
	(void)s;
	struct fake f = { .kind = API_134 };
	json_t *orig;
	struct kube_throttle *kt = start(&f, 2, &orig);
	struct kt_result res;

	assert_true(act(kt, "p", "u-1", KT_SET, 200).ok);
	kube_throttle_free(kt); /* the agent goes (killed: nothing restored) */
	assert_true(labelled(json_array_get(f.pods, 0)));
	assert_string_equal(cpu(json_array_get(f.pods, 0), 0, "limits"), "100m");

	f.requests = 0;
	kt = mk_recovered(&f, &res);
	assert_string_equal(res.uid, "u-1");
	assert_int_equal(f.requests, 4); /* list, GET, resize, record off */
	assert_true(json_equal(json_array_get(f.pods, 0), orig));
	struct kube_throttle_stats st;
	kube_throttle_stats(kt, &st);
	assert_true(st.recovery_done);
	assert_int_equal(st.recovered, 1);
	assert_int_equal(kube_throttle_run_once(kt), 0); /* once */
	finish(kt, &f, orig);
}

/* Gone or replaced pods; bad requests. */
static void test_gone_and_bad(void **s)
{
	(void)s;
	struct fake f = { .kind = API_134 };
	f.pods = json_pack("[o]", burstable_pod("p", "u-new"));
	struct kube_throttle *kt = mk(&f, false);
	struct kt_request bad = { .ns = "apps", .name = "p", .uid = "u", .op = KT_SET };

	struct kt_result r = act(kt, "p", "u-old", KT_SET, 300);
	assert_false(r.ok);
	assert_non_null(strstr(r.error, "replaced"));
	r = act(kt, "p", "u-old", KT_RESTORE, 0);
	assert_true(r.ok && r.skipped);
	r = act(kt, "gone", "u-x", KT_RESTORE, 0);
	assert_true(r.ok && r.skipped);
	r = act(kt, "p", "u-new", KT_RESTORE, 0); /* no record: nothing to do */
	assert_true(r.ok && r.skipped);
	assert_int_equal(kube_throttle_request(kt, &bad), -EINVAL); /* SET without a limit */
	assert_int_equal(kube_throttle_request(kt, NULL), -EINVAL);
	finish(kt, &f, NULL);
}

/* The queue keeps one request per pod, the newest. */
static void test_queue_coalesces(void **s)
{
	(void)s;
	struct fake f = { .kind = API_134 };
	struct kube_throttle *kt = start(&f, 1, NULL);
	struct kt_request r1 = { .ns = "apps", .name = "p", .uid = "u-1", .op = KT_SET, .limit_mcpu = 300 };
	struct kt_request r2 = r1;
	struct kt_result res[4];
	r2.limit_mcpu = 900;
	assert_int_equal(kube_throttle_request(kt, &r1), 0);
	assert_int_equal(kube_throttle_request(kt, &r2), 0);
	assert_int_equal(kube_throttle_run_once(kt), 1);
	assert_int_equal(kube_throttle_results(kt, res, 4), 1);
	assert_int_equal(res[0].limit_mcpu, 900);
	finish(kt, &f, NULL);
}

/* ---- method cgroup: a tree of plain files shaped as the kubelet's (a stand-in for the
 * cgroup file system: the kernel's parent >= child rule of v1 is checked by the e2e) -- */

static void put(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(val, f);
	fclose(f);
}

static char *get(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* The v1 cgroup directory dir's cpu.cfs_quota_us reads want. */
static void assert_quota(const char *dir, const char *want)
{
	char p[700], b[64];

	snprintf(p, sizeof(p), "%s/cpu.cfs_quota_us", dir);
	assert_string_equal(get(p, b, sizeof(b)), want);
}

/* An actuator of method cgroup (no recovery) on the tree at root. */
static struct kube_throttle *mk_cgroup(struct fake *f, const char *root)
{
	g_cgroot = root;
	g_cgroup = true;
	return mk(f, false);
}

/* The end of a cgroup test: the API method again; the fake's pods freed. */
static void cgroup_done(struct fake *f)
{
	g_cgroup = false;
	g_cgroot = NULL;
	json_decref(f->pods);
}

static void remove_tree(const char *root)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static void test_cgroup_v1(void **s)
{
	(void)s;
	char root[] = "/tmp/wl-kt-XXXXXX", p[512];
	struct fake f = { .kind = API_130 }; /* a cluster that cannot resize */
	struct kt_result res;

	assert_non_null(mkdtemp(root));
	const char *dirs[] = { "cpu,cpuacct", "cpu,cpuacct/kubepods", "cpu,cpuacct/kubepods/burstable",
			       "cpu,cpuacct/kubepods/burstable/podu-1", "cpu,cpuacct/kubepods/burstable/podu-1/c1",
			       "cpu,cpuacct/kubepods/burstable/podu-1/pause" };
	for (size_t i = 0; i < 6; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	const char *pod = "cpu,cpuacct/kubepods/burstable/podu-1";
	const struct { const char *dir, *q; } files[] = { { "", "200000" }, { "/c1", "200000" }, { "/pause", "-1" } };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s%s/cpu.cfs_quota_us", root, pod, files[i].dir);
		put(p, files[i].q);
		snprintf(p, sizeof(p), "%s/%s%s/cpu.cfs_period_us", root, pod, files[i].dir);
		put(p, "100000");
	}
	char dir[600];
	bool v2 = true;
	assert_int_equal(kt_pod_cgroup(root, "u-1", dir, sizeof(dir), &v2), 0);
	assert_false(v2);
	assert_non_null(strstr(dir, "/kubepods/burstable/podu-1"));
	assert_int_equal(kt_pod_cgroup(root, "u-2", dir, sizeof(dir), &v2), -ENOENT);
	assert_int_equal(kt_pod_cgroup(root, "../x", dir, sizeof(dir), &v2), -EINVAL);

	char pod_dir[600], c1[610], pause[610];
	snprintf(pod_dir, sizeof(pod_dir), "%s/%s", root, pod);
	snprintf(c1, sizeof(c1), "%s/c1", pod_dir);
	snprintf(pause, sizeof(pause), "%s/pause", pod_dir);
	f.pods = json_pack("[o]", burstable_pod("p", "u-1"));
	json_t *orig = json_deep_copy(json_array_get(f.pods, 0));
	struct kube_throttle *kt = mk_cgroup(&f, root);
	struct kt_result r = first_set(kt, 500, KT_PATH_CGROUP, 2); /* GET, record */
	assert_int_equal(r.orig_mcpu, 2000); /* its own quota, 200000 / 100000 */
	assert_quota(pod_dir, "50000");
	assert_quota(c1, "50000"); /* a child never above its parent */
	assert_quota(pause, "-1");
	json_t *pj = json_array_get(f.pods, 0);
	assert_true(labelled(pj));
	assert_non_null(strstr(annotation(pj), "\"method\":\"cgroup\""));
	assert_non_null(strstr(annotation(pj), "\"pod\":\"200000 100000\""));
	/* the spec is not touched */
	assert_string_equal(cpu(pj, 0, "limits"), "1");
	/* adjust up: the child follows up to its own */
	r = act(kt, "p", "u-1", KT_SET, 3000);
	assert_true(r.ok);
	assert_quota(pod_dir, "300000");
	assert_quota(c1, "200000");
	act(kt, "p", "u-1", KT_SET, 500);
	kube_throttle_free(kt); /* killed while throttled */

	/* the next agent restores from the record at start */
	kt = mk_recovered(&f, &res);
	assert_quota(pod_dir, "200000");
	assert_quota(c1, "200000");
	assert_true(json_equal(json_array_get(f.pods, 0), orig));
	kube_throttle_free(kt);

	/* a read-only or missing cgroup: the record is taken off again */
	kt = mk(&f, false);
	r = act(kt, "p", "u-9", KT_SET, 500); /* uid mismatch: replaced */
	assert_false(r.ok);
	kube_throttle_free(kt);
	json_decref(orig);
	cgroup_done(&f);
	remove_tree(root);
}

static void test_cgroup_v2_systemd(void **s)
{
	(void)s;
	char root[] = "/tmp/wl-kt-XXXXXX", p[600], b[64];
	struct fake f = { .kind = API_134 };

	assert_non_null(mkdtemp(root));
	const char *dirs[] = { "kubepods.slice", "kubepods.slice/kubepods-besteffort.slice",
			       "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podu_b_1.slice" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
		assert_int_equal(mkdir(p, 0755), 0);
	}
	snprintf(p, sizeof(p), "%s/%s/cpu.max", root, dirs[2]);
	put(p, "max 100000");
	json_t *be = json_pack("{s:{s:s, s:s, s:s}, s:{s:[{s:s}]}, s:{s:s}}", "metadata", "name",
			       "be", "namespace", "apps", "uid", "u-b-1", "spec", "containers", "name",
			       "c", "status", "qosClass", "BestEffort");
	f.pods = json_pack("[o]", be);
	struct kube_throttle *kt = mk_cgroup(&f, root);
	/* BestEffort: the API path refuses it, the cgroup method can */
	struct kt_result r = act_ok(kt, "be", "u-b-1", KT_SET, 250);
	assert_string_equal(get(p, b, sizeof(b)), "25000 100000");
	r = act(kt, "be", "u-b-1", KT_RESTORE, 0);
	assert_true(r.ok);
	assert_string_equal(get(p, b, sizeof(b)), "max 100000");
	assert_false(labelled(be));
	kube_throttle_free(kt);
	cgroup_done(&f);
	remove_tree(root);
}

/* The kernel's own rule, on a REAL cgroup v1 cpu hierarchy (root only; skipped where
 * there is none): a child's quota may never exceed its parent's, so lowering writes the
 * children first and raising the pod first; a wrong order fails with EINVAL. */
static void test_cgroup_v1_real(void **s)
{
	(void)s;
	const char *v1 = NULL;
	char top[200], pod[300], ctr[400], fake[] = "/tmp/wl-kt-XXXXXX", link[500];
	struct fake f = { .kind = API_130 };

	if (access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", F_OK) == 0)
		v1 = "/sys/fs/cgroup/cpu";
	else if (access("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", F_OK) == 0)
		v1 = "/sys/fs/cgroup/cpu,cpuacct";
	if (!v1 || geteuid() != 0) {
		skip(); /* no cgroup v1 cpu hierarchy with CFS bandwidth, or not root */
		return;
	}
	snprintf(top, sizeof(top), "%s/wattlet-ut-throttle-%d", v1, (int)getpid());
	snprintf(pod, sizeof(pod), "%s/kubepods", top);
	assert_int_equal(mkdir(top, 0755), 0);
	assert_int_equal(mkdir(pod, 0755), 0);
	snprintf(pod, sizeof(pod), "%s/kubepods/podr-1", top);
	assert_int_equal(mkdir(pod, 0755), 0);
	snprintf(ctr, sizeof(ctr), "%s/c1", pod);
	assert_int_equal(mkdir(ctr, 0755), 0);
	snprintf(link, sizeof(link), "%s/cpu.cfs_quota_us", pod);
	put(link, "200000");
	snprintf(link, sizeof(link), "%s/cpu.cfs_quota_us", ctr);
	put(link, "200000");
	/* the agent's cgroup root: a directory whose "cpu" is our test hierarchy */
	assert_non_null(mkdtemp(fake));
	snprintf(link, sizeof(link), "%s/cpu", fake);
	assert_int_equal(symlink(top, link), 0);

	f.pods = json_pack("[o]", burstable_pod("p", "r-1"));
	struct kube_throttle *kt = mk_cgroup(&f, fake);
	act_ok(kt, "p", "r-1", KT_SET, 500);
	assert_quota(pod, "50000");
	assert_quota(ctr, "50000");
	act_ok(kt, "p", "r-1", KT_SET, 3000); /* up: the pod first */
	assert_quota(pod, "300000");
	assert_quota(ctr, "200000");
	struct kt_result r = act(kt, "p", "r-1", KT_SET, 1000); /* down again */
	assert_true(r.ok);
	act_ok(kt, "p", "r-1", KT_RESTORE, 0);
	assert_quota(pod, "200000");
	assert_quota(ctr, "200000");
	kube_throttle_free(kt);
	cgroup_done(&f);
	rmdir(ctr);
	rmdir(pod);
	snprintf(pod, sizeof(pod), "%s/kubepods", top);
	rmdir(pod);
	assert_int_equal(rmdir(top), 0);
	snprintf(link, sizeof(link), "%s/cpu", fake);
	unlink(link);
	rmdir(fake);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_resize_path),
	cmocka_unit_test(test_restore_limit_not_removable),
	cmocka_unit_test(test_spec_fallback),
	cmocka_unit_test(test_cannot_resize),
	cmocka_unit_test(test_qos),
	cmocka_unit_test(test_recovery_at_start),
	cmocka_unit_test(test_gone_and_bad),
	cmocka_unit_test(test_queue_coalesces),
	cmocka_unit_test(test_cgroup_v1),
	cmocka_unit_test(test_cgroup_v2_systemd),
	cmocka_unit_test(test_cgroup_v1_real))
