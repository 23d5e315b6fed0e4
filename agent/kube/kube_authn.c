/* kube_authn.c - bearer token reviews against the API server, cached (see kube_authn.h). */
#include "../common/caps.h"
#include "kube_authn.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "../common/worker.h"
#include "kube_http.h"

#define KA_DEFAULT_TTL_MS 120000u
#define KA_DEFAULT_ENTRIES 256u
#define KA_DEFAULT_PENDING 16u
#define KA_DEFAULT_TIMEOUT_MS 5000
#define KA_DENY_TTL_MAX_NS (10ull * 1000000000ull)
#define KA_DENY_TTL_MIN_NS (1ull * 1000000000ull)
#define KA_FAIL_TTL_NS (1ull * 1000000000ull)
#define KA_PATH_MAX 1024u

enum slot_state { S_FREE, S_QUEUED, S_RUNNING, S_DONE };

struct entry {
	unsigned char key[32];
	enum slot_state state;
	enum kube_authn_verdict v; /* S_DONE */
	uint64_t expires_ns;       /* S_DONE */
	uint64_t used_ns;          /* last lookup (LRU), or when queued */
	char *token, *path;        /* S_QUEUED / S_RUNNING only */
};

struct kube_authn {
	struct kube_authn_opts o;
	struct kube_http *http;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wl_worker wk; /* the thread in automatic mode; sleeps on cv */
	struct entry *tab;
	unsigned n_pending;
	struct kube_authn_stats st;
};

const char *kube_authn_verdict_name(enum kube_authn_verdict v)
{
	static const char *const n[] = { "allow", "pending", "unauthenticated", "forbidden",
					 "unavailable" };
	return (unsigned)v < sizeof(n) / sizeof(n[0]) ? n[v] : "unknown";
}

static int key_of(const char *token, const char *path, unsigned char key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 0;
	int ok;

	if (!md)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, path, strlen(path)) && EVP_DigestUpdate(md, "\n", 1) &&
	     EVP_DigestUpdate(md, token, strlen(token)) && EVP_DigestFinal_ex(md, key, &len) &&
	     len == 32;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -EIO;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

static void entry_clear(struct entry *en)
{
	wipe_free(en->token);
	free(en->path);
	memset(en, 0, sizeof(*en));
}

static uint64_t deny_ttl_ns(const struct kube_authn *a)
{
	uint64_t t = a->o.ttl_ms * 1000000ull / 10;

	if (t > KA_DENY_TTL_MAX_NS)
		t = KA_DENY_TTL_MAX_NS;
	if (t < KA_DENY_TTL_MIN_NS)
		t = KA_DENY_TTL_MIN_NS;
	return t;
}

/* ---- review documents ----------------------------------------------------------- */

void kube_authn_user_release(struct kube_authn_user *u)
{
	if (!u)
		return;
	free(u->username);
	free(u->uid);
	free(u->groups_json);
	free(u->extra_json);
	memset(u, 0, sizeof(*u));
}

static int dump_into(struct strbuf *sb, json_t *doc)
{
	char *s;
	int rc;

	if (!doc)
		return -ENOMEM;
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!s)
		return -ENOMEM;
	rc = strbuf_adds(sb, s);
	OPENSSL_cleanse(s, strlen(s));
	free(s);
	return rc;
}

int kube_authn_tokenreview_body(struct strbuf *sb, const char *token)
{
	if (!sb || !token)
		return -EINVAL;
	return dump_into(sb, json_pack("{s:s, s:s, s:{s:s}}", "apiVersion",
				       "authentication.k8s.io/v1", "kind", "TokenReview", "spec",
				       "token", token));
}

/* Only arrays of strings (groups) and objects of string arrays (extra) pass. */
static bool string_array(const json_t *a)
{
	size_t i;
	json_t *v;

	if (!json_is_array(a))
		return false;
	json_array_foreach(a, i, v)
		if (!json_is_string(v))
			return false;
	return true;
}

/* Parses a review response of the given kind: the document (the caller's: json_decref())
 * with *status set to its status object, or NULL with e set. */
static json_t *load(const char *json, size_t len, const char *kind, json_t **status,
		    struct wl_err *e)
{
	json_error_t je;
	json_t *doc, *k;

