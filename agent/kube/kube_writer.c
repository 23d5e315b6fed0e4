/* kube_writer.c - PodEnergy / NodeEnergy / Event writes on a thread of their own
 * (kube_writer.h): the public calls, the pod table, the thread and its lifecycle. The
 * rest of the writer is split by job (kube_writer_impl.h lists the files). */
#include "../common/caps.h"
#include "kube_writer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube_writer_impl.h"

uint64_t kw_now(const struct kube_writer *w)
{
	return w->o.now_ns ? w->o.now_ns(w->o.clock_ud) : mono_ns();
}

/* ---- the pod table ------------------------------------------------------------------ */

static size_t slot_of(const struct kube_writer *w, const char *uid)
{
	return (size_t)kw_fnv(1469598103934665603ull, uid) & (w->tab_cap - 1);
}

struct pslot *kw_tab_find(const struct kube_writer *w, const char *uid, size_t *idx)
{
	size_t i = slot_of(w, uid);
	for (size_t n = 0; n < w->tab_cap; n++, i = (i + 1) & (w->tab_cap - 1)) {
		if (!w->tab[i])
			return NULL;
		if (strcmp(w->tab[i]->uid, uid) == 0) {
			if (idx)
				*idx = i;
			return w->tab[i];
		}
	}
	return NULL;
}

static void tab_insert(struct kube_writer *w, struct pslot *s)
{
	size_t i = slot_of(w, s->uid);
	while (w->tab[i])
		i = (i + 1) & (w->tab_cap - 1);
	w->tab[i] = s;
	w->n_pods++;
}

static void tab_remove(struct kube_writer *w, size_t i)
{
	size_t j = i;
	w->tab[i] = NULL;
	w->n_pods--;
	for (;;) {
		size_t k;
		j = (j + 1) & (w->tab_cap - 1);
		if (!w->tab[j])
			return;
		k = slot_of(w, w->tab[j]->uid);
		/* move tab[j] to the hole at i when its home k is not in (i, j] cyclically */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			w->tab[i] = w->tab[j];
			w->tab[j] = NULL;
			i = j;
		}
	}
}

/* ---- public: offers --------------------------------------------------------------------- */

int kube_writer_offer_pod(struct kube_writer *w, const struct kw_pod *snap)
{
	struct kw_pod *d, *old = NULL;
	struct pslot *s;
	size_t cut = 0;
	bool fresh = false;

	if (!w || !snap || !kw_nonempty(snap->ns) || !kw_nonempty(snap->name) ||
	    !kw_nonempty(snap->uid) || !kw_nonempty(snap->node) || strlen(snap->uid) >= sizeof(s->uid))
		return -EINVAL;
	d = kw_pod_dup(snap, &cut);
	if (!d)
		return -ENOMEM;
	pthread_mutex_lock(&w->mu);
	w->st.containers_cut += cut;
	s = kw_tab_find(w, snap->uid, NULL);
	if (!s) {
		if (w->n_pods >= w->o.max_pods) {
			w->st.dropped_cap++;
			pthread_mutex_unlock(&w->mu);
			free(d);
			return -ENOSPC;
		}
		s = calloc(1, sizeof(*s));
		if (!s) {
			pthread_mutex_unlock(&w->mu);
			free(d);
			return -ENOMEM;
		}
		kw_copy_str(s->uid, sizeof(s->uid), snap->uid);
		tab_insert(w, s);
		fresh = true;
	}
	old = s->pending;
	s->pending = d;
	{ /* the budget's demand: sum of 1/interval over tracked pods */
		unsigned iv = snap->interval_s ? snap->interval_s : KW_DEFAULT_INTERVAL_S;
		if (s->iv_s != iv) {
			if (s->iv_s)
				w->pod_demand -= 1.0 / s->iv_s;
			w->pod_demand += 1.0 / iv;
			s->iv_s = iv;
		}
	}
	if (fresh)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	free(old);
	return 0;
}

