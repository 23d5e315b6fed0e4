/* test_ui.c - the /ui frame (agent/export/ui.c) against /api/v1/workloads (json.c): the
 * same rows in the same order with the same numbers, the row cap, the node's zones split
 * into idle and dynamic, the history ring (newest last, bounded), the embedded page. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture_text.h"
#include "testmain.h"

#include "agent/common/strbuf.h"
#include "agent/config/config.h"
#include "agent/export/export.h"
#include "agent/export/ui.h"
#include "agent/ledger/ledger.h"

static struct agent_status status_for(uint64_t ticks)
{
	struct agent_status s;

	memset(&s, 0, sizeof(s));
	s.version = "test";
	s.node_name = "node-a";
	s.meter = "powercap";
	s.energy_source = "meter";
	s.usage_source = "cgroup";
	s.cgroup_mode = "v2";
	s.tick_interval_s = 1;
	s.ticks = ticks;
	return s;
}

/* n rows with package watts spread so that some tie (same watts: key order decides) */
static struct ledger *ledger_with(unsigned n)
{
	struct ledger *l = ledger_new(3600ull * 1000000000ull);
	struct ledger_node *node;
	char key[64];

	assert_non_null(l);
	ledger_begin_tick(l);
	for (unsigned i = 0; i < n; i++) {
		struct ledger_row *r;
		snprintf(key, sizeof(key), "/kubepods/row%03u", i);
		r = ledger_row_get(l, key);
		assert_non_null(r);
		r->watts[ZONE_PACKAGE][MODE_DYNAMIC] = (double)((i * 7) % 13) + 0.125;
		r->watts[ZONE_PACKAGE][MODE_IDLE] = 0.5;
		r->watts[ZONE_DRAM][MODE_DYNAMIC] = 0.25;
		r->cpu_cores = 0.01 * i;
		if (i % 3 == 0)
			assert_int_equal(ledger_row_set_names(r, "ns", key + 10, "ctr"), 0);
	}
	ledger_commit_tick(l, 1000000000ull);
	node = ledger_node(l);
	node->zone_mask = (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM);
	node->watts[ZONE_PACKAGE][MODE_IDLE] = 30;
	node->watts[ZONE_PACKAGE][MODE_DYNAMIC] = 12.5;
	node->watts[ZONE_DRAM][MODE_IDLE] = 3;
	node->watts[ZONE_DRAM][MODE_DYNAMIC] = 1.25;
	return l;
}

static json_t *parse(const char *text, size_t len)
{
	json_error_t e;
	json_t *j = json_loadb(text, len, 0, &e);

	if (!j)
		fail_msg("not JSON: %s: %.*s", e.text, (int)(len > 200 ? 200 : len), text);
	return j;
}

static void test_rows_match_api(void **state)
{
	struct ledger *l = ledger_with(50);
	struct agent_status s = status_for(7);
	struct wl_err err = {{0}};
	struct ui_frame *u = ui_frame_new(20, &err);
	struct strbuf api;
	json_t *f, *a, *fw, *aw;
	const char *text;
	size_t len;
	(void)state;

	assert_non_null(u);
	assert_int_equal(ui_frame_render(u, l, &s), 0);
	text = ui_frame_text(u, &len);
	f = parse(text, len);
	strbuf_init(&api, 1u << 20);
	assert_int_equal(export_json_workloads(l, &s, &api), 0);
	a = parse(api.buf, api.len);

	assert_string_equal(json_string_value(json_object_get(f, "type")), "tick");
	assert_int_equal(json_integer_value(json_object_get(f, "tick")),
			 json_integer_value(json_object_get(json_object_get(a, "agent"), "ticks")));
	assert_int_equal(json_integer_value(json_object_get(f, "workloads_total")), 50);
	fw = json_object_get(f, "workloads");
	aw = json_object_get(a, "workloads");
	assert_int_equal(json_array_size(fw), 20);
	for (size_t i = 0; i < 20; i++) {
		json_t *x = json_array_get(fw, i), *y = json_array_get(aw, i);
		assert_string_equal(json_string_value(json_object_get(x, "workload")),
				    json_string_value(json_object_get(y, "workload")));
		/* printed the same way: equal as numbers, not only close */
		assert_true(json_real_value(json_object_get(x, "watts")) ==
			    json_real_value(json_object_get(y, "watts")));
		assert_true(json_real_value(json_object_get(x, "watts_dynamic")) ==
			    json_real_value(json_object_get(y, "watts_dynamic")));
		assert_string_equal(json_string_value(json_object_get(x, "namespace")),
				    json_string_value(json_object_get(y, "namespace")));
	}
	/* node: total and the zones split into idle and dynamic */
	assert_true(json_real_value(json_object_get(json_object_get(f, "node"), "watts")) ==
		    json_real_value(json_object_get(json_object_get(a, "node"), "watts")));
	{
		json_t *z = json_object_get(json_object_get(f, "node"), "zones");
		assert_int_equal(json_array_size(z), 2);
		assert_string_equal(json_string_value(json_object_get(json_array_get(z, 0), "zone")),
				    "package");
		assert_true(json_real_value(json_object_get(json_array_get(z, 0), "idle")) == 30.0);
		assert_true(json_real_value(json_object_get(json_array_get(z, 0), "dynamic")) == 12.5);
	}
	json_decref(f);
	json_decref(a);
	strbuf_release(&api);
	ui_frame_free(u);
	ledger_free(l);
}

