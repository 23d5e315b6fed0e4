/* test_http_auth.c - the HTTP server's TLS and its authorization hook, against a real
 * client (libcurl in a thread, verifying a throwaway certificate made with openssl);
 * the test thread runs the server's service loop until the client is done. Also the
 * config rules of http.tls_* and http.auth. */
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
#include <unistd.h>

#include "agent/config/config.h"
#include "agent/export/http.h"
#include "test/unit/fixture_http.h"

static char dir[64];
static char cert[128], key[128], other_key[128];
static bool have_openssl;
static const char *ca_file; /* what clients verify against; NULL: cert */

struct authz_state {
	atomic_int calls;        /* authz calls */
	atomic_int handled;      /* handler calls */
	atomic_bool released;    /* "slow" token: allowed from now on */
	atomic_int pendings;     /* PENDING answers given */
	char last_token[64];     /* "(null)" when none */
};

static int handler(void *ctx, const char *path, struct strbuf *body, const char **ctype)
{
	struct authz_state *as = ctx;

	atomic_fetch_add(&as->handled, 1);
	(void)ctype;
	strbuf_addf(body, "served %s\n", path);
	return 200;
}

static enum http_authz authz(void *ctx, const char *token, const char *path)
{
	struct authz_state *as = ctx;

	atomic_fetch_add(&as->calls, 1);
	snprintf(as->last_token, sizeof(as->last_token), "%s", token ? token : "(null)");
	if (strcmp(path, "/healthz") == 0)
		return HTTP_AUTHZ_ALLOW;
	if (!token)
		return HTTP_AUTHZ_DENY_401;
	if (strcmp(token, "good") == 0)
		return HTTP_AUTHZ_ALLOW;
	if (strcmp(token, "bad") == 0)
		return HTTP_AUTHZ_DENY_403;
	if (strcmp(token, "down") == 0)
		return HTTP_AUTHZ_UNAVAILABLE;
	if (strcmp(token, "slow") == 0) {
		if (atomic_load(&as->released))
			return HTTP_AUTHZ_ALLOW;
		atomic_fetch_add(&as->pendings, 1);
		return HTTP_AUTHZ_PENDING;
	}
	if (strcmp(token, "never") == 0)
		return HTTP_AUTHZ_PENDING;
	return HTTP_AUTHZ_DENY_401;
}

/* Starts a request for scheme://localhost:<port of s><path> (Authorization: auth unless
 * NULL, verifying the server against ca_file or cert) on a thread of its own (*th). */
static void start_client(struct http_client *r, pthread_t *th, struct http_server *s,
			 const char *scheme, const char *path, const char *auth)
{
	http_client_prepare(r, "%s://localhost:%d%s", scheme, http_server_port(s), path);
	if (auth && auth[0])
		snprintf(r->header, sizeof(r->header), "Authorization: %s", auth);
	r->cainfo = ca_file ? ca_file : cert;
	r->timeout_s = 20;
	http_client_start(r, th);
}

static void run(struct http_server *s, struct http_client *r, const char *scheme,
		const char *path, const char *auth)
{
	pthread_t th;

	start_client(r, &th, s, scheme, path, auth);
	http_client_wait(s, r, th);
}

static struct http_server *start(struct authz_state *as, unsigned idle_ms, bool with_authz)
{
	struct http_opts o = { .idle_timeout_ms = idle_ms, .tls_cert_file = cert,
			       .tls_key_file = key };
	struct wl_err err = { "" };
	struct http_server *s;

	if (with_authz) {
		o.authz = authz;
		o.authz_ctx = as;
	}
	s = http_server_new_opts("127.0.0.1:0", &o, handler, as, &err);
	if (!s)
		fail_msg("http_server_new_opts: %s", err.msg);
	return s;
}

