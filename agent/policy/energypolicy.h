/* energypolicy.h - EnergyPolicy objects (docs/api.md, wattlet.dev/v1alpha1): parsing and
 * re-checking, the set of policies of the cluster, which policy a pod follows, energy
 * budgets over a sliding window, and the policy's status for a /status apply patch.
 *
 * Parsing (energypolicy_parse) takes the JSON object as the API server returns it in a
 * list or a watch event (metadata incl. managedFields, spec, status) and re-checks every
 * field the CRD already checks, because an agent must not trust its input. Errors name
 * the field, e.g. "spec.budgets[1].window: 30s is outside 1m..720h". Unknown fields under
 * spec and budgets[] are rejected (the API server prunes them, so one here means a CRD
 * that does not match this agent). Defaults as the CRD: idlePolicy even, updateInterval
 * 60s, action event, podSelector absent = every pod of the namespace. budgets[].throttle
 * (minCPU default 10m, method resize, allowSystemNamespace false) is refused unless the
 * budget's action is throttle.
 *
 * Durations are Go-style strings restricted to ^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$
 * ("90s", "1h30m", "1.5h"); fractions below a millisecond are dropped.
 *
 * Selection (policy_for_pod): among the valid policies of the pod's namespace whose
 * podSelector matches the pod's labels, the oldest wins (metadata.creationTimestamp,
 * then name). A policy whose update is invalid keeps its last valid version in effect
 * (the error stays readable through policy_set_at for a condition/Event); one that was
 * never valid selects nothing.
 *
 * Budgets: the daemon keeps, per pod and budget, a struct ep_ring of the pod's
 * cumulative joules; ep_ring_window() gives the joules of the last `window` and
 * policy_budget_check() says whether they exceed maxJoules. Memory per ring is fixed
 * (EP_RING_CAP samples, about 1 KiB): samples are kept at least window/EP_RING_STEPS
 * apart, and the value at the window's start is interpolated linearly between the two
 * samples around it, so the error is at most the energy of one such step
 * (window/EP_RING_STEPS plus one sample period), i.e. about 1.7% of the window's time.
 *
 * Ownership: energypolicy_parse returns an object the caller frees with
 * energypolicy_free (NULL accepted); it copies all it needs (the JSON stays the
 * caller's). Pointers returned by the set (policies, strings) are valid until the next
 * call that modifies the set (upsert/remove/end_sync/free). Not thread-safe.
 * Return convention: 0 or a negative errno with a reason in the struct wl_err.
 * Nothing here logs.
 */
#ifndef WATTLET_ENERGYPOLICY_H
#define WATTLET_ENERGYPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../common/util.h"
#include "../attrib/attrib.h" /* enum idle_policy */
#include "../kube/kube_selector.h"

#define EP_API_VERSION "wattlet.dev/v1alpha1"
#define EP_KIND "EnergyPolicy"
#define EP_MAX_BUDGETS 16
#define EP_NAME_MAX 253 /* metadata.name: DNS subdomain */
#define EP_NS_MAX 63    /* metadata.namespace: DNS label */
#define EP_UID_MAX 128
#define EP_RV_MAX 64
#define EP_TIME_MAX 40
#define EP_BUDGET_NAME_MAX 63
#define EP_SET_MAX 10000 /* policies kept; more are refused with -ENOSPC */

#define EP_INTERVAL_MIN_MS 10000ull    /* updateInterval 10s..1h */
#define EP_INTERVAL_MAX_MS 3600000ull
#define EP_INTERVAL_DEFAULT_MS 60000ull
#define EP_WINDOW_MIN_MS 60000ull      /* budgets[].window 1m..720h */
#define EP_WINDOW_MAX_MS 2592000000ull
#define EP_CARBON_MAX 5000.0           /* gCO2e/kWh */
#define EP_MAX_JOULES_MAX 1e15

enum ep_action { EP_ACTION_EVENT, EP_ACTION_ANNOTATE, EP_ACTION_THROTTLE };

/* budgets[].throttle (only with action throttle; docs/throttle.md) */
enum ep_throttle_method {
	EP_THROTTLE_RESIZE, /* the pod's CPU limits through the API (pods/resize, else pod spec) */
	EP_THROTTLE_CGROUP  /* the pod cgroup's CPU quota directly (the kubelet may rewrite it) */
};
#define EP_THROTTLE_MIN_MCPU_DEFAULT 10u /* floor: 10m CPU */
#define EP_THROTTLE_MIN_MCPU_MAX 1000000u

struct ep_throttle {
	uint32_t min_mcpu;             /* minCPU: never below this (pod total); default 10m */
	enum ep_throttle_method method; /* default resize */
	bool system_namespaces;        /* allowSystemNamespace: the policy may throttle pods of
					* kube-system, kube-public, kube-node-lease */
};

