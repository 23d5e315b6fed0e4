/* test_kube_watch.c - the line splitter and event parser on a recorded event stream
 * (fed in chunks of every size), then list+watch against a real local HTTPS server
 * whose scripted stream has: paged list, ADDED/MODIFIED/BOOKMARK/DELETED, a garbage
 * line, an ERROR 410 event, a 2 MiB line over the cap, HTTP 410, a truncated last
 * line, a 429 with Retry-After, and a stream that stays open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <string.h>

#include "agent/common/strbuf.h"
#include "agent/kube/kube_http.h"
#include "agent/kube/kube_lines.h"
#include "agent/kube/kube_watch.h"
#include "test/unit/fixture.h"
#include "test_kube_server.h"

/* ---- offline: splitter + parser ---------------------------------------------- */

struct rec {
	struct strbuf log; /* "TYPE rv code;" per line, "BAD;" for garbage, "BIG;" */
};

static int rec_line(const char *line, size_t len, void *ud)
{
	struct rec *r = ud;
	enum kube_ev_type t;
	json_t *obj;
	char rv[64];
	long code;
	if (kube_watch_parse_event(line, len, &t, &obj, rv, sizeof(rv), &code, NULL)) {
		strbuf_adds(&r->log, "BAD;");
		return 0;
	}
	strbuf_addf(&r->log, "%s %s %ld;", kube_ev_name(t), rv, code);
	json_decref(obj);
	return 0;
}

static int rec_big(size_t seen, void *ud)
{
	struct rec *r = ud;
	(void)seen;
	strbuf_adds(&r->log, "BIG;");
	return 0;
}

static const char *WANT = "ADDED 1001 0;MODIFIED 1002 0;BOOKMARK 1010 0;DELETED 1011 0;"
			  "ERROR  410;BAD;BAD;BAD;";

static void test_stream_fixture_chunks(void **st)
{
	size_t len;
	char *buf = fixture_slurp("kube", "watch_events.ndjson", 1 << 16, &len);
	(void)st;
	for (size_t chunk = 1; chunk <= len; chunk = chunk < 16 ? chunk + 1 : chunk * 3) {
		struct rec r;
		struct kube_lines l;
		strbuf_init(&r.log, 4096);
		kube_lines_init(&l, 4096, rec_line, rec_big, &r);
		for (size_t off = 0; off < len; off += chunk)
			assert_int_equal(kube_lines_feed(&l, buf + off,
							 off + chunk > len ? len - off : chunk), 0);
		if (strcmp(r.log.buf, WANT) != 0)
			fail_msg("chunk %zu: %s", chunk, r.log.buf);
		/* the truncated last line is reported, not parsed */
		assert_int_equal(kube_lines_finish(&l), 52);
		assert_int_equal(kube_lines_finish(&l), 0);
		kube_lines_release(&l);
		strbuf_release(&r.log);
	}
	free(buf);
}

static void test_line_cap(void **st)
{
	struct rec r;
	struct kube_lines l;
	char big[300];
	(void)st;
	memset(big, 'x', sizeof(big));
	strbuf_init(&r.log, 4096);
	kube_lines_init(&l, 100, rec_line, rec_big, &r);
	assert_int_equal(kube_lines_feed(&l, "{\"type\":\"ADDED\",\"object\":{}}\n", 30), 0);
	/* 300 bytes in pieces, then the newline: one BIG, no BAD, memory stays <= cap */
	for (int i = 0; i < 3; i++)
		assert_int_equal(kube_lines_feed(&l, big, 100), 0);
	assert_true(l.buf.alloc <= 101);
	{
		const char *t = "tail\n{\"type\":\"DELETED\",\"object\":{}}\n";
		assert_int_equal(kube_lines_feed(&l, t, strlen(t)), 0);
	}
	assert_string_equal(r.log.buf, "ADDED  0;BIG;DELETED  0;");
	/* exactly at the cap is fine */
	strbuf_reset(&r.log);
	{
		char line[101];
		memset(line, ' ', 100);
		memcpy(line, "{\"type\":\"ADDED\",\"object\":{}}", 28);
		line[100] = '\n';
		assert_int_equal(kube_lines_feed(&l, line, 101), 0);
	}
	assert_string_equal(r.log.buf, "ADDED  0;");
	kube_lines_release(&l);
	strbuf_release(&r.log);
}

