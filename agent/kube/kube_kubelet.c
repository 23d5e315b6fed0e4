#include "kube_kubelet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "../common/strbuf.h"
#include "kube_backoff.h"
#include "kube_http.h"
#include "kube_watch.h"

struct kube_kubelet {
	struct kube_config *cfg;
	struct kube_kubelet_opts o;
	char *node, *addr, *url, *connect_to;
	struct kube_pods *pods;
	/* kubelet mode */
	CURLM *m;
	CURL *h;
	struct curl_slist *connect_list;
	struct kube_xfer x;
	bool active;
	uint64_t next_ns;      /* next periodic (or retry) refresh */
	uint64_t last_start_ns; /* for the on-demand rate limit */
	bool want_now;
	struct kube_backoff bo;
	/* apiserver mode */
	struct kube_watch *w;
	struct kube_kubelet_stats stats;
};

static void fail(struct kube_kubelet *k, const char *what, const char *msg)
{
	snprintf(k->stats.last_error, sizeof(k->stats.last_error), "%.40s: %.200s", what, msg);
	k->stats.failures++;
}

static void on_pod_event(enum kube_ev_type t, json_t *obj, void *ud)
{
	struct kube_kubelet *k = ud;
	struct wl_err e = { { 0 } };

	switch (t) {
	case KUBE_EV_SYNC_BEGIN:
		kube_pods_begin_sync(k->pods);
		break;
	case KUBE_EV_SYNC_END:
		kube_pods_end_sync(k->pods);
		k->stats.synced = true;
		k->stats.refreshes++;
		break;
	case KUBE_EV_ADDED:
	case KUBE_EV_MODIFIED:
		if (kube_pods_upsert(k->pods, obj, &e))
			fail(k, "pod watch", e.msg);
		else if (k->stats.synced)
			k->stats.refreshes++;
		break;
	case KUBE_EV_DELETED:
		kube_pods_remove(k->pods, obj);
		break;
	default:
		break;
	}
}

void kube_kubelet_free(struct kube_kubelet *k)
{
	if (!k)
		return;
	if (k->m && k->h && k->active)
		curl_multi_remove_handle(k->m, k->h);
	curl_easy_cleanup(k->h);
	curl_multi_cleanup(k->m);
	curl_slist_free_all(k->connect_list);
	kube_xfer_release(&k->x);
	kube_watch_free(k->w);
	kube_pods_free(k->pods);
	free(k->node);
	free(k->addr);
	free(k->url);
	free(k->connect_to);
	free(k);
}

static char *fmt_dup(const char *fmt, const char *a, unsigned port)
{
	struct strbuf sb;
	strbuf_init(&sb, 1024);
	strbuf_addf(&sb, fmt, a, port);
	if (sb.overflow) {
		strbuf_release(&sb);
		return NULL;
	}
	return sb.buf;
}

struct kube_kubelet *kube_kubelet_new(struct kube_config *c, const struct kube_kubelet_opts *o,
				      struct wl_err *e)
{
	struct kube_kubelet *k;
	unsigned port;
	int err = 0;

