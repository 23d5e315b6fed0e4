/* test_kube_authn.c - TokenReview / SubjectAccessReview documents and the verdict
 * cache of kube_authn (manual mode: no thread, no API server; the reviews against
 * the real API server are exercised by test/e2e/secure_test.go). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/kube/kube_authn.h"

#define S_NS 1000000000ull

/* ---- documents ---------------------------------------------------------------- */

static void test_tokenreview_body(void **st)
{
	struct strbuf sb;
	json_t *doc;
	(void)st;

	strbuf_init(&sb, 1 << 16);
	assert_int_equal(kube_authn_tokenreview_body(&sb, "a\"b.c"), 0);
	doc = json_loadb(sb.buf, sb.len, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "TokenReview");
	assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")),
			    "authentication.k8s.io/v1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "spec"),
								 "token")), "a\"b.c");
	json_decref(doc);
	strbuf_release(&sb);
}

static const char tr_ok[] =
	"{\"kind\":\"TokenReview\",\"apiVersion\":\"authentication.k8s.io/v1\","
	"\"status\":{\"authenticated\":true,\"user\":{\"username\":"
	"\"system:serviceaccount:mon:prometheus\",\"uid\":\"u-1\",\"groups\":"
	"[\"system:serviceaccounts\",\"system:authenticated\"],\"extra\":"
	"{\"authentication.kubernetes.io/pod-name\":[\"prom-0\"]}},"
	"\"audiences\":[\"https://kubernetes.default.svc\"]}}";

/* A TokenReview answer parsed: whether it authenticates, the user, the error. */
struct review {
	bool ok;
	struct kube_authn_user u;
	struct wl_err e;
};

/* kube_authn_parse_tokenreview of doc (NUL-terminated, or NULL: empty) into r. */
static int parse_review(struct review *r, const char *doc)
{
	return kube_authn_parse_tokenreview(doc, doc ? strlen(doc) : 0, &r->ok, &r->u, &r->e);
}

static void test_parse_tokenreview_ok(void **st)
{
	struct review r = { .ok = false, .e = { "" } };
	(void)st;

	assert_int_equal(parse_review(&r, tr_ok), 0);
	assert_true(r.ok);
	assert_string_equal(r.u.username, "system:serviceaccount:mon:prometheus");
	assert_string_equal(r.u.uid, "u-1");
	assert_string_equal(r.u.groups_json, "[\"system:serviceaccounts\",\"system:authenticated\"]");
	assert_non_null(strstr(r.u.extra_json, "\"prom-0\""));
	kube_authn_user_release(&r.u);
}

static void test_parse_tokenreview_denied_and_bad(void **st)
{
	static const char denied[] =
		"{\"kind\":\"TokenReview\",\"status\":{\"authenticated\":false,"
		"\"error\":\"token has expired\"}}";
	static const char no_status[] = "{\"kind\":\"TokenReview\"}";
	static const char wrong_kind[] = "{\"kind\":\"Status\",\"status\":\"Failure\"}";
	static const char bad_groups[] =
		"{\"kind\":\"TokenReview\",\"status\":{\"authenticated\":true,\"user\":"
		"{\"username\":\"x\",\"groups\":[1]}}}";
	static const char bad_extra[] =
		"{\"kind\":\"TokenReview\",\"status\":{\"authenticated\":true,\"user\":"
		"{\"username\":\"x\",\"extra\":{\"k\":\"v\"}}}}";
	static const char no_user[] =
		"{\"kind\":\"TokenReview\",\"status\":{\"authenticated\":true}}";
	struct review r = { .ok = true, .e = { "" } };
	(void)st;

	assert_int_equal(parse_review(&r, denied), 0);
	assert_false(r.ok);
	assert_null(r.u.username);
	assert_non_null(strstr(r.e.msg, "token has expired"));

	assert_int_equal(parse_review(&r, no_status), -EINVAL);
	assert_int_equal(parse_review(&r, wrong_kind), -EINVAL);
	assert_non_null(strstr(r.e.msg, "not a TokenReview"));
	assert_int_equal(parse_review(&r, bad_groups), -EINVAL);
	assert_false(r.ok);
	assert_int_equal(parse_review(&r, bad_extra), -EINVAL);
	assert_int_equal(parse_review(&r, no_user), -EINVAL);
	assert_int_equal(parse_review(&r, "{"), -EINVAL);
	assert_int_equal(parse_review(&r, NULL), -EINVAL);
	assert_null(r.u.username);
}

