/* kube_agent_throttle.c - see kube_agent_impl.h: the EnergyPolicy budget action
 * throttle on the daemon's thread (docs/throttle.md). Per pod and tick the controller
 * (policy/throttle.h) decides from the pod's budget window, joules and CPU time; its
 * verdicts go to the actuator (kube_throttle.h, its own thread); the actuator's results
 * come back here as log lines, Events (Throttled, Restored, ThrottleFailed) and the
 * PodEnergy condition Throttled. Nothing here logs itself: ka_note. */
#include "kube_agent_impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube_config.h"
#include "kube_throttle.h"

#define BLOCK_AFTER_FAILURE_MS 600000ull /* a refused throttle is tried again after 10 min */

static uint64_t real_ns_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ka_throttle_start(struct kube_agent *ka)
{
	const char *env = getenv("WATTLET_THROTTLE");
	struct kube_config_opts co = { 0 };
	struct kube_throttle_opts o = { 0 };
	struct wl_err err = { "" };
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	ka->throttle_path_logged = -1;
	ka->node_mcpu = n > 0 ? (uint32_t)n * 1000u : 0;
	if (!env || strcmp(env, "true") != 0)
		return;
	co.kubeconfig = ka->cfg->kubeconfig[0] ? ka->cfg->kubeconfig : NULL;
	ka->throttle_kc = kube_config_load(&co, &err);
	o.node = ka->node;
	o.node_mcpu = ka->node_mcpu;
	o.cgroup_root = ka->cfg->cgroup_root;
	ka->throttle = ka->throttle_kc ? kube_throttle_new(ka->throttle_kc, &o, &err) : NULL;
	if (!ka->throttle) {
		ka_note(ka, LOG_WARN, "throttle: off: %s", err.msg);
		return;
	}
	ka_note(ka, LOG_INFO, "throttle: on (WATTLET_THROTTLE=true): EnergyPolicy budgets with "
		"action throttle lower the CPU limits of pods over budget; pods this node's "
		"earlier agent left throttled are restored now");
}

/* The first budget of pol with action throttle (and its index), or NULL. */
static const struct ep_budget *throttle_budget(const struct energypolicy *pol, size_t *idx)
{
	for (size_t b = 0; pol && b < pol->n_budgets; b++)
		if (pol->budgets[b].action == EP_ACTION_THROTTLE) {
			*idx = b;
			return &pol->budgets[b];
		}
	return NULL;
}

static void set_cond(struct pod_state *ps, const char *status, const char *reason,
		     const char *msg)
{
	if (strcmp(ps->thr_cond_status, status) != 0)
		ps->thr_cond_since_ns = real_ns_now();
	snprintf(ps->thr_cond_status, sizeof(ps->thr_cond_status), "%s", status);
	snprintf(ps->thr_cond_reason, sizeof(ps->thr_cond_reason), "%s", reason);
	snprintf(ps->thr_cond_msg, sizeof(ps->thr_cond_msg), "%s", msg);
}

static void pod_event(struct kube_agent *ka, const char *ns, const char *name, const char *uid,
		      const char *reason, const char *type, const char *msg)
{
	struct kw_event ev = { 0 };

	ev.api_version = "v1";
	ev.kind = "Pod";
	ev.ns = ns;
	ev.name = name;
	ev.uid = uid;
	ev.reason = reason;
	ev.message = msg;
	ev.type = type;
	kube_writer_event(ka->writer, &ev);
}

