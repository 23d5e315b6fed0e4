/* test_kube_budget.c - the cluster-wide write budget: its arithmetic (kube_budget), the
 * node count parser (kube_nodecount), and the writer paced by it, with an injected
 * clock and transport (10 x 100 keeps 60 s; 1,000 x 100 and 5,000 x 50 stay within
 * 50 writes/s with the stated freshness; new pods, starvation, rollout burst, unknown
 * node count); then the node count queried from tls_server.py over HTTPS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "agent/kube/kube_budget.h"
#include "agent/kube/kube_nodecount.h"
#include "agent/kube/kube_writer.h"
#include "test_kube_server.h"
#include "test/unit/fixture_kube_writer.h"

/* ---- arithmetic ------------------------------------------------------------------------- */

static void test_share(void **st)
{
	(void)st;
	assert_float_equal(kube_budget_share(50, 2, 1), 2, 1e-12);
	assert_float_equal(kube_budget_share(50, 2, 10), 2, 1e-12);	  /* ceiling */
	assert_float_equal(kube_budget_share(50, 2, 100), 0.5, 1e-12);
	assert_float_equal(kube_budget_share(50, 2, 500), 0.1, 1e-12);	  /* a Lease's rate */
	assert_float_equal(kube_budget_share(50, 2, 1000), 0.05, 1e-12);
	assert_float_equal(kube_budget_share(50, 2, 5000), 0.01, 1e-12);
	/* unknown: the conservative rate, never the ceiling */
	assert_float_equal(kube_budget_share(50, 2, 0), KB_UNKNOWN_SHARE, 1e-12);
	assert_true(KB_UNKNOWN_SHARE <= 0.1);
	assert_float_equal(kube_budget_share(50, 0.05, 0), 0.05, 1e-12); /* below: the ceiling */
	assert_float_equal(kube_budget_share(0.02, 0, 0), 0.02, 1e-12);  /* below: the budget */
	assert_float_equal(kube_budget_share(50, 0, 10), 5, 1e-12);	  /* no ceiling */
	assert_float_equal(kube_budget_share(0, 2, 10), 0, 0);		  /* off */
	assert_float_equal(kube_budget_share(NAN, 2, 10), 0, 0);
}

static void test_valid(void **st)
{
	(void)st;
	assert_int_equal(kube_budget_valid(50, 2), 1);
	assert_int_equal(kube_budget_valid(0, 0), 0);
	assert_int_equal(kube_budget_valid(0, 2), 0);
	assert_int_equal(kube_budget_valid(-1, 2), -EINVAL);
	assert_int_equal(kube_budget_valid(50, -2), -EINVAL);
	assert_int_equal(kube_budget_valid(NAN, 2), -EINVAL);
	assert_int_equal(kube_budget_valid(50, NAN), -EINVAL);
	assert_int_equal(kube_budget_valid(INFINITY, 2), -EINVAL);
	assert_int_equal(kube_budget_valid(50, 0), -EINVAL); /* a budget needs a ceiling */
}

static void test_stretch_floor_burst(void **st)
{
	double d = 100.0 / 60 + 1.0 / 30; /* 100 pods at 60 s, NodeEnergy at 30 s */
	(void)st;
	assert_float_equal(kube_budget_stretch(d, 2), 1, 0);	      /* 10 nodes: 60 s stays */
	assert_float_equal(kube_budget_stretch(d, 0.05), 34, 1e-9);   /* 1,000 nodes */
	assert_float_equal(kube_budget_stretch(d, 0), 1, 0);	      /* off */
	assert_float_equal(kube_budget_stretch(NAN, 1), 1, 0);
	/* 60 s * 34 = 2040 s = (P + 2) / share */
	assert_float_equal(60 * kube_budget_stretch(d, 0.05), 102 / 0.05, 1e-6);
	assert_float_equal(kube_budget_floor(60, 1, 10), 600, 0);     /* the old floor */
	assert_float_equal(kube_budget_floor(60, 3.4, 10), 600, 1e-9);
	assert_float_equal(kube_budget_floor(60, 34, 10), 2040, 1e-9); /* stretched past it */
	assert_float_equal(kube_budget_floor(60, 34, 0), 2040, 1e-9);
	assert_float_equal(kube_budget_burst(2, 10), 10, 0);
	assert_float_equal(kube_budget_burst(5, 10), 10, 0);
	assert_float_equal(kube_budget_burst(0.05, 10), 2, 0); /* a create needs two */
	assert_float_equal(kube_budget_burst(1, 10), 5, 0);
}

static void test_next_query(void **st)
{
	uint64_t t0 = 1000 * S_NS, lo = UINT64_MAX, hi = 0;
	(void)st;
	for (int i = 0; i < 100; i++) {
		uint64_t t = kube_budget_next_query_ns(t0, true, i / 100.0);
		if (t < lo)
			lo = t;
		if (t > hi)
			hi = t;
	}
	assert_true(lo >= t0 + (uint64_t)(KB_REFRESH_S * (1 - KB_JITTER)) * S_NS);
	assert_true(hi <= t0 + (uint64_t)(KB_REFRESH_S * (1 + KB_JITTER)) * S_NS);
	assert_true(hi - lo > 100 * S_NS); /* jittered, so agents do not ask in step */
	assert_int_equal(kube_budget_next_query_ns(t0, false, 0.5), t0 + KB_RETRY_S * S_NS);
	assert_int_equal(kube_budget_next_query_ns(t0, true, NAN), kube_budget_next_query_ns(t0, true, 0));
}