static int setup(void **st)
{
	char cmd[768];

	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/wattlet-tls-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cert, sizeof(cert), "%s/tls.crt", dir);
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
	snprintf(cmd, sizeof(cmd),
		 "command -v openssl >/dev/null 2>&1 && openssl req -x509 -newkey ec -pkeyopt "
		 "ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost -addext "
		 "subjectAltName=DNS:localhost -keyout '%s' -out '%s' >/dev/null 2>&1 && openssl genpkey "
		 "-algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out '%s' >/dev/null 2>&1",
		 key, cert, other_key);
	have_openssl = system(cmd) == 0;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	unlink(cert);
	unlink(key);
	unlink(other_key);
	rmdir(dir);
	return 0;
}

#define NEED_OPENSSL()                                                              \
	do {                                                                        \
		if (!have_openssl) {                                                \
			print_message("skipped: no openssl command to make a test " \
				      "certificate\n");                             \
			skip();                                                     \
		}                                                                   \
	} while (0)

static void test_tls_serves_https_only(void **st)
{
	struct authz_state as = { 0 };
	struct http_server *s;
	struct http_client r = { 0 };
	(void)st;
	NEED_OPENSSL();

	s = start(&as, 0, false);
	run(s, &r, "https", "/metrics", NULL);
	assert_int_equal(r.rc, CURLE_OK); /* the certificate verified against itself */
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.buf, "served /metrics\n");
	assert_non_null(strstr(r.headers, "HTTP/1.1 200")); /* ALPN: never h2 */
	run(s, &r, "http", "/metrics", NULL);
	assert_int_not_equal(r.rc, CURLE_OK); /* plain HTTP on the TLS port: no answer */
	assert_int_equal(atomic_load(&as.handled), 1);
	http_client_release(&r);
	http_server_free(s);
}

static void test_tls_bad_files(void **st)
{
	struct authz_state as = { 0 };
	struct http_opts o = { .tls_cert_file = "/nonexistent/tls.crt", .tls_key_file = key };
	struct wl_err err = { "" };
	(void)st;
	NEED_OPENSSL();

	assert_null(http_server_new_opts("127.0.0.1:0", &o, handler, &as, &err));
	assert_non_null(strstr(err.msg, "/nonexistent/tls.crt"));
	o.tls_key_file = NULL;
	o.tls_cert_file = cert;
	assert_null(http_server_new_opts("127.0.0.1:0", &o, handler, &as, &err));
	assert_non_null(strstr(err.msg, "without a private key"));
	o.tls_key_file = cert; /* a certificate is not a key */
	assert_null(http_server_new_opts("127.0.0.1:0", &o, handler, &as, &err));
	assert_non_null(strstr(err.msg, "not a PEM private key"));
	o.tls_key_file = key;
	o.tls_cert_file = key;
	assert_null(http_server_new_opts("127.0.0.1:0", &o, handler, &as, &err));
	assert_non_null(strstr(err.msg, "not a PEM certificate"));
	o.tls_cert_file = cert;
	o.tls_key_file = other_key;
	assert_null(http_server_new_opts("127.0.0.1:0", &o, handler, &as, &err));
	assert_non_null(strstr(err.msg, "is not the private key of the certificate"));
}

static void test_authz_verdicts(void **st)
{
	struct authz_state as = { 0 };
	struct http_server *s;
	struct http_client r = { 0 };
	(void)st;
	NEED_OPENSSL();

	s = start(&as, 0, true);
	run(s, &r, "https", "/metrics", NULL);
	assert_int_equal(r.status, 401);
	assert_string_equal(as.last_token, "(null)");
	assert_non_null(strcasestr(r.headers, "\r\nwww-authenticate: Bearer\r\n"));
	run(s, &r, "https", "/metrics", "Basic Z29vZA==");
	assert_int_equal(r.status, 401);
	assert_string_equal(as.last_token, "(null)"); /* not a bearer token */
	run(s, &r, "https", "/metrics", "bearer   good  ");
	assert_int_equal(r.status, 200);
	assert_string_equal(as.last_token, "good");
	assert_string_equal(r.body.buf, "served /metrics\n");
	run(s, &r, "https", "/api/v1/workloads", "Bearer bad");
	assert_int_equal(r.status, 403);
	assert_null(strcasestr(r.headers, "www-authenticate"));
	run(s, &r, "https", "/metrics", "Bearer down");
	assert_int_equal(r.status, 503);
	run(s, &r, "https", "/healthz", NULL);
	assert_int_equal(r.status, 200);
	assert_int_equal(atomic_load(&as.handled), 2); /* good and /healthz only */
	http_client_release(&r);
	http_server_free(s);
}

