/* kube_throttle.c - see kube_throttle.h. */
#include "kube_throttle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/caps.h"
#include "../common/nametab.h"
#include "../common/strbuf.h"
#include "../common/worker.h"
#include "kube_http.h"
#include "kube_quantity.h"
#include "kube_throttle_impl.h"

#define MERGE_CT "application/merge-patch+json"
#define SMP_CT "application/strategic-merge-patch+json"
#define PATH_MAX_LEN 1024

struct pending {
	char ns[64], name[254], uid[72];
	enum kt_op op;
	uint32_t limit_mcpu;
	bool cgroup;
};

struct kube_throttle {
	struct kube_throttle_opts o;
	char node[256];
	char cgroot[1024];
	struct kube_http *http;
	struct wl_worker wk; /* the thread unless manual; sleeps on cv */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* guarded by mu */
	struct pending *q;
	size_t nq, qcap;
	struct kt_result res[KT_RESULTS];
	size_t res_first, res_n;
	struct kube_throttle_stats st;
	/* the thread's own (path also copied to st under mu) */
	enum kt_path path;
	uint64_t none_since_s;
};

const char *kt_path_name(enum kt_path p)
{
	static const char *const names[] = {
		[KT_PATH_RESIZE] = "pods/resize", [KT_PATH_SPEC] = "pod spec",
		[KT_PATH_NONE] = "none", [KT_PATH_CGROUP] = "cgroup quota",
	};
	return nametab_name(names, NAMETAB_LEN(names), p, "unknown"); /* KT_PATH_UNKNOWN too */
}

static uint64_t mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* ---- requests ------------------------------------------------------------------------ */

struct answer {
	long status;
	char *body;
	char msg[KT_MSG_MAX];
};

/* One request; 0 when an answer came (any status), -errno when none (a->msg why). */
static int call(struct kube_throttle *kt, struct kt_result *r, const char *method, const char *path,
		const json_t *body, const char *ct, struct answer *a)
{
	struct wl_err e = { "" };
	char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc;

	memset(a, 0, sizeof(*a));
	if (body && !txt) {
		snprintf(a->msg, sizeof(a->msg), "out of memory");
		return -ENOMEM;
	}
	r->requests++;
	pthread_mutex_lock(&kt->mu);
	kt->st.requests++;
	pthread_mutex_unlock(&kt->mu);
	if (kt->o.send) {
		rc = kt->o.send(kt->o.send_ud, method, path, txt, ct, &a->status, &a->body, &e);
	} else {
		struct kube_resp resp;
		rc = kube_http_request(kt->http, method, path, txt, ct, &resp, &e);
		if (!rc) {
			a->status = resp.status;
			kube_resp_check(&resp, &e);
			a->body = resp.body;
			resp.body = NULL;
		}
		kube_resp_release(&resp);
	}
	free(txt);
	if (rc) {
		snprintf(a->msg, sizeof(a->msg), "%s %.100s: %.200s", method, path,
			 e.msg[0] ? e.msg : "no answer");
		return rc;
	}
	if (a->status < 200 || a->status > 299) {
		json_t *st = a->body ? json_loads(a->body, 0, NULL) : NULL;
		const char *m = json_string_value(json_object_get(st, "message"));
		snprintf(a->msg, sizeof(a->msg), "HTTP %ld: %.300s", a->status,
			 m ? m : e.msg[0] ? e.msg : "no message");
		json_decref(st);
	}
	return 0;
}

static void answer_release(struct answer *a)
{
	free(a->body);
	a->body = NULL;
}

static bool ok2xx(const struct answer *a)
{
	return a->status >= 200 && a->status <= 299;
}

static int pod_path(struct strbuf *sb, const char *ns, const char *name, const char *sub)
{
	strbuf_adds(sb, "/api/v1/namespaces/");
	kube_url_escape(sb, ns);
	strbuf_adds(sb, "/pods/");
	kube_url_escape(sb, name);
	if (sub)
		strbuf_addf(sb, "/%s", sub);
	return sb->overflow ? -ENAMETOOLONG : 0;
}