static long parse(const char *s, struct wl_err *e)
{
	return kube_nodecount_parse(s, strlen(s), e);
}

static void test_nodecount_parse(void **st)
{
	struct wl_err e = { { 0 } };
	(void)st;
	assert_int_equal(parse("{\"kind\":\"NodeList\",\"metadata\":{\"continue\":\"x\","
			       "\"remainingItemCount\":4999},\"items\":[{}]}", &e), 5000);
	assert_int_equal(parse("{\"kind\":\"NodeList\",\"metadata\":{},\"items\":[{}]}", &e), 1);
	assert_int_equal(parse("{\"kind\":\"NodeList\",\"metadata\":{},\"items\":[]}", &e), 0);
	assert_int_equal(parse("{\"metadata\":{},\"items\":[{},{}]}", &e), 2); /* no kind */
	assert_int_equal(parse("{\"kind\":\"NodeList\",\"metadata\":{\"continue\":\"x\"},"
			       "\"items\":[{}]}", &e), -ENODATA);
	assert_non_null(strstr(e.msg, "remainingItemCount"));
	assert_int_equal(parse("{\"kind\":\"NodeList\",\"metadata\":{\"remainingItemCount\":-3},"
			       "\"items\":[{}]}", &e), -EINVAL);
	assert_int_equal(parse("{\"kind\":\"NodeList\",\"metadata\":{\"remainingItemCount\":\"7\"},"
			       "\"items\":[{}]}", &e), -EINVAL);
	assert_int_equal(parse("{\"kind\":\"Status\",\"code\":403}", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "Status"));
	assert_int_equal(parse("<html>", &e), -EINVAL);
	assert_int_equal(parse("[1]", &e), -EINVAL);
	assert_int_equal(kube_nodecount_parse(NULL, 0, &e), -EINVAL);
	/* not terminated: only len bytes count */
	assert_int_equal(kube_nodecount_parse("{\"items\":[]}garbage", 12, &e), 0);
}

/* ---- the writer paced by the budget --------------------------------------------------------- */

#define MAXP 128

/* Transport: counts requests, and per pod (name "p<i>") its status writes: first and
 * last time, the longest gap between two in the window, the order of the first 16. The
 * window (the win_ counts) starts at warm_ns; none when warm_ns is 0. */
struct bfake {
	struct fclock *c;
	uint64_t warm_ns;
	uint64_t requests, win_requests, creates, node_status, applies, win_applies;
	uint64_t first_req_ns;
	double first[MAXP], last[MAXP], maxgap[MAXP];
	unsigned n[MAXP];
	int order[16];
	int n_order;
	long refresh_s, max_refresh_s; /* from the last pod status body */
};

static bool in_window(const struct bfake *f)
{
	return f->warm_ns && f->c->t >= f->warm_ns;
}

static int bfake_send(void *ud, const char *method, const char *path, const char *body,
		      const char *ct, long *status, struct wl_err *e)
{
	struct bfake *f = ud;
	const char *pe = strstr(path, "/podenergies/p");
	double now = (double)f->c->t / 1e9;
	(void)method;
	(void)ct;
	(void)e;
	if (!f->requests)
		f->first_req_ns = f->c->t;
	f->requests++;
	if (in_window(f))
		f->win_requests++;
	*status = 200;
	if (strstr(path, "/energypolicies/")) {
		f->applies++;
		if (in_window(f))
			f->win_applies++;
		return 0;
	}
	if (!strstr(path, "/status?")) {
		f->creates++;
		return 0;
	}
	if (strstr(path, "/nodeenergies/")) {
		f->node_status++;
		return 0;
	}
	if (pe) {
		int i = atoi(pe + strlen("/podenergies/p"));
		json_t *j = json_loads(body, 0, NULL);
		json_t *s = json_object_get(j, "status");
		assert_true(i >= 0 && i < MAXP);
		f->refresh_s = (long)json_integer_value(json_object_get(s, "refreshIntervalSeconds"));
		f->max_refresh_s =
			(long)json_integer_value(json_object_get(s, "maxRefreshIntervalSeconds"));
		json_decref(j);
		if (!f->n[i])
			f->first[i] = now;
		else if (in_window(f) && now - f->last[i] > f->maxgap[i])
			f->maxgap[i] = now - f->last[i];
		f->last[i] = now;
		f->n[i]++;
		if (f->n_order < 16)
			f->order[f->n_order++] = i;
	}
	return 0;
}

static struct kube_writer *mkbw(struct bfake *f, struct fclock *c, unsigned nodes, double budget,
				double ceiling)
{
	struct kube_writer_opts o = { 0 };

	o.max_pods = 256;
	o.cluster_budget_per_s = budget;
	o.node_ceiling_per_s = ceiling;
	o.node_count_override = nodes;
	f->c = c;
	return fixture_kw_new(bfake_send, f, c, &o);
}