int kube_writer_offer_node(struct kube_writer *w, const struct kw_node *snap)
{
	struct kw_node *d, *old;
	uint64_t rn = real_ns();

	if (!w || !snap || !kw_nonempty(snap->name))
		return -EINVAL;
	d = kw_node_dup(snap);
	if (!d)
		return -ENOMEM;
	pthread_mutex_lock(&w->mu);
	/* lastTransitionTime the writer keeps: when it first saw each type's status */
	for (size_t i = 0; i < d->n_conditions; i++) {
		struct kw_condition *c = (struct kw_condition *)&d->conditions[i];
		struct cond_state *cs = NULL;
		if (c->last_transition_ns || !c->type || !c->status)
			continue;
		for (size_t j = 0; j < w->n_conds; j++)
			if (strcmp(w->conds[j].type, c->type) == 0)
				cs = &w->conds[j];
		if (!cs && w->n_conds < KW_MAX_CONDITIONS) {
			cs = &w->conds[w->n_conds++];
			kw_copy_str(cs->type, sizeof(cs->type), c->type);
			cs->status[0] = '\0';
		}
		if (!cs) {
			c->last_transition_ns = rn;
			continue;
		}
		if (strcmp(cs->status, c->status) != 0) {
			kw_copy_str(cs->status, sizeof(cs->status), c->status);
			cs->since_ns = rn;
		}
		c->last_transition_ns = cs->since_ns;
	}
	if (strcmp(w->node_key, d->name) != 0) { /* another node name: a new object */
		kw_copy_str(w->node_key, sizeof(w->node_key), d->name);
		w->node_created = w->node_wr.ever = false;
		w->node_next_try_ns = 0;
		pthread_cond_signal(&w->cv);
	}
	old = w->node_pending;
	w->node_pending = d;
	pthread_mutex_unlock(&w->mu);
	free(old);
	return 0;
}

int kube_writer_forget_pod(struct kube_writer *w, const char *uid)
{
	struct pslot *s;
	size_t i;
	if (!w || !uid)
		return -EINVAL;
	pthread_mutex_lock(&w->mu);
	s = kw_tab_find(w, uid, &i);
	if (s) {
		tab_remove(w, i);
		if (s->iv_s)
			w->pod_demand -= 1.0 / s->iv_s;
		if (!w->n_pods || w->pod_demand < 0)
			w->pod_demand = 0; /* no float drift left behind */
	}
	pthread_mutex_unlock(&w->mu);
	if (!s)
		return -ENOENT;
	free(s->pending);
	free(s);
	return 0;
}

int kube_writer_event(struct kube_writer *w, const struct kw_event *ev)
{
	struct kw_event *d;
	uint64_t key, now;
	int rc = 0;

	if (!w || !ev || !kw_nonempty(ev->kind) || !kw_nonempty(ev->name) || !kw_nonempty(ev->reason) ||
	    !kw_nonempty(ev->api_version))
		return -EINVAL;
	key = kw_fnv(kw_fnv(kw_fnv(kw_fnv(1469598103934665603ull, ev->kind), ev->ns), ev->name), ev->reason);
	d = kw_event_dup(ev);
	if (!d)
		return -ENOMEM;
	pthread_mutex_lock(&w->mu);
	now = kw_now(w);
	for (size_t i = 0; i < RECENT_EVENTS; i++)
		if (w->recent[i].at_ns && w->recent[i].key == key &&
		    now - w->recent[i].at_ns < (uint64_t)w->o.event_min_gap_s * NS_PER_S) {
			w->st.events_suppressed++;
			rc = -EALREADY;
			goto cleanup;
		}
	if (w->evq_len >= w->o.event_queue) {
		w->st.events_dropped++;
		rc = -ENOSPC;
		goto cleanup;
	}
	w->recent[w->recent_next].key = key;
	w->recent[w->recent_next].at_ns = now ? now : 1;
	w->recent_next = (w->recent_next + 1) % RECENT_EVENTS;
	w->evq[(w->evq_head + w->evq_len) % w->o.event_queue] = d;
	w->evq_len++;
	d = NULL;
	pthread_cond_signal(&w->cv);
cleanup:
	pthread_mutex_unlock(&w->mu);
	free(d);
	return rc;
}