void ka_throttle_step(struct kube_agent *ka, struct pod_state *ps, const struct energypolicy *pol,
		      const struct kube_pod_info *pod, const struct ledger_row *p, uint32_t zones,
		      uint64_t now_ms)
{
	struct thr_input in = { 0 };
	struct thr_decision d;
	struct kt_request rq = { 0 };
	const struct ep_budget *b;
	size_t bi = 0;
	uint64_t span = 0;
	double wj = 0;
	int rc;

	ka->last_tick_ms = now_ms;
	b = throttle_budget(pol, &bi);
	if (b && !ka->throttle) {
		if (!ka->throttle_off_logged)
			ka_note(ka, LOG_WARN, "throttle: EnergyPolicy %s/%s budget %s has action throttle "
				"but throttling is off on this agent (chart value throttle.enabled); "
				"the budget only sends Events", pol->ns, pol->name, b->name);
		ka->throttle_off_logged = true;
		return;
	}
	if (b && b->throttle.method == EP_THROTTLE_CGROUP && !ka->throttle_cgroup_logged && ka->throttle) {
		ka_note(ka, LOG_WARN, "throttle: EnergyPolicy %s/%s budget %s uses method cgroup: the "
			"pod cgroups' CPU quota is written directly; the kubelet owns those cgroups and "
			"may write its own quota back (docs/throttle.md)", pol->ns, pol->name, b->name);
		ka->throttle_cgroup_logged = true;
	}
	if (!ka->throttle || ps->thr_pending)
		return;
	if (!ps->thr.throttled && b && now_ms < ps->thr_blocked_ms &&
	    ps->thr_blocked_cgroup == (b->throttle.method == EP_THROTTLE_CGROUP))
		return; /* refused recently (this method) */
	if (b && ep_ring_window(&ps->budget[bi], &wj, &span) != 0)
		return;
	in.now_ms = now_ms;
	in.ns = pod->ns;
	in.budget = b;
	in.window_joules = wj;
	in.span_ms = span;
	in.joules_total = export_total_uj(p->uj, zones) / 1e6;
	in.cpu_s_total = p->cpu_ns / 1e9;
	in.cap_mcpu = ka->node_mcpu;
	rc = throttle_step(&ps->thr, &in, &d);
	if (rc != 0 || d.verdict == THR_KEEP)
		return;
	rq.ns = pod->ns;
	rq.name = pod->name;
	rq.uid = pod->uid;
	rq.op = d.verdict == THR_RESTORE ? KT_RESTORE : KT_SET;
	rq.limit_mcpu = d.limit_mcpu;
	rq.cgroup = b && b->throttle.method == EP_THROTTLE_CGROUP;
	if (d.verdict == THR_RESTORE && !ps->thr_applied) {
		set_cond(ps, "False", thr_reason_name(d.reason), "not throttled");
		return; /* the lower limit never took: nothing to give back */
	}
	if (kube_throttle_request(ka->throttle, &rq) != 0) {
		/* queue full: undo the controller's step, try again next period */
		memset(&ps->thr, 0, sizeof(ps->thr));
		return;
	}
	ps->thr_pending = true;
	if (b) {
		snprintf(ps->thr_budget, sizeof(ps->thr_budget), "%s", b->name);
		snprintf(ps->thr_policy, sizeof(ps->thr_policy), "%s/%s", pol->ns, pol->name);
	}
	if (d.verdict == THR_THROTTLE)
		ka_note(ka, LOG_INFO, "throttle: %s/%s draws %.1f W on %.2f CPU, over budget %s (%.1f W "
			"= %.15g J per %" PRIu64 " s) of EnergyPolicy %s: CPU limit to %" PRIu32 "m",
			pod->ns, pod->name, d.watts, d.cores, b->name, d.rate_w, b->max_joules,
			b->window_ms / 1000, ps->thr_policy, d.limit_mcpu);
	else if (d.verdict == THR_ADJUST)
		ka_note(ka, LOG_DEBUG, "throttle: %s/%s draws %.1f W at its limit (rate %.1f W): limit "
			"to %" PRIu32 "m", pod->ns, pod->name, d.watts, d.rate_w, d.limit_mcpu);
	else
		ka_note(ka, LOG_INFO, "throttle: %s/%s: restoring its own CPU limits (%s)", pod->ns,
			pod->name, thr_reason_name(d.reason));
}

static void fmt_orig(uint32_t mcpu, char *buf, size_t cap)
{
	if (mcpu)
		snprintf(buf, cap, "%" PRIu32 "m", mcpu);
	else
		snprintf(buf, cap, "none");
}