/* One tick: every pod offered (busy ones with a new model string, so each counts as
 * changed; idle ones unchanged), the node offered, the writer run. */
static void tick(struct kube_writer *w, int np, int nbusy, uint64_t t)
{
	char name[16], model[32];
	struct kw_node n = { 0 };
	for (int i = 0; i < np; i++) {
		struct kw_pod p = { 0 };
		snprintf(name, sizeof(name), "p%d", i);
		snprintf(model, sizeof(model), "m%llu", i < nbusy ? (unsigned long long)t : 0ull);
		p.ns = "ns";
		p.name = p.uid = name;
		p.node = "node-1";
		p.model = model;
		p.watts = 1;
		p.joules = 100;
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	}
	n.name = "node-1";
	n.watts = 10;
	n.joules = 1000;
	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	kube_writer_run_once(w, NULL);
}

struct simres {
	double req_per_s;     /* requests/s in the steady window */
	double max_gap_s;     /* longest gap between two status writes of one pod */
	double mean_gap_s;
	double last_first_s;  /* when the last pod got its first status (from start) */
	struct kube_writer_stats st;
};

/* nodes x np pods (nbusy of them changing every tick) for `hours`, ticks of tick_s;
 * the steady window starts at warm_h hours. */
static void sim(unsigned nodes, int np, int nbusy, double tick_s, double hours, double warm_h,
		struct simres *r)
{
	struct bfake f = { 0 };
	struct fclock c = { 1000 * S_NS };
	uint64_t t0 = c.t, dt = (uint64_t)(tick_s * 1e9);
	struct kube_writer *w;
	double sum = 0;
	unsigned cnt = 0;

	f.warm_ns = t0 + (uint64_t)(warm_h * 3600e9);
	w = mkbw(&f, &c, nodes, 50, 2);
	for (uint64_t k = 0; (double)(k * dt) < hours * 3600e9; k++) {
		tick(w, np, nbusy, k);
		c.t += dt;
	}
	memset(r, 0, sizeof(*r));
	r->req_per_s = (double)f.win_requests / ((hours - warm_h) * 3600);
	for (int i = 0; i < np; i++) {
		assert_true(f.n[i] > 0); /* every pod written */
		if (f.maxgap[i] > r->max_gap_s)
			r->max_gap_s = f.maxgap[i];
		if (f.first[i] - (double)t0 / 1e9 > r->last_first_s)
			r->last_first_s = f.first[i] - (double)t0 / 1e9;
		if (f.n[i] > 1) {
			sum += (f.last[i] - f.first[i]) / (f.n[i] - 1);
			cnt++;
		}
	}
	r->mean_gap_s = cnt ? sum / cnt : 0;
	kube_writer_stats(w, &r->st);
	printf("budget 50/s, ceiling 2/s: %u nodes x %d pods (%d changing every tick), %.0f s "
	       "ticks, %.1f h: share %.3f/s, stretch %.2f, PodEnergy every %u s (at most %u s); "
	       "steady %.4f requests/s per node = %.1f/s for the cluster; pod gaps mean %.0f s, "
	       "max %.0f s; all first writes done after %.0f s\n",
	       nodes, np, nbusy, tick_s, hours, r->st.share_per_s, r->st.stretch,
	       r->st.pod_interval_s, r->st.pod_max_interval_s, r->req_per_s,
	       r->req_per_s * nodes, r->mean_gap_s, r->max_gap_s, r->last_first_s);
	kube_writer_free(w);
}

/* 10 nodes x 100 pods that change every tick: the budget does not bind, 60 s stays
 * (17 writes/s in all). */
static void test_10x100_keeps_60s(void **st)
{
	struct simres r;
	(void)st;
	sim(10, 100, 100, 1, 1, 0.25, &r);
	assert_float_equal(r.st.share_per_s, 2, 1e-12);
	assert_float_equal(r.st.stretch, 1, 0);
	assert_int_equal(r.st.pod_interval_s, 60);
	assert_int_equal(r.st.pod_max_interval_s, 600);
	assert_true(r.mean_gap_s >= 60 && r.mean_gap_s <= 61.5);
	assert_true(r.max_gap_s <= 63);
	/* 100/60 + 1/30 = 1.70/s per node, 17/s for 10 nodes */
	assert_true(r.req_per_s > 1.6 && r.req_per_s < 1.75);
	assert_true(r.req_per_s * 10 <= 50);
}

/* 1,000 nodes x 100 pods, all changing: share 0.05/s, every PodEnergy at least every
 * (P + 2) / share = 2040 s, the cluster within 50/s. */
