#include "kube_http.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>

#include "kube_backoff.h"

struct kube_http {
	struct kube_config *cfg;
	CURL *h;
	struct kube_http_opts o;
	struct kube_backoff bo;
};

static size_t write_cb(char *p, size_t sz, size_t nm, void *ud)
{
	struct kube_xfer *x = ud;
	size_t n = sz * nm;

	if (x->on_data)
		return x->on_data(p, n, x->ud);
	if (strbuf_add(&x->body, p, n)) {
		x->too_big = true;
		return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
	}
	return n;
}

int kube_parse_retry_after(const char *v, time_t now, long *out_s)
{
	const char *p = v;
	long n = 0;
	time_t t;

	if (!v || !out_s)
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p)) {
			if (n > 1000000000L / 10)
				return -EINVAL;
			n = n * 10 + (*p++ - '0');
		}
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p)
			return -EINVAL;
		*out_s = n;
		return 0;
	}
	t = curl_getdate(p, NULL);
	if (t < 0)
		return -EINVAL;
	*out_s = t > now ? (long)(t - now) : 0;
	return 0;
}

static size_t header_cb(char *p, size_t sz, size_t nm, void *ud)
{
	struct kube_xfer *x = ud;
	size_t n = sz * nm;
	static const char name[] = "retry-after:";
	char val[128];
	long s;

	if (n > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		size_t vl = n - (sizeof(name) - 1);
		if (vl >= sizeof(val))
			vl = sizeof(val) - 1;
		memcpy(val, p + sizeof(name) - 1, vl);
		val[vl] = '\0';
		if (kube_parse_retry_after(val, time(NULL), &s) == 0)
			x->retry_after_s = s;
	} else if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		x->retry_after_s = -1; /* new response (e.g. after a 100 Continue) */
	}
	return n;
}

int kube_url_escape(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int err = 0;

	for (; *s && !err; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			err = strbuf_add(sb, (const char *)&ch, 1);
		} else {
			char enc[3] = { '%', hex[ch >> 4], hex[ch & 15] };
			err = strbuf_add(sb, enc, 3);
		}
	}
	return err;
}

void kube_xfer_release(struct kube_xfer *x)
{
	if (!x)
		return;
	strbuf_release(&x->body);
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
}

int kube_xfer_prepare(struct kube_xfer *x, CURL *h, struct kube_config *c, const char *url,
		      const struct kube_xfer_opts *o, struct wl_err *e)
{
	struct kube_xfer_opts def = { 0 };
	struct strbuf u, hdr;
	const char *tok, *method;
	struct curl_slist *l;
	int err = 0;

	if (!o)
		o = &def;
	if (!x || !h || !c || !url)
		return err_set(e, EINVAL, "kube_xfer_prepare: missing argument");
	kube_data_fn keep_fn = x->on_data;
	void *keep_ud = x->ud;
	memset(x, 0, sizeof(*x));
	x->on_data = keep_fn;
	x->ud = keep_ud;
	x->retry_after_s = -1;
	strbuf_init(&x->body, (o->max_body ? o->max_body : KUBE_HTTP_MAX_BODY) + 1);
	strbuf_init(&u, 16384);
	strbuf_init(&hdr, 70000);
	method = o->method ? o->method : "GET";

	if (url[0] == '/')
		strbuf_adds(&u, kube_config_server(c));
	else if (strncmp(url, "https://", 8) != 0) {
		err = err_set(e, EINVAL, "only https URLs are allowed: %s", url);
		goto cleanup;
	}
	strbuf_adds(&u, url);
	if (u.overflow) {
		err = err_set(e, ENAMETOOLONG, "URL too long");
		goto cleanup;
	}
	tok = kube_config_token(c, e);
	if (!tok) {
		err = -EACCES;
		goto cleanup;
	}
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, u.buf);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000L);
	if (o->timeout_ms >= 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms ? o->timeout_ms : 30000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "wattlet/" WATTLET_VERSION);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when the server offers it */
	err = kube_config_apply_tls(c, h, e);
	if (err)
		goto cleanup;

	l = curl_slist_append(NULL, "Accept: application/json");
	if (l)
		x->hdrs = l;
	if (*tok) {
		strbuf_addf(&hdr, "Authorization: Bearer %s", tok);
		if (hdr.overflow || !(l = curl_slist_append(x->hdrs, hdr.buf))) {
			err = err_set(e, ENOMEM, "cannot add the Authorization header");
			goto cleanup;
		}
		x->hdrs = l;
	}
	if (o->body) {
		strbuf_reset(&hdr);
		strbuf_addf(&hdr, "Content-Type: %s",
			    o->content_type ? o->content_type : "application/json");
		if (hdr.overflow || !(l = curl_slist_append(x->hdrs, hdr.buf))) {
			err = err_set(e, ENOMEM, "cannot add the Content-Type header");
			goto cleanup;
		}
		x->hdrs = l;
		curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, o->body);
	}
	if (!x->hdrs) {
		err = err_set(e, ENOMEM, "out of memory");
		goto cleanup;
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->hdrs);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (!(strcmp(method, "POST") == 0 && o->body))
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
cleanup:
	strbuf_release(&u);
	/* the token must not linger in freed memory */
	if (hdr.buf)
		memset(hdr.buf, 0, hdr.alloc);
	strbuf_release(&hdr);
	if (err)
		kube_xfer_release(x);
	return err;
}

