/* target_kube.c - the Kubernetes workload target of `wattlet validate workload`: the
 * talk's experiment, replicas of a Deployment 0 -> 1 -> 2 -> 3.
 *
 * prepare   reads the Deployment's scale subresource (replicas, label selector),
 *           scales it to 0 and waits until none of its pods is left (terminating pods
 *           still burn CPU, so they count);
 * scale_up  patches the scale to `step` replicas and waits until exactly `step` pods
 *           are Ready, none terminating; the one pod not seen before is the new
 *           instance, its key for the agent "pod:<uid>" (the sum of the pod's cgroups);
 *           a new pod on another node is an error (only this node's power is measured);
 * alive     the instance's pod still exists with the same uid, not deleting, Ready;
 * teardown  restores the replica count found by prepare.
 * Every wait polls the API every 500 ms, ends on the stop flag, and is bounded by the
 * ready timeout. Blocking HTTP (kube_http_request with its retries).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../kube/kube_http.h"
#include "validate.h"

#define POLL_MS 500

struct kpod {
	char uid[64];
	char name[256];
	char node[256];
	bool deleting, ready;
};

struct ktarget {
	struct kube_http *http;
	char ns[256], name[256], node[256];
	char scale_url[1024];
	char pods_url[2048];
	uint64_t ready_timeout_ms;
	volatile sig_atomic_t *stop;
	long orig_replicas;       /* -1 until prepare read it */
	bool scaled;              /* we changed the replica count */
	int n_inst;
	struct kpod inst[VALIDATE_MAX_STEPS];
	struct kpod *pods;        /* last list */
	size_t n_pods, cap_pods;
};

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static bool stopped(const struct ktarget *k)
{
	return k->stop && *k->stop;
}

/* One request; a non-2xx answer becomes an error naming what was asked. doc gets the
 * parsed body (may be NULL when out is NULL). */
static int call(struct ktarget *k, const char *method, const char *url, const char *body,
		const char *ctype, json_t **out, struct wl_err *err)
{
	struct kube_resp resp;
	json_error_t je;
	int rc;

	if (out)
		*out = NULL;
	rc = kube_http_request(k->http, method, url, body, ctype, &resp, err);
	if (rc == 0)
		rc = kube_resp_check(&resp, err);
	if (rc == 0 && out) {
		*out = json_loadb(resp.body ? resp.body : "", resp.len, 0, &je);
		if (!*out)
			rc = err_set(err, EPROTO, "%s %s: the API server's answer is not JSON: %s",
				     method, url, je.text);
	}
	kube_resp_release(&resp);
	if (rc == -ENOENT && strcmp(url, k->scale_url) == 0)
		return err_set(err, ENOENT, "deployment %s/%s not found", k->ns, k->name);
	return rc;
}

static int set_replicas(struct ktarget *k, long n, struct wl_err *err)
{
	char body[96];

	snprintf(body, sizeof(body), "{\"spec\":{\"replicas\":%ld}}", n);
	return call(k, "PATCH", k->scale_url, body, "application/merge-patch+json", NULL, err);
}

static void copy_str(char *dst, size_t cap, const json_t *v)
{
	const char *s = json_string_value(v);
	snprintf(dst, cap, "%s", s ? s : "");
}