static void test_sar_body(void **st)
{
	struct kube_authn_user u;
	struct wl_err e = { "" };
	struct strbuf sb;
	json_t *doc, *spec, *nra;
	bool ok;
	(void)st;

	assert_int_equal(kube_authn_parse_tokenreview(tr_ok, strlen(tr_ok), &ok, &u, &e), 0);
	strbuf_init(&sb, 1 << 16);
	assert_int_equal(kube_authn_sar_body(&sb, &u, "/metrics", "get"), 0);
	doc = json_loadb(sb.buf, sb.len, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "SubjectAccessReview");
	assert_string_equal(json_string_value(json_object_get(doc, "apiVersion")),
			    "authorization.k8s.io/v1");
	spec = json_object_get(doc, "spec");
	assert_string_equal(json_string_value(json_object_get(spec, "user")),
			    "system:serviceaccount:mon:prometheus");
	assert_string_equal(json_string_value(json_object_get(spec, "uid")), "u-1");
	assert_int_equal(json_array_size(json_object_get(spec, "groups")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
				    json_object_get(spec, "extra"),
				    "authentication.kubernetes.io/pod-name"), 0)), "prom-0");
	nra = json_object_get(spec, "nonResourceAttributes");
	assert_string_equal(json_string_value(json_object_get(nra, "path")), "/metrics");
	assert_string_equal(json_string_value(json_object_get(nra, "verb")), "get");
	assert_null(json_object_get(spec, "resourceAttributes"));
	json_decref(doc);
	strbuf_release(&sb);
	kube_authn_user_release(&u);
}

static void test_parse_sar(void **st)
{
	static const char allowed[] = "{\"kind\":\"SubjectAccessReview\",\"status\":"
				      "{\"allowed\":true,\"reason\":\"RBAC: allowed by x\"}}";
	static const char no[] = "{\"kind\":\"SubjectAccessReview\",\"status\":{\"allowed\":false,"
				 "\"reason\":\"no RBAC policy matched\"}}";
	static const char contradiction[] = "{\"kind\":\"SubjectAccessReview\",\"status\":"
					    "{\"allowed\":true,\"denied\":true}}";
	static const char empty_status[] = "{\"kind\":\"SubjectAccessReview\",\"status\":{}}";
	static const char wrong[] = "{\"kind\":\"TokenReview\",\"status\":{\"allowed\":true}}";
	struct wl_err e = { "" };
	bool ok = false;
	(void)st;

	assert_int_equal(kube_authn_parse_sar(allowed, strlen(allowed), &ok, &e), 0);
	assert_true(ok);
	assert_int_equal(kube_authn_parse_sar(no, strlen(no), &ok, &e), 0);
	assert_false(ok);
	assert_non_null(strstr(e.msg, "no RBAC policy matched"));
	assert_int_equal(kube_authn_parse_sar(contradiction, strlen(contradiction), &ok, &e), 0);
	assert_false(ok);
	assert_int_equal(kube_authn_parse_sar(empty_status, strlen(empty_status), &ok, &e), 0);
	assert_false(ok); /* allowed absent = no */
	ok = true;
	assert_int_equal(kube_authn_parse_sar(wrong, strlen(wrong), &ok, &e), -EINVAL);
	assert_false(ok);
}

/* ---- cache ------------------------------------------------------------------------ */

static struct kube_authn *manual(unsigned entries, unsigned pending, uint64_t ttl_ms)
{
	struct kube_authn_opts o = { .manual = true, .max_entries = entries,
				     .max_pending = pending, .ttl_ms = ttl_ms };
	struct wl_err e = { "" };
	struct kube_authn *a = kube_authn_new(NULL, &o, &e);

	if (!a)
		fail_msg("kube_authn_new: %s", e.msg);
	return a;
}

