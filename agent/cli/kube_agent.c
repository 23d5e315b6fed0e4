/* kube_agent.c - see kube_agent.h. */
#include "kube_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../kube/kube_config.h"
#include "../kube/kube_kubelet.h"
#include "../kube/kube_pods.h"
#include "../kube/kube_watch.h"
#include "log.h"

struct kube_agent {
	const struct config *cfg;
	char node[256];
	struct kube_config *kc;
	struct kube_kubelet *pods;
	struct kube_watch *node_watch;
	json_t *node_labels; /* own Node's metadata.labels (owned), or NULL */
	bool pods_synced_logged;
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

static void on_node(enum kube_ev_type type, json_t *obj, void *ud)
{
	struct kube_agent *ka = ud;
	json_t *labels;

	if (type != KUBE_EV_ADDED && type != KUBE_EV_MODIFIED)
		return;
	labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	json_decref(ka->node_labels);
	ka->node_labels = json_is_object(labels) ? json_incref(labels) : NULL;
}

struct kube_agent *kube_agent_new(const struct config *c, struct wl_err *err)
{
	struct kube_agent *ka = calloc(1, sizeof(*ka));
	struct kube_config_opts co = { 0 };
	struct kube_kubelet_opts ko = { 0 };
	struct kube_watch_opts wo = { 0 };
	char fsel[300];
	const char *env;

	if (!ka) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
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

	co.kubeconfig = c->kubeconfig[0] ? c->kubeconfig : NULL;
	ka->kc = kube_config_load(&co, err);
	if (!ka->kc)
		goto fail;

	ko.source = c->pods_from == KUBE_FROM_APISERVER ? KUBE_PODS_APISERVER : KUBE_PODS_KUBELET;
	ko.node = ka->node;
	env = getenv("HOST_IP");
	ko.kubelet_addr = c->kubelet_address[0] ? c->kubelet_address : (env && *env ? env : NULL);
	ko.kubelet_port = c->kubelet_port;
	ko.refresh_s = (unsigned)(c->pods_refresh_ms / 1000);
	ko.kubelet_insecure = c->kubelet_insecure;
	ka->pods = kube_kubelet_new(ka->kc, &ko, err);
	if (!ka->pods)
		goto fail;

	snprintf(fsel, sizeof(fsel), "metadata.name=%s", ka->node);
	wo.path = "/api/v1/nodes";
	wo.field_selector = fsel;
	wo.cb = on_node;
	wo.ud = ka;
	ka->node_watch = kube_watch_new(ka->kc, &wo, err);
	if (!ka->node_watch)
		goto fail;
	log_info("kubernetes: node %s, API %s, pods from %s%s", ka->node, kube_config_server(ka->kc),
		 c->pods_from == KUBE_FROM_APISERVER ? "the API server (pod watch)" : "the kubelet",
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
	kube_watch_free(ka->node_watch);
	kube_kubelet_free(ka->pods);
	kube_config_free(ka->kc);
	json_decref(ka->node_labels);
	free(ka);
}

void kube_agent_service(struct kube_agent *ka)
{
	if (kube_kubelet_service(ka->pods, 0) != 0)
		log_debug("kubernetes: pod source I/O error");
	kube_watch_service(ka->node_watch, 0);
	if (!ka->pods_synced_logged) {
		struct kube_kubelet_stats ks;
		kube_kubelet_stats(ka->pods, &ks);
		if (ks.synced) {
			log_info("kubernetes: pod table filled (%zu pods on %s)",
				 kube_pods_count(kube_kubelet_pods(ka->pods)), ka->node);
			ka->pods_synced_logged = true;
		}
	}
}

/* Names a workload row from the pod table; returns its pod info or NULL. */
static const struct kube_pod_info *name_row(struct kube_agent *ka, struct ledger_row *r)
{
	const struct kube_pod_info *pod = NULL;
	const char *ctr = NULL;

	if (r->ident.container_id[0]) {
		const struct kube_container_info *ci = kube_kubelet_lookup(ka->pods, r->ident.container_id);
		if (ci) {
			pod = ci->pod;
			ctr = ci->name;
		}
	}
	if (!pod && r->ident.pod_uid[0])
		pod = kube_pods_find_pod(kube_kubelet_pods(ka->pods), r->ident.pod_uid);
	if (pod)
		ledger_row_set_names(r, pod->ns, pod->name, ctr);
	return pod;
}

void kube_agent_after_tick(struct kube_agent *ka, struct ledger *workloads, struct ledger *pods,
			   const struct agent_status *st, uint64_t now_real_ns)
{
	(void)st;
	(void)now_real_ns;
	for (size_t i = 0; i < ledger_count(workloads); i++) {
		struct ledger_row *r = (struct ledger_row *)ledger_row_at(workloads, i);
		if (!r->terminated && (r->ident.container_id[0] || r->ident.pod_uid[0]))
			name_row(ka, r);
	}
	for (size_t i = 0; i < ledger_count(pods); i++) {
		struct ledger_row *p = (struct ledger_row *)ledger_row_at(pods, i);
		const struct kube_pod_info *pod;
		if (p->terminated || p->pod)
			continue;
		pod = kube_pods_find_pod(kube_kubelet_pods(ka->pods), p->key);
		if (pod)
			ledger_row_set_names(p, pod->ns, pod->name, NULL);
	}
}