	if (!json) {
		err_set(e, EINVAL, "%s: empty response", kind);
		return NULL;
	}
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		err_set(e, EINVAL, "%s: bad JSON: %s", kind, je.text);
		return NULL;
	}
	k = json_object_get(doc, "kind");
	if (!json_is_object(doc) || !json_is_string(k) || strcmp(json_string_value(k), kind)) {
		err_set(e, EINVAL, "response is not a %s", kind);
		json_decref(doc);
		return NULL;
	}
	*status = json_object_get(doc, "status");
	if (!json_is_object(*status)) {
		err_set(e, EINVAL, "%s has no status", kind);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int kube_authn_parse_tokenreview(const char *json, size_t len, bool *authenticated,
				 struct kube_authn_user *u, struct wl_err *e)
{
	json_t *doc, *st, *user, *v, *groups, *extra;
	int rc = -EINVAL;

	if (!authenticated || !u)
		return -EINVAL;
	memset(u, 0, sizeof(*u));
	*authenticated = false;
	doc = load(json, len, "TokenReview", &st, e);
	if (!doc)
		return -EINVAL;
	v = json_object_get(st, "authenticated");
	if (!json_is_true(v)) {
		json_t *msg = json_object_get(st, "error");
		err_set(e, EACCES, "token not authenticated%s%s",
			json_is_string(msg) ? ": " : "",
			json_is_string(msg) ? json_string_value(msg) : "");
		rc = 0;
		goto cleanup;
	}
	user = json_object_get(st, "user");
	v = json_object_get(user, "username");
	if (!json_is_string(v) || !*json_string_value(v)) {
		err_set(e, EINVAL, "TokenReview: authenticated without a username");
		goto cleanup;
	}
	u->username = strdup(json_string_value(v));
	v = json_object_get(user, "uid");
	u->uid = strdup(json_is_string(v) ? json_string_value(v) : "");
	groups = json_object_get(user, "groups");
	if (groups && !string_array(groups)) {
		err_set(e, EINVAL, "TokenReview: user.groups is not a list of strings");
		goto cleanup;
	}
	u->groups_json = groups ? json_dumps(groups, JSON_COMPACT) : strdup("[]");
	extra = json_object_get(user, "extra");
	if (extra) {
		const char *k;
		json_t *ev;
		if (!json_is_object(extra)) {
			err_set(e, EINVAL, "TokenReview: user.extra is not an object");
			goto cleanup;
		}
		json_object_foreach(extra, k, ev) {
			if (!string_array(ev)) {
				err_set(e, EINVAL, "TokenReview: user.extra.%s is not a list of "
					"strings", k);
				goto cleanup;
			}
		}
	}
	u->extra_json = extra ? json_dumps(extra, JSON_COMPACT) : strdup("{}");
	if (!u->username || !u->uid || !u->groups_json || !u->extra_json) {
		err_set(e, ENOMEM, "out of memory");
		rc = -ENOMEM;
		goto cleanup;
	}
	*authenticated = true;
	rc = 0;
cleanup:
	if (rc || !*authenticated)
		kube_authn_user_release(u);
	json_decref(doc);
	return rc;
}

int kube_authn_sar_body(struct strbuf *sb, const struct kube_authn_user *u, const char *path,
			const char *verb)
{
	json_t *groups, *extra;

	if (!sb || !u || !u->username || !path || !verb)
		return -EINVAL;
	groups = json_loads(u->groups_json ? u->groups_json : "[]", 0, NULL);
	extra = json_loads(u->extra_json ? u->extra_json : "{}", 0, NULL);
	if (!groups || !extra) {
		json_decref(groups);
		json_decref(extra);
		return -EINVAL;
	}
	/* "o" steals the references */
	return dump_into(sb, json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:o, s:{s:s, s:s}}}",
				       "apiVersion", "authorization.k8s.io/v1", "kind",
				       "SubjectAccessReview", "spec", "user", u->username, "uid",
				       u->uid ? u->uid : "", "groups", groups, "extra", extra,
				       "nonResourceAttributes", "path", path, "verb", verb));
}