int kube_writer_offer_status(struct kube_writer *w, const char *key, const char *path,
			     const char *field_manager, const char *json_body)
{
	struct apply *a, *old = NULL;
	size_t kl, pl, fl, bl;
	char *p;
	int rc = 0;

	if (!w || !kw_nonempty(key) || !path || path[0] != '/' || strchr(path, '?') ||
	    !kw_nonempty(json_body))
		return -EINVAL;
	if (!field_manager)
		field_manager = w->field_manager;
	kl = strlen(key);
	pl = strlen(path);
	fl = strlen(field_manager);
	bl = strlen(json_body);
	if (!fl || fl > KW_FIELD_MANAGER_MAX || kl > 1024 || pl > MAX_PATH_LEN / 2 ||
	    bl > KW_APPLY_BODY_MAX)
		return -EINVAL;
	a = malloc(sizeof(*a) + kl + pl + fl + bl + 4);
	if (!a)
		return -ENOMEM;
	p = (char *)(a + 1);
	a->key = memcpy(p, key, kl + 1);
	p += kl + 1;
	a->path = memcpy(p, path, pl + 1);
	p += pl + 1;
	a->fm = memcpy(p, field_manager, fl + 1);
	p += fl + 1;
	a->body = memcpy(p, json_body, bl + 1);
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->n_ap; i++)
		if (strcmp(w->ap[i]->key, key) == 0) {
			old = w->ap[i];
			w->ap[i] = a; /* newest body, same turn */
			a = NULL;
			break;
		}
	if (a) {
		if (w->n_ap >= w->o.max_applies) {
			w->st.applies_dropped++;
			rc = -ENOSPC;
			old = a;
		} else {
			w->ap[w->n_ap++] = a;
			pthread_cond_signal(&w->cv);
		}
	}
	pthread_mutex_unlock(&w->mu);
	free(old);
	return rc;
}

