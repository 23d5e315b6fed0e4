/* http.h - a tiny single-threaded HTTP/1.1 server (libwebsockets underneath).
 *
 * Serves GET and HEAD only (other methods get 405 from the server itself, and a
 * GET or HEAD with a nonzero Content-Length gets 400; both close the connection
 * without reading the body); every
 * request path goes to one handler, which builds the response body into a strbuf
 * and returns the HTTP status (404 for paths it does not know). HEAD gets the same
 * headers as GET, without the body. Every response carries `Cache-Control: no-store`
 * and `X-Content-Type-Options: nosniff`.
 *
 * Protocol upgrades (WebSocket, h2c) are refused with 403 and the connection closed;
 * CONNECT (which libwebsockets would turn into a raw socket) is closed at once.
 *
 * Bounds (an unauthenticated port must not starve the agent of file descriptors):
 *  - at most max_connections connections are open at a time (see http_opts), and the
 *    server never holds more than a quarter of RLIMIT_NOFILE (soft) in descriptors,
 *    connections, listening socket and internal pipe together;
 *  - a connection with no progress for idle_timeout (no request started, no response
 *    byte sent: a silent client, a slow header, an idle keep-alive, a reader that
 *    stopped reading) is closed;
 *  - a new connection arriving at the cap closes the connection that has been idle
 *    (between requests) the longest; when every connection is busy answering, the new
 *    one is accepted and closed at once. So /healthz keeps answering while idle
 *    clients hold connections, and everything is back to normal once load ends.
 *
 * Threading: none. The owner calls http_server_service() from its own loop (between
 * ticks); all handler calls happen inside it, on the caller's thread.
 *
 * Ownership: the server owns its sockets and per-connection buffers. The handler's
 * ctx is borrowed and must outlive the server. The strbuf given to the handler is
 * owned by the server (empty, capped at HTTP_BODY_CAP); *content_type must point to
 * static or long-lived storage (default "text/plain; charset=utf-8" when left NULL).
 *
 * Return convention: 0 or negative errno; constructors return NULL with err filled.
 * Nothing here logs (libwebsockets' own logging is switched off).
 */
#ifndef WATTLET_HTTP_H
#define WATTLET_HTTP_H

#include "../common/strbuf.h"
#include "../common/util.h"

#define HTTP_BODY_CAP (64u << 20) /* 64 MiB per response */
#define HTTP_DEFAULT_MAX_CONNECTIONS 64u
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS 10000u

struct http_server;

/* Limits; a zero field takes the default above. */
struct http_opts {
	unsigned max_connections; /* concurrent connections (before the RLIMIT_NOFILE bound) */
	unsigned idle_timeout_ms; /* close a connection without progress for this long */
};

/* Counters since the server started (for self-metrics and tests). */
struct http_stats {
	unsigned open;                  /* connections open now */
	unsigned max;                   /* http_server_max_connections() */
	unsigned long long accepted;    /* connections admitted */
	unsigned long long refused;     /* closed at accept: every slot busy */
	unsigned long long evicted;     /* idle connections closed to make room */
	unsigned long long timed_out;   /* closed by the idle timeout */
	unsigned long long upgrades_refused; /* WebSocket/h2c upgrades and CONNECTs refused */
};

/* Returns the HTTP status (200, 404, 500 ...). A status outside 100..599 is sent as
 * 500. If the body overflowed its cap the server answers 500. */
typedef int (*http_handler_fn)(void *ctx, const char *path, struct strbuf *body,
			       const char **content_type);

/* listen: "HOST:PORT" with HOST an IPv4 literal ("0.0.0.0", "127.0.0.1"), an IPv6
 * literal in brackets ("[::]", "[::1]"), or empty (":9102" = all addresses). PORT
 * 0 lets the kernel choose (see http_server_port()). Returns NULL with err set on a
 * bad address, a port in use (EADDRINUSE named) or a library failure. */
struct http_server *http_server_new(const char *listen, http_handler_fn fn, void *ctx,
				    struct wl_err *err);
/* The same with limits; opts NULL = all defaults. */
struct http_server *http_server_new_opts(const char *listen, const struct http_opts *opts,
					 http_handler_fn fn, void *ctx, struct wl_err *err);

/* The connection cap in force: max_connections, lowered so that the server's
 * descriptors stay within RLIMIT_NOFILE / 4 (at least 1). */
unsigned http_server_max_connections(const struct http_server *s);

void http_server_stats(const struct http_server *s, struct http_stats *st);

/* The port actually listened on (> 0), for listen port 0. */
int http_server_port(const struct http_server *s);

/* Accepts and serves connections for up to timeout_ms milliseconds, then returns
 * (also with no traffic at all). timeout_ms <= 0 services what is pending without
 * waiting. Returns 0, or -EIO if the event loop failed. */
int http_server_service(struct http_server *s, int timeout_ms);

/* Number of requests answered so far (for self-metrics and tests). */
unsigned long long http_server_requests(const struct http_server *s);

void http_server_free(struct http_server *s);

#endif
