/* kubesim.c - many simulated wattlet nodes writing to a REAL API server (make scale).
 *
 * Not a reimplementation: every simulated node is one kube_writer (agent/kube/
 * kube_writer.c, on its own thread, its own kube_config and kube_http handle, exactly as
 * the agent's kube_agent.c creates it), offered a snapshot of each of its pods and of
 * its node once per tick, as kube_agent.c does (offer_pod / offer_node). What is
 * simulated is only the energy: each pod draws a steady power (0.2-3 W, chosen per pod)
 * with +-5 % noise per tick, so its joules grow by far more than 1 % an interval: the
 * ceiling case of docs/kube.md (every pod written every interval, f = 1).
 *
 *   kubesim setup    --ns NS --nodes K --pods P   Node objects sim-node-NN (unschedulable,
 *                    tainted, never run by a kubelet) and P Pods per node bound to them
 *                    (spec.nodeName, tolerating every taint, never run), in namespace NS
 *   kubesim run      --ns NS --nodes K [--seconds S] [--interval S] [--budget W/s]
 *                    [--ceiling W/s] [--node-count N]
 *                    K writers on the pods of NS; until SIGTERM/SIGINT or S seconds.
 *                    Prints one line per second: "tick T requests R ok W failed F
 *                    limited L" (totals over all writers), "startup-done T" once every
 *                    writer has sent its start-up requests (2 per pod + 2 for the node),
 *                    and a summary "total pod_requests N node_requests N failed N backoffs N
 *                    seconds S offers_refused N" at the end
 *   kubesim teardown --ns NS                      deletes the pods (grace 0), the NodeEnergies,
 *                    the Nodes (label wattlet.dev/kubesim) and the namespace
 * Common: --kubeconfig F (else $KUBECONFIG...). Exit status 0, 1 on error, 2 on usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/common/util.h"
#include "agent/kube/kube_config.h"
#include "agent/kube/kube_http.h"
#include "agent/kube/kube_writer.h"

#define SIM_LABEL "wattlet.dev/kubesim"
#define MAX_NODES 1000 /* sim-node-NN names sort up to 99; more work, unsorted */

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct opts {
	const char *kubeconfig, *ns;
	unsigned nodes, pods, seconds, interval_s, node_count;
	double budget, ceiling;
};

static void usage(void)
{
	fprintf(stderr, "usage: kubesim setup|run|teardown [--kubeconfig F] --ns NS [--nodes K] "
			"[--pods P] [--seconds S] [--interval S] [--budget W/s] [--ceiling W/s] "
			"[--node-count N]\n");
}

static struct kube_config *load_config(const struct opts *o, struct wl_err *e)
{
	struct kube_config_opts co = { 0 };
	co.kubeconfig = o->kubeconfig;
	return kube_config_load(&co, e);
}

/* One request; 0 on 2xx (or on an allowed status), else prints and -EIO. */
static int req(struct kube_http *h, const char *method, const char *path, json_t *body,
	       long ok_also, struct kube_resp *keep)
{
	struct wl_err e = { 0 };
	struct kube_resp r;
	char *txt = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc = kube_http_request(h, method, path, txt, NULL, &r, &e);

	free(txt);
	if (rc < 0) {
		fprintf(stderr, "kubesim: %s %s: %s\n", method, path, e.msg);
		return rc;
	}
	if ((r.status < 200 || r.status > 299) && r.status != ok_also) {
		kube_resp_check(&r, &e);
		fprintf(stderr, "kubesim: %s %s: %s\n", method, path, e.msg);
		kube_resp_release(&r);
		return -EIO;
	}
	if (keep)
		*keep = r;
	else
		kube_resp_release(&r);
	return 0;
}

static void node_name(char *out, size_t cap, unsigned i)
{
	snprintf(out, cap, "sim-node-%02u", i);
}

