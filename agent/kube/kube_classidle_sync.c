/* kube_classidle_sync.c - the NodeClassIdle thread (see kube_classidle.h). */
#include "../common/caps.h"
#include "kube_classidle.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/strbuf.h"
#include "../common/worker.h"
#include "kube_http.h"

#define CI_PATH "/apis/wattlet.dev/v1alpha1/nodeclassidles/"
#define CI_BODY_MAX WL_CAP_API_OBJECT
#define CI_RETRY_MS 30000 /* after a failed GET or publish */

struct kube_classidle {
	struct kube_config *kc;
	struct kube_http *http;
	char node[CI_NODE_MAX];
	char key[CI_KEY_MAX];
	struct ci_hw hw;
	uint64_t refresh_ms, publish_ms;
	int64_t max_age_s;
	struct wl_worker wk; /* the thread; sleeps on cv */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ci_entry local;      /* newest offer; zone_mask 0: none */
	bool have_local;
	struct ci_entry ent[CI_MAX_NODES * 2];
	size_t n_ent;
	struct ci_stats st;
	uint64_t seed;

	/* thread only */
	uint64_t last_pub_ms;       /* mono ms; 0: never */
	bool pub_retry;
};

static uint64_t mono_ms(void)
{
	return mono_ns() / 1000000ull;
}

static uint64_t jitter(struct kube_classidle *ci, uint64_t ms)
{
	/* +-20 %: xorshift, seeded by the node name */
	ci->seed ^= ci->seed << 13;
	ci->seed ^= ci->seed >> 7;
	ci->seed ^= ci->seed << 17;
	return ms * 8 / 10 + (ms ? ci->seed % (ms * 4 / 10 + 1) : 0);
}

static void fail(struct kube_classidle *ci, bool get, const char *fmt_what, const struct wl_err *e)
{
	pthread_mutex_lock(&ci->mu);
	if (get)
		ci->st.get_failures++;
	else
		ci->st.publish_failures++;
	ci->st.errors++;
	snprintf(ci->st.last_error, sizeof(ci->st.last_error), "%s: %.400s", fmt_what, e->msg);
	pthread_mutex_unlock(&ci->mu);
}

/* GET the object; 0 (found or not: st.found), -errno on failure. */
static int do_get(struct kube_classidle *ci)
{
	struct kube_resp r;
	struct wl_err e = { "" };
	struct ci_entry *tmp = calloc(CI_MAX_NODES * 2, sizeof(*tmp));
	size_t n = 0, total = 0, bad = 0;
	int rc;

	if (!tmp)
		return -ENOMEM;
	{
		char path[sizeof(CI_PATH) + CI_KEY_MAX];
		snprintf(path, sizeof(path), "%s%s", CI_PATH, ci->key);
		rc = kube_http_request(ci->http, "GET", path, NULL, NULL, &r, &e);
	}
	if (rc == 0 && r.status == 404) {
		kube_resp_release(&r);
		free(tmp);
		pthread_mutex_lock(&ci->mu);
		ci->st.gets++;
		ci->st.found = false;
		ci->st.entries = 0;
		ci->n_ent = 0;
		pthread_mutex_unlock(&ci->mu);
		return 0;
	}
	if (rc == 0)
		rc = kube_resp_check(&r, &e);
	if (rc == 0)
		rc = ci_parse(r.body ? r.body : "", r.len, tmp, CI_MAX_NODES * 2, &n, &total, &bad,
			      &e);
	kube_resp_release(&r);
	if (rc) {
		free(tmp);
		fail(ci, true, "GET nodeclassidles", &e);
		return rc;
	}
	pthread_mutex_lock(&ci->mu);
	ci->st.gets++;
	ci->st.found = true;
	ci->st.entries = total;
	memcpy(ci->ent, tmp, n * sizeof(*tmp));
	ci->n_ent = n;
	pthread_mutex_unlock(&ci->mu);
	free(tmp);
	return 0;
}

