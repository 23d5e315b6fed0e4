/* kube_writer_send.c - one write each: PodEnergy, NodeEnergy, Event, status apply; a
 * request with the lock dropped, then its outcome accounted and a retry kept
 * (kube_writer_impl.h). */
#include "kube_writer_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "kube_budget.h"

/* Sends one request with the lock NOT held; then takes the lock to account for it
 * (a failure by resource and reason). Returns with the lock held. */
static enum res send_req(struct kube_writer *w, enum kw_resource res, const char *method,
			 const char *path, const char *body, const char *ct, const char *what)
{
	struct wl_err e = { { 0 } };
	long status = 0;
	int rc;
	enum res r;
	enum kw_reason why = KW_REASON_OTHER;

	if (w->o.send) {
		rc = w->o.send(w->o.send_ud, method, path, body, ct, &status, &e);
		if (!rc && (status < 200 || status > 299) && !e.msg[0])
			snprintf(e.msg, sizeof(e.msg), "HTTP %ld", status);
		if (rc || status < 200 || status > 299)
			why = kube_writer_reason_of(rc ? 0 : status, NULL, rc);
	} else {
		struct kube_resp resp;
		rc = kube_http_request(w->http, method, path, body, ct, &resp, &e);
		if (!rc) {
			status = resp.status;
			kube_resp_check(&resp, &e);
		}
		if (rc || status < 200 || status > 299)
			why = kube_writer_reason_of(rc ? 0 : status, rc ? NULL : resp.body, rc);
		kube_resp_release(&resp);
	}
	pthread_mutex_lock(&w->mu);
	w->st.requests++;
	kw_ring_add(&w->req_ring, kw_now(w));
	if (rc != 0 || status == 429 || status >= 500)
		r = R_RETRY;
	else if (status >= 200 && status <= 299)
		r = R_OK;
	else if (status == 404)
		r = R_NOTFOUND;
	else if (status == 422)
		r = R_INVALID;
	else
		r = R_OTHER4XX;
	if (r != R_OK) {
		kw_set_err_locked(w, what, e.msg[0] ? e.msg : "request failed");
		w->st.failures[res][why]++;
		w->st.last_resource = res;
		w->st.last_reason = why;
		w->st.last_error_real_ns = real_ns();
	}
	return r;
}

/* A transport error, 429 or 5xx: every request waits out the backoff (lock held). */
static void back_off_locked(struct kube_writer *w, uint64_t now)
{
	w->st.transport_errors++;
	w->st.backoffs++;
	w->backoff_until_ns = now + (uint64_t)kube_backoff_next_ms(&w->bo) * NS_PER_MS;
}

/* Accounts a failed object write or status apply in *failed and by its outcome (lock
 * held). */
static void fail_locked(struct kube_writer *w, uint64_t *failed, enum res r, uint64_t now)
{
	(*failed)++;
	if (r == R_NOTFOUND)
		w->st.not_found++;
	else if (r == R_INVALID)
		w->st.invalid++;
	if (r == R_RETRY)
		back_off_locked(w, now);
}

/* Accounts an object written: in all writes, in *kind (pod or node writes) and in the
 * ring the write rate is read from (lock held). */
static void ok_locked(struct kube_writer *w, uint64_t *kind, uint64_t now)
{
	w->st.writes_ok++;
	(*kind)++;
	kw_ring_add(&w->writes_ring, now);
}

/* Records what a status write that went through carried (lock held). */
static void written_set(struct kw_written *wr, double watts, double joules, uint64_t hash,
			uint64_t now)
{
	wr->ever = true;
	wr->at_ns = now;
	wr->watts = watts;
	wr->joules = joules;
	wr->hash = hash;
}

/* Applies body (taken: freed here) to a PodEnergy (ns set) or NodeEnergy, or to its
 * /status; called without the lock, returns with it held. *sent counts the request. A
 * body or path that could not be built: R_INVALID with the error set, nothing sent. */
static enum res apply_obj(struct kube_writer *w, enum kw_resource res, char *body,
			  const char *ns, const char *name, bool status, int *sent)
{
	bool pod = res == KW_RES_PODENERGIES;
	const char *kind = pod ? "PodEnergy" : "NodeEnergy";
	char path[MAX_PATH_LEN], what[40];
	enum res r;

	if (!body || kw_object_path(path, sizeof(path), ns, pod ? "podenergies" : "nodeenergies",
				    name, status, w->field_manager)) {
		free(body);
		pthread_mutex_lock(&w->mu);
		kw_set_err_locked(w, kind, "cannot build request");
		return R_INVALID;
	}
	snprintf(what, sizeof(what), "apply %s%s", kind, status ? " status" : "");
	r = send_req(w, res, "PATCH", path, body, APPLY_CT, what);
	(*sent)++;
	free(body);
	return r;
}