/* GETs the pod; NULL with r->error when it cannot (gone: *gone). */
static json_t *get_pod(struct kube_throttle *kt, struct kt_result *r, bool *gone)
{
	struct strbuf p;
	struct answer a;
	json_t *pod = NULL;
	const char *uid;

	*gone = false;
	strbuf_init(&p, PATH_MAX_LEN);
	pod_path(&p, r->ns, r->name, NULL);
	if (call(kt, r, "GET", p.buf, NULL, NULL, &a) != 0) {
		snprintf(r->error, sizeof(r->error), "%s", a.msg);
	} else if (a.status == 404) {
		*gone = true;
		snprintf(r->error, sizeof(r->error), "pod not found");
	} else if (!ok2xx(&a)) {
		snprintf(r->error, sizeof(r->error), "GET pod: %.300s", a.msg);
	} else if (!(pod = a.body ? json_loads(a.body, 0, NULL) : NULL)) {
		snprintf(r->error, sizeof(r->error), "GET pod: not JSON");
	} else {
		uid = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
		if (r->uid[0] && (!uid || strcmp(uid, r->uid) != 0)) {
			*gone = true; /* a new pod of the same name */
			snprintf(r->error, sizeof(r->error), "pod replaced (uid %s)", uid ? uid : "?");
			json_decref(pod);
			pod = NULL;
		} else if (!r->uid[0] && uid) {
			snprintf(r->uid, sizeof(r->uid), "%s", uid);
		}
	}
	answer_release(&a);
	strbuf_release(&p);
	return pod;
}

static const char *annotation_of(const json_t *pod)
{
	return json_string_value(json_object_get(
		json_object_get(json_object_get(pod, "metadata"), "annotations"), KT_ANNOTATION));
}

/* {"metadata":{"labels":{KT_LABEL:"true"|null},"annotations":{KT_ANNOTATION:rec|null}}} */
static json_t *meta_patch(const json_t *rec)
{
	char *txt = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_t *m;

	if (rec && !txt)
		return NULL;
	m = json_pack("{s:{s:{s:o}, s:{s:o}}}", "metadata", "labels", KT_LABEL,
		      rec ? json_string("true") : json_null(), "annotations", KT_ANNOTATION,
		      rec ? json_string(txt) : json_null());
	free(txt);
	return m;
}

static bool cannot_resize(const struct answer *a)
{
	return a->status == 422 &&
	       (strstr(a->msg, "may not change fields") || strstr(a->msg, "Forbidden: pod updates"));
}

static void set_path(struct kube_throttle *kt, enum kt_path p)
{
	kt->path = p;
	if (p == KT_PATH_NONE)
		kt->none_since_s = mono_s();
	pthread_mutex_lock(&kt->mu);
	kt->st.path = p;
	pthread_mutex_unlock(&kt->mu);
}

/* PATCH of the resources (and, on the spec path, the metadata with them) by the path
 * the cluster takes. 0 done; -ENOTSUP the cluster cannot; -EIO (r->error) else. *a
 * keeps the last answer's status for the caller. */
