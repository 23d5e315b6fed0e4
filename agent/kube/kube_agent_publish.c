/* kube_agent_publish.c - see kube_agent.h: after each tick, names for the ledger rows,
 * pods' CO2e and budgets, and the PodEnergy / NodeEnergy / EnergyPolicy status
 * snapshots offered to the writer (kube_agent_after_tick). */
#include "kube_agent_impl.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/strbuf.h"
#include "kube_http.h"
#include "kube_kubelet.h"
#include "kube_pods.h"
#include "kube_watch.h"
#include "kube_writer.h"
#include "../policy/energypolicy.h"
#include "../policy/modelselect.h"

/* ---- after the tick: names, CO2e, budgets, snapshots ----------------------------- */

static double uj_to_j(uint64_t uj)
{
	return uj / 1e6;
}

/* Checks the pod's budgets: an Event when one is newly exceeded; annot gets the
 * PodEnergy annotation value ("<budget>=<maxJoules>J/<window>s,...") of the budgets
 * with action annotate that are exceeded now, "" when none. */
static void check_budgets(struct kube_agent *ka, struct pod_state *ps,
			  const struct energypolicy *pol, const struct kube_pod_info *pod,
			  uint64_t now_ms, double joules, struct strbuf *annot)
{
	for (size_t b = 0; pol && b < pol->n_budgets; b++) {
		const struct ep_budget *bu = &pol->budgets[b];
		double wj;
		uint64_t span;

		if (ps->budget_window_ms[b] != bu->window_ms) {
			ep_ring_init(&ps->budget[b], bu->window_ms);
			ps->budget_window_ms[b] = bu->window_ms;
			ps->budget_exceeded[b] = false;
		}
		ep_ring_add(&ps->budget[b], now_ms, joules);
		if (ep_ring_window(&ps->budget[b], &wj, &span) != 0)
			continue;
		int over = policy_budget_check(bu, wj);
		if (over == 1 && !ps->budget_exceeded[b]) {
			char msg[512];
			struct kw_event ev = { 0 };
			snprintf(msg, sizeof(msg),
				 "pod used %.1f J in the last %" PRIu64 " s, over budget %s (%.1f J per "
				 "%" PRIu64 " s) of EnergyPolicy %s/%s",
				 wj, span / 1000, bu->name, bu->max_joules, bu->window_ms / 1000, pol->ns,
				 pol->name);
			ka_note(ka, LOG_WARN, "kubernetes: %s/%s: %s", pod->ns, pod->name, msg);
			ev.api_version = "v1";
			ev.kind = "Pod";
			ev.ns = pod->ns;
			ev.name = pod->name;
			ev.uid = pod->uid;
			ev.reason = "EnergyBudgetExceeded";
			ev.message = msg;
			ev.type = "Warning";
			kube_writer_event(ka->writer, &ev);
		}
		ps->budget_exceeded[b] = over == 1;
		if (over == 1 && bu->action == EP_ACTION_ANNOTATE) {
			if (annot->len)
				strbuf_adds(annot, ",");
			strbuf_addf(annot, "%s=%.15gJ/", bu->name, bu->max_joules);
			if (bu->window_ms % 1000 == 0)
				strbuf_addf(annot, "%" PRIu64 "s", bu->window_ms / 1000);
			else
				strbuf_addf(annot, "%.3fs", bu->window_ms / 1000.0);
		}
	}
}

/* Containers of a pod for its PodEnergy: the pod's workload rows with a name. */
static size_t pod_containers(const struct ledger *workloads, const char *uid, uint32_t zones,
			     struct kw_container *out, char (*ids)[96], size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < ledger_count(workloads) && n < cap; i++) {
		const struct ledger_row *r = ledger_row_at(workloads, i);
		if (r->terminated || !r->container || strcmp(r->ident.pod_uid, uid) != 0)
			continue;
		snprintf(ids[n], sizeof(ids[n]), "%s://%s",
			 r->ident.runtime == RT_CRIO ? "cri-o" : cg_runtime_name(r->ident.runtime),
			 r->ident.container_id);
		out[n].name = r->container;
		out[n].container_id = r->ident.container_id[0] ? ids[n] : NULL;
		out[n].joules = uj_to_j(export_total_uj(r->uj, zones));
		out[n].watts = export_total_watts(r->watts, zones);
		n++;
	}
	return n;
}

