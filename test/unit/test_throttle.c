/* test_throttle.c - the EnergyPolicy `throttle` controller (agent/policy/throttle.h)
 * with an injected clock, on a simulated pod whose power follows its CPU use under the
 * limit the controller sets (W = idle share + k x min(demand, limit)), its budget
 * window kept by the real ep_ring; and budgets[].throttle parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "agent/policy/energypolicy.h"
#include "agent/policy/throttle.h"

/* ---- a simulated pod ---------------------------------------------------------------- */

struct simpod {
	const char *ns;
	double demand_cores; /* what it would use unthrottled */
	double idle_w;	     /* its idle share, independent of its CPU use */
	double w_per_core;
	uint32_t limit_mcpu; /* 0: none (applied by the test from the verdicts) */
	double j, cpu_s;
	uint64_t t_ms;
	struct ep_ring ring;
	struct thr_state st;
	unsigned throttles, adjusts, restores;
	struct thr_decision last;
	uint64_t last_change_ms;
};

static void pod_init(struct simpod *p, const char *ns, double demand, double idle_w, double wpc,
		     uint64_t window_ms)
{
	memset(p, 0, sizeof(*p));
	p->ns = ns;
	p->demand_cores = demand;
	p->idle_w = idle_w;
	p->w_per_core = wpc;
	p->t_ms = 1000000; /* any monotonic origin */
	assert_int_equal(ep_ring_init(&p->ring, window_ms), 0);
}

static double pod_cores(const struct simpod *p)
{
	double c = p->demand_cores;
	if (p->limit_mcpu && c > p->limit_mcpu / 1000.0)
		c = p->limit_mcpu / 1000.0;
	return c;
}

static double pod_watts(const struct simpod *p)
{
	return p->idle_w + p->w_per_core * pod_cores(p);
}

/* Advances the pod by secs one-second ticks, running the controller each tick with
 * budget b (NULL: none); the verdicts are applied to the pod's limit at once. */
static void run(struct simpod *p, const struct ep_budget *b, unsigned secs, uint32_t cap_mcpu)
{
	for (unsigned i = 0; i < secs; i++) {
		struct thr_input in = { 0 };
		double wj = 0;
		uint64_t span = 0;

		p->j += pod_watts(p);
		p->cpu_s += pod_cores(p);
		p->t_ms += 1000;
		assert_int_equal(ep_ring_add(&p->ring, p->t_ms, p->j), 0);
		assert_int_equal(ep_ring_window(&p->ring, &wj, &span), 0);
		in.now_ms = p->t_ms;
		in.ns = p->ns;
		in.budget = b;
		in.window_joules = wj;
		in.span_ms = span;
		in.joules_total = p->j;
		in.cpu_s_total = p->cpu_s;
		in.cap_mcpu = cap_mcpu;
		assert_int_equal(throttle_step(&p->st, &in, &p->last), 0);
		unsigned *count = NULL; /* the counter of the verdict that changes the limit */
		switch (p->last.verdict) {
		case THR_THROTTLE:
			assert_int_equal(p->limit_mcpu, 0);
			count = &p->throttles;
			break;
		case THR_ADJUST:
			assert_true(p->limit_mcpu > 0);
			count = &p->adjusts;
			break;
		case THR_RESTORE:
			assert_true(p->limit_mcpu > 0);
			count = &p->restores;
			break;
		default:
			break;
		}
		if (count) {
			(*count)++;
			p->limit_mcpu = p->last.verdict == THR_RESTORE ? 0 : p->last.limit_mcpu;
			p->last_change_ms = p->t_ms;
		}
		assert_int_equal(p->st.throttled, p->limit_mcpu > 0);
	}
}

static struct ep_budget budget(double max_j, uint64_t window_ms)
{
	struct ep_budget b;
	memset(&b, 0, sizeof(b));
	snprintf(b.name, sizeof(b.name), "cap");
	b.window_ms = window_ms;
	b.max_joules = max_j;
	b.action = EP_ACTION_THROTTLE;
	b.throttle.min_mcpu = EP_THROTTLE_MIN_MCPU_DEFAULT;
	b.throttle.method = EP_THROTTLE_RESIZE;
	return b;
}