void kube_xfer_error(const struct kube_xfer *x, CURLcode rc, size_t max_body, struct wl_err *e)
{
	const char *detail = x && x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);

	if (x && x->too_big)
		err_set(e, EFBIG, "response larger than the %zu byte cap",
			max_body ? max_body : KUBE_HTTP_MAX_BODY);
	else if (rc == CURLE_PEER_FAILED_VERIFICATION)
		err_set(e, EPERM, "TLS: server certificate not trusted by the configured CA: %s",
			detail);
	else if (rc == CURLE_SSL_CONNECT_ERROR)
		err_set(e, EPROTO, "TLS handshake failed: %s", detail);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		err_set(e, ETIMEDOUT, "timed out: %s", detail);
	else
		err_set(e, EIO, "%s", detail);
}

static int curl_to_errno(CURLcode rc, bool too_big)
{
	if (too_big)
		return -EFBIG;
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
		return -EPERM;
	case CURLE_SSL_CONNECT_ERROR:
		return -EPROTO;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	default:
		return -EIO;
	}
}

struct kube_http *kube_http_new(struct kube_config *c, const struct kube_http_opts *o,
				struct wl_err *e)
{
	struct kube_http *h;

	if (!c) {
		err_set(e, EINVAL, "kube_http_new: no config");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h || !(h->h = curl_easy_init())) {
		free(h);
		err_set(e, ENOMEM, "out of memory (curl)");
		return NULL;
	}
	h->cfg = c;
	if (o)
		h->o = *o;
	if (!h->o.max_body)
		h->o.max_body = KUBE_HTTP_MAX_BODY;
	if (!h->o.max_retries)
		h->o.max_retries = 4;
	if (!h->o.retry_after_max_s)
		h->o.retry_after_max_s = 60;
	kube_backoff_init(&h->bo, h->o.backoff_base_ms, h->o.backoff_max_ms ? h->o.backoff_max_ms : 10000);
	return h;
}

void kube_http_free(struct kube_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->h);
	free(h);
}

void kube_resp_release(struct kube_resp *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
}

static bool retryable_status(long s)
{
	return s == 429 || (s >= 500 && s != 501 && s <= 599);
}

static bool retryable_transport(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
	       rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING ||
	       rc == CURLE_PARTIAL_FILE || rc == CURLE_COULDNT_RESOLVE_HOST;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int kube_http_request(struct kube_http *h, const char *method, const char *url,
		      const char *body, const char *content_type, struct kube_resp *out,
		      struct wl_err *e)
{
	struct kube_xfer_opts xo = { 0 };
	struct kube_xfer x = { 0 };
	int err = 0, max_attempts;
	bool is_get;

	if (!out)
		return err_set(e, EINVAL, "kube_http_request: no response struct");
	memset(out, 0, sizeof(*out));
	out->retry_after_s = -1;
	if (!h || !url)
		return err_set(e, EINVAL, "kube_http_request: missing argument");
	xo.method = method ? method : "GET";
	is_get = strcmp(xo.method, "GET") == 0;
	xo.body = body;
	xo.content_type = content_type;
	xo.max_body = h->o.max_body;
	xo.connect_timeout_ms = h->o.connect_timeout_ms;
	xo.timeout_ms = h->o.timeout_ms;
	max_attempts = 1 + (h->o.max_retries > 0 ? h->o.max_retries : 0);
	kube_backoff_reset(&h->bo);

	for (int attempt = 1; attempt <= max_attempts; attempt++) {
		CURLcode rc;
		long status = 0;
		bool retry;
		unsigned delay;

		err = kube_xfer_prepare(&x, h->h, h->cfg, url, &xo, e);
		if (err)
			return err;
		rc = curl_easy_perform(h->h);
		out->attempts = attempt;
		if (rc != CURLE_OK) {
			kube_xfer_error(&x, rc, h->o.max_body, e);
			err = curl_to_errno(rc, x.too_big);
			retry = is_get && !x.too_big && retryable_transport(rc);
			out->retry_after_s = -1;
		} else {
			curl_easy_getinfo(h->h, CURLINFO_RESPONSE_CODE, &status);
			err = 0;
			free(out->body);
			out->status = status;
			out->len = x.body.len;
			out->body = x.body.buf; /* take ownership */
			x.body.buf = NULL;
			out->retry_after_s = x.retry_after_s;
			retry = retryable_status(status);
		}
		kube_xfer_release(&x);
		if (!retry || attempt == max_attempts)
			break;
		delay = kube_backoff_next_ms(&h->bo);
		if (out->retry_after_s >= 0) {
			long ra = out->retry_after_s;
			if (ra > (long)h->o.retry_after_max_s)
				ra = (long)h->o.retry_after_max_s;
			if ((unsigned)ra * 1000u > delay)
				delay = (unsigned)ra * 1000u;
		}
		sleep_ms(delay);
	}
	return err;
}

int kube_resp_check(const struct kube_resp *r, struct wl_err *e)
{
	json_t *j;
	const char *msg = NULL;
	int code;

	if (!r)
		return err_set(e, EINVAL, "no response");
	if (r->status >= 200 && r->status < 300)
		return 0;
	switch (r->status) {
	case 404: code = ENOENT; break;
	case 409: code = EEXIST; break;
	case 401: case 403: code = EACCES; break;
	case 410: code = ESTALE; break;
	default: code = retryable_status(r->status) ? EAGAIN : EIO; break;
	}
	j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	if (j)
		msg = json_string_value(json_object_get(j, "message"));
	err_set(e, code, "HTTP %ld: %s", r->status, msg ? msg : "(no Status message)");
	json_decref(j);
	return -code;
}
