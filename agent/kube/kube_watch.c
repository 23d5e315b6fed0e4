#include "../common/caps.h"
#include "../common/nametab.h"
#include "kube_watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "kube_backoff.h"
#include "kube_http.h"
#include "kube_lines.h"

#define ERRBODY_CAP WL_CAP_ERROR_BODY
#define CONT_CAP 8192

enum wstate { ST_WAIT, ST_LIST, ST_WATCH };
enum abort_why { AB_NONE, AB_GONE, AB_ERROR_EVENT, AB_GARBAGE, AB_OVERSIZE };

struct kube_watch {
	struct kube_config *cfg;
	CURLM *m;
	CURL *h;
	struct kube_watch_opts o;
	char *path, *fsel, *lsel;
	struct kube_xfer x;
	bool x_live;
	struct kube_lines lines;
	struct kube_backoff bo;
	enum wstate st;
	bool need_list;
	uint64_t next_ns;
	char rv[64];
	char *cont; /* continue token of the list in progress, or NULL */
	/* current stream */
	long status;
	enum abort_why why;
	bool got_event;
	uint64_t started_ns;
	struct strbuf errbody;
	struct kube_watch_stats stats;
};

const char *kube_ev_name(enum kube_ev_type t)
{
	static const char *const n[] = { "SYNC_BEGIN", "ADDED",	   "MODIFIED", "DELETED",
					 "BOOKMARK",   "SYNC_END", "ERROR" };
	return nametab_name(n, NAMETAB_LEN(n), t, "?");
}

static void set_rv(char *dst, size_t cap, json_t *obj)
{
	const char *rv = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	snprintf(dst, cap, "%s", rv ? rv : "");
}

int kube_watch_parse_event(const char *line, size_t len, enum kube_ev_type *type,
			   json_t **obj, char *rv, size_t rv_cap, long *code, struct wl_err *e)
{
	json_error_t je;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je), *o;
	const char *t;
	enum kube_ev_type ty;

	*obj = NULL;
	*code = 0;
	if (!j)
		return err_set(e, EINVAL, "watch event is not JSON: %s (column %d)", je.text,
			       je.column);
	t = json_string_value(json_object_get(j, "type"));
	o = json_object_get(j, "object");
	if (!t || !json_is_object(o)) {
		json_decref(j);
		return err_set(e, EINVAL, "watch event without type or object");
	}
	if (strcmp(t, "ADDED") == 0)
		ty = KUBE_EV_ADDED;
	else if (strcmp(t, "MODIFIED") == 0)
		ty = KUBE_EV_MODIFIED;
	else if (strcmp(t, "DELETED") == 0)
		ty = KUBE_EV_DELETED;
	else if (strcmp(t, "BOOKMARK") == 0)
		ty = KUBE_EV_BOOKMARK;
	else if (strcmp(t, "ERROR") == 0)
		ty = KUBE_EV_ERROR;
	else {
		err_set(e, EINVAL, "unknown watch event type \"%.32s\"", t);
		json_decref(j);
		return -EINVAL;
	}
	if (ty == KUBE_EV_ERROR) {
		json_t *c = json_object_get(o, "code");
		*code = json_is_integer(c) ? (long)json_integer_value(c) : 0;
	}
	if (rv)
		set_rv(rv, rv_cap, o);
	*type = ty;
	*obj = json_incref(o);
	json_decref(j);
	return 0;
}

static void fail(struct kube_watch *w, const char *prefix, const char *msg)
{
	snprintf(w->stats.last_error, sizeof(w->stats.last_error), "%.48s%.200s", prefix, msg);
}

static int on_line(const char *line, size_t len, void *ud)
{
	struct kube_watch *w = ud;
	struct wl_err e = { { 0 } };
	enum kube_ev_type ty;
	json_t *obj;
	char rv[64];
	long code;

	if (kube_watch_parse_event(line, len, &ty, &obj, rv, sizeof(rv), &code, &e)) {
		w->stats.bad_lines++;
		w->why = AB_GARBAGE;
		fail(w, "watch: ", e.msg);
		return 1;
	}
	if (ty == KUBE_EV_ERROR) {
		const char *msg = json_string_value(json_object_get(obj, "message"));
		if (code == 410) {
			w->stats.gone++;
			w->why = AB_GONE;
			w->need_list = true;
		} else {
			w->why = AB_ERROR_EVENT;
		}
		fail(w, "watch ERROR event: ", msg ? msg : "(no message)");
		json_decref(obj);
		return 1;
	}
	if (rv[0])
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
	w->got_event = true;
	kube_backoff_reset(&w->bo);
	if (ty == KUBE_EV_BOOKMARK)
		w->stats.bookmarks++;
	else
		w->stats.events++;
	if (w->o.cb)
		w->o.cb(ty, obj, w->o.ud);
	json_decref(obj);
	return 0;
}

