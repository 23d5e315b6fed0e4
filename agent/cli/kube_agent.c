/* kube_agent.c - see kube_agent.h. */
#include "kube_agent.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../common/strbuf.h"
#include "../common/uidtab.h"
#include "../kube/kube_classidle.h"
#include "../kube/kube_config.h"
#include "../kube/kube_http.h"
#include "../kube/kube_kubelet.h"
#include "../kube/kube_pods.h"
#include "../kube/kube_watch.h"
#include "../kube/kube_writer.h"
#include "../policy/energypolicy.h"
#include "../policy/modelselect.h"
#include "log.h"

#define API_GROUP "/apis/wattlet.dev/v1alpha1"
#define POD_STATE_MAX 65536
#define EP_STALE_INTERVALS 10 /* status.nodes[] entries older than this are left out of the sums */

/* Per-pod state the agent keeps between ticks (keyed by pod uid). */
struct pod_state {
	struct uidtab_hdr h;            /* key: the pod's uid; seen: the tick */
	struct ep_ring dyn, idle;       /* joules over the PodEnergy window */
	uint64_t window_ms;
	struct ep_ring budget[EP_MAX_BUDGETS];
	uint64_t budget_window_ms[EP_MAX_BUDGETS];
	bool budget_exceeded[EP_MAX_BUDGETS];
};

/* Per EnergyPolicy (keyed by uid): when this node last looked at its status. */
struct policy_state {
	struct uidtab_hdr h; /* key: the policy's uid; seen: the tick */
	bool entry;      /* our status.nodes[] entry is there (we applied it) */
	uint64_t last_ms; /* CLOCK_REALTIME ms of the last look; 0 never */
};

/* This tick's pods of one policy on this node. */
struct policy_acc {
	const struct energypolicy *pol;
	uint32_t pods;
	double joules, co2e_g;
};

struct kube_agent {
	const struct config *cfg;
	char node[256];
	char node_fm[KW_FIELD_MANAGER_MAX + 1]; /* "wattlet-<node>": our status.nodes[] entries */
	struct kube_config *kc;
	struct kube_config *writer_kc; /* the writer thread's own (a config is single-threaded) */
	struct kube_kubelet *pods;
	struct kube_watch *node_watch, *pm_watch, *ep_watch;
	json_t *node_labels; /* own Node's metadata.labels (owned), or NULL */
	struct model_set *models;
	struct policy_set *policies;
	struct kube_writer *writer;
	bool models_dirty, pods_synced_logged;
	enum kube_pods_from pods_from;
	uint64_t pod_failures_logged, last_pod_error_ns;
	struct model_choice choice;
	bool have_choice;
	uint64_t ticks;

	/* attribution arrays, one per usage entry */
	enum idle_policy *entry_policy;
	double *entry_request;
	size_t entry_alloc;

	/* pod states by uid (struct pod_state) */
	struct uidtab ps;

	/* EnergyPolicy status: per-policy states by uid (struct policy_state), this tick's
	 * sums */
	struct uidtab pst;
	struct policy_acc *acc;
	size_t n_acc, acc_alloc;

	/* meters the daemon probed (kube_agent_set_meters) */
	struct kw_meter meters[KW_MAX_METERS];
	char meter_reason[KW_MAX_METERS][200];
	size_t n_meters;
	bool have_probe;

	/* failed API writes already logged; when the last warning went out */
	uint64_t write_fail_logged, last_write_fail_log_ns;
	/* the write budget's node count as last logged (source, count) */
	enum kw_nodes_source budget_logged_src;
	unsigned budget_logged_nodes;
	bool crd_outdated_logged;

	/* idle shared with the hardware class (NodeClassIdle), started once the own Node
	 * was looked up (its instance-type label); NULL: off or not started yet */
	struct kube_classidle *classidle;
	bool classidle_tried, class_used_logged, class_pub_logged;
	uint64_t class_errors_logged;
};

bool kube_agent_wanted(const struct config *c)
{
	if (c->kube_enabled == KUBE_OFF)
		return false;
	if (c->kube_enabled == KUBE_ON)
		return true;
	return c->kubeconfig[0] || getenv("KUBERNETES_SERVICE_HOST");
}

const char *kube_agent_node(const struct kube_agent *ka)
{
	return ka->node;
}

/* ---- pod states ------------------------------------------------------------ */


/* A pod's state goes: its PodEnergy writes are forgotten too. */
static void pod_gone(void *rec, void *ud)
{
	struct kube_agent *ka = ud;
	const struct pod_state *ps = rec;

	if (ka->writer)
		kube_writer_forget_pod(ka->writer, ps->h.key);
}

/* ---- watches ---------------------------------------------------------------- */

static void on_node(enum kube_ev_type type, json_t *obj, void *ud)
{
	struct kube_agent *ka = ud;
	json_t *labels;

	if (type != KUBE_EV_ADDED && type != KUBE_EV_MODIFIED)
		return;
	labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	json_decref(ka->node_labels);
	ka->node_labels = json_is_object(labels) ? json_incref(labels) : NULL;
	ka->models_dirty = true;
}

static const char *obj_name(const json_t *obj)
{
	const char *n = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	return n ? n : "?";
}

static void on_model(enum kube_ev_type type, json_t *obj, void *ud)
{
	struct kube_agent *ka = ud;
	struct wl_err err = { "" };

	switch (type) {
	case KUBE_EV_SYNC_BEGIN:
		model_set_begin_sync(ka->models);
		break;
	case KUBE_EV_SYNC_END:
		model_set_end_sync(ka->models);
		break;
	case KUBE_EV_ADDED:
	case KUBE_EV_MODIFIED:
		if (model_set_upsert(ka->models, obj, &err) != 0)
			log_warn("kubernetes: PowerModel %s is invalid: %s", obj_name(obj), err.msg);
		break;
	case KUBE_EV_DELETED:
		model_set_remove(ka->models, obj);
		break;
	default:
		return;
	}
	ka->models_dirty = true;
}

static void on_policy(enum kube_ev_type type, json_t *obj, void *ud)
{
	struct kube_agent *ka = ud;
	struct wl_err err = { "" };

	switch (type) {
	case KUBE_EV_SYNC_BEGIN:
		policy_set_begin_sync(ka->policies);
		break;
	case KUBE_EV_SYNC_END:
		policy_set_end_sync(ka->policies);
		break;
	case KUBE_EV_ADDED:
	case KUBE_EV_MODIFIED:
		if (policy_set_upsert(ka->policies, obj, &err) != 0)
			log_warn("kubernetes: EnergyPolicy %s is invalid: %s", obj_name(obj), err.msg);
		break;
	case KUBE_EV_DELETED:
		policy_set_remove(ka->policies, obj);
		break;
	default:
		break;
	}
}

