/* kube_agent_impl.h - internals shared by the Kubernetes orchestrator's files (not a
 * public interface; the face is kube_agent.h).
 *
 * One struct kube_agent, split by job:
 *  - kube_agent.c          new/free, the watches (Node, PowerModels, EnergyPolicies),
 *                          servicing the network, the PowerModel choice, attribution
 *                          inputs, the writer's counters, the hardware class's idle;
 *  - kube_agent_publish.c  after a tick: row names, CO2e, budgets, PodEnergy /
 *                          NodeEnergy / EnergyPolicy status offers.
 * Everything runs on the daemon's thread. Nothing here logs: what the operator should
 * hear goes through ka_note() to the caller's kube_agent_note_fn.
 */
#ifndef WATTLET_KUBE_AGENT_IMPL_H
#define WATTLET_KUBE_AGENT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube_agent.h"
#include "kube_kubelet.h"
#include "kube_pods.h"
#include "kube_throttle.h"
#include "kube_writer.h"
#include "../common/uidtab.h"
#include "../policy/energypolicy.h"
#include "../policy/modelselect.h"
#include "../policy/throttle.h"

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
	/* the budget action throttle (policy/throttle.h, kube_throttle.h) */
	struct thr_state thr;
	bool thr_pending;	    /* a request is with the actuator */
	bool thr_applied;	    /* the actuator confirmed a lower limit (pods show it) */
	uint64_t thr_blocked_ms;    /* no throttling by the method that failed before */
	bool thr_blocked_cgroup;    /* ... which was method cgroup */
	uint32_t thr_orig_mcpu;	    /* the pod's own limits summed (0: none) */
	char thr_cond_status[8];    /* PodEnergy condition Throttled: "" none, True, False */
	char thr_cond_reason[32];
	char thr_cond_msg[320];
	uint64_t thr_cond_since_ns; /* CLOCK_REALTIME of its last transition */
	char thr_budget[EP_BUDGET_NAME_MAX + 1];
	char thr_policy[EP_NS_MAX + EP_NAME_MAX + 2];
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
	uint32_t pods, throttled;
	double joules, co2e_g;
};

struct kube_agent {
	const struct config *cfg;
	kube_agent_note_fn note; /* NULL: nothing is reported */
	void *note_ud;
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
	struct policy_acc *acc; /* (throttled: pods of the policy throttled now) */
	size_t n_acc, acc_alloc;

	/* meters the daemon probed (kube_agent_set_meters) */
	struct kw_meter meters[KW_MAX_METERS];
	char meter_reason[KW_MAX_METERS][200];
	size_t n_meters;
	bool have_probe;
	/* sources besides the meters: NVML, Redfish (kube_agent_set_source) */
	struct kw_meter sources[KA_MAX_SOURCES];
	char source_reason[KA_MAX_SOURCES][200];
	size_t n_sources;

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

	/* the budget action throttle: the actuator (NULL: off, WATTLET_THROTTLE not true),
	 * what was logged of it, the node's CPUs (the cap), the newest tick's clock */
	struct kube_throttle *throttle;
	struct kube_config *throttle_kc;
	int throttle_path_logged; /* enum kt_path last logged; -1 none */
	bool throttle_off_logged, throttle_cgroup_logged, throttle_recovery_logged;
	uint32_t node_mcpu;
	uint64_t last_tick_ms;
};

/* The budget action throttle, on the daemon's thread (kube_agent_throttle.c). */
void ka_throttle_start(struct kube_agent *ka);
void ka_throttle_step(struct kube_agent *ka, struct pod_state *ps, const struct energypolicy *pol,
		      const struct kube_pod_info *pod, const struct ledger_row *p, uint32_t zones,
		      uint64_t now_ms);
void ka_throttle_results(struct kube_agent *ka);
/* Fills the PodEnergy condition Throttled of the pod's snapshot (nothing when none). */
void ka_throttle_condition(const struct pod_state *ps, struct kw_pod *snap);

/* Formats one message and hands it to ka->note (nothing when NULL). */
void ka_note(struct kube_agent *ka, enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The pod of a workload row: by container id (*ci its container), else by pod uid
 * (*ci NULL); NULL when the pod table does not know it. */
const struct kube_pod_info *ka_pod_of_row(struct kube_agent *ka, const struct ledger_row *r,
					  const struct kube_container_info **ci);

#endif