static int patch_resources(struct kube_throttle *kt, struct kt_result *r, const json_t *res_patch,
			   const json_t *meta, long *status)
{
	struct strbuf p;
	struct answer a;
	int rc = -EIO;

	*status = 0;
	strbuf_init(&p, PATH_MAX_LEN);
	if (kt->path == KT_PATH_UNKNOWN || kt->path == KT_PATH_RESIZE ||
	    (kt->path == KT_PATH_NONE && mono_s() - kt->none_since_s >= KT_REPROBE_S)) {
		pod_path(&p, r->ns, r->name, "resize");
		if (call(kt, r, "PATCH", p.buf, res_patch, SMP_CT, &a) != 0) {
			snprintf(r->error, sizeof(r->error), "%s", a.msg);
			goto out;
		}
		*status = a.status;
		if (ok2xx(&a)) {
			set_path(kt, KT_PATH_RESIZE);
			r->path = KT_PATH_RESIZE;
			rc = 0;
			goto out;
		}
		if (a.status != 404 || kt->path == KT_PATH_RESIZE) {
			snprintf(r->error, sizeof(r->error), "PATCH pods/resize: %.300s", a.msg);
			goto out;
		}
		answer_release(&a);
		set_path(kt, KT_PATH_SPEC); /* no resize subresource: Kubernetes < 1.33 */
	}
	if (kt->path == KT_PATH_NONE) {
		snprintf(r->error, sizeof(r->error),
			 "the cluster cannot resize pods in place (asked again %u s after its last "
			 "refusal)", KT_REPROBE_S);
		r->path = KT_PATH_NONE;
		rc = -ENOTSUP;
		goto out_nocall;
	}
	{
		json_t *both = json_deep_copy(res_patch);
		if (!both || (meta && json_object_update_recursive(both, (json_t *)meta) != 0)) {
			json_decref(both);
			snprintf(r->error, sizeof(r->error), "out of memory");
			goto out_nocall;
		}
		strbuf_reset(&p);
		pod_path(&p, r->ns, r->name, NULL);
		rc = call(kt, r, "PATCH", p.buf, both, SMP_CT, &a);
		json_decref(both);
		if (rc != 0) {
			snprintf(r->error, sizeof(r->error), "%s", a.msg);
			rc = -EIO;
			goto out;
		}
		*status = a.status;
		if (ok2xx(&a)) {
			r->path = KT_PATH_SPEC;
			rc = 0;
		} else if (cannot_resize(&a)) {
			set_path(kt, KT_PATH_NONE);
			r->path = KT_PATH_NONE;
			snprintf(r->error, sizeof(r->error),
				 "the cluster cannot resize pods in place (no pods/resize: Kubernetes < "
				 "1.33; pod spec refused: the InPlacePodVerticalScaling feature gate is "
				 "off): %.200s", a.msg);
			rc = -ENOTSUP;
		} else {
			snprintf(r->error, sizeof(r->error), "PATCH pod: %.300s", a.msg);
			rc = -EIO;
		}
	}
out:
	answer_release(&a);
out_nocall:
	strbuf_release(&p);
	return rc;
}

static int patch_meta(struct kube_throttle *kt, struct kt_result *r, const json_t *meta)
{
	struct strbuf p;
	struct answer a;
	int rc = -EIO;

	strbuf_init(&p, PATH_MAX_LEN);
	pod_path(&p, r->ns, r->name, NULL);
	if (call(kt, r, "PATCH", p.buf, meta, MERGE_CT, &a) != 0)
		snprintf(r->error, sizeof(r->error), "%s", a.msg);
	else if (!ok2xx(&a))
		snprintf(r->error, sizeof(r->error), "PATCH pod metadata: %.300s", a.msg);
	else
		rc = 0;
	answer_release(&a);
	strbuf_release(&p);
	return rc;
}

static const char *qos_of(const json_t *pod)
{
	return json_string_value(json_object_get(json_object_get(pod, "status"), "qosClass"));
}

/* Method cgroup: the record (with the cgroup's own quota) first, then the quota. */
static void do_set_cgroup(struct kube_throttle *kt, const struct pending *q, struct kt_result *r,
			  json_t *pod)
{
	const char *ann = annotation_of(pod);
	json_t *rec = ann ? json_loads(ann, 0, NULL) : NULL, *meta = NULL, *rm = NULL;
	const char *m;
	char dir[1200];
	bool had = json_is_object(rec), v2;

	r->path = KT_PATH_CGROUP;
	if (!had) {
		json_decref(rec);
		rec = json_pack("{s:i, s:s, s:s}", "v", 1, "node", kt->node, "method", "cgroup");
	}
	m = json_string_value(json_object_get(rec, "method"));
	if (!rec) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		goto out;
	}
	if (!m || strcmp(m, "cgroup") != 0) {
		snprintf(r->error, sizeof(r->error), "throttled by method resize already: the pod "
			 "is restored before another method acts");
		goto out;
	}
	if (kt_cgroup_record(kt->cgroot, r, rec, dir, sizeof(dir), &v2) != 0)
		goto out;
	meta = meta_patch(rec);
	rm = meta_patch(NULL);
	if (!meta || !rm) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		goto out;
	}
	if (!had && patch_meta(kt, r, meta) != 0)
		goto out;
	if (kt_cgroup_apply(r, rec, dir, v2, q->limit_mcpu) != 0) {
		if (!had) {
			char keep[KT_MSG_MAX];
			snprintf(keep, sizeof(keep), "%s", r->error);
			patch_meta(kt, r, rm);
			snprintf(r->error, sizeof(r->error), "%s", keep);
		}
		goto out;
	}
	r->ok = true;
	r->limit_mcpu = q->limit_mcpu;