static struct kube_watch *watch(struct kube_agent *ka, const char *path, const char *fsel,
				kube_watch_cb cb, struct wl_err *err)
{
	struct kube_watch_opts wo = { 0 };

	wo.path = path;
	wo.field_selector = fsel;
	wo.cb = cb;
	wo.ud = ka;
	return kube_watch_new(ka->kc, &wo, err);
}

struct kube_agent *kube_agent_new(const struct config *c, struct wl_err *err)
{
	struct kube_agent *ka = calloc(1, sizeof(*ka));
	struct kube_config_opts co = { 0 };
	struct kube_kubelet_opts ko = { 0 };
	struct kube_writer_opts wo = { 0 };
	char fsel[300];
	const char *env;

	if (!ka) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	uidtab_init(&ka->ps, sizeof(struct pod_state), 256, POD_STATE_MAX);
	uidtab_init(&ka->pst, sizeof(struct policy_state), 64, 0);
	ka->cfg = c;
	env = getenv("NODE_NAME");
	if (c->node_name[0])
		snprintf(ka->node, sizeof(ka->node), "%s", c->node_name);
	else if (env && *env)
		snprintf(ka->node, sizeof(ka->node), "%s", env);
	else if (gethostname(ka->node, sizeof(ka->node) - 1) != 0) {
		err_set(err, EINVAL, "kubernetes: no node name (set kubernetes.node_name or NODE_NAME)");
		goto fail;
	}

	/* field manager of our status.nodes[] entries: unique per node, at most 128 bytes */
	if (strlen(ka->node) + 8 <= KW_FIELD_MANAGER_MAX) {
		memcpy(ka->node_fm, "wattlet-", 8);
		memcpy(ka->node_fm + 8, ka->node, strlen(ka->node) + 1);
	} else
		snprintf(ka->node_fm, sizeof(ka->node_fm), "wattlet-%.100s-%016" PRIx64, ka->node,
			 str_hash(ka->node));

	co.kubeconfig = c->kubeconfig[0] ? c->kubeconfig : NULL;
	ka->kc = kube_config_load(&co, err);
	if (!ka->kc)
		goto fail;

	/* The chart passes the pod source and the node's IP in the environment. */
	env = getenv("WATTLET_POD_SOURCE");
	if (env && strcmp(env, "apiserver") == 0)
		ka->pods_from = KUBE_FROM_APISERVER;
	else if (env && strcmp(env, "kubelet") == 0)
		ka->pods_from = KUBE_FROM_KUBELET;
	else if (env && *env) {
		err_set(err, EINVAL, "WATTLET_POD_SOURCE=%s: expected kubelet or apiserver", env);
		goto fail;
	} else
		ka->pods_from = c->pods_from;
	ko.source = ka->pods_from == KUBE_FROM_APISERVER ? KUBE_PODS_APISERVER : KUBE_PODS_KUBELET;
	ko.node = ka->node;
	env = getenv("NODE_IP");
	if (!env || !*env)
		env = getenv("HOST_IP");
	ko.kubelet_addr = c->kubelet_address[0] ? c->kubelet_address : (env && *env ? env : NULL);
	ko.kubelet_port = c->kubelet_port;
	ko.refresh_s = (unsigned)(c->pods_refresh_ms / 1000);
	ko.kubelet_insecure = c->kubelet_insecure;
	ka->pods = kube_kubelet_new(ka->kc, &ko, err);
	ka->models = model_set_new();
	ka->policies = policy_set_new();
	if (!ka->pods || !ka->models || !ka->policies)
		goto fail;

	snprintf(fsel, sizeof(fsel), "metadata.name=%s", ka->node);
	ka->node_watch = watch(ka, "/api/v1/nodes", fsel, on_node, err);
	if (!ka->node_watch)
		goto fail;
	ka->pm_watch = watch(ka, API_GROUP "/powermodels", NULL, on_model, err);
	if (!ka->pm_watch)
		goto fail;
	ka->ep_watch = watch(ka, API_GROUP "/energypolicies", NULL, on_policy, err);
	if (!ka->ep_watch)
		goto fail;

	wo.node_name = ka->node;
	wo.rate_per_s = c->write_qps;
	wo.cluster_budget_per_s = c->write_budget;
	wo.node_ceiling_per_s = c->write_ceiling;
	ka->writer_kc = kube_config_load(&co, err);
	if (!ka->writer_kc)
		goto fail;
	ka->writer = kube_writer_new(ka->writer_kc, &wo, err);
	if (!ka->writer)
		goto fail;
	ka->models_dirty = true;
	log_info("kubernetes: node %s, API %s, pods from %s%s", ka->node, kube_config_server(ka->kc),
		 ka->pods_from == KUBE_FROM_APISERVER ? "the API server (pod watch)" : "the kubelet",
		 c->kubelet_insecure ? " (kubelet certificate NOT verified: explicit opt-out)" : "");
	return ka;
fail:
	kube_agent_free(ka);
	return NULL;
}

void kube_agent_free(struct kube_agent *ka)
{
	if (!ka)
		return;
	kube_classidle_free(ka->classidle);
	kube_writer_free(ka->writer);
	kube_watch_free(ka->ep_watch);
	kube_watch_free(ka->pm_watch);
	kube_watch_free(ka->node_watch);
	kube_kubelet_free(ka->pods);
	policy_set_free(ka->policies);
	model_set_free(ka->models);
	kube_config_free(ka->writer_kc);
	kube_config_free(ka->kc);
	json_decref(ka->node_labels);
	free(ka->entry_policy);
	free(ka->entry_request);
	uidtab_release(&ka->ps);
	uidtab_release(&ka->pst);
	free(ka->acc);
	free(ka);
}

static void log_write_failures(struct kube_agent *ka);

/* The write budget's node count reaches the log when it changes: where it comes from
 * and the share it gives; a warning (once per change) when it is unknown. */