static int cmd_setup(const struct opts *o, struct kube_http *h)
{
	char path[256], name[64], pod[96];
	int rc;

	json_t *ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind",
			       "Namespace", "metadata", "name", o->ns, "labels", SIM_LABEL, "true");
	rc = req(h, "POST", "/api/v1/namespaces", ns, 409, NULL);
	json_decref(ns);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < o->nodes; i++) {
		node_name(name, sizeof(name), i);
		/* unschedulable and tainted: no real pod of the cluster ever lands here */
		json_t *n = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:b, s:[{s:s, s:s, s:s}]}}",
				      "apiVersion", "v1", "kind", "Node", "metadata", "name", name,
				      "labels", SIM_LABEL, "true", "spec", "unschedulable", 1,
				      "taints", "key", SIM_LABEL, "value", "true", "effect",
				      "NoSchedule");
		rc = req(h, "POST", "/api/v1/nodes", n, 409, NULL);
		json_decref(n);
		if (rc < 0)
			return rc;
	}
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods", o->ns);
	for (unsigned i = 0; i < o->nodes; i++) {
		node_name(name, sizeof(name), i);
		for (unsigned j = 0; j < o->pods; j++) {
			snprintf(pod, sizeof(pod), "sim-%02u-%03u", i, j);
			/* bound (spec.nodeName): the scheduler never sees it; tolerates every
			 * taint, so the node lifecycle controller never evicts it */
			json_t *p = json_pack(
				"{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:s, s:b, s:b, s:i, s:[{s:s}],"
				" s:[{s:s, s:s, s:s}]}}",
				"apiVersion", "v1", "kind", "Pod", "metadata", "name", pod, "labels",
				SIM_LABEL, "true", "spec", "nodeName", name,
				"automountServiceAccountToken", 0, "enableServiceLinks", 0,
				"terminationGracePeriodSeconds", 0, "tolerations", "operator", "Exists",
				"containers", "name", "main", "image", "wattlet-e2e/pause:1",
				"imagePullPolicy", "Never");
			rc = req(h, "POST", path, p, 409, NULL);
			json_decref(p);
			if (rc < 0)
				return rc;
		}
	}
	printf("kubesim: setup: namespace %s, %u nodes, %u pods each\n", o->ns, o->nodes, o->pods);
	return 0;
}

static int cmd_teardown(const struct opts *o, struct kube_http *h)
{
	char path[400];
	struct kube_resp r;
	json_error_t je;
	json_t *root, *it;
	size_t i;
	int rc = 0;

	if (req(h, "GET", "/api/v1/nodes?labelSelector=" SIM_LABEL "%3Dtrue", NULL, 0, &r) < 0)
		return -EIO;
	root = json_loadb(r.body ? r.body : "", r.len, 0, &je);
	kube_resp_release(&r);
	/* Node by node: one collection delete of thousands of pods outlives the API
	 * server's 60 s request timeout on a busy machine. NodeEnergies carry the
	 * writer's labels only: deleted by the nodes' names. */
	json_array_foreach(json_object_get(root, "items"), i, it) {
		const char *name = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
		if (!name)
			continue;
		snprintf(path, sizeof(path),
			 "/api/v1/namespaces/%s/pods?gracePeriodSeconds=0&fieldSelector=spec.nodeName%%3D%s",
			 o->ns, name);
		rc |= req(h, "DELETE", path, NULL, 404, NULL);
		snprintf(path, sizeof(path), "/apis/wattlet.dev/v1alpha1/nodeenergies/%s", name);
		rc |= req(h, "DELETE", path, NULL, 404, NULL);
	}
	json_decref(root);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods?gracePeriodSeconds=0", o->ns);
	rc |= req(h, "DELETE", path, NULL, 404, NULL); /* whatever is left */
	rc |= req(h, "DELETE", "/api/v1/nodes?labelSelector=" SIM_LABEL "%3Dtrue", NULL, 404, NULL);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s", o->ns);
	rc |= req(h, "DELETE", path, NULL, 404, NULL);
	printf("kubesim: teardown of %s %s\n", o->ns, rc ? "had errors" : "done");
	return rc ? -EIO : 0;
}

/* ---- run ------------------------------------------------------------------------- */

struct sim_pod {
	char ns[64], name[96], uid[64], cid[80];
	double base_w, joules;
};

struct sim_node {
	char name[64];
	struct kube_config *kc;
	struct kube_writer *w;
	struct sim_pod *pods;
	size_t n, cap;
	double joules;
	uint64_t offers_refused; /* kube_writer_offer_* errors (e.g. max_pods reached) */
};

static double frand(unsigned *seed)
{
	return rand_r(seed) / (double)RAND_MAX;
}