/* A PodEnergy/NodeEnergy CRD older than the agent (Helm never upgrades CRDs): server-
 * side apply refuses the whole status ("HTTP 500: ... .status.refreshIntervalSeconds:
 * field not declared in schema"; the same for status.owner, status.display). Leave the
 * fields newer than the first CRDs out from now on (refresh intervals, owner, display);
 * the retry (kept as after any 5xx) goes through. Lock held. */
static void kw_check_crd_outdated(struct kube_writer *w, enum res r)
{
	const char *e = w->st.last_error;

	if (r != R_OK && !w->st.crd_outdated && strstr(e, "field not declared in schema") &&
	    (strstr(e, "efreshIntervalSeconds") || strstr(e, "status.owner") ||
	     strstr(e, "status.display")))
		w->st.crd_outdated = true;
}

/* Writes one pod (lock held on entry and exit; dropped around the requests). */
int kw_write_pod(struct kube_writer *w, struct pslot *s, uint64_t now)
{
	struct kw_pod *p = s->pending;
	char uid[72];
	uint64_t ah = kw_annot_hash(p);
	/* metadata + spec: once, and again when the budget annotation changed */
	bool need_create = !s->created || s->meta_hash != ah, created = s->created;
	bool meta_ok = false;
	enum res r = R_OK;
	int sent = 0;
	uint64_t omitted = 0;
	struct pslot *cur;
	/* the interval it is kept at and the longest it goes unwritten (status) */
	double iv_s = kw_interval_ns(p->interval_s) / 1e9;
	double riv = w->st.crd_outdated ? 0 : iv_s * w->st.stretch;
	double rmax = w->st.crd_outdated
			      ? 0
			      : kube_budget_floor(iv_s, w->st.stretch, w->o.refresh_intervals);

	s->pending = NULL;
	kw_copy_str(uid, sizeof(uid), s->uid);
	pthread_mutex_unlock(&w->mu);

	if (need_create) {
		r = apply_obj(w, KW_RES_PODENERGIES, kw_pod_json(p, 0, NULL, 0, 0), p->ns, p->name,
			      false, &sent);
		if (r != R_OK)
			goto done;
		created = true;
		meta_ok = true;
		pthread_mutex_unlock(&w->mu);
	}
	r = apply_obj(w, KW_RES_PODENERGIES,
		      kw_pod_json(p, w->st.crd_outdated ? 2 : 1, &omitted, riv, rmax), p->ns,
		      p->name, true, &sent);
	if (r == R_NOTFOUND && !need_create)
		created = false; /* deleted behind our back: create it again */
	kw_check_crd_outdated(w, r);
done:
	/* lock held here */
	w->st.values_omitted += omitted;
	w->st.pod_requests += (uint64_t)sent;
	cur = kw_tab_find(w, uid, NULL); /* the pod may have been forgotten meanwhile */
	if (cur) {
		cur->created = created;
		if (meta_ok)
			cur->meta_hash = ah;
		if (!created)
			cur->meta_hash = 0;
		if (r == R_OK) {
			written_set(&cur->wr, p->watts, p->joules, kw_pod_hash(p), now);
			ok_locked(w, &w->st.pod_writes_ok, now);
			kube_backoff_reset(&w->bo);
		} else {
			fail_locked(w, &w->st.writes_failed, r, now);
			w->st.pod_writes_failed++;
			if (r == R_RETRY || (r == R_NOTFOUND && !created && !need_create)) {
				/* keep it for the retry unless a newer one came */
				if (!cur->pending) {
					cur->pending = p;
					p = NULL;
				}
			} else {
				cur->next_try_ns = now + (uint64_t)kw_interval_ns(p->interval_s);
			}
		}
	} else if (r == R_OK) {
		ok_locked(w, &w->st.pod_writes_ok, now);
	}
	free(p);
	return sent;
}

