/* fuzz_http_request.c - the HTTP request path, through the real server over loopback.
 *
 * libwebsockets parses requests inside lws_service(), so there is no socket-free entry
 * point: one server (http_server_new_opts on 127.0.0.1:0, 4 connections, 300 ms idle
 * timeout, a handler shaped like the daemon's) lives for the whole process, and each
 * input is sent on a fresh non-blocking client connection, in two send()s (the split
 * point is picked by the input's last byte, which stays part of the request), followed
 * by shutdown(SHUT_WR). The same thread services the server until the client sees the
 * server close (at most CLIENT_WAIT_MS), reads and discards the reply, and closes.
 *
 * Properties besides the sanitizers:
 *  - the handler gets a path and an empty body with no content type set;
 *  - after the client has closed, the server's open-connection count is back to 0
 *    within CLOSE_WAIT_MS (no slot leaked, nothing left hanging);
 *  - no connection is refused (one connection at a time never reaches the cap);
 *  - on the first input and every HEALTH_EVERY inputs, a well-formed GET /healthz on a
 *    fresh connection still gets "HTTP/1.1 200" and the body "ok".
 * FUZZ_HTTP_VERBOSE=1 in the environment prints one line per input (bytes in and out,
 * the reply's status line), to see what a reproducer does.
 * libwebsockets itself is the system library, neither instrumented nor sanitized: the
 * fuzzer's coverage comes from agent/export/http.c and this file only.
 */
#include "fuzz_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#include "agent/export/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CONNS 4u
#define IDLE_MS 300u
#define CLIENT_WAIT_MS 200u                 /* for the server to answer and close */
/* for the count to return to 0, for an accept, for /healthz: the server promises
 * IDLE_MS plus a sweep; the slack is for a loaded machine (libFuzzer's -timeout is 10 s) */
#define CLOSE_WAIT_MS 3000u
#define FAST_ROUNDS 64                      /* non-blocking service rounds before 1 ms ones */
#define HEALTH_EVERY 32u

static struct http_server *srv;
static int srv_port;
static unsigned long long inputs;
static bool verbose; /* FUZZ_HTTP_VERBOSE set: one line per input on stderr */

/* What the handler answers besides /metrics (which also takes the fuzzed Accept-Encoding
 * through the parser): path, content type (NULL: the server's default), body, status. */
static const struct route {
	const char *path, *ctype, *body;
	int code;
} routes[] = {
	{ "/api/v1/workloads", "application/json", "{\"workloads\":[]}\n", 200 },
	{ "/healthz", NULL, "ok\n", 200 },
	{ "/readyz", NULL, "not ready: no full tick yet\n", 503 },
	{ "/", NULL, "wattlet\n/metrics\n/healthz\n/readyz\n/api/v1/workloads\n", 200 },
	{ "/empty", NULL, NULL, 204 },
	{ "/weird", NULL, NULL, 1000 }, /* sent as 500 */
};

static int handler(void *ctx, const char *path, struct strbuf *body, const char **ctype)
{
	(void)ctx;
	FZ_CHECK(path != NULL, "handler got no path");
	FZ_CHECK(body->len == 0 && !body->overflow, "handler body not empty (%zu bytes)",
		 body->len);
	FZ_CHECK(*ctype == NULL, "content type preset to %s", *ctype);
	if (strcmp(path, "/metrics") == 0) {
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		strbuf_adds(body, "# TYPE wattlet_up gauge\nwattlet_up 1\n");
		/* as the daemon does: the fuzzed Accept-Encoding goes through the parser */
		if (http_request_accepts_gzip(srv))
			http_response_set_encoding(srv, "identity");
		return 200;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) != 0)
			continue;
		if (routes[i].ctype)
			*ctype = routes[i].ctype;
		if (routes[i].body)
			strbuf_adds(body, routes[i].body);
		return routes[i].code;
	}
	strbuf_addf(body, "not found: %s\n", path);
	return 404;
}

static void srv_free(void)
{
	http_server_free(srv);
	srv = NULL;
}

static void srv_start(void)
{
	struct http_opts o = { .max_connections = MAX_CONNS, .idle_timeout_ms = IDLE_MS };
	struct wl_err e = { "" };

	signal(SIGPIPE, SIG_IGN);
	srv = http_server_new_opts("127.0.0.1:0", &o, handler, NULL, &e);
	FZ_CHECK(srv != NULL, "server did not start: %s", e.msg);
	srv_port = http_server_port(srv);
	FZ_CHECK(srv_port > 0, "no port");
	atexit(srv_free);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One service round: non-blocking for the first FAST_ROUNDS, then waiting 1 ms, so a
 * server that needs time to pass (timers) does not cost a spinning CPU. */
static void service(int round)
{
	FZ_CHECK(http_server_service(srv, round < FAST_ROUNDS ? 0 : 1) == 0,
		 "http_server_service failed");
}

struct reply {
	char head[64]; /* the first bytes, NUL-terminated */
	size_t len;    /* bytes received in all */
	char tail[8];  /* the last bytes (the body of a short reply) */
	bool closed;   /* EOF or reset seen */
};

/* Reads what is there; sets r->closed on EOF or a reset. */
static void drain(int fd, struct reply *r)
{
	char buf[16384];

	while (!r->closed) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			size_t have = r->len < sizeof(r->head) - 1 ? r->len : sizeof(r->head) - 1;
			size_t take = sizeof(r->head) - 1 - have;
			if (take > (size_t)n)
				take = (size_t)n;
			memcpy(r->head + have, buf, take);
			r->head[have + take] = '\0';
			if ((size_t)n >= sizeof(r->tail)) {
				memcpy(r->tail, buf + n - sizeof(r->tail), sizeof(r->tail));
			} else {
				memmove(r->tail, r->tail + n, sizeof(r->tail) - (size_t)n);
				memcpy(r->tail + sizeof(r->tail) - (size_t)n, buf, (size_t)n);
			}
			r->len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			r->closed = true;
		return;
	}
}

