/* tick.c - see tick.h. */
#include "tick.h"

#include <string.h>

#include "../ledger/apply.h"
#include "../model/idlesel.h"

/* 1. Energy since the last read; errors and counter resets counted per zone. */
static void stage_meter(const struct tick_parts *p, const struct tick_hooks *h, void *ctx,
			struct meter_delta *md)
{
	int rc;

	if (!p->meter)
		return;
	rc = meter_read(p->meter, md);
	if (rc)
		md->zone_mask = 0;
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (md->error_mask & (1u << z))
			p->st->meter_errors++;
		if (md->reset_mask & (1u << z))
			p->st->meter_resets++;
	}
	if (h->meter_read)
		h->meter_read(ctx, rc, md);
}

/* 4. Idle power per zone, into the status and the attribution input. */
static void stage_idle(const struct tick_parts *p, const struct powermodel *m,
		       const struct meter_delta *md, double util, struct attrib_input *in)
{
	struct idle_pick pick;

	idle_select(p->idle, p->cfg->idle_watts, m, md, util,
		    p->st->ticks % IDLE_REFIT_EVERY == 0, &pick);
	if (p->class_idle)
		idle_apply_class(p->class_idle, &pick);
	for (int z = 0; z < ZONE_COUNT; z++) {
		in->idle_w[z] = pick.w[z];
		if (!pick.source[z])
			continue;
		p->st->idle_watts[z] = pick.w[z];
		p->st->idle_source[z] = pick.source[z];
	}
}

/* 5. The attribution input: energy, usage, idle, each zone's feature, the policy. */
static void stage_attrib_input(const struct tick_parts *p, const struct powermodel *m,
			       const struct meter_delta *md, const struct usage_sample *us,
			       struct attrib_input *in)
{
	const struct config *c = p->cfg;

	memcpy(in->zone_feature, c->zone_feature, sizeof(in->zone_feature));
	for (int z = 0; m && z < ZONE_COUNT; z++)
		if (m->zone[z].present)
			in->zone_feature[z] = m->zone[z].feature;
	if (m)
		pm_attrib_weights(m, &in->reg_mask, in->reg_w);
	in->energy = md;
	in->usage = us;
	in->idle_policy = c->idle_policy;
	in->containers_only = c->containers_only;
	in->test_bias = c->test_bias;
}

/* 7. The status counters of a full tick. */
static void stage_status(const struct tick_parts *p, const struct usage_sample *us)
{
	struct agent_status *st = p->st;

	st->ticks++;
	st->ready = true;
	st->usage_dropped = us->dropped;
	st->usage_vanished = us->vanished;
	st->last_tick_seconds = (mono_ns() - p->start_ns) / 1e9;
	st->tick_seconds_sum += st->last_tick_seconds;
}

int tick_run(const struct tick_parts *p, const struct tick_hooks *h, void *ctx,
	     struct tick_report *rep)
{
	struct meter_delta md = { 0 };
	struct usage_sample us = { 0 };
	struct attrib_input in = { 0 };
	struct attrib_result res;
	const struct powermodel *m = NULL;
	bool metered = p->meter && !p->meter_is_new;
	double util = 0;

	memset(rep, 0, sizeof(*rep));
	stage_meter(p, h, ctx, &md); /* energy and usage back to back: the same interval */
	rep->rc = usage_read(p->usage, &us);
	if (rep->rc) {
		rep->stage = TICK_USAGE_FAILED;
		return rep->rc;
	}
	if (!metered) {
		memset(&md, 0, sizeof(md));
		md.dt_ns = us.dt_ns;
	}
	if (us.dt_ns == 0 || md.dt_ns == 0) {
		rep->stage = TICK_BASELINE;
		return 0;
	}
	if (p->ncpu > 0)
		util = (double)us.node_delta[FEAT_CPU_TIME] / ((double)us.dt_ns * (double)p->ncpu);
	if (h->record) /* the meter's reading, never an estimate */
		h->record(ctx, metered ? &md : NULL, &us);
	if (h->model)
		m = h->model(ctx);
	if (m)
		pm_estimate(m, &us, &md);
	stage_idle(p, m, &md, util, &in);
	stage_attrib_input(p, m, &md, &us, &in);
	if (h->prepare_attrib)
		h->prepare_attrib(ctx, &us, &in);
	rep->rc = attrib_compute(p->attrib, &in, &res);
	if (rep->rc) {
		rep->stage = TICK_ATTRIB_FAILED;
		return rep->rc;
	}
	for (int z = 0; z < ZONE_COUNT; z++)
		p->st->zone_feature[z] = (in.ext_mask & (1u << z)) && in.ext_name[z] ?
					 in.ext_name[z] : feature_name(res.used_feature[z]);
	struct ledger_tick lt = { .usage = &us, .res = &res, .dt_s = md.dt_ns / 1e9,
				  .zone_mask = in.energy->zone_mask,
				  .platform_whole = in.energy->platform_whole };
	rep->ledger_rc = ledger_apply(p->ledger, p->pods, &lt, &rep->ledger_err);
	if (h->after_ledger)
		h->after_ledger(ctx, lt.dt_s);
	stage_status(p, &us);
	rep->stage = TICK_DONE;
	rep->t_ns = us.t_ns;
	rep->workloads = res.n;
	memcpy(rep->idle_w, in.idle_w, sizeof(rep->idle_w));
	return 0;
}