static int parse(const char *s, enum kube_ev_type *t, json_t **o, long *code, struct wl_err *e)
{
	return kube_watch_parse_event(s, strlen(s), t, o, NULL, 0, code, e);
}

static void test_parse_event_errors(void **st)
{
	enum kube_ev_type t;
	json_t *o;
	long code;
	struct wl_err e = { { 0 } };
	(void)st;
	assert_int_equal(parse("{\"type\":\"ADDED\",\"object\":[]}", &t, &o, &code, &e), -EINVAL);
	assert_null(o);
	assert_int_equal(parse("{\"type\":\"X\",\"object\":{}}", &t, &o, &code, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "unknown watch event type"));
	assert_int_equal(parse("{\"type\":\"ADDED\"}", &t, &o, &code, &e), -EINVAL);
	assert_int_equal(parse("", &t, &o, &code, &e), -EINVAL);
	assert_int_equal(parse("{\"type\":\"ERROR\",\"object\":{\"code\":500}}", &t, &o, &code, &e), 0);
	assert_int_equal(t, KUBE_EV_ERROR);
	assert_int_equal(code, 500);
	json_decref(o);
}

/* ---- online: list + watch against tls_server.py ------------------------------ */


struct seen {
	struct strbuf log;
	int n;
	bool done;
};

static void on_ev(enum kube_ev_type t, json_t *obj, void *ud)
{
	struct seen *s = ud;
	const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	s->n++;
	if (t == KUBE_EV_BOOKMARK || !name)
		strbuf_addf(&s->log, "%s;", kube_ev_name(t));
	else
		strbuf_addf(&s->log, "%s %s;", kube_ev_name(t), name);
	if (name && strcmp(name, "w5") == 0)
		s->done = true;
}

