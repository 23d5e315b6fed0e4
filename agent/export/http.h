/* http.h - a tiny single-threaded HTTP/1.1 server (libwebsockets underneath).
 *
 * Serves GET and HEAD only (other methods get 405 from the server itself); every
 * request path goes to one handler, which builds the response body into a strbuf
 * and returns the HTTP status (404 for paths it does not know). HEAD gets the same
 * headers as GET, without the body.
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

struct http_server;

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