static int client_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv_port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	FZ_CHECK(fd >= 0, "socket: %s", strerror(errno));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* loopback: completes at once, or EINPROGRESS until the SYN is queued */
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		FZ_CHECK(errno == EINPROGRESS, "connect: %s", strerror(errno));
	return fd;
}

/* Services the server until it has admitted one more connection than before. */
static void wait_accepted(unsigned long long before)
{
	struct http_stats st;
	uint64_t t0 = now_ms();

	for (int i = 0;; i++) {
		service(i);
		http_server_stats(srv, &st);
		if (st.accepted > before || st.refused)
			break;
		FZ_CHECK(now_ms() - t0 < CLOSE_WAIT_MS, "connection not accepted");
	}
	FZ_CHECK(st.refused == 0, "connection refused (open %u)", st.open);
}

/* Sends all of d (servicing the server and draining the reply in between); stops
 * early, without complaint, when the server has closed the connection. */
static void send_all(int fd, const uint8_t *d, size_t n, struct reply *r)
{
	uint64_t t0 = now_ms();

	for (int i = 0; n && !r->closed; i++) {
		ssize_t w = send(fd, d, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			d += w;
			n -= (size_t)w;
			i = -1;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return; /* EPIPE, ECONNRESET: the server hung up */
		if (now_ms() - t0 > CLOSE_WAIT_MS)
			return; /* a server not reading is a finding of the checks below */
		service(i);
		drain(fd, r);
	}
}

/* Services until the server closed the connection, until the reply ends with `end`
 * (NULL: only the close counts), or until max_ms passed. */
static void wait_reply(int fd, struct reply *r, const char *end, uint64_t max_ms)
{
	uint64_t t0 = now_ms();
	size_t elen = end ? strlen(end) : 0;

	for (int i = 0; !r->closed && now_ms() - t0 < max_ms; i++) {
		if (end && r->len >= elen &&
		    memcmp(r->tail + sizeof(r->tail) - elen, end, elen) == 0)
			break;
		size_t had = r->len;
		service(i);
		drain(fd, r);
		if (r->len != had)
			i = -1;
	}
}

/* After the client closed: the server must get back to no connections. */
static void wait_idle(void)
{
	struct http_stats st;
	uint64_t t0 = now_ms();

	for (int i = 0;; i++) {
		http_server_stats(srv, &st);
		if (st.open == 0)
			break;
		FZ_CHECK(now_ms() - t0 < CLOSE_WAIT_MS,
			 "%u connection(s) still open %u ms after the client closed", st.open,
			 CLOSE_WAIT_MS);
		service(i);
	}
}

static void check_healthz(void)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				  "Connection: close\r\n\r\n";
	struct http_stats st;
	struct reply r = { .closed = false };
	int fd;

	http_server_stats(srv, &st);
	fd = client_connect();
	wait_accepted(st.accepted);
	send_all(fd, (const uint8_t *)req, sizeof(req) - 1, &r);
	/* no shutdown: the answer must come because of the request alone */
	wait_reply(fd, &r, "\nok\n", CLOSE_WAIT_MS);
	close(fd);
	FZ_CHECK(strncmp(r.head, "HTTP/1.1 200 ", 13) == 0, "/healthz answered '%.40s'",
		 r.head);
	FZ_CHECK(memcmp(r.tail + sizeof(r.tail) - 4, "\nok\n", 4) == 0, "/healthz body");
	wait_idle();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply r = { .closed = false };
	struct http_stats st;
	size_t split;
	int fd;

	if (!srv) {
		srv_start();
		verbose = getenv("FUZZ_HTTP_VERBOSE") != NULL;
	}
	http_server_stats(srv, &st);
	FZ_CHECK(st.open == 0, "%u connection(s) open before the input", st.open);

	fd = client_connect();
	wait_accepted(st.accepted);
	/* the last byte picks where the request is cut in two */
	split = size ? (size * data[size - 1]) / 256u : 0;
	send_all(fd, data, split, &r);
	for (int i = 0; i < 3 && !r.closed; i++) { /* let the server read the first part */
		service(0);
		drain(fd, &r);
	}
	send_all(fd, data + split, size - split, &r);
	shutdown(fd, SHUT_WR);
	wait_reply(fd, &r, NULL, CLIENT_WAIT_MS);
	close(fd);
	if (verbose)
		fprintf(stderr, "http_request: %zu bytes in (split at %zu), %zu out%s: %.*s\n",
			size, split, r.len, r.closed ? ", closed by the server" : "",
			(int)strcspn(r.head, "\r\n"), r.head);
	wait_idle();

	http_server_stats(srv, &st);
	FZ_CHECK(st.refused == 0, "a connection was refused");
	if (inputs++ % HEALTH_EVERY == 0)
		check_healthz();
	return 0;
}