static void offer_pod(struct kube_agent *ka, const struct ledger *workloads,
		      const struct ledger_row *p, const struct kube_pod_info *pod,
		      const struct energypolicy *pol, struct pod_state *ps, uint32_t zones,
		      const char *model, const char *source, uint64_t now_real_ns,
		      const char *annot)
{
	struct kw_pod snap = { 0 };
	struct kw_zone kz[ZONE_COUNT];
	static struct kw_container ctr[KW_MAX_CONTAINERS];
	static char ids[KW_MAX_CONTAINERS][96];
	char polname[EP_NS_MAX + EP_NAME_MAX + 2] = "";
	uint64_t dyn_uj = 0, idle_uj = 0, interval_ms, now_ms = now_real_ns / 1000000ull, span;
	double wdyn = 0, widle = 0;
	size_t nz = 0;

	interval_ms = pol ? pol->update_interval_ms : ka->cfg->podenergy_interval_ms;
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(zones & (1u << z)))
			continue;
		kz[nz].zone = (enum zone)z;
		kz[nz].dynamic_joules = uj_to_j(p->uj[z][MODE_DYNAMIC]);
		kz[nz].idle_joules = uj_to_j(p->uj[z][MODE_IDLE]);
		kz[nz].dynamic_watts = p->watts[z][MODE_DYNAMIC];
		kz[nz].idle_watts = p->watts[z][MODE_IDLE];
		nz++;
	}
	/* totals without double counting, averaged over the update window */
	uint64_t tot[ZONE_COUNT][MODE_COUNT];
	memcpy(tot, p->uj, sizeof(tot));
	for (int z = 0; z < ZONE_COUNT; z++)
		tot[z][MODE_IDLE] = 0;
	dyn_uj = export_total_uj(tot, zones);
	idle_uj = export_total_uj(p->uj, zones) - dyn_uj;
	if (ps->window_ms != interval_ms) {
		ep_ring_init(&ps->dyn, interval_ms);
		ep_ring_init(&ps->idle, interval_ms);
		ps->window_ms = interval_ms;
	}
	ep_ring_add(&ps->dyn, now_ms, uj_to_j(dyn_uj));
	ep_ring_add(&ps->idle, now_ms, uj_to_j(idle_uj));
	if (ep_ring_window(&ps->dyn, &wdyn, &span) == 0 && span > 0)
		wdyn /= span / 1000.0;
	else
		wdyn = export_mode_watts(p->watts, zones, MODE_DYNAMIC);
	if (ep_ring_window(&ps->idle, &widle, &span) == 0 && span > 0)
		widle /= span / 1000.0;
	else
		widle = export_mode_watts(p->watts, zones, MODE_IDLE);

	if (pol)
		snprintf(polname, sizeof(polname), "%s/%s", pol->ns, pol->name);
	snap.ns = pod->ns;
	snap.name = pod->name;
	snap.uid = pod->uid;
	snap.node = ka->node;
	snap.model = model;
	snap.policy = polname;
	snap.owner_kind = pod->owner_kind;
	snap.owner_name = pod->owner_name;
	snap.last_measured_ns = now_real_ns;
	snap.window_s = span > 0 ? span / 1000.0 : interval_ms / 1000.0;
	snap.dynamic_watts = wdyn;
	snap.idle_watts = widle;
	snap.watts = wdyn + widle;
	snap.joules = uj_to_j(dyn_uj + idle_uj);
	snap.has_co2e = pol && pol->has_carbon;
	snap.co2e_grams = p->co2e_g;
	snap.zones = kz;
	snap.n_zones = nz;
	snap.containers = ctr;
	snap.n_containers = pod_containers(workloads, pod->uid, zones, ctr, ids, KW_MAX_CONTAINERS);
	snap.interval_s = (unsigned)(interval_ms / 1000);
	snap.budget_annotation = annot;
	snap.energy_source = source;
	ka_throttle_condition(ps, &snap);
	kube_writer_offer_pod(ka->writer, &snap);
}

static double worst_deviation(const struct export_validation *v)
{
	double worst = 0;
	for (int z = 0; z < ZONE_COUNT; z++)
		if ((v->zone_mask & (1u << z)) && fabs(v->deviation_percent[z]) > fabs(worst))
			worst = v->deviation_percent[z];
	return worst;
}

