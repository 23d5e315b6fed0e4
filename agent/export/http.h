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
 * Protocol upgrades (WebSocket, h2c) are refused with 403 and the connection closed,
 * except one push-only WebSocket when http_opts.ws_path is set (below); CONNECT (which
 * libwebsockets would turn into a raw socket) is closed at once.
 *
 * The push WebSocket (optional, http_opts.ws_path / ws_protocol / ws_max_clients): a
 * GET of exactly ws_path that upgrades to "websocket" and lists ws_protocol in
 * Sec-WebSocket-Protocol opens it (another path or upgrade: 403; without the protocol:
 * 400). authz, when set, is asked first like for any request, with the bearer token
 * of the Authorization header; a pending verdict answers 503 (the client retries: the
 * verdict is cached by then). The server sends every client the frame last given to
 * http_server_ws_publish(), a new client at once (unless every client had left since
 * it was published: it then waits for the next). One buffer is shared by all clients:
 * nothing is copied per client, except what the kernel did not take of a write (at
 * most one frame, kept by libwebsockets). A client still busy with an older frame when
 * a newer one comes skips to the newest; one that has had a frame waiting for
 * idle_timeout is closed (ws_dropped). Messages from clients are read (at most 1 KiB at a time) and
 * ignored. At most ws_max_clients are open; the next one gets the close code 1013
 * ("try again later") with a reason naming the limit. WebSocket clients hold
 * connections (max_connections) and are never evicted for a new connection; the cap
 * keeps at least one connection for other requests (ws_max_clients is lowered to
 * the connection cap minus one where needed).
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
 * TLS (optional, http_opts.tls_cert_file / tls_key_file, PEM files checked at start):
 * TLS 1.2 or newer, ALPN "http/1.1" only (no HTTP/2); a plain-HTTP request to a TLS
 * port fails the handshake and is closed. The files are looked at again every
 * HTTP_TLS_RECHECK_S seconds: when their modification or change time moved (a
 * rotated Kubernetes Secret, cert-manager), the new pair is checked and loaded for new
 * connections (stats tls_reloads); a pair that does not load keeps the old one in use
 * (tls_reload_errors) and is tried again when the files change again.
 *
 * Authorization (optional, http_opts.authz): before the handler, every request's
 * bearer token ("Authorization: Bearer <token>", NULL when absent or not a bearer
 * header, or longer than HTTP_TOKEN_MAX; in practice a request's headers must fit
 * libwebsockets' 4 KiB header buffer, else it is closed unanswered, so tokens up to
 * ~3.9 KiB work: Kubernetes service-account tokens are ~1 KiB) and path go to authz,
 * which answers from its own state without waiting: HTTP_AUTHZ_ALLOW serves the
 * request; _DENY_401
 * answers 401 (with "WWW-Authenticate: Bearer"), _DENY_403 403, _UNAVAILABLE 503;
 * _PENDING parks the connection (no handler call, no response yet, not evicted at
 * the connection cap, still closed by the idle timeout) and authz is asked again
 * after http_server_wake() (any thread) or at the latest every min(idle_timeout/4,
 * 1 s). Which paths need a token is authz's decision (the agent leaves /healthz and
 * /readyz open). Tokens are wiped from memory when the request is done.
 *
 * Threading: none, except http_server_wake(). The owner calls http_server_service()
 * from its own loop (between ticks); all handler and authz calls happen inside it, on
 * the caller's thread.
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

#include <stdbool.h>

#include "../common/caps.h"
#include "../common/strbuf.h"
#include "../common/util.h"

#define HTTP_BODY_CAP WL_CAP_HTTP_BODY /* 64 MiB per response */
#define HTTP_DEFAULT_MAX_CONNECTIONS 64u
#define HTTP_DEFAULT_IDLE_TIMEOUT_MS 10000u
#define HTTP_TOKEN_MAX 16384u /* a longer Authorization header counts as no token */
#define HTTP_TLS_RECHECK_S 10u  /* how often the TLS files are checked for a change */
#define HTTP_WS_DEFAULT_MAX_CLIENTS 16u
#define HTTP_WS_FRAME_CAP (4u << 20) /* largest frame http_server_ws_publish() takes */
#define HTTP_WS_CLOSE_TRY_LATER 1013 /* close code for a client over ws_max_clients */