out:
	json_decref(rec);
	json_decref(meta);
	json_decref(rm);
}

static void do_set(struct kube_throttle *kt, const struct pending *q, struct kt_result *r)
{
	struct wl_err e = { "" };
	json_t *pod, *rec = NULL, *patch = NULL, *meta = NULL, *rm = NULL;
	const char *ann;
	bool gone, had;
	long status;

	if (q->cgroup) {
		pod = get_pod(kt, r, &gone);
		if (pod)
			do_set_cgroup(kt, q, r, pod);
		json_decref(pod);
		return;
	}
	if (kt->path == KT_PATH_NONE && mono_s() - kt->none_since_s < KT_REPROBE_S) {
		snprintf(r->error, sizeof(r->error),
			 "the cluster cannot resize pods in place (no pods/resize, pod spec "
			 "resources immutable: Kubernetes < 1.33 without InPlacePodVerticalScaling)");
		r->path = KT_PATH_NONE;
		return;
	}
	pod = get_pod(kt, r, &gone);
	if (!pod)
		return;
	ann = annotation_of(pod);
	had = ann != NULL;
	if (had) {
		rec = json_loads(ann, 0, NULL);
		if (!json_is_object(rec)) {
			json_decref(rec);
			rec = NULL;
			had = false; /* unreadable: a fresh record from the spec */
		}
	}
	if (!rec)
		rec = kt_record_of(pod, kt->node, &e);
	if (!rec) {
		snprintf(r->error, sizeof(r->error), "%.300s", e.msg);
		goto out;
	}
	patch = kt_resources_patch(rec, qos_of(pod), q->limit_mcpu, 0, &r->orig_mcpu, &e);
	meta = meta_patch(rec);
	rm = meta_patch(NULL);
	if (!patch || !meta || !rm) {
		snprintf(r->error, sizeof(r->error), "%.300s", e.msg[0] ? e.msg : "out of memory");
		goto out;
	}
	/* the record goes first: a limit is never changed without it */
	if (!had && kt->path != KT_PATH_SPEC && patch_meta(kt, r, meta) != 0)
		goto out;
	if (patch_resources(kt, r, patch, meta, &status) == 0) {
		r->ok = true;
		r->limit_mcpu = q->limit_mcpu;
	} else if (!had && r->path != KT_PATH_SPEC) {
		/* nothing changed: take the record off again (its failure is secondary) */
		char keep[KT_MSG_MAX];
		snprintf(keep, sizeof(keep), "%s", r->error);
		patch_meta(kt, r, rm);
		snprintf(r->error, sizeof(r->error), "%s", keep);
	}
out:
	json_decref(pod);
	json_decref(rec);
	json_decref(patch);
	json_decref(meta);
	json_decref(rm);
}

