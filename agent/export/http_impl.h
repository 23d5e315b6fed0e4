/* http_impl.h - internals of the HTTP server shared by http.c (connections, requests,
 * the lws callback, lifecycle) and http_setup.c (listen address, bind probe, descriptor
 * budget, TLS files and their reload); not a public face, see http.h.
 *
 * Ownership and return conventions are those of http.h: 0 or negative errno, err
 * filled where given; nothing here logs.
 */
#ifndef WATTLET_HTTP_IMPL_H
#define WATTLET_HTTP_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <libwebsockets.h>

#include "http.h"

#define HTTP_EVICT_SLACK 4u   /* slots for doomed connections lws has not closed yet */
#define HTTP_FIXED_FDS 2u     /* listening socket + lws' wake-up pipe */
#define HTTP_FD_SHARE 4u      /* hold at most RLIMIT_NOFILE / HTTP_FD_SHARE fds */
#define HTTP_KILL_REASON PENDING_TIMEOUT_USER_REASON_BASE

struct file_stamp {
	dev_t dev;
	ino_t ino;
	struct timespec mtime, ctime;
};

struct conn_slot {
	struct lws *wsi;  /* NULL: free */
	uint64_t last_ns; /* accept, request start, bytes sent, response done */
	uint64_t doom_ns; /* when doomed (0: not doomed) */
	bool busy;        /* a request is being answered */
	bool parked;      /* waiting for authz */
	bool ws;          /* a push WebSocket client (never evicted; see http_ws.c) */
	uint64_t ws_seq;  /* the frame it was last sent (ws) */
};

struct http_server {
	struct lws_context *lws;
	struct lws_protocols protocols[3]; /* http, the push WebSocket, terminator */
	http_handler_fn fn;
	void *fn_ctx;
	lws_sorted_usec_list_t sul;
	lws_sorted_usec_list_t sweep_sul;
	bool deadline_hit;
	int port;
	unsigned long long requests;
	unsigned cap;            /* connections admitted at a time */
	unsigned nslots;         /* cap + HTTP_EVICT_SLACK + HTTP_FIXED_FDS */
	unsigned doomed;         /* slots doomed and not yet destroyed */
	uint64_t idle_ns;
	lws_usec_t sweep_us;
	struct conn_slot *slots;
	struct http_stats st;
	struct lws *cur_wsi;     /* the request a handler is answering now (else NULL) */
	const char *cur_enc;     /* its Content-Encoding (http_response_set_encoding) */
	bool cur_vary;           /* the handler looked at Accept-Encoding */
	http_authz_fn authz;
	void *authz_ctx;
	unsigned parked; /* slots parked */
	char *tls_cert, *tls_key; /* NULL: plain HTTP */
	struct file_stamp tls_stamp[2]; /* cert and key as last seen */
	uint64_t tls_checked_ns;
	/* the push WebSocket (http_ws.c); ws_path NULL: none */
	char *ws_path, *ws_proto;
	unsigned ws_max;
	unsigned char *frame;    /* LWS_PRE bytes, then the frame */
	size_t frame_alloc, frame_len;
	uint64_t frame_seq;      /* frames published; 0: none yet */
	bool frame_live;         /* published while a client was open since: not stale */
};

/* Splits "HOST:PORT" / "[V6]:PORT" / ":PORT" into host (the bare numeric address, ""
 * = any; hcap bytes), port and address family. 0 or -EINVAL with err set. */
int http_parse_listen(const char *listen, char *host, size_t hcap, int *port, int *family,
		      struct wl_err *err);
/* Binds a throwaway socket to host:port: 0, or the -errno a listen there would fail
 * with (lws only logs it). */
int http_probe_bind(const char *host, int port, int family);
/* The configured connection cap lowered to the RLIMIT_NOFILE / HTTP_FD_SHARE budget
 * (at least 1). */
unsigned http_effective_cap(unsigned want);
/* Whether cert and key are PEM files that load and belong together: 0 or -errno with
 * err naming the file. */
int http_check_tls_files(const char *cert, const char *key, struct wl_err *err);
/* Identity and times of path (all zero when it cannot be stat()ed). */
void http_stamp_of(const char *path, struct file_stamp *fs);

/* The connection slot of wsi (cached in its opaque user data), NULL when untracked. */
struct conn_slot *http_slot_of(struct http_server *s, struct lws *wsi);

/* The bearer token of the request on wsi (malloc'ed; the caller wipes and frees it),
 * or NULL when it has none (or on ENOMEM: *oom set). */
char *http_bearer_token(struct lws *wsi, bool *oom);

/* http_ws.c. Copies the options (0 or -ENOMEM / -EINVAL with err set). */
int http_ws_setup(struct http_server *s, const struct http_opts *o, struct wl_err *err);
void http_ws_free(struct http_server *s);
/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 lets the upgrade go on; else the HTTP status to
 * refuse it with, *msg the body. */
int http_ws_confirm(struct http_server *s, struct lws *wsi, const char *upgrade,
		    const char **msg);
/* The push protocol's callbacks; return what the lws callback should return. */
int http_ws_established(struct http_server *s, struct lws *wsi);
int http_ws_writeable(struct http_server *s, struct lws *wsi);
/* From the sweep timer: an up-to-date client counts as having made progress; one that
 * has had a frame waiting for idle_timeout is doomed (true). */
bool http_ws_sweep(struct http_server *s, struct conn_slot *c, uint64_t now);
/* From WSI_DESTROY, before the slot is cleared. */
void http_ws_untrack(struct http_server *s, struct conn_slot *c);
/* Whether wsi speaks the push protocol. */
bool http_ws_is_push(const struct http_server *s, struct lws *wsi);

#endif