static int load_pods(const struct opts *o, struct kube_http *h, struct sim_node *nodes)
{
	char path[300];
	struct kube_resp r;
	json_error_t je;
	unsigned seed = 42;
	size_t total = 0, i;
	json_t *items, *it;

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods?labelSelector=" SIM_LABEL "%%3Dtrue",
		 o->ns);
	if (req(h, "GET", path, NULL, 0, &r) < 0)
		return -EIO;
	json_t *root = json_loadb(r.body ? r.body : "", r.len, 0, &je);
	kube_resp_release(&r);
	if (!root) {
		fprintf(stderr, "kubesim: pod list: %s\n", je.text);
		return -EINVAL;
	}
	items = json_object_get(root, "items");
	json_array_foreach(items, i, it) {
		const char *nn = json_string_value(json_object_get(json_object_get(it, "spec"), "nodeName"));
		json_t *md = json_object_get(it, "metadata");
		unsigned k;
		if (!nn || sscanf(nn, "sim-node-%u", &k) != 1 || k >= o->nodes)
			continue;
		struct sim_node *sn = &nodes[k];
		if (sn->n == sn->cap) {
			size_t nc = sn->cap ? sn->cap * 2 : 64;
			struct sim_pod *np = realloc(sn->pods, nc * sizeof(*np));
			if (!np) {
				json_decref(root);
				return -ENOMEM;
			}
			sn->pods = np;
			sn->cap = nc;
		}
		struct sim_pod *p = &sn->pods[sn->n++];
		memset(p, 0, sizeof(*p));
		snprintf(p->ns, sizeof(p->ns), "%s", json_string_value(json_object_get(md, "namespace")));
		snprintf(p->name, sizeof(p->name), "%s", json_string_value(json_object_get(md, "name")));
		snprintf(p->uid, sizeof(p->uid), "%s", json_string_value(json_object_get(md, "uid")));
		snprintf(p->cid, sizeof(p->cid), "containerd://%016x%016x", rand_r(&seed) * 2654435761u,
			 rand_r(&seed));
		p->base_w = 0.2 + 2.8 * frand(&seed);
		total++;
	}
	json_decref(root);
	printf("kubesim: %zu pods on %u nodes\n", total, o->nodes);
	return total ? 0 : -ENOENT;
}

/* The snapshots kube_agent.c offers each tick (offer_pod / offer_node), from simulated
 * energy: package + dram, 80 % dynamic. */
static void offer(struct sim_node *sn, unsigned interval_s, unsigned *seed)
{
	uint64_t now = real_ns();
	double node_w = 0;

	for (size_t i = 0; i < sn->n; i++) {
		struct sim_pod *p = &sn->pods[i];
		double w = p->base_w * (0.95 + 0.1 * frand(seed));
		struct kw_zone z[2] = {
			{ ZONE_PACKAGE, 0, 0, 0.8 * 0.85 * w, 0.2 * 0.85 * w },
			{ ZONE_DRAM, 0, 0, 0.8 * 0.15 * w, 0.2 * 0.15 * w },
		};
		struct kw_container c = { "main", p->cid, 0, w };
		struct kw_pod s = { 0 };

		p->joules += w;
		z[0].dynamic_joules = 0.8 * 0.85 * p->joules;
		z[0].idle_joules = 0.2 * 0.85 * p->joules;
		z[1].dynamic_joules = 0.8 * 0.15 * p->joules;
		z[1].idle_joules = 0.2 * 0.15 * p->joules;
		c.joules = p->joules;
		s.ns = p->ns;
		s.name = p->name;
		s.uid = p->uid;
		s.node = sn->name;
		s.model = "builtin-ratio";
		s.policy = "";
		s.last_measured_ns = now;
		s.window_s = interval_s;
		s.watts = w;
		s.dynamic_watts = 0.8 * w;
		s.idle_watts = 0.2 * w;
		s.joules = p->joules;
		s.zones = z;
		s.n_zones = 2;
		s.containers = &c;
		s.n_containers = 1;
		s.interval_s = interval_s;
		s.energy_source = "measured";
		if (kube_writer_offer_pod(sn->w, &s) < 0)
			sn->offers_refused++;
		node_w += w;
	}
	sn->joules += node_w + 20; /* + the node's idle */
	struct kw_meter m = { "powercap", true, "simulated by kubesim (sim/kubesim.c)" };
	struct kw_node_zone nz[2] = {
		{ ZONE_PACKAGE, 0.85 * node_w, 17, 0.85 * sn->joules, "model" },
		{ ZONE_DRAM, 0.15 * node_w, 3, 0.15 * sn->joules, "model" },
	};
	struct kw_condition cond[3] = {
		{ "ModelValid", "True", "ModelApplied", "built-in ratio model", 0 },
		{ "MeterAvailable", "True", "MeterFound", "simulated by kubesim", 0 },
		{ "EnergySource", "True", "MeterFound", "simulated by kubesim", 0 },
	};
	struct kw_node n = { 0 };
	n.name = sn->name;
	n.meters = &m;
	n.n_meters = 1;
	n.usage_source = "ebpf";
	n.model_name = "builtin-ratio";
	n.attribution = "ratio";
	n.energy_source = "meter";
	n.watts = node_w + 20;
	n.joules = sn->joules;
	n.zones = nz;
	n.n_zones = 2;
	n.conditions = cond;
	n.n_conditions = 3;
	if (kube_writer_offer_node(sn->w, &n) < 0)
		sn->offers_refused++;
}

