/* writer_bench.c - CPU cost of the PodEnergy writer's bookkeeping per tick, with and
 * without the cluster write budget: offering every pod's snapshot, and
 * kube_writer_run_once (with the budget it scans every tracked pod for the best one per
 * write: O(table + pods) per pick, at most share * tick picks per tick). No I/O: an
 * injected transport answers 200 at once and an injected clock moves one second per
 * tick, so what is timed is the writer's own work (CPU time of this process).
 *
 * usage: writer_bench [PODS...]   (default 100 1000 4096)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/kube/kube_writer.h"

struct clk {
	uint64_t t;
};

static uint64_t clk_now(void *ud)
{
	return ((struct clk *)ud)->t;
}

static int ok_send(void *ud, const char *method, const char *path, const char *body,
		   const char *ct, long *status, struct wl_err *e)
{
	(void)method;
	(void)path;
	(void)body;
	(void)ct;
	(void)e;
	(*(unsigned long *)ud)++;
	*status = 200;
	return 0;
}

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void offer_all(struct kube_writer *w, int np, unsigned tick)
{
	static const struct kw_container ctr[] = { { "app", "containerd://0123456789abcdef", 1, 1 } };
	char name[32], uid[48];
	for (int i = 0; i < np; i++) {
		struct kw_pod p = { 0 };
		snprintf(name, sizeof(name), "pod-%d", i);
		snprintf(uid, sizeof(uid), "5f0c7d2e-0000-4000-8000-%012d", i);
		p.ns = "bench";
		p.name = name;
		p.uid = uid;
		p.node = "node-1";
		p.model = "builtin-ratio";
		p.policy = "";
		p.window_s = 60;
		p.watts = 1 + (tick + (unsigned)i) % 7; /* changes: every pod wants writing */
		p.joules = 100.0 * tick;
		p.containers = ctr;
		p.n_containers = 1;
		kube_writer_offer_pod(w, &p);
	}
}

static void run(int np, bool budget)
{
	struct clk c = { 1000000000000ull };
	unsigned long reqs = 0;
	struct kube_writer_opts o = { 0 };
	struct wl_err e = { { 0 } };
	struct kube_writer *w;
	struct kube_writer_stats st;
	double t_off = 0, t_run = 0, t0;
	unsigned ticks = 600, k;

	o.manual = true;
	o.send = ok_send;
	o.send_ud = &reqs;
	o.now_ns = clk_now;
	o.clock_ud = &c;
	o.max_pods = 4096;
	if (budget) {
		o.cluster_budget_per_s = 50;
		o.node_ceiling_per_s = 2;
		o.node_count_override = 1000; /* share 0.05/s: the intervals stretch */
	}
	w = kube_writer_new(NULL, &o, &e);
	if (!w) {
		fprintf(stderr, "writer_bench: %s\n", e.msg);
		exit(1);
	}
	/* the first writes, out of the timing: advance until every pod was written */
	for (k = 0; k < 200000; k++) {
		kube_writer_stats(w, &st);
		if (st.pod_writes_ok >= (uint64_t)np)
			break;
		if (k % 60 == 0)
			offer_all(w, np, k);
		kube_writer_run_once(w, NULL);
		c.t += (budget ? 20ull : 1ull) * 1000000000ull;
	}
	reqs = 0;
	for (k = 0; k < ticks; k++) {
		c.t += 1000000000ull;
		t0 = cpu_ns();
		offer_all(w, np, k);
		t_off += cpu_ns() - t0;
		t0 = cpu_ns();
		kube_writer_run_once(w, NULL);
		t_run += cpu_ns() - t0;
	}
	kube_writer_stats(w, &st);
	printf("%-6d %-7s %14.1f %14.2f %16.3f %12.3f %11.2f\n", np, budget ? "on" : "off",
	       t_off / ticks / 1e3, t_off / ticks / np, t_run / ticks / 1e3,
	       (t_off + t_run) / ticks / 1e9 * 100, (double)reqs / ticks);
	kube_writer_free(w);
}

int main(int argc, char **argv)
{
	int def[] = { 100, 1000, 4096 };
	int n = argc > 1 ? argc - 1 : 3;

	printf("kube_writer CPU per 1 s tick (600 ticks, every pod changing; budget on: 1,000 "
	       "nodes, share 0.05/s)\n");
	printf("%-6s %-7s %14s %14s %16s %12s %11s\n", "pods", "budget", "offers us/tick",
	       "ns/pod offer", "run_once us/tick", "% of a core", "requests/s");
	for (int i = 0; i < n; i++) {
		int np = argc > 1 ? atoi(argv[i + 1]) : def[i];
		if (np < 1 || np > 4096) {
			fprintf(stderr, "writer_bench: pods in 1..4096\n");
			return 2;
		}
		run(np, false);
		run(np, true);
	}
	return 0;
}
