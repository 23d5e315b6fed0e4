/* http_guard.h - the daemon's glue between its HTTP server and Kubernetes token
 * reviews (http.auth: kubernetes): which paths need a token, the verdict mapping,
 * waking the server when a review finishes, and logging review failures.
 *
 * Paths: /healthz and /readyz are always open (kubelet probes carry no token);
 * /metrics, /api/v1/workloads, /, /ui, /ui/ and /ui/ws (the page's WebSocket upgrade)
 * need a bearer token allowed to `get` that
 * non-resource URL (kube_authn.h); any other path is refused without a review (401
 * without a token, 403 with one), so probing paths costs the API server nothing.
 *
 * Ownership: http_guard_new() loads its own kube_config (kube_config is single-
 * threaded; the review worker gets this one) and returns an object freed with
 * http_guard_free(), which must run BEFORE http_server_free() of the attached server
 * (the worker wakes it). This is daemon code: it logs.
 */
#ifndef WATTLET_HTTP_GUARD_H
#define WATTLET_HTTP_GUARD_H

#include "../common/util.h"
#include "../config/config.h"
#include "../export/http.h"

struct http_guard;

/* NULL with err set when the API config cannot be loaded. */
struct http_guard *http_guard_new(const struct config *c, struct wl_err *err);
/* Fills the authz hook of o (server created after this call). */
void http_guard_opts(struct http_guard *ha, struct http_opts *o);
/* The server to wake when a verdict arrives; call before serving. */
void http_guard_attach(struct http_guard *ha, struct http_server *s);
void http_guard_free(struct http_guard *ha);

#endif
