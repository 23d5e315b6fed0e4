/* kube_agent.h - the daemon's Kubernetes side: who the pods are, which PowerModel and
 * EnergyPolicy apply, and publishing PodEnergy / NodeEnergy.
 *
 * Everything here runs on the daemon's thread and never waits for the network:
 * watches and the kubelet poller are serviced non-blockingly (curl multi) between
 * ticks, and writes go through the writer thread (kube_writer.h). When the API or the
 * kubelet is unreachable, measurement goes on; names fill in when they come back.
 *
 * Ownership: kube_agent_new() returns an object freed with kube_agent_free()
 * (NULL-safe). Return convention: 0 or negative errno, err filled. This is daemon
 * code: it logs.
 */
#ifndef WATTLET_KUBE_AGENT_H
#define WATTLET_KUBE_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "../config/config.h"
#include "../export/export.h"
#include "../ledger/ledger.h"

struct kube_agent;

/* true when the configuration asks for Kubernetes (enabled: true) or allows it
 * (auto) and a service-account environment or a kubeconfig is present. */
bool kube_agent_wanted(const struct config *c);

struct kube_agent *kube_agent_new(const struct config *c, struct wl_err *err);
void kube_agent_free(struct kube_agent *ka);

const char *kube_agent_node(const struct kube_agent *ka);

/* Network I/O that is ready (watches, kubelet); returns at once. */
void kube_agent_service(struct kube_agent *ka);

/* After a tick: names ledger rows from the pod table (workloads by container id,
 * pods by uid), and offers PodEnergy/NodeEnergy snapshots to the writer. */
void kube_agent_after_tick(struct kube_agent *ka, struct ledger *workloads, struct ledger *pods,
			   const struct agent_status *st, uint64_t now_real_ns);

#endif