static void log_write_budget(struct kube_agent *ka)
{
	struct kube_writer_stats ws;

	memset(&ws, 0, sizeof(ws));
	kube_writer_stats(ka->writer, &ws);
	if (ws.crd_outdated && !ka->crd_outdated_logged) {
		log_warn("kubernetes: the PodEnergy CRD in the cluster is older than this agent "
			 "(status.refreshIntervalSeconds: field not declared in schema); writing "
			 "PodEnergy without it. Helm does not upgrade CRDs: kubectl apply -f crds/");
		ka->crd_outdated_logged = true;
	}
	if (!ws.budget || (ws.nodes_source == ka->budget_logged_src &&
			   ws.nodes == ka->budget_logged_nodes))
		return;
	/* unknown before the first answer: not news yet */
	if (ws.nodes_source == KW_NODES_UNKNOWN && !ws.nodes_error[0])
		return;
	ka->budget_logged_src = ws.nodes_source;
	ka->budget_logged_nodes = ws.nodes;
	if (ws.nodes_source == KW_NODES_UNKNOWN)
		log_warn("kubernetes: the cluster's node count is unknown (%s); writing at most "
			 "%.3g requests/s (the conservative share, not the per-node ceiling) until "
			 "it is known; metric wattlet_kube_cluster_nodes{source=\"unknown\"}",
			 ws.nodes_error, ws.share_per_s);
	else
		log_info("kubernetes: write budget %g requests/s for the cluster, %u node(s) "
			 "(%s): this node's share %.3g/s, PodEnergy every %u s (at most %u s)",
			 ka->cfg->write_budget, ws.nodes,
			 kube_writer_nodes_source_name(ws.nodes_source), ws.share_per_s,
			 ws.pod_interval_s, ws.pod_max_interval_s);
}

void kube_agent_service(struct kube_agent *ka)
{
	if (kube_kubelet_service(ka->pods, 0) != 0)
		log_debug("kubernetes: pod source I/O error");
	kube_watch_service(ka->node_watch, 0);
	kube_watch_service(ka->pm_watch, 0);
	kube_watch_service(ka->ep_watch, 0);
	struct kube_kubelet_stats ks;
	kube_kubelet_stats(ka->pods, &ks);
	if (ks.failures > ka->pod_failures_logged) {
		/* say it once per burst of failures, not once per retry */
		uint64_t now = mono_ns();
		if (now - ka->last_pod_error_ns > 60ull * 1000000000ull || !ka->last_pod_error_ns) {
			log_warn("kubernetes: reading pods failed (%" PRIu64 " times so far): %s; "
				 "names stay as they were, measurement goes on",
				 ks.failures, ks.last_error);
			ka->last_pod_error_ns = now;
		}
		ka->pod_failures_logged = ks.failures;
	}
	log_write_failures(ka);
	log_write_budget(ka);
	if (!ka->pods_synced_logged) {
		if (ks.synced) {
			log_info("kubernetes: pod table filled (%zu pods on %s)",
				 kube_pods_count(kube_kubelet_pods(ka->pods)), ka->node);
			ka->pods_synced_logged = true;
		}
	}
}

void kube_agent_set_meters(struct kube_agent *ka, const struct meter_probe *probe, size_t n)
{
	ka->n_meters = 0;
	ka->have_probe = true;
	for (size_t i = 0; probe && i < n && ka->n_meters < KW_MAX_METERS; i++) {
		struct kw_meter *m = &ka->meters[ka->n_meters];
		if (!probe[i].tried)
			continue;
		snprintf(ka->meter_reason[ka->n_meters], sizeof(ka->meter_reason[0]), "%s",
			 probe[i].reason[0] ? probe[i].reason
					    : (probe[i].chosen ? "in use" : "not usable"));
		m->kind = meter_kind_name(probe[i].kind);
		m->in_use = probe[i].chosen;
		m->reason = ka->meter_reason[ka->n_meters];
		ka->n_meters++;
	}
}

static uint64_t write_failures(const struct kube_writer_stats *ws)
{
	uint64_t n = 0;
	for (int i = 0; i < KW_RES_COUNT; i++)
		for (int j = 0; j < KW_REASON_COUNT; j++)
			n += ws->failures[i][j];
	return n;
}

/* Failed writes reach the log: the API's message, at most once a minute (a burst of
 * failures is one warning with its count). */
static void log_write_failures(struct kube_agent *ka)
{
	struct kube_writer_stats ws;
	uint64_t n, now = mono_ns();

	memset(&ws, 0, sizeof(ws));
	kube_writer_stats(ka->writer, &ws);
	n = write_failures(&ws);
	if (n <= ka->write_fail_logged)
		return;
	if (ka->last_write_fail_log_ns && now - ka->last_write_fail_log_ns < 60ull * 1000000000ull)
		return;
	log_warn("kubernetes: %" PRIu64 " write(s) to the API failed%s (%" PRIu64 " in all); the "
		 "last: %s %s: %s",
		 n - ka->write_fail_logged, ka->last_write_fail_log_ns ? " in the last minute" : "", n,
		 kube_writer_resource_name(ws.last_resource), kube_writer_reason_name(ws.last_reason),
		 ws.last_error);
	ka->write_fail_logged = n;
	ka->last_write_fail_log_ns = now;
}

void kube_agent_write_stats(struct kube_agent *ka, struct export_kube_writes *out)
{
	struct kube_writer_stats ws;

	memset(&ws, 0, sizeof(ws));
	kube_writer_stats(ka->writer, &ws);
	memset(out, 0, sizeof(*out));
	out->ok[EXPORT_KUBE_PODENERGIES] = ws.pod_writes_ok;
	out->failed[EXPORT_KUBE_PODENERGIES] = ws.pod_writes_failed;
	out->requests[EXPORT_KUBE_PODENERGIES] = ws.pod_requests;
	out->ok[EXPORT_KUBE_NODEENERGIES] = ws.node_writes_ok;
	out->failed[EXPORT_KUBE_NODEENERGIES] = ws.node_writes_failed;
	out->requests[EXPORT_KUBE_NODEENERGIES] = ws.node_requests;
	out->ok[EXPORT_KUBE_EVENTS] = ws.events_sent;
	out->failed[EXPORT_KUBE_EVENTS] = ws.event_requests - ws.events_sent;
	out->requests[EXPORT_KUBE_EVENTS] = ws.event_requests;
	out->skipped_unchanged = ws.skipped_unchanged;
	out->rate_limited = ws.rate_limited;
	out->backoffs = ws.backoffs;
	out->budget = ws.budget;
	out->write_share = ws.share_per_s;
	out->write_stretch = ws.stretch;
	out->cluster_nodes = ws.nodes;
	out->nodes_source = kube_writer_nodes_source_name(ws.nodes_source);
	for (int i = 0; i < KW_RES_COUNT; i++)
		for (int j = 0; j < KW_REASON_COUNT; j++) {
			size_t k = out->n_fail;
			if (!ws.failures[i][j] || k >= sizeof(out->fail) / sizeof(out->fail[0]))
				continue;
			/* the generic status applies are the EnergyPolicies' */
			out->fail[k].resource = i == KW_RES_STATUS
							? "energypolicies"
							: kube_writer_resource_name((enum kw_resource)i);
			out->fail[k].reason = kube_writer_reason_name((enum kw_reason)j);
			out->fail[k].count = ws.failures[i][j];
			out->n_fail++;
		}
}