struct ep_budget {
	char name[EP_BUDGET_NAME_MAX + 1];
	uint64_t window_ms;
	double max_joules; /* > 0, <= 1e15, per pod */
	enum ep_action action;
	struct ep_throttle throttle; /* defaults unless action is throttle */
};

struct energypolicy {
	char ns[EP_NS_MAX + 1];
	char name[EP_NAME_MAX + 1];
	char uid[EP_UID_MAX + 1];
	char resource_version[EP_RV_MAX + 1];
	char creation_timestamp[EP_TIME_MAX + 1]; /* as given */
	int64_t created_ms;                       /* creationTimestamp, ms since the epoch */
	int64_t generation;                       /* metadata.generation, 0 when absent */
	struct kube_selector *pod_selector;       /* owned; never NULL (empty = all) */
	enum idle_policy idle_policy;
	uint64_t update_interval_ms;
	bool has_carbon;
	double carbon_g_per_kwh;
	struct ep_budget budgets[EP_MAX_BUDGETS];
	size_t n_budgets;
};

/* Parses and re-checks one EnergyPolicy object. NULL with the reason in e. */
struct energypolicy *energypolicy_parse(const json_t *obj, struct wl_err *e);
void energypolicy_free(struct energypolicy *p);

/* Go-style duration (pattern above) -> ms. -EINVAL on garbage, -ERANGE on overflow. */
int ep_parse_duration_ms(const char *s, uint64_t *ms);
/* RFC 3339 time ("2026-11-25T08:30:00Z", fraction and +hh:mm offset allowed) -> ms
 * since the epoch. -EINVAL on garbage. */
int ep_parse_time_ms(const char *s, int64_t *ms);
const char *ep_action_name(enum ep_action a);

/* ---- the set of policies (from list + watch) ------------------------------------- */

struct policy_set;

struct policy_entry_info {
	const char *ns, *name, *uid;               /* of the latest object seen */
	int64_t generation;                        /* its metadata.generation (0 absent) */
	const struct energypolicy *policy;         /* in effect; NULL when never valid */
	const char *error;                         /* "" when the latest object is valid */
	const json_t *status;                      /* the latest object's .status as the API
						    * server had it (borrowed), or NULL */
};

struct policy_set *policy_set_new(void);
void policy_set_free(struct policy_set *s);

/* Adds or replaces (by metadata.uid) a policy from a list item or an ADDED/MODIFIED
 * event's object. 0 when applied. -EINVAL when the object is invalid: when its uid is
 * readable the entry is kept with the error and its last valid version stays in effect.
 * -ENOSPC beyond EP_SET_MAX policies, -ENOMEM. */
int policy_set_upsert(struct policy_set *s, const json_t *obj, struct wl_err *e);
/* Removes the policy with obj's metadata.uid (a DELETED event). -ENOENT when unknown,
 * -EINVAL when obj has no uid. */
int policy_set_remove(struct policy_set *s, const json_t *obj);
/* Relist: begin_sync starts a generation; upserts mark policies seen; end_sync drops
 * every policy not seen since begin_sync. */
void policy_set_begin_sync(struct policy_set *s);
void policy_set_end_sync(struct policy_set *s);

size_t policy_set_count(const struct policy_set *s);
/* Entry i (0..count-1) in no particular order; -ERANGE past the end. */
int policy_set_at(const struct policy_set *s, size_t i, struct policy_entry_info *out);

/* The policy in effect for a pod of namespace ns with labels (metadata.labels object
 * or NULL), or NULL when none selects it. */
const struct energypolicy *policy_for_pod(const struct policy_set *s, const char *ns,
					  const json_t *labels);

/* ---- budgets --------------------------------------------------------------------- */

#define EP_RING_CAP 64
#define EP_RING_STEPS 60 /* samples kept at least window/EP_RING_STEPS apart */

struct ep_ring_sample {
	uint64_t t_ms;
	double joules; /* cumulative */
};

/* Per pod and budget: cumulative joules over time. Plain data; zero it or ep_ring_init. */
struct ep_ring {
	uint64_t window_ms, step_ms;
	size_t first, n; /* ring of kept samples, oldest at first */
	struct ep_ring_sample s[EP_RING_CAP];
	bool has_last;
	struct ep_ring_sample last; /* newest sample (kept or not) */
	uint32_t resets;            /* times the history was dropped (clock/counter back) */
};

/* -EINVAL when window_ms is 0. */
int ep_ring_init(struct ep_ring *r, uint64_t window_ms);
/* Adds the pod's cumulative joules at t_ms (any monotonic ms clock). A sample older
 * than the newest, or joules below the newest (the counter restarted), drops the
 * history and starts again from this sample (resets++). -EINVAL on a non-finite or
 * negative joules value or an uninitialised ring (nothing changed). */
int ep_ring_add(struct ep_ring *r, uint64_t t_ms, double joules_total);
/* Joules in the last window ending at the newest sample. *span_ms gets the time
 * actually covered: window_ms when the history reaches back that far, else (a pod
 * younger than the window) the time since the oldest sample. -ENODATA when empty. */