/* Zone names of a mask, comma-separated. */
static void zone_list(uint32_t mask, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (int z = 0; z < ZONE_COUNT && n + 1 < cap; z++)
		if (mask & (1u << z))
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", zone_name((enum zone)z));
}

/* Why no meter: the probe's reasons, "kind: reason; ..." (or what the daemon says). */
static void no_meter_why(const struct kube_agent *ka, const struct agent_status *st, char *out,
			 size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < ka->n_meters && n + 1 < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%s: %s", n ? "; " : "", ka->meters[i].kind,
				      ka->meters[i].reason);
	if (!n)
		snprintf(out, cap, "%s", st->meter_detail && *st->meter_detail ? st->meter_detail
									: "no meter probed");
}

static void offer_node(struct kube_agent *ka, const struct ledger *workloads,
		       const struct agent_status *st, uint32_t zones)
{
	const struct ledger_node *n = ledger_node_c(workloads);
	struct kw_node snap = { 0 };
	struct kw_meter meter = { 0 }, all[KW_MAX_METERS];
	struct kw_node_zone kz[ZONE_COUNT];
	struct kw_condition cond[3];
	char model_msg[WL_ERR_MAX + 64], why[1200], src_msg[2048], ez[64];
	const char *source = st->energy_source ? st->energy_source : "none";
	const char *model_name = st->model_name && *st->model_name ? st->model_name : MS_BUILTIN_NAME;
	bool have_meter = st->meter && strcmp(st->meter, "none") != 0;
	/* what measures: the meter, else an in-use NVML or Redfish source (zones gpu,
	 * platform), so that a node measured only by its BMC is not called meterless */
	const struct kw_meter *src = NULL;
	const char *measured_by = have_meter ? st->meter : NULL;
	size_t nz = 0;

	for (size_t i = 0; !measured_by && i < ka->n_sources; i++) {
		if (ka->sources[i].in_use) {
			src = &ka->sources[i];
			measured_by = src->kind;
		}
	}

	/* meters: every kind probed; without the probe, the one in use (the CRD knows no
	 * kind "none": such a status was refused whole, issue 19) */
	if (ka->have_probe) {
		snap.meters = ka->meters;
		snap.n_meters = ka->n_meters;
	} else if (have_meter) {
		meter.kind = st->meter;
		meter.in_use = true;
		meter.reason = st->meter_detail && *st->meter_detail ? st->meter_detail : "in use";
		snap.meters = &meter;
		snap.n_meters = 1;
	}
	if (ka->n_sources) { /* NVML, Redfish after the meters */
		size_t k = 0;
		for (size_t i = 0; snap.meters && i < snap.n_meters && k < KW_MAX_METERS; i++)
			all[k++] = snap.meters[i];
		for (size_t i = 0; i < ka->n_sources && k < KW_MAX_METERS; i++)
			all[k++] = ka->sources[i];
		snap.meters = all;
		snap.n_meters = k;
	}
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(zones & (1u << z)))
			continue;
		kz[nz].zone = (enum zone)z;
		kz[nz].dynamic_watts = n->watts[z][MODE_DYNAMIC];
		kz[nz].idle_watts = n->watts[z][MODE_IDLE];
		kz[nz].joules = uj_to_j(n->uj[z][MODE_DYNAMIC] + n->uj[z][MODE_IDLE]);
		kz[nz].idle_source = st->idle_source[z];
		nz++;
	}
	cond[0].type = "ModelValid";
	cond[0].status = ka->have_choice && ka->choice.invalid ? "False" : "True";
	cond[0].reason = ka->have_choice && ka->choice.invalid ? "InvalidPowerModel" : "ModelApplied";
	snprintf(model_msg, sizeof(model_msg), "%s", ka->have_choice ? ka->choice.reason : "built-in ratio model");
	cond[0].message = model_msg;
	no_meter_why(ka, st, why, sizeof(why));
	cond[1].type = "MeterAvailable";
	cond[1].status = measured_by ? "True" : "False";
	cond[1].reason = measured_by ? "MeterFound" : "NoMeter";
	cond[1].message = have_meter ? (st->meter_detail ? st->meter_detail : "")
			  : src	     ? src->reason
				     : why;
	zone_list(st->estimated_zones, ez, sizeof(ez));
	cond[2].type = "EnergySource";
	if (strcmp(source, "meter") == 0) {
		cond[2].status = "True";
		cond[2].reason = "MeterFound";
		snprintf(src_msg, sizeof(src_msg), "measured by the %s meter: %s",
			 measured_by ? measured_by : "none",
			 have_meter ? (st->meter_detail ? st->meter_detail : "")
			 : src	    ? src->reason
				    : "");
	} else if (strcmp(source, "meter+model") == 0) {
		cond[2].status = "True";
		cond[2].reason = "MeterAndModel";
		snprintf(src_msg, sizeof(src_msg),
			 "measured by the %s meter; zones %s estimated by PowerModel %s",
			 measured_by ? measured_by : "none", ez, model_name);
	} else if (strcmp(source, "model") == 0) {
		cond[2].status = "True";
		cond[2].reason = "ModelEstimated";
		snprintf(src_msg, sizeof(src_msg),
			 "no energy meter; zones %s estimated by PowerModel %s (estimates, not "
			 "measurements)",
			 ez, model_name);
	} else {
		source = "none";
		cond[2].status = "False";
		cond[2].reason = "NoMeter";
		snprintf(src_msg, sizeof(src_msg),
			 "no energy meter on this node (%.1200s) and no PowerModel with estimated zones "
			 "selects it: energy is NOT reported (zeros). Apply a PowerModel with estimated "
			 "zones whose nodeSelector matches this node: fit one on a metered node of the "
			 "same hardware (wattlet run --record FILE; wattlet model fit FILE) or start "
			 "from k8s/examples/powermodel-estimated.yaml (docs/models.md)",
			 why);
	}
	cond[2].message = src_msg;
	cond[0].last_transition_ns = cond[1].last_transition_ns = cond[2].last_transition_ns = 0;

	snap.name = ka->node;
	snap.usage_source = st->usage_source;
	snap.energy_source = source;
	snap.estimated_zones = st->estimated_zones;
	snap.model_name = model_name;
	snap.attribution = ka->have_choice && ka->choice.model
				   ? pm_attribution_name(ka->choice.model->attribution)
				   : "ratio";
	snap.watts = export_total_watts(n->watts, zones);
	snap.joules = uj_to_j(export_total_uj(n->uj, zones));
	snap.zones = kz;
	snap.n_zones = nz;
	{
		/* either kind alone is a result: passed when every present kind passed, the
		 * newest time, a deviation only for a kind that ran (NAN is omitted) */
		const struct export_validation *vn = &st->validation[EXPORT_VALIDATION_NODE];
		const struct export_validation *vw = &st->validation[EXPORT_VALIDATION_WORKLOAD];
		if (vn->present || vw->present) {
			double tn = vn->present ? vn->timestamp_s : 0;
			double tw = vw->present ? vw->timestamp_s : 0;
			snap.has_validation = true;
			snap.validation.time_ns = (uint64_t)((tn > tw ? tn : tw) * 1e9);
			snap.validation.passed = (!vn->present || vn->passed) &&
						 (!vw->present || vw->passed);
			snap.validation.node_deviation_pct = vn->present ? worst_deviation(vn) : NAN;
			snap.validation.pod_deviation_pct = vw->present ? worst_deviation(vw) : NAN;
		}
	}
	snap.conditions = cond;
	snap.n_conditions = 3;
	kube_writer_offer_node(ka->writer, &snap);
}