/* ---- model ------------------------------------------------------------------ */

static void report_invalid_model(struct kube_agent *ka, const struct model_choice *ch)
{
	struct kw_event ev = { 0 };

	log_warn("kubernetes: PowerModel %s selected for %s is invalid; keeping %s: %s",
		 ch->selected, ka->node, ch->name, ch->reason);
	ev.api_version = "wattlet.dev/v1alpha1";
	ev.kind = "PowerModel";
	ev.name = ch->selected;
	ev.reason = "InvalidPowerModel";
	ev.message = ch->reason;
	ev.type = "Warning";
	kube_writer_event(ka->writer, &ev);
}

bool kube_agent_model(struct kube_agent *ka, const struct powermodel **model, const char **name)
{
	struct model_choice ch;
	bool changed = false;

	if (ka->models_dirty) {
		struct kube_watch_stats ws;
		kube_watch_stats(ka->pm_watch, &ws);
		/* decide only once the list is complete, so a relist does not flap */
		if (ws.synced && model_select(ka->models, ka->node_labels, &ch) == 0) {
			changed = ch.changed || !ka->have_choice;
			if (ch.invalid && (changed || !ka->choice.invalid))
				report_invalid_model(ka, &ch);
			else if (changed)
				log_info("kubernetes: power model for %s: %s (%s)", ka->node, ch.name,
					 ch.reason);
			ka->choice = ch;
			ka->have_choice = true;
			ka->models_dirty = false;
		}
	}
	*model = ka->have_choice ? ka->choice.model : NULL;
	*name = ka->have_choice ? ka->choice.name : MS_BUILTIN_NAME;
	return changed;
}

/* ---- attribution inputs --------------------------------------------------------- */

static const struct kube_pod_info *pod_of_row(struct kube_agent *ka, const struct ledger_row *r,
					      const struct kube_container_info **ci)
{
	const struct kube_pod_info *pod = NULL;

	*ci = NULL;
	if (r->ident.container_id[0]) {
		*ci = kube_kubelet_lookup(ka->pods, r->ident.container_id);
		if (*ci)
			pod = (*ci)->pod;
	}
	if (!pod && r->ident.pod_uid[0])
		pod = kube_pods_find_pod(kube_kubelet_pods(ka->pods), r->ident.pod_uid);
	return pod;
}

void kube_agent_prepare_attrib(struct kube_agent *ka, const struct ledger *workloads,
			       const struct usage_sample *us, struct attrib_input *in)
{
	bool any = false;

	if (us->n > ka->entry_alloc) {
		enum idle_policy *p = realloc(ka->entry_policy, us->n * sizeof(*p));
		if (p)
			ka->entry_policy = p;
		double *q = realloc(ka->entry_request, us->n * sizeof(*q));
		if (q)
			ka->entry_request = q;
		if (!p || !q)
			return; /* out of memory: global policy this tick */
		ka->entry_alloc = us->n;
	}
	for (size_t i = 0; i < us->n; i++) {
		const struct ledger_row *r = ledger_find(workloads, us->entries[i].path);
		const struct kube_container_info *ci = NULL;
		const struct kube_pod_info *pod = r ? pod_of_row(ka, r, &ci) : NULL;
		const struct energypolicy *pol = NULL;

		ka->entry_policy[i] = ka->cfg->idle_policy;
		ka->entry_request[i] = 0;
		if (!pod)
			continue;
		any = true;
		pol = policy_for_pod(ka->policies, pod->ns, pod->labels);
		if (pol)
			ka->entry_policy[i] = pol->idle_policy;
		/* a container's own request; the pod-level cgroup carries none */
		ka->entry_request[i] = ci ? ci->cpu_request_cores : 0;
	}
	if (any) {
		in->entry_idle_policy = ka->entry_policy;
		in->cpu_request = ka->entry_request;
	}
}

/* ---- after the tick: names, CO2e, budgets, snapshots ----------------------------- */

static double uj_to_j(uint64_t uj)
{
	return uj / 1e6;
}

/* Checks the pod's budgets: an Event when one is newly exceeded; annot gets the
 * PodEnergy annotation value ("<budget>=<maxJoules>J/<window>s,...") of the budgets
 * with action annotate that are exceeded now, "" when none. */
static void check_budgets(struct kube_agent *ka, struct pod_state *ps,
			  const struct energypolicy *pol, const struct kube_pod_info *pod,
			  uint64_t now_ms, double joules, struct strbuf *annot)
{
	for (size_t b = 0; pol && b < pol->n_budgets; b++) {
		const struct ep_budget *bu = &pol->budgets[b];
		double wj;
		uint64_t span;

		if (ps->budget_window_ms[b] != bu->window_ms) {
			ep_ring_init(&ps->budget[b], bu->window_ms);
			ps->budget_window_ms[b] = bu->window_ms;
			ps->budget_exceeded[b] = false;
		}
		ep_ring_add(&ps->budget[b], now_ms, joules);
		if (ep_ring_window(&ps->budget[b], &wj, &span) != 0)
			continue;
		int over = policy_budget_check(bu, wj);
		if (over == 1 && !ps->budget_exceeded[b]) {
			char msg[512];
			struct kw_event ev = { 0 };
			snprintf(msg, sizeof(msg),
				 "pod used %.1f J in the last %" PRIu64 " s, over budget %s (%.1f J per "
				 "%" PRIu64 " s) of EnergyPolicy %s/%s",
				 wj, span / 1000, bu->name, bu->max_joules, bu->window_ms / 1000, pol->ns,
				 pol->name);
			log_warn("kubernetes: %s/%s: %s", pod->ns, pod->name, msg);
			ev.api_version = "v1";
			ev.kind = "Pod";
			ev.ns = pod->ns;
			ev.name = pod->name;
			ev.uid = pod->uid;
			ev.reason = "EnergyBudgetExceeded";
			ev.message = msg;
			ev.type = "Warning";
			kube_writer_event(ka->writer, &ev);
		}
		ps->budget_exceeded[b] = over == 1;
		if (over == 1 && bu->action == EP_ACTION_ANNOTATE) {
			if (annot->len)
				strbuf_adds(annot, ",");
			strbuf_addf(annot, "%s=%.15gJ/", bu->name, bu->max_joules);
			if (bu->window_ms % 1000 == 0)
				strbuf_addf(annot, "%" PRIu64 "s", bu->window_ms / 1000);
			else
				strbuf_addf(annot, "%.3fs", bu->window_ms / 1000.0);
		}
	}
}