/* A pod of demand cores (idle_w W idle share, 10 W per core, 60 s window) run for secs
 * against b: throttled exactly once by then. */
static void run_throttled(struct simpod *p, const struct ep_budget *b, double demand, double idle_w,
			  unsigned secs)
{
	pod_init(p, "apps", demand, idle_w, 10.0, 60000);
	run(p, b, secs, 0);
	assert_int_equal(p->throttles, 1);
}

/* A controller's state and input for driving throttle_step by hand: a fresh state,
 * namespace "apps" under budget b, the clock at now_ms, every other input 0. */
static void step_init(struct thr_state *st, struct thr_input *in, const struct ep_budget *b,
		      uint64_t now_ms)
{
	memset(st, 0, sizeof(*st));
	memset(in, 0, sizeof(*in));
	in->ns = "apps";
	in->budget = b;
	in->now_ms = now_ms;
}

/* ---- the controller ---------------------------------------------------------------- */

/* 2 cores at 10 W/core + 2 W idle = 22 W against 600 J/60 s = 10 W: throttled within
 * two windows, then within 10 % of the rate, and never restored or re-throttled while
 * the demand stays (20 windows). */
static void test_throttle_converges_no_flap(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(600, 60000);

	run_throttled(&p, &b, 2.0, 2.0, 120);
	assert_int_equal(p.last.rate_w, 10.0);
	/* first limit from the pod's own W per core: 2 cores x 10 / 22 = 909m */
	assert_true(p.limit_mcpu > 0);
	run(&p, &b, 120, 0); /* two windows to settle */
	double w = pod_watts(&p);
	assert_true(fabs(w - 10.0) <= 1.0);
	unsigned adj = p.adjusts;
	run(&p, &b, 20 * 60, 0);
	assert_int_equal(p.throttles, 1);
	assert_int_equal(p.restores, 0);
	assert_true(p.adjusts - adj <= 1); /* settled: no hunting */
	assert_true(fabs(pod_watts(&p) - 10.0) <= 1.0);
	/* the limit the idle share leaves: (10 - 2) / 10 = 800m */
	assert_in_range(p.limit_mcpu, 720, 880);
}

/* The first throttle comes within two windows even for a pod over by little. */
static void test_throttle_within_two_windows(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(600, 60000);

	run_throttled(&p, &b, 1.2, 0, 120); /* 12 W vs 10 W */
	assert_true(p.st.since_ms - 1000000 <= 120000);
	run(&p, &b, 180, 0);
	assert_true(fabs(pod_watts(&p) - 10.0) <= 1.0);
	assert_in_range(p.limit_mcpu, 900, 1100);
}

/* Under the rate (though its window was over once): never throttled. */
static void test_under_rate_untouched(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(600, 60000);

	pod_init(&p, "apps", 0.9, 0, 10.0, 60000); /* 9 W */
	run(&p, &b, 600, 0);
	assert_int_equal(p.throttles, 0);
	assert_int_equal(p.last.verdict, THR_KEEP);
}

/* The floor: a budget no CPU limit can meet ends at minCPU, never below. */
static void test_floor(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(60, 60000); /* 1 W, but 2 W idle share alone */

	run_throttled(&p, &b, 2.0, 2.0, 600);
	assert_int_equal(p.limit_mcpu, EP_THROTTLE_MIN_MCPU_DEFAULT);
	assert_int_equal(p.restores, 0);
	b.throttle.min_mcpu = 250;
	pod_init(&p, "apps", 2.0, 2.0, 10.0, 60000);
	run(&p, &b, 600, 0);
	assert_int_equal(p.limit_mcpu, 250);
}