static void test_cache_allow_and_ttl(void **st)
{
	struct kube_authn *a = manual(16, 4, 60000);
	struct kube_authn_stats s;
	uint64_t t0 = 1000 * S_NS;
	(void)st;

	assert_int_equal(kube_authn_check_at(a, "tok", "/metrics", t0), KA_PENDING);
	assert_int_equal(kube_authn_check_at(a, "tok", "/metrics", t0 + 1), KA_PENDING);
	kube_authn_stats(a, &s);
	assert_int_equal(s.misses, 1); /* the second ask joined the queued review */
	assert_int_equal(s.pending, 1);
	assert_int_equal(kube_authn_record_at(a, "tok", "/metrics", KA_ALLOW, t0), 0);
	assert_int_equal(kube_authn_record_at(a, "tok", "/metrics", KA_ALLOW, t0), -ENOENT);
	assert_int_equal(kube_authn_check_at(a, "tok", "/metrics", t0 + 59 * S_NS), KA_ALLOW);
	/* another path is another question */
	assert_int_equal(kube_authn_check_at(a, "tok", "/api/v1/workloads", t0), KA_PENDING);
	/* another token too */
	assert_int_equal(kube_authn_check_at(a, "tok2", "/metrics", t0), KA_PENDING);
	/* expired: asked again */
	assert_int_equal(kube_authn_check_at(a, "tok", "/metrics", t0 + 61 * S_NS), KA_PENDING);
	kube_authn_stats(a, &s);
	assert_int_equal(s.hits, 1);
	assert_int_equal(s.misses, 4);
	assert_int_equal(s.allowed, 1);
	assert_int_equal(s.pending, 3);
	kube_authn_free(a);
}

static void test_cache_denials_short(void **st)
{
	struct kube_authn *a = manual(16, 4, 120000); /* deny TTL min(12 s, 10 s) = 10 s */
	uint64_t t0 = 5 * S_NS;
	(void)st;

	assert_int_equal(kube_authn_check_at(a, "x", "/metrics", t0), KA_PENDING);
	assert_int_equal(kube_authn_record_at(a, "x", "/metrics", KA_FORBIDDEN, t0), 0);
	assert_int_equal(kube_authn_check_at(a, "x", "/metrics", t0 + 9 * S_NS), KA_FORBIDDEN);
	assert_int_equal(kube_authn_check_at(a, "x", "/metrics", t0 + 11 * S_NS), KA_PENDING);
	assert_int_equal(kube_authn_record_at(a, "x", "/metrics", KA_UNAUTHENTICATED, t0), 0);
	assert_int_equal(kube_authn_check_at(a, "x", "/metrics", t0 + 9 * S_NS),
			 KA_UNAUTHENTICATED);
	/* a failed review is retried after a second */
	assert_int_equal(kube_authn_check_at(a, "y", "/metrics", t0), KA_PENDING);
	assert_int_equal(kube_authn_record_at(a, "y", "/metrics", KA_UNAVAILABLE, t0), 0);
	assert_int_equal(kube_authn_check_at(a, "y", "/metrics", t0 + S_NS / 2), KA_UNAVAILABLE);
	assert_int_equal(kube_authn_check_at(a, "y", "/metrics", t0 + 2 * S_NS), KA_PENDING);
	kube_authn_free(a);
}

static void test_no_token(void **st)
{
	struct kube_authn *a = manual(16, 4, 0);
	char *big = malloc(KA_TOKEN_MAX + 1);
	struct kube_authn_stats s;
	(void)st;

	memset(big, 'a', KA_TOKEN_MAX);
	big[KA_TOKEN_MAX] = '\0';
	assert_int_equal(kube_authn_check_at(a, NULL, "/metrics", 1), KA_UNAUTHENTICATED);
	assert_int_equal(kube_authn_check_at(a, "", "/metrics", 1), KA_UNAUTHENTICATED);
	assert_int_equal(kube_authn_check_at(a, big, "/metrics", 1), KA_UNAUTHENTICATED);
	kube_authn_stats(a, &s);
	assert_int_equal(s.misses, 0); /* nothing to review */
	free(big);
	kube_authn_free(a);
}

