/* test_metrics_lean.c - the lean /metrics series (the default), metrics.detail, the
 * per-tick metrics cache (renders counted, scheduling with an injected clock), gzip
 * (inflated again and compared) and the HTTP server's Accept-Encoding handling against
 * a real client (libcurl in a thread). */
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
#include <zlib.h>

#include "agent/config/config.h"
#include "agent/export/export.h"
#include "agent/export/http.h"
#include "test/unit/fixture_http.h"
#include "test/unit/testmain.h"
#include "test/unit/fixture_prom.h"
#include "test/unit/fixture_text.h"
#include "agent/export/metrics_cache.h"

#define UID1 "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define UID1_SD "0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0"
#define UID2 "7a6b5c4d-1111-2222-3333-444455556666"
#define CID_A "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
#define CID_A2 "aaaaaaaaaaaa2222222222222222222222222222222222222222222222222222" /* same 12 */
#define CID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CID_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define CID_D "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

#define POD_DIR "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID1_SD ".slice"
#define KEY_A POD_DIR "/cri-containerd-" CID_A ".scope"
#define KEY_A2 POD_DIR "/cri-containerd-" CID_A2 ".scope"    /* a restart of the same container */
#define KEY_B POD_DIR "/crio-" CID_B ".scope"
#define KEY_B_CONMON POD_DIR "/crio-conmon-" CID_B ".scope"
#define KEY_POD POD_DIR
#define KEY_DOCKER "/system.slice/docker-" CID_C ".scope" /* no Kubernetes names */
#define KEY_SVC "/system.slice/sshd.service"
#define KEY_WEIRD "/system.slice/we\"ird\xff.service"
#define KEY_D POD_DIR "/cri-containerd-" CID_D ".scope"

static struct ledger_row *row(struct ledger *l, const char *key, uint64_t base)
{
	struct ledger_row *r = ledger_row_get(l, key);

	assert_non_null(r);
	for (int z = 0; z < ZONE_COUNT; z++) {
		r->uj[z][MODE_DYNAMIC] = base + (uint64_t)z * 10;
		r->uj[z][MODE_IDLE] = base / 2 + (uint64_t)z;
		r->watts[z][MODE_DYNAMIC] = 1.5;
		r->watts[z][MODE_IDLE] = 0.5;
	}
	r->cpu_ns = base;
	return r;
}

static int setup(void **state)
{
	struct prom_fixture *f = prom_fixture_new();
	struct ledger_row *r;

	f->pods = ledger_new(3600ull * 1000000000ull);
	assert_non_null(f->pods);
	/* every zone measured: lean shows package, dram, platform, gpu (not core, uncore) */
	ledger_node(f->l)->zone_mask = (1u << ZONE_COUNT) - 1;
	ledger_begin_tick(f->l);
	row(f->l, LEDGER_SYSTEM_KEY, 1000000);
	r = row(f->l, KEY_A, 2000000);
	assert_int_equal(ledger_row_set_names(r, "shop", "web-0", "nginx"), 0);
	r = row(f->l, KEY_A2, 3000000);
	assert_int_equal(ledger_row_set_names(r, "shop", "web-0", "nginx"), 0);
	r = row(f->l, KEY_B, 4000000);
	assert_int_equal(ledger_row_set_names(r, "shop", "web-0", "sidecar"), 0);
	r = row(f->l, KEY_B_CONMON, 5000);
	assert_int_equal(ledger_row_set_names(r, "shop", "web-0", "sidecar"), 0);
	r = row(f->l, KEY_POD, 6000);
	assert_int_equal(ledger_row_set_names(r, "shop", "web-0", NULL), 0);
	row(f->l, KEY_DOCKER, 7000000);
	row(f->l, KEY_SVC, 8000000);
	row(f->l, KEY_WEIRD, 9);
	ledger_commit_tick(f->l, 1000000000ull);

	ledger_begin_tick(f->pods);
	r = row(f->pods, UID1, 6000000);
	assert_int_equal(ledger_row_set_names(r, "shop", "web-0", NULL), 0);
	r->co2e_g = 0.25;
	r = row(f->pods, UID2, 10); /* no names yet, no carbon intensity */
	ledger_commit_tick(f->pods, 1000000000ull);

	prom_status_init(&f->st, "v2");
	f->st.ticks = 1;
	f->st.pods = f->pods;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	return prom_fixture_teardown(state);
}

static const struct export_metrics_opts lean = { 0 };

