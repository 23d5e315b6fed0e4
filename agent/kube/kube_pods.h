/* kube_pods.h - the node's pod identity table: container id -> pod and container.
 *
 * Filled from a v1 PodList (the kubelet's GET /pods, or a list of the API server) or
 * from single Pod objects (watch events). For every container of every pod it keeps
 * the runtime's container id, stripped of its "containerd://", "cri-o://",
 * "docker://" (any "<runtime>://") prefix, from status.containerStatuses,
 * initContainerStatuses and ephemeralContainerStatuses, and also the id of the
 * previous instance (lastState.terminated.containerID) so that energy of a container
 * that restarted is still attributed. Pods with no status yet are kept, with no
 * containers. A pod without metadata.uid/name/namespace (or with a uid over
 * OBJSET_ID_MAX bytes) is skipped and counted. Pods are kept in the watched-object
 * store (common/objset.h): lookup by uid is O(1), a relist sweeps what it did not see;
 * a list naming one uid twice keeps the last.
 *
 * CPU request (cores) per container is spec resources.requests.cpu (0 when absent;
 * cpu_request_bad set when it is not a valid quantity). The pod's effective request
 * is max(sum of app containers and restartable (sidecar) init containers, largest
 * plain init container plus the sidecars started before it), as the scheduler
 * computes it (pod overhead added).
 *
 * Owner (owner_kind/owner_name): the workload owning the pod, kube_owner.h (Deployment
 * from a ReplicaSet with pod-template-hash, StatefulSet, DaemonSet, Job, Pod for a bare
 * pod, ...); both "" when the ownerReferences are unusable.
 *
 * Ownership: the table holds a reference to each pod's JSON; all strings and the
 * labels object returned point into it and are valid until the next call that
 * modifies the table (load/upsert/remove/end_sync/free). Not thread-safe.
 * Lookups are O(log n) (sorted index rebuilt lazily after a change).
 */
#ifndef WATTLET_KUBE_PODS_H
#define WATTLET_KUBE_PODS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "../common/util.h"

enum kube_ctr_kind { KUBE_CTR_APP, KUBE_CTR_INIT, KUBE_CTR_EPHEMERAL };

struct kube_pod_info {
	const char *ns, *name, *uid;
	const char *qos_class; /* "Guaranteed", "Burstable", "BestEffort" or "" */
	const char *phase;     /* "" when no status yet */
	const char *node;      /* spec.nodeName or "" */
	const json_t *labels;  /* metadata.labels object, or NULL */
	const char *owner_kind, *owner_name; /* kube_owner.h; "" when none */
	double cpu_request_cores;
};

struct kube_container_info {
	const char *container_id; /* without "<runtime>://" */
	const char *runtime;	  /* "containerd", "cri-o", "docker", ... or "" */
	const char *name;
	enum kube_ctr_kind kind;
	bool terminated; /* state.terminated, or this is a previous instance */
	bool previous;	 /* id from lastState.terminated */
	double cpu_request_cores;
	bool cpu_request_bad;
	const struct kube_pod_info *pod;
};

struct kube_pods;

struct kube_pods *kube_pods_new(void);
void kube_pods_free(struct kube_pods *p);

/* Replaces the table with the pods of a PodList JSON document. -EINVAL (table
 * unchanged) when it is not JSON or not a list with an items array. */
int kube_pods_load_list(struct kube_pods *p, const char *json, size_t len, struct wl_err *e);
/* Adds or replaces (by uid) one Pod object. -EINVAL when it has no uid/name/namespace;
 * -ENOSPC when the table holds its maximum of pods; -ENOMEM. */
int kube_pods_upsert(struct kube_pods *p, json_t *pod, struct wl_err *e);
/* Removes the pod with pod's metadata.uid; -ENOENT when unknown. */
int kube_pods_remove(struct kube_pods *p, const json_t *pod);
/* Relist support: begin_sync starts a generation; upserts mark pods seen;
 * end_sync removes every pod not seen since begin_sync. */
void kube_pods_begin_sync(struct kube_pods *p);
void kube_pods_end_sync(struct kube_pods *p);

/* Container by id (with or without the "<runtime>://" prefix), NULL when unknown. */
const struct kube_container_info *kube_pods_find(struct kube_pods *p, const char *container_id);
const struct kube_pod_info *kube_pods_find_pod(const struct kube_pods *p, const char *uid);
size_t kube_pods_count(const struct kube_pods *p);
const struct kube_pod_info *kube_pods_at(const struct kube_pods *p, size_t i);
size_t kube_pods_containers(const struct kube_pods *p); /* ids known (incl. previous) */
size_t kube_pods_skipped(const struct kube_pods *p);	/* invalid pods ignored, last load */

#endif
