/* test_redfish.c - the Redfish platform power source's pure parts: the JSON documents it
 * reads (EnvironmentMetrics, legacy Power, Chassis links, the Chassis collection) with
 * good, missing, null, wrong-typed, out-of-range and garbage input, the link/endpoint/
 * chassis-Id checks that keep credentials on the configured BMC, and the timeline
 * integration with an injected clock (trapezoid, EnergykWh counter, gaps, staleness,
 * exact sums across takes at arbitrary tick times). The poller against a real Redfish
 * server is test/integration/it_redfish.sh. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/common/strbuf.h"
#include "agent/config/config.h"
#include "agent/export/export.h"
#include "agent/ledger/ledger.h"
#include "agent/meter/redfish.h"
#include "agent/meter/redfish_json.h"
#include "agent/meter/redfish_tl.h"
#include "test/unit/fixture_config.h"

#define S 1000000000ull

static int env(const char *js, struct rf_reading *r, struct wl_err *e)
{
	return rf_parse_env_metrics(js, strlen(js), r, e);
}

/* A document a reading parser refuses: its return code and, unless NULL, a part of the
 * error message. */
struct bad_doc {
	const char *js;
	int rc;
	const char *want;
};

/* parse (rf_parse_env_metrics, rf_parse_power, rf_parse_supply_metrics) refuses each of
 * the n documents as given. */
static void assert_bad_docs(int (*parse)(const char *, size_t, struct rf_reading *,
					 struct wl_err *),
			    const struct bad_doc *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct rf_reading r;
		struct wl_err e = { "" };

		if (parse(cases[i].js, strlen(cases[i].js), &r, &e) != cases[i].rc)
			fail_msg("%s: not refused with %d (%s)", cases[i].js, cases[i].rc, e.msg);
		if (cases[i].want && !strstr(e.msg, cases[i].want))
			fail_msg("%s: error \"%s\" lacks \"%s\"", cases[i].js, e.msg,
				 cases[i].want);
	}
}

