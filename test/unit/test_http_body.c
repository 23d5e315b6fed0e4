/* test_http_body.c - requests that carry a body, pipelined behind another request.
 *
 * libwebsockets 4.1 spins forever inside lws_service() on the body of a request that
 * arrived in the same read as the request before it (found by fuzz/fuzz_http_request.c;
 * reproducer fuzz/crashes/http_request-timeout-pipelined-body), which would stop the
 * agent's whole loop. The server answers such requests (400 for GET/HEAD with a body,
 * 405 for other methods) and closes them before lws reads the body.
 *
 * A hung server cannot be stopped from its own thread, so the server runs in a forked
 * child that services it until killed; the test talks to it with blocking sockets that
 * have a receive timeout, so the old behaviour fails an assertion instead of hanging.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/export/http.h"

#define REPLY_CAP 8192

/* the serving child of the running test (started by setup, killed by teardown, so a
 * failed assertion does not leave it behind) */
static pid_t child_pid = -1;
static int child_port = -1;

static int handler(void *ctx, const char *path, struct strbuf *body, const char **ctype)
{
	(void)ctx;
	(void)ctype;
	if (strcmp(path, "/healthz") == 0) {
		strbuf_adds(body, "ok\n");
		return 200;
	}
	strbuf_adds(body, "not found\n");
	return 404;
}

/* Forks a child serving 127.0.0.1:0 until killed; its port comes back over a pipe. */
static int setup(void **state)
{
	int p[2];

	(void)state;
	if (pipe(p) != 0)
		return -1;
	child_pid = fork();
	if (child_pid < 0)
		return -1;
	if (child_pid == 0) {
		struct wl_err e = { "" };
		struct http_server *s;
		int port = -1;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		s = http_server_new("127.0.0.1:0", handler, NULL, &e);
		if (s)
			port = http_server_port(s);
		if (write(p[1], &port, sizeof(port)) != (ssize_t)sizeof(port) || !s)
			_exit(1);
		close(p[1]);
		for (;;)
			if (http_server_service(s, 100) != 0)
				_exit(2);
	}
	close(p[1]);
	if (read(p[0], &child_port, sizeof(child_port)) != (ssize_t)sizeof(child_port))
		child_port = -1;
	close(p[0]);
	return child_port > 0 ? 0 : -1;
}

static int teardown(void **state)
{
	int status = 0;

	(void)state;
	if (child_pid <= 0)
		return 0;
	kill(child_pid, SIGKILL);
	if (waitpid(child_pid, &status, 0) != child_pid)
		return -1;
	child_pid = -1;
	/* it was still servicing (had not exited on an error) when killed */
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
}

/* Sends req on a fresh connection and reads until the server closes it, or until
 * nothing arrives for 3 s. Returns the bytes read; *closed tells whether EOF came. */
static size_t exchange(int port, const char *req, char *out, size_t cap, int *closed)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 3 };
	size_t len = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* one send(): on loopback both requests reach the server in one read */
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	*closed = 0;
	while (len < cap - 1) {
		ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
		if (n > 0) {
			len += (size_t)n;
			continue;
		}
		*closed = n == 0 || errno == ECONNRESET;
		break;
	}
	out[len] = '\0';
	close(fd);
	return len;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Sends req (one request) and checks that it is served: 200 with /healthz's body. */
static void assert_served(const char *req)
{
	char buf[REPLY_CAP];
	int closed;

	exchange(child_port, req, buf, sizeof(buf), &closed);
	assert_true(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
	assert_non_null(strstr(buf, "\r\n\r\nok\n"));
}

/* Sends a GET /healthz with `second` pipelined behind it in the same send(): the GET is
 * answered 200, `second` once with `status` (a status line's start) and a reply holding
 * `text`; then the connection is closed, and the server still services. */
static void assert_pipelined_refused(const char *second, const char *status, const char *text)
{
	char req[256], buf[REPLY_CAP];
	int closed;

	snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n%s", second);
	exchange(child_port, req, buf, sizeof(buf), &closed);
	assert_true(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
	assert_int_equal(count(buf, status), 1);
	assert_non_null(strstr(buf, text));
	assert_true(closed);
	assert_served("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
}

static void test_pipelined_get_with_body(void **state)
{
	(void)state;
	assert_pipelined_refused("GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd",
				 "HTTP/1.1 400 ", "request bodies are not accepted");
}

static void test_pipelined_post_with_body(void **state)
{
	(void)state;
	/* the body is announced and never sent: lws must not wait for it either */
	assert_pipelined_refused("POST /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n",
				 "HTTP/1.1 405 ", "allow: GET, HEAD");
}

static void test_zero_length_body_served(void **state)
{
	(void)state;
	assert_served("GET /healthz HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
		      "Connection: close\r\n\r\n");
}

WL_TEST_MAIN(
	WL_TEST_FIXTURE(test_pipelined_get_with_body),
	WL_TEST_FIXTURE(test_pipelined_post_with_body),
	WL_TEST_FIXTURE(test_zero_length_body_served))