void kube_writer_kick(struct kube_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->kicked = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* ---- the thread ------------------------------------------------------------------------- */

static void *writer_main(void *arg)
{
	struct kube_writer *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->wk.stop) {
		uint64_t next_ms = UINT64_MAX;
		struct timespec ts;
		uint64_t until;
		w->kicked = false;
		pthread_mutex_unlock(&w->mu);
		kube_writer_run_once(w, &next_ms);
		pthread_mutex_lock(&w->mu);
		if (w->wk.stop || w->kicked)
			continue;
		/* new offers do not always signal: look again at least once a second */
		if (next_ms > 1000)
			next_ms = 1000;
		until = mono_ns() + next_ms * NS_PER_MS;
		ts.tv_sec = (time_t)(until / NS_PER_S);
		ts.tv_nsec = (long)(until % NS_PER_S);
		while (!w->wk.stop && !w->kicked && mono_ns() < until)
			if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

struct kube_writer *kube_writer_new(struct kube_config *c, const struct kube_writer_opts *o,
				    struct wl_err *e)
{
	struct kube_writer *w = wl_zalloc(sizeof(*w), NULL, e);
	size_t cap = 16;

	if (!w)
		return NULL;
	if (o)
		w->o = *o;
	if (!w->o.max_pods)
		w->o.max_pods = 4096;
	if (!w->o.node_interval_s)
		w->o.node_interval_s = 30;
	if (!w->o.refresh_intervals)
		w->o.refresh_intervals = 10;
	if (!(w->o.min_dwatts > 0))
		w->o.min_dwatts = 0.1;
	if (!(w->o.rel_dwatts > 0))
		w->o.rel_dwatts = 0.05;
	if (!(w->o.rel_djoules > 0))
		w->o.rel_djoules = 0.01;
	if (!(w->o.rate_per_s > 0))
		w->o.rate_per_s = 5;
	if (!(w->o.burst >= 1))
		w->o.burst = 10;
	if (!w->o.backoff_base_ms)
		w->o.backoff_base_ms = 500;
	if (!w->o.backoff_max_ms)
		w->o.backoff_max_ms = 60000;
	if (!w->o.event_queue)
		w->o.event_queue = 16;
	if (!w->o.event_min_gap_s)
		w->o.event_min_gap_s = 60;
	if (!w->o.max_applies)
		w->o.max_applies = 256;
	if (!w->o.timeout_ms)
		w->o.timeout_ms = 10000;
	kw_copy_str(w->field_manager, sizeof(w->field_manager),
		 w->o.field_manager ? w->o.field_manager : "wattlet");
	kw_copy_str(w->node_name, sizeof(w->node_name), w->o.node_name);
	w->o.field_manager = NULL;
	w->o.node_name = NULL;
	while (cap < (size_t)w->o.max_pods * 2)
		cap <<= 1;
	w->tab_cap = cap;
	w->tab = calloc(cap, sizeof(*w->tab));
	w->evq = calloc(w->o.event_queue, sizeof(*w->evq));
	w->ap = calloc(w->o.max_applies, sizeof(*w->ap));
	if (!w->tab || !w->evq || !w->ap) {
		err_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	kube_backoff_init(&w->bo, w->o.backoff_base_ms, w->o.backoff_max_ms);
	w->tokens = w->o.burst;
	w->tokens_at_ns = kw_now(w);
	w->rate = w->o.rate_per_s;
	w->burst_cap = w->o.burst;
	w->st.stretch = 1;
	if (!isfinite(w->o.cluster_budget_per_s) || !isfinite(w->o.node_ceiling_per_s) ||
	    w->o.cluster_budget_per_s < 0 || w->o.node_ceiling_per_s < 0) {
		err_set(e, EINVAL, "kube_writer: write budget %g/s, ceiling %g/s per node: not "
				   "numbers >= 0", w->o.cluster_budget_per_s, w->o.node_ceiling_per_s);
		goto fail;
	}
	if (w->o.cluster_budget_per_s > 0) {
		w->st.budget = true;
		w->rng = kw_fnv_u64(kw_fnv(1469598103934665603ull, w->node_name), mono_ns()) | 1;
		if (w->o.node_count_override) {
			w->st.nodes = w->o.node_count_override;
			w->st.nodes_source = KW_NODES_OVERRIDE;
		} else {
			w->st.nodes_source = KW_NODES_UNKNOWN;
			if (w->o.send)
				kw_copy_str(w->st.nodes_error, sizeof(w->st.nodes_error),
					 "an injected transport cannot read the node count "
					 "(set node_count_override)");
		}
		kw_budget_update(w, w->tokens_at_ns);
		/* a whole-cluster rollout starts at the budget, not N bursts: the bucket
		 * starts empty, at a random phase of the first create's two tokens, so
		 * agents started in the same second do not send in step */
		w->tokens = -2.0 * kw_urand01(w);
		w->otokens_at_ns = w->tokens_at_ns;
	}
	if (!w->o.send) {
		struct kube_http_opts ho = { 0 };
		if (!c) {
			err_set(e, EINVAL, "kube_writer: no API config");
			goto fail;
		}
		ho.timeout_ms = w->o.timeout_ms;
		ho.connect_timeout_ms = w->o.timeout_ms < 5000 ? w->o.timeout_ms : 5000;
		ho.max_retries = -1; /* the writer backs off itself, interruptibly */
		ho.max_body = WL_CAP_API_ANSWER;
		w->http = kube_http_new(c, &ho, e);
		if (!w->http)
			goto fail;
	}
	pthread_mutex_init(&w->mu, NULL);
	wl_cond_init_monotonic(&w->cv);
	if (!w->o.manual) {
		int rc;
		rc = wl_worker_start(&w->wk, writer_main, w);
		if (rc) {
			err_set(e, -rc, "kube_writer: cannot start thread: %s", strerror(-rc));
			pthread_cond_destroy(&w->cv);
			pthread_mutex_destroy(&w->mu);
			goto fail;
		}
	}
	return w;
fail:
	kube_http_free(w->http);
	free(w->tab);
	free(w->evq);
	free(w->ap);
	free(w);
	return NULL;
}

void kube_writer_free(struct kube_writer *w)
{
	if (!w)
		return;
	wl_worker_stop(&w->wk, &w->mu, &w->cv);
	for (size_t i = 0; i < w->tab_cap; i++)
		if (w->tab[i]) {
			free(w->tab[i]->pending);
			free(w->tab[i]);
		}
	for (size_t i = 0; i < w->evq_len; i++)
		free(w->evq[(w->evq_head + i) % w->o.event_queue]);
	free(w->node_pending);
	for (size_t i = 0; i < w->n_ap; i++)
		free(w->ap[i]);
	free(w->ap);
	free(w->tab);
	free(w->evq);
	kube_http_free(w->http);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
