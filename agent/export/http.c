/* http.c - GET/HEAD-only HTTP/1.1 server on libwebsockets 4.1 (see http.h).
 *
 * lws 4.x ignores lws_service()'s timeout and sleeps until its own scheduler has
 * something to do, so http_server_service() schedules a sorted-usec-list (sul)
 * timer for the deadline; its callback marks the deadline and calls
 * lws_cancel_service() so the poll() that lws enters right after running the timer
 * wakes at once instead of sleeping until the next internal event.
 *
 * Connection bounds. lws accepts until its per-thread fd table (fd_limit_per_thread)
 * is one short of full and then stops polling the listening socket, so the table is
 * sized to hold the listening socket, lws' wake-up pipe and cap + HTTP_EVICT_SLACK
 * connections: that is the hard bound on descriptors (cap + 6). We keep our own
 * table of accepted connections (filled from LWS_CALLBACK_WSI_CREATE, emptied from
 * LWS_CALLBACK_WSI_DESTROY) with the time of each one's last progress and whether it
 * is answering a request:
 *  - LWS_CALLBACK_FILTER_NETWORK_CONNECTION (just after accept()) admits a connection
 *    below the cap; at the cap it dooms the connection idle longest and admits the
 *    new one (the slack covers doomed connections until lws closes them), or, with
 *    every connection busy, refuses it (lws closes the fd);
 *  - a sweep timer dooms connections without progress for idle_timeout, whatever
 *    lws' own per-state timeouts (none after a WebSocket or raw transition) say.
 * Dooming is lws_set_timeout(LWS_TO_KILL_ASYNC): lws closes the wsi from its timer
 * list in the same service round, without a lingering shutdown for a reason other
 * than keep-alive idle. lws' own timeouts are set 2 s longer than ours: a backstop.
 * A wsi that lws frees without WSI_DESTROY (only its adoption "bail" path, a role or
 * protocol missing, which cannot happen for this server) would leave a stale slot.
 *
 * Authorization: a request whose verdict is pending is "parked" (slot->parked): it
 * keeps its path, method and token in its per-connection data and returns from
 * LWS_CALLBACK_HTTP without answering. http_server_wake() calls lws_cancel_service(),
 * which delivers LWS_CALLBACK_EVENT_WAIT_CANCELLED on the service thread; that (and
 * the sweep timer, as a backstop) asks for a writeable callback on every parked
 * connection, where authz is asked again and, once decided, the response starts.
 *
 * The push WebSocket (http_ws.c) is the second protocol of the vhost; this callback
 * serves both, and sends the push protocol's events to http_ws.c.
 *
 * The listen address, bind probe, descriptor budget and TLS files (checked at start
 * and reloaded on rotation) live in http_setup.c; struct http_server in http_impl.h.
 */
#include "http.h"
#include "http_impl.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#define HTTP_CHUNK 16384
#define HTTP_DEFAULT_CTYPE "text/plain; charset=utf-8"

/* per connection; lws zeroes it when the connection is accepted */
struct http_conn {
	struct strbuf body;
	bool body_init;
	size_t sent;
	char *path;  /* a parked request's path, method and token */
	char *token;
	bool is_head;
};

static struct http_server *server_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* The slot of wsi, or NULL for a connection we do not track. lws resets a new
 * wsi's opaque pointer after WSI_CREATE, so the first lookup scans and caches. */
struct conn_slot *http_slot_of(struct http_server *s, struct lws *wsi)
{
	struct conn_slot *c = lws_get_opaque_user_data(wsi);

	if (c && c >= s->slots && c < s->slots + s->nslots && c->wsi == wsi)
		return c;
	for (unsigned i = 0; i < s->nslots; i++) {
		if (s->slots[i].wsi == wsi) {
			lws_set_opaque_user_data(wsi, &s->slots[i]);
			return &s->slots[i];
		}
	}
	return NULL;
}