static bool pod_ready(const json_t *status)
{
	size_t i;
	json_t *c;
	const char *phase = json_string_value(json_object_get(status, "phase"));

	if (!json_is_object(status) || !phase || strcmp(phase, "Running") != 0)
		return false;
	json_array_foreach(json_object_get(status, "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && strcmp(t, "Ready") == 0)
			return strcmp(s, "True") == 0;
	}
	return false;
}

static void parse_pod(const json_t *item, struct kpod *p)
{
	const json_t *md = json_object_get(item, "metadata");

	memset(p, 0, sizeof(*p));
	copy_str(p->uid, sizeof(p->uid), json_object_get(md, "uid"));
	copy_str(p->name, sizeof(p->name), json_object_get(md, "name"));
	copy_str(p->node, sizeof(p->node), json_object_get(json_object_get(item, "spec"), "nodeName"));
	p->deleting = json_object_get(md, "deletionTimestamp") != NULL &&
		      !json_is_null(json_object_get(md, "deletionTimestamp"));
	p->ready = !p->deleting && pod_ready(json_object_get(item, "status"));
}

/* Lists the Deployment's pods into k->pods. */
static int list_pods(struct ktarget *k, struct wl_err *err)
{
	json_t *doc, *items, *it;
	size_t i;
	int rc = call(k, "GET", k->pods_url, NULL, NULL, &doc, err);

	if (rc)
		return rc;
	items = json_object_get(doc, "items");
	if (!json_is_array(items)) {
		json_decref(doc);
		return err_set(err, EPROTO, "pod list of %s/%s has no items", k->ns, k->name);
	}
	if (json_array_size(items) > k->cap_pods) {
		size_t cap = json_array_size(items) + 8;
		struct kpod *p = realloc(k->pods, cap * sizeof(*p));
		if (!p) {
			json_decref(doc);
			return err_set(err, ENOMEM, "out of memory");
		}
		k->pods = p;
		k->cap_pods = cap;
	}
	k->n_pods = 0;
	json_array_foreach(items, i, it)
		parse_pod(it, &k->pods[k->n_pods++]);
	json_decref(doc);
	return 0;
}

static bool known(const struct ktarget *k, const char *uid)
{
	for (int i = 0; i < k->n_inst; i++)
		if (strcmp(k->inst[i].uid, uid) == 0)
			return true;
	return false;
}

/* Polls until want() holds for the pod list; -ETIMEDOUT with what was seen last. */
static int wait_pods(struct ktarget *k, bool (*want)(const struct ktarget *, long), long n,
		     const char *what, struct wl_err *err)
{
	uint64_t deadline = mono_ns() + k->ready_timeout_ms * 1000000ull;
	size_t ready = 0, deleting = 0;

	for (;;) {
		int rc;
		if (stopped(k))
			return err_set(err, EINTR, "interrupted");
		rc = list_pods(k, err);
		if (rc)
			return rc;
		if (want(k, n))
			return 0;
		ready = deleting = 0;
		for (size_t i = 0; i < k->n_pods; i++) {
			ready += k->pods[i].ready;
			deleting += k->pods[i].deleting;
		}
		if (mono_ns() > deadline)
			return err_set(err, ETIMEDOUT, "deployment %s/%s: %s not reached within %.3g s "
				       "(pods: %zu, ready %zu, terminating %zu)", k->ns, k->name, what,
				       k->ready_timeout_ms / 1e3, k->n_pods, ready, deleting);
		sleep_ms(POLL_MS);
	}
}

static bool want_none(const struct ktarget *k, long n)
{
	(void)n;
	return k->n_pods == 0;
}

static bool want_ready(const struct ktarget *k, long n)
{
	size_t ready = 0;

	for (size_t i = 0; i < k->n_pods; i++) {
		if (k->pods[i].deleting || !k->pods[i].ready)
			return false;
		ready++;
	}
	return (long)ready == n;
}

static int kt_prepare(void *impl, struct wl_err *err)
{
	struct ktarget *k = impl;
	json_t *doc;
	const char *sel;
	struct strbuf sb;
	int rc = call(k, "GET", k->scale_url, NULL, NULL, &doc, err);

	if (rc)
		return rc;
	k->orig_replicas = (long)json_integer_value(json_object_get(json_object_get(doc, "spec"),
								    "replicas"));
	sel = json_string_value(json_object_get(json_object_get(doc, "status"), "selector"));
	if (!sel || !*sel) {
		json_decref(doc);
		return err_set(err, EINVAL, "deployment %s/%s: its scale has no label selector",
			       k->ns, k->name);
	}
	strbuf_init(&sb, sizeof(k->pods_url));
	rc = strbuf_addf(&sb, "/api/v1/namespaces/%s/pods?labelSelector=", k->ns);
	if (rc == 0)
		rc = kube_url_escape(&sb, sel);
	if (rc == 0 && sb.len < sizeof(k->pods_url))
		snprintf(k->pods_url, sizeof(k->pods_url), "%s", sb.buf);
	else
		rc = err_set(err, ENAMETOOLONG, "deployment %s/%s: selector too long", k->ns, k->name);
	strbuf_release(&sb);
	json_decref(doc);
	if (rc)
		return rc;
	k->scaled = true;
	rc = set_replicas(k, 0, err);
	if (rc)
		return rc;
	return wait_pods(k, want_none, 0, "0 pods (for the baseline)", err);
}

static int kt_scale_up(void *impl, int step, char *key, size_t cap, struct wl_err *err)
{
	struct ktarget *k = impl;
	const struct kpod *fresh = NULL;
	char what[64];
	int rc;

	if (step < 1 || step > VALIDATE_MAX_STEPS || step != k->n_inst + 1)
		return err_set(err, EINVAL, "scale_up: step %d out of order", step);
	rc = set_replicas(k, step, err);
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "%d ready pod(s), none terminating", step);
	rc = wait_pods(k, want_ready, step, what, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < k->n_pods; i++) {
		if (known(k, k->pods[i].uid))
			continue;
		if (fresh)
			return err_set(err, EAGAIN, "deployment %s/%s: more than one new pod at step %d "
				       "(an earlier replica was replaced?)", k->ns, k->name, step);
		fresh = &k->pods[i];
	}
	if (!fresh)
		return err_set(err, EAGAIN, "deployment %s/%s: no new pod at step %d", k->ns, k->name,
			       step);
	if (k->node[0] && strcmp(fresh->node, k->node) != 0)
		return err_set(err, EXDEV, "pod %s/%s was scheduled on node %s, not on %s where "
			       "the meter is sampled; pin the Deployment to this node (nodeSelector "
			       "kubernetes.io/hostname)", k->ns, fresh->name, fresh->node, k->node);
	k->inst[k->n_inst++] = *fresh;
	if ((size_t)snprintf(key, cap, "pod:%s", fresh->uid) >= cap)
		return err_set(err, ENAMETOOLONG, "key too long");
	return 0;
}