static int request(struct kube_classidle *ci, const char *method, const char *path,
		   const char *body, const char *ctype, struct wl_err *e)
{
	struct kube_resp r;
	int rc = kube_http_request(ci->http, method, path, body, ctype, &r, e);

	if (rc == 0)
		rc = kube_resp_check(&r, e);
	kube_resp_release(&r);
	return rc;
}

/* Publishes `mine`; 1 when skipped because the object is full of fresh entries. */
static int do_publish(struct kube_classidle *ci, const struct ci_entry *mine)
{
	char path[sizeof(CI_PATH) + CI_KEY_MAX + 8];
	const char *evict = NULL;
	char evict_buf[CI_NODE_MAX];
	struct wl_err e = { "" };
	bool found, full;
	char *body, *cbody;
	int rc;

	pthread_mutex_lock(&ci->mu);
	found = ci->st.found;
	full = found && ci_evict_pick(ci->ent, ci->n_ent, ci->st.entries, mine->node,
				      mine->time_s, ci->max_age_s, &evict) == 1;
	if (evict) {
		snprintf(evict_buf, sizeof(evict_buf), "%s", evict);
		evict = evict_buf;
	}
	if (full)
		ci->st.full++;
	pthread_mutex_unlock(&ci->mu);
	if (full)
		return 1;
	snprintf(path, sizeof(path), "%s%s/status", CI_PATH, ci->key);
	body = ci_patch_body(mine, evict);
	if (found) {
		rc = body ? request(ci, "PATCH", path, body, "application/merge-patch+json", &e)
			  : -ENOMEM;
		if (rc != -ENOENT)
			goto done;
	}
	/* create (the API ignores status on create with the status subresource), then
	 * patch the status; 409: another node created it first */
	cbody = ci_create_body(ci->key, &ci->hw, mine);
	rc = cbody ? request(ci, "POST", CI_PATH, cbody, NULL, &e) : -ENOMEM;
	free(cbody);
	if (rc == 0 || rc == -EEXIST)
		rc = body ? request(ci, "PATCH", path, body, "application/merge-patch+json", &e)
			  : -ENOMEM;
done:
	free(body);
	if (rc) {
		if (rc == -ENOMEM)
			err_set(&e, ENOMEM, "out of memory");
		fail(ci, false, "publish nodeclassidles", &e);
		return rc;
	}
	pthread_mutex_lock(&ci->mu);
	ci->st.publishes++;
	if (evict)
		ci->st.evictions++;
	pthread_mutex_unlock(&ci->mu);
	return 0;
}

static void *run(void *arg)
{
	struct kube_classidle *ci = arg;
	uint64_t next_get = 0; /* at once */
	struct ci_entry mine;

	for (;;) {
		uint64_t now = mono_ms(), wake;
		bool pub = false, got = false;

		if (now >= next_get) {
			got = do_get(ci) == 0;
			next_get = now + (got ? jitter(ci, ci->refresh_ms) : CI_RETRY_MS);
		}
		pthread_mutex_lock(&ci->mu);
		if (ci->wk.stop) {
			pthread_mutex_unlock(&ci->mu);
			break;
		}
		if (ci->have_local && (!ci->last_pub_ms || now - ci->last_pub_ms >=
				       (ci->pub_retry ? CI_RETRY_MS : ci->publish_ms))) {
			mine = ci->local;
			pub = true;
		}
		pthread_mutex_unlock(&ci->mu);
		if (pub) {
			if (!got && now + 1000 < next_get - CI_RETRY_MS / 2)
				do_get(ci); /* merge against what is there now */
			int rc = do_publish(ci, &mine);
			ci->last_pub_ms = mono_ms();
			ci->pub_retry = rc < 0;
			if (rc == 0)
				next_get = 0; /* show our own entry in the class value */
		}
		now = mono_ms();
		wake = next_get;
		pthread_mutex_lock(&ci->mu);
		if (ci->have_local && ci->last_pub_ms) {
			uint64_t due = ci->last_pub_ms + (ci->pub_retry ? CI_RETRY_MS : ci->publish_ms);
			if (due < wake)
				wake = due;
		}
		if (!ci->wk.stop && wake > now) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t ns = (uint64_t)ts.tv_nsec + (wake - now) * 1000000ull;
			ts.tv_sec += (time_t)(ns / 1000000000ull);
			ts.tv_nsec = (long)(ns % 1000000000ull);
			/* woken early by an offer (first confidence) or stop */
			pthread_cond_timedwait(&ci->cv, &ci->mu, &ts);
		}
		bool stop = ci->wk.stop;
		pthread_mutex_unlock(&ci->mu);
		if (stop)
			break;
	}
	return NULL;
}