/* Containers of a pod for its PodEnergy: the pod's workload rows with a name. */
static size_t pod_containers(const struct ledger *workloads, const char *uid, uint32_t zones,
			     struct kw_container *out, char (*ids)[96], size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < ledger_count(workloads) && n < cap; i++) {
		const struct ledger_row *r = ledger_row_at(workloads, i);
		if (r->terminated || !r->container || strcmp(r->ident.pod_uid, uid) != 0)
			continue;
		snprintf(ids[n], sizeof(ids[n]), "%s://%s",
			 r->ident.runtime == RT_CRIO ? "cri-o" : cg_runtime_name(r->ident.runtime),
			 r->ident.container_id);
		out[n].name = r->container;
		out[n].container_id = r->ident.container_id[0] ? ids[n] : NULL;
		out[n].joules = uj_to_j(export_total_uj(r->uj, zones));
		out[n].watts = export_total_watts(r->watts, zones);
		n++;
	}
	return n;
}

static void offer_pod(struct kube_agent *ka, const struct ledger *workloads,
		      const struct ledger_row *p, const struct kube_pod_info *pod,
		      const struct energypolicy *pol, struct pod_state *ps, uint32_t zones,
		      const char *model, const char *source, uint64_t now_real_ns,
		      const char *annot)
{
	struct kw_pod snap = { 0 };
	struct kw_zone kz[ZONE_COUNT];
	static struct kw_container ctr[KW_MAX_CONTAINERS];
	static char ids[KW_MAX_CONTAINERS][96];
	char polname[EP_NS_MAX + EP_NAME_MAX + 2] = "";
	uint64_t dyn_uj = 0, idle_uj = 0, interval_ms, now_ms = now_real_ns / 1000000ull, span;
	double wdyn = 0, widle = 0;
	size_t nz = 0;

	interval_ms = pol ? pol->update_interval_ms : ka->cfg->podenergy_interval_ms;
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(zones & (1u << z)))
			continue;
		kz[nz].zone = (enum zone)z;
		kz[nz].dynamic_joules = uj_to_j(p->uj[z][MODE_DYNAMIC]);
		kz[nz].idle_joules = uj_to_j(p->uj[z][MODE_IDLE]);
		kz[nz].dynamic_watts = p->watts[z][MODE_DYNAMIC];
		kz[nz].idle_watts = p->watts[z][MODE_IDLE];
		nz++;
	}
	/* totals without double counting, averaged over the update window */
	uint64_t tot[ZONE_COUNT][MODE_COUNT];
	memcpy(tot, p->uj, sizeof(tot));
	for (int z = 0; z < ZONE_COUNT; z++)
		tot[z][MODE_IDLE] = 0;
	dyn_uj = export_total_uj(tot, zones);
	idle_uj = export_total_uj(p->uj, zones) - dyn_uj;
	if (ps->window_ms != interval_ms) {
		ep_ring_init(&ps->dyn, interval_ms);
		ep_ring_init(&ps->idle, interval_ms);
		ps->window_ms = interval_ms;
	}
	ep_ring_add(&ps->dyn, now_ms, uj_to_j(dyn_uj));
	ep_ring_add(&ps->idle, now_ms, uj_to_j(idle_uj));
	if (ep_ring_window(&ps->dyn, &wdyn, &span) == 0 && span > 0)
		wdyn /= span / 1000.0;
	else
		wdyn = export_mode_watts(p->watts, zones, MODE_DYNAMIC);
	if (ep_ring_window(&ps->idle, &widle, &span) == 0 && span > 0)
		widle /= span / 1000.0;
	else
		widle = export_mode_watts(p->watts, zones, MODE_IDLE);

	if (pol)
		snprintf(polname, sizeof(polname), "%s/%s", pol->ns, pol->name);
	snap.ns = pod->ns;
	snap.name = pod->name;
	snap.uid = pod->uid;
	snap.node = ka->node;
	snap.model = model;
	snap.policy = polname;
	snap.last_measured_ns = now_real_ns;
	snap.window_s = span > 0 ? span / 1000.0 : interval_ms / 1000.0;
	snap.dynamic_watts = wdyn;
	snap.idle_watts = widle;
	snap.watts = wdyn + widle;
	snap.joules = uj_to_j(dyn_uj + idle_uj);
	snap.has_co2e = pol && pol->has_carbon;
	snap.co2e_grams = p->co2e_g;
	snap.zones = kz;
	snap.n_zones = nz;
	snap.containers = ctr;
	snap.n_containers = pod_containers(workloads, pod->uid, zones, ctr, ids, KW_MAX_CONTAINERS);
	snap.interval_s = (unsigned)(interval_ms / 1000);
	snap.budget_annotation = annot;
	snap.energy_source = source;
	kube_writer_offer_pod(ka->writer, &snap);
}

static double worst_deviation(const struct export_validation *v)
{
	double worst = 0;
	for (int z = 0; z < ZONE_COUNT; z++)
		if ((v->zone_mask & (1u << z)) && fabs(v->deviation_percent[z]) > fabs(worst))
			worst = v->deviation_percent[z];
	return worst;
}

/* Zone names of a mask, comma-separated. */
static void zone_list(uint32_t mask, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (int z = 0; z < ZONE_COUNT && n + 1 < cap; z++)
		if (mask & (1u << z))
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", zone_name((enum zone)z));
}