/* The cap: an upward adjustment never passes the pod's own limit (or the node's CPUs). */
static void test_cap(void **s)
{
	(void)s;
	struct thr_state st;
	struct thr_input in;
	struct thr_decision d;
	struct ep_budget b = budget(600, 60000);

	step_init(&st, &in, &b, 110000);
	st.throttled = true;
	st.limit_mcpu = 380;
	st.has_ref = true;
	st.ref_ms = 100000;
	in.cap_mcpu = 400;
	in.joules_total = 20;  /* 2 W over 10 s: far under the 10 W rate */
	in.cpu_s_total = 3.8;  /* at its limit */
	in.window_joules = 580; /* over 90 %: not restored */
	in.span_ms = 60000;
	assert_int_equal(throttle_step(&st, &in, &d), 0);
	assert_int_equal(d.verdict, THR_ADJUST);
	assert_int_equal(d.limit_mcpu, 400); /* x4 wanted, the cap kept */
	assert_int_equal(st.limit_mcpu, 400);
	/* at the cap: no further change */
	in.now_ms += 10000; /* the settle period */
	in.joules_total += 20;
	assert_int_equal(throttle_step(&st, &in, &d), 0);
	in.now_ms += 10000;
	in.joules_total += 20;
	assert_int_equal(throttle_step(&st, &in, &d), 0);
	assert_int_equal(d.verdict, THR_KEEP);
	assert_int_equal(st.limit_mcpu, 400);
}

/* Demand falls: restored once a full window is below 90 % of the budget. */
static void test_restore_on_recovery(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(600, 60000);

	run_throttled(&p, &b, 2.0, 0, 300);
	p.demand_cores = 0.5; /* 5 W */
	uint64_t t0 = p.t_ms;
	run(&p, &b, 150, 0);
	assert_int_equal(p.restores, 1);
	assert_int_equal(p.last_change_ms > t0, 1);
	assert_true(p.last_change_ms - t0 <= 60000 + thr_period_ms(60000) + 1000);
	assert_true(p.last_change_ms - t0 >= 5000); /* not before the window got under 540 J */
	run(&p, &b, 600, 0);
	assert_int_equal(p.throttles, 1); /* stays restored */
}

/* The budget is raised: restored within two windows. */
static void test_restore_on_budget_raised(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(600, 60000);

	run_throttled(&p, &b, 2.0, 0, 300);
	b.max_joules = 6000;
	uint64_t t0 = p.t_ms;
	run(&p, &b, 120, 0);
	assert_int_equal(p.restores, 1);
	assert_true(p.last_change_ms - t0 <= 2 * 60000);
	assert_int_equal(p.last.reason == THR_R_UNDER_BUDGET || p.restores == 1, 1);
	run(&p, &b, 600, 0); /* 20 W x 60 s = 1200 J < 6000 J */
	assert_int_equal(p.throttles, 1);
}

/* Just under the hysteresis line: the pod at the cap is not restored (no flapping). */
static void test_hysteresis_band(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(600, 60000);

	run_throttled(&p, &b, 2.0, 0, 300);
	/* demand falls to 95 % of the rate: under the budget, above the 90 % line */
	p.demand_cores = 0.95;
	run(&p, &b, 1200, 0);
	assert_int_equal(p.restores, 0);
	/* to 80 %: restored */
	p.demand_cores = 0.8;
	run(&p, &b, 200, 0);
	assert_int_equal(p.restores, 1);
}

/* The policy goes (or stops selecting the pod, or its action changes): restored at
 * once. */
static void test_restore_on_policy_removal(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(600, 60000);

	run_throttled(&p, &b, 2.0, 0, 300);
	uint64_t t0 = p.t_ms;
	run(&p, NULL, 1, 0);
	assert_int_equal(p.restores, 1);
	assert_int_equal(p.last.verdict, THR_RESTORE);
	assert_int_equal(p.last.reason, THR_R_NOT_SELECTED);
	assert_int_equal(p.last_change_ms, t0 + 1000);
	assert_string_equal(thr_reason_name(p.last.reason), "NotSelected");
	/* back under a policy whose budget only sends Events: never throttled */
	struct ep_budget ev = b;
	ev.action = EP_ACTION_EVENT;
	run(&p, &ev, 600, 0);
	assert_int_equal(p.throttles, 1);
	/* action changed from throttle to annotate while throttled: restored */
	run(&p, &b, 300, 0);
	assert_int_equal(p.throttles, 2);
	ev.action = EP_ACTION_ANNOTATE;
	run(&p, &ev, 1, 0);
	assert_int_equal(p.restores, 2);
}

