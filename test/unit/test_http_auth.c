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
#include "test/unit/fixture_config.h"
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

/* The fixture of the tests against one TLS server, start()ed with the options given as
 * the test's initial state: the server and one client (h), the authorizer's state. Without
 * openssl there is no certificate and no server (the test skips). */
struct tls_opts {
	unsigned idle_ms;
	bool with_authz;
};

struct tls_test {
	struct http_fixture h;
	struct authz_state as;
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

/* The TLS fixture's set-up (see struct tls_test). */
static int tls_setup(void **st)
{
	const struct tls_opts *o = *st;
	struct tls_test *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	if (have_openssl)
		t->h.s = start(&t->as, o->idle_ms, o->with_authz);
	*st = t;
	return 0;
}

static void test_tls_serves_https_only(void **st)
{
	struct tls_test *t = *st;
	NEED_OPENSSL();

	run(t->h.s, &t->h.r, "https", "/metrics", NULL);
	assert_int_equal(t->h.r.rc, CURLE_OK); /* the certificate verified against itself */
	assert_int_equal(t->h.r.status, 200);
	assert_string_equal(t->h.r.body.buf, "served /metrics\n");
	assert_non_null(strstr(t->h.r.headers, "HTTP/1.1 200")); /* ALPN: never h2 */
	run(t->h.s, &t->h.r, "http", "/metrics", NULL);
	assert_int_not_equal(t->h.r.rc, CURLE_OK); /* plain HTTP on the TLS port: no answer */
	assert_int_equal(atomic_load(&t->as.handled), 1);
}

static void test_tls_bad_files(void **st)
{
	const struct {
		const char *cert, *key, *want;
	} cases[] = {
		{ "/nonexistent/tls.crt", key, "/nonexistent/tls.crt" },
		{ cert, NULL, "without a private key" },
		{ cert, cert, "not a PEM private key" }, /* a certificate is not a key */
		{ key, key, "not a PEM certificate" },
		{ cert, other_key, "is not the private key of the certificate" },
	};
	struct authz_state as = { 0 };
	(void)st;
	NEED_OPENSSL();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_opts o = { .tls_cert_file = cases[i].cert, .tls_key_file = cases[i].key };
		struct wl_err err = { "" };

		assert_null(http_server_new_opts("127.0.0.1:0", &o, handler, &as, &err));
		assert_non_null(strstr(err.msg, cases[i].want));
	}
}

static void test_authz_verdicts(void **st)
{
	struct tls_test *t = *st;
	NEED_OPENSSL();

	run(t->h.s, &t->h.r, "https", "/metrics", NULL);
	assert_int_equal(t->h.r.status, 401);
	assert_string_equal(t->as.last_token, "(null)");
	assert_non_null(strcasestr(t->h.r.headers, "\r\nwww-authenticate: Bearer\r\n"));
	run(t->h.s, &t->h.r, "https", "/metrics", "Basic Z29vZA==");
	assert_int_equal(t->h.r.status, 401);
	assert_string_equal(t->as.last_token, "(null)"); /* not a bearer token */
	run(t->h.s, &t->h.r, "https", "/metrics", "bearer   good  ");
	assert_int_equal(t->h.r.status, 200);
	assert_string_equal(t->as.last_token, "good");
	assert_string_equal(t->h.r.body.buf, "served /metrics\n");
	run(t->h.s, &t->h.r, "https", "/api/v1/workloads", "Bearer bad");
	assert_int_equal(t->h.r.status, 403);
	assert_null(strcasestr(t->h.r.headers, "www-authenticate"));
	run(t->h.s, &t->h.r, "https", "/metrics", "Bearer down");
	assert_int_equal(t->h.r.status, 503);
	run(t->h.s, &t->h.r, "https", "/healthz", NULL);
	assert_int_equal(t->h.r.status, 200);
	assert_int_equal(atomic_load(&t->as.handled), 2); /* good and /healthz only */
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
	struct tls_test *t = *st;
	struct releaser rl = { 0 };
	pthread_t th, rth;
	NEED_OPENSSL();

	rl.as = &t->as;
	rl.s = t->h.s;
	start_client(&t->h.r, &th, t->h.s, "https", "/metrics", "Bearer slow");
	assert_int_equal(pthread_create(&rth, NULL, release_thread, &rl), 0);
	http_client_wait(t->h.s, &t->h.r, th);
	pthread_join(rth, NULL);
	assert_int_equal(rl.handled_at_release, 0); /* not served while pending */
	assert_int_equal(t->h.r.rc, CURLE_OK);
	assert_int_equal(t->h.r.status, 200);
	assert_int_equal(atomic_load(&t->as.handled), 1);
	assert_true(atomic_load(&t->as.calls) >= 2);
}

static void test_pending_forever_times_out(void **st)
{
	struct tls_test *t = *st;
	struct http_stats hs;
	NEED_OPENSSL();

	run(t->h.s, &t->h.r, "https", "/metrics", "Bearer never");
	assert_int_not_equal(t->h.r.rc, CURLE_OK); /* closed without an answer */
	assert_int_equal(atomic_load(&t->as.handled), 0);
	http_server_stats(t->h.s, &hs);
	assert_true(hs.timed_out >= 1);
	/* the server goes on answering */
	run(t->h.s, &t->h.r, "https", "/healthz", NULL);
	assert_int_equal(t->h.r.status, 200);
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
	struct config_test t = { .e = { "" } };
	(void)st;

	config_defaults_valid(&t);
	assert_int_equal(t.c.http_auth, HTTP_AUTH_NONE);
	assert_config_step(&t, "http.auth", "kubernetes", "http.auth");
	assert_non_null(strstr(t.e.msg, "http.tls_cert_file"));
	assert_config_step(&t, "http.tls_cert_file", "/x/tls.crt", "http.tls_key_file");
	assert_config_step(&t, "http.tls_key_file", "/x/tls.key", NULL);
	assert_config_set_refused(&t, "http.auth", "oidc", "http.auth");
	assert_config_set_refused(&t, "http.auth_cache_ttl", "10ms", "http.auth_cache_ttl");
	assert_int_equal(config_set(&t.c, "http.auth_cache_ttl", "5m", &t.e), 0);
	assert_int_equal(t.c.http_auth_ttl_ms, 300000);
}

/* The cmocka entry of a test on the TLS fixture, its server started with options o. */
#define TLS_TEST(test, o) \
	cmocka_unit_test_prestate_setup_teardown(test, tls_setup, http_fixture_teardown, &o)

static struct tls_opts plain_opts = { .idle_ms = 0, .with_authz = false };
static struct tls_opts authz_opts = { .idle_ms = 0, .with_authz = true };
static struct tls_opts authz_idle_60s_opts = { .idle_ms = 60000, .with_authz = true };
static struct tls_opts authz_idle_300ms_opts = { .idle_ms = 300, .with_authz = true };

WL_HTTP_TEST_MAIN_GROUP(setup, teardown,
	TLS_TEST(test_tls_serves_https_only, plain_opts),
	cmocka_unit_test(test_tls_bad_files),
	TLS_TEST(test_authz_verdicts, authz_opts),
	TLS_TEST(test_pending_resumes_on_wake, authz_idle_60s_opts),
	TLS_TEST(test_pending_forever_times_out, authz_idle_300ms_opts),
	cmocka_unit_test(test_tls_reload),
	cmocka_unit_test(test_config_rules))
