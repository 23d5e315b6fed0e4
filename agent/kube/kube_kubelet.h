/* kube_kubelet.h - keeps the node's pod identity table (kube_pods) current.
 *
 * Two sources, same output:
 *  - KUBE_PODS_KUBELET (default): GET https://<node>:10250/pods with the service
 *    account token (needs RBAC nodes/proxy). The kubelet's serving certificate is
 *    verified against the cluster CA (kube_config's CA) and its host name against
 *    the URL's host (the node name); kubelet_addr connects elsewhere (e.g. the node
 *    IP) while still verifying the name (CURLOPT_CONNECT_TO). kubelet_insecure is the
 *    explicit opt-out for kubelets with self-signed serving certs: off by default,
 *    it affects only the kubelet connection, never the API server.
 *    Refreshed every refresh_s, and on kube_kubelet_lookup() of an unknown container
 *    id, at most once per min_refresh_ms (rate limit). A failed refresh keeps the last
 *    good table and retries with backoff and jitter.
 *  - KUBE_PODS_APISERVER: list+watch of /api/v1/pods with
 *    fieldSelector=spec.nodeName=<node> (kube_watch), for clusters that forbid
 *    nodes/proxy.
 *
 * Non-blocking like kube_watch (curl multi interface, one thread): the daemon calls
 * kube_kubelet_service(k, 0) every tick; lookups never do I/O.
 *
 * Ownership: borrows the kube_config (must outlive it); copies option strings.
 * Returned pointers are valid until the next kube_kubelet_service/free call.
 * kube_kubelet_free accepts NULL; constructor returns NULL with e set.
 */
#ifndef WATTLET_KUBE_KUBELET_H
#define WATTLET_KUBE_KUBELET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "kube_config.h"
#include "kube_pods.h"

enum kube_pod_source { KUBE_PODS_KUBELET, KUBE_PODS_APISERVER };

struct kube_kubelet_opts {
	enum kube_pod_source source;
	const char *node;	  /* node name (required) */
	const char *kubelet_addr; /* connect here instead of resolving node, or NULL */
	unsigned kubelet_port;	  /* 0: 10250 */
	unsigned refresh_s;	  /* 0: 30 */
	unsigned min_refresh_ms;  /* on-demand rate limit; 0: 5000 */
	size_t max_body;	  /* 0: KUBE_HTTP_MAX_BODY */
	bool kubelet_insecure;	  /* explicit opt-out of kubelet cert verification */
	unsigned backoff_base_ms; /* 0: 500 */
	unsigned backoff_max_ms;  /* 0: 30000 */
};

struct kube_kubelet_stats {
	uint64_t refreshes; /* successful /pods reads (or watch events, apiserver mode) */
	uint64_t failures;
	uint64_t on_demand; /* refreshes triggered by unknown ids */
	bool synced;	    /* the table has been filled at least once */
	char last_error[256];
};

struct kube_kubelet;

struct kube_kubelet *kube_kubelet_new(struct kube_config *c, const struct kube_kubelet_opts *o,
				      struct wl_err *e);
void kube_kubelet_free(struct kube_kubelet *k);

/* I/O for at most timeout_ms (0: what is ready now). 0 or -errno (curl failure). */
int kube_kubelet_service(struct kube_kubelet *k, int timeout_ms);

/* Container by id; NULL when unknown, which (kubelet mode) schedules a refresh,
 * rate limited. Never does I/O. */
const struct kube_container_info *kube_kubelet_lookup(struct kube_kubelet *k,
						      const char *container_id);
/* Asks for a refresh as soon as the rate limit allows (kubelet mode). */
void kube_kubelet_refresh(struct kube_kubelet *k);

struct kube_pods *kube_kubelet_pods(struct kube_kubelet *k);
void kube_kubelet_stats(const struct kube_kubelet *k, struct kube_kubelet_stats *out);

#endif