int kube_authn_parse_sar(const char *json, size_t len, bool *allowed, struct wl_err *e)
{
	json_t *doc, *st, *v;

	if (!allowed)
		return -EINVAL;
	*allowed = false;
	doc = load(json, len, "SubjectAccessReview", &st, e);
	if (!doc)
		return -EINVAL;
	*allowed = json_is_true(json_object_get(st, "allowed")) &&
		   !json_is_true(json_object_get(st, "denied"));
	if (!*allowed) {
		v = json_object_get(st, "reason");
		if (!json_is_string(v) || !*json_string_value(v))
			v = json_object_get(st, "evaluationError");
		err_set(e, EACCES, "not allowed%s%s", json_is_string(v) ? ": " : "",
			json_is_string(v) ? json_string_value(v) : "");
	}
	json_decref(doc);
	return 0;
}

/* ---- the reviews (worker thread) ------------------------------------------------- */

/* POSTs body to path; 0 with resp filled on a 2xx, else -errno with e set. */
static int post(struct kube_authn *a, const char *path, const struct strbuf *body,
		struct kube_resp *resp, struct wl_err *e)
{
	int rc = kube_http_request(a->http, "POST", path, body->buf, "application/json", resp, e);

	if (rc)
		return rc;
	return kube_resp_check(resp, e);
}

static enum kube_authn_verdict review(struct kube_authn *a, const char *token, const char *path,
				      struct wl_err *e)
{
	struct strbuf body;
	struct kube_resp resp = { 0 };
	struct kube_authn_user u = { 0 };
	enum kube_authn_verdict v = KA_UNAVAILABLE;
	bool ok = false;
	struct wl_err sub = { "" };

	if (!a->http) {
		err_set(e, ENOTCONN, "no API server configured");
		return KA_UNAVAILABLE;
	}
	strbuf_init(&body, WL_CAP_API_OBJECT);
	if (kube_authn_tokenreview_body(&body, token)) {
		err_set(e, ENOMEM, "TokenReview: cannot build the request");
		goto cleanup;
	}
	if (post(a, "/apis/authentication.k8s.io/v1/tokenreviews", &body, &resp, &sub)) {
		err_set(e, EIO, "TokenReview: %s", sub.msg);
		goto cleanup;
	}
	if (kube_authn_parse_tokenreview(resp.body, resp.len, &ok, &u, &sub)) {
		err_set(e, EIO, "%s", sub.msg);
		goto cleanup;
	}
	if (!ok) {
		v = KA_UNAUTHENTICATED;
		goto cleanup;
	}
	kube_resp_release(&resp);
	OPENSSL_cleanse(body.buf, body.len);
	strbuf_reset(&body);
	if (kube_authn_sar_body(&body, &u, path, "get")) {
		err_set(e, ENOMEM, "SubjectAccessReview: cannot build the request");
		goto cleanup;
	}
	if (post(a, "/apis/authorization.k8s.io/v1/subjectaccessreviews", &body, &resp, &sub)) {
		err_set(e, EIO, "SubjectAccessReview: %s", sub.msg);
		goto cleanup;
	}
	if (kube_authn_parse_sar(resp.body, resp.len, &ok, &sub)) {
		err_set(e, EIO, "%s", sub.msg);
		goto cleanup;
	}
	v = ok ? KA_ALLOW : KA_FORBIDDEN;
cleanup:
	if (body.buf)
		OPENSSL_cleanse(body.buf, body.len);
	strbuf_release(&body);
	kube_resp_release(&resp);
	kube_authn_user_release(&u);
	return v;
}

/* ---- the cache (under a->mu) ----------------------------------------------------- */

static struct entry *find(struct kube_authn *a, const unsigned char key[32])
{
	for (unsigned i = 0; i < a->o.max_entries; i++)
		if (a->tab[i].state != S_FREE && memcmp(a->tab[i].key, key, 32) == 0)
			return &a->tab[i];
	return NULL;
}

/* A free entry: an unused one, else an expired one, else the least recently used
 * decided one (never a pending one: max_pending < max_entries). */
static struct entry *take(struct kube_authn *a, uint64_t now)
{
	struct entry *lru = NULL;

	for (unsigned i = 0; i < a->o.max_entries; i++) {
		struct entry *en = &a->tab[i];
		if (en->state == S_FREE)
			return en;
		if (en->state != S_DONE)
			continue;
		if (now >= en->expires_ns) {
			entry_clear(en);
			a->st.entries--;
			return en;
		}
		if (!lru || en->used_ns < lru->used_ns)
			lru = en;
	}
	if (lru) {
		entry_clear(lru);
		a->st.entries--;
		a->st.evicted++;
	}
	return lru;
}

