/* test_kube_http.c - requests against a real local HTTPS server (tls_server.py) with a
 * certificate from a CA this test makes: TLS verified, wrong CA fails the handshake,
 * bearer token sent, body cap, 429 + Retry-After, 5xx retries, Status messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <string.h>
#include <jansson.h>

#include "agent/kube/kube_backoff.h"
#include "agent/kube/kube_http.h"
#include "test_kube_server.h"

/* A client of the test server: the kubeconfig context `context` (NULL: the server's own
 * CA and token) with options o (NULL: the defaults); its config in *c. */
static struct kube_http *client_open(const char *context, const struct kube_http_opts *o,
				     struct kube_config **c)
{
	struct wl_err e = { { 0 } };
	struct kube_http *h;

	*c = tsrv_config(&S, context);
	assert_non_null(*c);
	h = kube_http_new(*c, o, &e);
	if (!h)
		fail_msg("%s", e.msg);
	return h;
}

static void client_close(struct kube_http *h, struct kube_config *c)
{
	kube_http_free(h);
	kube_config_free(c);
}

static void test_ok_with_token(void **st)
{
	struct kube_config *c;
	struct kube_resp r;
	struct wl_err e = { { 0 } };
	(void)st;
	NEED_SERVER();
	struct kube_http *h = client_open(NULL, NULL, &c);
	if (kube_http_request(h, "GET", "/ok", NULL, NULL, &r, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 1);
	assert_non_null(strstr(r.body, "\"auth\": \"Bearer t0k3n\""));
	assert_int_equal(kube_resp_check(&r, &e), 0);
	kube_resp_release(&r);
	/* absolute URL on the same server works too; plain http is refused */
	{
		char url[128];
		snprintf(url, sizeof(url), "%s/ok", S.url);
		assert_int_equal(kube_http_request(h, "GET", url, NULL, NULL, &r, &e), 0);
		assert_int_equal(r.status, 200);
		kube_resp_release(&r);
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", S.port);
		assert_int_equal(kube_http_request(h, "GET", url, NULL, NULL, &r, &e), -EINVAL);
		kube_resp_release(&r);
	}
	client_close(h, c);
}

static void test_wrong_ca_fails(void **st)
{
	struct kube_config *c;
	struct kube_resp r;
	struct wl_err e = { { 0 } };
	struct kube_http_opts o = { .max_retries = 3, .backoff_base_ms = 10 };
	(void)st;
	NEED_SERVER();
	struct kube_http *h = client_open("wrongca", &o, &c);
	assert_int_equal(kube_http_request(h, "GET", "/ok", NULL, NULL, &r, &e), -EPERM);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.attempts, 1); /* a TLS verification failure is not retried */
	assert_non_null(strstr(e.msg, "not trusted"));
	kube_resp_release(&r);
	client_close(h, c);
}

/* certificate-authority-data and client-certificate/key-data go to curl as blobs */
static void test_inline_ca_blob(void **st)
{
	char cmd[1024], kc[300];
	struct kube_config *c;
	struct kube_http *h;
	struct kube_resp r;
	struct wl_err e = { { 0 } };
	(void)st;
	NEED_SERVER();
	for (int good = 1; good >= 0; good--) {
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && { printf 'apiVersion: v1\\nkind: Config\\ncurrent-context: x\\n"
			 "clusters:\\n- name: x\\n  cluster:\\n    server: %s\\n"
			 "    certificate-authority-data: '; base64 -w0 %s; "
			 "printf '\\ncontexts:\\n- name: x\\n  context: {cluster: x, user: x}\\n"
			 "users:\\n- name: x\\n  user:\\n    client-certificate-data: '; "
			 "base64 -w0 client.crt; printf '\\n    client-key-data: '; "
			 "base64 -w0 client.key; echo; } > kc-inline.yaml",
			 S.dir, S.url, good ? "ca.crt" : "other-ca.crt");
		assert_int_equal(system(cmd), 0);
		snprintf(kc, sizeof(kc), "%s/kc-inline.yaml", S.dir);
		c = kube_config_from_file(kc, NULL, &e);
		if (!c)
			fail_msg("%s", e.msg);
		h = kube_http_new(c, NULL, &e);
		if (good) {
			if (kube_http_request(h, "GET", "/whoami", NULL, NULL, &r, &e))
				fail_msg("%s", e.msg);
			assert_int_equal(r.status, 200);
			/* the server saw the client certificate from client-certificate-data */
			assert_non_null(strstr(r.body, "\"cn\": \"wattlet-client\""));
		} else {
			assert_int_equal(kube_http_request(h, "GET", "/ok", NULL, NULL, &r, &e),
					 -EPERM);
		}
		kube_resp_release(&r);
		kube_http_free(h);
		kube_config_free(c);
	}
}

static void test_body_cap(void **st)
{
	struct kube_config *c;
	struct kube_resp r;
	struct wl_err e = { { 0 } };
	struct kube_http_opts o = { .max_body = 1024 };
	(void)st;
	NEED_SERVER();
	struct kube_http *h = client_open(NULL, &o, &c);
	assert_int_equal(kube_http_request(h, "GET", "/big", NULL, NULL, &r, &e), -EFBIG);
	assert_non_null(strstr(e.msg, "larger than the 1024 byte cap"));
	assert_null(r.body);
	kube_resp_release(&r);
	client_close(h, c);
}

