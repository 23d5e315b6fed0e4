/* test_kube_config.c - kubeconfig variants, in-cluster config, token rotation, base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/kube/kube_config.h"
#include "test/unit/fixture.h"
#include "test/unit/fixture_refused.h"

static struct kube_config *load(const char *name, const struct kube_config_opts *o,
				struct wl_err *e)
{
	char p[512];
	fixture_path(p, sizeof(p), "kube", name);
	return kube_config_from_file(p, o, e);
}

/* load() that must succeed: the test fails with the error if it does not. */
static struct kube_config *load_ok(const char *name, const struct kube_config_opts *o)
{
	struct wl_err e = { { 0 } };
	struct kube_config *c = load(name, o, &e);

	if (!c)
		fail_msg("%s: %s", name, e.msg);
	return c;
}

/* c's TLS settings apply to a curl handle. */
static void assert_tls_applies(const struct kube_config *c)
{
	struct wl_err e = { { 0 } };
	CURL *h = curl_easy_init();

	assert_int_equal(kube_config_apply_tls(c, h, &e), 0);
	curl_easy_cleanup(h);
}

static void expect_fail(const char *name, const struct kube_config_opts *o, const char *want)
{
	struct wl_err e = { { 0 } };
	struct kube_config *c = load(name, o, &e);
	bool made = c != NULL;

	kube_config_free(c);
	assert_refused_with(name, made, e.msg, want);
}

static void test_inline_data(void **st)
{
	struct wl_err e = { { 0 } };
	struct kube_config *c = load_ok("kc_inline.yaml", NULL);
	(void)st;
	/* trailing slash removed */
	assert_string_equal(kube_config_server(c), "https://127.0.0.1:36443");
	assert_string_equal(kube_config_namespace(c), "energy");
	assert_string_equal(kube_config_token(c, &e), ""); /* client cert only */
	assert_false(kube_config_insecure(c));
	assert_false(kube_config_in_cluster_mode(c));
	assert_tls_applies(c);
	kube_config_free(c);
}

static void test_file_paths(void **st)
{
	struct kube_config *c = load_ok("kc_files.yaml", NULL);
	(void)st;
	assert_string_equal(kube_config_server(c), "https://[fd00::10]:6443");
	assert_string_equal(kube_config_namespace(c), "default");
	assert_tls_applies(c);
	kube_config_free(c);
}

static void test_token_and_context(void **st)
{
	struct wl_err e = { { 0 } };
	struct kube_config_opts o = { 0 };
	struct kube_config *c = load_ok("kc_token.yaml", NULL);
	(void)st;
	assert_string_equal(kube_config_server(c), "https://api.two.example");
	assert_string_equal(kube_config_token(c, &e), "token-two");
	assert_string_equal(kube_config_namespace(c), "team-b");
	kube_config_free(c);
	o.context = "a";
	c = load("kc_token.yaml", &o, &e);
	assert_non_null(c);
	assert_string_equal(kube_config_server(c), "https://api.one.example:6443");
	assert_string_equal(kube_config_token(c, &e), "token-one");
	kube_config_free(c);
	o.context = "zzz";
	expect_fail("kc_token.yaml", &o, "context \"zzz\" not found");
}

static void test_token_file(void **st)
{
	struct wl_err e = { { 0 } };
	struct kube_config *c = load_ok("kc_tokenfile.yaml", NULL);
	(void)st;
	assert_string_equal(kube_config_token(c, &e), "file-token-abc");
	kube_config_free(c);
}

static void test_rejected(void **st)
{
	struct kube_config_opts o = { 0 };
	struct kube_config *c;
	(void)st;
	expect_fail("kc_exec.yaml", NULL, "exec credential plugins are not supported");
	expect_fail("kc_authprovider.yaml", NULL, "auth-provider is not supported");
	expect_fail("kc_insecure.yaml", NULL, "insecure-skip-tls-verify; refused");
	expect_fail("kc_http.yaml", NULL, "server must be an https:// URL");
	expect_fail("kc_missing_ctx.yaml", NULL, "context \"nowhere\" not found");
	expect_fail("kc_bad_b64.yaml", NULL, "certificate-authority-data: not valid base64");
	expect_fail("kc_cert_no_key.yaml", NULL, "must be given together");
	expect_fail("kc_missing_file.yaml", NULL, "certs/nope.pem");
	expect_fail("kc_garbage.yaml", NULL, "YAML error");
	expect_fail("does-not-exist.yaml", NULL, "No such file");
	/* the explicit opt-out accepts it, and says so */
	o.allow_insecure = true;
	c = load_ok("kc_insecure.yaml", &o);
	assert_true(kube_config_insecure(c));
	kube_config_free(c);
}

static void expect_text_fails(const char *text, const char *want)
{
	char path[] = "/tmp/wattlet-kc-XXXXXX";
	struct wl_err e = { { 0 } };
	struct kube_config *c;
	int fd = mkstemp(path);
	size_t len = strlen(text);
	bool made;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	c = kube_config_from_file(path, NULL, &e);
	unlink(path);
	made = c != NULL;
	kube_config_free(c);
	assert_refused_with("a kubeconfig written by the test", made, e.msg, want);
}

/* Untrusted YAML: deep nesting is refused before libyaml builds the tree (it is
 * quadratic in depth), and aliases cannot expand a small file into a huge tree. */