static void test_list_watch_recovery(void **st)
{
	struct kube_config *c;
	struct kube_watch *w;
	struct kube_watch_opts o = { 0 };
	struct kube_watch_stats ws;
	struct seen s = { 0 };
	struct wl_err e = { { 0 } };
	struct kube_http *h;
	struct kube_resp r;
	uint64_t deadline;
	json_t *log, *it;
	size_t i;
	int nwatch = 0;
	static const char *want_rv[] = { "100", "106", "200", "200", "300", "301", "301" };
	(void)st;
	if (!have_server) {
		printf("skipped: openssl or python3 missing\n");
		skip();
	}
	c = tsrv_config(&S, NULL);
	assert_non_null(c);
	strbuf_init(&s.log, 8192);
	o.path = "/apis/test/v1/widgets";
	o.label_selector = "app in (a,b)";
	o.page_limit = 1;
	o.max_line = 64 * 1024;
	o.backoff_base_ms = 20;
	o.backoff_max_ms = 50;
	o.timeout_s = 60;
	o.cb = on_ev;
	o.ud = &s;
	w = kube_watch_new(c, &o, &e);
	assert_non_null(w);
	/* non-blocking: a zero timeout returns at once */
	{
		uint64_t t0 = mono_ns();
		assert_int_equal(kube_watch_service(w, 0), 0);
		assert_true(mono_ns() - t0 < 200000000ull);
	}
	deadline = mono_ns() + 20000000000ull; /* safety net only */
	while (!s.done && mono_ns() < deadline)
		assert_int_equal(kube_watch_service(w, 100), 0);
	kube_watch_stats(w, &ws);
	if (!s.done)
		fail_msg("no w5 event; seen: %s; last error: %s", s.log.buf, ws.last_error);
	assert_string_equal(s.log.buf,
			    "SYNC_BEGIN;ADDED w1;ADDED w2;SYNC_END;"  /* paged list */
			    "ADDED w3;MODIFIED w1;BOOKMARK;DELETED w2;" /* then garbage line */
			    "SYNC_BEGIN;ADDED w1;ADDED w3;SYNC_END;"   /* after ERROR 410 */
			    "SYNC_BEGIN;ADDED w1;SYNC_END;"	      /* after huge line + HTTP 410 */
			    "ADDED w4;"				      /* then truncated line, 429 */
			    "ADDED w5;");
	assert_string_equal(ws.resource_version, "302");
	assert_int_equal(ws.gone, 2);
	assert_int_equal(ws.bad_lines, 1);
	assert_int_equal(ws.oversized, 1);
	assert_int_equal(ws.truncated, 1);
	assert_int_equal(ws.bookmarks, 1);
	assert_int_equal(ws.lists, 4);
	assert_int_equal(ws.watches, 7);
	assert_true(ws.synced);
	kube_watch_free(w);

	/* what did the client send? */
	h = kube_http_new(c, NULL, &e);
	assert_int_equal(kube_http_request(h, "GET", "/__log", NULL, NULL, &r, &e), 0);
	log = json_loadb(r.body, r.len, 0, NULL);
	assert_non_null(log);
	json_array_foreach(json_object_get(log, "log"), i, it) {
		json_t *q = json_object_get(it, "query");
		const char *watch = json_string_value(json_object_get(q, "watch"));
		if (strcmp(json_string_value(json_object_get(it, "path")), "/apis/test/v1/widgets"))
			continue;
		assert_string_equal(json_string_value(json_object_get(it, "auth")), "Bearer t0k3n");
		assert_string_equal(json_string_value(json_object_get(q, "labelSelector")),
				    "app in (a,b)");
		if (!watch) {
			assert_string_equal(json_string_value(json_object_get(q, "limit")), "1");
			continue;
		}
		assert_string_equal(json_string_value(json_object_get(q, "allowWatchBookmarks")),
				    "true");
		assert_true(nwatch < 7);
		assert_string_equal(json_string_value(json_object_get(q, "resourceVersion")),
				    want_rv[nwatch]);
		{
			int t = atoi(json_string_value(json_object_get(q, "timeoutSeconds")));
			assert_true(t >= 60 && t <= 90);
		}
		nwatch++;
	}
	assert_int_equal(nwatch, 7);
	json_decref(log);
	kube_resp_release(&r);
	kube_http_free(h);
	strbuf_release(&s.log);
	kube_config_free(c);
}

static void test_unreachable_backs_off(void **st)
{
	struct kube_config *c;
	struct kube_watch *w;
	struct kube_watch_opts o = { 0 };
	struct kube_watch_stats ws;
	struct wl_err e = { { 0 } };
	uint64_t t0;
	(void)st;
	if (!have_server) {
		printf("skipped: openssl or python3 missing\n");
		skip();
	}
	c = tsrv_config(&S, "wrongca"); /* TLS must fail: nothing is delivered */
	o.path = "/apis/test/v1/widgets";
	o.backoff_base_ms = 100;
	o.backoff_max_ms = 400;
	w = kube_watch_new(c, &o, &e);
	t0 = mono_ns();
	while (mono_ns() - t0 < 1000000000ull)
		assert_int_equal(kube_watch_service(w, 50), 0);
	kube_watch_stats(w, &ws);
	assert_false(ws.synced);
	assert_non_null(strstr(ws.last_error, "not trusted"));
	/* backoff: 50-100, 100-200, 200-400, 200-400 ms ... -> a handful of tries in 1 s */
	assert_true(ws.lists >= 2 && ws.lists <= 6);
	assert_int_equal(ws.events, 0);
	kube_watch_free(w);
	kube_config_free(c);
}

WL_TEST_MAIN_GROUP(tsrv_group_setup, tsrv_group_teardown,
	cmocka_unit_test(test_stream_fixture_chunks),
	cmocka_unit_test(test_line_cap),
	cmocka_unit_test(test_parse_event_errors),
	cmocka_unit_test(test_list_watch_recovery),
	cmocka_unit_test(test_unreachable_backs_off))