static void test_1000x100_within_budget(void **st)
{
	struct simres r;
	(void)st;
	sim(1000, 100, 100, 10, 8, 2, &r);
	assert_float_equal(r.st.share_per_s, 0.05, 1e-12);
	assert_float_equal(r.st.stretch, 34, 1e-6);
	assert_int_equal(r.st.pod_interval_s, 2040);
	assert_int_equal(r.st.pod_max_interval_s, 2040);
	assert_true(r.req_per_s <= 0.05 * 1.001);
	assert_true(r.req_per_s * 1000 <= 50.05);
	assert_true(r.req_per_s >= 0.045); /* and it uses it: not starved by a bug */
	/* freshness: 2040 s, plus a token (20 s) and a tick (10 s) */
	assert_true(r.max_gap_s <= 2040 + 20 + 10);
	/* the first writes of a whole-cluster rollout: 202 requests at 0.05/s, and the
	 * NodeEnergy's refreshes (every 1020 s) meanwhile */
	assert_true(r.last_first_s <= (202 + 5) / 0.05 + 10);
}

/* 5,000 nodes x 50 pods: share 0.01/s, at least every (50 + 2) / 0.01 = 5200 s. */
static void test_5000x50_within_budget(void **st)
{
	struct simres r;
	(void)st;
	/* the rollout's first writes take (2 * 50 + 2) / 0.01 = 10,200 s, ahead of refreshes;
	 * the steady window starts well after */
	sim(5000, 50, 50, 30, 30, 12, &r);
	assert_float_equal(r.st.share_per_s, 0.01, 1e-12);
	assert_int_equal(r.st.pod_interval_s, 5200); /* (50 + 2) / 0.01 */
	assert_true(r.req_per_s <= 0.01 * 1.001);
	assert_true(r.req_per_s * 5000 <= 50.05);
	assert_true(r.max_gap_s <= 5200 + 100 + 30);
}

/* Half the pods change every tick, half never: nobody starves (every pod within its
 * floor), at 100 nodes (share 0.5/s: stretch 3.4, changing pods every 204 s, idle ones
 * at the 600 s floor) and at 1,000. */
static void test_no_starvation(void **st)
{
	struct simres r;
	(void)st;
	sim(100, 100, 50, 1, 2, 0.5, &r);
	assert_int_equal(r.st.pod_interval_s, 204);
	assert_int_equal(r.st.pod_max_interval_s, 600);
	assert_true(r.max_gap_s <= 600 + 2 + 1);
	assert_true(r.req_per_s <= 0.5);
	sim(1000, 100, 50, 10, 8, 2, &r);
	assert_true(r.max_gap_s <= 2040 + 20 + 10);
	assert_true(r.req_per_s <= 0.05 * 1.001);
}

/* EnergyPolicy status applies offered far beyond the share (4 keys every 10 s: 0.4/s
 * against 0.05/s) get at most half of it while pods wait, and the pods' intervals
 * stretch around what they use: nobody starves, the total stays within the share. */
static void test_status_applies_share(void **st)
{
	struct bfake f = { 0 };
	struct fclock c = { 1000 * S_NS };
	struct kube_writer *w = mkbw(&f, &c, 1000, 50, 2);
	struct kube_writer_stats s;
	const double hours = 6, warm_h = 2, win = (hours - warm_h) * 3600;
	double maxgap = 0;
	char key[16], path[96];
	(void)st;
	f.warm_ns = c.t + (uint64_t)(warm_h * 3600e9);
	for (uint64_t k = 0; k < (uint64_t)(hours * 3600); k++) {
		if (k % 10 == 0)
			for (int i = 0; i < 4; i++) {
				snprintf(key, sizeof(key), "pol-%d", i);
				snprintf(path, sizeof(path),
					 "/apis/wattlet.dev/v1alpha1/energypolicies/pol-%d/status", i);
				assert_int_equal(kube_writer_offer_status(w, key, path, NULL,
									  "{\"status\":{}}"), 0);
			}
		tick(w, 20, 20, k);
		c.t += S_NS;
	}
	kube_writer_stats(w, &s);
	for (int i = 0; i < 20; i++) {
		assert_true(f.n[i] > 1); /* every pod refreshed */
		if (f.maxgap[i] > maxgap)
			maxgap = f.maxgap[i];
	}
	printf("status applies offered at 0.4/s, share 0.05/s, 20 pods: applies %.4f/s, all "
	       "requests %.4f/s; set aside %.4f/s, stretch %.2f, PodEnergy at least every %u s, "
	       "longest gap %.0f s\n", f.win_applies / win, f.win_requests / win, s.other_per_s,
	       s.stretch, s.pod_max_interval_s, maxgap);
	assert_true(f.win_requests / win <= 0.05 * 1.001);
	assert_true(f.win_applies / win <= 0.025 * 1.01 + 1 / win);
	assert_true(f.win_applies / win >= 0.02); /* not starved either */
	assert_true(s.other_per_s > 0.02 && s.other_per_s <= 0.025);
	assert_true(maxgap <= s.pod_max_interval_s + 2 / 0.05 + 2);
	kube_writer_free(w);
}

/* Agents started in the same instant do not send in step: each bucket starts at a random
 * phase of the first create's two tokens. 20 nodes at 2/s each need 1-2 s for their
 * first pair; in step (the bucket at 0 everywhere) all 20 would send in the same 100 ms. */