static void test_lean_lines(void **state)
{
	struct prom_fixture *f = *state;
	const char *t;

	assert_int_equal(export_metrics_render(f->l, &f->st, &lean, &f->out), 0);
	t = f->out.buf;
	/* dynamic + idle, exact: 2000000 + 20 + 1000000 + 1 µJ for dram (zone 3) */
	prom_assert_line(t, "wattlet_workload_joules_total{workload=\"" CID_A "\",namespace=\"shop\","
		       "pod=\"web-0\",container=\"nginx\",zone=\"package\"} 3.000000");
	prom_assert_line(t, "wattlet_workload_joules_total{workload=\"" CID_A2 "\",namespace=\"shop\","
		       "pod=\"web-0\",container=\"nginx\",zone=\"dram\"} 4.500033");
	/* a distinct id keeps its 12 digits; the conmon cgroup says so */
	prom_assert_line(t, "wattlet_workload_cpu_seconds_total{workload=\"bbbbbbbbbbbb\","
		       "namespace=\"shop\",pod=\"web-0\",container=\"sidecar\"} 0.004000000");
	prom_assert_line(t, "wattlet_workload_cpu_seconds_total{workload=\"conmon-bbbbbbbbbbbb\","
		       "namespace=\"shop\",pod=\"web-0\",container=\"sidecar\"} 0.000005000");
	prom_assert_line(t, "wattlet_workload_cpu_seconds_total{workload=\"pod-0f1e2d3c\","
		       "namespace=\"shop\",pod=\"web-0\"} 0.000006000");
	prom_assert_line(t, "wattlet_workload_cpu_seconds_total{workload=\"cccccccccccc\"} 0.007000000");
	prom_assert_line(t, "wattlet_workload_cpu_seconds_total{workload=\"" KEY_SVC "\"} 0.008000000");
	prom_assert_line(t, "wattlet_workload_joules_total{workload=\"system\",zone=\"gpu\"} 1.500055");
	/* the UTF-8 escaping of names is kept: an invalid byte is the text \xff */
	prom_assert_line(t, "wattlet_workload_cpu_seconds_total{workload=\"/system.slice/we\\\"ird"
		       "\\\\xff.service\"} 0.000000009");
	/* pods: uid prefix; CO2e only where there is some */
	prom_assert_line(t, "wattlet_pod_joules_total{uid=\"0f1e2d3c\",namespace=\"shop\",pod=\"web-0\","
		       "zone=\"platform\"} 9.000044");
	prom_assert_line(t, "wattlet_pod_joules_total{uid=\"7a6b5c4d\",zone=\"package\"} 0.000015");
	prom_assert_line(t, "wattlet_pod_co2e_grams_total{uid=\"0f1e2d3c\",namespace=\"shop\","
		       "pod=\"web-0\"} 0.250000");
	assert_int_equal(prom_count_samples(t, "wattlet_pod_co2e_grams_total{"), 1);
	/* nothing of detail mode */
	/* only the node's series have modes (6 zones x 2 modes x joules, watts) and the
	 * nested zones (those 4 + idle watts, feature, estimated) */
	assert_int_equal(prom_count_samples(t, ",mode=\""), 24);
	assert_int_equal(prom_count_samples(t, "zone=\"core\""), 7);
	assert_int_equal(prom_count_samples(t, "zone=\"uncore\""), 7);
	assert_text_lacks(t, "wattlet_workload_watts", "wattlet_pod_watts",
			  "wattlet_pod_cpu_seconds_total", "container_id=", "pod_uid=", "kubepods",
			  UID1);
	/* node series unchanged */
	prom_assert_line(t, "wattlet_node_joules_total{zone=\"core\",mode=\"idle\"} 0.000000");
	prom_assert_line(t, "wattlet_agent_workloads 8");
	assert_null(strstr(t, "wattlet_agent_metrics_renders_total")); /* not from the cache */
	prom_assert_no_duplicates(t);
	prom_promtool_check(t);

	f->st.metrics_cached = true;
	f->st.metrics_renders_tick = 3;
	f->st.metrics_renders_scrape = 4;
	strbuf_reset(&f->out);
	assert_int_equal(export_metrics_render(f->l, &f->st, &lean, &f->out), 0);
	prom_assert_line(f->out.buf, "wattlet_agent_metrics_renders_total{trigger=\"tick\"} 3");
	prom_assert_line(f->out.buf, "wattlet_agent_metrics_renders_total{trigger=\"scrape\"} 4");
	prom_promtool_check(f->out.buf);
}