static void set_verdict(struct kube_authn *a, struct entry *en, enum kube_authn_verdict v,
			uint64_t now)
{
	uint64_t ttl = v == KA_ALLOW ? a->o.ttl_ms * 1000000ull :
		       v == KA_UNAVAILABLE ? KA_FAIL_TTL_NS : deny_ttl_ns(a);

	wipe_free(en->token);
	free(en->path);
	en->token = en->path = NULL;
	en->state = S_DONE;
	en->v = v;
	en->expires_ns = now + ttl;
	a->n_pending--;
	switch (v) {
	case KA_ALLOW: a->st.allowed++; break;
	case KA_UNAUTHENTICATED: a->st.unauthenticated++; break;
	case KA_FORBIDDEN: a->st.forbidden++; break;
	default: a->st.failed++; break;
	}
}

enum kube_authn_verdict kube_authn_check_at(struct kube_authn *a, const char *token,
					    const char *path, uint64_t now_ns)
{
	unsigned char key[32];
	enum kube_authn_verdict v;
	struct entry *en;

	if (!a || !path)
		return KA_UNAVAILABLE;
	if (!token || !*token || strlen(token) >= KA_TOKEN_MAX)
		return KA_UNAUTHENTICATED;
	if (strlen(path) >= KA_PATH_MAX)
		return KA_FORBIDDEN;
	if (key_of(token, path, key))
		return KA_UNAVAILABLE;
	pthread_mutex_lock(&a->mu);
	en = find(a, key);
	if (en && en->state == S_DONE && now_ns >= en->expires_ns) {
		entry_clear(en);
		a->st.entries--;
		en = NULL;
	}
	if (en) {
		if (en->state == S_DONE) {
			en->used_ns = now_ns;
			a->st.hits++;
		}
		v = en->state == S_DONE ? en->v : KA_PENDING;
		goto out;
	}
	if (a->n_pending >= a->o.max_pending) {
		a->st.overloaded++;
		v = KA_UNAVAILABLE;
		goto out;
	}
	en = take(a, now_ns);
	if (!en) {
		v = KA_UNAVAILABLE;
		goto out;
	}
	en->token = strdup(token);
	en->path = strdup(path);
	if (!en->token || !en->path) {
		entry_clear(en);
		v = KA_UNAVAILABLE;
		goto out;
	}
	memcpy(en->key, key, 32);
	en->state = S_QUEUED;
	en->used_ns = now_ns;
	a->n_pending++;
	a->st.entries++;
	a->st.misses++;
	pthread_cond_signal(&a->cv);
	v = KA_PENDING;
out:
	pthread_mutex_unlock(&a->mu);
	OPENSSL_cleanse(key, sizeof(key));
	return v;
}

enum kube_authn_verdict kube_authn_check(struct kube_authn *a, const char *token,
					 const char *path)
{
	return kube_authn_check_at(a, token, path, mono_ns());
}

int kube_authn_record_at(struct kube_authn *a, const char *token, const char *path,
			 enum kube_authn_verdict v, uint64_t now_ns)
{
	unsigned char key[32];
	struct entry *en;
	int rc = -ENOENT;