/* ---- EnergyPolicy status ------------------------------------------------------------ */

static void acc_add(struct kube_agent *ka, const struct energypolicy *pol, double joules,
		    double co2e_g, bool throttled)
{
	struct policy_acc *a = NULL;

	for (size_t i = 0; i < ka->n_acc && !a; i++)
		if (ka->acc[i].pol == pol)
			a = &ka->acc[i];
	if (!a) {
		if (ka->n_acc == ka->acc_alloc) {
			size_t na = ka->acc_alloc ? ka->acc_alloc * 2 : 16;
			struct policy_acc *n = realloc(ka->acc, na * sizeof(*n));
			if (!n)
				return; /* out of memory: this policy's status waits */
			ka->acc = n;
			ka->acc_alloc = na;
		}
		a = &ka->acc[ka->n_acc++];
		memset(a, 0, sizeof(*a));
		a->pol = pol;
	}
	a->pods++;
	if (throttled)
		a->throttled++;
	if (isfinite(joules) && joules > 0)
		a->joules += joules;
	if (isfinite(co2e_g) && co2e_g > 0)
		a->co2e_g += co2e_g;
}

/* Offers a status apply body (decref'ed here). */
static void offer_status_body(struct kube_agent *ka, const struct policy_entry_info *who,
			      const char *what, const char *fm, json_t *body)
{
	struct strbuf path, key;
	char *txt = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	int rc;

	json_decref(body);
	strbuf_init(&path, 2048);
	strbuf_adds(&path, API_GROUP "/namespaces/");
	kube_url_escape(&path, who->ns);
	strbuf_adds(&path, "/energypolicies/");
	kube_url_escape(&path, who->name);
	strbuf_adds(&path, "/status");
	strbuf_init(&key, 512);
	strbuf_addf(&key, "%s/%s", who->uid, what);
	if (txt && !path.overflow && !key.overflow) {
		rc = kube_writer_offer_status(ka->writer, key.buf, path.buf, fm, txt);
		if (rc)
			ka_note(ka, LOG_DEBUG, "kubernetes: EnergyPolicy %s/%s status not queued: %s", who->ns,
				  who->name, strerror(-rc));
	}
	strbuf_release(&path);
	strbuf_release(&key);
	free(txt);
}