/* The writers' counters summed over the nodes. all: every writer has sent each of its
 * pods and its node at least twice (the rollout's startup is done). With errors, the
 * last error of each of the first three nodes that has one is printed. */
struct sim_totals {
	uint64_t requests, ok, failed, limited, pod_requests, node_requests, backoffs, refused;
	bool all;
};

static void sum_stats(const struct sim_node *nodes, unsigned n, bool errors, struct sim_totals *sum)
{
	struct kube_writer_stats st;

	memset(sum, 0, sizeof(*sum));
	sum->all = true;
	for (unsigned i = 0; i < n; i++) {
		kube_writer_stats(nodes[i].w, &st);
		sum->requests += st.requests;
		sum->ok += st.writes_ok;
		sum->failed += st.writes_failed;
		sum->limited += st.rate_limited;
		sum->pod_requests += st.pod_requests;
		sum->node_requests += st.node_requests;
		sum->backoffs += st.backoffs;
		sum->refused += nodes[i].offers_refused;
		if (st.pod_requests < 2 * nodes[i].n || st.node_requests < 2)
			sum->all = false;
		if (errors && st.last_error[0] && i < 3)
			printf("kubesim: %s last error: %s\n", nodes[i].name, st.last_error);
	}
}

static int cmd_run(const struct opts *o, struct kube_http *h)
{
	struct sim_node *nodes = calloc(o->nodes, sizeof(*nodes));
	struct wl_err e = { 0 };
	unsigned seed = 7, interval = o->interval_s ? o->interval_s : 60;
	uint64_t t0, next;
	int rc = 0;
	bool startup_done = false;

	if (!nodes)
		return -ENOMEM;
	for (unsigned i = 0; i < o->nodes; i++)
		node_name(nodes[i].name, sizeof(nodes[i].name), i);
	rc = load_pods(o, h, nodes);
	if (rc < 0)
		goto out;
	/* All writers start at once: a whole-cluster rollout. */
	for (unsigned i = 0; i < o->nodes; i++) {
		struct kube_writer_opts wo = { 0 };
		wo.node_name = nodes[i].name;
		wo.cluster_budget_per_s = o->budget;
		wo.node_ceiling_per_s = o->ceiling;
		wo.node_count_override = o->node_count;
		nodes[i].kc = load_config(o, &e);
		if (!nodes[i].kc || !(nodes[i].w = kube_writer_new(nodes[i].kc, &wo, &e))) {
			fprintf(stderr, "kubesim: writer %s: %s\n", nodes[i].name, e.msg);
			rc = -EIO;
			goto out;
		}
	}
	printf("kubesim: %u writers started (interval %u s, budget %.2f/s, ceiling %.2f/s, "
	       "node count %u)\n", o->nodes, interval, o->budget, o->ceiling, o->node_count);
	fflush(stdout);
	t0 = mono_ns();
	next = t0;
	for (unsigned t = 0; !stop_flag && (!o->seconds || t < o->seconds); t++) {
		struct sim_totals sum;

		for (unsigned i = 0; i < o->nodes; i++)
			offer(&nodes[i], interval, &seed);
		next += 1000000000ull;
		uint64_t now = mono_ns();
		if (next > now) {
			struct timespec ts = { (time_t)((next - now) / 1000000000ull),
					       (long)((next - now) % 1000000000ull) };
			nanosleep(&ts, NULL); /* the tick */
		}
		sum_stats(nodes, o->nodes, false, &sum);
		printf("tick %u requests %" PRIu64 " ok %" PRIu64 " failed %" PRIu64
		       " limited %" PRIu64 "\n", t + 1, sum.requests, sum.ok, sum.failed, sum.limited);
		if (sum.all && !startup_done) {
			startup_done = true;
			printf("startup-done %u\n", t + 1);
		}
		fflush(stdout);
	}
	{
		struct sim_totals sum;
		sum_stats(nodes, o->nodes, true, &sum);
		printf("total pod_requests %" PRIu64 " node_requests %" PRIu64 " failed %" PRIu64
		       " backoffs %" PRIu64 " seconds %.1f offers_refused %" PRIu64 "\n", sum.pod_requests,
		       sum.node_requests, sum.failed, sum.backoffs, (mono_ns() - t0) / 1e9, sum.refused);
	}
out:
	for (unsigned i = 0; i < o->nodes; i++) {
		kube_writer_free(nodes[i].w);
		kube_config_free(nodes[i].kc);
		free(nodes[i].pods);
	}
	free(nodes);
	return rc;
}

