/* test_http_ws.c - the HTTP server's push WebSocket (agent/export/http_ws.c) against raw
 * loopback clients written here (handshake and frame parsing by hand): which upgrades
 * open it, frames shared by all clients and sent newest-first, the client cap and its
 * close reason, a client that stops reading dropped (and the others served on), authz
 * applying to it, and the cap kept below the connection cap. The test thread services
 * the server while the clients' sockets are non-blocking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testmain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/common/util.h"
#include "agent/export/http.h"

#define PROTO "test-push.v1"

static int handler(void *ctx, const char *path, struct strbuf *body, const char **ctype)
{
	(void)ctx;
	(void)path;
	(void)ctype;
	strbuf_adds(body, "ok\n");
	return 200;
}

static enum http_authz authz_good_token(void *ctx, const char *token, const char *path)
{
	(void)ctx;
	(void)path;
	if (!token)
		return HTTP_AUTHZ_DENY_401;
	return strcmp(token, "good") == 0 ? HTTP_AUTHZ_ALLOW : HTTP_AUTHZ_DENY_403;
}

static enum http_authz authz_pending(void *ctx, const char *token, const char *path)
{
	(void)ctx;
	(void)token;
	(void)path;
	return HTTP_AUTHZ_PENDING;
}

static struct http_server *start_ws(unsigned max_conn, unsigned ws_max, unsigned idle_ms,
				    http_authz_fn authz)
{
	struct wl_err err = {{0}};
	struct http_opts o = { .max_connections = max_conn, .idle_timeout_ms = idle_ms,
			       .ws_path = "/push", .ws_protocol = PROTO,
			       .ws_max_clients = ws_max, .authz = authz };
	struct http_server *s = http_server_new_opts("127.0.0.1:0", &o, handler, NULL, &err);

	if (!s)
		fail_msg("http_server_new_opts: %s", err.msg);
	return s;
}

struct client {
	int fd;
	int status;          /* handshake answer; 0 before it came */
	unsigned char buf[320 * 1024]; /* one 256 KiB frame and more */
	size_t len;
	bool closed;
};

static void client_open_rcvbuf(struct client *c, struct http_server *s, const char *path,
			       const char *extra, int rcvbuf);

static void client_open(struct client *c, struct http_server *s, const char *path,
			const char *extra)
{
	client_open_rcvbuf(c, s, path, extra, 0);
}

/* rcvbuf > 0: the socket's receive buffer (set before connecting: a small window) */
static void client_open_rcvbuf(struct client *c, struct http_server *s, const char *path,
			       const char *extra, int rcvbuf)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)http_server_port(s)) };
	char req[1024];
	int n;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	if (rcvbuf > 0)
		assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)),
				 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK), 0);
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		     "%s\r\n", path, extra);
	assert_int_equal(send(c->fd, req, (size_t)n, MSG_NOSIGNAL), n);
}

/* Services s and reads what c has; true when something arrived or it closed. */
static bool pump(struct http_server *s, struct client *c, int ms)
{
	ssize_t n = -1;
	bool got = false;

	assert_int_equal(http_server_service(s, ms), 0);
	if (c->closed)
		return false;
	while (c->len < sizeof(c->buf) &&
	       (n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0)) > 0) {
		c->len += (size_t)n;
		got = true;
	}
	if (c->len < sizeof(c->buf) && (n == 0 || (n < 0 && errno != EAGAIN)))
		c->closed = got = true;
	if (!c->status && c->len >= 12) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		if (end) {
			size_t hl = (size_t)(end - (char *)c->buf) + 4;
			c->status = atoi((char *)c->buf + 9);
			if (c->status == 101) { /* keep only the frames */
				memmove(c->buf, c->buf + hl, c->len - hl);
				c->len -= hl;
			}
		}
	}
	return got;
}

static void wait_status(struct http_server *s, struct client *c)
{
	uint64_t end = mono_ns() + 5000000000ull;

	while (!c->status && !c->closed && mono_ns() < end)
		pump(s, c, 10);
}

