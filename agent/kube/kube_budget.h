/* kube_budget.h - the arithmetic of the cluster-wide write budget (docs/kube.md,
 * "Write budget"): each agent's share of the budget, how far its objects' intervals
 * stretch to fit in it, how deep its token bucket may be, and when to ask for the
 * cluster's node count again. Pure functions: no I/O, no state, no clock of their own
 * (times are arguments), nothing logs.
 *
 * The formulas, with B the cluster budget (requests/s of all agents together), C the
 * per-node ceiling, N the cluster's node count:
 *   share     s = min(C, B / N)               N known
 *             s = min(C, KB_UNKNOWN_SHARE)    N unknown (never C on its own)
 *   demand    D = sum over tracked objects of 1 / interval_o: what the node would
 *             send if every PodEnergy and its NodeEnergy changed every interval
 *   others    o = Events + status applies sent/s, at most s / 2 (the writer holds
 *             them to that while a PodEnergy waits); not stretched, set aside
 *   stretch   k = max(1, D / (s - o))         (kube_budget_stretch(D, s - o))
 *   interval  i_o' = i_o * k                  written at most this often (when changed)
 *   floor     F_o = max(R * i_o, i_o * k)     written at least this often (R: the
 *                                             writer's refresh_intervals, 10)
 *   bucket    rate s, depth max(2, min(burst, s * KB_BURST_S)), empty at start
 * Budget off (B <= 0): s = 0, k = 1 (the intervals and the bucket are the writer's own).
 */
#ifndef WATTLET_KUBE_BUDGET_H
#define WATTLET_KUBE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

/* Requests/s per node while the node count is unknown (RBAC denied, API down): a
 * kubelet's Lease renewal rate (one per 10 s). */
#define KB_UNKNOWN_SHARE 0.1
/* The node count is asked for every KB_REFRESH_S, jittered by +-KB_JITTER; after a
 * failed query again after KB_RETRY_S (same jitter); a count older than KB_STALE_S
 * (every refresh since failed) is no longer used: the share falls to the unknown one. */
#define KB_REFRESH_S 300
#define KB_RETRY_S 60
#define KB_JITTER 0.2
#define KB_STALE_S 900
/* The bucket holds at most this many seconds of the share (and never fewer than 2
 * tokens: a new object takes two requests). */
#define KB_BURST_S 5.0

/* Whether budget / ceiling make a budget: 0 (budget off: budget == 0), 1 (on), or
 * -EINVAL for values that make none (negative, NaN, infinite, ceiling 0 with a
 * budget). */
int kube_budget_valid(double budget_per_s, double ceiling_per_s);
/* This node's share in requests/s; nodes 0: unknown. ceiling <= 0: none (then the
 * unknown share is KB_UNKNOWN_SHARE). 0 when the budget is off (budget <= 0). */
double kube_budget_share(double budget_per_s, double ceiling_per_s, unsigned nodes);
/* k = max(1, demand / share); 1 when share <= 0 or demand is not a positive number. */
double kube_budget_stretch(double demand_per_s, double share);
/* max(refresh_intervals * interval, interval * k): the longest an object goes
 * unwritten (refresh_intervals 0 counts as 1). */
double kube_budget_floor(double interval, double k, unsigned refresh_intervals);
/* Token bucket depth for a share: max(2, min(max_burst, share * KB_BURST_S)). */
double kube_budget_burst(double share, double max_burst);
/* When to ask for the node count next: now + (ok ? KB_REFRESH_S : KB_RETRY_S) seconds,
 * scaled by 1 + KB_JITTER * (2 * u01 - 1); u01 in [0, 1) (clamped). */
uint64_t kube_budget_next_query_ns(uint64_t now_ns, bool ok, double u01);

#endif