static bool kt_alive(void *impl, int step)
{
	struct ktarget *k = impl;
	const struct kpod *want;
	char url[1024];
	json_t *doc;
	struct kpod now;
	struct wl_err e = { "" };

	if (step < 1 || step > k->n_inst)
		return false;
	want = &k->inst[step - 1];
	snprintf(url, sizeof(url), "/api/v1/namespaces/%s/pods/%s", k->ns, want->name);
	if (call(k, "GET", url, NULL, NULL, &doc, &e) != 0)
		return false;
	parse_pod(doc, &now);
	json_decref(doc);
	return strcmp(now.uid, want->uid) == 0 && now.ready;
}

static void kt_teardown(void *impl)
{
	struct ktarget *k = impl;
	struct wl_err e = { "" };

	if (!k->scaled || k->orig_replicas < 0)
		return;
	if (set_replicas(k, k->orig_replicas, &e) == 0)
		k->scaled = false;
}

static void kt_free(void *impl)
{
	struct ktarget *k = impl;

	if (!k)
		return;
	kube_http_free(k->http);
	free(k->pods);
	free(k);
}

static const struct vtarget_ops kube_ops = {
	.prepare = kt_prepare,
	.scale_up = kt_scale_up,
	.alive = kt_alive,
	.teardown = kt_teardown,
	.free = kt_free,
};

static bool alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A DNS-1123 label (dots == false: namespaces) or subdomain (names): lower-case
 * alphanumerics and '-', each label starting and ending alphanumeric, so nothing like
 * "..", "-a" or "a/b" can reach a URL path. */
static bool dns_ok(const char *s, size_t max, bool dots)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool edge = i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';
		if (alnum_lower(s[i]))
			continue;
		if (edge || (s[i] != '-' && !(dots && s[i] == '.')))
			return false;
	}
	return true;
}

int vtarget_kube_new(struct vtarget *t, const struct vtarget_kube_opts *o, struct wl_err *err)
{
	struct kube_http_opts ho = { 0 };
	struct ktarget *k;

	if (!t || !o || !o->kc)
		return err_set(err, EINVAL, "vtarget_kube_new: bad arguments");
	memset(t, 0, sizeof(*t));
	if (!dns_ok(o->ns, 63, false) || !dns_ok(o->name, 253, true))
		return err_set(err, EINVAL, "deployment '%s/%s': namespace and name must be DNS names",
			       o->ns ? o->ns : "", o->name ? o->name : "");
	k = calloc(1, sizeof(*k));
	if (!k)
		return err_set(err, ENOMEM, "out of memory");
	k->orig_replicas = -1;
	snprintf(k->ns, sizeof(k->ns), "%s", o->ns);
	snprintf(k->name, sizeof(k->name), "%s", o->name);
	snprintf(k->node, sizeof(k->node), "%s", o->node ? o->node : "");
	snprintf(k->scale_url, sizeof(k->scale_url), "/apis/apps/v1/namespaces/%s/deployments/%s/scale",
		 k->ns, k->name);
	k->ready_timeout_ms = o->ready_timeout_ms ? o->ready_timeout_ms : 180000;
	k->stop = o->stop;
	ho.max_retries = 3;
	k->http = kube_http_new(o->kc, &ho, err);
	if (!k->http) {
		free(k);
		return -ENOMEM; /* the reason is in err */
	}
	t->ops = &kube_ops;
	t->impl = k;
	return 0;
}