/* Once per policy and updateInterval: this node's status.nodes[] entry (field manager
 * wattlet-<node>) when it has pods of the policy (or removes it when it no longer has),
 * and the top-level sums (field manager wattlet, force) from that entry and the other
 * nodes' entries as last watched. A node without pods of the policy writes the sums only
 * when the watched status does not already show them (a new or invalid policy). */
static void offer_policies(struct kube_agent *ka, uint64_t now_real_ns)
{
	struct kube_watch_stats ws;
	uint64_t now_ms = now_real_ns / 1000000ull;

	kube_watch_stats(ka->ep_watch, &ws);
	if (!ws.synced)
		return; /* other nodes' entries unknown yet */
	for (size_t i = 0; i < policy_set_count(ka->policies); i++) {
		struct policy_entry_info who;
		struct policy_state *ps;
		const struct policy_acc *a = NULL;
		struct ep_node_part part = { 0 };
		struct ep_status_in in;
		struct wl_err err = { "" };
		uint64_t iv;
		bool had_entry, mine;
		json_t *body;

		if (policy_set_at(ka->policies, i, &who) != 0 || !who.ns[0] || !who.name[0])
			continue;
		ps = uidtab_get(&ka->pst, who.uid);
		if (!ps)
			continue;
		ps->h.seen = ka->ticks;
		iv = who.policy ? who.policy->update_interval_ms : EP_INTERVAL_DEFAULT_MS;
		if (ps->last_ms && now_ms >= ps->last_ms && now_ms - ps->last_ms < iv)
			continue;
		ps->last_ms = now_ms ? now_ms : 1;
		for (size_t k = 0; who.policy && k < ka->n_acc && !a; k++)
			if (ka->acc[k].pol == who.policy)
				a = &ka->acc[k];
		mine = a && a->pods > 0;
		had_entry = ps->entry || ep_status_has_node(&who, ka->node);
		part.node = ka->node;
		part.real_ns = now_real_ns;
		if (mine) {
			part.matched_pods = a->pods;
			part.throttled_pods = a->throttled;
			part.total_joules = a->joules;
			part.total_co2e_grams = a->co2e_g;
		}
		if (mine || had_entry) {
			body = ep_status_node_build(&who, mine ? &part : NULL, &err);
			if (body)
				offer_status_body(ka, &who, "node", ka->node_fm, body);
			else
				ka_note(ka, LOG_DEBUG, "kubernetes: EnergyPolicy %s/%s: %s", who.ns, who.name,
					  err.msg);
			ps->entry = mine && body;
		}
		if (ep_status_sum(&who, ka->node, mine ? &part : NULL, now_real_ns,
				  EP_STALE_INTERVALS * iv, &in) < 0)
			continue;
		body = ep_status_build(&who, &in, &err);
		if (!body) {
			ka_note(ka, LOG_DEBUG, "kubernetes: EnergyPolicy %s/%s: %s", who.ns, who.name, err.msg);
			continue;
		}
		if (!mine && !had_entry && ep_status_current(&who, body)) {
			json_decref(body); /* already shows it: nothing to write */
			continue;
		}
		if (ka->writer) {
			/* an EnergyPolicy CRD older than status.display would refuse the whole
			 * status; the writer found the CRDs outdated (kube_writer_send.c) */
			struct kube_writer_stats kws;
			memset(&kws, 0, sizeof(kws));
			kube_writer_stats(ka->writer, &kws);
			if (kws.crd_outdated)
				json_object_del(json_object_get(body, "status"), "display");
		}
		offer_status_body(ka, &who, "sum", "wattlet", body);
	}
	uidtab_sweep(&ka->pst, ka->ticks, NULL, NULL);
}

