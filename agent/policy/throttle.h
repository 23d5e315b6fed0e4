/* throttle.h - the controller of the EnergyPolicy budget action `throttle`
 * (docs/throttle.md): per pod, whether to lower its CPU limit, to which value, when to
 * adjust it and when to give the pod its own limits back. It decides only; the Kubernetes
 * side (kube/kube_throttle.h) acts. Pure: no I/O, no clock of its own (now_ms is an
 * argument, any monotonic ms clock), nothing logs.
 *
 * Rules, with budget b (maxJoules M per window T, rate R = M / T watts):
 *  - the pod is eligible only when the policy in effect selects it with a budget whose
 *    action is throttle, and, in a system namespace (kube-system, kube-public,
 *    kube-node-lease), only when that budget sets throttle.allowSystemNamespace;
 *    a throttled pod that stops being eligible (policy removed or changed, pod no longer
 *    selected) is restored at once;
 *  - measurements: the pod's power W and CPU cores C over a period P = clamp(T / 6,
 *    5 s, 60 s) from its cumulative joules and CPU seconds; at most one decision per P;
 *  - throttle: the budget's window holds more than M joules AND the pod draws more
 *    than R now: limit L = C * R / W (the pod's measured W per CPU core, scaled to R),
 *    clamped to [minCPU, cap] (cap: the pod's own limit, or the node's CPUs);
 *  - adjust while throttled: when the power over a period (the first period after a
 *    change is skipped: the kubelet and the measurement lag) is off R by more than
 *    THR_TOLERANCE, L = L * R / W (factor kept within [1/4, 4]), clamped as above;
 *    changes smaller than 1m and THR_MIN_STEP of L are not made;
 *  - restore (hysteresis): a full window (span >= T) holds less than
 *    THR_RESTORE_FRACTION * M joules. At the capped rate the window holds about M, so a
 *    pod whose demand stays high is never restored and re-throttled (no flapping); it is
 *    restored when its demand falls or the budget is raised.
 *
 * Ownership: plain data; the caller keeps one struct thr_state per pod (zeroed at
 * start). Returns 0 or -EINVAL (bad input: nothing changed).
 */
#ifndef WATTLET_THROTTLE_H
#define WATTLET_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

#include "energypolicy.h"

#define THR_TOLERANCE 0.10
#define THR_RESTORE_FRACTION 0.90
#define THR_MIN_STEP 0.05
#define THR_PERIOD_MIN_MS 5000ull
#define THR_PERIOD_MAX_MS 60000ull

enum thr_verdict {
	THR_KEEP,     /* nothing to do */
	THR_THROTTLE, /* lower the pod's CPU limit to out->limit_mcpu */
	THR_ADJUST,   /* throttled: change the limit to out->limit_mcpu */
	THR_RESTORE   /* give the pod its own limits back */
};

enum thr_reason {
	THR_R_NONE,
	THR_R_OVER_BUDGET,   /* throttle */
	THR_R_OFF_RATE,      /* adjust: power off the budget's rate */
	THR_R_UNDER_BUDGET,  /* restore: a full window below the hysteresis line */
	THR_R_NOT_SELECTED,  /* restore: no throttle budget in effect for the pod */
	THR_R_SYSTEM_NS,     /* restore / never: a system namespace not allowed */
};

struct thr_input {
	uint64_t now_ms;
	const char *ns;		     /* the pod's namespace */
	const struct ep_budget *budget; /* the pod's throttle budget in effect; NULL: none */
	double window_joules;	     /* joules in that budget's window (ep_ring_window) */
	uint64_t span_ms;	     /* the time that window covers */
	double joules_total;	     /* the pod's cumulative joules */
	double cpu_s_total;	     /* the pod's cumulative CPU seconds */
	uint32_t cap_mcpu;	     /* most the limit may be: the pod's own CPU limit, or the
				      * node's CPUs; 0: no cap */
};

struct thr_state {
	bool throttled;
	uint32_t limit_mcpu; /* pod total, while throttled */
	uint64_t since_ms;   /* throttled since */
	bool has_ref, settle;
	uint64_t ref_ms;     /* start of the current measurement period */
	double ref_j, ref_cpu_s;
	double watts, cores; /* over the last finished period (0 before one) */
};

struct thr_decision {
	enum thr_verdict verdict;
	enum thr_reason reason;
	uint32_t limit_mcpu;  /* THROTTLE / ADJUST: the new limit (pod total); RESTORE: the old */
	double rate_w;        /* R (0 without a budget) */
	double watts, cores;  /* measured over the period that decided */
};

/* true for kube-system, kube-public, kube-node-lease. */
bool thr_system_namespace(const char *ns);
/* R = maxJoules / window seconds. */
double thr_rate_w(const struct ep_budget *b);
/* P for a window. */
uint64_t thr_period_ms(uint64_t window_ms);
/* One step for one pod: updates st, fills out. */
int throttle_step(struct thr_state *st, const struct thr_input *in, struct thr_decision *out);
/* "OverBudget", "OffRate", "UnderBudget", "NotSelected", "SystemNamespace", "" */
const char *thr_reason_name(enum thr_reason r);

#endif