static void test_yaml_bombs(void **st)
{
	enum { DEEP = 50000 };
	char *deep = malloc(2 * DEEP + 32), *bomb = malloc(8192), *p;
	(void)st;
	assert_non_null(deep);
	assert_non_null(bomb);
	p = deep + sprintf(deep, "clusters: ");
	memset(p, '[', DEEP);
	memset(p + DEEP, ']', DEEP);
	p[2 * DEEP] = '\n';
	p[2 * DEEP + 1] = 0;
	expect_text_fails(deep, "nested deeper than");
	/* 10 aliases a level, 9 levels: 10^9 values from under 1 KiB */
	p = bomb + sprintf(bomb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (int l = 1; l < 10; l++) {
		p += sprintf(p, "a%d: &a%d [", l, l);
		for (int k = 0; k < 10; k++)
			p += sprintf(p, "%s*a%d", k ? ", " : "", l - 1);
		p += sprintf(p, "]\n");
	}
	expect_text_fails(bomb, "aliases expand");
	free(deep);
	free(bomb);
}

static void test_base64(void **st)
{
	unsigned char *out = NULL;
	size_t n = 0;
	(void)st;
	assert_int_equal(kube_base64_decode("aGVsbG8gd29ybGQ=", &out, &n), 0);
	assert_int_equal(n, 11);
	assert_memory_equal(out, "hello world", 11);
	free(out);
	assert_int_equal(kube_base64_decode("aGVs\nbG8=", &out, &n), 0);
	assert_int_equal(n, 5);
	free(out);
	assert_int_equal(kube_base64_decode("YQ", &out, &n), 0); /* unpadded */
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 'a');
	free(out);
	assert_int_equal(kube_base64_decode("a", &out, &n), -EINVAL);
	assert_int_equal(kube_base64_decode("YQ==YQ==", &out, &n), -EINVAL);
	assert_int_equal(kube_base64_decode("Y*Q=", &out, &n), -EINVAL);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	fixture_write(dir, name, text);
}

static void test_in_cluster_and_rotation(void **st)
{
	char dir[] = "/tmp/wattlet-kcfg-XXXXXX", cmd[128], p[256];
	struct kube_config_opts o = { 0 };
	struct wl_err e = { { 0 } };
	struct kube_config *c;
	struct timespec ts[2];
	(void)st;
	assert_non_null(mkdtemp(dir));
	o.sa_dir = dir;
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	/* no CA yet */
	c = kube_config_in_cluster(&o, &e);
	assert_null(c);
	assert_non_null(strstr(e.msg, "ca.crt"));
	write_file(dir, "ca.crt", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
	write_file(dir, "token", "");
	c = kube_config_in_cluster(&o, &e);
	assert_null(c); /* empty token */
	write_file(dir, "token", "eyJhbGciOiJSUzI1NiJ9.first.sig\n");
	c = kube_config_in_cluster(&o, &e);
	if (!c)
		fail_msg("%s", e.msg);
	assert_string_equal(kube_config_server(c), "https://10.96.0.1:443");
	assert_string_equal(kube_config_namespace(c), "default"); /* no namespace file */
	assert_true(kube_config_in_cluster_mode(c));
	assert_string_equal(kube_config_token(c, &e), "eyJhbGciOiJSUzI1NiJ9.first.sig");
	/* rotation: the kubelet swaps in a new file (new inode) */
	write_file(dir, "token.new", "eyJhbGciOiJSUzI1NiJ9.second.sig\n");
	snprintf(p, sizeof(p), "%s/token", dir);
	snprintf(cmd, sizeof(cmd), "%s/token.new", dir);
	assert_int_equal(rename(cmd, p), 0);
	assert_string_equal(kube_config_token(c, &e), "eyJhbGciOiJSUzI1NiJ9.second.sig");
	/* same size, same inode, but a new mtime */
	write_file(dir, "token", "eyJhbGciOiJSUzI1NiJ9.third0.sig\n");
	ts[0].tv_sec = ts[1].tv_sec = 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	assert_string_equal(kube_config_token(c, &e), "eyJhbGciOiJSUzI1NiJ9.third0.sig");
	/* token vanishes: the last good one is kept, with an error */
	unlink(p);
	e.msg[0] = '\0';
	assert_string_equal(kube_config_token(c, &e), "eyJhbGciOiJSUzI1NiJ9.third0.sig");
	assert_non_null(strstr(e.msg, "token"));
	kube_config_free(c);

	/* IPv6 service host, namespace file */
	write_file(dir, "token", "t\n");
	write_file(dir, "namespace", "wattlet-system");
	setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
	c = kube_config_in_cluster(&o, &e);
	assert_non_null(c);
	assert_string_equal(kube_config_server(c), "https://[fd00:10:96::1]:443");
	assert_string_equal(kube_config_namespace(c), "wattlet-system");
	kube_config_free(c);

	/* load(): an explicit kubeconfig wins over in-cluster */
	snprintf(p, sizeof(p), "%s/kube/kc_token.yaml", fixture_dir());
	o.kubeconfig = p;
	c = kube_config_load(&o, &e);
	assert_non_null(c);
	assert_false(kube_config_in_cluster_mode(c));
	kube_config_free(c);
	o.kubeconfig = NULL;
	c = kube_config_load(&o, &e);
	assert_non_null(c);
	assert_true(kube_config_in_cluster_mode(c));
	kube_config_free(c);

	unsetenv("KUBERNETES_SERVICE_HOST");
	c = kube_config_in_cluster(&o, &e);
	assert_null(c);
	assert_non_null(strstr(e.msg, "not in a cluster"));
	unsetenv("KUBERNETES_SERVICE_PORT");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	kube_config_free(NULL);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_inline_data),	  cmocka_unit_test(test_file_paths),
	cmocka_unit_test(test_token_and_context), cmocka_unit_test(test_token_file),
	cmocka_unit_test(test_rejected),	  cmocka_unit_test(test_base64),
	cmocka_unit_test(test_in_cluster_and_rotation), cmocka_unit_test(test_yaml_bombs))