static void touch(struct http_server *s, struct lws *wsi, int busy)
{
	struct conn_slot *c = http_slot_of(s, wsi);

	if (!c)
		return;
	c->last_ns = mono_ns();
	if (busy >= 0)
		c->busy = busy;
}

static void doom(struct http_server *s, struct conn_slot *c, uint64_t now)
{
	if (!c->doom_ns)
		s->doomed++;
	c->doom_ns = now ? now : 1;
	lws_set_timeout(c->wsi, HTTP_KILL_REASON, LWS_TO_KILL_ASYNC);
}

/* Called just after accept(); nonzero makes lws close the new fd. */
static int admit(struct http_server *s)
{
	uint64_t now = mono_ns();
	unsigned used = s->st.open;

	if (used - s->doomed >= s->cap) {
		struct conn_slot *victim = NULL;
		for (unsigned i = 0; i < s->nslots; i++) {
			struct conn_slot *c = &s->slots[i];
			if (!c->wsi || c->doom_ns || c->busy)
				continue;
			if (!victim || c->last_ns < victim->last_ns)
				victim = c;
		}
		if (!victim) {
			s->st.refused++;
			return 1;
		}
		doom(s, victim, now);
		s->st.evicted++;
	}
	if (used >= s->nslots) { /* doomed ones still open: wait for lws to close them */
		s->st.refused++;
		return 1;
	}
	return 0;
}

static void track(struct http_server *s, struct lws *wsi)
{
	for (unsigned i = 0; i < s->nslots; i++) {
		struct conn_slot *c = &s->slots[i];
		if (c->wsi)
			continue;
		memset(c, 0, sizeof(*c));
		c->wsi = wsi;
		c->last_ns = mono_ns();
		s->st.open++;
		s->st.accepted++;
		return;
	}
	/* admit() keeps a slot free for every accepted fd; should not happen */
	s->st.refused++;
	lws_set_timeout(wsi, HTTP_KILL_REASON, LWS_TO_KILL_ASYNC);
}

static void untrack(struct http_server *s, struct lws *wsi)
{
	struct conn_slot *c = http_slot_of(s, wsi);

	if (!c)
		return;
	if (c->doom_ns)
		s->doomed--;
	http_ws_untrack(s, c);
	if (c->parked)
		s->parked--;
	memset(c, 0, sizeof(*c));
	s->st.open--;
}

static void sweep_cb(lws_sorted_usec_list_t *sul)
{
	struct http_server *s = lws_container_of(sul, struct http_server, sweep_sul);
	uint64_t now = mono_ns(), sweep_ns = (uint64_t)s->sweep_us * 1000u;

	for (unsigned i = 0; i < s->nslots; i++) {
		struct conn_slot *c = &s->slots[i];
		if (!c->wsi)
			continue;
		if (c->doom_ns) {
			/* lws may have replaced our kill timeout with one of its own */
			if (now - c->doom_ns > sweep_ns)
				doom(s, c, now);
			continue;
		}
		if (c->ws) {
			if (http_ws_sweep(s, c, now))
				doom(s, c, now);
			continue;
		}
		if (now - c->last_ns >= s->idle_ns) {
			doom(s, c, now);
			s->st.timed_out++;
		} else if (c->parked) {
			lws_callback_on_writable(c->wsi); /* backstop for a lost wake */
		}
	}
	if (s->tls_cert && now - s->tls_checked_ns >= HTTP_TLS_RECHECK_S * 1000000000ull)
		http_server_reload_tls(s, NULL);
	lws_sul_schedule(s->lws, 0, &s->sweep_sul, sweep_cb, s->sweep_us);
}