static void one_result(struct kube_agent *ka, const struct kt_result *r)
{
	struct pod_state *ps = uidtab_get(&ka->ps, r->uid); /* a gone pod's is swept next tick */
	char msg[640], orig[24];

	fmt_orig(r->orig_mcpu, orig, sizeof(orig));
	if (r->recovered) {
		if (r->skipped)
			return;
		if (r->ok) {
			snprintf(msg, sizeof(msg), "CPU limits restored to the pod's own (%s) at agent start: "
				 "an earlier agent on node %s had throttled it (record %s)", orig,
				 ka->node, KT_ANNOTATION);
			ka_note(ka, LOG_INFO, "throttle: %s/%s: %s", r->ns, r->name, msg);
			pod_event(ka, r->ns, r->name, r->uid, "Restored", "Normal", msg);
		} else {
			ka_note(ka, LOG_WARN, "throttle: %s/%s: could not restore at start: %s", r->ns,
				r->name, r->error);
		}
		return;
	}
	if (!ps)
		return; /* the pod went meanwhile */
	ps->thr_pending = false;
	if (r->op == KT_SET) {
		if (!r->ok) {
			snprintf(msg, sizeof(msg), "not throttled: %s", r->error);
			ka_note(ka, LOG_WARN, "throttle: %s/%s: %s (tried again in %llu s)", r->ns, r->name,
				msg, BLOCK_AFTER_FAILURE_MS / 1000);
			pod_event(ka, r->ns, r->name, r->uid, "ThrottleFailed", "Warning", msg);
			set_cond(ps, "False", r->path == KT_PATH_NONE ? "ResizeUnsupported" : "ThrottleFailed",
				 msg);
			if (!ps->thr_applied)
				memset(&ps->thr, 0, sizeof(ps->thr));
			ps->thr_blocked_ms = ka->last_tick_ms + BLOCK_AFTER_FAILURE_MS;
			ps->thr_blocked_cgroup = r->path == KT_PATH_CGROUP;
			return;
		}
		bool first = !ps->thr_applied;
		double pct = r->orig_mcpu ? 100.0 * (1.0 - (double)r->limit_mcpu / r->orig_mcpu) : 0;
		ps->thr_applied = true;
		ps->thr_orig_mcpu = r->orig_mcpu;
		if (r->orig_mcpu)
			snprintf(msg, sizeof(msg), "CPU limit %" PRIu32 "m (own %s, %.0f%% lower) to hold "
				 "budget %s of EnergyPolicy %s at its rate; via %s", r->limit_mcpu, orig,
				 pct, ps->thr_budget, ps->thr_policy, kt_path_name(r->path));
		else
			snprintf(msg, sizeof(msg), "CPU limit %" PRIu32 "m (own: none) to hold budget %s of "
				 "EnergyPolicy %s at its rate; via %s", r->limit_mcpu, ps->thr_budget,
				 ps->thr_policy, kt_path_name(r->path));
		set_cond(ps, "True", "OverBudget", msg);
		if (first) {
			ka_note(ka, LOG_INFO, "throttle: %s/%s: %s", r->ns, r->name, msg);
			pod_event(ka, r->ns, r->name, r->uid, "Throttled", "Warning", msg);
		}
		return;
	}
	/* restore */
	if (!r->ok) {
		ka_note(ka, LOG_WARN, "throttle: %s/%s: restoring failed: %s (tried again next period)",
			r->ns, r->name, r->error);
		/* still throttled: the controller restores again */
		ps->thr.throttled = true;
		ps->thr.limit_mcpu = EP_THROTTLE_MIN_MCPU_DEFAULT;
		ps->thr.settle = true;
		return;
	}
	ps->thr_applied = false;
	snprintf(msg, sizeof(msg), "CPU limits restored to the pod's own (%s)%s%s", orig,
		 r->error[0] ? ": " : "", r->error);
	set_cond(ps, "False", "Restored", msg);
	ka_note(ka, LOG_INFO, "throttle: %s/%s: %s", r->ns, r->name, msg);
	pod_event(ka, r->ns, r->name, r->uid, "Restored", "Normal", msg);
}

void ka_throttle_results(struct kube_agent *ka)
{
	struct kt_result res[16];
	struct kube_throttle_stats st;
	size_t n;

	if (!ka->throttle)
		return;
	while ((n = kube_throttle_results(ka->throttle, res, 16)) > 0)
		for (size_t i = 0; i < n; i++)
			one_result(ka, &res[i]);
	kube_throttle_stats(ka->throttle, &st);
	if (st.path != KT_PATH_UNKNOWN && (int)st.path != ka->throttle_path_logged) {
		ka->throttle_path_logged = (int)st.path;
		if (st.path == KT_PATH_RESIZE)
			ka_note(ka, LOG_INFO, "throttle: the API server resizes pods through the pods/resize "
				"subresource (Kubernetes >= 1.33)");
		else if (st.path == KT_PATH_SPEC)
			ka_note(ka, LOG_INFO, "throttle: no pods/resize subresource (Kubernetes < 1.33): "
				"resizing through the pod spec (InPlacePodVerticalScaling)");
		else
			ka_note(ka, LOG_WARN, "throttle: this cluster cannot resize pods in place (no "
				"pods/resize subresource, and the pod spec's resources are immutable: "
				"Kubernetes < 1.33 without the InPlacePodVerticalScaling feature gate); "
				"pods over a throttle budget are NOT throttled");
	}
	if (st.recovery_done && !ka->throttle_recovery_logged) {
		ka->throttle_recovery_logged = true;
		if (st.recovery_error[0])
			ka_note(ka, LOG_WARN, "throttle: %s; pods an earlier agent throttled stay so until "
				"restored (docs/throttle.md)", st.recovery_error);
	}
}

void ka_throttle_condition(const struct pod_state *ps, struct kw_pod *snap)
{
	if (!ps->thr_cond_status[0])
		return;
	snap->throttle_status = ps->thr_cond_status;
	snap->throttle_reason = ps->thr_cond_reason;
	snap->throttle_message = ps->thr_cond_msg;
	snap->throttle_since_ns = ps->thr_cond_since_ns;
}