/* Why no meter: the probe's reasons, "kind: reason; ..." (or what the daemon says). */
static void no_meter_why(const struct kube_agent *ka, const struct agent_status *st, char *out,
			 size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < ka->n_meters && n + 1 < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%s: %s", n ? "; " : "", ka->meters[i].kind,
				      ka->meters[i].reason);
	if (!n)
		snprintf(out, cap, "%s", st->meter_detail && *st->meter_detail ? st->meter_detail
									: "no meter probed");
}

static void offer_node(struct kube_agent *ka, const struct ledger *workloads,
		       const struct agent_status *st, uint32_t zones)
{
	const struct ledger_node *n = ledger_node_c(workloads);
	struct kw_node snap = { 0 };
	struct kw_meter meter = { 0 };
	struct kw_node_zone kz[ZONE_COUNT];
	struct kw_condition cond[3];
	char model_msg[WL_ERR_MAX + 64], why[1200], src_msg[2048], ez[64];
	const char *source = st->energy_source ? st->energy_source : "none";
	const char *model_name = st->model_name && *st->model_name ? st->model_name : MS_BUILTIN_NAME;
	bool have_meter = st->meter && strcmp(st->meter, "none") != 0;
	size_t nz = 0;

	/* meters: every kind probed; without the probe, the one in use (the CRD knows no
	 * kind "none": such a status was refused whole, issue 19) */
	if (ka->have_probe) {
		snap.meters = ka->meters;
		snap.n_meters = ka->n_meters;
	} else if (have_meter) {
		meter.kind = st->meter;
		meter.in_use = true;
		meter.reason = st->meter_detail && *st->meter_detail ? st->meter_detail : "in use";
		snap.meters = &meter;
		snap.n_meters = 1;
	}
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(zones & (1u << z)))
			continue;
		kz[nz].zone = (enum zone)z;
		kz[nz].dynamic_watts = n->watts[z][MODE_DYNAMIC];
		kz[nz].idle_watts = n->watts[z][MODE_IDLE];
		kz[nz].joules = uj_to_j(n->uj[z][MODE_DYNAMIC] + n->uj[z][MODE_IDLE]);
		kz[nz].idle_source = st->idle_source[z];
		nz++;
	}
	cond[0].type = "ModelValid";
	cond[0].status = ka->have_choice && ka->choice.invalid ? "False" : "True";
	cond[0].reason = ka->have_choice && ka->choice.invalid ? "InvalidPowerModel" : "ModelApplied";
	snprintf(model_msg, sizeof(model_msg), "%s", ka->have_choice ? ka->choice.reason : "built-in ratio model");
	cond[0].message = model_msg;
	no_meter_why(ka, st, why, sizeof(why));
	cond[1].type = "MeterAvailable";
	cond[1].status = have_meter ? "True" : "False";
	cond[1].reason = have_meter ? "MeterFound" : "NoMeter";
	cond[1].message = have_meter ? (st->meter_detail ? st->meter_detail : "") : why;
	zone_list(st->estimated_zones, ez, sizeof(ez));
	cond[2].type = "EnergySource";
	if (strcmp(source, "meter") == 0) {
		cond[2].status = "True";
		cond[2].reason = "MeterFound";
		snprintf(src_msg, sizeof(src_msg), "measured by the %s meter: %s", st->meter,
			 st->meter_detail ? st->meter_detail : "");
	} else if (strcmp(source, "meter+model") == 0) {
		cond[2].status = "True";
		cond[2].reason = "MeterAndModel";
		snprintf(src_msg, sizeof(src_msg),
			 "measured by the %s meter; zones %s estimated by PowerModel %s", st->meter, ez,
			 model_name);
	} else if (strcmp(source, "model") == 0) {
		cond[2].status = "True";
		cond[2].reason = "ModelEstimated";
		snprintf(src_msg, sizeof(src_msg),
			 "no energy meter; zones %s estimated by PowerModel %s (estimates, not "
			 "measurements)",
			 ez, model_name);
	} else {
		source = "none";
		cond[2].status = "False";
		cond[2].reason = "NoMeter";
		snprintf(src_msg, sizeof(src_msg),
			 "no energy meter on this node (%.1200s) and no PowerModel with estimated zones "
			 "selects it: energy is NOT reported (zeros). Apply a PowerModel with estimated "
			 "zones whose nodeSelector matches this node: fit one on a metered node of the "
			 "same hardware (wattlet run --record FILE; wattlet model fit FILE) or start "
			 "from k8s/examples/powermodel-estimated.yaml (docs/models.md)",
			 why);
	}
	cond[2].message = src_msg;
	cond[0].last_transition_ns = cond[1].last_transition_ns = cond[2].last_transition_ns = 0;

	snap.name = ka->node;
	snap.usage_source = st->usage_source;
	snap.energy_source = source;
	snap.estimated_zones = st->estimated_zones;
	snap.model_name = model_name;
	snap.attribution = ka->have_choice && ka->choice.model
				   ? pm_attribution_name(ka->choice.model->attribution)
				   : "ratio";
	snap.watts = export_total_watts(n->watts, zones);
	snap.joules = uj_to_j(export_total_uj(n->uj, zones));
	snap.zones = kz;
	snap.n_zones = nz;
	{
		/* either kind alone is a result: passed when every present kind passed, the
		 * newest time, a deviation only for a kind that ran (NAN is omitted) */
		const struct export_validation *vn = &st->validation[EXPORT_VALIDATION_NODE];
		const struct export_validation *vw = &st->validation[EXPORT_VALIDATION_WORKLOAD];
		if (vn->present || vw->present) {
			double tn = vn->present ? vn->timestamp_s : 0;
			double tw = vw->present ? vw->timestamp_s : 0;
			snap.has_validation = true;
			snap.validation.time_ns = (uint64_t)((tn > tw ? tn : tw) * 1e9);
			snap.validation.passed = (!vn->present || vn->passed) &&
						 (!vw->present || vw->passed);
			snap.validation.node_deviation_pct = vn->present ? worst_deviation(vn) : NAN;
			snap.validation.pod_deviation_pct = vw->present ? worst_deviation(vw) : NAN;
		}
	}
	snap.conditions = cond;
	snap.n_conditions = 3;
	kube_writer_offer_node(ka->writer, &snap);
}

/* ---- EnergyPolicy status ------------------------------------------------------------ */