static void test_pending_bound(void **st)
{
	struct kube_authn *a = manual(8, 2, 0);
	struct kube_authn_stats s;
	(void)st;

	assert_int_equal(kube_authn_check_at(a, "a", "/metrics", 1), KA_PENDING);
	assert_int_equal(kube_authn_check_at(a, "b", "/metrics", 1), KA_PENDING);
	assert_int_equal(kube_authn_check_at(a, "c", "/metrics", 1), KA_UNAVAILABLE);
	assert_int_equal(kube_authn_check_at(a, "a", "/metrics", 2), KA_PENDING); /* queued */
	kube_authn_stats(a, &s);
	assert_int_equal(s.overloaded, 1);
	assert_int_equal(s.pending, 2);
	assert_int_equal(kube_authn_record_at(a, "a", "/metrics", KA_ALLOW, 3), 0);
	assert_int_equal(kube_authn_check_at(a, "c", "/metrics", 4), KA_PENDING); /* room again */
	kube_authn_free(a);
}

static void test_entries_bound_lru(void **st)
{
	struct kube_authn *a = manual(4, 2, 600000);
	struct kube_authn_stats s;
	char tok[16];
	(void)st;

	for (int i = 0; i < 4; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		assert_int_equal(kube_authn_check_at(a, tok, "/metrics", 10 + i), KA_PENDING);
		assert_int_equal(kube_authn_record_at(a, tok, "/metrics", KA_ALLOW, 10 + i), 0);
	}
	/* t0 used recently: t1 is now the least recently used */
	assert_int_equal(kube_authn_check_at(a, "t0", "/metrics", 100), KA_ALLOW);
	assert_int_equal(kube_authn_check_at(a, "t9", "/metrics", 101), KA_PENDING);
	kube_authn_stats(a, &s);
	assert_int_equal(s.entries, 4);
	assert_int_equal(s.evicted, 1);
	assert_int_equal(kube_authn_check_at(a, "t0", "/metrics", 102), KA_ALLOW);
	assert_int_equal(kube_authn_check_at(a, "t2", "/metrics", 103), KA_ALLOW);
	assert_int_equal(kube_authn_check_at(a, "t3", "/metrics", 104), KA_ALLOW);
	/* t1 was evicted: reviewed again; that evicts another one, never more than 4 */
	assert_int_equal(kube_authn_check_at(a, "t1", "/metrics", 105), KA_PENDING);
	kube_authn_stats(a, &s);
	assert_int_equal(s.entries, 4);
	assert_int_equal(s.evicted, 2);
	kube_authn_free(a);
}

static void test_run_once_without_api(void **st)
{
	struct kube_authn *a = manual(8, 2, 0);
	struct kube_authn_stats s;
	(void)st;

	assert_int_equal(kube_authn_run_once(a), 0);
	assert_int_equal(kube_authn_check(a, "tok", "/metrics"), KA_PENDING);
	assert_int_equal(kube_authn_run_once(a), 1);
	assert_int_equal(kube_authn_check(a, "tok", "/metrics"), KA_UNAVAILABLE);
	kube_authn_stats(a, &s);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.pending, 0);
	assert_non_null(strstr(s.last_error, "no API server"));
	kube_authn_free(a);
}

static void test_new_needs_config(void **st)
{
	struct kube_authn_opts o = { 0 };
	struct wl_err e = { "" };
	(void)st;

	assert_null(kube_authn_new(NULL, &o, &e));
	assert_non_null(strstr(e.msg, "no API config"));
	assert_string_equal(kube_authn_verdict_name(KA_FORBIDDEN), "forbidden");
}

WL_TEST_MAIN(
	cmocka_unit_test(test_tokenreview_body),
	cmocka_unit_test(test_parse_tokenreview_ok),
	cmocka_unit_test(test_parse_tokenreview_denied_and_bad),
	cmocka_unit_test(test_sar_body),
	cmocka_unit_test(test_parse_sar),
	cmocka_unit_test(test_cache_allow_and_ttl),
	cmocka_unit_test(test_cache_denials_short),
	cmocka_unit_test(test_no_token),
	cmocka_unit_test(test_pending_bound),
	cmocka_unit_test(test_entries_bound_lru),
	cmocka_unit_test(test_run_once_without_api),
	cmocka_unit_test(test_new_needs_config))
