/* kube_writer.h - the agent's writes to the Kubernetes API (PodEnergy, NodeEnergy,
 * Events), on a thread of their own so that measurement never waits for the API.
 *
 * Flow: the daemon thread offers a snapshot of every pod (and of the node) once per
 * tick: kube_writer_offer_pod() / _node() deep-copy it under a mutex and return (no
 * I/O, a few small allocations). Only the newest snapshot of each object is kept
 * (coalescing), and at most opts.max_pods pods are tracked: an offer for a new pod
 * beyond that is dropped and counted (memory never grows past the cap).
 * The writer thread (its own kube_http handle) writes an object when it is due:
 *  - never written yet: at once (it is created);
 *  - else when its interval (the pod's EnergyPolicy updateInterval, default 60 s;
 *    NodeEnergy: node_interval_s, default 30 s) has passed since its last write AND
 *    it changed: |dwatts| > max(min_dwatts, rel_dwatts * watts) (0.1 W, 5 %), or
 *    joules grew by more than rel_djoules (1 %) of the joules last written, or a
 *    text field (model, policy, containers, meters, conditions...) changed;
 *  - and anyway once every refresh_intervals (10) intervals, so status.lastMeasured
 *    stays fresh. A due but unchanged object is counted as skipped once per interval.
 * Requests use server-side apply: PATCH <object>?fieldManager=wattlet&force=true,
 * Content-Type application/apply-patch+yaml with a JSON body: first metadata
 * (PodEnergy: ownerReference to its Pod, controller true, blockOwnerDeletion false)
 * and spec on the object (once, and again when the object turns out to be gone),
 * then status on the /status subresource (every write).
 * Rate limit: one token bucket for all requests of this writer (= this node),
 * opts.rate_per_s (5) refilled, opts.burst (10) deep; a due write without a token
 * waits (counted as rate_limited).
 * Cluster write budget (opts.cluster_budget_per_s > 0; formulas in kube_budget.h,
 * docs/kube.md "Write budget"): the bucket's rate is this node's share
 * s = min(node_ceiling_per_s, cluster_budget_per_s / N, rate_per_s) (N unknown:
 * min(ceiling, KB_UNKNOWN_SHARE)), its depth max(2, min(burst, 5 s of s)), and it starts
 * EMPTY (a whole-cluster rollout starts at the budget). N: node_count_override, else
 * GET /api/v1/nodes?limit=1 on the writer's thread (manual mode: inside
 * kube_writer_run_once), at start, then every ~5 min with jitter (an injected transport
 * cannot read it: unknown). Intervals (pods' and the
 * node's) are multiplied by k = max(1, D / (s - o)), D = sum of 1/interval over the
 * tracked pods and the node, o = Events + status applies sent/s over the last minute,
 * at most s/2: while a PodEnergy waits they get at most half the share (a bucket of
 * their own); the refresh floor becomes max(refresh_intervals * interval,
 * interval * k). Pods due together go: never written first, then longest past their
 * floor, then most changed. PodEnergy status carries
 * refreshIntervalSeconds (interval * k) and maxRefreshIntervalSeconds (the floor).
 * Budget off: all of this is skipped (stats.nodes_source KW_NODES_OFF).
 * Errors: a transport error (API down, connection refused, timeout), 429 or 5xx backs
 * the whole writer off (exponential with jitter, backoff_base_ms .. backoff_max_ms),
 * keeping the newest snapshot of each object; kube_http's own retries are off so that
 * shutdown is never stuck in a retry sleep. 404 (namespace gone) or 422 (rejected by
 * the schema) drop that snapshot, count it, keep the API's message in last_error, and
 * try that object again after its interval with a newer snapshot. A 404 on /status
 * (object deleted behind our back) re-creates it on the next try.
 * kube_writer_forget_pod() drops a deleted pod from the queue; its PodEnergy is left
 * to the garbage collector (ownerReferences): the writer never deletes objects.
 * Every failed request is counted by resource and reason (failures[][]): the API's
 * Status `reason` (Invalid, Forbidden, NotFound, Conflict, ...), from the HTTP status
 * when the body has none, NoResponse / Timeout when no answer came; last_error keeps
 * the API's message, last_reason / last_resource / last_error_real_ns what and when.
 * The NodeEnergy status carries them too (status.writeErrors) once a write failed.
 * Numbers: non-finite or negative values are never written (the field is left out and
 * counted in values_omitted); the CRDs' required fields are always present. Enum
 * strings the CRDs would refuse (a meter kind other than powercap/perf/msr/hwmon/acpi,
 * e.g. "none"; an unknown energy source) are left out and counted there as well, so one
 * bad field never costs the whole status write.
 *
 * Threading: kube_writer_offer_*, _forget_pod, _event, _stats and _kick may be called
 * from any thread (mutex inside). kube_writer_new starts the thread (unless
 * opts.manual); kube_writer_free stops it: it wakes the thread and joins it, which
 * takes at most the request in flight (bounded by opts.timeout_ms). In manual mode
 * (tests, benchmarks) no thread runs and the caller drives kube_writer_run_once().
 * Ownership: offers copy everything; the caller keeps its snapshot. The writer owns
 * its kube_http handle but not the kube_config, which must outlive it and must not
 * be used by another thread meanwhile (kube_config is single-threaded); give the
 * writer its own kube_config. Nothing here logs.
 * Returns: 0 or -errno; kube_writer_new returns NULL with e filled.
 */