static void test_env_metrics(void **state)
{
	static const struct bad_doc bad[] = {
		/* missing and null: -ENOENT naming the field */
		{ "{\"TemperatureCelsius\":{\"Reading\":30}}", -ENOENT, "PowerWatts.Reading" },
		{ "{\"PowerWatts\":{\"Reading\":null}}", -ENOENT, NULL },
		{ "{\"PowerWatts\":null}", -ENOENT, NULL },
		{ "{\"PowerWatts\":{}}", -ENOENT, NULL },
		/* wrong type and out of range: -ERANGE */
		{ "{\"PowerWatts\":{\"Reading\":\"412\"}}", -ERANGE, "not a number" },
		{ "{\"PowerWatts\":{\"Reading\":-1}}", -ERANGE, NULL },
		{ "{\"PowerWatts\":{\"Reading\":1e9}}", -ERANGE, "out of range" },
		{ "{\"PowerWatts\":[1]}", -ERANGE, NULL },
		/* not JSON, not an object, duplicates, truncated, empty */
		{ "<html>500 Internal</html>", -EBADMSG, "not JSON" },
		{ "[1,2]", -EBADMSG, NULL },
		{ "{\"PowerWatts\":{\"Reading\":1,\"Reading\":2}}", -EBADMSG, NULL },
		{ "{\"PowerWatts\":{\"Reading\":1", -EBADMSG, NULL },
		{ "", -EBADMSG, NULL },
	};
	struct rf_reading r;
	struct wl_err e = { "" };
	(void)state;

	assert_int_equal(env("{\"PowerWatts\":{\"Reading\":412.5},"
			     "\"EnergykWh\":{\"Reading\":1234.0625}}", &r, &e), 0);
	assert_true(fabs(r.watts - 412.5) < 1e-9);
	assert_true(r.have_kwh);
	assert_true(fabs(r.kwh - 1234.0625) < 1e-9);
	/* integer reading, no energy */
	assert_int_equal(env("{\"PowerWatts\":{\"Reading\":300}}", &r, &e), 0);
	assert_true(fabs(r.watts - 300) < 1e-9);
	assert_false(r.have_kwh);
	/* an EnergykWh that cannot be used leaves the power reading */
	assert_int_equal(env("{\"PowerWatts\":{\"Reading\":1},\"EnergykWh\":{\"Reading\":-3}}",
			     &r, &e), 0);
	assert_false(r.have_kwh);
	assert_int_equal(env("{\"PowerWatts\":{\"Reading\":1},\"EnergykWh\":{\"Reading\":\"x\"}}",
			     &r, &e), 0);
	assert_false(r.have_kwh);
	assert_bad_docs(rf_parse_env_metrics, bad, sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(rf_parse_env_metrics(NULL, 0, &r, &e), -EBADMSG);
	/* a NUL inside the body is not JSON */
	assert_int_equal(rf_parse_env_metrics("{\"PowerWatts\":{\"Reading\":1}}\0x", 31, &r, &e),
			 -EBADMSG);
}

static void test_power_legacy(void **state)
{
	static const struct bad_doc bad[] = {
		{ "{\"PowerControl\":[]}", -ENOENT, NULL },
		{ "{}", -ENOENT, NULL },
		{ "{\"PowerControl\":[{\"PowerConsumedWatts\":null}]}", -ENOENT,
		  "PowerControl[0].PowerConsumedWatts" },
		{ "{\"PowerControl\":[{\"PowerConsumedWatts\":-5}]}", -ERANGE, NULL },
	};
	struct rf_reading r;
	struct wl_err e = { "" };
	const char *ok = "{\"PowerControl\":[{\"PowerConsumedWatts\":250.25,"
			 "\"PowerMetrics\":{\"AverageConsumedWatts\":240}}]}";
	(void)state;

	assert_int_equal(rf_parse_power(ok, strlen(ok), &r, &e), 0);
	assert_true(fabs(r.watts - 250.25) < 1e-9);
	assert_false(r.have_kwh);
	assert_bad_docs(rf_parse_power, bad, sizeof(bad) / sizeof(bad[0]));
}

/* PowerSubsystem -> PowerSupplies -> each supply -> its Metrics: InputPowerWatts. */
static void test_power_subsystem(void **state)
{
	static const struct bad_doc bad_metrics[] = {
		{ "{\"InputPowerWatts\":{\"Reading\":null}}", -ENOENT,
		  "PowerSupplyMetrics: no InputPowerWatts.Reading" },
		/* a PowerWatts is not what a supply's metrics are read for */
		{ "{\"PowerWatts\":{\"Reading\":1}}", -ENOENT, NULL },
	};
	char p[RF_PATH_MAX], paths[RF_MAX_SUPPLIES][RF_PATH_MAX];
	struct rf_reading r;
	struct wl_err e = { "" };
	size_t n = 99;
	(void)state;

	const char *ps = "{\"PowerSupplies\":{\"@odata.id\":\"/redfish/v1/Chassis/1/PowerSubsystem/"
			 "PowerSupplies\"},\"CapacityWatts\":2400}";
	assert_int_equal(rf_parse_power_subsystem(ps, strlen(ps), p, sizeof(p), &e), 0);
	assert_string_equal(p, "/redfish/v1/Chassis/1/PowerSubsystem/PowerSupplies");
	assert_int_equal(rf_parse_power_subsystem("{}", 2, p, sizeof(p), &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no PowerSupplies"));

	const char *col = "{\"Members\":[{\"@odata.id\":\"/redfish/v1/x/0\"},"
			  "{\"@odata.id\":\"/redfish/v1/x/1\"}]}";
	assert_int_equal(rf_parse_members(col, strlen(col), paths, RF_MAX_SUPPLIES, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(paths[1], "/redfish/v1/x/1");
	assert_int_equal(rf_parse_members(col, strlen(col), paths, 1, &n, &e), -E2BIG);
	assert_int_equal(n, 0);
	const char *bad = "{\"Members\":[{\"@odata.id\":\"/redfish/v1/x/0\"},"
			  "{\"@odata.id\":\"http://evil/redfish/v1/\"}]}";
	assert_int_equal(rf_parse_members(bad, strlen(bad), paths, RF_MAX_SUPPLIES, &n, &e),
			 -ERANGE);
	assert_int_equal(n, 0);
	assert_int_equal(rf_parse_members("{\"Members\":[]}", 14, paths, 4, &n, &e), -ENOENT);

	const char *sup = "{\"Id\":\"0\",\"Metrics\":{\"@odata.id\":\"/redfish/v1/x/0/Metrics\"}}";
	assert_int_equal(rf_parse_supply(sup, strlen(sup), p, sizeof(p), &e), 0);
	assert_string_equal(p, "/redfish/v1/x/0/Metrics");
	assert_int_equal(rf_parse_supply("{\"Id\":\"0\"}", 10, p, sizeof(p), &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no Metrics"));

	const char *m = "{\"InputPowerWatts\":{\"Reading\":151.25},\"EnergykWh\":{\"Reading\":9.5}}";
	assert_int_equal(rf_parse_supply_metrics(m, strlen(m), &r, &e), 0);
	assert_true(fabs(r.watts - 151.25) < 1e-9);
	assert_true(r.have_kwh);
	assert_bad_docs(rf_parse_supply_metrics, bad_metrics,
			sizeof(bad_metrics) / sizeof(bad_metrics[0]));
}

static void test_chassis_links(void **state)
{
	struct rf_chassis_links l;
	struct wl_err e = { "" };
	char p[RF_PATH_MAX];
	(void)state;

	const char *both = "{\"Id\":\"1\",\"EnvironmentMetrics\":{\"@odata.id\":"
			   "\"/redfish/v1/Chassis/1/EnvironmentMetrics\"},\"Power\":{\"@odata.id\":"
			   "\"/redfish/v1/Chassis/1/Power\"}}";
	assert_int_equal(rf_parse_chassis(both, strlen(both), &l, &e), 0);
	assert_string_equal(l.env, "/redfish/v1/Chassis/1/EnvironmentMetrics");
	assert_string_equal(l.power, "/redfish/v1/Chassis/1/Power");
	assert_string_equal(l.psub, "");
	/* a link to another host is refused; the good one remains */
	const char *evil = "{\"EnvironmentMetrics\":{\"@odata.id\":\"https://evil.example/redfish/"
			   "v1/x\"},\"Power\":{\"@odata.id\":\"/redfish/v1/Chassis/1/Power\"}}";
	assert_int_equal(rf_parse_chassis(evil, strlen(evil), &l, &e), 0);
	assert_string_equal(l.env, "");
	assert_string_equal(l.power, "/redfish/v1/Chassis/1/Power");
	const char *only_evil = "{\"Power\":{\"@odata.id\":\"/redfish/v1/../../etc\"}}";
	assert_int_equal(rf_parse_chassis(only_evil, strlen(only_evil), &l, &e), -ERANGE);
	assert_non_null(strstr(e.msg, "not a path under /redfish/v1/"));
	assert_int_equal(rf_parse_chassis("{\"Thermal\":{}}", 14, &l, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no chassis power"));
	const char *psub = "{\"PowerSubsystem\":{\"@odata.id\":\"/redfish/v1/Chassis/1/"
			   "PowerSubsystem\"}}";
	assert_int_equal(rf_parse_chassis(psub, strlen(psub), &l, &e), 0);
	assert_string_equal(l.psub, "/redfish/v1/Chassis/1/PowerSubsystem");
	assert_int_equal(rf_parse_chassis("nope", 4, &l, &e), -EBADMSG);

	const char *coll = "{\"Members\":[{\"@odata.id\":\"/redfish/v1/Chassis/Enc.1\"},"
			   "{\"@odata.id\":\"/redfish/v1/Chassis/2\"}]}";
	assert_int_equal(rf_parse_members_first(coll, strlen(coll), p, sizeof(p), &e), 0);
	assert_string_equal(p, "/redfish/v1/Chassis/Enc.1");
	assert_int_equal(rf_parse_members_first("{\"Members\":[]}", 14, p, sizeof(p), &e), -ENOENT);
	assert_int_equal(rf_parse_members_first("{\"Members\":[3]}", 15, p, sizeof(p), &e),
			 -ERANGE);
	const char *bad = "{\"Members\":[{\"@odata.id\":\"/redfish/v1/a b\"}]}";
	assert_int_equal(rf_parse_members_first(bad, strlen(bad), p, sizeof(p), &e), -ERANGE);
}

/* ok() refuses each of the n strings in bad (a NULL entry: a NULL argument). */
static void assert_refuses(bool (*ok)(const char *), const char *const *bad, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ok(bad[i]))
			fail_msg("'%s' accepted", bad[i] ? bad[i] : "(NULL)");
}

static void test_checks(void **state)
{
	static const char *const bad_paths[] = {
		"/redfish/v1/Chassis/../x", "/redfish/v1/Chassis/..", "/redfish/v2/x",
		"//evil/redfish/v1/", "/redfish/v1/x?y", "/redfish/v1/x#y", "/redfish/v1/x\\y",
		NULL,
	};
	static const char *const bad_endpoints[] = {
		"http://bmc.example", "https://", "https://user:pw@bmc", "https://bmc/redfish/v1",
		"https://bmc example", "",
	};
	static const char *const bad_chassis_ids[] = { "..", "a/b", "" };
	(void)state;
	assert_true(rf_path_ok("/redfish/v1/Chassis/1/Power"));
	assert_true(rf_path_ok("/redfish/v1/Chassis/a..b"));
	assert_refuses(rf_path_ok, bad_paths, sizeof(bad_paths) / sizeof(bad_paths[0]));
	assert_true(rf_endpoint_ok("https://bmc.example"));
	assert_true(rf_endpoint_ok("https://10.0.0.5:8443/"));
	assert_true(rf_endpoint_ok("https://[fd00::5]:443"));
	assert_refuses(rf_endpoint_ok, bad_endpoints,
		       sizeof(bad_endpoints) / sizeof(bad_endpoints[0]));
	assert_true(rf_chassis_id_ok("System.Embedded.1"));
	assert_true(rf_chassis_id_ok("1"));
	assert_refuses(rf_chassis_id_ok, bad_chassis_ids,
		       sizeof(bad_chassis_ids) / sizeof(bad_chassis_ids[0]));
}

static void add(struct rf_tl *tl, uint64_t t, double w)
{
	struct rf_point p = { .t_ns = t, .watts = w };
	assert_int_equal(rf_tl_add(tl, &p), 0);
}

static void add_kwh(struct rf_tl *tl, uint64_t t, double w, double kwh)
{
	struct rf_point p = { .t_ns = t, .watts = w, .have_kwh = true, .kwh = kwh };
	assert_int_equal(rf_tl_add(tl, &p), 0);
}

/* The timeline tests' fixture: a timeline made by rf_tl_init with the options given as
 * the test's initial state, and the last take from it. */
struct tl_opts {
	uint64_t stale_ns;
	bool use_kwh;
};

struct tl_test {
	struct rf_tl tl;
	struct rf_take t;
};

static struct tl_opts tl_10s_kwh = { 10 * S, true };
static struct tl_opts tl_10s = { 10 * S, false };
static struct tl_opts tl_5s = { 5 * S, false };

static int tl_setup(void **state)
{
	const struct tl_opts *o = *state;
	struct tl_test *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	rf_tl_init(&x->tl, o->stale_ns, o->use_kwh);
	*state = x;
	return 0;
}

static int tl_teardown(void **state)
{
	free(*state);
	return 0;
}

/* The cmocka entry of a timeline test on a timeline made with options opts. */
#define TL_TEST(test, opts) \
	cmocka_unit_test_prestate_setup_teardown(test, tl_setup, tl_teardown, &opts)

/* Two power readings: the line w0 W at t0 to w1 W at t1. */
static void add_line(struct rf_tl *tl, uint64_t t0, double w0, uint64_t t1, double w1)
{
	add(tl, t0, w0);
	add(tl, t1, w1);
}

static void test_tl_trapezoid(void **state)
{
	struct tl_test *x = *state;

	rf_tl_take(&x->tl, 100 * S, UINT64_MAX, &x->t);
	assert_false(x->t.have_reading);
	assert_true(x->t.stale);
	assert_int_equal(x->t.uj, 0);
	add(&x->tl, 100 * S, 100);
	rf_tl_take(&x->tl, 100 * S + S / 2, UINT64_MAX, &x->t);
	assert_true(x->t.have_reading);
	assert_false(x->t.stale);
	assert_int_equal(x->t.uj, 0); /* one reading: a baseline */
	assert_int_equal(x->t.age_ns, S / 2);
	/* 100 W -> 200 W over 1 s, then 200 W for 2 s: 150 J + 400 J */
	add(&x->tl, 101 * S, 200);
	add(&x->tl, 103 * S, 200);
	rf_tl_take(&x->tl, 104 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.uj, 550000000ull);
	assert_int_equal(x->t.from_ns, 100 * S);
	assert_int_equal(x->t.to_ns, 103 * S);
	assert_int_equal(x->t.span_ns, 3 * S);
	assert_int_equal(x->t.segments, 2);
	assert_int_equal(x->t.age_ns, S);
	/* nothing new: nothing taken, the span starts at the newest reading */
	rf_tl_take(&x->tl, 105 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.uj, 0);
	assert_int_equal(x->t.from_ns, 103 * S);
	/* bad readings are refused and change nothing */
	struct rf_point bad = { .t_ns = 103 * S, .watts = 1 };
	assert_int_equal(rf_tl_add(&x->tl, &bad), -EINVAL); /* not after the newest */
	bad.t_ns = 104 * S;
	bad.watts = NAN;
	assert_int_equal(rf_tl_add(&x->tl, &bad), -ERANGE);
	bad.watts = -1;
	assert_int_equal(rf_tl_add(&x->tl, &bad), -ERANGE);
	assert_int_equal(rf_tl_add(NULL, &bad), -EINVAL);
	add(&x->tl, 104 * S, 0);
	rf_tl_take(&x->tl, 104 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.uj, 100000000ull); /* 200 -> 0 W over 1 s */
}

/* Readings at irregular times, takes at unrelated tick times: the takes sum to the
 * integral of the readings, to the microjoule (sub-uJ remainders carried). */
static void test_tl_exact_sum(void **state)
{
	struct tl_test *x = *state;
	double exact = 0, prev_w = 0;
	uint64_t sum = 0, prev_t = 0, tick = 50 * S;

	for (int i = 0; i < 500; i++) {
		uint64_t ts = 50 * S + (uint64_t)i * 1234567891ull + (uint64_t)(i % 7) * 33333333;
		double w = 300 + 100 * sin(i / 9.0) + 1.0 / 3;
		if (i)
			exact += (prev_w + w) / 2 * (double)(ts - prev_t) / 1e3;
		add(&x->tl, ts, w);
		prev_t = ts;
		prev_w = w;
		while (tick + 1000000000ull / 3 < ts) {
			tick += 1000000000ull / 3;
			/* up to the tick minus a lag, as the daemon asks */
			rf_tl_take(&x->tl, tick, tick - 2 * S, &x->t);
			sum += x->t.uj;
			assert_true(x->t.segments == 0 || x->t.to_ns <= tick - 2 * S);
		}
	}
	rf_tl_take(&x->tl, prev_t + S, UINT64_MAX, &x->t);
	sum += x->t.uj;
	assert_true(fabs((double)sum - exact) <= 1.0);
}

/* A take up to a time inside a segment gets the integral of the line up to there; the
 * rest goes to the next take. */
static void test_tl_partial(void **state)
{
	struct tl_test *x = *state;

	add_line(&x->tl, 10 * S, 100, 12 * S, 300); /* 100 -> 300 W over 2 s: 400 J */
	rf_tl_take(&x->tl, 13 * S, 11 * S, &x->t);
	assert_int_equal(x->t.uj, 150000000ull); /* (100 + 200) / 2 x 1 s */
	assert_int_equal(x->t.from_ns, 10 * S);
	assert_int_equal(x->t.to_ns, 11 * S);
	assert_int_equal(x->t.span_ns, S);
	rf_tl_take(&x->tl, 13 * S, 11 * S, &x->t); /* nothing more up to 11 s */
	assert_int_equal(x->t.uj, 0);
	rf_tl_take(&x->tl, 13 * S, 20 * S, &x->t); /* only up to the newest reading */
	assert_int_equal(x->t.uj, 250000000ull);
	assert_int_equal(x->t.to_ns, 12 * S);
	/* a counter segment is shared in the line's proportion: 720 J over 12..14 s with
	 * power 100 -> 300 W: the first second holds 150/400 of it */
	rf_tl_init(&x->tl, 10 * S, true);
	add_kwh(&x->tl, 12 * S, 100, 1.0);
	add_kwh(&x->tl, 14 * S, 300, 1.0002);
	rf_tl_take(&x->tl, 14 * S, 13 * S, &x->t);
	assert_int_equal(x->t.counter_segments, 1);
	assert_true(fabs((double)x->t.uj - 720e6 * 150 / 400) <= 2);
	rf_tl_take(&x->tl, 14 * S, UINT64_MAX, &x->t);
	assert_true(fabs((double)x->t.uj - 720e6 * 250 / 400) <= 2);
}

/* More readings than the timeline keeps, never taken: the oldest are integrated on the
 * way and nothing is lost. */
static void test_tl_overflow(void **state)
{
	struct tl_test *x = *state;

	for (int i = 0; i <= 3 * RF_TL_POINTS; i++)
		add(&x->tl, (uint64_t)(i + 1) * S, 100);
	rf_tl_take(&x->tl, 1000 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.uj, (uint64_t)(3 * RF_TL_POINTS) * 100000000ull);
	assert_int_equal(x->t.span_ns, (uint64_t)(3 * RF_TL_POINTS) * S);
	assert_true(x->t.stale);
}

static void test_tl_gap_and_stale(void **state)
{
	struct tl_test *x = *state;

	add_line(&x->tl, 10 * S, 100, 11 * S, 100); /* 100 J */
	rf_tl_take(&x->tl, 12 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.uj, 100000000ull);
	assert_false(x->t.stale);
	/* the BMC answers nothing for 9 s: stale, and no energy is invented */
	rf_tl_take(&x->tl, 17 * S, UINT64_MAX, &x->t);
	assert_true(x->t.stale);
	assert_int_equal(x->t.age_ns, 6 * S);
	assert_int_equal(x->t.uj, 0);
	/* it comes back: the 9 s between the readings are a gap, not integrated */
	add(&x->tl, 20 * S, 300);
	add(&x->tl, 21 * S, 300);
	rf_tl_take(&x->tl, 21 * S, UINT64_MAX, &x->t);
	assert_false(x->t.stale);
	assert_int_equal(x->t.gaps, 1);
	assert_int_equal(x->t.gap_ns, 9 * S);
	assert_int_equal(x->t.segments, 1);
	assert_int_equal(x->t.uj, 300000000ull);
	assert_int_equal(x->t.span_ns, S);
	/* exactly stale_after apart is still integrated */
	add(&x->tl, 26 * S, 300);
	rf_tl_take(&x->tl, 26 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.gaps, 0);
	assert_int_equal(x->t.uj, 1500000000ull);
}

static void test_tl_counter(void **state)
{
	struct tl_test *x = *state;

	add_kwh(&x->tl, 10 * S, 100, 5.0);
	/* the counter says 0.0001 kWh = 360 J in 1 s although power says 100 W: the counter */
	add_kwh(&x->tl, 11 * S, 100, 5.0001);
	rf_tl_take(&x->tl, 11 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.counter_segments, 1);
	assert_true(fabs((double)x->t.uj - 360e6) <= 1);
	/* counter backwards (reset): the trapezoid */
	add_kwh(&x->tl, 12 * S, 100, 0.0);
	rf_tl_take(&x->tl, 12 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.counter_segments, 0);
	assert_int_equal(x->t.uj, 100000000ull);
	/* an implausible jump (above RF_MAX_WATTS over the interval): the trapezoid */
	add_kwh(&x->tl, 13 * S, 100, 1000.0);
	rf_tl_take(&x->tl, 13 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.counter_segments, 0);
	assert_int_equal(x->t.uj, 100000000ull);
	/* one end without a counter: the trapezoid */
	add(&x->tl, 14 * S, 300);
	rf_tl_take(&x->tl, 14 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.uj, 200000000ull);
	/* use_kwh false: always the power readings */
	rf_tl_init(&x->tl, 10 * S, false);
	add_kwh(&x->tl, 10 * S, 100, 5.0);
	add_kwh(&x->tl, 11 * S, 100, 5.0001);
	rf_tl_take(&x->tl, 11 * S, UINT64_MAX, &x->t);
	assert_int_equal(x->t.counter_segments, 0);
	assert_int_equal(x->t.uj, 100000000ull);
}

static void test_options(void **state)
{
	struct rf_opts o = { .endpoint = "http://bmc", .cred_file = "/nonexistent",
			     .interval_ns = S, .timeout_ns = S, .stale_ns = 5 * S };
	struct wl_err e = { "" };
	struct redfish *r;
	(void)state;

	r = redfish_open(&o, &e);
	assert_null(r);
	assert_non_null(strstr(e.msg, "redfish.endpoint"));
	o.endpoint = "https://127.0.0.1:1";
	r = redfish_open(&o, &e);
	assert_null(r);
	assert_non_null(strstr(e.msg, "redfish.credentials_file /nonexistent"));
	o.chassis = "../x";
	r = redfish_open(&o, &e);
	assert_null(r);
	assert_non_null(strstr(e.msg, "redfish.chassis"));
}

/* The poller thread against a port nobody listens on: it keeps polling, says why
 * (connect, with the URL and never the password), the timeline stays empty and stale,
 * and close stops it. */
static void test_poller_unreachable(void **state)
{
	char cred[] = "/tmp/wattlet-test-redfish-XXXXXX";
	int fd = mkstemp(cred);
	struct rf_opts o = { .endpoint = "https://127.0.0.1:1", .cred_file = cred,
			     .interval_ns = S / 5, .timeout_ns = S, .stale_ns = 2 * S };
	struct wl_err e = { "" };
	struct rf_status st;
	struct rf_take t;
	struct redfish *r;
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "root:hunter2\n", 13), 13);
	close(fd);
	r = redfish_open(&o, &e);
	assert_non_null(r);
	for (int i = 0; i < 200; i++) { /* up to 10 s for two polls */
		struct timespec ts = { 0, 50000000 };
		redfish_take(r, mono_ns(), &t, &st);
		if (st.polls >= 2)
			break;
		nanosleep(&ts, NULL);
	}
	assert_true(st.polls >= 2);
	assert_int_equal(st.polls_ok, 0);
	assert_int_equal(st.last_err, RF_ERR_CONNECT);
	assert_true(st.errors[RF_ERR_CONNECT] >= 2);
	assert_non_null(strstr(st.last_msg, "GET https://127.0.0.1:1/redfish/v1/Chassis"));
	assert_null(strstr(st.last_msg, "hunter2"));
	assert_false(t.have_reading);
	assert_true(t.stale);
	assert_int_equal(t.uj, 0);
	redfish_close(r);
	/* an empty credentials file is refused at open */
	fd = open(cred, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	close(fd);
	assert_null(redfish_open(&o, &e));
	assert_non_null(strstr(e.msg, "empty"));
	unlink(cred);
}

/* redfish.* keys: each bad combination names the key (docs/config.md). */
static void test_config_keys(void **state)
{
	struct config_test t = { .e = { "" } };
	(void)state;

	config_defaults_valid(&t); /* off by default */
	assert_string_equal(t.c.redfish_endpoint, "");
	assert_config_step(&t, "redfish.endpoint", "http://bmc",
			   "redfish.endpoint \"http://bmc\" must be https://");
	assert_config_step(&t, "redfish.endpoint", "https://{node}-bmc:8443",
			   "redfish.credentials_file must be set");
	assert_config_step(&t, "redfish.credentials_file", "/run/cred", NULL);
	assert_config_step(&t, "redfish.interval", "20s",
			   "redfish.stale_after (30s) must be at least two redfish.interval (20s)");
	assert_int_equal(config_set(&t.c, "redfish.interval", "5s", &t.e), 0);
	assert_config_step(&t, "redfish.timeout", "40s", "redfish.timeout (40s) must not exceed");
	assert_int_equal(config_set(&t.c, "redfish.timeout", "10s", &t.e), 0);
	assert_int_equal(config_set(&t.c, "redfish.ca_file", "/ca.pem", &t.e), 0);
	assert_config_step(&t, "redfish.insecure_skip_verify", "true", "contradict");
	assert_int_equal(config_set(&t.c, "redfish.insecure_skip_verify", "false", &t.e), 0);
	assert_config_step(&t, "redfish.chassis", "a/b", "redfish.chassis \"a/b\"");
	assert_config_step(&t, "redfish.chassis", "System.Embedded.1", NULL);
	assert_config_set_refused(&t, "redfish.interval", "100ms", "redfish.interval");
	assert_int_not_equal(config_set(&t.c, "redfish.energy_counter", "maybe", &t.e), 0);
}

/* The wattlet_redfish_* series: present only with a Redfish source; up 0 when stale;
 * every error reason present. */
static void test_metrics(void **state)
{
	static const uint64_t errs[RF_ERR_COUNT] = { [RF_ERR_TIMEOUT] = 3, [RF_ERR_AUTH] = 1 };
	struct export_redfish ex = { .resource = "EnvironmentMetrics", .stale = true,
				     .reading_age_s = 42.5, .watts = 321.5, .polls = 17,
				     .err_names = rf_err_names, .errors = errs,
				     .n_err = RF_ERR_COUNT };
	struct agent_status st = { .version = "t", .node_name = "n", .meter = "none" };
	struct export_metrics_opts o = { 0 };
	struct ledger *l = ledger_new(0);
	struct strbuf out;
	(void)state;

	assert_non_null(l);
	strbuf_init(&out, 1 << 20);
	assert_int_equal(export_metrics_render(l, &st, &o, &out), 0);
	assert_null(strstr(out.buf, "wattlet_redfish"));
	st.redfish = &ex;
	out.len = 0;
	out.buf[0] = '\0';
	assert_int_equal(export_metrics_render(l, &st, &o, &out), 0);
	assert_non_null(strstr(out.buf, "\nwattlet_redfish_up{resource=\"EnvironmentMetrics\"} 0\n"));
	assert_non_null(strstr(out.buf, "\nwattlet_redfish_reading_age_seconds 42.5"));
	assert_non_null(strstr(out.buf, "\nwattlet_redfish_power_watts 321.5"));
	assert_non_null(strstr(out.buf, "\nwattlet_redfish_polls_total 17\n"));
	assert_non_null(strstr(out.buf, "wattlet_redfish_poll_errors_total{reason=\"timeout\"} 3\n"));
	assert_non_null(strstr(out.buf, "wattlet_redfish_poll_errors_total{reason=\"auth\"} 1\n"));
	assert_non_null(strstr(out.buf, "wattlet_redfish_poll_errors_total{reason=\"no_source\"} 0\n"));
	ex.stale = false;
	ex.reading_age_s = -1; /* no reading yet: no age, no watts */
	out.len = 0;
	out.buf[0] = '\0';
	assert_int_equal(export_metrics_render(l, &st, &o, &out), 0);
	assert_non_null(strstr(out.buf, "wattlet_redfish_up{resource=\"EnvironmentMetrics\"} 1\n"));
	assert_null(strstr(out.buf, "wattlet_redfish_reading_age_seconds"));
	strbuf_release(&out);
	ledger_free(l);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_env_metrics),
	cmocka_unit_test(test_power_legacy),
	cmocka_unit_test(test_power_subsystem),
	cmocka_unit_test(test_chassis_links),
	cmocka_unit_test(test_checks),
	TL_TEST(test_tl_trapezoid, tl_10s_kwh),
	TL_TEST(test_tl_exact_sum, tl_10s_kwh),
	TL_TEST(test_tl_partial, tl_10s_kwh),
	TL_TEST(test_tl_overflow, tl_10s),
	TL_TEST(test_tl_gap_and_stale, tl_5s),
	TL_TEST(test_tl_counter, tl_10s_kwh),
	cmocka_unit_test(test_options),
	cmocka_unit_test(test_poller_unreachable),
	cmocka_unit_test(test_config_keys),
	cmocka_unit_test(test_metrics))
