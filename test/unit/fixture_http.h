/* fixture_http.h - a real HTTP client (libcurl on a thread of its own) for the unit tests
 * of the HTTP server (test_http, test_http_auth, test_metrics_lean): the test thread runs
 * the server's service loop until the client is done.
 *
 * Header-only (each unit test is one .c file linked with the library); include it after
 * <cmocka.h>. A struct http_client starts zeroed (`= { 0 }`); http_client_prepare() releases
 * the body of its previous request and clears it, the caller then sets the request fields
 * and runs it. The client owns its body: http_client_release() (or the next prepare) frees
 * it. Nothing here asserts on the answer (rc, status): the tests do.
 */
#ifndef WATTLET_TEST_FIXTURE_HTTP_H
#define WATTLET_TEST_FIXTURE_HTTP_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/common/strbuf.h"
#include "agent/export/http.h"

struct http_client {
	/* the request: set after http_client_prepare() */
	char url[160];
	const char *method;  /* NULL or "GET", "HEAD", "POST" (a small form body) */
	int repeat;          /* requests on the same handle (keep-alive); 0: one */
	char header[192];    /* one more request header line ("Name: value"), "" = none */
	const char *cainfo;  /* verify the server against this PEM file; NULL: do not verify */
	long timeout_s;      /* 0: 10 s */
	/* the answer (of the last request when repeat > 1) */
	long status;
	char ctype[128];
	struct strbuf body;  /* owned; at most 4 MiB (more fails the request) */
	curl_off_t content_length;
	char headers[2048];  /* the response headers as received, cut to fit */
	size_t headers_len;
	CURLcode rc;
	atomic_bool done;
};

static inline size_t http_client_on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct http_client *r = ud;

	return strbuf_add(&r->body, p, sz * n) ? 0 : sz * n;
}

static inline size_t http_client_on_header(char *p, size_t sz, size_t n, void *ud)
{
	struct http_client *r = ud;
	size_t len = sz * n, room = sizeof(r->headers) - 1 - r->headers_len;

	if (len > room)
		len = room;
	memcpy(r->headers + r->headers_len, p, len);
	r->headers_len += len;
	r->headers[r->headers_len] = '\0';
	return sz * n;
}

static inline void *http_client_thread(void *arg)
{
	struct http_client *r = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char *ct = NULL;

	if (!c) {
		r->rc = CURLE_FAILED_INIT;
		atomic_store(&r->done, true);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_client_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_client_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, r->timeout_s ? r->timeout_s : 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	if (r->cainfo) {
		curl_easy_setopt(c, CURLOPT_CAINFO, r->cainfo);
	} else {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (r->header[0]) {
		h = curl_slist_append(h, r->header);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	if (r->method && strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (r->method && strcmp(r->method, "POST") == 0)
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
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	atomic_store(&r->done, true);
	return NULL;
}

static inline void http_client_release(struct http_client *r)
{
	strbuf_release(&r->body);
}

/* Frees what r holds from an earlier request and clears it for the next one, to url
 * (printf-style). r is zeroed or was prepared before. */
static inline void http_client_prepare(struct http_client *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void http_client_prepare(struct http_client *r, const char *fmt, ...)
{
	va_list ap;

	http_client_release(r);
	memset(r, 0, sizeof(*r));
	strbuf_init(&r->body, 4u << 20);
	atomic_init(&r->done, false);
	va_start(ap, fmt);
	assert_true(vsnprintf(r->url, sizeof(r->url), fmt, ap) < (int)sizeof(r->url));
	va_end(ap);
}

/* Starts the prepared request r on a thread of its own (*th). */
static inline void http_client_start(struct http_client *r, pthread_t *th)
{
	assert_int_equal(pthread_create(th, NULL, http_client_thread, r), 0);
}

/* Services s on this thread until the started request r is done, then joins it. */
static inline void http_client_wait(struct http_server *s, struct http_client *r, pthread_t th)
{
	while (!atomic_load(&r->done))
		assert_int_equal(http_server_service(s, 20), 0);
	pthread_join(th, NULL);
}

/* Runs the prepared request r against s. */
static inline void http_client_run(struct http_server *s, struct http_client *r)
{
	pthread_t th;

	http_client_start(r, &th);
	http_client_wait(s, r, th);
}

/* A server under test (NULL: none) and one client to it: the first member of a test's
 * per-test fixture struct (allocated with calloc, the cmocka state), which also holds the
 * handler's state. */
struct http_fixture {
	struct http_server *s;
	struct http_client r;
};

/* The cmocka tear-down of such a fixture: frees the client's body, the server and the
 * fixture. */
static inline int http_fixture_teardown(void **state)
{
	struct http_fixture *h = *state; /* the fixture's first member */

	http_client_release(&h->r);
	http_server_free(h->s);
	free(*state);
	return 0;
}

/* The main() of a test program that uses this client: curl's global state is set up
 * before the cmocka run and cleaned up after it. Arguments as WL_TEST_MAIN_GROUP's (the
 * group set-up and tear-down, NULL for none, then the cmocka_unit_test*() entries). */
#define WL_HTTP_TEST_MAIN_GROUP(group_setup, group_teardown, ...)                      \
	int main(void)                                                                 \
	{                                                                              \
		const struct CMUnitTest wl_tests_[] = { __VA_ARGS__ };                 \
		int rc;                                                                \
                                                                                       \
		curl_global_init(CURL_GLOBAL_DEFAULT);                                 \
		rc = cmocka_run_group_tests(wl_tests_, group_setup, group_teardown);   \
		curl_global_cleanup();                                                 \
		return rc;                                                             \
	}

#endif