/* PodEnergy status.energySource from the node's: a pod's energy is measured only when
 * no zone is estimated. */
static const char *pod_source(const struct agent_status *st)
{
	const char *s = st->energy_source;
	if (!s || strcmp(s, "none") == 0)
		return "none";
	if (strcmp(s, "meter") == 0 && !st->estimated_zones)
		return "measured";
	return "estimated";
}

/* A pod's state goes: its PodEnergy writes are forgotten too. */
static void pod_gone(void *rec, void *ud)
{
	struct kube_agent *ka = ud;
	const struct pod_state *ps = rec;

	if (ka->writer)
		kube_writer_forget_pod(ka->writer, ps->h.key);
}

void kube_agent_after_tick(struct kube_agent *ka, struct ledger *workloads, struct ledger *pods,
			   const struct agent_status *st, uint64_t now_real_ns, double dt_s)
{
	uint32_t zones = export_zones_present(ledger_node_c(workloads));
	const char *model = st->model_name ? st->model_name : MS_BUILTIN_NAME;
	uint64_t now_ms = now_real_ns / 1000000ull;

	(void)dt_s;
	ka->ticks++;
	ka->n_acc = 0;
	/* names of workload rows */
	for (size_t i = 0; i < ledger_count(workloads); i++) {
		struct ledger_row *r = (struct ledger_row *)ledger_row_at(workloads, i);
		const struct kube_container_info *ci;
		const struct kube_pod_info *pod;
		if (r->terminated || !(r->ident.container_id[0] || r->ident.pod_uid[0]))
			continue;
		pod = ka_pod_of_row(ka, r, &ci);
		if (pod) {
			ledger_row_set_names(r, pod->ns, pod->name, ci ? ci->name : NULL);
			ledger_row_set_owner(r, pod->owner_kind, pod->owner_name);
		}
	}
	/* pods: names, CO2e, budgets, PodEnergy */
	for (size_t i = 0; i < ledger_count(pods); i++) {
		struct ledger_row *p = (struct ledger_row *)ledger_row_at(pods, i);
		const struct kube_pod_info *pod;
		const struct energypolicy *pol;
		struct pod_state *ps;
		struct strbuf annot;

		if (p->terminated)
			continue;
		pod = kube_pods_find_pod(kube_kubelet_pods(ka->pods), p->key);
		if (!pod)
			continue; /* not known to the kubelet (yet): no PodEnergy without an owner */
		ledger_row_set_names(p, pod->ns, pod->name, NULL);
		ledger_row_set_owner(p, pod->owner_kind, pod->owner_name);
		pol = policy_for_pod(ka->policies, pod->ns, pod->labels);
		if (pol && pol->has_carbon)
			p->co2e_g += ep_co2e_grams(uj_to_j(export_total_uj(p->tick_uj, zones)),
						   pol->carbon_g_per_kwh);
		ps = uidtab_get(&ka->ps, p->key);
		if (!ps)
			continue;
		ps->h.seen = ka->ticks;
		strbuf_init(&annot, 4096);
		check_budgets(ka, ps, pol, pod, now_ms, uj_to_j(export_total_uj(p->uj, zones)),
			      &annot);
		ka_throttle_step(ka, ps, pol, pod, p, zones, now_ms);
		offer_pod(ka, workloads, p, pod, pol, ps, zones, model, pod_source(st), now_real_ns,
			  annot.overflow ? NULL : annot.buf);
		strbuf_release(&annot);
		if (pol)
			acc_add(ka, pol, uj_to_j(export_total_uj(p->uj, zones)),
				pol->has_carbon ? p->co2e_g : 0, ps->thr_applied);
	}
	uidtab_sweep(&ka->ps, ka->ticks, pod_gone, ka);
	offer_node(ka, workloads, st, zones);
	offer_policies(ka, now_real_ns);
}