static int on_oversize(size_t seen, void *ud)
{
	struct kube_watch *w = ud;
	char n[32];
	snprintf(n, sizeof(n), "%zu", seen);
	w->stats.oversized++;
	w->why = AB_OVERSIZE;
	fail(w, "watch: event line over the cap, bytes so far: ", n);
	return 1;
}

static size_t on_data(const char *p, size_t n, void *ud)
{
	struct kube_watch *w = ud;

	if (!w->status)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) {
		strbuf_add(&w->errbody, p, n); /* capped; the message is best effort */
		return n;
	}
	return kube_lines_feed(&w->lines, p, n) ? 0 : n;
}

void kube_watch_free(struct kube_watch *w)
{
	if (!w)
		return;
	if (w->m && w->h)
		curl_multi_remove_handle(w->m, w->h);
	curl_easy_cleanup(w->h);
	curl_multi_cleanup(w->m);
	kube_xfer_release(&w->x);
	kube_lines_release(&w->lines);
	strbuf_release(&w->errbody);
	free(w->path);
	free(w->fsel);
	free(w->lsel);
	free(w->cont);
	free(w);
}

struct kube_watch *kube_watch_new(struct kube_config *c, const struct kube_watch_opts *o,
				  struct wl_err *e)
{
	struct kube_watch *w;

	if (!c || !o || !o->path || o->path[0] != '/') {
		err_set(e, EINVAL, "kube_watch_new: config and a collection path are required");
		return NULL;
	}
	w = wl_zalloc(sizeof(*w), NULL, e);
	if (!w)
		return NULL;
	w->cfg = c;
	w->o = *o;
	if (!w->o.page_limit)
		w->o.page_limit = 500;
	if (!w->o.timeout_s)
		w->o.timeout_s = 300;
	if (!w->o.max_line)
		w->o.max_line = WL_CAP_WATCH_LINE;
	if (!w->o.max_body)
		w->o.max_body = KUBE_HTTP_MAX_BODY;
	if (!w->o.retry_after_max_s)
		w->o.retry_after_max_s = 60;
	kube_backoff_init(&w->bo, o->backoff_base_ms ? o->backoff_base_ms : 500,
			  o->backoff_max_ms);
	kube_lines_init(&w->lines, w->o.max_line, on_line, on_oversize, w);
	strbuf_init(&w->errbody, ERRBODY_CAP);
	w->path = strdup(o->path);
	w->fsel = o->field_selector ? strdup(o->field_selector) : NULL;
	w->lsel = o->label_selector ? strdup(o->label_selector) : NULL;
	w->m = curl_multi_init();
	w->h = curl_easy_init();
	if (!w->path || (o->field_selector && !w->fsel) || (o->label_selector && !w->lsel) ||
	    !w->m || !w->h) {
		err_set(e, ENOMEM, "out of memory");
		kube_watch_free(w);
		return NULL;
	}
	w->st = ST_WAIT;
	w->need_list = true;
	w->next_ns = 0;
	return w;
}

static void retry_later(struct kube_watch *w, long retry_after_s)
{
	uint64_t ms = kube_backoff_next_ms(&w->bo);
	if (retry_after_s > 0) {
		if (retry_after_s > (long)w->o.retry_after_max_s)
			retry_after_s = (long)w->o.retry_after_max_s;
		if ((uint64_t)retry_after_s * 1000 > ms)
			ms = (uint64_t)retry_after_s * 1000;
	}
	w->st = ST_WAIT;
	w->next_ns = mono_ns() + ms * 1000000ull;
	w->stats.errors++;
}

static void now_next(struct kube_watch *w)
{
	w->st = ST_WAIT;
	w->next_ns = mono_ns();
}