/* At most 5 series per container, pod and workload with every zone measured. */
static void test_lean_series_per_workload(void **state)
{
	struct prom_fixture *f = *state;
	static const char *const ids[] = { "workload=\"" CID_A "\"", "workload=\"bbbbbbbbbbbb\"",
					   "workload=\"pod-0f1e2d3c\"", "workload=\"cccccccccccc\"",
					   "workload=\"system\"", "uid=\"0f1e2d3c\"",
					   "uid=\"7a6b5c4d\"" };

	assert_int_equal(export_metrics_render(f->l, &f->st, &lean, &f->out), 0);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		size_t n = prom_count_samples(f->out.buf, ids[i]);
		assert_true(n >= 4);
		assert_true(n <= 5);
	}
	assert_int_equal(prom_count_samples(f->out.buf, "workload=\"" CID_A "\""), 5);
	/* detail shows 6 zones x 2 modes x (joules, watts) + CPU = 25 for the same row */
	struct export_metrics_opts d = { .detail = true };
	strbuf_reset(&f->out);
	assert_int_equal(export_metrics_render(f->l, &f->st, &d, &f->out), 0);
	assert_int_equal(prom_count_samples(f->out.buf, "container_id=\"" CID_A "\""), 25);
}

/* Ids stay unique when a new row's short id collides with a row's that already has
 * one, and when the full ids collide (a cgroup nested inside a container's). */
static void test_lean_unique_ids(void **state)
{
	struct prom_fixture *f = *state;
	const char *t;

	ledger_begin_tick(f->l);
	row(f->l, KEY_D, 1);
	row(f->l, KEY_D "/nested", 2); /* the same container id, parsed from the path */
	ledger_commit_tick(f->l, 2000000000ull);
	assert_int_equal(export_metrics_render(f->l, &f->st, &lean, &f->out), 0);
	t = f->out.buf;
	assert_int_equal(prom_count_samples(t, "workload=\"" KEY_D "\""), 5);
	assert_int_equal(prom_count_samples(t, "workload=\"" KEY_D "/nested\""), 5);
	assert_int_equal(prom_count_samples(t, "workload=\"dddddddddddd\""), 0);
	prom_assert_no_duplicates(t);
	prom_promtool_check(t);
}

static void test_detail_unchanged(void **state)
{
	struct prom_fixture *f = *state;
	struct export_metrics_opts d = { .detail = true, .kepler_compat = true };
	struct strbuf old;

	strbuf_init(&old, 16u << 20);
	assert_int_equal(export_metrics(f->l, &f->st, true, &old), 0);
	assert_int_equal(export_metrics_render(f->l, &f->st, &d, &f->out), 0);
	assert_int_equal(old.len, f->out.len);
	assert_memory_equal(old.buf, f->out.buf, old.len);
	prom_assert_line(f->out.buf, "wattlet_workload_watts{workload=\"" KEY_A "\",kind=\"container\","
				"container_id=\"" CID_A "\",runtime=\"containerd\",pod_uid=\"" UID1
				"\",namespace=\"shop\",pod=\"web-0\",container=\"nginx\","
				"zone=\"core\",mode=\"idle\"} 0.500000");
	prom_assert_no_duplicates(f->out.buf);
	strbuf_release(&old);
}

static void test_no_workloads_and_kepler(void **state)
{
	struct prom_fixture *f = *state;
	struct export_metrics_opts o = { .no_workloads = true, .kepler_compat = true };

	assert_int_equal(export_metrics_render(f->l, &f->st, &o, &f->out), 0);
	assert_null(strstr(f->out.buf, "wattlet_workload_"));
	assert_null(strstr(f->out.buf, "wattlet_pod_"));
	assert_null(strstr(f->out.buf, "kepler_container_"));
	assert_non_null(strstr(f->out.buf, "kepler_node_cpu_joules_total{"));
	prom_assert_line(f->out.buf, "wattlet_agent_workloads 8");
	/* Kepler names with lean native series */
	o.no_workloads = false;
	strbuf_reset(&f->out);
	assert_int_equal(export_metrics_render(f->l, &f->st, &o, &f->out), 0);
	assert_non_null(strstr(f->out.buf, "kepler_container_cpu_joules_total{container_id=\"" CID_A));
	assert_int_equal(prom_count_samples(f->out.buf, ",mode=\""), 24); /* the node's only */
	prom_assert_no_duplicates(f->out.buf);
	prom_promtool_check(f->out.buf);
}

/* ---- gzip ------------------------------------------------------------------ */