static void acc_add(struct kube_agent *ka, const struct energypolicy *pol, double joules,
		    double co2e_g)
{
	struct policy_acc *a = NULL;

	for (size_t i = 0; i < ka->n_acc && !a; i++)
		if (ka->acc[i].pol == pol)
			a = &ka->acc[i];
	if (!a) {
		if (ka->n_acc == ka->acc_alloc) {
			size_t na = ka->acc_alloc ? ka->acc_alloc * 2 : 16;
			struct policy_acc *n = realloc(ka->acc, na * sizeof(*n));
			if (!n)
				return; /* out of memory: this policy's status waits */
			ka->acc = n;
			ka->acc_alloc = na;
		}
		a = &ka->acc[ka->n_acc++];
		memset(a, 0, sizeof(*a));
		a->pol = pol;
	}
	a->pods++;
	if (isfinite(joules) && joules > 0)
		a->joules += joules;
	if (isfinite(co2e_g) && co2e_g > 0)
		a->co2e_g += co2e_g;
}

/* Offers a status apply body (decref'ed here). */
static void offer_status_body(struct kube_agent *ka, const struct policy_entry_info *who,
			      const char *what, const char *fm, json_t *body)
{
	struct strbuf path, key;
	char *txt = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	int rc;

	json_decref(body);
	strbuf_init(&path, 2048);
	strbuf_adds(&path, API_GROUP "/namespaces/");
	kube_url_escape(&path, who->ns);
	strbuf_adds(&path, "/energypolicies/");
	kube_url_escape(&path, who->name);
	strbuf_adds(&path, "/status");
	strbuf_init(&key, 512);
	strbuf_addf(&key, "%s/%s", who->uid, what);
	if (txt && !path.overflow && !key.overflow) {
		rc = kube_writer_offer_status(ka->writer, key.buf, path.buf, fm, txt);
		if (rc)
			log_debug("kubernetes: EnergyPolicy %s/%s status not queued: %s", who->ns,
				  who->name, strerror(-rc));
	}
	strbuf_release(&path);
	strbuf_release(&key);
	free(txt);
}

/* Once per policy and updateInterval: this node's status.nodes[] entry (field manager
 * wattlet-<node>) when it has pods of the policy (or removes it when it no longer has),
 * and the top-level sums (field manager wattlet, force) from that entry and the other
 * nodes' entries as last watched. A node without pods of the policy writes the sums only
 * when the watched status does not already show them (a new or invalid policy). */
static void offer_policies(struct kube_agent *ka, uint64_t now_real_ns)
{
	struct kube_watch_stats ws;
	uint64_t now_ms = now_real_ns / 1000000ull;

	kube_watch_stats(ka->ep_watch, &ws);
	if (!ws.synced)
		return; /* other nodes' entries unknown yet */
	for (size_t i = 0; i < policy_set_count(ka->policies); i++) {
		struct policy_entry_info who;
		struct policy_state *ps;
		const struct policy_acc *a = NULL;
		struct ep_node_part part = { 0 };
		struct ep_status_in in;
		struct wl_err err = { "" };
		uint64_t iv;
		bool had_entry, mine;
		json_t *body;

		if (policy_set_at(ka->policies, i, &who) != 0 || !who.ns[0] || !who.name[0])
			continue;
		ps = uidtab_get(&ka->pst, who.uid);
		if (!ps)
			continue;
		ps->h.seen = ka->ticks;
		iv = who.policy ? who.policy->update_interval_ms : EP_INTERVAL_DEFAULT_MS;
		if (ps->last_ms && now_ms >= ps->last_ms && now_ms - ps->last_ms < iv)
			continue;
		ps->last_ms = now_ms ? now_ms : 1;
		for (size_t k = 0; who.policy && k < ka->n_acc && !a; k++)
			if (ka->acc[k].pol == who.policy)
				a = &ka->acc[k];
		mine = a && a->pods > 0;
		had_entry = ps->entry || ep_status_has_node(&who, ka->node);
		part.node = ka->node;
		part.real_ns = now_real_ns;
		if (mine) {
			part.matched_pods = a->pods;
			part.total_joules = a->joules;
			part.total_co2e_grams = a->co2e_g;
		}
		if (mine || had_entry) {
			body = ep_status_node_build(&who, mine ? &part : NULL, &err);
			if (body)
				offer_status_body(ka, &who, "node", ka->node_fm, body);
			else
				log_debug("kubernetes: EnergyPolicy %s/%s: %s", who.ns, who.name,
					  err.msg);
			ps->entry = mine && body;
		}
		if (ep_status_sum(&who, ka->node, mine ? &part : NULL, now_real_ns,
				  EP_STALE_INTERVALS * iv, &in) < 0)
			continue;
		body = ep_status_build(&who, &in, &err);
		if (!body) {
			log_debug("kubernetes: EnergyPolicy %s/%s: %s", who.ns, who.name, err.msg);
			continue;
		}
		if (!mine && !had_entry && ep_status_current(&who, body)) {
			json_decref(body); /* already shows it: nothing to write */
			continue;
		}
		offer_status_body(ka, &who, "sum", "wattlet", body);
	}
	uidtab_sweep(&ka->pst, ka->ticks, NULL, NULL);
}

/* PodEnergy status.energySource from the node's: a pod's energy is measured only when
 * no zone is estimated. */
static const char *pod_source(const struct agent_status *st)
{
	const char *s = st->energy_source;
	if (!s || strcmp(s, "none") == 0)
		return "none";
	if (strcmp(s, "meter") == 0 && !st->estimated_zones)
		return "measured";
	return "estimated";
}