static int parse_uint(const char *s, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || v > 1000000)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "kubeconfig", required_argument, 0, 'k' }, { "ns", required_argument, 0, 'n' },
		{ "nodes", required_argument, 0, 'K' },	     { "pods", required_argument, 0, 'P' },
		{ "seconds", required_argument, 0, 's' },    { "interval", required_argument, 0, 'i' },
		{ "budget", required_argument, 0, 'b' },     { "ceiling", required_argument, 0, 'c' },
		{ "node-count", required_argument, 0, 'N' }, { 0, 0, 0, 0 }
	};
	struct opts o = { 0 };
	struct wl_err e = { 0 };
	struct kube_config *kc = NULL;
	struct kube_http *h = NULL;
	struct kube_http_opts ho = { 0 };
	const char *cmd;
	int c, li = 0, rc = 1;
	char *end;

	if (argc < 2) {
		usage();
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, &li)) != -1) {
		int bad = 0;
		switch (c) {
		case 'k': o.kubeconfig = optarg; break;
		case 'n': o.ns = optarg; break;
		case 'K': bad = parse_uint(optarg, &o.nodes) || o.nodes > MAX_NODES; break;
		case 'P': bad = parse_uint(optarg, &o.pods); break;
		case 's': bad = parse_uint(optarg, &o.seconds); break;
		case 'i': bad = parse_uint(optarg, &o.interval_s); break;
		case 'N': bad = parse_uint(optarg, &o.node_count); break;
		case 'b':
		case 'c': {
			double v = strtod(optarg, &end);
			bad = !*optarg || *end || !isfinite(v) || v < 0;
			*(c == 'b' ? &o.budget : &o.ceiling) = v;
			break;
		}
		default: usage(); return 2;
		}
		if (bad) {
			fprintf(stderr, "kubesim: bad value %s for --%s\n", optarg, lo[li].name);
			return 2;
		}
	}
	if ((strcmp(cmd, "setup") != 0 && strcmp(cmd, "run") != 0 && strcmp(cmd, "teardown") != 0) ||
	    !o.ns || (strcmp(cmd, "teardown") != 0 && !o.nodes) ||
	    (strcmp(cmd, "setup") == 0 && !o.pods)) {
		usage();
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	kc = load_config(&o, &e);
	ho.timeout_ms = 60000;
	if (!kc || !(h = kube_http_new(kc, &ho, &e))) {
		fprintf(stderr, "kubesim: %s\n", e.msg);
		goto out;
	}
	if (strcmp(cmd, "setup") == 0)
		rc = cmd_setup(&o, h) < 0;
	else if (strcmp(cmd, "run") == 0)
		rc = cmd_run(&o, h) < 0;
	else
		rc = cmd_teardown(&o, h) < 0;
out:
	kube_http_free(h);
	kube_config_free(kc);
	return rc;
}