	if (!a || !token || !path || v == KA_PENDING)
		return -EINVAL;
	if (key_of(token, path, key))
		return -EIO;
	pthread_mutex_lock(&a->mu);
	en = find(a, key);
	if (en && (en->state == S_QUEUED || en->state == S_RUNNING)) {
		set_verdict(a, en, v, now_ns);
		rc = 0;
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

/* The oldest queued entry, marked running; its token and path are copied out. */
static struct entry *next_queued(struct kube_authn *a, char **token, char **path)
{
	struct entry *best = NULL;

	for (unsigned i = 0; i < a->o.max_entries; i++) {
		struct entry *en = &a->tab[i];
		if (en->state == S_QUEUED && (!best || en->used_ns < best->used_ns))
			best = en;
	}
	if (!best)
		return NULL;
	*token = strdup(best->token);
	*path = strdup(best->path);
	if (!*token || !*path) {
		wipe_free(*token);
		free(*path);
		*token = *path = NULL;
	}
	best->state = S_RUNNING;
	return best;
}

/* Runs one queued review; called with a->mu held, returns with it held. */
static int run_one_locked(struct kube_authn *a)
{
	char *token = NULL, *path = NULL;
	unsigned char key[32];
	struct wl_err e = { "" };
	enum kube_authn_verdict v = KA_UNAVAILABLE;
	struct entry *en = next_queued(a, &token, &path);

	if (!en)
		return 0;
	memcpy(key, en->key, 32);
	pthread_mutex_unlock(&a->mu);
	if (token && path)
		v = review(a, token, path, &e);
	else
		err_set(&e, ENOMEM, "out of memory");
	wipe_free(token);
	free(path);
	pthread_mutex_lock(&a->mu);
	/* pending entries are never evicted, so en is still ours */
	if (en->state == S_RUNNING && memcmp(en->key, key, 32) == 0) {
		set_verdict(a, en, v, mono_ns());
		if (v == KA_UNAVAILABLE) {
			snprintf(a->st.last_error, sizeof(a->st.last_error), "%s", e.msg);
			a->st.last_error_mono_ns = mono_ns();
		}
	}
	return 1;
}

int kube_authn_run_once(struct kube_authn *a)
{
	int rc;

	if (!a || a->wk.started)
		return -EINVAL;
	pthread_mutex_lock(&a->mu);
	rc = run_one_locked(a);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

static void *worker_main(void *arg)
{
	struct kube_authn *a = arg;

	pthread_mutex_lock(&a->mu);
	while (!a->wk.stop) {
		if (!run_one_locked(a)) {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		if (a->o.notify) {
			pthread_mutex_unlock(&a->mu);
			a->o.notify(a->o.notify_ud);
			pthread_mutex_lock(&a->mu);
		}
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

void kube_authn_stats(struct kube_authn *a, struct kube_authn_stats *out)
{
	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	*out = a->st;
	out->pending = a->n_pending;
	pthread_mutex_unlock(&a->mu);
}

struct kube_authn *kube_authn_new(struct kube_config *kc, const struct kube_authn_opts *o,
				  struct wl_err *e)
{
	struct kube_authn *a = wl_zalloc(sizeof(*a), NULL, e);
	int rc;

	if (!a)
		return NULL;
	if (o)
		a->o = *o;
	if (!a->o.ttl_ms)
		a->o.ttl_ms = KA_DEFAULT_TTL_MS;
	if (!a->o.max_entries)
		a->o.max_entries = KA_DEFAULT_ENTRIES;
	if (a->o.max_entries < 2)
		a->o.max_entries = 2;
	if (!a->o.max_pending)
		a->o.max_pending = KA_DEFAULT_PENDING;
	if (a->o.max_pending > a->o.max_entries / 2)
		a->o.max_pending = a->o.max_entries / 2;
	if (!a->o.timeout_ms)
		a->o.timeout_ms = KA_DEFAULT_TIMEOUT_MS;
	if (!kc && !a->o.manual) {
		err_set(e, EINVAL, "kube_authn: no API config");
		free(a);
		return NULL;
	}
	a->tab = calloc(a->o.max_entries, sizeof(*a->tab));
	if (!a->tab) {
		err_set(e, ENOMEM, "out of memory");
		free(a);
		return NULL;
	}
	if (kc) {
		struct kube_http_opts ho = { 0 };
		ho.timeout_ms = a->o.timeout_ms;
		ho.connect_timeout_ms = a->o.timeout_ms < 5000 ? a->o.timeout_ms : 5000;
		ho.max_retries = -1; /* a failed review answers 503 for a second, then retries */
		ho.max_body = WL_CAP_API_OBJECT;
		a->http = kube_http_new(kc, &ho, e);
		if (!a->http) {
			free(a->tab);
			free(a);
			return NULL;
		}
	}
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	if (!a->o.manual) {
		rc = wl_worker_start(&a->wk, worker_main, a);
		if (rc) {
			err_set(e, -rc, "kube_authn: cannot start thread: %s", strerror(-rc));
			kube_authn_free(a);
			return NULL;
		}
	}
	return a;
}

void kube_authn_free(struct kube_authn *a)
{
	if (!a)
		return;
	wl_worker_stop(&a->wk, &a->mu, &a->cv);
	for (unsigned i = 0; i < a->o.max_entries; i++)
		entry_clear(&a->tab[i]);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	kube_http_free(a->http);
	free(a->tab);
	free(a);
}