static void test_rollout_phase(void **st)
{
	enum { NW = 20 };
	static struct bfake f[NW];
	struct kube_writer *w[NW];
	struct fclock c = { 1000 * S_NS };
	uint64_t t0 = c.t;
	int bins[30] = { 0 }, most = 0;
	char name[32];
	(void)st;
	memset(f, 0, sizeof(f));
	for (int i = 0; i < NW; i++) {
		struct kube_writer_opts o = { 0 };
		snprintf(name, sizeof(name), "node-%02d", i);
		o.max_pods = 256;
		o.node_name = name;
		o.cluster_budget_per_s = 50;
		o.node_ceiling_per_s = 2;
		o.node_count_override = NW;
		f[i].c = &c;
		w[i] = fixture_kw_new(bfake_send, &f[i], &c, &o);
	}
	for (int s = 0; s < 30; s++) { /* 3 s in 100 ms steps */
		for (int i = 0; i < NW; i++)
			tick(w[i], 1, 1, (uint64_t)s);
		c.t += S_NS / 10;
	}
	for (int i = 0; i < NW; i++) {
		int b;
		assert_true(f[i].requests > 0);
		b = (int)((f[i].first_req_ns - t0) / (S_NS / 10));
		assert_true(b >= 0 && b < 30);
		if (++bins[b] > most)
			most = bins[b];
		kube_writer_free(w[i]);
	}
	printf("rollout phase: at most %d of %d nodes sent their first request in the same "
	       "100 ms\n", most, NW);
	assert_true(most <= 10);
}

/* A new pod in a 1,000-node cluster's steady state gets its first write within three
 * tokens (create + status, maybe after the NodeEnergy) and a tick, ahead of due ones. */
static void test_new_pod_prompt(void **st)
{
	struct bfake f = { 0 };
	struct fclock c = { 1000 * S_NS };
	struct kube_writer *w = mkbw(&f, &c, 1000, 50, 2);
	uint64_t dt = 10 * S_NS, k, added;
	(void)st;
	for (k = 0; k < 3 * 360; k++) { /* 3 h: the rollout is done */
		tick(w, 100, 100, k);
		c.t += dt;
	}
	assert_int_equal(f.n[100], 0);
	added = c.t;
	for (; f.n[100] == 0 && k < 4 * 360; k++) {
		tick(w, 101, 101, k);
		c.t += dt;
	}
	printf("new pod at 1,000 nodes: first status after %.0f s (share 0.05/s)\n",
	       f.first[100] - (double)added / 1e9);
	assert_true(f.n[100] == 1);
	assert_true(f.first[100] - (double)added / 1e9 <= 3 / 0.05 + 10);
	kube_writer_free(w);
}

/* Several pods due at once, tokens for two: the most changed go first; an unchanged
 * one waits for its floor. */
static void test_most_changed_first(void **st)
{
	struct bfake f = { 0 };
	struct fclock c = { 1000 * S_NS };
	struct kube_writer *w = mkbw(&f, &c, 100, 50, 2); /* 0.5/s, bucket of 2.5 */
	/* watts change (threshold max(0.1 W, 5 % of 10 W) = 0.5 W): scores 1.6, 6, 0, 3 */
	const double dw[4] = { 0.8, 3.0, 0.0, 1.5 };
	char name[16];
	(void)st;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 4; i++) {
			struct kw_pod p = { 0 };
			snprintf(name, sizeof(name), "p%d", i);
			p.ns = "ns";
			p.name = p.uid = name;
			p.node = "node-1";
			p.model = "m";
			p.watts = 10 + (round ? dw[i] : 0);
			p.joules = 100;
			assert_int_equal(kube_writer_offer_pod(w, &p), 0);
		}
		if (!round) { /* the first writes: 8 requests at 0.5/s */
			for (int s = 0; s < 20; s++) {
				c.t += S_NS;
				kube_writer_run_once(w, NULL);
			}
			assert_int_equal(f.n_order, 4);
			f.n_order = 0;
			/* past the interval (60 s: 4 pods need no stretch), before the
			 * floor (600 s) */
			c.t += 100 * S_NS;
		}
	}
	kube_writer_run_once(w, NULL);
	assert_int_equal(f.n_order, 2);	    /* the bucket: 2.5 tokens */
	assert_int_equal(f.order[0], 1);    /* +3 W */
	assert_int_equal(f.order[1], 3);    /* +1.5 W */
	c.t += 2 * S_NS;
	kube_writer_run_once(w, NULL);
	assert_int_equal(f.n_order, 3);
	assert_int_equal(f.order[2], 0);    /* +0.8 W */
	c.t += 300 * S_NS;
	kube_writer_run_once(w, NULL);
	assert_int_equal(f.n_order, 3);	    /* unchanged: not before its floor */
	c.t += 200 * S_NS;
	kube_writer_run_once(w, NULL);
	assert_int_equal(f.n_order, 4);
	assert_int_equal(f.order[3], 2);
	kube_writer_free(w);
}

/* The start of a whole-cluster rollout: the bucket starts empty, so N agents send
 * N * share = the budget per second from the first second (without a budget: a burst
 * of 10 each at once). */