/* The next whole frame of c: opcode, payload copied to out (NUL-terminated); false when
 * none came within ms. */
static bool next_frame(struct http_server *s, struct client *c, int ms, int *op, char *out,
		       size_t cap, size_t *plen)
{
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000ull;

	for (;;) {
		if (c->len >= 2) {
			size_t hl = 2, n = c->buf[1] & 0x7f;
			if (n == 126 && c->len >= 4) {
				n = (size_t)c->buf[2] << 8 | c->buf[3];
				hl = 4;
			} else if (n == 127 && c->len >= 10) {
				n = 0;
				for (int i = 0; i < 8; i++)
					n = n << 8 | c->buf[2 + i];
				hl = 10;
			}
			if ((c->buf[1] & 0x7f) < 126 || hl > 2) {
				if (c->len >= hl + n) {
					assert_true(n < cap);
					*op = c->buf[0] & 0x0f;
					memcpy(out, c->buf + hl, n);
					out[n] = '\0';
					*plen = n;
					memmove(c->buf, c->buf + hl + n, c->len - hl - n);
					c->len -= hl + n;
					return true;
				}
			}
		}
		if (mono_ns() >= end || c->closed)
			return false;
		pump(s, c, 10);
	}
}

static void client_close(struct client *c)
{
	close(c->fd);
	c->fd = -1;
}

static const char hdr_proto[] = "Sec-WebSocket-Protocol: " PROTO "\r\n";

/* Only GET <ws_path> with the protocol opens it; other upgrades are refused as before. */
static void test_which_upgrades(void **state)
{
	struct http_server *s = start_ws(8, 2, 5000, NULL);
	static struct client c;
	struct http_stats st;
	(void)state;

	client_open(&c, s, "/other", hdr_proto);
	wait_status(s, &c);
	assert_int_equal(c.status, 403);
	client_close(&c);
	client_open(&c, s, "/push", "");
	wait_status(s, &c);
	assert_int_equal(c.status, 400);
	assert_non_null(memmem(c.buf, c.len, "subprotocol", 11));
	client_close(&c);
	client_open(&c, s, "/push", "Sec-WebSocket-Protocol: chat\r\n");
	wait_status(s, &c);
	assert_int_equal(c.status, 400);
	client_close(&c);
	client_open(&c, s, "/push", "Sec-WebSocket-Protocol: chat, " PROTO "\r\n");
	wait_status(s, &c);
	assert_int_equal(c.status, 101);
	client_close(&c);
	http_server_stats(s, &st);
	assert_int_equal(st.upgrades_refused, 3);
	assert_int_equal(st.ws_accepted, 1);
	http_server_free(s);
}

/* Every client gets the same frame; a client connecting later gets the newest at once;
 * a client that fell behind gets only the newest. */