void kube_agent_after_tick(struct kube_agent *ka, struct ledger *workloads, struct ledger *pods,
			   const struct agent_status *st, uint64_t now_real_ns, double dt_s)
{
	uint32_t zones = export_zones_present(ledger_node_c(workloads));
	const char *model = st->model_name ? st->model_name : MS_BUILTIN_NAME;
	uint64_t now_ms = now_real_ns / 1000000ull;

	(void)dt_s;
	ka->ticks++;
	ka->n_acc = 0;
	/* names of workload rows */
	for (size_t i = 0; i < ledger_count(workloads); i++) {
		struct ledger_row *r = (struct ledger_row *)ledger_row_at(workloads, i);
		const struct kube_container_info *ci;
		const struct kube_pod_info *pod;
		if (r->terminated || !(r->ident.container_id[0] || r->ident.pod_uid[0]))
			continue;
		pod = pod_of_row(ka, r, &ci);
		if (pod)
			ledger_row_set_names(r, pod->ns, pod->name, ci ? ci->name : NULL);
	}
	/* pods: names, CO2e, budgets, PodEnergy */
	for (size_t i = 0; i < ledger_count(pods); i++) {
		struct ledger_row *p = (struct ledger_row *)ledger_row_at(pods, i);
		const struct kube_pod_info *pod;
		const struct energypolicy *pol;
		struct pod_state *ps;
		struct strbuf annot;

		if (p->terminated)
			continue;
		pod = kube_pods_find_pod(kube_kubelet_pods(ka->pods), p->key);
		if (!pod)
			continue; /* not known to the kubelet (yet): no PodEnergy without an owner */
		ledger_row_set_names(p, pod->ns, pod->name, NULL);
		pol = policy_for_pod(ka->policies, pod->ns, pod->labels);
		if (pol && pol->has_carbon)
			p->co2e_g += ep_co2e_grams(uj_to_j(export_total_uj(p->tick_uj, zones)),
						   pol->carbon_g_per_kwh);
		ps = uidtab_get(&ka->ps, p->key);
		if (!ps)
			continue;
		ps->h.seen = ka->ticks;
		strbuf_init(&annot, 4096);
		check_budgets(ka, ps, pol, pod, now_ms, uj_to_j(export_total_uj(p->uj, zones)),
			      &annot);
		offer_pod(ka, workloads, p, pod, pol, ps, zones, model, pod_source(st), now_real_ns,
			  annot.overflow ? NULL : annot.buf);
		strbuf_release(&annot);
		if (pol)
			acc_add(ka, pol, uj_to_j(export_total_uj(p->uj, zones)),
				pol->has_carbon ? p->co2e_g : 0);
	}
	uidtab_sweep(&ka->ps, ka->ticks, pod_gone, ka);
	offer_node(ka, workloads, st, zones);
	offer_policies(ka, now_real_ns);
}

/* ---- idle of the hardware class ---------------------------------------------- */

static void classidle_start(struct kube_agent *ka)
{
	const struct config *c = ka->cfg;
	struct kube_config_opts co = { 0 };
	struct wl_err err = { "" };
	struct kube_watch_stats ws;
	struct ci_hw hw;
	struct ci_opts o = { 0 };
	char key[CI_KEY_MAX];
	const char *itype;
	struct kube_config *kc;

	kube_watch_stats(ka->node_watch, &ws);
	if (!ws.synced && ka->ticks < 30)
		return; /* wait for the Node's labels (instance type), not forever */
	ka->classidle_tried = true;
	if (strcmp(c->idle_class, "off") == 0)
		return;
	if (ci_hw_read(c->proc_root, &hw, &err) != 0) {
		log_warn("idle class: %s; idle is not shared with other nodes", err.msg);
		return;
	}
	itype = json_string_value(json_object_get(ka->node_labels,
						  "node.kubernetes.io/instance-type"));
	if (ci_class_key(&hw, itype, c->idle_class, key, sizeof(key), &err) != 0) {
		log_warn("idle class: %s; idle is not shared with other nodes", err.msg);
		return;
	}
	co.kubeconfig = c->kubeconfig[0] ? c->kubeconfig : NULL;
	kc = kube_config_load(&co, &err);
	o.node = ka->node;
	o.key = key;
	o.hw = &hw;
	o.refresh_ms = c->idle_class_refresh_ms;
	o.publish_ms = c->idle_class_publish_ms;
	ka->classidle = kc ? kube_classidle_new(kc, &o, &err) : NULL;
	if (!ka->classidle) {
		log_warn("idle class: %s; idle is not shared with other nodes", err.msg);
		return;
	}
	log_info("idle class: NodeClassIdle %s (%s; %s; %u sockets, %u cpus, %u GiB)", key,
		 c->idle_class[0] ? "model.idle_class" : itype ? "instance type" : "hardware hash",
		 hw.cpu_model, hw.sockets, hw.cpus, hw.mem_gib);
}

void kube_agent_class_idle(struct kube_agent *ka, struct idle_est *const est[ZONE_COUNT],
			   const char *meter, double class_w[ZONE_COUNT])
{
	struct ci_entry mine = { .zone_mask = 0 };
	struct ci_stats cs;
	unsigned used[ZONE_COUNT];

	for (int z = 0; z < ZONE_COUNT; z++)
		class_w[z] = -1;
	if (!ka->classidle_tried)
		classidle_start(ka);
	if (!ka->classidle || !meter)
		return;
	snprintf(mine.meter, sizeof(mine.meter), "%s", meter);
	for (int z = 0; z < ZONE_COUNT; z++) {
		struct idle_info inf;
		double w;
		if (!est[z] || !idle_est_info(est[z], &inf) || idle_est_get(est[z], &w, NULL) != 0)
			continue;
		mine.zone_mask |= 1u << z;
		mine.zone[z] = (struct ci_zone){ .watts = w, .samples = inf.samples,
						 .span = inf.fit_span, .rmse = inf.fit_rmse };
		snprintf(mine.zone[z].source, sizeof(mine.zone[z].source), "%s",
			 idle_source_name(inf.src));
	}
	if (mine.zone_mask)
		kube_classidle_offer(ka->classidle, &mine);
	kube_classidle_value(ka->classidle, meter, class_w, used);
	kube_classidle_stats(ka->classidle, &cs);
	if (!ka->class_used_logged && class_w[ZONE_PACKAGE] >= 0 && !mine.zone_mask) {
		ka->class_used_logged = true;
		log_info("idle class: %.2f W package idle from %u node(s) of the class, used while "
			 "this node's own estimate is not confident", class_w[ZONE_PACKAGE],
			 used[ZONE_PACKAGE]);
	}
	if (!ka->class_pub_logged && cs.publishes) {
		ka->class_pub_logged = true;
		log_info("idle class: this node's idle published to its NodeClassIdle");
	}
	if (cs.errors > ka->class_errors_logged) {
		if (!ka->class_errors_logged || cs.errors >= 2 * ka->class_errors_logged)
			log_warn("idle class: %s (%" PRIu64 " failures so far)", cs.last_error,
				 cs.errors);
		ka->class_errors_logged = cs.errors;
	}
}