static void do_restore(struct kube_throttle *kt, const struct pending *q, struct kt_result *r)
{
	struct wl_err e = { "" };
	json_t *pod, *rec = NULL, *patch = NULL, *rm = NULL;
	const char *ann;
	bool gone;
	long status;
	int rc;

	(void)q;
	pod = get_pod(kt, r, &gone);
	if (!pod) {
		if (gone) { /* nothing left to restore */
			r->ok = true;
			r->skipped = true;
		}
		return;
	}
	rm = meta_patch(NULL);
	ann = annotation_of(pod);
	if (!ann) {
		r->ok = true;
		r->skipped = true;
		/* a label without its record: take it off */
		if (json_object_get(json_object_get(json_object_get(pod, "metadata"), "labels"), KT_LABEL) &&
		    rm && patch_meta(kt, r, rm) != 0)
			r->ok = false;
		goto out;
	}
	rec = json_loads(ann, 0, NULL);
	if (!json_is_object(rec)) {
		snprintf(r->error, sizeof(r->error), "annotation %s is not a JSON object: left for the "
			 "operator", KT_ANNOTATION);
		goto out;
	}
	if (json_string_value(json_object_get(rec, "method")) &&
	    strcmp(json_string_value(json_object_get(rec, "method")), "cgroup") == 0) {
		char dir[1200];
		bool v2;
		r->path = KT_PATH_CGROUP;
		rc = kt_cgroup_record(kt->cgroot, r, rec, dir, sizeof(dir), &v2);
		if (rc == 0)
			rc = kt_cgroup_apply(r, rec, dir, v2, 0);
		if (rc != 0 && rc != -ENOENT)
			goto out; /* the record stays: the next start retries */
		/* -ENOENT: no cgroup (the pod's sandbox is gone): nothing left to restore */
		if (rm && patch_meta(kt, r, rm) == 0) {
			r->ok = true;
			r->error[0] = '\0';
		}
		goto out;
	}
	patch = kt_resources_patch(rec, qos_of(pod), 0, 0, &r->orig_mcpu, &e);
	if (!patch || !rm) {
		snprintf(r->error, sizeof(r->error), "%.300s", e.msg[0] ? e.msg : "out of memory");
		goto out;
	}
	/* restoring must not be stopped by an earlier "cannot": try every path */
	if (kt->path == KT_PATH_NONE)
		set_path(kt, KT_PATH_UNKNOWN);
	rc = patch_resources(kt, r, patch, rm, &status);
	if (rc != 0 && status == 422 && kt->o.node_mcpu) {
		/* removing a limit the pod did not have refused: the node's CPUs instead */
		json_decref(patch);
		patch = kt_resources_patch(rec, qos_of(pod), 0, kt->o.node_mcpu, NULL, &e);
		if (patch)
			rc = patch_resources(kt, r, patch, rm, &status);
		if (rc == 0)
			snprintf(r->error, sizeof(r->error),
				 "a CPU limit the pod did not have could not be removed: set to the "
				 "node's %" PRIu32 "m", kt->o.node_mcpu);
	}
	if (rc != 0)
		goto out;
	if (r->path == KT_PATH_RESIZE && patch_meta(kt, r, rm) != 0)
		goto out; /* resources back, record still there: the next start retries */
	r->ok = true;
out:
	json_decref(pod);
	json_decref(rec);
	json_decref(patch);
	json_decref(rm);
}

/* ---- queue, results, thread ------------------------------------------------------ */

static void push_result(struct kube_throttle *kt, const struct kt_result *r)
{
	pthread_mutex_lock(&kt->mu);
	if (r->op == KT_SET)
		r->ok ? kt->st.sets_ok++ : kt->st.sets_failed++;
	else
		r->ok ? kt->st.restores_ok++ : kt->st.restores_failed++;
	if (r->recovered && r->ok && !r->skipped)
		kt->st.recovered++;
	if (kt->res_n == KT_RESULTS) {
		kt->res_first = (kt->res_first + 1) % KT_RESULTS;
		kt->res_n--;
		kt->st.results_dropped++;
	}
	kt->res[(kt->res_first + kt->res_n) % KT_RESULTS] = *r;
	kt->res_n++;
	pthread_mutex_unlock(&kt->mu);
}

static void run_one(struct kube_throttle *kt, const struct pending *q, bool recovered)
{
	struct kt_result r;

	memset(&r, 0, sizeof(r));
	snprintf(r.ns, sizeof(r.ns), "%s", q->ns);
	snprintf(r.name, sizeof(r.name), "%s", q->name);
	snprintf(r.uid, sizeof(r.uid), "%s", q->uid);
	r.op = q->op;
	r.recovered = recovered;
	r.path = kt->path;
	if (q->op == KT_SET)
		do_set(kt, q, &r);
	else
		do_restore(kt, q, &r);
	push_result(kt, &r);
}

static const char *str_or(const json_t *v)
{
	const char *s = json_string_value(v);
	return s ? s : "";
}

