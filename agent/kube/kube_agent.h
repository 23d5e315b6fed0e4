/* kube_agent.h - the daemon's Kubernetes side: who the pods are, which PowerModel and
 * EnergyPolicy apply, and publishing PodEnergy / NodeEnergy / EnergyPolicy status.
 *
 * Everything here runs on the daemon's thread and never waits for the network:
 * watches and the kubelet poller are serviced non-blockingly (curl multi) between
 * ticks, and writes go through the writer thread (kube_writer.h). When the API or the
 * kubelet is unreachable, measurement goes on; names fill in when they come back, and
 * the writer catches up with the newest values.
 *
 * Per tick the daemon calls, in order:
 *   kube_agent_model()           the PowerModel to use (changes are applied live)
 *   kube_agent_prepare_attrib()  per-workload idle policy and CPU request (from the
 *                                pods' EnergyPolicies and specs) for attribution
 *   kube_agent_after_tick()      names rows, accumulates CO2e, offers snapshots
 *
 * Ownership: kube_agent_new() returns an object freed with kube_agent_free()
 * (NULL-safe). Arrays handed out stay valid until the next call of the same
 * function. Return convention: 0 or negative errno, err filled. It does not log: what
 * the operator should hear (a model chosen, a policy invalid, writes failing, a budget
 * exceeded) goes, as one formatted line with its level, to the note callback the
 * caller passes to kube_agent_new(); the daemon logs it (agent/cli/daemon.c).
 */
#ifndef WATTLET_KUBE_AGENT_H
#define WATTLET_KUBE_AGENT_H

#include <stdbool.h>
#include <stdint.h>

#include "../attrib/attrib.h"
#include "../common/loglevel.h"
#include "../config/config.h"
#include "../export/export.h"
#include "../meter/meter.h"
#include "../ledger/ledger.h"
#include "../model/idle.h"
#include "../model/powermodel.h"
#include "../usage/usage.h"

struct kube_agent;

/* true when the configuration asks for Kubernetes (enabled: true) or allows it
 * (auto) and a service-account environment or a kubeconfig is present. */
bool kube_agent_wanted(const struct config *c);

/* One message for the operator: lvl its weight, msg one line without a newline (valid
 * for the call only), ud as passed to kube_agent_new(). Called on the daemon's thread,
 * from the kube_agent_* calls. */
typedef void (*kube_agent_note_fn)(enum log_level lvl, const char *msg, void *ud);

/* note NULL: nothing is reported. c is borrowed and must outlive the object. */
struct kube_agent *kube_agent_new(const struct config *c, kube_agent_note_fn note, void *note_ud,
				  struct wl_err *err);
void kube_agent_free(struct kube_agent *ka);

const char *kube_agent_node(const struct kube_agent *ka);

/* Network I/O that is ready (watches, kubelet); returns at once. */
void kube_agent_service(struct kube_agent *ka);

/* The PowerModel selected for this node: *model NULL = none (built-in ratio, or the
 * local model.file). Returns true when the choice changed since the last call. */
bool kube_agent_model(struct kube_agent *ka, const struct powermodel **model,
		      const char **name);

/* Fills in->entry_idle_policy and in->cpu_request for the usage entries (workload
 * rows of the previous tick give the pod); leaves them NULL when no pod is known. */
void kube_agent_prepare_attrib(struct kube_agent *ka, const struct ledger *workloads,
			       const struct usage_sample *us, struct attrib_input *in);

/* After a tick: names ledger rows from the pod table, accumulates pods' CO2e, offers
 * PodEnergy / NodeEnergy / EnergyPolicy snapshots to the writer. */
void kube_agent_after_tick(struct kube_agent *ka, struct ledger *workloads, struct ledger *pods,
			   const struct agent_status *st, uint64_t now_real_ns, double dt_s);

/* The meters the daemon probed (meter_open's probe array, n entries): NodeEnergy
 * status.meters lists every kind tried, the one in use and why the others are not. */
void kube_agent_set_meters(struct kube_agent *ka, const struct meter_probe *probe, size_t n);
/* A source besides the meters (kind "nvml" or "redfish", a static string): listed in
 * NodeEnergy status.meters after them, with in_use and reason (copied, at most 199
 * bytes). Set again to change it; at most KA_MAX_SOURCES kinds. */
#define KA_MAX_SOURCES 2
void kube_agent_set_source(struct kube_agent *ka, const char *kind, bool in_use,
			   const char *reason);

/* Idle power shared with the node's hardware class (kube/kube_classidle.h): offers
 * the confident ones of this node's estimators (est, NULL entries skipped) for
 * publishing and fills class_w with the class's idle per zone for meter kind `meter`
 * (< 0: none). No I/O; once per tick before the idle stage. */
void kube_agent_class_idle(struct kube_agent *ka, struct idle_est *const est[ZONE_COUNT],
			   const char *meter, double class_w[ZONE_COUNT]);

/* The writer's counters (kube_writer_stats) by resource, for /metrics. */
void kube_agent_write_stats(struct kube_agent *ka, struct export_kube_writes *out);

#endif