static void test_frames_shared(void **state)
{
	struct http_server *s = start_ws(8, 4, 5000, NULL);
	static struct client a, b;
	char out[8192];
	size_t n;
	int op;
	struct http_stats st;
	(void)state;

	assert_int_equal(http_server_ws_clients(s), 0);
	client_open(&a, s, "/push", hdr_proto);
	wait_status(s, &a);
	assert_int_equal(a.status, 101);
	/* established on the server once it answered 101 and serviced once more */
	for (int i = 0; i < 10 && http_server_ws_clients(s) < 1; i++)
		pump(s, &a, 10);
	assert_int_equal(http_server_ws_clients(s), 1);
	assert_false(next_frame(s, &a, 100, &op, out, sizeof(out), &n)); /* nothing yet */
	assert_int_equal(http_server_ws_publish(s, "{\"tick\":1}", 10), 0);
	assert_true(next_frame(s, &a, 2000, &op, out, sizeof(out), &n));
	assert_int_equal(op, 1);
	assert_string_equal(out, "{\"tick\":1}");

	client_open(&b, s, "/push", hdr_proto);
	wait_status(s, &b);
	assert_int_equal(b.status, 101);
	assert_true(next_frame(s, &b, 2000, &op, out, sizeof(out), &n));
	assert_string_equal(out, "{\"tick\":1}"); /* the newest, without waiting for a tick */

	/* two frames while a is not read: a still gets each at most once, the newest last */
	assert_int_equal(http_server_ws_publish(s, "{\"tick\":2}", 10), 0);
	assert_int_equal(http_server_ws_publish(s, "{\"tick\":3}", 10), 0);
	assert_true(next_frame(s, &a, 2000, &op, out, sizeof(out), &n));
	assert_string_equal(out, "{\"tick\":3}");
	assert_false(next_frame(s, &a, 100, &op, out, sizeof(out), &n));
	assert_true(next_frame(s, &b, 2000, &op, out, sizeof(out), &n));
	assert_string_equal(out, "{\"tick\":3}");
	http_server_stats(s, &st);
	assert_int_equal(st.ws_published, 3);
	assert_int_equal(st.ws_frames, 4);
	assert_int_equal(st.ws_open, 2);
	client_close(&a);
	client_close(&b);
	for (int i = 0; i < 50 && http_server_ws_clients(s); i++)
		assert_int_equal(http_server_service(s, 10), 0);
	assert_int_equal(http_server_ws_clients(s), 0);
	/* every client left: the last frame is stale, a new client waits for the next */
	client_open(&a, s, "/push", hdr_proto);
	wait_status(s, &a);
	assert_int_equal(a.status, 101);
	assert_false(next_frame(s, &a, 200, &op, out, sizeof(out), &n));
	assert_int_equal(http_server_ws_publish(s, "{\"tick\":4}", 10), 0);
	assert_true(next_frame(s, &a, 2000, &op, out, sizeof(out), &n));
	assert_string_equal(out, "{\"tick\":4}");
	client_close(&a);
	assert_int_equal(http_server_ws_publish(s, NULL, 1), -EINVAL);
	http_server_free(s);
}

/* Over the cap: 101, then a close frame 1013 with a reason naming the limit. */
static void test_client_cap(void **state)
{
	struct http_server *s = start_ws(8, 2, 5000, NULL);
	static struct client c[3];
	char out[256];
	size_t n;
	int op;
	struct http_stats st;
	(void)state;

	for (int i = 0; i < 3; i++) {
		client_open(&c[i], s, "/push", hdr_proto);
		wait_status(s, &c[i]);
		assert_int_equal(c[i].status, 101);
	}
	assert_true(next_frame(s, &c[2], 2000, &op, out, sizeof(out), &n));
	assert_int_equal(op, 8);
	assert_true(n >= 2);
	assert_int_equal(((unsigned char)out[0] << 8) | (unsigned char)out[1],
			 HTTP_WS_CLOSE_TRY_LATER);
	assert_string_equal(out + 2, "too many clients (limit 2)");
	http_server_stats(s, &st);
	assert_int_equal(st.ws_open, 2);
	assert_int_equal(st.ws_refused, 1);
	assert_int_equal(st.ws_max, 2);
	for (int i = 0; i < 3; i++)
		client_close(&c[i]);
	http_server_free(s);

	/* the WebSocket cap stays below the connection cap */
	s = start_ws(4, 100, 5000, NULL);
	http_server_stats(s, &st);
	assert_int_equal(st.ws_max, 3);
	http_server_free(s);
}

/* A client that stops reading is closed once a frame waited idle_timeout for it, while
 * one that reads keeps getting frames; nothing is queued per client. */