struct releaser {
	struct authz_state *as;
	struct http_server *s;
	int handled_at_release;
};

/* Waits until the request was answered "pending", then allows it from this thread. */
static void *release_thread(void *arg)
{
	struct releaser *rl = arg;

	while (atomic_load(&rl->as->pendings) < 1)
		sched_yield();
	rl->handled_at_release = atomic_load(&rl->as->handled);
	atomic_store(&rl->as->released, true);
	http_server_wake(rl->s);
	return NULL;
}

static void test_pending_resumes_on_wake(void **st)
{
	struct authz_state as = { 0 };
	struct releaser rl = { 0 };
	struct http_server *s;
	pthread_t th, rth;
	struct http_client r = { 0 };
	(void)st;
	NEED_OPENSSL();

	s = start(&as, 60000, true);
	rl.as = &as;
	rl.s = s;
	start_client(&r, &th, s, "https", "/metrics", "Bearer slow");
	assert_int_equal(pthread_create(&rth, NULL, release_thread, &rl), 0);
	http_client_wait(s, &r, th);
	pthread_join(rth, NULL);
	assert_int_equal(rl.handled_at_release, 0); /* not served while pending */
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(atomic_load(&as.handled), 1);
	assert_true(atomic_load(&as.calls) >= 2);
	http_client_release(&r);
	http_server_free(s);
}

static void test_pending_forever_times_out(void **st)
{
	struct authz_state as = { 0 };
	struct http_stats hs;
	struct http_server *s;
	struct http_client r = { 0 };
	(void)st;
	NEED_OPENSSL();

	s = start(&as, 300, true);
	run(s, &r, "https", "/metrics", "Bearer never");
	assert_int_not_equal(r.rc, CURLE_OK); /* closed without an answer */
	assert_int_equal(atomic_load(&as.handled), 0);
	http_server_stats(s, &hs);
	assert_true(hs.timed_out >= 1);
	/* the server goes on answering */
	run(s, &r, "https", "/healthz", NULL);
	assert_int_equal(r.status, 200);
	http_client_release(&r);
	http_server_free(s);
}

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

/* A rotated certificate (files replaced by rename, as a Secret volume update does) is
 * served to new connections; a broken one is refused and the previous stays. */