static int build_url(struct kube_watch *w, struct strbuf *u)
{
	strbuf_adds(u, w->path);
	if (w->need_list) {
		strbuf_addf(u, "?limit=%u", w->o.page_limit);
		if (w->cont) {
			strbuf_adds(u, "&continue=");
			kube_url_escape(u, w->cont);
		}
	} else {
		unsigned t = w->o.timeout_s + (unsigned)kube_backoff_rand(&w->bo, w->o.timeout_s / 2 + 1);
		strbuf_addf(u, "?watch=1&allowWatchBookmarks=true&timeoutSeconds=%u&resourceVersion=",
			    t);
		kube_url_escape(u, w->rv);
	}
	if (w->fsel) {
		strbuf_adds(u, "&fieldSelector=");
		kube_url_escape(u, w->fsel);
	}
	if (w->lsel) {
		strbuf_adds(u, "&labelSelector=");
		kube_url_escape(u, w->lsel);
	}
	return u->overflow ? -ENAMETOOLONG : 0;
}

static void start_request(struct kube_watch *w)
{
	struct kube_xfer_opts xo = { 0 };
	struct wl_err e = { { 0 } };
	struct strbuf u;
	bool list = w->need_list;
	int err;

	strbuf_init(&u, 16384);
	err = build_url(w, &u);
	if (err) {
		fail(w, "", "watch URL too long");
		retry_later(w, -1);
		goto cleanup;
	}
	xo.max_body = w->o.max_body;
	xo.connect_timeout_ms = w->o.connect_timeout_ms;
	xo.timeout_ms = list ? 120000L : (long)(w->o.timeout_s * 2 + 60) * 1000L;
	w->x.on_data = list ? NULL : on_data;
	w->x.ud = list ? NULL : w;
	err = kube_xfer_prepare(&w->x, w->h, w->cfg, u.buf, &xo, &e);
	if (err) {
		fail(w, "", e.msg);
		retry_later(w, -1);
		goto cleanup;
	}
	w->x_live = true;
	w->status = 0;
	w->why = AB_NONE;
	w->got_event = false;
	w->started_ns = mono_ns();
	kube_lines_reset(&w->lines);
	strbuf_reset(&w->errbody);
	if (curl_multi_add_handle(w->m, w->h) != CURLM_OK) {
		fail(w, "", "curl_multi_add_handle failed");
		kube_xfer_release(&w->x);
		w->x_live = false;
		retry_later(w, -1);
		goto cleanup;
	}
	w->st = list ? ST_LIST : ST_WATCH;
	if (list)
		w->stats.lists++;
	else
		w->stats.watches++;
cleanup:
	strbuf_release(&u);
}

static void status_error(struct kube_watch *w, const char *what, long status, const char *body,
			 size_t len)
{
	json_t *j = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "message"));
	snprintf(w->stats.last_error, sizeof(w->stats.last_error), "%s: HTTP %ld: %s", what,
		 status, msg ? msg : "(no Status message)");
	json_decref(j);
}

static void list_done(struct kube_watch *w, CURLcode rc)
{
	struct wl_err e = { { 0 } };
	json_t *j = NULL, *items, *it;
	const char *cont, *rv;
	size_t i;

	if (rc != CURLE_OK) {
		kube_xfer_error(&w->x, rc, w->o.max_body, &e);
		fail(w, "list: ", e.msg);
		goto restart;
	}
	curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->status != 200) {
		status_error(w, "list", w->status, w->x.body.buf, w->x.body.len);
		if (w->status == 410) { /* continue token expired: full relist */
			w->stats.gone++;
			free(w->cont);
			w->cont = NULL;
			now_next(w);
			return;
		}
		free(w->cont);
		w->cont = NULL;
		retry_later(w, w->x.retry_after_s);
		return;
	}
	j = json_loadb(w->x.body.buf ? w->x.body.buf : "", w->x.body.len, 0, NULL);
	items = json_object_get(j, "items");
	if (!j || !(json_is_array(items) || json_is_null(items))) {
		fail(w, "", "list: response is not a List");
		goto restart;
	}
	rv = json_string_value(json_object_get(json_object_get(j, "metadata"), "resourceVersion"));
	cont = json_string_value(json_object_get(json_object_get(j, "metadata"), "continue"));
	if (!rv || !*rv) {
		fail(w, "", "list: no metadata.resourceVersion");
		goto restart;
	}
	if (!w->cont && w->o.cb)
		w->o.cb(KUBE_EV_SYNC_BEGIN, NULL, w->o.ud);
	json_array_foreach(items, i, it) {
		if (w->o.cb && json_is_object(it))
			w->o.cb(KUBE_EV_ADDED, it, w->o.ud);
	}
	free(w->cont);
	w->cont = NULL;
	if (cont && *cont) {
		if (strlen(cont) >= CONT_CAP || !(w->cont = strdup(cont))) {
			fail(w, "", "list: continue token too long");
			goto restart;
		}
		json_decref(j);
		now_next(w);
		return;
	}
	snprintf(w->rv, sizeof(w->rv), "%s", rv);
	w->need_list = false;
	w->stats.synced = true;
	kube_backoff_reset(&w->bo);
	if (w->o.cb)
		w->o.cb(KUBE_EV_SYNC_END, NULL, w->o.ud);
	json_decref(j);
	now_next(w);
	return;