#ifndef WATTLET_KUBE_WRITER_H
#define WATTLET_KUBE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/caps.h"
#include "../common/util.h"
#include "../common/zone.h"
#include "kube_config.h"

#define KW_DEFAULT_INTERVAL_S 60
#define KW_MAX_ZONES ZONE_COUNT
#define KW_MAX_CONTAINERS 256 /* CRD maxItems; more are cut and counted */
#define KW_MAX_METERS 16
#define KW_MAX_CONDITIONS 16
/* PodEnergy annotation an EnergyPolicy budget with action `annotate` sets while the pod
 * is over budget: "<budget>=<maxJoules>J/<window seconds>s[,...]" */
#define KW_BUDGET_ANNOTATION "wattlet.dev/energy-budget-exceeded"
#define KW_APPLY_BODY_MAX WL_CAP_API_OBJECT /* kube_writer_offer_status bodies */
#define KW_FIELD_MANAGER_MAX 128     /* the API server's limit */

/* What a failed write was about (failures[] first index). KW_RES_STATUS: the generic
 * kube_writer_offer_status applies (EnergyPolicy status in the agent). */
enum kw_resource { KW_RES_PODENERGIES, KW_RES_NODEENERGIES, KW_RES_EVENTS, KW_RES_STATUS,
		   KW_RES_COUNT };
/* Why (failures[] second index): the API Status reasons the writer tells apart; the
 * rest is KW_REASON_OTHER. Names: kube_writer_reason_name(). */
enum kw_reason {
	KW_REASON_INVALID,	     /* 422 Invalid: the schema refused the object */
	KW_REASON_FORBIDDEN,	     /* 403: RBAC */
	KW_REASON_UNAUTHORIZED,	     /* 401: token */
	KW_REASON_NOTFOUND,	     /* 404 */
	KW_REASON_CONFLICT,	     /* 409 Conflict / AlreadyExists */
	KW_REASON_BADREQUEST,	     /* 400 */
	KW_REASON_TOOMANYREQUESTS,   /* 429 */
	KW_REASON_TIMEOUT,	     /* Timeout / ServerTimeout / 504, or no answer in time */
	KW_REASON_INTERNALERROR,     /* 500 */
	KW_REASON_SERVICEUNAVAILABLE, /* 503 */
	KW_REASON_NORESPONSE,	     /* connection refused, TLS failure, ... */
	KW_REASON_OTHER,
	KW_REASON_COUNT
};
const char *kube_writer_reason_name(enum kw_reason r);	  /* "Invalid", ... */
const char *kube_writer_resource_name(enum kw_resource r); /* "podenergies", ... "status" */
/* The reason of an answer: the Status body's `reason` when it is one of the above,
 * else from the HTTP status (body may be NULL; status 0: no answer, rc the -errno). */
enum kw_reason kube_writer_reason_of(long status, const char *body, int rc);

struct kw_zone {
	enum zone zone;
	double dynamic_joules, idle_joules;
	double dynamic_watts, idle_watts;
};

struct kw_container {
	const char *name;	  /* required */
	const char *container_id; /* with runtime prefix ("containerd://..."), or NULL */
	double joules, watts;
};

/* One pod, as the daemon sees it this tick. Strings may be NULL (left out) except
 * ns, name, uid and node. */
