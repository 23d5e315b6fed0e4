/* test_http.c - the HTTP server against a real client (libcurl in a thread) on
 * 127.0.0.1:0; the test thread runs the server's service loop until the client is done. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/export/http.h"

#define BIG_LEN (1u << 20)

struct handler_state {
	int calls;
	char last_path[256];
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
	if (strcmp(path, "/empty") == 0)
		return 204;
	strbuf_adds(body, "not found\n");
	return 404;
}

struct client_req {
	char url[128];
	const char *method; /* "GET", "HEAD", "POST" */
	int repeat;         /* requests on the same handle (keep-alive) */
	long status;
	char ctype[128];
	struct strbuf body;
	curl_off_t content_length;
	CURLcode rc;
	atomic_bool done;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct client_req *r = ud;
	return strbuf_add(&r->body, p, sz * n) ? 0 : sz * n;
}

static void *client_thread(void *arg)
{
	struct client_req *r = arg;
	CURL *c = curl_easy_init();
	char *ct = NULL;

	if (!c) {
		r->rc = CURLE_FAILED_INIT;
		atomic_store(&r->done, true);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(r->method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
	for (int i = 0; i < (r->repeat ? r->repeat : 1); i++) {
		strbuf_reset(&r->body);
		r->rc = curl_easy_perform(c);
		if (r->rc != CURLE_OK)
			break;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->content_length);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
	curl_easy_cleanup(c);
	atomic_store(&r->done, true);
	return NULL;
}

/* Runs one client request against s while servicing s on this thread. */
static void run_client(struct http_server *s, struct client_req *r, const char *method,
		       const char *path)
{
	pthread_t th;

	memset(r, 0, sizeof(*r));
	strbuf_init(&r->body, 4u << 20);
	r->method = method;
	snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%d%s", http_server_port(s), path);
	atomic_init(&r->done, false);
	assert_int_equal(pthread_create(&th, NULL, client_thread, r), 0);
	while (!atomic_load(&r->done))
		assert_int_equal(http_server_service(s, 20), 0);
	pthread_join(th, NULL);
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

static void test_get_metrics(void **state)
{
	struct handler_state hs = {0};
	struct http_server *s = start(&hs);
	struct client_req r;
	(void)state;

	run_client(s, &r, "GET", "/metrics?x=1");
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.buf, "wattlet_up 1\n");
	assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
	assert_string_equal(hs.last_path, "/metrics");
	assert_int_equal(hs.calls, 1);
	assert_int_equal(http_server_requests(s), 1);
	strbuf_release(&r.body);
	http_server_free(s);
}

static void test_not_found(void **state)
{
	struct handler_state hs = {0};
	struct http_server *s = start(&hs);
	struct client_req r;
	(void)state;

	run_client(s, &r, "GET", "/nope");
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.body.buf, "not found\n");
	strbuf_release(&r.body);
	http_server_free(s);
}

static void test_post_405(void **state)
{
	struct handler_state hs = {0};
	struct http_server *s = start(&hs);
	struct client_req r;
	(void)state;

	run_client(s, &r, "POST", "/metrics");
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 405);
	assert_int_equal(hs.calls, 0); /* handler never sees other methods */
	strbuf_release(&r.body);

	/* the server still answers afterwards */
	run_client(s, &r, "GET", "/metrics");
	assert_int_equal(r.status, 200);
	strbuf_release(&r.body);
	http_server_free(s);
}

static void test_head(void **state)
{
	struct handler_state hs = {0};
	struct http_server *s = start(&hs);
	struct client_req r;
	(void)state;

	run_client(s, &r, "HEAD", "/metrics");
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	assert_int_equal(r.content_length, 13); /* strlen("wattlet_up 1\n") */
	strbuf_release(&r.body);
	http_server_free(s);
}

static void test_big_body_and_keepalive(void **state)
{
	struct handler_state hs = {0};
	struct http_server *s = start(&hs);
	struct client_req r;
	pthread_t th;
	(void)state;

	/* 1 MiB goes out in many chunks, three times over one connection */
	memset(&r, 0, sizeof(r));
	strbuf_init(&r.body, 4u << 20);
	r.method = "GET";
	r.repeat = 3;
	snprintf(r.url, sizeof(r.url), "http://127.0.0.1:%d/big", http_server_port(s));
	atomic_init(&r.done, false);
	assert_int_equal(pthread_create(&th, NULL, client_thread, &r), 0);
	while (!atomic_load(&r.done))
		assert_int_equal(http_server_service(s, 20), 0);
	pthread_join(th, NULL);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, BIG_LEN);
	assert_memory_equal(r.body.buf + BIG_LEN - 16, "000000000065535\n", 16);
	assert_int_equal(hs.calls, 3);
	strbuf_release(&r.body);

	run_client(s, &r, "GET", "/empty");
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body.len, 0);
	strbuf_release(&r.body);
	http_server_free(s);
}

static void test_port_in_use(void **state)
{
	struct handler_state hs = {0};
	struct http_server *s = start(&hs), *s2;
	struct wl_err err = {{0}};
	char listen[64];
	(void)state;

	snprintf(listen, sizeof(listen), "127.0.0.1:%d", http_server_port(s));
	s2 = http_server_new(listen, handler, &hs, &err);
	assert_null(s2);
	assert_non_null(strstr(err.msg, listen));
	assert_non_null(strstr(err.msg, strerror(EADDRINUSE)));
	http_server_free(s);
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
	struct client_req r;
	(void)state;

	if (!s)
		skip(); /* no IPv6 on this host: nothing to test */
	/* the dual-stack socket also takes IPv4 clients */
	run_client(s, &r, "GET", "/metrics");
	assert_int_equal(r.status, 200);
	strbuf_release(&r.body);
	http_server_free(s);
}

static void test_service_returns_without_traffic(void **state)
{
	struct handler_state hs = {0};
	struct http_server *s = start(&hs);
	(void)state;

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
	http_server_free(s);
	http_server_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_metrics),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_post_405),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_big_body_and_keepalive),
		cmocka_unit_test(test_port_in_use),
		cmocka_unit_test(test_bad_listen),
		cmocka_unit_test(test_ipv6_any),
		cmocka_unit_test(test_service_returns_without_traffic),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
