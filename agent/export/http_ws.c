/* http_ws.c - the one push-only WebSocket of the HTTP server (see http.h, "The push
 * WebSocket"); the connection table, the callback and the sweep live in http.c.
 *
 * One frame buffer for all clients: http_server_ws_publish() copies the frame after
 * LWS_PRE bytes of headroom (lws writes the WebSocket header there) and asks for a
 * writeable callback on every client; each client's slot remembers the sequence number
 * of the frame it was last sent, so a writeable callback sends the newest frame once
 * and a client that fell behind skips the frames it missed. What the kernel does not
 * take of a write, lws keeps (one frame at most) and sends before the next writeable
 * callback. The sweep timer (http.c) calls http_ws_sweep(): a client holding the newest
 * frame is "making progress"; one with a frame waiting for idle_timeout is closed.
 * A client that connects gets the newest frame at once, unless every client had left
 * since it was published (the owner stops publishing then; it would be stale): then it
 * waits for the next one.
 */
#include "http.h"
#include "http_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define WS_PROTO_HDR_MAX 512 /* a longer Sec-WebSocket-Protocol does not list ours */

int http_ws_setup(struct http_server *s, const struct http_opts *o, struct wl_err *err)
{
	if (!o || !o->ws_path || !*o->ws_path)
		return 0;
	if (o->ws_path[0] != '/' || !o->ws_protocol || !*o->ws_protocol ||
	    strpbrk(o->ws_protocol, " ,\t"))
		return err_set(err, EINVAL, "WebSocket path '%s' needs an absolute path and one "
					    "protocol name", o->ws_path);
	s->ws_path = strdup(o->ws_path);
	s->ws_proto = strdup(o->ws_protocol);
	if (!s->ws_path || !s->ws_proto)
		return err_set(err, ENOMEM, "out of memory");
	s->ws_max = o->ws_max_clients ? o->ws_max_clients : HTTP_WS_DEFAULT_MAX_CLIENTS;
	/* one connection stays for everything else (/healthz, the page itself) */
	if (s->ws_max >= s->cap)
		s->ws_max = s->cap > 1 ? s->cap - 1 : 0;
	return 0;
}

void http_ws_free(struct http_server *s)
{
	free(s->ws_path);
	free(s->ws_proto);
	free(s->frame);
	s->ws_path = s->ws_proto = NULL;
	s->frame = NULL;
}

bool http_ws_is_push(const struct http_server *s, struct lws *wsi)
{
	const struct lws_protocols *p = lws_get_protocol(wsi);

	/* lws may hand out its own copy of the protocol table: compare names */
	return s->ws_path && p && p->name && strcmp(p->name, s->ws_proto) == 0;
}

/* Whether the comma-separated list v names proto. */
static bool lists(const char *v, const char *proto)
{
	size_t n = strlen(proto);

	while (*v) {
		size_t len;
		v += strspn(v, " \t,");
		len = strcspn(v, " \t,");
		if (len == n && strncmp(v, proto, n) == 0)
			return true;
		v += len;
	}
	return false;
}

int http_ws_confirm(struct http_server *s, struct lws *wsi, const char *upgrade,
		    const char **msg)
{
	char path[256], protos[WS_PROTO_HDR_MAX];
	int n, deny = 0;

	*msg = "protocol upgrades are not supported\n";
	if (!s->ws_path || !upgrade || strcmp(upgrade, "websocket") != 0)
		return 403;
	n = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);
	if (n <= 0 || (size_t)n >= sizeof(path) ||
	    lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) < 0 ||
	    strcmp(path, s->ws_path) != 0)
		return 403;
	n = lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL);
	if (n <= 0 || (size_t)n >= sizeof(protos) ||
	    lws_hdr_copy(wsi, protos, sizeof(protos), WSI_TOKEN_PROTOCOL) < 0 ||
	    !lists(protos, s->ws_proto)) {
		*msg = "this WebSocket needs its subprotocol (Sec-WebSocket-Protocol)\n";
		return 400;
	}
	if (s->authz) {
		bool oom = false;
		char *token = http_bearer_token(wsi, &oom);
		if (oom)
			return 503;
		switch (s->authz(s->authz_ctx, token, path)) {
		case HTTP_AUTHZ_ALLOW: break;
		case HTTP_AUTHZ_PENDING: deny = 503; break;
		case HTTP_AUTHZ_DENY_401: deny = 401; break;
		case HTTP_AUTHZ_DENY_403: deny = 403; break;
		default: deny = 503; break;
		}
		if (token) {
			OPENSSL_cleanse(token, strlen(token));
			free(token);
		}
		*msg = deny == 401 ? "unauthorized: a valid bearer token is required\n" :
		       deny == 403 ? "forbidden\n" :
				     "authorization pending or unavailable, retry\n";
	}
	return deny;
}

