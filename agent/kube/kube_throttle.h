/* kube_throttle.h - the Kubernetes side of the EnergyPolicy action `throttle`
 * (docs/throttle.md): sets and restores pods' CPU limits through the API, on a thread
 * of its own so that the daemon never waits for the network. The decisions are
 * policy/throttle.h's.
 *
 * Set (a pod's CPU limits to L millicores, the pod total):
 *   1. GET the pod (its containers' resources, QoS class, and our record if any);
 *   2. the record of the pod's own CPU requests/limits, unless the pod already has one
 *      (then that one stays: it holds the originals): annotation KT_ANNOTATION =
 *      {"v":1,"node":N,"containers":[{"name":C,"requests":Q|null,"limits":Q|null}]}
 *      and label KT_LABEL="true", in a JSON merge patch of the pod (pods patch);
 *   3. the resize: each app container gets L/n (n containers; at most its own limit,
 *      at least 1m); Guaranteed pods keep requests == limits; in Burstable pods a
 *      request above the new limit is lowered to it. BestEffort pods are refused
 *      (the QoS class cannot change in place).
 *      API path: PATCH .../pods/NAME/resize (strategic merge; Kubernetes >= 1.33).
 *      A 404 there (no such subresource; the pod was just read) switches to the
 *      fallback for the agent's life: PATCH .../pods/NAME with record and resources
 *      together (Kubernetes 1.27-1.32 with the InPlacePodVerticalScaling gate). A 422
 *      whose message says pod updates may not change the fields means the cluster
 *      cannot resize in place: the record is taken off again and the result says so
 *      (asked again after KT_REPROBE_S).
 *   Requests: resize path 3 (GET, record, resize), 2 when the record is already there;
 *   fallback 2 (GET, patch).
 * Restore: the originals from the record (the pod is read again: GET), put back by the
 *   same path (a limit the pod did not have is removed with null; when the API refuses
 *   that, the limit is set to the node's CPUs, opts.node_mcpu, and the result says so),
 *   then the record taken off (resize path: a second PATCH). Requests: 3 / 2.
 * Method cgroup (the policy asks for it: throttle.method cgroup): the same GET and
 *   record (plus "method":"cgroup" and the pod cgroup's own quota), then the pod cgroup's
 *   CPU quota written directly: cgroup v1 cpu.cfs_quota_us = L x cpu.cfs_period_us /
 *   1000, v2 cpu.max "QUOTA PERIOD" (the pod's directory found under opts.cgroup_root,
 *   v1 its cpu hierarchy: pod<uid> or ...-pod<uid with _>.slice under kubepods*,
 *   burstable, besteffort, at most 3 levels down). Restore
 *   writes the recorded quota back. CAVEAT: the kubelet owns that cgroup and may write
 *   its own quota again (a resize, a kubelet restart re-creating it); the agent does not
 *   fight it: a pod measured over its rate again is throttled again. Requests: 2 (GET,
 *   record); restore 2 (GET, record off). The chart mounts the cgroup tree writable only
 *   with throttle.cgroupWrite.
 * At start the thread lists this node's pods carrying KT_LABEL (GET /api/v1/pods with
 *   labelSelector and fieldSelector spec.nodeName: one request) and restores every one
 *   (results flagged `recovered`): an agent never keeps a limit it did not decide in its
 *   own life; the controller decides again from fresh measurements.
 *
 * Queue: one pending request per pod (a newer one replaces it), at most opts.max_queue
 * pods (more refused with -ENOSPC). Results wait in a ring for kube_throttle_results()
 * (oldest dropped beyond KT_RESULTS, counted).
 * Threading: kube_throttle_request / _results / _stats from any thread (mutex inside).
 * Ownership: kube_throttle_new keeps c (its own kube_config, used only by its thread)
 * and frees nothing of it; free stops and joins the thread (at most the request in
 * flight, opts.timeout_ms). Nothing here logs. Returns 0 or -errno.
 */
#ifndef WATTLET_KUBE_THROTTLE_H
#define WATTLET_KUBE_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../common/util.h"
#include "kube_config.h"

#define KT_ANNOTATION "wattlet.dev/throttle-original"
#define KT_LABEL "wattlet.dev/throttled"
#define KT_RESULTS 64
#define KT_REPROBE_S 600
#define KT_MSG_MAX 384

enum kt_op { KT_SET, KT_RESTORE };