static void inflate_all(const char *in, size_t n, struct strbuf *out)
{
	z_stream zs;
	char buf[65536];
	int rc;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK); /* gzip only */
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = (Bytef *)buf;
		zs.avail_out = sizeof(buf);
		rc = inflate(&zs, Z_NO_FLUSH);
		assert_true(rc == Z_OK || rc == Z_STREAM_END);
		assert_int_equal(strbuf_add(out, buf, sizeof(buf) - zs.avail_out), 0);
	} while (rc != Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);
	inflateEnd(&zs);
}

static void test_gzip_roundtrip(void **state)
{
	struct prom_fixture *f = *state;
	char *gz = NULL;
	size_t alloc = 0, len = 0;
	struct strbuf back;

	assert_int_equal(export_metrics_render(f->l, &f->st, &lean, &f->out), 0);
	strbuf_init(&back, 64u << 20);
	for (int level = 1; level <= 9; level += 8) {
		assert_int_equal(metrics_gzip(f->out.buf, f->out.len, level, &gz, &alloc, &len), 0);
		assert_true(len > 18 && len < f->out.len);
		assert_int_equal((unsigned char)gz[0], 0x1f); /* gzip magic */
		assert_int_equal((unsigned char)gz[1], 0x8b);
		strbuf_reset(&back);
		inflate_all(gz, len, &back);
		assert_int_equal(back.len, f->out.len);
		assert_memory_equal(back.buf, f->out.buf, back.len);
	}
	/* empty input is a valid, empty gzip member */
	assert_int_equal(metrics_gzip("", 0, 1, &gz, &alloc, &len), 0);
	strbuf_reset(&back);
	inflate_all(gz, len, &back);
	assert_int_equal(back.len, 0);
	assert_int_equal(metrics_gzip("x", 1, 0, &gz, &alloc, &len), -EINVAL);
	free(gz);
	strbuf_release(&back);
}

/* ---- the cache --------------------------------------------------------------- */

#define S(x) ((uint64_t)((x) * 1e9))

static int prepares;
static void count_prepare(void *ctx)
{
	(void)ctx;
	prepares++;
}

static struct metrics_cache *new_cache(void)
{
	struct metrics_cache_opts o = { .tick_ns = S(1), .before_render = count_prepare };
	struct wl_err err = { "" };
	struct metrics_cache *c = metrics_cache_new(&o, &err);

	assert_non_null(c);
	prepares = 0;
	return c;
}

static void serve(struct metrics_cache *c, struct prom_fixture *f, bool gz, uint64_t now,
		  struct strbuf *body)
{
	const char *enc = "unset";

	strbuf_reset(body);
	assert_int_equal(metrics_cache_serve(c, f->l, &f->st, gz, now, body, &enc), 0);
	if (gz)
		assert_string_equal(enc, "gzip");
	else
		assert_null(enc);
}

static void test_cache_renders_once_per_tick(void **state)
{
	struct prom_fixture *f = *state;
	struct metrics_cache *c = new_cache();
	struct metrics_cache_stats st;
	struct strbuf a, b, plain;

	strbuf_init(&a, 64u << 20);
	strbuf_init(&b, 64u << 20);
	strbuf_init(&plain, 64u << 20);
	serve(c, f, false, S(0.1), &a);
	serve(c, f, false, S(0.2), &b); /* same tick: a copy */
	metrics_cache_get_stats(c, &st);
	assert_int_equal(st.renders, 1);
	assert_int_equal(st.renders_lazy, 1);
	assert_int_equal(prepares, 1);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.buf, b.buf, a.len);
	assert_int_equal(export_metrics_render(f->l, &f->st, &lean, &f->out), 0);
	assert_int_equal(f->out.len, a.len); /* the default opts: lean */
	assert_memory_equal(f->out.buf, a.buf, a.len);

	serve(c, f, true, S(0.3), &b);
	serve(c, f, true, S(0.4), &b);
	metrics_cache_get_stats(c, &st);
	assert_int_equal(st.renders, 1);
	assert_int_equal(st.compressions, 1);
	assert_int_equal(st.serves, 4);
	assert_int_equal(st.serves_gzip, 2);
	assert_int_equal(st.gzip_bytes, b.len);
	inflate_all(b.buf, b.len, &plain);
	assert_int_equal(plain.len, a.len);
	assert_memory_equal(plain.buf, a.buf, a.len);

	/* the ledger changes at a tick: the next scrape shows it */
	f->st.ticks = 2;
	ledger_begin_tick(f->l);
	row(f->l, KEY_SVC, 8000000)->cpu_ns = 123456789000ull;
	ledger_commit_tick(f->l, 2000000000ull);
	metrics_cache_tick(c, f->l, &f->st, S(1.0));
	serve(c, f, false, S(1.1), &a);
	assert_non_null(strstr(a.buf, "wattlet_workload_cpu_seconds_total{workload=\"" KEY_SVC
				      "\"} 123.456789000\n"));
	metrics_cache_get_stats(c, &st);
	assert_int_equal(st.renders, 2);
	metrics_cache_free(c);
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&plain);
}