struct kw_pod {
	const char *ns, *name, *uid, *node;
	const char *model;		/* PowerModel name or "builtin-ratio" */
	const char *policy;		/* "namespace/name" or "" */
	const char *owner_kind, *owner_name; /* status.owner (kube_owner.h); NULL/"": left out */
	uint64_t last_measured_ns;	/* CLOCK_REALTIME; 0: left out */
	double window_s;		/* watts are averages over this window */
	double watts, dynamic_watts, idle_watts;
	double joules;			/* monotonic since the pod was first seen */
	double co2e_grams;
	bool has_co2e;			/* policy sets carbonIntensity */
	const struct kw_zone *zones;	/* n_zones <= KW_MAX_ZONES */
	size_t n_zones;
	const struct kw_container *containers;
	size_t n_containers;
	unsigned interval_s;		/* EnergyPolicy updateInterval; 0: 60 */
	/* metadata.annotations[KW_BUDGET_ANNOTATION] of the PodEnergy; NULL or "": none
	 * (one applied before is removed). A change re-applies metadata + spec, at the
	 * pod's next due write (it counts as a changed text field). */
	const char *budget_annotation;
	/* "measured" (every zone from the meter), "estimated" (a PowerModel estimates at
	 * least one zone), "none" (no energy source: the numbers are zeros, not
	 * measurements); NULL: left out. status.energySource. */
	const char *energy_source;
	/* status.conditions[] entry of type Throttled (the budget action throttle,
	 * docs/throttle.md): status "True"/"False" (NULL or "": no conditions), reason,
	 * message, lastTransitionTime (CLOCK_REALTIME; 0: now). A change is a changed text
	 * field. */
	const char *throttle_status, *throttle_reason, *throttle_message;
	uint64_t throttle_since_ns;
};

struct kw_meter {
	const char *kind; /* powercap | perf | msr | hwmon | acpi | nvml | redfish */
	bool in_use;
	const char *reason;
};

struct kw_node_zone {
	enum zone zone;
	double dynamic_watts, idle_watts, joules;
	const char *idle_source; /* NULL: left out */
};

struct kw_condition {
	const char *type;   /* e.g. ModelValid, MeterAvailable */
	const char *status; /* "True" | "False" | "Unknown" */
	const char *reason; /* CamelCase, required */
	const char *message;
	/* CLOCK_REALTIME; 0: the writer keeps it: the time it first saw this status */
	uint64_t last_transition_ns;
};

struct kw_node {
	const char *name;
	const struct kw_meter *meters; /* n_meters <= KW_MAX_METERS */
	size_t n_meters;
	const char *usage_source; /* ebpf | cgroup */
	const char *model_name, *attribution;
	/* meter | model | meter+model | none; NULL: left out. status.energySource */
	const char *energy_source;
	uint32_t estimated_zones; /* bit z: the model estimates zone z (model.estimatedZones) */
	double watts, joules;
	const struct kw_node_zone *zones;
	size_t n_zones;
	bool has_validation;
	struct {
		uint64_t time_ns; /* CLOCK_REALTIME */
		bool passed;
		double node_deviation_pct, pod_deviation_pct;
	} validation;
	const struct kw_condition *conditions; /* n_conditions <= KW_MAX_CONDITIONS */
	size_t n_conditions;
};

/* The object an Event is about. ns NULL/"" for cluster-scoped objects (the Event then
 * goes to the "default" namespace). */
struct kw_event {
	const char *api_version, *kind, *ns, *name, *uid; /* uid may be NULL */
	const char *reason;  /* CamelCase */
	const char *message;
	const char *type;    /* "Normal" | "Warning" */
};

/* Injectable transport for tests and benchmarks: does one request, returns 0 with
 * *status set, or -errno when no response came. path starts with '/'. */
typedef int (*kw_send_fn)(void *ud, const char *method, const char *path, const char *body,
			  const char *content_type, long *status, struct wl_err *e);

