/* test_http.c - the HTTP server against a real client (libcurl in a thread) on
 * 127.0.0.1:0; the test thread runs the server's service loop until the client is done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/export/http.h"
#include "test/unit/fixture_http.h"

#define BIG_LEN (1u << 20)

struct handler_state {
	int calls;
	char last_path[256];
};

/* The fixture of the tests against one server: the server and a client (h), and the
 * handler's state. The server is start()'s, or start_opts()'s with the options given as
 * the test's initial state. */
struct srv {
	struct http_fixture h;
	struct handler_state hs;
};

static int handler(void *ctx, const char *path, struct strbuf *body, const char **ctype)
{
	struct handler_state *hs = ctx;

	hs->calls++;
	snprintf(hs->last_path, sizeof(hs->last_path), "%s", path);
	if (strcmp(path, "/metrics") == 0) {
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		strbuf_adds(body, "wattlet_up 1\n");
		return 200;
	}
	if (strcmp(path, "/big") == 0) {
		for (unsigned i = 0; i < BIG_LEN / 16; i++)
			strbuf_addf(body, "%015u\n", i);
		return 200;
	}
	if (strcmp(path, "/huge") == 0) { /* more than loopback socket buffers hold */
		for (unsigned i = 0; i < (32u << 20) / 16; i++)
			strbuf_add(body, "0123456789abcde\n", 16);
		return 200;
	}
	if (strcmp(path, "/empty") == 0)
		return 204;
	strbuf_adds(body, "not found\n");
	return 404;
}

/* Runs one client request against s while servicing s on this thread. */
static void run_client(struct http_server *s, struct http_client *r, const char *method,
		       const char *path)
{
	http_client_prepare(r, "http://127.0.0.1:%d%s", http_server_port(s), path);
	r->method = method;
	http_client_run(s, r);
}

static struct http_server *start(struct handler_state *hs)
{
	struct wl_err err = {{0}};
	struct http_server *s = http_server_new("127.0.0.1:0", handler, hs, &err);
	if (!s)
		fail_msg("http_server_new: %s", err.msg);
	assert_true(http_server_port(s) > 0);
	return s;
}

static struct http_server *start_opts(struct handler_state *hs, unsigned max_conn,
				      unsigned idle_ms)
{
	struct wl_err err = {{0}};
	struct http_opts o = { .max_connections = max_conn, .idle_timeout_ms = idle_ms };
	struct http_server *s = http_server_new_opts("127.0.0.1:0", &o, handler, hs, &err);
	if (!s)
		fail_msg("http_server_new_opts: %s", err.msg);
	return s;
}

/* The set-up of the fixture struct srv. */
static int srv_setup(void **state)
{
	const struct http_opts *o = *state;
	struct srv *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->h.s = o ? start_opts(&f->hs, o->max_connections, o->idle_timeout_ms) : start(&f->hs);
	*state = f;
	return 0;
}

/* One request by the fixture's client that completes with the given status. */
static void request(struct srv *f, const char *method, const char *path, long status)
{
	run_client(f->h.s, &f->h.r, method, path);
	assert_int_equal(f->h.r.rc, CURLE_OK);
	assert_int_equal(f->h.r.status, status);
}

/* The hardening headers every answer carries. */
static void assert_hardened(const char *headers)
{
	assert_non_null(strcasestr(headers, "\r\nx-content-type-options: nosniff\r\n"));
	assert_non_null(strcasestr(headers, "\r\ncache-control: no-store\r\n"));
}

/* The server (still) answers GET /metrics with 200. */
static void assert_serves_metrics(struct http_server *s)
{
	struct http_client r = {0};

	run_client(s, &r, "GET", "/metrics");
	assert_int_equal(r.status, 200);
	http_client_release(&r);
}