/* The start-up list: every pod of this node with our label is restored. */
static int recover(struct kube_throttle *kt)
{
	struct strbuf p;
	struct answer a;
	struct kt_result dummy;
	json_t *list = NULL, *items;
	char fsel[300];
	size_t i;
	json_t *it;
	int n = 0;

	memset(&dummy, 0, sizeof(dummy));
	strbuf_init(&p, PATH_MAX_LEN);
	snprintf(fsel, sizeof(fsel), "spec.nodeName=%s", kt->node);
	strbuf_adds(&p, "/api/v1/pods?labelSelector=");
	kube_url_escape(&p, KT_LABEL);
	strbuf_adds(&p, "&fieldSelector=");
	kube_url_escape(&p, fsel);
	if (call(kt, &dummy, "GET", p.buf, NULL, NULL, &a) != 0 || !ok2xx(&a) ||
	    !(list = a.body ? json_loads(a.body, 0, NULL) : NULL)) {
		pthread_mutex_lock(&kt->mu);
		snprintf(kt->st.recovery_error, sizeof(kt->st.recovery_error), "listing throttled "
			 "pods: %.300s", a.msg[0] ? a.msg : "not JSON");
		pthread_mutex_unlock(&kt->mu);
		goto out;
	}
	items = json_object_get(list, "items");
	json_array_foreach(items, i, it) {
		const json_t *md = json_object_get(it, "metadata");
		struct pending q;
		memset(&q, 0, sizeof(q));
		snprintf(q.ns, sizeof(q.ns), "%s", str_or(json_object_get(md, "namespace")));
		snprintf(q.name, sizeof(q.name), "%s", str_or(json_object_get(md, "name")));
		snprintf(q.uid, sizeof(q.uid), "%s", str_or(json_object_get(md, "uid")));
		q.op = KT_RESTORE;
		if (!q.ns[0] || !q.name[0])
			continue;
		run_one(kt, &q, true);
		n++;
	}
out:
	answer_release(&a);
	json_decref(list);
	strbuf_release(&p);
	pthread_mutex_lock(&kt->mu);
	kt->st.recovery_done = true;
	pthread_mutex_unlock(&kt->mu);
	return n;
}

int kube_throttle_run_once(struct kube_throttle *kt)
{
	int n = 0;
	bool need_recovery;

	pthread_mutex_lock(&kt->mu);
	need_recovery = !kt->st.recovery_done;
	pthread_mutex_unlock(&kt->mu);
	if (need_recovery) {
		if (kt->o.no_recovery) {
			pthread_mutex_lock(&kt->mu);
			kt->st.recovery_done = true;
			pthread_mutex_unlock(&kt->mu);
		} else {
			n += recover(kt);
		}
	}
	for (;;) {
		struct pending q;
		pthread_mutex_lock(&kt->mu);
		if (kt->wk.stop || kt->nq == 0) {
			pthread_mutex_unlock(&kt->mu);
			break;
		}
		q = kt->q[0];
		memmove(kt->q, kt->q + 1, (kt->nq - 1) * sizeof(*kt->q));
		kt->nq--;
		pthread_mutex_unlock(&kt->mu);
		run_one(kt, &q, false);
		n++;
	}
	return n;
}

static void *thread_main(void *arg)
{
	struct kube_throttle *kt = arg;

	for (;;) {
		kube_throttle_run_once(kt);
		pthread_mutex_lock(&kt->mu);
		while (!kt->wk.stop && kt->nq == 0)
			pthread_cond_wait(&kt->cv, &kt->mu);
		bool stop = kt->wk.stop;
		pthread_mutex_unlock(&kt->mu);
		if (stop)
			break;
	}
	return NULL;
}

struct kube_throttle *kube_throttle_new(struct kube_config *c, const struct kube_throttle_opts *o,
					struct wl_err *e)
{
	struct kube_throttle *kt;