struct kube_writer_opts {
	unsigned max_pods;	    /* 0: 4096 */
	unsigned node_interval_s;   /* 0: 30 */
	unsigned refresh_intervals; /* 0: 10 */
	double min_dwatts;	    /* < 0 or 0: 0.1 W (set a tiny value for "any") */
	double rel_dwatts;	    /* 0: 0.05 */
	double rel_djoules;	    /* 0: 0.01 */
	double rate_per_s;	    /* 0: 5 requests/s */
	double burst;		    /* 0: 10 */
	unsigned backoff_base_ms;   /* 0: 500 */
	unsigned backoff_max_ms;    /* 0: 60000 */
	unsigned event_queue;	    /* 0: 16 pending Events, more dropped */
	unsigned event_min_gap_s;   /* 0: 60: same object + reason at most this often */
	unsigned max_applies;	    /* 0: 256 pending kube_writer_offer_status keys */
	long timeout_ms;	    /* per request; 0: 10000 */
	const char *field_manager;  /* 0: "wattlet" */
	const char *node_name;	    /* for Event source; may be NULL */
	/* clock (CLOCK_MONOTONIC ns) for scheduling; NULL: mono_ns */
	uint64_t (*now_ns)(void *ud);
	void *clock_ud;
	kw_send_fn send; /* NULL: kube_http against the config's server */
	void *send_ud;
	bool manual;	 /* no thread: the caller calls kube_writer_run_once */
	/* Cluster-wide write budget (see kube_budget.h and docs/kube.md): this writer's
	 * share of requests/s is s = min(node_ceiling_per_s, cluster_budget_per_s / N),
	 * N the cluster's node count (learned by the writer with a cheap
	 * GET /api/v1/nodes?limit=1, or node_count_override). All 0: no budget, the old
	 * behaviour (rate_per_s / burst only). */
	double cluster_budget_per_s;  /* total steady-state writes/s of all agents; 0: no budget (old behaviour) */
	double node_ceiling_per_s;    /* per-node ceiling on the share; 0: none */
	unsigned node_count_override; /* >0: use this node count, do not ask the API (tests, simulators) */
};

/* Where the node count of the write budget comes from (stats.nodes_source). */
enum kw_nodes_source {
	KW_NODES_OFF,	   /* no budget */
	KW_NODES_OVERRIDE, /* opts.node_count_override */
	KW_NODES_API,	   /* GET /api/v1/nodes?limit=1 */
	KW_NODES_UNKNOWN   /* not known (yet): the share is KB_UNKNOWN_SHARE */
};
const char *kube_writer_nodes_source_name(enum kw_nodes_source s); /* "off", "override", "api", "unknown" */

struct kube_writer_stats {
	uint64_t writes_ok;	    /* objects written (status applied) */
	uint64_t writes_failed;	    /* object writes that failed (any reason) */
	uint64_t skipped_unchanged; /* due by interval, unchanged: not written */
	uint64_t dropped_cap;	    /* pod offers dropped: max_pods reached */
	uint64_t rate_limited;	    /* due writes that had to wait for a token */
	uint64_t requests;	    /* HTTP requests sent (incl. failed) */
	uint64_t invalid;	    /* 422 */
	uint64_t not_found;	    /* 404 */
	uint64_t transport_errors;  /* no response, 429 or 5xx */
	uint64_t backoffs;	    /* times the writer backed off */
	uint64_t values_omitted;    /* non-finite/negative numbers left out */
	uint64_t containers_cut;    /* containers beyond KW_MAX_CONTAINERS */
	uint64_t events_sent, events_dropped, events_suppressed;
	uint64_t applies_ok;	    /* kube_writer_offer_status applies that succeeded */
	uint64_t applies_failed;    /* ... that failed (404/422/other: dropped; retried
				     * after a transport error unless a newer came) */
	uint64_t applies_dropped;   /* offers refused: max_applies keys pending */
	size_t applies_pending;
	size_t pods;		    /* pods tracked now */
	double writes_per_s_1m;	    /* object writes per second over the last 60 s */
	double requests_per_s_1m;
	bool backing_off;
	char last_error[256];	    /* "<what>: <the API's message>" of the last failure */
	enum kw_resource last_resource; /* ... and what it was about, why, when */
	enum kw_reason last_reason;
	uint64_t last_error_real_ns; /* CLOCK_REALTIME; 0: no failure yet */
	/* failed requests by resource and reason (an object write that fails is one) */
	uint64_t failures[KW_RES_COUNT][KW_REASON_COUNT];
	/* By resource (the totals above are their sums): object writes that succeeded /
	 * failed and HTTP requests sent (a PodEnergy or NodeEnergy write is one request,
	 * two when it creates the object). Event requests = events_sent + failed sends. */
	uint64_t pod_writes_ok, pod_writes_failed, pod_requests;
	uint64_t node_writes_ok, node_writes_failed, node_requests;
	uint64_t event_requests;
	/* Cluster write budget (opts.cluster_budget_per_s > 0; kube_budget.h). */
	bool budget;		     /* on */
	double share_per_s;	     /* this writer's share: requests/s (0: budget off) */
	double stretch;		     /* intervals are multiplied by this (1: not stretched) */
	double demand_per_s;	     /* requests/s if every PodEnergy and the NodeEnergy
				      * changed every interval (unstretched) */
	double other_per_s;	     /* Events + status applies sent/s (last minute, at most
				      * share / 2): set aside before stretching */
	unsigned nodes;		     /* cluster node count in use; 0: unknown */
	enum kw_nodes_source nodes_source;
	uint64_t nodes_queries, nodes_query_failures; /* GET /api/v1/nodes?limit=1 */
	char nodes_error[192];	     /* why the count is unknown / the last query failed */
	unsigned pod_interval_s;     /* a 60 s PodEnergy's interval now (60 * stretch) */
	unsigned pod_max_interval_s; /* ... and the longest it goes unwritten */
	/* The API refused status.refreshIntervalSeconds ("field not declared in schema": a
	 * PodEnergy CRD older than the agent; Helm does not upgrade CRDs): the writer leaves
	 * both interval fields out from then on. */
	bool crd_outdated;
};