static int send_headers(struct lws *wsi, int status, const char *ctype, size_t len,
			bool allow_hdr, bool close_hdr, const char *enc, bool vary)
{
	unsigned char buf[LWS_PRE + 1024];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	static const char allow[] = "GET, HEAD";
	static const char nostore[] = "no-store";
	static const char nosniff[] = "nosniff";
	static const char close[] = "close";

	if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, (lws_filepos_t)len,
					&p, end))
		return -1;
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)nostore, (int)strlen(nostore), &p,
					end))
		return -1;
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
					(const unsigned char *)nosniff, (int)strlen(nosniff), &p,
					end))
		return -1;
	if (allow_hdr &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
					(const unsigned char *)allow, (int)strlen(allow), &p, end))
		return -1;
	if (close_hdr &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
					(const unsigned char *)close, (int)strlen(close), &p, end))
		return -1;
	if (status == 401 &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"www-authenticate:",
					(const unsigned char *)"Bearer", 6, &p, end))
		return -1;
	if (enc && lws_add_http_header_by_name(wsi, (const unsigned char *)"content-encoding:",
					       (const unsigned char *)enc, (int)strlen(enc), &p,
					       end))
		return -1;
	if (vary && lws_add_http_header_by_name(wsi, (const unsigned char *)"vary:",
						(const unsigned char *)"Accept-Encoding", 15, &p,
						end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 0;
}

/* Answers status with a short body (and "Connection: close"), written at once; the
 * caller then returns -1 so lws closes without reading anything more. */
static void refuse(struct lws *wsi, int status, const char *msg, bool allow_hdr)
{
	unsigned char buf[LWS_PRE + 128];
	size_t n = strlen(msg);

	if (n > sizeof(buf) - LWS_PRE ||
	    send_headers(wsi, status, HTTP_DEFAULT_CTYPE, n, allow_hdr, true, NULL, false))
		return;
	memcpy(buf + LWS_PRE, msg, n);
	lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
}

/* A nonzero Content-Length. libwebsockets 4.1 spins forever inside lws_service() on
 * the body of a request that followed another one in the same read (pipelined), so
 * requests with a body are answered and closed before lws looks at the body. */
static bool has_body(struct lws *wsi)
{
	char v[32];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
		return false;
	if (lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0)
		return true;
	return v[strspn(v, " 0")] != '\0';
}

static void forget_request(struct http_conn *c)
{
	if (c->token) {
		OPENSSL_cleanse(c->token, strlen(c->token));
		free(c->token);
	}
	free(c->path);
	c->token = c->path = NULL;
}

char *http_bearer_token(struct lws *wsi, bool *oom)
{
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	char *buf, *t, *end;

	*oom = false;
	if (n <= 0 || (unsigned)n >= HTTP_TOKEN_MAX)
		return NULL;
	buf = malloc((size_t)n + 1);
	if (!buf) {
		*oom = true;
		return NULL;
	}
	if (lws_hdr_copy(wsi, buf, n + 1, WSI_TOKEN_HTTP_AUTHORIZATION) < 0) {
		free(buf);
		return NULL;
	}
	t = buf + strspn(buf, " \t");
	if (strncasecmp(t, "bearer ", 7) != 0) {
		OPENSSL_cleanse(buf, (size_t)n);
		free(buf);
		return NULL;
	}
	t += 7;
	t += strspn(t, " \t");
	end = t + strcspn(t, " \t");
	*end = '\0';
	memmove(buf, t, (size_t)(end - t) + 1);
	if (!*buf) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The bearer token of the request (malloc'ed into c->token), or none. */
static int grab_token(struct lws *wsi, struct http_conn *c)
{
	bool oom;

	c->token = http_bearer_token(wsi, &oom);
	return oom ? -ENOMEM : 0;
}

/* authz' verdict as an HTTP status to refuse with, 0 to serve, -1 still pending. */
static int verdict(struct http_server *s, struct http_conn *c)
{
	switch (s->authz(s->authz_ctx, c->token, c->path)) {
	case HTTP_AUTHZ_ALLOW: return 0;
	case HTTP_AUTHZ_PENDING: return -1;
	case HTTP_AUTHZ_DENY_401: return 401;
	case HTTP_AUTHZ_DENY_403: return 403;
	default: return 503;
	}
}

/* Builds the response in c->body (the handler's, or a refusal with status deny) and
 * sends the headers; the body follows from the writeable callback. Returns what the
 * lws callback should return. */
static int respond(struct http_server *s, struct lws *wsi, struct http_conn *c,
		   const char *path, bool is_head, int deny)
{
	const char *ctype = NULL;
	int status;

	s->cur_wsi = wsi;
	s->cur_enc = NULL;
	s->cur_vary = false;
	if (deny) {
		status = deny;
		strbuf_adds(&c->body, deny == 401 ? "unauthorized: a valid bearer token is "
						    "required\n" :
				      deny == 403 ? "forbidden\n" :
						    "authorization unavailable, retry later\n");
	} else {
		status = s->fn(s->fn_ctx, path, &c->body, &ctype);
	}
	s->cur_wsi = NULL;
	forget_request(c);

	if (c->body.overflow) {
		strbuf_reset(&c->body);
		strbuf_adds(&c->body, "response too large\n");
		status = 500;
		ctype = NULL;
		s->cur_enc = NULL;
	}
	if (status < 100 || status > 599)
		status = 500;
	if (!ctype)
		ctype = HTTP_DEFAULT_CTYPE;
	if (send_headers(wsi, status, ctype, c->body.len, false, false, s->cur_enc, s->cur_vary))
		return -1;
	if (is_head || c->body.len == 0) {
		c->sent = c->body.len;
		touch(s, wsi, 0);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

/* A parked request: ask authz again; answer once decided. */
static int resume(struct http_server *s, struct lws *wsi, struct http_conn *c,
		  struct conn_slot *slot)
{
	int deny = verdict(s, c);

	if (deny < 0)
		return 0;
	slot->parked = false;
	s->parked--;
	touch(s, wsi, -1);
	return respond(s, wsi, c, c->path, c->is_head, deny);
}

static void unpark_all(struct http_server *s)
{
	for (unsigned i = 0; i < s->nslots && s->parked; i++)
		if (s->slots[i].wsi && s->slots[i].parked && !s->slots[i].doom_ns)
			lws_callback_on_writable(s->slots[i].wsi);
}

/* Checks the request and answers it (or parks it for authz). Returns what the lws
 * callback should return. */
static int start_response(struct http_server *s, struct lws *wsi, struct http_conn *c,
			  const char *path)
{
	bool is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	bool is_head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	struct conn_slot *slot;
	int deny;

	if (!c->body_init) {
		strbuf_init(&c->body, HTTP_BODY_CAP);
		c->body_init = true;
	}
	strbuf_reset(&c->body);
	c->sent = 0;
	s->requests++;
	touch(s, wsi, 1);

	if (!is_get && !is_head) {
		/* the request may carry a body we will not read: answer and close */
		refuse(wsi, 405, "method not allowed\n", true);
		return -1;
	}
	if (has_body(wsi)) {
		refuse(wsi, 400, "request bodies are not accepted\n", false);
		return -1;
	}
	if (!path)
		path = "/";
	if (!s->authz)
		return respond(s, wsi, c, path, is_head, 0);

	forget_request(c);
	c->path = strdup(path);
	if (!c->path || grab_token(wsi, c))
		return -1;
	c->is_head = is_head;
	deny = verdict(s, c);
	if (deny >= 0)
		return respond(s, wsi, c, c->path, is_head, deny);
	slot = http_slot_of(s, wsi);
	if (!slot)
		return -1;
	slot->parked = true;
	s->parked++;
	return 0;
}

static int send_chunk(struct http_server *s, struct lws *wsi, struct http_conn *c)
{
	unsigned char buf[LWS_PRE + HTTP_CHUNK];
	size_t left, n;
	bool final;

	if (!c->body_init || c->sent >= c->body.len)
		return 0;
	left = c->body.len - c->sent;
	n = left < HTTP_CHUNK ? left : HTTP_CHUNK;
	final = n == left;
	memcpy(buf + LWS_PRE, c->body.buf + c->sent, n);
	if (lws_write(wsi, buf + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
		return -1;
	c->sent += n;
	touch(s, wsi, final ? 0 : -1);
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len)
{
	struct http_server *s = server_of(wsi);
	struct http_conn *c = user;

	(void)len;
	if (!s)
		return reason == LWS_CALLBACK_FILTER_NETWORK_CONNECTION ? 1 : 0;
	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return admit(s);
	case LWS_CALLBACK_WSI_CREATE:
		track(s, wsi);
		return 0;
	case LWS_CALLBACK_WSI_DESTROY:
		untrack(s, wsi);
		return 0;
	case LWS_CALLBACK_HTTP:
		if (!c || !http_slot_of(s, wsi))
			return -1;
		return start_response(s, wsi, c, in);
	case LWS_CALLBACK_HTTP_WRITEABLE: {
		struct conn_slot *slot = http_slot_of(s, wsi);
		if (!c)
			return -1;
		if (slot && slot->parked)
			return resume(s, wsi, c, slot);
		return send_chunk(s, wsi, c);
	}
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (s->parked)
			unpark_all(s);
		return 0;
	case LWS_CALLBACK_HTTP_BODY:
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return 0; /* bodies are never read; 405 already answered */
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
		/* h2c, or a WebSocket other than the push one: answer and hang up */
		const char *msg;
		int deny = http_ws_confirm(s, wsi, in, &msg);
		if (!deny)
			return 0;
		s->st.upgrades_refused++;
		refuse(wsi, deny, msg, false);
		return -1;
	}
	case LWS_CALLBACK_ESTABLISHED:
		if (http_ws_is_push(s, wsi))
			return http_ws_established(s, wsi);
		s->st.upgrades_refused++; /* bound to another protocol: never serve it */
		return -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return http_ws_is_push(s, wsi) ? http_ws_writeable(s, wsi) : -1;
	case LWS_CALLBACK_RECEIVE:
		return http_ws_is_push(s, wsi) ? 0 : -1; /* client messages are ignored */
	case LWS_CALLBACK_RAW_ADOPT:
	case LWS_CALLBACK_RAW_RX:
		/* CONNECT turns the connection raw */
		s->st.upgrades_refused += reason == LWS_CALLBACK_RAW_ADOPT;
		return -1;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (c && c->body_init) {
			strbuf_release(&c->body);
			c->body_init = false;
		}
		if (c)
			forget_request(c);
		return 0;
	default:
		return 0;
	}
}

struct http_server *http_server_new(const char *listen, http_handler_fn fn, void *ctx,
				    struct wl_err *err)
{
	return http_server_new_opts(listen, NULL, fn, ctx, err);
}

struct http_server *http_server_new_opts(const char *listen, const struct http_opts *opts,
					 http_handler_fn fn, void *ctx, struct wl_err *err)
{
	struct lws_context_creation_info info;
	struct http_server *s = NULL;
	struct lws_vhost *vh;
	char host[INET6_ADDRSTRLEN + 1];
	int port = 0, family = AF_INET, rc;
	unsigned want = HTTP_DEFAULT_MAX_CONNECTIONS, idle_ms = HTTP_DEFAULT_IDLE_TIMEOUT_MS;
	unsigned idle_s;
	bool tls;

	if (!fn) {
		err_set(err, EINVAL, "http server needs a handler");
		return NULL;
	}
	if (opts && opts->max_connections)
		want = opts->max_connections;
	if (opts && opts->idle_timeout_ms)
		idle_ms = opts->idle_timeout_ms;
	tls = opts && opts->tls_cert_file && *opts->tls_cert_file;
	if (tls && (!opts->tls_key_file || !*opts->tls_key_file)) {
		err_set(err, EINVAL, "TLS certificate %s given without a private key",
			opts->tls_cert_file);
		return NULL;
	}
	if (tls && http_check_tls_files(opts->tls_cert_file, opts->tls_key_file, err))
		return NULL;
	if (http_parse_listen(listen, host, sizeof(host), &port, &family, err))
		return NULL;
	rc = http_probe_bind(host, port, family);
	if (rc) {
		err_set(err, -rc, "cannot listen on %s: %s%s", listen, strerror(-rc),
			rc == -EADDRINUSE ? " (is another wattlet or exporter running?)" : "");
		return NULL;
	}

	s = wl_zalloc(sizeof(*s), NULL, err);
	if (!s)
		return NULL;
	s->fn = fn;
	s->fn_ctx = ctx;
	s->authz = opts ? opts->authz : NULL;
	s->authz_ctx = opts ? opts->authz_ctx : NULL;
	if (tls) {
		s->tls_cert = strdup(opts->tls_cert_file);
		s->tls_key = strdup(opts->tls_key_file);
		if (!s->tls_cert || !s->tls_key) {
			err_set(err, ENOMEM, "out of memory");
			goto cleanup;
		}
		http_stamp_of(s->tls_cert, &s->tls_stamp[0]);
		http_stamp_of(s->tls_key, &s->tls_stamp[1]);
		s->tls_checked_ns = mono_ns();
	}
	s->protocols[0].name = "http";
	s->protocols[0].callback = http_cb;
	s->protocols[0].per_session_data_size = sizeof(struct http_conn);
	s->cap = http_effective_cap(want);
	/* room for everything lws' fd table can hold, so lws' limit is the one that binds */
	s->nslots = s->cap + HTTP_EVICT_SLACK + HTTP_FIXED_FDS;
	s->idle_ns = (uint64_t)idle_ms * 1000000u;
	s->sweep_us = (lws_usec_t)idle_ms * 1000 / 4;
	if (s->sweep_us < 50 * LWS_US_PER_MS)
		s->sweep_us = 50 * LWS_US_PER_MS;
	if (s->sweep_us > LWS_US_PER_SEC)
		s->sweep_us = LWS_US_PER_SEC;
	s->slots = calloc(s->nslots, sizeof(*s->slots));
	if (!s->slots) {
		err_set(err, ENOMEM, "out of memory");
		goto cleanup;
	}
	if (http_ws_setup(s, opts, err))
		goto cleanup;
	if (s->ws_path) {
		s->protocols[1].name = s->ws_proto;
		s->protocols[1].callback = http_cb;
		s->protocols[1].rx_buffer_size = 1024; /* client messages are ignored */
		s->protocols[1].tx_packet_size = HTTP_WS_FRAME_CAP;
	}

	/* process-wide switch; we never want lws' own stderr output from a library */
	lws_set_log_level(0, NULL);

	idle_s = (idle_ms + 999) / 1000 + 2; /* ours fire first; lws' are the backstop */
	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = *host ? host : NULL;
	info.protocols = s->protocols;
	info.user = s;
	info.gid = -1;
	info.uid = -1;
	info.server_string = "wattlet";
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 * (family == AF_INET);
	/* lws' own per-state timeouts (header wait, keep-alive) back ours up */
	info.timeout_secs = idle_s;
	info.timeout_secs_ah_idle = idle_s;
	info.keepalive_timeout = (int)idle_s;
	/* lws stops accepting one short of a full table: at most cap + slack + fixed fds */
	info.fd_limit_per_thread = s->cap + HTTP_EVICT_SLACK + HTTP_FIXED_FDS + 1;
	info.count_threads = 1;
	if (tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = opts->tls_cert_file;
		info.ssl_private_key_filepath = opts->tls_key_file;
		info.alpn = "http/1.1"; /* lws has HTTP/2 built in; this server speaks 1.1 */
		info.ssl_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
	}

	s->lws = lws_create_context(&info);
	if (!s->lws) {
		if (tls)
			err_set(err, EINVAL, "cannot listen on %s: TLS setup failed (is %s a PEM "
					     "certificate and %s its PEM private key?)", listen,
				opts->tls_cert_file, opts->tls_key_file);
		else
			err_set(err, EADDRNOTAVAIL, "cannot listen on %s: libwebsockets could not "
						    "start the server", listen);
		goto cleanup;
	}
	vh = lws_get_vhost_by_name(s->lws, "default");
	s->port = vh ? lws_get_vhost_listen_port(vh) : -1;
	if (s->port <= 0) {
		err_set(err, EADDRNOTAVAIL, "cannot listen on %s: no listening socket", listen);
		goto cleanup;
	}
	lws_sul_schedule(s->lws, 0, &s->sweep_sul, sweep_cb, s->sweep_us);
	return s;

cleanup:
	http_server_free(s);
	return NULL;
}

unsigned http_server_max_connections(const struct http_server *s)
{
	return s ? s->cap : 0;
}

void http_server_stats(const struct http_server *s, struct http_stats *st)
{
	if (!st)
		return;
	if (!s) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = s->st;
	st->max = s->cap;
	st->ws_max = s->ws_max;
}

/* Whether an Accept-Encoding value admits gzip: the q-value of "gzip"/"x-gzip" when
 * listed, else that of "*", else no (RFC 9110 12.5.3; q absent = 1). */
static bool gzip_accepted(const char *v)
{
	int star = -1, gz = -1; /* -1 not listed, 0 refused, 1 accepted */

	while (*v) {
		const char *tok, *end;
		size_t n;
		int ok = 1;

		v += strspn(v, " \t,");
		tok = v;
		end = v + strcspn(v, ",");
		n = strcspn(tok, " \t;,");
		for (const char *p = tok + n; p < end; p++) {
			if (*p != ';')
				continue;
			p += 1 + strspn(p + 1, " \t");
			if ((*p == 'q' || *p == 'Q') && p[1] == '=')
				ok = strtod(p + 2, NULL) > 0;
		}
		if ((n == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
		    (n == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
			gz = gz == 1 ? 1 : ok;
		else if (n == 1 && *tok == '*')
			star = ok;
		v = end;
	}
	return gz >= 0 ? gz == 1 : star == 1;
}

bool http_request_accepts_gzip(struct http_server *s)
{
	char v[512];
	int n;

	if (!s || !s->cur_wsi)
		return false;
	s->cur_vary = true;
	n = lws_hdr_total_length(s->cur_wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING);
	if (n <= 0 || (size_t)n >= sizeof(v))
		return false;
	if (lws_hdr_copy(s->cur_wsi, v, sizeof(v), WSI_TOKEN_HTTP_ACCEPT_ENCODING) < 0)
		return false;
	return gzip_accepted(v);
}

void http_response_set_encoding(struct http_server *s, const char *encoding)
{
	if (s && s->cur_wsi)
		s->cur_enc = encoding;
}

int http_server_port(const struct http_server *s)
{
	return s ? s->port : -EINVAL;
}

unsigned long long http_server_requests(const struct http_server *s)
{
	return s ? s->requests : 0;
}

void http_server_wake(struct http_server *s)
{
	if (s && s->lws)
		lws_cancel_service(s->lws);
}

static void deadline_cb(lws_sorted_usec_list_t *sul)
{
	struct http_server *s = lws_container_of(sul, struct http_server, sul);

	s->deadline_hit = true;
	lws_cancel_service(s->lws); /* wake the poll() lws enters after timers */
}

int http_server_service(struct http_server *s, int timeout_ms)
{
	if (!s || !s->lws)
		return -EINVAL;
	if (timeout_ms <= 0)
		return lws_service(s->lws, -1) < 0 ? -EIO : 0;
	s->deadline_hit = false;
	lws_sul_schedule(s->lws, 0, &s->sul, deadline_cb,
			 (lws_usec_t)timeout_ms * LWS_US_PER_MS);
	while (!s->deadline_hit) {
		if (lws_service(s->lws, 0) < 0) {
			lws_sul_cancel(&s->sul);
			return -EIO;
		}
	}
	return 0;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	if (s->lws) {
		lws_sul_cancel(&s->sul);
		lws_sul_cancel(&s->sweep_sul);
		lws_context_destroy(s->lws); /* WSI_DESTROY for each connection: slots live */
	}
	http_ws_free(s);
	free(s->slots);
	free(s->tls_cert);
	free(s->tls_key);
	free(s);
}