	if (!o || !o->node || !*o->node || (!c && !o->send)) {
		err_set(e, EINVAL, "kube_throttle: node and an API config (or transport) required");
		return NULL;
	}
	kt = wl_zalloc(sizeof(*kt), NULL, e);
	if (!kt)
		return NULL;
	kt->o = *o;
	snprintf(kt->node, sizeof(kt->node), "%s", o->node);
	kt->o.node = kt->node;
	snprintf(kt->cgroot, sizeof(kt->cgroot), "%s",
		 o->cgroup_root && *o->cgroup_root ? o->cgroup_root : "/sys/fs/cgroup");
	kt->o.cgroup_root = kt->cgroot;
	if (!kt->o.max_queue)
		kt->o.max_queue = 4096;
	if (!kt->o.timeout_ms)
		kt->o.timeout_ms = 10000;
	pthread_mutex_init(&kt->mu, NULL);
	pthread_cond_init(&kt->cv, NULL);
	if (!o->send) {
		struct kube_http_opts ho = { 0 };
		ho.timeout_ms = kt->o.timeout_ms;
		ho.connect_timeout_ms = kt->o.timeout_ms < 5000 ? kt->o.timeout_ms : 5000;
		ho.max_retries = -1;
		ho.max_body = WL_CAP_API_ANSWER;
		kt->http = kube_http_new(c, &ho, e);
		if (!kt->http)
			goto fail;
	}
	if (!o->manual) {
		if (wl_worker_start(&kt->wk, thread_main, kt) != 0) {
			err_set(e, EAGAIN, "kube_throttle: cannot start its thread");
			goto fail;
		}
	}
	return kt;
fail:
	kube_throttle_free(kt);
	return NULL;
}

void kube_throttle_free(struct kube_throttle *kt)
{
	if (!kt)
		return;
	wl_worker_stop(&kt->wk, &kt->mu, &kt->cv);
	kube_http_free(kt->http);
	pthread_cond_destroy(&kt->cv);
	pthread_mutex_destroy(&kt->mu);
	free(kt->q);
	free(kt);
}

int kube_throttle_request(struct kube_throttle *kt, const struct kt_request *r)
{
	struct pending *p = NULL;

	if (!kt || !r || !r->ns || !r->name || !r->uid || !*r->ns || !*r->name ||
	    strlen(r->ns) >= sizeof(p->ns) || strlen(r->name) >= sizeof(p->name) ||
	    strlen(r->uid) >= sizeof(p->uid) || (r->op == KT_SET && !r->limit_mcpu))
		return -EINVAL;
	pthread_mutex_lock(&kt->mu);
	for (size_t i = 0; i < kt->nq && !p; i++)
		if (strcmp(kt->q[i].uid, r->uid) == 0)
			p = &kt->q[i];
	if (!p) {
		if (kt->nq >= kt->o.max_queue) {
			pthread_mutex_unlock(&kt->mu);
			return -ENOSPC;
		}
		if (kt->nq == kt->qcap) {
			size_t nc = kt->qcap ? kt->qcap * 2 : 16;
			struct pending *n = realloc(kt->q, nc * sizeof(*n));
			if (!n) {
				pthread_mutex_unlock(&kt->mu);
				return -ENOMEM;
			}
			kt->q = n;
			kt->qcap = nc;
		}
		p = &kt->q[kt->nq++];
	}
	memset(p, 0, sizeof(*p));
	snprintf(p->ns, sizeof(p->ns), "%s", r->ns);
	snprintf(p->name, sizeof(p->name), "%s", r->name);
	snprintf(p->uid, sizeof(p->uid), "%s", r->uid);
	p->op = r->op;
	p->limit_mcpu = r->limit_mcpu;
	p->cgroup = r->cgroup;
	pthread_cond_signal(&kt->cv);
	pthread_mutex_unlock(&kt->mu);
	return 0;
}

size_t kube_throttle_results(struct kube_throttle *kt, struct kt_result *out, size_t cap)
{
	size_t n = 0;

	pthread_mutex_lock(&kt->mu);
	while (n < cap && kt->res_n) {
		out[n++] = kt->res[kt->res_first];
		kt->res_first = (kt->res_first + 1) % KT_RESULTS;
		kt->res_n--;
	}
	pthread_mutex_unlock(&kt->mu);
	return n;
}

void kube_throttle_stats(struct kube_throttle *kt, struct kube_throttle_stats *out)
{
	pthread_mutex_lock(&kt->mu);
	*out = kt->st;
	pthread_mutex_unlock(&kt->mu);
}