/* A scraper every 15 s with 1 s ticks: the tick just before a scrape renders (gzip
 * too), the others do not; a scrape then costs no render; when it stops, rendering
 * stops. */
static void test_cache_schedule(void **state)
{
	struct prom_fixture *f = *state;
	struct metrics_cache *c = new_cache();
	struct metrics_cache_stats st;
	struct strbuf b;
	int tick_renders = 0;

	strbuf_init(&b, 64u << 20);
	assert_int_equal(metrics_cache_tick(c, f->l, &f->st, S(0.5)), 0); /* no scraper yet */
	serve(c, f, true, S(10.2), &b);
	for (int t = 11; t <= 24; t++) /* interval unknown yet: no tick renders */
		assert_int_equal(metrics_cache_tick(c, f->l, &f->st, S(t)), 0);
	serve(c, f, true, S(25.2), &b); /* lazy; interval now 15 s */
	metrics_cache_get_stats(c, &st);
	assert_int_equal(st.renders_lazy, 2);
	assert_int_equal(st.interval_ns, S(15));
	for (int t = 26; t <= 40; t++) {
		int rc = metrics_cache_tick(c, f->l, &f->st, S(t));
		assert_true(rc == 0 || rc == 1);
		tick_renders += rc;
		/* next scrape expected at 40.2: render within 1.5 ticks before it */
		assert_int_equal(rc, t >= 39 ? 1 : 0);
	}
	serve(c, f, true, S(40.2), &b);
	metrics_cache_get_stats(c, &st);
	assert_int_equal(tick_renders, 2);
	assert_int_equal(st.renders, 4);
	assert_int_equal(st.renders_lazy, 2); /* the scrape found a fresh buffer */
	assert_int_equal(st.compressions, 4); /* made at the tick: the scraper wants gzip */
	/* the scraper stops: renders while one interval overdue (to 70.2), then never */
	tick_renders = 0;
	for (int t = 41; t <= 200; t++)
		tick_renders += metrics_cache_tick(c, f->l, &f->st, S(t));
	assert_int_equal(tick_renders, 1 + 1 + 15); /* 54, 55 and 56..70 */
	metrics_cache_free(c);
	strbuf_release(&b);
}

/* Faster than the tick (2 scrapes per tick): every tick renders, scrapes copy. */
static void test_cache_fast_scraper(void **state)
{
	struct prom_fixture *f = *state;
	struct metrics_cache *c = new_cache();
	struct metrics_cache_stats st;
	struct strbuf b;

	strbuf_init(&b, 64u << 20);
	serve(c, f, false, S(0.2), &b);
	serve(c, f, false, S(0.7), &b);
	for (int t = 1; t <= 10; t++) {
		assert_int_equal(metrics_cache_tick(c, f->l, &f->st, S(t)), 1);
		serve(c, f, false, S(t + 0.2), &b);
		serve(c, f, false, S(t + 0.7), &b);
	}
	metrics_cache_get_stats(c, &st);
	assert_int_equal(st.renders, 11);
	assert_int_equal(st.renders_lazy, 1);
	assert_int_equal(st.serves, 22);
	metrics_cache_free(c);
	strbuf_release(&b);
}

static void test_cache_errors(void **state)
{
	struct prom_fixture *f = *state;
	struct metrics_cache_opts o = { .tick_ns = 0 };
	struct wl_err err = { "" };
	struct metrics_cache *c;
	struct strbuf small;
	const char *enc = "x";

	assert_null(metrics_cache_new(&o, &err));
	assert_non_null(strstr(err.msg, "tick"));
	c = new_cache();
	strbuf_init(&small, 100); /* too small for the text */
	assert_int_equal(metrics_cache_serve(c, f->l, &f->st, false, S(1), &small, &enc), -E2BIG);
	assert_null(enc);
	assert_int_equal(metrics_cache_serve(NULL, f->l, &f->st, false, S(1), &small, &enc), -EINVAL);
	strbuf_release(&small);
	metrics_cache_free(c);
	metrics_cache_free(NULL);
}