static void test_slow_client_dropped(void **state)
{
	struct http_server *s = start_ws(8, 4, 400, NULL);
	static struct client slow, fast;
	static char big[256 * 1024], out[sizeof(big) + 1];
	size_t n;
	int op, got = 0;
	struct http_stats st;
	uint64_t end;
	(void)state;

	memset(big, 'x', sizeof(big));
	client_open_rcvbuf(&slow, s, "/push", hdr_proto, 4096);
	wait_status(s, &slow);
	client_open(&fast, s, "/push", hdr_proto);
	wait_status(s, &fast);
	assert_int_equal(slow.status, 101);
	assert_int_equal(fast.status, 101);
	/* slow reads nothing from now on; 256 KiB frames fill its socket buffers */
	end = mono_ns() + 6000000000ull;
	while (mono_ns() < end) {
		http_server_stats(s, &st);
		if (st.ws_dropped)
			break;
		big[0] = (char)('a' + got % 26);
		assert_int_equal(http_server_ws_publish(s, big, sizeof(big)), 0);
		if (next_frame(s, &fast, 2000, &op, out, sizeof(out), &n)) {
			assert_int_equal(n, sizeof(big));
			got++;
		}
		assert_int_equal(http_server_service(s, 50), 0);
	}
	http_server_stats(s, &st);
	if (st.ws_dropped != 1)
		fail_msg("slow client not dropped after %d frames to the fast one", got);
	assert_int_equal(st.ws_open, 1);
	assert_true(got >= 3);
	/* the fast one is still served */
	assert_int_equal(http_server_ws_publish(s, "end", 3), 0);
	for (int tries = 0; tries < 40; tries++) {
		assert_true(next_frame(s, &fast, 2000, &op, out, sizeof(out), &n));
		if (n == 3)
			break;
	}
	assert_string_equal(out, "end");
	client_close(&slow);
	client_close(&fast);
	http_server_free(s);
}

/* authz applies: no token 401, a wrong one 403, the right one 101, pending 503. */
static void test_authz(void **state)
{
	struct http_server *s = start_ws(8, 2, 5000, authz_good_token);
	static struct client c;
	(void)state;

	client_open(&c, s, "/push", hdr_proto);
	wait_status(s, &c);
	assert_int_equal(c.status, 401);
	client_close(&c);
	client_open(&c, s, "/push", "Sec-WebSocket-Protocol: " PROTO "\r\n"
				    "Authorization: Bearer bad\r\n");
	wait_status(s, &c);
	assert_int_equal(c.status, 403);
	client_close(&c);
	client_open(&c, s, "/push", "Sec-WebSocket-Protocol: " PROTO "\r\n"
				    "Authorization: Bearer good\r\n");
	wait_status(s, &c);
	assert_int_equal(c.status, 101);
	client_close(&c);
	http_server_free(s);

	/* a verdict not known yet: 503 at once (an upgrade cannot wait), the client retries */
	s = start_ws(8, 2, 5000, authz_pending);
	client_open(&c, s, "/push", "Sec-WebSocket-Protocol: " PROTO "\r\n"
				    "Authorization: Bearer good\r\n");
	wait_status(s, &c);
	assert_int_equal(c.status, 503);
	assert_non_null(memmem(c.buf, c.len, "retry", 5));
	client_close(&c);
	http_server_free(s);
}

static void test_bad_setup(void **state)
{
	struct wl_err err = {{0}};
	struct http_opts o = { .ws_path = "/push", .ws_protocol = "a b" };
	(void)state;

	assert_null(http_server_new_opts("127.0.0.1:0", &o, handler, NULL, &err));
	assert_non_null(strstr(err.msg, "/push"));
	o.ws_protocol = NULL;
	assert_null(http_server_new_opts("127.0.0.1:0", &o, handler, NULL, &err));
	o.ws_path = "push";
	o.ws_protocol = PROTO;
	assert_null(http_server_new_opts("127.0.0.1:0", &o, handler, NULL, &err));
}

WL_TEST_MAIN(
	cmocka_unit_test(test_which_upgrades),
	cmocka_unit_test(test_frames_shared),
	cmocka_unit_test(test_client_cap),
	cmocka_unit_test(test_slow_client_dropped),
	cmocka_unit_test(test_authz),
	cmocka_unit_test(test_bad_setup))