static void test_tls_reload(void **st)
{
	char rc_[160], rk[160], a_pem[160], b_pem[160], tmpc[160], tmpk[160];
	struct authz_state as = { 0 };
	struct http_opts o = { 0 };
	struct wl_err err = { "" };
	struct http_stats hs;
	struct http_server *s;
	struct http_client r = { 0 };
	(void)st;
	NEED_OPENSSL();

	snprintf(rc_, sizeof(rc_), "%s/rot.crt", dir);
	snprintf(rk, sizeof(rk), "%s/rot.key", dir);
	snprintf(a_pem, sizeof(a_pem), "%s/a.pem", dir);
	snprintf(b_pem, sizeof(b_pem), "%s/b.pem", dir);
	snprintf(tmpc, sizeof(tmpc), "%s/new.crt", dir);
	snprintf(tmpk, sizeof(tmpk), "%s/new.key", dir);
	assert_int_equal(sh("cp '%s' '%s'", cert, rc_), 0);
	assert_int_equal(sh("cp '%s' '%s'", key, rk), 0);
	assert_int_equal(sh("cp '%s' '%s'", cert, a_pem), 0);
	o.tls_cert_file = rc_;
	o.tls_key_file = rk;
	s = http_server_new_opts("127.0.0.1:0", &o, handler, &as, &err);
	if (!s)
		fail_msg("http_server_new_opts: %s", err.msg);
	assert_int_equal(http_server_reload_tls(s, &err), 0); /* unchanged */
	ca_file = a_pem;
	run(s, &r, "https", "/metrics", NULL);
	assert_int_equal(r.status, 200);

	/* a new key and certificate B, moved into place */
	assert_int_equal(sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
			    "-nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost "
			    "-keyout '%s' -out '%s' >/dev/null 2>&1", tmpk, tmpc), 0);
	assert_int_equal(sh("cp '%s' '%s'", tmpc, b_pem), 0);
	assert_int_equal(sh("mv '%s' '%s'", tmpk, rk), 0);
	assert_int_equal(sh("mv '%s' '%s'", tmpc, rc_), 0);
	assert_int_equal(http_server_reload_tls(s, &err), 1);
	ca_file = b_pem;
	run(s, &r, "https", "/metrics", NULL);
	assert_int_equal(r.rc, CURLE_OK);
	assert_int_equal(r.status, 200);
	ca_file = a_pem; /* the old certificate is gone */
	run(s, &r, "https", "/metrics", NULL);
	assert_int_not_equal(r.rc, CURLE_OK);

	/* a certificate that does not match the key: refused, B stays in use */
	assert_int_equal(sh("cp '%s' '%s'", a_pem, rc_), 0);
	assert_int_equal(http_server_reload_tls(s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not the private key"));
	ca_file = b_pem;
	run(s, &r, "https", "/metrics", NULL);
	assert_int_equal(r.status, 200);
	http_server_stats(s, &hs);
	assert_int_equal(hs.tls_reloads, 1);
	assert_int_equal(hs.tls_reload_errors, 1);
	ca_file = NULL;
	http_client_release(&r);
	http_server_free(s);
	unlink(rc_);
	unlink(rk);
	unlink(a_pem);
	unlink(b_pem);
}

static void test_config_rules(void **st)
{
	struct config c;
	struct wl_err err = { "" };
	(void)st;

	config_defaults(&c);
	assert_int_equal(c.http_auth, HTTP_AUTH_NONE);
	assert_int_equal(config_validate(&c, &err), 0);
	assert_int_equal(config_set(&c, "http.auth", "kubernetes", &err), 0);
	assert_int_not_equal(config_validate(&c, &err), 0);
	assert_non_null(strstr(err.msg, "http.auth"));
	assert_non_null(strstr(err.msg, "http.tls_cert_file"));
	assert_int_equal(config_set(&c, "http.tls_cert_file", "/x/tls.crt", &err), 0);
	assert_int_not_equal(config_validate(&c, &err), 0);
	assert_non_null(strstr(err.msg, "http.tls_key_file"));
	assert_int_equal(config_set(&c, "http.tls_key_file", "/x/tls.key", &err), 0);
	assert_int_equal(config_validate(&c, &err), 0);
	assert_int_not_equal(config_set(&c, "http.auth", "oidc", &err), 0);
	assert_non_null(strstr(err.msg, "http.auth"));
	assert_int_not_equal(config_set(&c, "http.auth_cache_ttl", "10ms", &err), 0);
	assert_non_null(strstr(err.msg, "http.auth_cache_ttl"));
	assert_int_equal(config_set(&c, "http.auth_cache_ttl", "5m", &err), 0);
	assert_int_equal(c.http_auth_ttl_ms, 300000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_serves_https_only),
		cmocka_unit_test(test_tls_bad_files),
		cmocka_unit_test(test_authz_verdicts),
		cmocka_unit_test(test_pending_resumes_on_wake),
		cmocka_unit_test(test_pending_forever_times_out),
		cmocka_unit_test(test_tls_reload),
		cmocka_unit_test(test_config_rules),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