static void test_get_metrics(void **state)
{
	struct srv *f = *state;

	request(f, "GET", "/metrics?x=1", 200);
	assert_string_equal(f->h.r.body.buf, "wattlet_up 1\n");
	assert_string_equal(f->h.r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(f->hs.last_path, "/metrics");
	assert_int_equal(f->hs.calls, 1);
	assert_int_equal(http_server_requests(f->h.s), 1);
	assert_hardened(f->h.r.headers);
}

static void test_not_found(void **state)
{
	struct srv *f = *state;

	request(f, "GET", "/nope", 404);
	assert_hardened(f->h.r.headers);
	assert_string_equal(f->h.r.body.buf, "not found\n");
}

static void test_post_405(void **state)
{
	struct srv *f = *state;

	request(f, "POST", "/metrics", 405);
	assert_int_equal(f->hs.calls, 0); /* handler never sees other methods */
	assert_serves_metrics(f->h.s); /* the server still answers afterwards */
}

static void test_head(void **state)
{
	struct srv *f = *state;

	request(f, "HEAD", "/metrics", 200);
	assert_int_equal(f->h.r.body.len, 0);
	assert_int_equal(f->h.r.content_length, 13); /* strlen("wattlet_up 1\n") */
}

static void test_big_body_and_keepalive(void **state)
{
	struct srv *f = *state;

	/* 1 MiB goes out in many chunks, three times over one connection */
	http_client_prepare(&f->h.r, "http://127.0.0.1:%d/big", http_server_port(f->h.s));
	f->h.r.method = "GET";
	f->h.r.repeat = 3;
	http_client_run(f->h.s, &f->h.r);
	assert_int_equal(f->h.r.rc, CURLE_OK);
	assert_int_equal(f->h.r.status, 200);
	assert_int_equal(f->h.r.body.len, BIG_LEN);
	assert_memory_equal(f->h.r.body.buf + BIG_LEN - 16, "000000000065535\n", 16);
	assert_int_equal(f->hs.calls, 3);

	run_client(f->h.s, &f->h.r, "GET", "/empty");
	assert_int_equal(f->h.r.status, 204);
	assert_int_equal(f->h.r.body.len, 0);
}

static void test_port_in_use(void **state)
{
	struct srv *f = *state;
	struct wl_err err = {{0}};
	char listen[64];

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", http_server_port(f->h.s));
	assert_null(http_server_new(listen, handler, &f->hs, &err));
	assert_non_null(strstr(err.msg, listen));
	assert_non_null(strstr(err.msg, strerror(EADDRINUSE)));
}

static void test_bad_listen(void **state)
{
	static const char *const bad[] = {
		"", "9102", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:x",
		"::1:9102", "[::1]9102", "[::1", "localhost:9102", "300.1.1.1:80",
	};
	struct handler_state hs = {0};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct wl_err err = {{0}};
		struct http_server *s = http_server_new(bad[i], handler, &hs, &err);
		if (s)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(err.msg[0] != '\0');
	}
	assert_null(http_server_new("127.0.0.1:0", NULL, &hs, NULL));
}

static void test_ipv6_any(void **state)
{
	struct handler_state hs = {0};
	struct wl_err err = {{0}};
	struct http_server *s = http_server_new("[::]:0", handler, &hs, &err);
	(void)state;

	if (!s)
		skip(); /* no IPv6 on this host: nothing to test */
	/* the dual-stack socket also takes IPv4 clients */
	assert_serves_metrics(s);
	http_server_free(s);
}

static void test_service_returns_without_traffic(void **state)
{
	struct http_server *s = ((struct srv *)*state)->h.s;

	for (int i = 0; i < 3; i++) {
		uint64_t t0 = mono_ns(), dt;
		assert_int_equal(http_server_service(s, 100), 0);
		dt = mono_ns() - t0;
		if (dt < 90000000ull || dt > 600000000ull)
			fail_msg("service(100 ms) took %llu ms", (unsigned long long)(dt / 1000000));
	}
	{
		uint64_t t0 = mono_ns();
		assert_int_equal(http_server_service(s, 0), 0);
		assert_true(mono_ns() - t0 < 100000000ull);
	}
	http_server_free(NULL); /* the fixture frees s */
}

/* ---- raw clients: upgrades, the connection cap, the idle timeout ---------------------- */

static int raw_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* loopback: the kernel completes the handshake whether or not the server accepts */
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	return fd;
}

