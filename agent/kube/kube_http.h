/* kube_http.h - HTTPS requests to the API server or the kubelet over libcurl.
 *
 * Two layers:
 *  - struct kube_xfer: the setup every transfer shares (used by kube_watch and
 *    kube_kubelet with the curl multi interface): URL, method, TLS from kube_config
 *    (always verified against the configured CA; the only way to turn verification
 *    off is the config's explicit opt-out), "Authorization: Bearer <token>" with the
 *    token re-read on rotation, timeouts, the response body into a strbuf with a hard
 *    cap (a larger body fails the transfer with CURLE_WRITE_ERROR and x->too_big set),
 *    or streamed to a callback instead, and the Retry-After header.
 *  - kube_http_request(): one blocking request with retries: 429 and 5xx (and, for
 *    GET, transport errors other than TLS verification) are retried with exponential
 *    backoff and jitter (kube_backoff), waiting at least Retry-After (capped by
 *    retry_after_max_s), at most max_retries times. Blocking: for the agent's
 *    writer path, never for the measurement loop (which uses kube_watch / kube_kubelet).
 *
 * Returns: 0 or -errno; a request "succeeds" (0) when a response arrived, whatever
 * its status: callers look at resp->status (kube_resp_check turns a non-2xx into an
 * error with the API's Status message). Nothing here logs.
 * Ownership: kube_http does not own the kube_config (it must outlive it); the
 * response body belongs to the kube_resp until kube_resp_release.
 */
#ifndef WATTLET_KUBE_HTTP_H
#define WATTLET_KUBE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <curl/curl.h>

#include "../common/caps.h"
#include "../common/strbuf.h"
#include "../common/util.h"
#include "kube_config.h"

#define KUBE_HTTP_MAX_BODY WL_CAP_API_BODY /* default hard cap of a response body */

typedef size_t (*kube_data_fn)(const char *p, size_t n, void *ud);

struct kube_xfer {
	struct strbuf body;	   /* response body unless on_data is set */
	bool too_big;		   /* body exceeded its cap */
	long retry_after_s;	   /* Retry-After in seconds, -1 when absent */
	kube_data_fn on_data;	   /* optional streaming sink (returns n to go on) */
	void *ud;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
};

struct kube_xfer_opts {
	const char *method;	  /* NULL: GET */
	const char *body;	  /* request body (copied by curl), or NULL */
	const char *content_type; /* NULL: application/json when body is set */
	size_t max_body;	  /* 0: KUBE_HTTP_MAX_BODY */
	long connect_timeout_ms;  /* 0: 5000 */
	long timeout_ms;	  /* whole transfer; 0: 30000; < 0: none */
};

/* Resets h and prepares it for url (absolute https URL, or a path starting with '/'
 * appended to the config's server). x must be zeroed or released before; on success
 * the caller runs the transfer and then calls kube_xfer_release(x). */
int kube_xfer_prepare(struct kube_xfer *x, CURL *h, struct kube_config *c, const char *url,
		      const struct kube_xfer_opts *o, struct wl_err *e);
void kube_xfer_release(struct kube_xfer *x);

/* Describes a finished transfer's curl result (TLS failures named as such). */
void kube_xfer_error(const struct kube_xfer *x, CURLcode rc, size_t max_body, struct wl_err *e);

/* Retry-After value: delta-seconds or an HTTP-date (relative to now). -EINVAL when
 * unparseable; a date in the past gives 0. */
int kube_parse_retry_after(const char *v, time_t now, long *out_s);

struct kube_http_opts {
	long connect_timeout_ms;    /* 0: 5000 */
	long timeout_ms;	    /* per attempt; 0: 30000 */
	size_t max_body;	    /* 0: KUBE_HTTP_MAX_BODY */
	int max_retries;	    /* 0: 4; < 0: no retries */
	unsigned backoff_base_ms;   /* 0: 200 */
	unsigned backoff_max_ms;    /* 0: 10000 */
	unsigned retry_after_max_s; /* 0: 60 */
};

struct kube_resp {
	long status;	    /* HTTP status of the last attempt */
	char *body;	    /* NUL-terminated, malloc'ed (may be NULL when empty) */
	size_t len;
	long retry_after_s; /* of the last attempt, -1 when absent */
	int attempts;
};

struct kube_http;

struct kube_http *kube_http_new(struct kube_config *c, const struct kube_http_opts *o,
				struct wl_err *e);
void kube_http_free(struct kube_http *h);

/* method: "GET", "POST", "PUT", "PATCH", "DELETE"; body/content_type may be NULL.
 * 0 when a response arrived (any status) with *out filled; -errno when none did
 * (connect/TLS failure, timeout, body over the cap: -EFBIG). out is always
 * initialised; release it with kube_resp_release. */
int kube_http_request(struct kube_http *h, const char *method, const char *url,
		      const char *body, const char *content_type, struct kube_resp *out,
		      struct wl_err *e);
void kube_resp_release(struct kube_resp *r);

/* 0 for a 2xx status; otherwise -EIO (-ENOENT for 404, -EEXIST for 409, -EACCES for
 * 401/403, -EAGAIN for 429/5xx, -ESTALE for 410) with "HTTP <code>: <Status message>". */
int kube_resp_check(const struct kube_resp *r, struct wl_err *e);

/* Appends s to sb percent-encoded for a URL query value. */
int kube_url_escape(struct strbuf *sb, const char *s);

#endif