static void test_rollout_burst(void **st)
{
	struct bfake f = { 0 };
	struct fclock c = { 1000 * S_NS };
	struct kube_writer *w = mkbw(&f, &c, 1000, 50, 2);
	(void)st;
	for (int s = 0; s < 60; s++) {
		tick(w, 100, 100, (uint64_t)s);
		c.t += S_NS;
	}
	printf("rollout, 1,000 nodes: %llu requests per node in the first 60 s (share 0.05/s)\n",
	       (unsigned long long)f.requests);
	assert_true(f.requests <= 3); /* 60 s * 0.05/s */
	kube_writer_free(w);

	memset(&f, 0, sizeof(f));
	w = mkbw(&f, &c, 10, 50, 2);
	tick(w, 100, 100, 0);
	assert_int_equal(f.requests, 0); /* nothing at once */
	for (int s = 0; s < 10; s++) {
		c.t += S_NS;
		tick(w, 100, 100, (uint64_t)s);
	}
	/* 10 s * 2/s, less the random phase of the first pair (at most 2 tokens) */
	assert_true(f.requests >= 16 && f.requests <= 20);
	kube_writer_free(w);

	/* no budget: the old burst of 10 at once */
	memset(&f, 0, sizeof(f));
	f.c = &c;
	w = fixture_kw_new(bfake_send, &f, &c, NULL);
	tick(w, 100, 100, 0);
	assert_int_equal(f.requests, 10);
	kube_writer_free(w);
}

/* Node count unknown (here: an injected transport cannot read it): at most 0.1/s, and
 * the stats say why. */
static void test_unknown_nodes(void **st)
{
	struct bfake f = { 0 };
	struct fclock c = { 1000 * S_NS };
	struct kube_writer *w = mkbw(&f, &c, 0, 50, 2);
	struct kube_writer_stats s;
	(void)st;
	for (int k = 0; k < 3600; k++) {
		tick(w, 100, 100, (uint64_t)k);
		c.t += S_NS;
	}
	kube_writer_stats(w, &s);
	printf("node count unknown: %llu requests in 1 h (%.3f/s)\n",
	       (unsigned long long)f.requests, f.requests / 3600.0);
	assert_true(s.budget);
	assert_int_equal(s.nodes_source, KW_NODES_UNKNOWN);
	assert_string_equal(kube_writer_nodes_source_name(s.nodes_source), "unknown");
	assert_int_equal(s.nodes, 0);
	assert_true(s.nodes_error[0] != '\0');
	assert_float_equal(s.share_per_s, 0.1, 1e-12);
	assert_true(f.requests <= 360);
	assert_true(f.requests >= 355); /* paced, not stopped */
	kube_writer_free(w);
}

/* Without a budget nothing changes: 5/s, stretch 1, source "off"; the status still says
 * the interval. Bad budget options are refused. */
static void test_budget_off(void **st)
{
	struct bfake f = { 0 };
	struct fclock c = { 1000 * S_NS };
	struct kube_writer *w = mkbw(&f, &c, 0, 0, 0);
	struct kube_writer_stats s;
	struct kube_writer_opts o = { 0 };
	struct wl_err e = { { 0 } };
	(void)st;
	tick(w, 3, 3, 0);
	kube_writer_stats(w, &s);
	assert_false(s.budget);
	assert_int_equal(s.nodes_source, KW_NODES_OFF);
	assert_float_equal(s.stretch, 1, 0);
	assert_int_equal(s.pod_interval_s, 60);
	assert_int_equal(f.refresh_s, 60);
	assert_int_equal(f.max_refresh_s, 600);
	kube_writer_free(w);

	o.manual = true;
	o.send = bfake_send;
	o.send_ud = &f;
	o.cluster_budget_per_s = NAN;
	assert_null(kube_writer_new(NULL, &o, &e));
	assert_non_null(strstr(e.msg, "budget"));
	o.cluster_budget_per_s = 50;
	o.node_ceiling_per_s = -1;
	assert_null(kube_writer_new(NULL, &o, &e));
}

/* A PodEnergy CRD from before these fields: the API server (server-side apply) answers
 * 500 "field not declared in schema" for the whole status, as the e2e cluster's 1.30
 * did for an unknown status field. The writer drops both fields and the retry works. */
static void test_outdated_crd(void **st)
{
	struct oldcrd o = { .unknown = { "refreshIntervalSeconds", "maxRefreshIntervalSeconds" },
			    .field = "refreshIntervalSeconds" };
	struct fclock c = { 1000 * S_NS };
	struct kube_writer_stats s;
	struct kube_writer *w = oldcrd_writer(&o, &c); /* no budget: the fields are written anyway */
	struct kw_pod p = { 0 };
	(void)st;
	p.ns = "ns";
	p.name = p.uid = "p0";
	p.node = "node-1";
	p.model = "m";
	oldcrd_assert_refused_once(w, &o, &p, &s);
	assert_int_equal(s.pod_writes_ok, 0);
	c.t += 5 * S_NS; /* past the backoff */
	kube_writer_run_once(w, NULL);
	kube_writer_stats(w, &s);
	assert_int_equal(o.accepted, 1);
	assert_int_equal(s.pod_writes_ok, 1);
	assert_int_equal(o.refused, 1); /* never again */
	kube_writer_free(w);
}