struct kube_classidle *kube_classidle_new(struct kube_config *kc, const struct ci_opts *o,
					  struct wl_err *e)
{
	struct kube_classidle *ci = calloc(1, sizeof(*ci));
	struct kube_http_opts ho = { .connect_timeout_ms = 3000, .timeout_ms = 10000,
				     .max_body = CI_BODY_MAX, .max_retries = -1 };

	if (!ci) {
		kube_config_free(kc);
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	ci->kc = kc;
	if (!o->node || !*o->node || strlen(o->node) >= sizeof(ci->node) || !o->key ||
	    !*o->key || strlen(o->key) >= sizeof(ci->key)) {
		err_set(e, EINVAL, "NodeClassIdle: bad node name or class key");
		goto fail;
	}
	snprintf(ci->node, sizeof(ci->node), "%s", o->node);
	snprintf(ci->key, sizeof(ci->key), "%s", o->key);
	if (o->hw)
		ci->hw = *o->hw;
	ci->refresh_ms = o->refresh_ms ? o->refresh_ms : 300000;
	ci->publish_ms = o->publish_ms ? o->publish_ms : 3600000;
	ci->max_age_s = o->max_age_s ? o->max_age_s : 7 * 86400;
	ci->seed = str_hash(ci->node) | 1;
	ci->http = kube_http_new(kc, &ho, e);
	if (!ci->http)
		goto fail;
	pthread_mutex_init(&ci->mu, NULL);
	wl_cond_init_monotonic(&ci->cv);
	if (wl_worker_start(&ci->wk, run, ci) != 0) {
		err_set(e, EAGAIN, "NodeClassIdle: cannot start a thread");
		pthread_cond_destroy(&ci->cv);
		pthread_mutex_destroy(&ci->mu);
		goto fail;
	}
	return ci;
fail:
	kube_http_free(ci->http);
	kube_config_free(ci->kc);
	free(ci);
	return NULL;
}

void kube_classidle_free(struct kube_classidle *ci)
{
	if (!ci)
		return;
	if (ci->wk.started) {
		wl_worker_stop(&ci->wk, &ci->mu, &ci->cv);
		pthread_cond_destroy(&ci->cv);
		pthread_mutex_destroy(&ci->mu);
	}
	kube_http_free(ci->http);
	kube_config_free(ci->kc);
	free(ci);
}

void kube_classidle_offer(struct kube_classidle *ci, const struct ci_entry *local)
{
	pthread_mutex_lock(&ci->mu);
	bool first = !ci->have_local;
	ci->local = *local;
	snprintf(ci->local.node, sizeof(ci->local.node), "%s", ci->node);
	ci->local.time_s = (int64_t)(real_ns() / 1000000000ull);
	ci->have_local = local->zone_mask != 0;
	if (first && ci->have_local)
		pthread_cond_signal(&ci->cv); /* first confidence: publish now */
	pthread_mutex_unlock(&ci->mu);
}

void kube_classidle_value(struct kube_classidle *ci, const char *meter, double w[ZONE_COUNT],
			  unsigned used[ZONE_COUNT])
{
	pthread_mutex_lock(&ci->mu);
	ci_merge(ci->ent, ci->n_ent, meter, (int64_t)(real_ns() / 1000000000ull), ci->max_age_s,
		 w, used);
	pthread_mutex_unlock(&ci->mu);
}

void kube_classidle_stats(struct kube_classidle *ci, struct ci_stats *out)
{
	pthread_mutex_lock(&ci->mu);
	*out = ci->st;
	pthread_mutex_unlock(&ci->mu);
}