/* Not selected / system namespaces: untouched unless the budget allows them. */
static void test_not_selected_and_system_ns(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(60, 60000);
	const char *sys[] = { "kube-system", "kube-public", "kube-node-lease" };

	pod_init(&p, "apps", 4.0, 0, 10.0, 60000);
	run(&p, NULL, 600, 0);
	assert_int_equal(p.throttles, 0);
	for (size_t i = 0; i < 3; i++) {
		pod_init(&p, sys[i], 4.0, 0, 10.0, 60000);
		run(&p, &b, 600, 0);
		assert_int_equal(p.throttles, 0);
		assert_int_equal(p.last.reason, THR_R_SYSTEM_NS);
	}
	assert_false(thr_system_namespace("kube-systems"));
	assert_false(thr_system_namespace("default"));
	b.throttle.system_namespaces = true;
	pod_init(&p, "kube-system", 4.0, 0, 10.0, 60000);
	run(&p, &b, 600, 0);
	assert_int_equal(p.throttles, 1);
	/* the allowance withdrawn while throttled: restored */
	b.throttle.system_namespaces = false;
	run(&p, &b, 1, 0);
	assert_int_equal(p.restores, 1);
	assert_int_equal(p.last.reason, THR_R_SYSTEM_NS);
}

/* A fresh controller (the agent restarted; the old one's limit was restored at start)
 * on a pod still over: throttled again within one window, as the partial window that
 * already exceeds is conclusive. */
static void test_fresh_start_rethrottles(void **s)
{
	(void)s;
	struct simpod p;
	struct ep_budget b = budget(600, 60000);

	run_throttled(&p, &b, 2.0, 0, 300);
	/* restart: the record restored the pod's own limit; new state and window */
	p.limit_mcpu = 0;
	memset(&p.st, 0, sizeof(p.st));
	assert_int_equal(ep_ring_init(&p.ring, 60000), 0);
	uint64_t t0 = p.t_ms;
	run(&p, &b, 60, 0);
	assert_int_equal(p.throttles, 2);
	assert_true(p.last_change_ms - t0 <= 60000);
}

/* Counters or the clock going back start a new period, never a wild verdict. */
static void test_bad_input_and_resets(void **s)
{
	(void)s;
	struct thr_state st;
	struct thr_input in;
	struct thr_decision d;
	struct ep_budget b = budget(600, 60000);

	step_init(&st, &in, &b, 100000);
	in.joules_total = NAN;
	assert_int_equal(throttle_step(&st, &in, &d), -EINVAL);
	in.joules_total = -1;
	assert_int_equal(throttle_step(&st, &in, &d), -EINVAL);
	in.joules_total = 1000;
	in.window_joules = INFINITY;
	assert_int_equal(throttle_step(&st, &in, &d), -EINVAL);
	assert_int_equal(throttle_step(NULL, &in, &d), -EINVAL);
	in.window_joules = 5000;
	in.cpu_s_total = 10;
	assert_int_equal(throttle_step(&st, &in, &d), 0); /* first look: reference */
	assert_int_equal(d.verdict, THR_KEEP);
	in.now_ms += 20000;
	in.joules_total = 10; /* counter restarted */
	assert_int_equal(throttle_step(&st, &in, &d), 0);
	assert_int_equal(d.verdict, THR_KEEP);
	in.now_ms += 20000;
	in.joules_total = 10 + 20 * 50; /* 50 W, 2 cores */
	in.cpu_s_total = 10 + 40;
	assert_int_equal(throttle_step(&st, &in, &d), 0);
	assert_int_equal(d.verdict, THR_THROTTLE);
	assert_float_equal(d.watts, 50, 1e-9);
	assert_float_equal(d.cores, 2, 1e-9);
	/* 2 cores x 10 W / 50 W = 400m */
	assert_int_equal(d.limit_mcpu, 400);
	assert_int_equal(thr_period_ms(60000), 10000);
	assert_int_equal(thr_period_ms(1000), THR_PERIOD_MIN_MS);
	assert_int_equal(thr_period_ms(3600000), THR_PERIOD_MAX_MS);
}