/* ---- against the HTTPS test server -------------------------------------------------------- */

static struct kube_writer *srv_writer(struct kube_config **c)
{
	struct kube_writer_opts o = { .node_name = "node-1", .cluster_budget_per_s = 50,
				      .node_ceiling_per_s = 2 };

	return fixture_kw_srv_new(c, &o);
}

static void mode(const char *json)
{
	json_decref(srv_call("POST", "/__mode", json));
}

static void test_server_node_count(void **st)
{
	struct kube_config *c;
	struct kube_writer *w;
	struct kube_writer_stats s;
	json_t *log, *x;
	size_t i;
	bool asked = false;
	(void)st;
	NEED_SERVER();
	srv_reset();
	mode("{\"nodes\": 250}");
	w = srv_writer(&c);
	kube_writer_run_once(w, NULL);
	kube_writer_stats(w, &s);
	assert_int_equal(s.nodes_source, KW_NODES_API);
	assert_int_equal(s.nodes, 250);
	assert_float_equal(s.share_per_s, 0.2, 1e-12);
	assert_int_equal(s.nodes_queries, 1);
	assert_string_equal(s.nodes_error, "");
	kube_writer_run_once(w, NULL); /* not again before the refresh */
	kube_writer_stats(w, &s);
	assert_int_equal(s.nodes_queries, 1);
	fixture_kw_srv_free(w, c);
	/* the request asked for one item */
	log = json_object_get(x = srv_call("GET", "/__log", NULL), "log");
	for (i = 0; i < json_array_size(log); i++) {
		json_t *l = json_array_get(log, i);
		if (strcmp(json_string_value(json_object_get(l, "path")), "/api/v1/nodes") == 0) {
			assert_string_equal(json_string_value(json_object_get(
						    json_object_get(l, "query"), "limit")), "1");
			asked = true;
		}
	}
	assert_true(asked);
	json_decref(x);

	/* RBAC denied: unknown, the conservative share, the API's message */
	mode("{\"nodes_status\": 403}");
	w = srv_writer(&c);
	kube_writer_run_once(w, NULL);
	kube_writer_stats(w, &s);
	assert_int_equal(s.nodes_source, KW_NODES_UNKNOWN);
	assert_float_equal(s.share_per_s, KB_UNKNOWN_SHARE, 1e-12);
	assert_non_null(strstr(s.nodes_error, "forbidden"));
	assert_int_equal(s.nodes_query_failures, 1);
	fixture_kw_srv_free(w, c);

	/* more nodes, but no count: unknown too */
	mode("{\"nodes_status\": 0, \"nodes_no_count\": true}");
	w = srv_writer(&c);
	kube_writer_run_once(w, NULL);
	kube_writer_stats(w, &s);
	assert_int_equal(s.nodes_source, KW_NODES_UNKNOWN);
	assert_non_null(strstr(s.nodes_error, "remainingItemCount"));
	fixture_kw_srv_free(w, c);
	mode("{\"nodes_no_count\": false}");
}

/* The real API server of the e2e cluster (read-only): the writer's count from
 * ?limit=1 + remainingItemCount equals the length of a full list. Opt-in, because the
 * cluster is shared: WATTLET_E2E_KUBECONFIG=build/e2e/pki/admin.kubeconfig; with
 * WATTLET_E2E_NAMESPACE (an existing namespace of one's own) also one PodEnergy written
 * there and read back (then deleted). */
static long full_node_list(struct kube_config *c)
{
	struct wl_err e = { { 0 } };
	struct kube_http *h = kube_http_new(c, NULL, &e);
	struct kube_resp r;
	long n = -1;
	assert_non_null(h);
	if (kube_http_request(h, "GET", "/api/v1/nodes", NULL, NULL, &r, &e) == 0 &&
	    r.status == 200) {
		json_t *j = json_loadb(r.body, r.len, 0, NULL);
		n = (long)json_array_size(json_object_get(j, "items"));
		json_decref(j);
	}
	kube_resp_release(&r);
	kube_http_free(h);
	return n;
}