struct http_server;

enum http_authz {
	HTTP_AUTHZ_ALLOW,
	HTTP_AUTHZ_PENDING,
	HTTP_AUTHZ_DENY_401,
	HTTP_AUTHZ_DENY_403,
	HTTP_AUTHZ_UNAVAILABLE,
};
/* token: NULL when the request has none; path: the request path. Must not block. */
typedef enum http_authz (*http_authz_fn)(void *ctx, const char *token, const char *path);

/* Limits; a zero field takes the default above. */
struct http_opts {
	unsigned max_connections; /* concurrent connections (before the RLIMIT_NOFILE bound) */
	unsigned idle_timeout_ms; /* close a connection without progress for this long */
	const char *tls_cert_file; /* PEM certificate (chain); NULL/"" = plain HTTP */
	const char *tls_key_file;  /* PEM private key; required with tls_cert_file */
	http_authz_fn authz;       /* NULL: every request is served */
	void *authz_ctx;           /* borrowed; must outlive the server */
	const char *ws_path;       /* the push WebSocket's path ("/ui/ws"); NULL/"": none */
	const char *ws_protocol;   /* the subprotocol it needs; required with ws_path */
	unsigned ws_max_clients;   /* WebSockets open at a time; 0: HTTP_WS_DEFAULT_MAX_CLIENTS */
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
	unsigned long long tls_reloads;      /* changed certificate/key pairs loaded */
	unsigned long long tls_reload_errors; /* changed pairs that did not load (old kept) */
	unsigned ws_open;                /* WebSocket clients open now */
	unsigned ws_max;                 /* their cap in force */
	unsigned long long ws_accepted;  /* WebSocket clients admitted */
	unsigned long long ws_refused;   /* closed with 1013: over ws_max */
	unsigned long long ws_dropped;   /* closed: a frame waited idle_timeout for them */
	unsigned long long ws_frames;    /* frames written to clients */
	unsigned long long ws_published; /* frames given to http_server_ws_publish() */
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

/* Only while a handler runs (false otherwise): whether the request's Accept-Encoding
 * admits gzip ("gzip", "x-gzip" or "*" with a q-value above 0; a header over 512 bytes
 * counts as no). Asking adds "Vary: Accept-Encoding" to the response. */
bool http_request_accepts_gzip(struct http_server *s);
/* Only while a handler runs: the Content-Encoding of the body it builds (static storage,
 * e.g. "gzip"); NULL (the default) sends none. Ignored when the body overflows. */
void http_response_set_encoding(struct http_server *s, const char *encoding);

/* The port actually listened on (> 0), for listen port 0. */
int http_server_port(const struct http_server *s);

/* Accepts and serves connections for up to timeout_ms milliseconds, then returns
 * (also with no traffic at all). timeout_ms <= 0 services what is pending without
 * waiting. Returns 0, or -EIO if the event loop failed. */
int http_server_service(struct http_server *s, int timeout_ms);

/* Checks the TLS files now (the server also does every HTTP_TLS_RECHECK_S): 0 when
 * unchanged, 1 when a changed pair was loaded, -errno with err set when it did not load
 * (the old pair stays in use); -EINVAL without TLS. */
int http_server_reload_tls(struct http_server *s, struct wl_err *err);

/* Makes the next (or current) http_server_service() ask authz again about parked
 * requests. Safe from any thread while the server exists. */
void http_server_wake(struct http_server *s);

/* Makes data[0..len) the frame every WebSocket client gets next (copied into the one
 * shared buffer; the buffer only grows, to the largest frame so far). Sent as one text
 * message. 0, -EINVAL (no push WebSocket configured, or data NULL), -E2BIG (len over
 * HTTP_WS_FRAME_CAP), -ENOMEM. */
int http_server_ws_publish(struct http_server *s, const char *data, size_t len);
/* WebSocket clients open now (0 without a push WebSocket): whether a frame is worth
 * rendering. */
unsigned http_server_ws_clients(const struct http_server *s);

/* Number of requests answered so far (for self-metrics and tests). */
unsigned long long http_server_requests(const struct http_server *s);

void http_server_free(struct http_server *s);

#endif