int http_ws_established(struct http_server *s, struct lws *wsi)
{
	struct conn_slot *c = http_slot_of(s, wsi);
	char reason[96];
	int n;

	if (!c)
		return -1;
	if (s->st.ws_open >= s->ws_max) {
		s->st.ws_refused++;
		n = snprintf(reason, sizeof(reason), "too many clients (limit %u)", s->ws_max);
		lws_close_reason(wsi, (enum lws_close_status)HTTP_WS_CLOSE_TRY_LATER,
				 (unsigned char *)reason, (size_t)n);
		return -1;
	}
	c->ws = true;
	c->busy = true; /* never the idle victim at the connection cap */
	c->ws_seq = 0;
	c->last_ns = mono_ns();
	s->st.ws_open++;
	s->st.ws_accepted++;
	if (s->frame_live)
		lws_callback_on_writable(wsi);
	return 0;
}

int http_ws_writeable(struct http_server *s, struct lws *wsi)
{
	struct conn_slot *c = http_slot_of(s, wsi);

	if (!c || !c->ws)
		return -1;
	if (c->doom_ns || c->ws_seq == s->frame_seq || !s->frame_live)
		return 0;
	/* lws writes the frame header into the LWS_PRE bytes before the payload */
	if (lws_write(wsi, s->frame + LWS_PRE, s->frame_len, LWS_WRITE_TEXT) < 0)
		return -1;
	c->ws_seq = s->frame_seq;
	c->last_ns = mono_ns();
	s->st.ws_frames++;
	return 0;
}

bool http_ws_sweep(struct http_server *s, struct conn_slot *c, uint64_t now)
{
	if (c->ws_seq == s->frame_seq && !lws_partial_buffered(c->wsi)) {
		c->last_ns = now; /* nothing waits for it: not idle */
		return false;
	}
	if (now - c->last_ns < s->idle_ns)
		return false;
	s->st.ws_dropped++;
	return true;
}

void http_ws_untrack(struct http_server *s, struct conn_slot *c)
{
	if (c->ws && s->st.ws_open && !--s->st.ws_open)
		s->frame_live = false; /* nobody watches: the frame will be stale */
}

int http_server_ws_publish(struct http_server *s, const char *data, size_t len)
{
	if (!s || !s->lws || !s->ws_path || (!data && len))
		return -EINVAL;
	if (len > HTTP_WS_FRAME_CAP)
		return -E2BIG;
	if (LWS_PRE + len > s->frame_alloc) {
		size_t want = LWS_PRE + len + len / 4;
		unsigned char *p = realloc(s->frame, want);
		if (!p)
			return -ENOMEM;
		s->frame = p;
		s->frame_alloc = want;
	}
	if (len)
		memcpy(s->frame + LWS_PRE, data, len);
	s->frame_len = len;
	s->frame_seq++;
	s->frame_live = true;
	s->st.ws_published++;
	for (unsigned i = 0; i < s->nslots; i++) {
		struct conn_slot *c = &s->slots[i];
		if (c->wsi && c->ws && !c->doom_ns)
			lws_callback_on_writable(c->wsi);
	}
	return 0;
}

unsigned http_server_ws_clients(const struct http_server *s)
{
	return s ? s->st.ws_open : 0;
}