int kw_write_node(struct kube_writer *w, uint64_t now)
{
	struct kw_node *n = w->node_pending;
	bool need_create = !w->node_created;
	enum res r = R_OK;
	int sent = 0;
	uint64_t omitted = 0;
	struct werr_view we;

	w->node_pending = NULL;
	kw_werr_snapshot(w, &we);
	pthread_mutex_unlock(&w->mu);
	if (need_create) {
		r = apply_obj(w, KW_RES_NODEENERGIES, kw_node_json(n, 0, NULL, NULL), NULL, n->name,
			      false, &sent);
		if (r != R_OK)
			goto done;
		w->node_created = true;
		pthread_mutex_unlock(&w->mu);
	}
	r = apply_obj(w, KW_RES_NODEENERGIES,
		      kw_node_json(n, w->st.crd_outdated ? 2 : 1, &we, &omitted), NULL, n->name,
		      true, &sent);
	if (r == R_NOTFOUND)
		w->node_created = false;
	kw_check_crd_outdated(w, r);
done:
	w->st.values_omitted += omitted;
	w->st.node_requests += (uint64_t)sent;
	if (strcmp(w->node_key, n->name) == 0) {
		if (r == R_OK) {
			written_set(&w->node_wr, n->watts, n->joules, kw_node_hash(n), now);
			w->node_w_failures = we.total;
			ok_locked(w, &w->st.node_writes_ok, now);
			kube_backoff_reset(&w->bo);
		} else {
			fail_locked(w, &w->st.writes_failed, r, now);
			w->st.node_writes_failed++;
			if ((r == R_RETRY || (r == R_NOTFOUND && !need_create)) &&
			    !w->node_pending) {
				w->node_pending = n;
				n = NULL;
			} else if (r != R_RETRY) {
				w->node_next_try_ns =
					now + (uint64_t)w->o.node_interval_s * NS_PER_S;
			}
		}
	}
	free(n);
	return sent;
}

int kw_send_event(struct kube_writer *w, uint64_t now)
{
	struct kw_event *ev = w->evq[w->evq_head];
	const char *ns = kw_nonempty(ev->ns) ? ev->ns : "default";
	char path[MAX_PATH_LEN], node[254];
	struct strbuf sb;
	char *body;
	enum res r = R_INVALID;

	w->evq_head = (w->evq_head + 1) % w->o.event_queue;
	w->evq_len--;
	kw_copy_str(node, sizeof(node), w->node_name);
	pthread_mutex_unlock(&w->mu);
	strbuf_init(&sb, sizeof(path));
	strbuf_adds(&sb, "/api/v1/namespaces/");
	kube_url_escape(&sb, ns);
	strbuf_adds(&sb, "/events");
	body = kw_event_json(ev, node, ns);
	if (body && !sb.overflow) {
		r = send_req(w, KW_RES_EVENTS, "POST", sb.buf, body, "application/json",
			     "create Event");
		w->st.event_requests++;
		kw_other_add(w, now);
	} else {
		pthread_mutex_lock(&w->mu);
		kw_set_err_locked(w, "Event", "cannot build request");
	}
	strbuf_release(&sb);
	free(body);
	if (r == R_OK) {
		w->st.events_sent++;
	} else {
		w->st.events_dropped++;
		if (r == R_RETRY)
			back_off_locked(w, now);
	}
	free(ev);
	return 1;
}

/* Sends the oldest pending status apply (lock held on entry and exit). */
int kw_send_apply(struct kube_writer *w, uint64_t now)
{
	struct apply *a = w->ap[0];
	struct strbuf sb;
	enum res r = R_INVALID;

	memmove(w->ap, w->ap + 1, (w->n_ap - 1) * sizeof(*w->ap));
	w->n_ap--;
	pthread_mutex_unlock(&w->mu);
	strbuf_init(&sb, MAX_PATH_LEN);
	strbuf_adds(&sb, a->path);
	kw_apply_query(&sb, a->fm);
	if (!sb.overflow) {
		r = send_req(w, KW_RES_STATUS, "PATCH", sb.buf, a->body, APPLY_CT, "apply status");
		kw_other_add(w, now);
	} else {
		pthread_mutex_lock(&w->mu);
		kw_set_err_locked(w, "status", "cannot build request");
	}
	strbuf_release(&sb);
	if (r == R_OK) {
		w->st.applies_ok++;
		kube_backoff_reset(&w->bo);
	} else {
		fail_locked(w, &w->st.applies_failed, r, now);
	}
	if (r == R_RETRY) {
		bool newer = false;
		for (size_t i = 0; i < w->n_ap && !newer; i++)
			newer = strcmp(w->ap[i]->key, a->key) == 0;
		if (!newer && w->n_ap < w->o.max_applies) {
			/* first again: it is the oldest */
			memmove(w->ap + 1, w->ap, w->n_ap * sizeof(*w->ap));
			w->ap[0] = a;
			w->n_ap++;
			a = NULL;
		}
	}
	free(a);
	return 1;
}