static void test_429_retry_after(void **st)
{
	struct kube_config *c;
	struct kube_resp r;
	struct wl_err e = { { 0 } };
	struct kube_http_opts o = { .backoff_base_ms = 10, .backoff_max_ms = 20 };
	uint64_t t0;
	(void)st;
	NEED_SERVER();
	struct kube_http *h = client_open(NULL, &o, &c);
	t0 = mono_ns();
	assert_int_equal(kube_http_request(h, "GET", "/r429", NULL, NULL, &r, &e), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.attempts, 2);
	/* Retry-After: 1 beat the 10-20 ms backoff */
	assert_true(mono_ns() - t0 >= 1000000000ull);
	kube_resp_release(&r);
	client_close(h, c);
}

static void test_5xx_bounded(void **st)
{
	struct kube_config *c;
	struct kube_resp r;
	struct wl_err e = { { 0 } };
	struct kube_http_opts o = { .max_retries = 2, .backoff_base_ms = 5, .backoff_max_ms = 10 };
	(void)st;
	NEED_SERVER();
	struct kube_http *h = client_open(NULL, &o, &c);
	assert_int_equal(kube_http_request(h, "GET", "/r503", NULL, NULL, &r, &e), 0);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(kube_resp_check(&r, &e), -EAGAIN);
	assert_string_equal(e.msg, "HTTP 503: etcd down");
	kube_resp_release(&r);
	assert_int_equal(kube_http_request(h, "GET", "/notfound", NULL, NULL, &r, &e), 0);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(kube_resp_check(&r, &e), -ENOENT);
	assert_string_equal(e.msg, "HTTP 404: widgets \"x\" not found");
	kube_resp_release(&r);
	client_close(h, c);
}

static void test_connection_refused(void **st)
{
	struct kube_config *c;
	struct kube_resp r;
	struct wl_err e = { { 0 } };
	struct kube_http_opts o = { .max_retries = -1 };
	(void)st;
	NEED_SERVER();
	struct kube_http *h = client_open(NULL, &o, &c);
	/* port 1 on localhost: nothing listens */
	assert_int_equal(kube_http_request(h, "GET", "https://127.0.0.1:1/x", NULL, NULL, &r, &e),
			 -ECONNREFUSED);
	assert_int_equal(r.attempts, 1);
	kube_resp_release(&r);
	client_close(h, c);
}

static void test_methods_and_bodies(void **st)
{
	struct kube_config *c;
	struct kube_resp r;
	struct wl_err e = { { 0 } };
	json_t *j;
	(void)st;
	NEED_SERVER();
	struct kube_http *h = client_open(NULL, NULL, &c);
	assert_int_equal(kube_http_request(h, "POST", "/echo", "{\"a\":1}", NULL, &r, &e), 0);
	assert_int_equal(r.status, 201);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(j, "body")), "{\"a\":1}");
	assert_string_equal(json_string_value(json_object_get(j, "contentType")), "application/json");
	json_decref(j);
	kube_resp_release(&r);
	assert_int_equal(kube_http_request(h, "PATCH", "/echo", "{\"status\":{}}",
					   "application/merge-patch+json", &r, &e), 0);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "PATCH");
	assert_string_equal(json_string_value(json_object_get(j, "contentType")),
			    "application/merge-patch+json");
	json_decref(j);
	kube_resp_release(&r);
	assert_int_equal(kube_http_request(h, "DELETE", "/echo", NULL, NULL, &r, &e), 0);
	j = json_loadb(r.body, r.len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "DELETE");
	json_decref(j);
	kube_resp_release(&r);
	client_close(h, c);
}

static void test_retry_after_parse(void **st)
{
	long s = -1;
	(void)st;
	assert_int_equal(kube_parse_retry_after(" 7\r\n", 0, &s), 0);
	assert_int_equal(s, 7);
	/* HTTP-date, 1994-11-06T08:49:37Z = 784111777 */
	assert_int_equal(kube_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111770, &s), 0);
	assert_int_equal(s, 7);
	assert_int_equal(kube_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111800, &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(kube_parse_retry_after("soon", 0, &s), -EINVAL);
	assert_int_equal(kube_parse_retry_after("5x", 0, &s), -EINVAL);
}

static void test_backoff(void **st)
{
	struct kube_backoff b;
	unsigned prev_cap = 0;
	(void)st;
	kube_backoff_init(&b, 100, 1000);
	for (unsigned i = 0; i < 10; i++) {
		unsigned cap = 100u << (i < 4 ? i : 4);
		unsigned d = kube_backoff_next_ms(&b);
		if (cap > 1000)
			cap = 1000;
		assert_true(d >= cap / 2 && d <= cap);
		assert_true(cap >= prev_cap);
		prev_cap = cap;
	}
	kube_backoff_reset(&b);
	assert_true(kube_backoff_next_ms(&b) <= 100);
}

static void test_url_escape(void **st)
{
	struct strbuf sb;
	(void)st;
	strbuf_init(&sb, 256);
	assert_int_equal(kube_url_escape(&sb, "spec.nodeName=node-1,a b/&"), 0);
	assert_string_equal(sb.buf, "spec.nodeName%3Dnode-1%2Ca%20b%2F%26");
	strbuf_release(&sb);
}

WL_TEST_MAIN_GROUP(tsrv_group_setup, tsrv_group_teardown,
	cmocka_unit_test(test_ok_with_token),	   cmocka_unit_test(test_wrong_ca_fails),
	cmocka_unit_test(test_inline_ca_blob),
	cmocka_unit_test(test_body_cap),	   cmocka_unit_test(test_429_retry_after),
	cmocka_unit_test(test_5xx_bounded),	   cmocka_unit_test(test_connection_refused),
	cmocka_unit_test(test_methods_and_bodies),
	cmocka_unit_test(test_retry_after_parse), cmocka_unit_test(test_backoff),
	cmocka_unit_test(test_url_escape))