int ep_ring_window(const struct ep_ring *r, double *joules, uint64_t *span_ms);

/* 1 when window_joules is more than b->max_joules, 0 when not, -EINVAL on a NULL
 * budget or a negative/non-finite value. A partial window (a young pod) that already
 * exceeds is conclusive, as joules only grow with the window. */
int policy_budget_check(const struct ep_budget *b, double window_joules);

/* ---- status ------------------------------------------------------------------------ */

struct ep_status_in {
	uint32_t matched_pods;
	uint32_t throttled_pods; /* of them, throttled now (written when the policy in effect
				  * has a budget with action throttle: status.throttledPods) */
	double total_joules;   /* >= 0, finite */
	uint64_t now_real_ns;  /* lastUpdateTime (CLOCK_REALTIME ns) */
	uint64_t since_real_ns; /* the Valid condition's lastTransitionTime; 0 = now */
	bool co2e_given;        /* total_co2e_grams is given (a sum over nodes); else it is
				 * computed from total_joules */
	double total_co2e_grams;
};

/* Builds a server-side apply body for .../energypolicies/<name>/status of the entry
 * who (from policy_set_at):
 * {apiVersion, kind, metadata:{name, namespace}, status:{matchedPods, totalJoules,
 *  throttledPods (only when the policy in effect has a budget with action throttle),
 *  totalCO2eGrams (only when the policy in effect sets carbonIntensity:
 *  joules / 3.6e6 kWh x gCO2e/kWh), lastUpdateTime, conditions:[{type: Valid,
 *  status: "True", reason: Valid} or {status: "False", reason: InvalidSpec,
 *  message: who->error}]}} (observedGeneration: who->generation when > 0).
 * New reference, or NULL (reason in e) on bad input or allocation failure. */
json_t *ep_status_build(const struct policy_entry_info *who, const struct ep_status_in *in,
			struct wl_err *e);

/* ---- multi-node status ------------------------------------------------------------
 * Every node's agent writes the same EnergyPolicy. Each owns one entry of
 * status.nodes[] (a list-map keyed by node), applied with its own field manager
 * ("wattlet-<node>"), so entries of different nodes never conflict under server-side
 * apply; the top-level sums are applied by field manager "wattlet" (force) from the
 * writing node's fresh entry plus the other entries as it last watched them. */

/* One node's part: the pods on that node whose policy in effect is this one. */
struct ep_node_part {
	const char *node;
	uint32_t matched_pods;
	double total_joules;     /* sum of the pods' cumulative joules, >= 0 */
	double total_co2e_grams; /* sum of the pods' CO2e; written when carbonIntensity is set */
	uint64_t real_ns;        /* lastUpdateTime (CLOCK_REALTIME ns) */
	uint32_t throttled_pods; /* of them, throttled now (action throttle) */
};

/* Apply body for a node's own entry: {apiVersion, kind, metadata:{name, namespace},
 * status:{nodes:[{node, matchedPods, totalJoules, totalCO2eGrams (when the policy in
 * effect sets carbonIntensity), lastUpdateTime}]}}. part NULL: status {} (applied by the
 * node's manager, this removes the entry it owned). New reference or NULL (e). */
json_t *ep_status_node_build(const struct policy_entry_info *who, const struct ep_node_part *part,
			     struct wl_err *e);

/* The top-level sums: own (NULL: this node has no pods of the policy) plus every entry
 * of who->status.nodes[] of another node than self_node whose lastUpdateTime is at
 * most stale_ms before now_real_ns (older ones, and ones without a readable time, are
 * left out of the sums; they stay in the list). Fills out (matched_pods, total_joules,
 * co2e_given + total_co2e_grams, now_real_ns, and since_real_ns: the watched Valid
 * condition's lastTransitionTime when its status is the one who has now, else 0).
 * Returns the number of nodes counted (>= 0) or -EINVAL. */
int ep_status_sum(const struct policy_entry_info *who, const char *self_node,
		  const struct ep_node_part *own, uint64_t now_real_ns, uint64_t stale_ms,
		  struct ep_status_in *out);

/* true when who->status (as watched) already shows what body (from ep_status_build)
 * would write, times aside: matchedPods, totalJoules and totalCO2eGrams (relative
 * 1e-9, presence too) and the Valid condition (status, reason, message,
 * observedGeneration). Lets a node without pods of the policy skip a needless write. */
bool ep_status_current(const struct policy_entry_info *who, const json_t *body);

/* true when who->status.nodes[] has an entry of node. */
bool ep_status_has_node(const struct policy_entry_info *who, const char *node);

/* grams CO2e for joules at carbon gCO2e/kWh. */
double ep_co2e_grams(double joules, double carbon_g_per_kwh);

#endif