restart:
	json_decref(j);
	free(w->cont);
	w->cont = NULL;
	retry_later(w, -1);
}

static void watch_done(struct kube_watch *w, CURLcode rc)
{
	struct wl_err e = { { 0 } };
	size_t partial = kube_lines_finish(&w->lines);

	if (!w->status)
		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &w->status);
	if (w->why == AB_GONE) {
		w->stats.synced = false;
		now_next(w); /* need_list already set */
		return;
	}
	if (w->why != AB_NONE) { /* garbage, oversize, ERROR event: message already set */
		retry_later(w, -1);
		return;
	}
	if (w->status == 410) {
		w->stats.gone++;
		w->stats.synced = false;
		w->need_list = true;
		status_error(w, "watch", w->status, w->errbody.buf, w->errbody.len);
		now_next(w);
		return;
	}
	if (w->status && w->status != 200) {
		status_error(w, "watch", w->status, w->errbody.buf, w->errbody.len);
		retry_later(w, w->x.retry_after_s);
		return;
	}
	if (rc != CURLE_OK) {
		kube_xfer_error(&w->x, rc, w->o.max_body, &e);
		fail(w, "watch: ", e.msg);
		retry_later(w, -1);
		return;
	}
	if (partial) {
		w->stats.truncated++;
		fail(w, "", "watch: stream ended inside an event line");
		retry_later(w, -1);
		return;
	}
	/* clean end (server-side timeout): go on from rv; a server that closes at once
	 * with nothing to say is not hammered */
	if (w->got_event || mono_ns() - w->started_ns >= 1000000000ull)
		now_next(w);
	else {
		retry_later(w, -1);
		w->stats.errors--; /* not an error, just pacing */
	}
}

static void process_done(struct kube_watch *w)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(w->m, &left))) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != w->h)
			continue;
		CURLcode rc = msg->data.result;
		curl_multi_remove_handle(w->m, w->h);
		if (w->st == ST_LIST)
			list_done(w, rc);
		else
			watch_done(w, rc);
		kube_xfer_release(&w->x);
		w->x_live = false;
		break; /* msg is invalid after remove_handle; one transfer at a time anyway */
	}
}

int kube_watch_service(struct kube_watch *w, int timeout_ms)
{
	uint64_t deadline;

	if (!w)
		return -EINVAL;
	deadline = mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ull;
	for (;;) {
		int running = 0, wait_ms;
		uint64_t now = mono_ns();

		if (w->st == ST_WAIT && now >= w->next_ns)
			start_request(w);
		if (curl_multi_perform(w->m, &running) != CURLM_OK)
			return -EIO;
		process_done(w);
		now = mono_ns();
		if (w->st == ST_WAIT && w->next_ns <= now)
			continue;
		if (now >= deadline)
			break;
		wait_ms = (int)((deadline - now + 999999) / 1000000);
		if (w->st == ST_WAIT) {
			uint64_t until = (w->next_ns - now + 999999) / 1000000;
			if (until < (uint64_t)wait_ms)
				wait_ms = (int)until;
		}
		if (curl_multi_poll(w->m, NULL, 0, wait_ms, NULL) != CURLM_OK)
			return -EIO;
	}
	return 0;
}

void kube_watch_stats(const struct kube_watch *w, struct kube_watch_stats *out)
{
	if (!w || !out)
		return;
	*out = w->stats;
	snprintf(out->resource_version, sizeof(out->resource_version), "%s", w->rv);
}
