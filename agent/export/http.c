/* http.c - GET/HEAD-only HTTP/1.1 server on libwebsockets 4.1 (see http.h).
 *
 * lws 4.x ignores lws_service()'s timeout and sleeps until its own scheduler has
 * something to do, so http_server_service() schedules a sorted-usec-list (sul)
 * timer for the deadline; its callback marks the deadline and calls
 * lws_cancel_service() so the poll() that lws enters right after running the timer
 * wakes at once instead of sleeping until the next internal event.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libwebsockets.h>

#define HTTP_CHUNK 16384
#define HTTP_DEFAULT_CTYPE "text/plain; charset=utf-8"

struct http_server {
	struct lws_context *lws;
	struct lws_protocols protocols[2];
	http_handler_fn fn;
	void *fn_ctx;
	lws_sorted_usec_list_t sul;
	bool deadline_hit;
	int port;
	unsigned long long requests;
};

/* per connection; lws zeroes it when the connection is accepted */
struct http_conn {
	struct strbuf body;
	bool body_init;
	size_t sent;
	bool close_after;
};

static int send_headers(struct lws *wsi, int status, const char *ctype, size_t len,
			bool allow_hdr)
{
	unsigned char buf[LWS_PRE + 1024];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	static const char allow[] = "GET, HEAD";
	static const char nostore[] = "no-store";

	if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, (lws_filepos_t)len,
					&p, end))
		return -1;
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)nostore, (int)strlen(nostore), &p,
					end))
		return -1;
	if (allow_hdr &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
					(const unsigned char *)allow, (int)strlen(allow), &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 0;
}

/* Builds the response in conn->body and sends the headers; the body follows from
 * the writeable callback. Returns what the lws callback should return. */
static int start_response(struct http_server *s, struct lws *wsi, struct http_conn *c,
			  const char *path)
{
	bool is_get = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0;
	bool is_head = lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0;
	const char *ctype = NULL;
	int status;

	if (!c->body_init) {
		strbuf_init(&c->body, HTTP_BODY_CAP);
		c->body_init = true;
	}
	strbuf_reset(&c->body);
	c->sent = 0;
	c->close_after = false;
	s->requests++;

	if (!is_get && !is_head) {
		/* the request may carry a body we will not read: answer and close */
		c->close_after = true;
		strbuf_adds(&c->body, "method not allowed\n");
		if (send_headers(wsi, 405, HTTP_DEFAULT_CTYPE, c->body.len, true))
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}

	status = s->fn(s->fn_ctx, path ? path : "/", &c->body, &ctype);
	if (c->body.overflow) {
		strbuf_reset(&c->body);
		strbuf_adds(&c->body, "response too large\n");
		status = 500;
		ctype = NULL;
	}
	if (status < 100 || status > 599)
		status = 500;
	if (!ctype)
		ctype = HTTP_DEFAULT_CTYPE;
	if (send_headers(wsi, status, ctype, c->body.len, false))
		return -1;
	if (is_head || c->body.len == 0) {
		c->sent = c->body.len;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	lws_callback_on_writable(wsi);
	return 0;
}

static int send_chunk(struct lws *wsi, struct http_conn *c)
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
	if (!final) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (c->close_after)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len)
{
	struct http_server *s = lws_context_user(lws_get_context(wsi));
	struct http_conn *c = user;

	(void)len;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!c || !s)
			return -1;
		return start_response(s, wsi, c, in);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!c)
			return -1;
		return send_chunk(wsi, c);
	case LWS_CALLBACK_HTTP_BODY:
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return 0; /* bodies are never read; 405 already answered */
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (c && c->body_init) {
			strbuf_release(&c->body);
			c->body_init = false;
		}
		return 0;
	default:
		return 0;
	}
}

/* Splits "HOST:PORT" / "[V6]:PORT" / ":PORT". host gets the bare address ("" = any). */
static int parse_listen(const char *listen, char *host, size_t hcap, int *port, int *family,
			struct wl_err *err)
{
	const char *colon, *h = listen;
	size_t hlen;
	uint64_t p;

