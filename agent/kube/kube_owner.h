/* kube_owner.h - the workload that owns a pod, from the pod object alone.
 *
 * The owner is the pod's controller ownerReference (controller: true; the first
 * ownerReference when none is marked), mapped to what a person deploys:
 *   ReplicaSet "<d>-<h>" with the pod label pod-template-hash = h  -> Deployment <d>
 *   ReplicaSet otherwise                                          -> ReplicaSet
 *   StatefulSet, DaemonSet, Job, Node (static pods), other kinds   -> as given
 *   no ownerReference at all (a bare pod)                          -> Pod <pod's name>
 * A Job made by a CronJob stays Job: the pod does not name the CronJob (docs/metrics.md).
 *
 * Bad input (not an object, wrong types, a kind that is not [A-Za-z][A-Za-z0-9]{0,62}, a
 * name that is not a Kubernetes path segment name: empty, over 253 bytes, "." or "..",
 * holding '/', '%' or a control/non-ASCII byte) gives no owner: both strings empty, and
 * the return value says so. Works on both pod sources (API server watch objects and the
 * kubelet's /pods items carry the same metadata).
 *
 * Ownership: the result is copied into the caller's struct. No state, no logging; any
 * thread.
 */
#ifndef WATTLET_KUBE_OWNER_H
#define WATTLET_KUBE_OWNER_H

#include <jansson.h>

#define KUBE_OWNER_KIND_MAX 64	/* 63 characters + NUL */
#define KUBE_OWNER_NAME_MAX 254 /* 253 characters + NUL */

struct kube_owner {
	char kind[KUBE_OWNER_KIND_MAX];
	char name[KUBE_OWNER_NAME_MAX];
};

/* Fills out from pod (a v1 Pod object). 0 when an owner was found; -ENOENT when the pod
 * has no usable owner (bad input, or no metadata.name for a bare pod); out is then
 * empty strings. */
int kube_owner_of(const json_t *pod, struct kube_owner *out);

/* Whether s is a valid owner kind / owner name (the rules above). */
int kube_owner_kind_ok(const char *s);
int kube_owner_name_ok(const char *s);

#endif