/* ---- budgets[].throttle ------------------------------------------------------------ */

static struct energypolicy *parse(const char *budget_json, struct wl_err *e)
{
	char buf[2048];
	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u-1\","
		 "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"budgets\":[%s]}}",
		 budget_json);
	json_t *o = json_loads(buf, 0, NULL);
	assert_non_null(o);
	struct energypolicy *p = energypolicy_parse(o, e);
	json_decref(o);
	return p;
}

static void test_parse_throttle(void **s)
{
	(void)s;
	struct wl_err e = { { 0 } };
	struct energypolicy *p;

	p = parse("{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":600,\"action\":\"throttle\"}", &e);
	if (!p)
		fail_msg("%s", e.msg);
	assert_int_equal(p->budgets[0].action, EP_ACTION_THROTTLE);
	assert_int_equal(p->budgets[0].throttle.min_mcpu, 10);
	assert_int_equal(p->budgets[0].throttle.method, EP_THROTTLE_RESIZE);
	assert_false(p->budgets[0].throttle.system_namespaces);
	assert_string_equal(ep_action_name(EP_ACTION_THROTTLE), "throttle");
	energypolicy_free(p);

	p = parse("{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":600,\"action\":\"throttle\","
		  "\"throttle\":{\"minCPU\":\"0.25\",\"method\":\"cgroup\",\"allowSystemNamespace\":true}}",
		  &e);
	if (!p)
		fail_msg("%s", e.msg);
	assert_int_equal(p->budgets[0].throttle.min_mcpu, 250);
	assert_int_equal(p->budgets[0].throttle.method, EP_THROTTLE_CGROUP);
	assert_true(p->budgets[0].throttle.system_namespaces);
	energypolicy_free(p);

	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":1,\"throttle\":{}}",
		  "spec.budgets[0].throttle: only with action throttle (action is event)" },
		{ "{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":1,\"action\":\"throttle\","
		  "\"throttle\":{\"minCPU\":\"0.1m\"}}",
		  "spec.budgets[0].throttle.minCPU: '0.1m' is not a CPU quantity" },
		{ "{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":1,\"action\":\"throttle\","
		  "\"throttle\":{\"minCPU\":\"lots\"}}",
		  "spec.budgets[0].throttle.minCPU: 'lots'" },
		{ "{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":1,\"action\":\"throttle\","
		  "\"throttle\":{\"method\":\"kill\"}}",
		  "spec.budgets[0].throttle.method: unknown method 'kill' (resize or cgroup)" },
		{ "{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":1,\"action\":\"throttle\","
		  "\"throttle\":{\"cpu\":1}}",
		  "spec.budgets[0].throttle.cpu: unknown field" },
		{ "{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":1,\"action\":\"throttle\","
		  "\"throttle\":{\"allowSystemNamespace\":\"yes\"}}",
		  "spec.budgets[0].throttle.allowSystemNamespace: not a boolean" },
		{ "{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":1,\"action\":\"throttle\","
		  "\"throttle\":[]}",
		  "spec.budgets[0].throttle: not an object" },
		{ "{\"name\":\"a\",\"window\":\"1m\",\"maxJoules\":1,\"action\":\"slow\"}",
		  "unknown action 'slow' (event, annotate or throttle)" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		p = parse(bad[i].json, &e);
		if (p)
			fail_msg("accepted: %s", bad[i].json);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("%s: got '%s', want '%s'", bad[i].json, e.msg, bad[i].msg);
	}
}

/* status.throttledPods: written only for a policy with a throttle budget, per node and
 * summed over the nodes' entries; a change is not "current". */
