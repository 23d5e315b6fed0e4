/* kube_authn.h - who may read the agent's HTTP endpoints: a bearer token checked with
 * the API server (TokenReview, then SubjectAccessReview), as Kubernetes components
 * and controller-runtime's secure metrics do, with the verdicts cached.
 *
 * Flow: kube_authn_check(token, path) is called for each request on the caller's
 * thread (the agent's HTTP loop) and never waits for the network. It answers from the
 * cache, or queues a review and answers KA_PENDING; a worker thread (its own kube_http
 * handle on its own kube_config) then runs
 *   1. POST /apis/authentication.k8s.io/v1/tokenreviews {spec.token}: not
 *      authenticated -> KA_UNAUTHENTICATED (HTTP 401);
 *   2. POST /apis/authorization.k8s.io/v1/subjectaccessreviews for the user, uid,
 *      groups and extra the TokenReview returned, nonResourceAttributes {path, verb
 *      "get"}: not allowed -> KA_FORBIDDEN (403), allowed -> KA_ALLOW;
 * stores the verdict and calls opts.notify (from the worker thread) so the caller asks
 * again. A review that gets no answer or a non-2xx status (API down, our RBAC missing)
 * gives KA_UNAVAILABLE (503) with the reason in kube_authn_stats().last_error.
 *
 * Cache: one entry per (token, path), keyed by SHA-256(path "\n" token); tokens are
 * kept only while their review is queued or running and are wiped afterwards.
 * Verdicts live for: allowed ttl_ms (default 2 min: a revoked token or a removed
 * RBAC rule keeps working that long, as with the API server's own webhook caches);
 * 401/403 min(ttl_ms / 10, 10 s), at least 1 s; unavailable 1 s (no retry storm).
 * Bounds: at most max_entries (256) entries; a new one replaces an expired entry or
 * else the least recently used decided one. At most max_pending (16) reviews queued
 * or running; a request beyond that gets KA_UNAVAILABLE at once and is not cached.
 * Memory: max_entries * ~100 B + max_pending * (token <= KA_TOKEN_MAX). Cost per
 * request: a SHA-256 of the token (~1 KiB, ~2 us) and a linear scan of the entries
 * (max_entries * 32-byte compares); per miss two API requests on the worker thread.
 *
 * Threading: _check, _stats may be called from one thread (the owner's) while the
 * worker runs; a mutex guards the cache. kube_authn_free() stops and joins the
 * worker: at most the review in flight (two requests of at most timeout_ms each).
 * opts.manual: no thread (unit tests drive kube_authn_run_once()).
 * Ownership: the kube_config is borrowed, must outlive the object and must not be
 * used by another thread meanwhile. Nothing here logs.
 * Returns: 0 or -errno; kube_authn_new returns NULL with e filled.
 */
#ifndef WATTLET_KUBE_AUTHN_H
#define WATTLET_KUBE_AUTHN_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../common/util.h"
#include "kube_config.h"

#define KA_TOKEN_MAX 16384u /* longer bearer tokens are refused (401) */

enum kube_authn_verdict {
	KA_ALLOW,
	KA_PENDING,         /* review queued or running: ask again after notify */
	KA_UNAUTHENTICATED, /* no token, or the API server does not know it */
	KA_FORBIDDEN,       /* authenticated, but not allowed to get this path */
	KA_UNAVAILABLE,     /* no verdict: review failed, or too many pending */
};

struct kube_authn_opts {
	uint64_t ttl_ms;       /* allowed verdicts; 0: 120000 */
	unsigned max_entries;  /* 0: 256 */
	unsigned max_pending;  /* 0: 16 (never more than max_entries / 2) */
	long timeout_ms;       /* per API request; 0: 5000 */
	void (*notify)(void *ud); /* a verdict arrived (worker thread); may be NULL */
	void *notify_ud;
	bool manual;           /* no worker thread (tests) */
};

struct kube_authn_stats {
	unsigned long long hits, misses; /* cache answers / reviews queued */
	unsigned long long allowed, unauthenticated, forbidden, failed; /* review outcomes */
	unsigned long long overloaded;   /* refused: max_pending reviews already queued */
	unsigned long long evicted;      /* decided entries replaced while still valid */
	unsigned entries, pending;
	char last_error[WL_ERR_MAX];     /* why the last review failed ("" = none) */
	uint64_t last_error_mono_ns;
};

/* kc may be NULL only with opts.manual (kube_authn_run_once then fails every review). */
struct kube_authn *kube_authn_new(struct kube_config *kc, const struct kube_authn_opts *o,
				  struct wl_err *e);
void kube_authn_free(struct kube_authn *a);

/* token: the bearer token (NULL or "" = none: KA_UNAUTHENTICATED); path: the request
 * path (non-resource URL). verb is always "get". */
enum kube_authn_verdict kube_authn_check(struct kube_authn *a, const char *token,
					 const char *path);
/* The same at a given monotonic time (tests). */
enum kube_authn_verdict kube_authn_check_at(struct kube_authn *a, const char *token,
					    const char *path, uint64_t now_ns);

/* Records a verdict for (token, path) as a finished review would (tests, and the
 * worker). Returns 0, or -ENOENT when no review for it is pending. */
int kube_authn_record_at(struct kube_authn *a, const char *token, const char *path,
			 enum kube_authn_verdict v, uint64_t now_ns);

/* Manual mode: runs the oldest pending review synchronously. 1 when one ran, 0 when
 * none was pending, -errno on a bad call. */
int kube_authn_run_once(struct kube_authn *a);

void kube_authn_stats(struct kube_authn *a, struct kube_authn_stats *out);

const char *kube_authn_verdict_name(enum kube_authn_verdict v);

/* ---- the review documents (pure; exposed for tests) --------------------------- */

/* The user a TokenReview returned; strings and JSON owned by the struct. */
struct kube_authn_user {
	char *username;
	char *uid;
	char *groups_json; /* JSON array of strings ("[]" when none) */
	char *extra_json;  /* JSON object of string arrays ("{}" when none) */
};
void kube_authn_user_release(struct kube_authn_user *u);

int kube_authn_tokenreview_body(struct strbuf *sb, const char *token);
/* 0 with *authenticated set (and u filled when true); -EINVAL with e set when the
 * body is not a TokenReview; status.error goes into e when not authenticated. */
int kube_authn_parse_tokenreview(const char *json, size_t len, bool *authenticated,
				 struct kube_authn_user *u, struct wl_err *e);
int kube_authn_sar_body(struct strbuf *sb, const struct kube_authn_user *u, const char *path,
			const char *verb);
/* 0 with *allowed set; -EINVAL when the body is not a SubjectAccessReview. The
 * reason (status.reason / evaluationError) goes into e when not allowed. */
int kube_authn_parse_sar(const char *json, size_t len, bool *allowed, struct wl_err *e);

#endif