	if (!listen || !*listen)
		return err_set(err, EINVAL, "listen address is empty");
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return err_set(err, EINVAL, "listen address '%s': want [IPv6]:PORT",
				       listen);
		h = listen + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
		*family = AF_INET6;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return err_set(err, EINVAL, "listen address '%s': want HOST:PORT", listen);
		if (strchr(listen, ':') != colon)
			return err_set(err, EINVAL,
				       "listen address '%s': put IPv6 addresses in brackets",
				       listen);
		hlen = (size_t)(colon - listen);
		*family = hlen ? AF_INET : AF_INET6;
	}
	if (hlen >= hcap)
		return err_set(err, EINVAL, "listen address '%s': host too long", listen);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (parse_u64(colon + 1, &p) || p > 65535 || strchr(colon + 1, ' '))
		return err_set(err, EINVAL, "listen address '%s': bad port '%s'", listen,
			       colon + 1);
	*port = (int)p;
	if (*host) {
		unsigned char tmp[sizeof(struct in6_addr)];
		if (inet_pton(*family, host, tmp) != 1)
			return err_set(err, EINVAL,
				       "listen address '%s': '%s' is not a numeric %s address",
				       listen, host, *family == AF_INET ? "IPv4" : "IPv6");
	}
	return 0;
}

/* Binds a throwaway socket to learn why a listen would fail (lws only logs it). */
static int probe_bind(const char *host, int port, int family)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, zero = 0, ret = 0;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (*host)
			inet_pton(AF_INET, host, &sin->sin_addr);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (*host)
			inet_pton(AF_INET6, host, &sin6->sin6_addr);
		sl = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6 && !*host)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

struct http_server *http_server_new(const char *listen, http_handler_fn fn, void *ctx,
				    struct wl_err *err)
{
	struct lws_context_creation_info info;
	struct http_server *s = NULL;
	struct lws_vhost *vh;
	char host[INET6_ADDRSTRLEN + 1];
	int port = 0, family = AF_INET, rc;

	if (!fn) {
		err_set(err, EINVAL, "http server needs a handler");
		return NULL;
	}
	if (parse_listen(listen, host, sizeof(host), &port, &family, err))
		return NULL;
	rc = probe_bind(host, port, family);
	if (rc) {
		err_set(err, -rc, "cannot listen on %s: %s%s", listen, strerror(-rc),
			rc == -EADDRINUSE ? " (is another wattlet or exporter running?)" : "");
		return NULL;
	}

	s = calloc(1, sizeof(*s));
	if (!s) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	s->fn = fn;
	s->fn_ctx = ctx;
	s->protocols[0].name = "http";
	s->protocols[0].callback = http_cb;
	s->protocols[0].per_session_data_size = sizeof(struct http_conn);

	/* process-wide switch; we never want lws' own stderr output from a library */
	lws_set_log_level(0, NULL);

	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = *host ? host : NULL;
	info.protocols = s->protocols;
	info.user = s;
	info.gid = -1;
	info.uid = -1;
	info.server_string = "wattlet";
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 * (family == AF_INET);
	/* a slow client must not hold a connection forever */
	info.timeout_secs = 10;
	info.keepalive_timeout = 10;

	s->lws = lws_create_context(&info);
	if (!s->lws) {
		err_set(err, EADDRNOTAVAIL, "cannot listen on %s: libwebsockets could not start "
					    "the server", listen);
		goto cleanup;
	}
	vh = lws_get_vhost_by_name(s->lws, "default");
	s->port = vh ? lws_get_vhost_listen_port(vh) : -1;
	if (s->port <= 0) {
		err_set(err, EADDRNOTAVAIL, "cannot listen on %s: no listening socket", listen);
		goto cleanup;
	}
	return s;

cleanup:
	http_server_free(s);
	return NULL;
}

int http_server_port(const struct http_server *s)
{
	return s ? s->port : -EINVAL;
}

unsigned long long http_server_requests(const struct http_server *s)
{
	return s ? s->requests : 0;
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
		lws_context_destroy(s->lws);
	}
	free(s);
}