	if (!c || !o || !o->node || !*o->node || strpbrk(o->node, "/?#@ :")) {
		err_set(e, EINVAL, "kube_kubelet_new: a config and a valid node name are required");
		return NULL;
	}
	k = wl_zalloc(sizeof(*k), NULL, e);
	if (!k)
		return NULL;
	k->cfg = c;
	k->o = *o;
	port = o->kubelet_port ? o->kubelet_port : 10250;
	if (!k->o.refresh_s)
		k->o.refresh_s = 30;
	if (!k->o.min_refresh_ms)
		k->o.min_refresh_ms = 5000;
	k->node = strdup(o->node);
	k->pods = kube_pods_new();
	if (!k->node || !k->pods) {
		err = err_set(e, ENOMEM, "out of memory");
		goto cleanup;
	}
	kube_backoff_init(&k->bo, o->backoff_base_ms ? o->backoff_base_ms : 500, o->backoff_max_ms);
	if (o->source == KUBE_PODS_APISERVER) {
		struct kube_watch_opts wo = { 0 };
		struct strbuf fs;
		strbuf_init(&fs, 1024);
		if (strbuf_addf(&fs, "spec.nodeName=%s", o->node)) {
			strbuf_release(&fs);
			err = err_set(e, ENOMEM, "out of memory");
			goto cleanup;
		}
		wo.path = "/api/v1/pods";
		wo.field_selector = fs.buf;
		wo.max_body = o->max_body;
		wo.backoff_base_ms = o->backoff_base_ms;
		wo.backoff_max_ms = o->backoff_max_ms;
		wo.cb = on_pod_event;
		wo.ud = k;
		k->w = kube_watch_new(c, &wo, e);
		strbuf_release(&fs);
		if (!k->w)
			err = -EINVAL;
		goto cleanup;
	}
	k->url = fmt_dup("https://%s:%u/pods", o->node, port);
	k->m = curl_multi_init();
	k->h = curl_easy_init();
	if (!k->url || !k->m || !k->h) {
		err = err_set(e, ENOMEM, "out of memory");
		goto cleanup;
	}
	if (o->kubelet_addr && *o->kubelet_addr) {
		struct strbuf sb;
		const char *a = o->kubelet_addr;
		bool v6 = strchr(a, ':') && a[0] != '[';
		strbuf_init(&sb, 1024);
		strbuf_addf(&sb, "%s:%u:%s%s%s:%u", o->node, port, v6 ? "[" : "", a, v6 ? "]" : "",
			    port);
		if (sb.overflow || !(k->connect_list = curl_slist_append(NULL, sb.buf))) {
			strbuf_release(&sb);
			err = err_set(e, ENOMEM, "kubelet address too long or out of memory");
			goto cleanup;
		}
		strbuf_release(&sb);
	}
	k->next_ns = 0; /* first refresh at once */
cleanup:
	if (err) {
		kube_kubelet_free(k);
		return NULL;
	}
	return k;
}

static void schedule(struct kube_kubelet *k, uint64_t delay_ms)
{
	k->next_ns = mono_ns() + delay_ms * 1000000ull;
}