/* Fewer rows than the cap: all of them; one row: the busiest */
static void test_row_cap(void **state)
{
	struct ledger *l = ledger_with(5);
	struct agent_status s = status_for(1);
	struct wl_err err = {{0}};
	struct ui_frame *u = ui_frame_new(20, &err), *one = ui_frame_new(1, &err);
	const char *text;
	size_t len;
	json_t *f;
	(void)state;

	assert_int_equal(ui_frame_render(u, l, &s), 0);
	text = ui_frame_text(u, &len);
	f = parse(text, len);
	assert_int_equal(json_array_size(json_object_get(f, "workloads")), 5);
	json_decref(f);
	assert_int_equal(ui_frame_render(one, l, &s), 0);
	text = ui_frame_text(one, &len);
	f = parse(text, len);
	assert_int_equal(json_array_size(json_object_get(f, "workloads")), 1);
	/* rows 0..4 have dynamic 0.125, 7.125, 1.125, 8.125, 2.125: row003 is busiest */
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(f, "workloads"), 0), "workload")),
			    "/kubepods/row003");
	json_decref(f);
	ui_frame_free(u);
	ui_frame_free(one);
	ledger_free(l);
}

static void test_bad_rows(void **state)
{
	struct wl_err err = {{0}};
	(void)state;

	assert_null(ui_frame_new(0, &err));
	assert_non_null(strstr(err.msg, "1..200"));
	assert_null(ui_frame_new(UI_ROWS_MAX + 1, &err));
	assert_int_equal(ui_frame_render(NULL, NULL, NULL), -EINVAL);
}

/* The history keeps the newest UI_HISTORY node totals, oldest first. */
static void test_history_ring(void **state)
{
	struct ledger *l = ledger_with(1);
	struct ledger_node *n = ledger_node(l);
	struct wl_err err = {{0}};
	struct ui_frame *u = ui_frame_new(3, &err);
	struct agent_status s = status_for(0);
	const unsigned total = UI_HISTORY + 57;
	const char *text;
	size_t len;
	json_t *f, *h;
	(void)state;

	n->zone_mask = 1u << ZONE_PACKAGE;
	n->watts[ZONE_DRAM][MODE_IDLE] = n->watts[ZONE_DRAM][MODE_DYNAMIC] = 0;
	for (unsigned t = 1; t <= total; t++) {
		n->watts[ZONE_PACKAGE][MODE_IDLE] = t;
		n->watts[ZONE_PACKAGE][MODE_DYNAMIC] = 0.5;
		s.ticks = t;
		ui_frame_record(u, l, &s);
		if (t == 2 || t == total) {
			assert_int_equal(ui_frame_render(u, l, &s), 0);
			text = ui_frame_text(u, &len);
			f = parse(text, len);
			h = json_object_get(json_object_get(f, "history"), "watts");
			assert_int_equal(json_integer_value(json_object_get(
						 json_object_get(f, "history"), "last_tick")), t);
			assert_int_equal(json_array_size(h), t == 2 ? 2 : UI_HISTORY);
			assert_true(json_real_value(json_array_get(h, json_array_size(h) - 1)) ==
				    t + 0.5);
			assert_true(json_real_value(json_array_get(h, 0)) ==
				    (t == 2 ? 1.5 : total - UI_HISTORY + 1 + 0.5));
			json_decref(f);
		}
	}
	ui_frame_free(u);
	ledger_free(l);
}