static void test_status_throttled_pods(void **s)
{
	(void)s;
	struct wl_err e = { { 0 } };
	struct policy_set *set = policy_set_new();
	struct policy_entry_info who;
	struct ep_status_in in;
	struct ep_node_part own;
	const uint64_t now = 1795595400ull * 1000000000ull; /* 2026-11-25T08:30:00Z */
	json_t *o = json_loads(
		"{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u-1\","
		"\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"budgets\":[{\"name\":"
		"\"a\",\"window\":\"1m\",\"maxJoules\":600,\"action\":\"throttle\"}]},"
		"\"status\":{\"nodes\":[{\"node\":\"node-2\",\"matchedPods\":3,\"throttledPods\":2,"
		"\"totalJoules\":10,\"lastUpdateTime\":\"2026-11-25T08:29:55Z\"}]}}",
		0, NULL);
	assert_non_null(o);
	assert_int_equal(policy_set_upsert(set, o, &e), 0);
	assert_int_equal(policy_set_at(set, 0, &who), 0);
	memset(&own, 0, sizeof(own));
	own.node = "node-1";
	own.matched_pods = 2;
	own.throttled_pods = 1;
	own.total_joules = 5;
	own.real_ns = now;
	json_t *nb = ep_status_node_build(&who, &own, &e);
	assert_non_null(nb);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(
				 json_object_get(nb, "status"), "nodes"), 0), "throttledPods")), 1);
	json_decref(nb);
	assert_int_equal(ep_status_sum(&who, "node-1", &own, now, 600000, &in), 2);
	assert_int_equal(in.matched_pods, 5);
	assert_int_equal(in.throttled_pods, 3);
	json_t *b = ep_status_build(&who, &in, &e);
	assert_non_null(b);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "status"), "throttledPods")), 3);
	assert_false(ep_status_current(&who, b)); /* the watched status has no top-level sums */
	json_decref(b);
	json_decref(o);

	/* the same policy with action event: no throttledPods anywhere */
	o = json_loads("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\",\"uid\":\"u-1\","
		       "\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"budgets\":[{\"name\":"
		       "\"a\",\"window\":\"1m\",\"maxJoules\":600}]},\"status\":{\"matchedPods\":2,"
		       "\"totalJoules\":5}}",
		       0, NULL);
	assert_int_equal(policy_set_upsert(set, o, &e), 0);
	assert_int_equal(policy_set_at(set, 0, &who), 0);
	nb = ep_status_node_build(&who, &own, &e);
	assert_null(json_object_get(json_array_get(json_object_get(json_object_get(nb, "status"), "nodes"), 0),
				    "throttledPods"));
	json_decref(nb);
	memset(&in, 0, sizeof(in));
	in.matched_pods = 2;
	in.total_joules = 5;
	in.now_real_ns = now;
	b = ep_status_build(&who, &in, &e);
	assert_null(json_object_get(json_object_get(b, "status"), "throttledPods"));
	/* the API server showing exactly that status: current (absent on both sides) */
	json_object_set(o, "status", json_object_get(b, "status"));
	assert_int_equal(policy_set_upsert(set, o, &e), 0);
	assert_int_equal(policy_set_at(set, 0, &who), 0);
	assert_true(ep_status_current(&who, b));
	json_decref(b);
	json_decref(o);
	policy_set_free(set);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_throttle_converges_no_flap),
	cmocka_unit_test(test_throttle_within_two_windows),
	cmocka_unit_test(test_under_rate_untouched),
	cmocka_unit_test(test_floor),
	cmocka_unit_test(test_cap),
	cmocka_unit_test(test_restore_on_recovery),
	cmocka_unit_test(test_restore_on_budget_raised),
	cmocka_unit_test(test_hysteresis_band),
	cmocka_unit_test(test_restore_on_policy_removal),
	cmocka_unit_test(test_not_selected_and_system_ns),
	cmocka_unit_test(test_fresh_start_rethrottles),
	cmocka_unit_test(test_bad_input_and_resets),
	cmocka_unit_test(test_parse_throttle),
	cmocka_unit_test(test_status_throttled_pods))