static void start(struct kube_kubelet *k)
{
	struct kube_xfer_opts xo = { 0 };
	struct wl_err e = { { 0 } };

	xo.max_body = k->o.max_body;
	xo.timeout_ms = 20000;
	k->x.on_data = NULL;
	if (kube_xfer_prepare(&k->x, k->h, k->cfg, k->url, &xo, &e)) {
		fail(k, "kubelet", e.msg);
		schedule(k, kube_backoff_next_ms(&k->bo));
		return;
	}
	if (k->connect_list)
		curl_easy_setopt(k->h, CURLOPT_CONNECT_TO, k->connect_list);
	if (k->o.kubelet_insecure) { /* explicit, kubelet-only opt-out */
		curl_easy_setopt(k->h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(k->h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (curl_multi_add_handle(k->m, k->h) != CURLM_OK) {
		kube_xfer_release(&k->x);
		fail(k, "kubelet", "curl_multi_add_handle failed");
		schedule(k, kube_backoff_next_ms(&k->bo));
		return;
	}
	k->active = true;
	k->want_now = false;
	k->last_start_ns = mono_ns();
}

static void done(struct kube_kubelet *k, CURLcode rc)
{
	struct wl_err e = { { 0 } };
	long status = 0;

	if (rc != CURLE_OK) {
		kube_xfer_error(&k->x, rc, k->o.max_body, &e);
		fail(k, "kubelet /pods", e.msg);
		goto retry;
	}
	curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		char msg[64];
		snprintf(msg, sizeof(msg), "HTTP %ld", status);
		fail(k, "kubelet /pods", msg);
		goto retry;
	}
	if (kube_pods_load_list(k->pods, k->x.body.buf ? k->x.body.buf : "", k->x.body.len,
				&e)) {
		fail(k, "kubelet /pods", e.msg);
		goto retry;
	}
	k->stats.refreshes++;
	k->stats.synced = true;
	kube_backoff_reset(&k->bo);
	schedule(k, (uint64_t)k->o.refresh_s * 1000);
	return;
retry: {
	uint64_t ms = kube_backoff_next_ms(&k->bo);
	if (k->x.retry_after_s > 0 && (uint64_t)k->x.retry_after_s * 1000 > ms)
		ms = (uint64_t)(k->x.retry_after_s > 60 ? 60 : k->x.retry_after_s) * 1000;
	if (ms > (uint64_t)k->o.refresh_s * 1000)
		ms = (uint64_t)k->o.refresh_s * 1000;
	schedule(k, ms);
}
}

static bool due(const struct kube_kubelet *k, uint64_t now)
{
	if (k->active)
		return false;
	if (now >= k->next_ns)
		return true;
	return k->want_now && now - k->last_start_ns >= (uint64_t)k->o.min_refresh_ms * 1000000ull;
}

int kube_kubelet_service(struct kube_kubelet *k, int timeout_ms)
{
	uint64_t deadline;

	if (!k)
		return -EINVAL;
	if (k->w)
		return kube_watch_service(k->w, timeout_ms);
	deadline = mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ull;
	for (;;) {
		int running = 0, wait_ms;
		uint64_t now = mono_ns(), until;
		CURLMsg *msg;
		int left;

		if (due(k, now))
			start(k);
		if (curl_multi_perform(k->m, &running) != CURLM_OK)
			return -EIO;
		while ((msg = curl_multi_info_read(k->m, &left))) {
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == k->h) {
				CURLcode rc = msg->data.result;
				curl_multi_remove_handle(k->m, k->h);
				k->active = false;
				done(k, rc);
				kube_xfer_release(&k->x);
				break;
			}
		}
		now = mono_ns();
		if (now >= deadline)
			break;
		wait_ms = (int)((deadline - now + 999999) / 1000000);
		if (!k->active) {
			until = k->next_ns > now ? (k->next_ns - now + 999999) / 1000000 : 0;
			if (k->want_now) {
				uint64_t rl = k->last_start_ns + (uint64_t)k->o.min_refresh_ms * 1000000ull;
				uint64_t u2 = rl > now ? (rl - now + 999999) / 1000000 : 0;
				if (u2 < until)
					until = u2;
			}
			if (until < (uint64_t)wait_ms)
				wait_ms = (int)until;
		}
		if (curl_multi_poll(k->m, NULL, 0, wait_ms, NULL) != CURLM_OK)
			return -EIO;
	}
	return 0;
}

void kube_kubelet_refresh(struct kube_kubelet *k)
{
	if (k && !k->w) {
		if (!k->want_now)
			k->stats.on_demand++;
		k->want_now = true;
	}
}

const struct kube_container_info *kube_kubelet_lookup(struct kube_kubelet *k,
						      const char *container_id)
{
	const struct kube_container_info *ci;

	if (!k)
		return NULL;
	ci = kube_pods_find(k->pods, container_id);
	if (!ci)
		kube_kubelet_refresh(k);
	return ci;
}

struct kube_pods *kube_kubelet_pods(struct kube_kubelet *k)
{
	return k ? k->pods : NULL;
}

void kube_kubelet_stats(const struct kube_kubelet *k, struct kube_kubelet_stats *out)
{
	if (!k || !out)
		return;
	*out = k->stats;
	if (k->w) {
		struct kube_watch_stats ws;
		kube_watch_stats(k->w, &ws);
		if (ws.last_error[0])
			snprintf(out->last_error, sizeof(out->last_error), "%s", ws.last_error);
		out->failures += ws.errors;
	}
}