/* Which API the cluster answered to (stats.path). */
enum kt_path {
	KT_PATH_UNKNOWN, /* nothing tried yet */
	KT_PATH_RESIZE,	 /* pods/resize (>= 1.33) */
	KT_PATH_SPEC,	 /* the pod spec (1.27-1.32 with InPlacePodVerticalScaling) */
	KT_PATH_NONE,	 /* neither: the cluster cannot resize pods in place */
	KT_PATH_CGROUP	 /* method cgroup: the pod cgroup's quota (not an API path) */
};
const char *kt_path_name(enum kt_path p); /* "unknown", "pods/resize", "pod spec", "none",
					  * "cgroup quota" */

struct kt_request {
	const char *ns, *name, *uid;
	enum kt_op op;
	uint32_t limit_mcpu; /* KT_SET: the pod total */
	bool cgroup;	     /* KT_SET: method cgroup (restore follows the record) */
};

struct kt_result {
	char ns[64], name[254], uid[72];
	enum kt_op op;
	bool ok;
	bool recovered;	     /* a restore at start (a record left by an earlier agent) */
	bool skipped;	     /* nothing to do (KT_RESTORE of a pod without a record) */
	uint32_t limit_mcpu; /* KT_SET: what was set (pod total) */
	uint32_t orig_mcpu;  /* the pod's own CPU limits summed; 0: none (unlimited) */
	enum kt_path path;
	int requests;	     /* HTTP requests this action took */
	char error[KT_MSG_MAX]; /* when !ok: why (the API's message) */
};

/* One request for tests: method, path (from '/', with query), body/content type (NULL
 * for GET); *status and *resp (malloc'ed or NULL) when an answer came; -errno when
 * none did. */
typedef int (*kt_send_fn)(void *ud, const char *method, const char *path, const char *body,
			  const char *content_type, long *status, char **resp, struct wl_err *e);

struct kube_throttle_opts {
	const char *node;   /* required */
	const char *cgroup_root; /* the cgroup tree (method cgroup); NULL: /sys/fs/cgroup */
	uint32_t node_mcpu; /* restore value for a limit the API will not remove; 0: none */
	unsigned max_queue; /* 0: 4096 */
	long timeout_ms;    /* 0: 10000 */
	bool no_recovery;   /* tests: skip the start-up list */
	bool manual;	    /* no thread: the caller runs kube_throttle_run_once() */
	kt_send_fn send;    /* NULL: kube_http against c's server */
	void *send_ud;
};

struct kube_throttle_stats {
	enum kt_path path;
	uint64_t requests, sets_ok, sets_failed, restores_ok, restores_failed, recovered;
	uint64_t results_dropped;
	bool recovery_done;
	char recovery_error[KT_MSG_MAX]; /* the start-up list failed: why */
};

struct kube_throttle;

/* c may be NULL only with o->send. */
struct kube_throttle *kube_throttle_new(struct kube_config *c, const struct kube_throttle_opts *o,
					struct wl_err *e);
void kube_throttle_free(struct kube_throttle *kt);

/* Queues r (copied). 0; -EINVAL; -ENOSPC (queue full); -ENOMEM. */
int kube_throttle_request(struct kube_throttle *kt, const struct kt_request *r);
/* Moves up to cap finished results into out; returns how many. */
size_t kube_throttle_results(struct kube_throttle *kt, struct kt_result *out, size_t cap);
void kube_throttle_stats(struct kube_throttle *kt, struct kube_throttle_stats *out);
/* Manual mode: the start-up recovery (first call) and every queued request; returns
 * the number of actions done. */
int kube_throttle_run_once(struct kube_throttle *kt);

/* The pod cgroup directory of uid under root (v1: its cpu hierarchy) into out; *v2 set.
 * -ENOENT when not found. Exposed for tests. */
int kt_pod_cgroup(const char *root, const char *uid, char *out, size_t cap, bool *v2);

/* Exposed for tests. The record of pod (a Pod object): its app containers' CPU
 * requests/limits. New reference or NULL (e: BestEffort, no containers, bad object). */
json_t *kt_record_of(const json_t *pod, const char *node, struct wl_err *e);
/* The strategic-merge patch {"spec":{"containers":[...]}} setting the pod total
 * limit_mcpu from record (qos: the pod's status.qosClass), or restoring the record
 * (limit_mcpu 0; null_mcpu: the limit for containers that had none, 0 = remove it).
 * *orig_mcpu: the pod's own limits summed (0 when a container had none). New
 * reference or NULL (e). */
json_t *kt_resources_patch(const json_t *record, const char *qos, uint32_t limit_mcpu,
			   uint32_t null_mcpu, uint32_t *orig_mcpu, struct wl_err *e);

#endif