static void test_real_apiserver_node_count(void **st)
{
	const char *kc = getenv("WATTLET_E2E_KUBECONFIG");
	const char *ns = getenv("WATTLET_E2E_NAMESPACE"); /* ours, for one PodEnergy */
	struct fclock ck = { 1000 * S_NS };
	struct kube_config_opts co = { 0 };
	struct kube_writer_opts o = { 0 };
	struct wl_err e = { { 0 } };
	struct kube_config *c;
	struct kube_writer *w;
	struct kube_writer_stats s;
	long before, after;
	(void)st;
	if (!kc || !*kc) {
		printf("skipped: set WATTLET_E2E_KUBECONFIG to the e2e cluster's admin kubeconfig "
		       "to check the node count against the real API server\n");
		skip();
	}
	co.kubeconfig = kc;
	c = kube_config_load(&co, &e);
	if (!c) {
		printf("skipped: %s: %s\n", kc, e.msg);
		skip();
	}
	before = full_node_list(c);
	if (before < 0) {
		printf("skipped: the API server at %s does not answer\n", kube_config_server(c));
		kube_config_free(c);
		skip();
	}
	o.manual = true;
	o.cluster_budget_per_s = 50;
	o.node_ceiling_per_s = 2;
	o.now_ns = fclock_now;
	o.clock_ud = &ck;
	w = kube_writer_new(c, &o, &e);
	assert_non_null(w);
	kube_writer_run_once(w, NULL);
	kube_writer_stats(w, &s);
	after = full_node_list(c);
	if (ns && *ns) { /* one PodEnergy in our own namespace: the status fields arrive */
		struct kw_pod p = { 0 };
		struct kube_http *h = kube_http_new(c, NULL, &e);
		struct kube_resp r;
		char path[256], uid[64] = "";
		json_t *j;
		/* its owner: a Pod bound to a node that does not exist (never runs), so the
		 * garbage collector keeps the PodEnergy */
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", ns);
		assert_non_null(h);
		assert_int_equal(kube_http_request(h, "POST", path,
			"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":"
			"\"budget-probe\"},\"spec\":{\"nodeName\":\"budget-probe-node\","
			"\"containers\":[{\"name\":\"c\",\"image\":\"none\"}]}}",
			"application/json", &r, &e), 0);
		j = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
		if (jpath_str(j, "metadata.uid"))
			snprintf(uid, sizeof(uid), "%s", jpath_str(j, "metadata.uid"));
		json_decref(j);
		kube_resp_release(&r);
		assert_true(uid[0] != '\0');
		p.ns = ns;
		p.name = "budget-probe";
		p.uid = uid;
		p.node = "budget-probe-node";
		p.model = "builtin-ratio";
		p.watts = 1;
		p.joules = 2;
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
		ck.t += 10 * S_NS;
		assert_int_equal(kube_writer_run_once(w, NULL), 2);
		snprintf(path, sizeof(path), "/apis/wattlet.dev/v1alpha1/namespaces/%s/podenergies/"
			 "budget-probe", ns);
		assert_non_null(h);
		assert_int_equal(kube_http_request(h, "GET", path, NULL, NULL, &r, &e), 0);
		j = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
		printf("real API server: PodEnergy %s/budget-probe HTTP %ld, status.refreshIntervalSeconds "
		       "%lld, maxRefreshIntervalSeconds %lld\n", ns, r.status,
		       (long long)json_integer_value(json_object_get(json_object_get(j, "status"),
								     "refreshIntervalSeconds")),
		       (long long)json_integer_value(json_object_get(json_object_get(j, "status"),
								     "maxRefreshIntervalSeconds")));
		assert_int_equal(r.status, 200);
		{
			json_t *stj = json_object_get(j, "status");
			long long want = (long long)llround(60 * kube_budget_stretch(
				1.0 / 60, kube_budget_share(50, 2, s.nodes)));
			assert_int_equal(json_integer_value(json_object_get(stj, "refreshIntervalSeconds")),
					 want);
		}
		json_decref(j);
		kube_resp_release(&r);
		kube_http_request(h, "DELETE", path, NULL, NULL, &r, &e);
		kube_resp_release(&r);
		snprintf(path, sizeof(path),
			 "/api/v1/namespaces/%s/pods/budget-probe?gracePeriodSeconds=0", ns);
		kube_http_request(h, "DELETE", path, NULL, NULL, &r, &e);
		kube_resp_release(&r);
		kube_http_free(h);
	}
	printf("real API server %s: %u node(s) from ?limit=1 (full list: %ld before, %ld after); "
	       "share %.3f/s\n", kube_config_server(c), s.nodes, before, after, s.share_per_s);
	assert_int_equal(s.nodes_source, KW_NODES_API);
	assert_true((long)s.nodes == before || (long)s.nodes == after); /* nodes may come and go */
	assert_float_equal(s.share_per_s, kube_budget_share(50, 2, s.nodes), 1e-12);
	fixture_kw_srv_free(w, c);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_stretch_floor_burst),
		cmocka_unit_test(test_next_query),
		cmocka_unit_test(test_nodecount_parse),
		cmocka_unit_test(test_10x100_keeps_60s),
		cmocka_unit_test(test_1000x100_within_budget),
		cmocka_unit_test(test_5000x50_within_budget),
		cmocka_unit_test(test_no_starvation),
		cmocka_unit_test(test_status_applies_share),
		cmocka_unit_test(test_new_pod_prompt),
		cmocka_unit_test(test_most_changed_first),
		cmocka_unit_test(test_rollout_burst),
		cmocka_unit_test(test_rollout_phase),
		cmocka_unit_test(test_unknown_nodes),
		cmocka_unit_test(test_budget_off),
		cmocka_unit_test(test_outdated_crd),
		cmocka_unit_test(test_real_apiserver_node_count),
	};
	const struct CMUnitTest server[] = {
		cmocka_unit_test(test_server_node_count),
	};
	int rc = cmocka_run_group_tests_name("kube_budget", unit, NULL, NULL);
	return rc | cmocka_run_group_tests_name("kube_budget_server", server, tsrv_group_setup,
						tsrv_group_teardown);
}