static void raw_send(int fd, const char *req)
{
	size_t len = strlen(req);
	assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Services s and reads fd until the peer closes it or max_ms pass. Returns true when
 * it was closed (EOF or reset); what arrived is in out (NUL-terminated). */
static bool raw_wait_closed(struct http_server *s, int fd, char *out, size_t cap, int max_ms)
{
	uint64_t end = mono_ns() + (uint64_t)max_ms * 1000000ull;
	size_t len = 0;

	out[0] = '\0';
	while (mono_ns() < end) {
		ssize_t n;
		assert_int_equal(http_server_service(s, 10), 0);
		while ((n = recv(fd, out + len, cap - 1 - len, 0)) > 0) {
			len += (size_t)n;
			out[len] = '\0';
			if (len == cap - 1)
				len = 0; /* keep reading; only the tail matters then */
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return true;
	}
	return false;
}

/* A raw connection to s that sends req (NULL: nothing) and is then closed by the server
 * within max_ms (the test fails if not); what came back is in out. */
static void raw_closed_by_server(struct http_server *s, const char *req, char *out, size_t cap,
				 int max_ms)
{
	int fd = raw_connect(http_server_port(s));

	if (req)
		raw_send(fd, req);
	if (!raw_wait_closed(s, fd, out, cap, max_ms))
		fail_msg("sent '%s': connection still open after %d ms: '%s'", req ? req : "",
			 max_ms, out);
	close(fd);
}

/* Services s until it has accepted at least min_accepted connections and has at most
 * max_open open, or max_ms pass; st holds the stats of the last round. */
static void service_until(struct http_server *s, struct http_stats *st,
			  unsigned long long min_accepted, unsigned max_open, int max_ms)
{
	uint64_t end = mono_ns() + (uint64_t)max_ms * 1000000ull;

	do {
		assert_int_equal(http_server_service(s, 10), 0);
		http_server_stats(s, st);
	} while ((st->accepted < min_accepted || st->open > max_open) && mono_ns() < end);
}

/* A WebSocket (or h2c) upgrade gets 403 and a closed connection, never 101; CONNECT
 * (which lws would turn into a raw socket) is closed; the server serves on. */
static void test_upgrades_refused(void **state)
{
	static const char *const reqs[] = {
		"GET /metrics HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, "
		"HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	};
	struct http_server *s = ((struct srv *)*state)->h.s;
	struct http_stats st;
	char buf[4096];

	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		raw_closed_by_server(s, reqs[i], buf, sizeof(buf), 3000);
		assert_null(strstr(buf, " 101 "));
		if (i < 2) {
			/* lws answers 1.0 before the request line is fully processed */
			if (strncmp(buf, "HTTP/1.", 7) != 0 || strncmp(buf + 8, " 403 ", 5) != 0)
				fail_msg("request %zu answered '%s'", i, buf);
			assert_non_null(strcasestr(buf, "\r\nx-content-type-options: nosniff\r\n"));
		}
	}
	http_server_stats(s, &st);
	assert_int_equal(st.upgrades_refused, 3);
	assert_int_equal(((struct srv *)*state)->hs.calls, 0);
	assert_serves_metrics(s);
}

/* Twice the cap in idle connections: the server keeps at most the cap open, closes
 * the oldest idle ones, and a real request still gets its answer while the idle
 * clients hold their sockets; after they go, the count falls to zero. */
static void test_connection_cap(void **state)
{
	enum { CAP = 4, IDLE = 3 * CAP };
	struct handler_state hs = {0};
	struct http_server *s = start_opts(&hs, CAP, 60000);
	struct http_stats st;
	struct http_client r = {0};
	int fds[IDLE], closed = 0;
	(void)state;

	assert_int_equal(http_server_max_connections(s), CAP);
	for (int i = 0; i < IDLE; i++) {
		fds[i] = raw_connect(http_server_port(s));
		assert_int_equal(http_server_service(s, 0), 0);
	}
	/* bounded poll: everything accepted, and at most CAP left open */
	service_until(s, &st, IDLE, CAP, 3000);
	if (st.accepted < IDLE || st.open > CAP)
		fail_msg("accepted %llu, open %u (cap %d)", st.accepted, st.open, CAP);
	assert_int_equal(st.evicted, IDLE - CAP);
	assert_int_equal(st.timed_out, 0);
	/* the evicted clients see their connection closed */
	for (int i = 0; i < IDLE; i++) {
		char c;
		ssize_t n = recv(fds[i], &c, 1, 0);
		closed += n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
	}
	assert_int_equal(closed, IDLE - CAP);

	run_client(s, &r, "GET", "/metrics"); /* idle clients still hold CAP connections */
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	http_client_release(&r);
	http_server_stats(s, &st);
	assert_true(st.open <= CAP);

	for (int i = 0; i < IDLE; i++)
		close(fds[i]);
	service_until(s, &st, 0, 0, 3000);
	assert_int_equal(st.open, 0);
	assert_serves_metrics(s);
	http_server_free(s);
}

/* A silent client, a half-sent request header and an idle keep-alive connection are
 * all closed after the idle timeout, not before. */
static void test_idle_timeout(void **state)
{
	static const char *const sends[] = { NULL, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow:",
					     "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" };
	struct http_server *s = ((struct srv *)*state)->h.s;
	struct http_stats st;
	char buf[4096];

	for (size_t i = 0; i < sizeof(sends) / sizeof(sends[0]); i++) {
		uint64_t t0 = mono_ns(), ms;
		raw_closed_by_server(s, sends[i], buf, sizeof(buf), 5000);
		ms = (mono_ns() - t0) / 1000000ull;
		if (ms < 350 || ms > 2500)
			fail_msg("case %zu: closed after %llu ms (idle timeout 400 ms)", i,
				 (unsigned long long)ms);
		if (i == 2)
			assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
	}
	http_server_stats(s, &st);
	assert_int_equal(st.timed_out, 3);
	assert_int_equal(st.open, 0);
}

/* A connection busy answering is never evicted: with the cap reached by a client that
 * stopped reading a large response, a new connection is refused (closed at once);
 * the stalled one is closed by the idle timeout, and the server serves on. */
static void test_busy_not_evicted(void **state)
{
	struct http_server *s = ((struct srv *)*state)->h.s;
	struct http_stats st;
	char buf[256];
	uint64_t end, t0;
	int a, b;

	a = raw_connect(http_server_port(s));
	raw_send(a, "GET /huge HTTP/1.1\r\nHost: x\r\n\r\n"); /* and never read */
	end = mono_ns() + 3000000000ull;
	while (http_server_requests(s) < 1 && mono_ns() < end)
		assert_int_equal(http_server_service(s, 10), 0);
	assert_int_equal(http_server_requests(s), 1);
	t0 = mono_ns();

	b = raw_connect(http_server_port(s));
	if (!raw_wait_closed(s, b, buf, sizeof(buf), 1000))
		fail_msg("second connection not refused at the cap");
	http_server_stats(s, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.evicted, 0);
	assert_int_equal(st.open, 1);
	close(b);

	/* the stalled reader: closed after the idle timeout (from its last progress) */
	service_until(s, &st, 0, 0, 5000);
	assert_int_equal(st.open, 0);
	assert_int_equal(st.timed_out, 1);
	assert_true(mono_ns() - t0 >= 1000000000ull);
	close(a);
	assert_serves_metrics(s);
}

/* The cap never exceeds a quarter of the open-files limit. */
static void test_cap_follows_rlimit(void **state)
{
	struct handler_state hs = {0};
	struct rlimit old, low;
	struct http_server *s;
	(void)state;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 128;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	s = start_opts(&hs, 1000, 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* 128 / 4 = 32 descriptors: listen socket, lws' pipe, 4 eviction slots */
	assert_int_equal(http_server_max_connections(s), 26);
	http_server_free(s);
	s = start_opts(&hs, 0, 0);
	assert_int_equal(http_server_max_connections(s), HTTP_DEFAULT_MAX_CONNECTIONS);
	http_server_free(s);
}

/* The cmocka entries of the tests on the fixture's server: start()'s, or start_opts()'s
 * with the options o. */
#define SRV_TEST(test) cmocka_unit_test_setup_teardown(test, srv_setup, http_fixture_teardown)
#define SRV_OPTS_TEST(test, o) \
	cmocka_unit_test_prestate_setup_teardown(test, srv_setup, http_fixture_teardown, &o)

/* Server options of the tests that need other than start()'s defaults. */
static struct http_opts upgrades_opts = { .max_connections = 8, .idle_timeout_ms = 5000 };
static struct http_opts idle_timeout_opts = { .max_connections = 8, .idle_timeout_ms = 400 };
static struct http_opts busy_opts = { .max_connections = 1, .idle_timeout_ms = 1500 };

WL_HTTP_TEST_MAIN_GROUP(NULL, NULL,
	SRV_TEST(test_get_metrics),
	SRV_TEST(test_not_found),
	SRV_TEST(test_post_405),
	SRV_TEST(test_head),
	SRV_TEST(test_big_body_and_keepalive),
	SRV_TEST(test_port_in_use),
	cmocka_unit_test(test_bad_listen),
	cmocka_unit_test(test_ipv6_any),
	SRV_TEST(test_service_returns_without_traffic),
	SRV_OPTS_TEST(test_upgrades_refused, upgrades_opts),
	cmocka_unit_test(test_connection_cap),
	SRV_OPTS_TEST(test_idle_timeout, idle_timeout_opts),
	SRV_OPTS_TEST(test_busy_not_evicted, busy_opts),
	cmocka_unit_test(test_cap_follows_rlimit))
