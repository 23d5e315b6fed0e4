/* kube_agent.c - see kube_agent.h: construction, the watches, servicing the network,
 * the PowerModel choice, attribution inputs, the writer's counters and the hardware
 * class's idle. The per-tick publishing is kube_agent_publish.c. */
#include "kube_agent_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "kube_classidle.h"
#include "kube_config.h"
#include "kube_kubelet.h"
#include "kube_pods.h"
#include "kube_watch.h"
#include "kube_writer.h"
#include "../policy/energypolicy.h"
#include "../policy/modelselect.h"

void ka_note(struct kube_agent *ka, enum log_level lvl, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!ka->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ka->note(lvl, msg, ka->note_ud);
}

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
			ka_note(ka, LOG_WARN, "kubernetes: PowerModel %s is invalid: %s", obj_name(obj), err.msg);
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
			ka_note(ka, LOG_WARN, "kubernetes: EnergyPolicy %s is invalid: %s", obj_name(obj), err.msg);
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

struct kube_agent *kube_agent_new(const struct config *c, kube_agent_note_fn note, void *note_ud,
				  struct wl_err *err)
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
	ka->note = note;
	ka->note_ud = note_ud;
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
	ka_throttle_start(ka);
	ka_note(ka, LOG_INFO, "kubernetes: node %s, API %s, pods from %s%s", ka->node, kube_config_server(ka->kc),
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
	kube_throttle_free(ka->throttle);
	kube_config_free(ka->throttle_kc);
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
		ka_note(ka, LOG_WARN, "kubernetes: the PodEnergy CRD in the cluster is older than this agent "
			 "(status.refreshIntervalSeconds, owner or display: field not declared in "
			 "schema); writing PodEnergy and NodeEnergy without them. Helm does not "
			 "upgrade CRDs: kubectl apply -f crds/");
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
		ka_note(ka, LOG_WARN, "kubernetes: the cluster's node count is unknown (%s); writing at most "
			 "%.3g requests/s (the conservative share, not the per-node ceiling) until "
			 "it is known; metric wattlet_kube_cluster_nodes{source=\"unknown\"}",
			 ws.nodes_error, ws.share_per_s);
	else
		ka_note(ka, LOG_INFO, "kubernetes: write budget %g requests/s for the cluster, %u node(s) "
			 "(%s): this node's share %.3g/s, PodEnergy every %u s (at most %u s)",
			 ka->cfg->write_budget, ws.nodes,
			 kube_writer_nodes_source_name(ws.nodes_source), ws.share_per_s,
			 ws.pod_interval_s, ws.pod_max_interval_s);
}

void kube_agent_service(struct kube_agent *ka)
{
	if (kube_kubelet_service(ka->pods, 0) != 0)
		ka_note(ka, LOG_DEBUG, "kubernetes: pod source I/O error");
	kube_watch_service(ka->node_watch, 0);
	kube_watch_service(ka->pm_watch, 0);
	kube_watch_service(ka->ep_watch, 0);
	struct kube_kubelet_stats ks;
	kube_kubelet_stats(ka->pods, &ks);
	if (ks.failures > ka->pod_failures_logged) {
		/* say it once per burst of failures, not once per retry */
		uint64_t now = mono_ns();
		if (now - ka->last_pod_error_ns > 60ull * 1000000000ull || !ka->last_pod_error_ns) {
			ka_note(ka, LOG_WARN, "kubernetes: reading pods failed (%" PRIu64 " times so far): %s; "
				 "names stay as they were, measurement goes on",
				 ks.failures, ks.last_error);
			ka->last_pod_error_ns = now;
		}
		ka->pod_failures_logged = ks.failures;
	}
	log_write_failures(ka);
	log_write_budget(ka);
	ka_throttle_results(ka);
	if (!ka->pods_synced_logged) {
		if (ks.synced) {
			ka_note(ka, LOG_INFO, "kubernetes: pod table filled (%zu pods on %s)",
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

void kube_agent_set_source(struct kube_agent *ka, const char *kind, bool in_use,
			   const char *reason)
{
	size_t i;

	if (!ka || !kind)
		return;
	for (i = 0; i < ka->n_sources; i++)
		if (strcmp(ka->sources[i].kind, kind) == 0)
			break;
	if (i == KA_MAX_SOURCES)
		return;
	if (i == ka->n_sources)
		ka->n_sources++;
	snprintf(ka->source_reason[i], sizeof(ka->source_reason[0]), "%s",
		 reason && *reason ? reason : in_use ? "in use" : "not usable");
	ka->sources[i].kind = kind;
	ka->sources[i].in_use = in_use;
	ka->sources[i].reason = ka->source_reason[i];
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
	ka_note(ka, LOG_WARN, "kubernetes: %" PRIu64 " write(s) to the API failed%s (%" PRIu64 " in all); the "
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

	ka_note(ka, LOG_WARN, "kubernetes: PowerModel %s selected for %s is invalid; keeping %s: %s",
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
				ka_note(ka, LOG_INFO, "kubernetes: power model for %s: %s (%s)", ka->node, ch.name,
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

const struct kube_pod_info *ka_pod_of_row(struct kube_agent *ka, const struct ledger_row *r,
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
		const struct kube_pod_info *pod = r ? ka_pod_of_row(ka, r, &ci) : NULL;
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
		ka_note(ka, LOG_WARN, "idle class: %s; idle is not shared with other nodes", err.msg);
		return;
	}
	itype = json_string_value(json_object_get(ka->node_labels,
						  "node.kubernetes.io/instance-type"));
	if (ci_class_key(&hw, itype, c->idle_class, key, sizeof(key), &err) != 0) {
		ka_note(ka, LOG_WARN, "idle class: %s; idle is not shared with other nodes", err.msg);
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
		ka_note(ka, LOG_WARN, "idle class: %s; idle is not shared with other nodes", err.msg);
		return;
	}
	ka_note(ka, LOG_INFO, "idle class: NodeClassIdle %s (%s; %s; %u sockets, %u cpus, %u GiB)", key,
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
		ka_note(ka, LOG_INFO, "idle class: %.2f W package idle from %u node(s) of the class, used while "
			 "this node's own estimate is not confident", class_w[ZONE_PACKAGE],
			 used[ZONE_PACKAGE]);
	}
	if (!ka->class_pub_logged && cs.publishes) {
		ka->class_pub_logged = true;
		ka_note(ka, LOG_INFO, "idle class: this node's idle published to its NodeClassIdle");
	}
	if (cs.errors > ka->class_errors_logged) {
		if (!ka->class_errors_logged || cs.errors >= 2 * ka->class_errors_logged)
			ka_note(ka, LOG_WARN, "idle class: %s (%" PRIu64 " failures so far)", cs.last_error,
				 cs.errors);
		ka->class_errors_logged = cs.errors;
	}
}