/* ---- configuration ------------------------------------------------------------ */

static void test_config_detail(void **state)
{
	struct config c;
	struct wl_err e = { "" };
	(void)state;

	config_defaults(&c);
	assert_false(c.metrics_detail);
	assert_int_equal(config_set(&c, "metrics.detail", "true", &e), 0);
	assert_true(c.metrics_detail);
	assert_true(config_set(&c, "metrics.detail", "sometimes", &e) < 0);
	assert_non_null(strstr(e.msg, "metrics.detail"));
	assert_true(c.metrics_detail); /* unchanged */
}

/* ---- HTTP: Accept-Encoding and Content-Encoding ------------------------------ */

struct gz_handler {
	struct http_server *s;
	int asked;
};

static int gz_handler_fn(void *ctx, const char *path, struct strbuf *body, const char **ctype)
{
	struct gz_handler *h = ctx;
	char *gz = NULL;
	size_t alloc = 0, len = 0;

	(void)path;
	*ctype = "text/plain; version=0.0.4; charset=utf-8";
	if (!http_request_accepts_gzip(h->s)) {
		strbuf_adds(body, "wattlet_up 1\n");
		return 200;
	}
	h->asked++;
	if (metrics_gzip("wattlet_up 1\n", 13, 1, &gz, &alloc, &len) == 0) {
		strbuf_add(body, gz, len);
		http_response_set_encoding(h->s, "gzip");
	}
	free(gz);
	return 200;
}

/* GET /metrics from s with Accept-Encoding: accept (NULL: no such header). */
static void request(struct http_server *s, struct http_client *r, const char *accept)
{
	http_client_prepare(r, "http://127.0.0.1:%d/metrics", http_server_port(s));
	if (accept)
		snprintf(r->header, sizeof(r->header), "Accept-Encoding: %s", accept);
	http_client_run(s, r);
	assert_int_equal(r->rc, CURLE_OK);
}

static void test_http_gzip(void **state)
{
	static const struct {
		const char *accept;
		bool gzip;
	} cases[] = {
		{ NULL, false },
		{ "gzip", true },
		{ "identity", false },
		{ "deflate, gzip;q=0.5", true },
		{ "gzip;q=0", false },
		{ "GZIP ; Q=0.001", true },
		{ "*", true },
		{ "*;q=0", false },
		{ "gzip;q=0, *", false },
		{ "x-gzip", true },
		{ "gzipx, br", false },
	};
	struct gz_handler h = { 0 };
	struct wl_err err = { "" };
	struct http_client r = { 0 };
	struct strbuf plain;
	(void)state;

	h.s = http_server_new("127.0.0.1:0", gz_handler_fn, &h, &err);
	assert_non_null(h.s);
	assert_false(http_request_accepts_gzip(h.s)); /* outside a handler */
	strbuf_init(&plain, 1u << 20);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		request(h.s, &r, cases[i].accept);
		print_message("Accept-Encoding %s\n", cases[i].accept ? cases[i].accept : "(none)");
		assert_non_null(strcasestr(r.headers, "vary: Accept-Encoding"));
		if (cases[i].gzip) {
			assert_non_null(strcasestr(r.headers, "content-encoding: gzip"));
			strbuf_reset(&plain);
			inflate_all(r.body.buf, r.body.len, &plain);
			assert_string_equal(plain.buf, "wattlet_up 1\n");
		} else {
			assert_null(strcasestr(r.headers, "content-encoding"));
			assert_string_equal(r.body.buf, "wattlet_up 1\n");
		}
		strbuf_release(&r.body);
	}
	strbuf_release(&plain);
	http_server_free(h.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		WL_TEST_FIXTURE(test_lean_lines),
		WL_TEST_FIXTURE(test_lean_series_per_workload),
		WL_TEST_FIXTURE(test_lean_unique_ids),
		WL_TEST_FIXTURE(test_detail_unchanged),
		WL_TEST_FIXTURE(test_no_workloads_and_kepler),
		WL_TEST_FIXTURE(test_gzip_roundtrip),
		WL_TEST_FIXTURE(test_cache_renders_once_per_tick),
		WL_TEST_FIXTURE(test_cache_schedule),
		WL_TEST_FIXTURE(test_cache_fast_scraper),
		WL_TEST_FIXTURE(test_cache_errors),
		cmocka_unit_test(test_config_detail),
		cmocka_unit_test(test_http_gzip),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