struct kube_writer;

/* c: API config (NULL only with o->send set). o may be NULL (defaults). */
struct kube_writer *kube_writer_new(struct kube_config *c, const struct kube_writer_opts *o,
				    struct wl_err *e);
/* Stops and joins the thread (see above), frees everything. Accepts NULL. */
void kube_writer_free(struct kube_writer *w);

/* Keeps a copy of snap as the newest of its pod (by uid), replacing an unwritten older
 * one. -EINVAL for a snapshot without ns/name/uid/node; -ENOSPC when the pod is new
 * and max_pods are tracked (counted in dropped_cap); -ENOMEM. */
int kube_writer_offer_pod(struct kube_writer *w, const struct kw_pod *snap);
/* Same for the node (one per writer). -EINVAL without a name. */
int kube_writer_offer_node(struct kube_writer *w, const struct kw_node *snap);
/* The pod is gone: drop it (its object is garbage-collected). 0 or -ENOENT. */
int kube_writer_forget_pod(struct kube_writer *w, const char *uid);
/* Queues an Event (POST /api/v1/namespaces/NS/events). 0; -EALREADY when the same
 * object + reason was queued less than event_min_gap_s ago (suppressed); -ENOSPC when
 * the queue is full (dropped); -EINVAL. */
int kube_writer_event(struct kube_writer *w, const struct kw_event *ev);

/* Generic server-side apply of a status subresource (e.g. an EnergyPolicy's):
 * PATCH <path>?fieldManager=<field_manager>&force=true with json_body
 * (application/apply-patch+yaml). Coalesced per key: only the newest body offered
 * under a key is sent (an unsent older one is replaced in place, keeping its turn).
 * Sent as soon as the rate limit (the same token bucket as every other request) and
 * backoff allow, oldest key first; pacing is the caller's. A transport error, 429 or
 * 5xx backs the writer off and keeps the body for the retry (unless a newer came);
 * 404 / 422 / other errors drop it (counted, last_error). path: starts with '/', no
 * query, URL-escaped by the caller; field_manager NULL: the writer's own
 * (opts.field_manager), at most KW_FIELD_MANAGER_MAX bytes. All strings are copied.
 * 0; -EINVAL (bad argument, body over KW_APPLY_BODY_MAX); -ENOSPC when the key is new
 * and max_applies keys are pending (counted in applies_dropped); -ENOMEM. */
int kube_writer_offer_status(struct kube_writer *w, const char *key, const char *path,
			     const char *field_manager, const char *json_body);

void kube_writer_stats(struct kube_writer *w, struct kube_writer_stats *out);
/* Wakes the thread to look at its queue now (e.g. after an injected clock moved). */
void kube_writer_kick(struct kube_writer *w);

/* Manual mode (and the thread's loop body): does every request that is due now and
 * allowed by the rate limit and backoff, then returns. *next_ms (may be NULL): ms
 * until something may be due next (UINT64_MAX: nothing queued). Returns the number of
 * requests sent (>= 0). */
int kube_writer_run_once(struct kube_writer *w, uint64_t *next_ms);

/* Exposed for tests: the JSON bodies the writer sends (malloc'ed; caller frees).
 * which: 0 = metadata + spec, 1 = status, 2 = status without owner and display (what
 * the writer sends once the CRDs in the cluster are older than them). NULL on a bad
 * snapshot. */
char *kube_writer_pod_json(const struct kw_pod *snap, int which, const char *field_manager);
char *kube_writer_node_json(const struct kw_node *snap, int which);

#endif