/* A name with quotes and control bytes stays valid JSON. */
static void test_names_escaped(void **state)
{
	struct ledger *l = ledger_new(1000000000ull);
	struct agent_status s = status_for(1);
	struct wl_err err = {{0}};
	struct ui_frame *u = ui_frame_new(5, &err);
	struct ledger_row *r;
	const char *text;
	size_t len;
	json_t *f;
	(void)state;

	ledger_begin_tick(l);
	r = ledger_row_get(l, "/a\"b\\c\x01\xff");
	r->watts[ZONE_PACKAGE][MODE_DYNAMIC] = 1;
	assert_int_equal(ledger_row_set_names(r, "n\"s", "p\nod", "c"), 0);
	ledger_commit_tick(l, 1);
	assert_int_equal(ui_frame_render(u, l, &s), 0);
	text = ui_frame_text(u, &len);
	f = parse(text, len);
	assert_non_null(strchr(json_string_value(json_object_get(
				       json_array_get(json_object_get(f, "workloads"), 0), "namespace")), '"'));
	json_decref(f);
	ui_frame_free(u);
	ledger_free(l);
}

/* The embedded page: the HTML of ui/index.html, relative URLs, no external fetches. */
static void test_page_embedded(void **state)
{
	(void)state;
	assert_true(ui_page_html_len > 1000);
	assert_int_equal(strlen(ui_page_html), ui_page_html_len);
	assert_int_equal(strncmp(ui_page_html, "<!doctype html>", 15), 0);
	assert_text_has(ui_page_html, UI_WS_PROTOCOL, "\"ui/ws\"", "\"api/v1/workloads\"");
	assert_text_lacks(ui_page_html, "http://", "https://", "src=", "<link");
}

/* The http.ui* keys: defaults, ranges, and the cap kept below http.max_connections. */
static void test_config_keys(void **state)
{
	struct config c;
	struct wl_err err = {{0}};
	(void)state;

	config_defaults(&c);
	assert_true(c.http_ui);
	assert_int_equal(c.http_ui_max_clients, 0); /* auto: 16, below the connection cap */
	assert_int_equal(c.http_ui_rows, 20);
	assert_int_equal(config_validate(&c, &err), 0);
	assert_int_not_equal(config_set(&c, "http.ui_rows", "0", &err), 0);
	assert_non_null(strstr(err.msg, "http.ui_rows"));
	assert_int_not_equal(config_set(&c, "http.ui_max_clients", "2000", &err), 0);
	assert_non_null(strstr(err.msg, "http.ui_max_clients"));
	assert_int_not_equal(config_set(&c, "http.ui", "maybe", &err), 0);
	assert_non_null(strstr(err.msg, "http.ui"));
	assert_int_equal(config_set(&c, "http.ui_max_clients", "64", &err), 0);
	assert_int_not_equal(config_validate(&c, &err), 0);
	assert_non_null(strstr(err.msg, "http.ui_max_clients (64) must be less than "
					"http.max_connections (64)"));
	/* left at auto, a small connection cap is no error (the server keeps one free) */
	assert_int_equal(config_set(&c, "http.ui_max_clients", "0", &err), 0);
	assert_int_equal(config_set(&c, "http.max_connections", "8", &err), 0);
	assert_int_equal(config_validate(&c, &err), 0);
	assert_int_equal(config_set(&c, "http.ui_max_clients", "64", &err), 0);
	/* without the page, the WebSocket cap does not matter */
	assert_int_equal(config_set(&c, "http.ui", "false", &err), 0);
	assert_int_equal(config_validate(&c, &err), 0);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_rows_match_api),
	cmocka_unit_test(test_row_cap),
	cmocka_unit_test(test_bad_rows),
	cmocka_unit_test(test_history_ring),
	cmocka_unit_test(test_names_escaped),
	cmocka_unit_test(test_page_embedded),
	cmocka_unit_test(test_config_keys))
