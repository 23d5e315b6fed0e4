/* run.c - the sampling loops of `wattlet validate node` and `wattlet validate workload`.
 *
 * Window edges are aligned to the agent's ticks: an edge is the first moment the
 * agent's tick counter is seen to reach its target (polled every few ms near the
 * expected time), and the sampler reads the meter right then. The sampler's and the
 * agent's windows therefore cover the same ticks, offset only by the poll latency,
 * and consecutive windows share their edges, so offsets cancel over a run.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "validate.h"

#define POLL_MS 5
#define EARLY_MS 60     /* start polling this long before the expected edge */
#define EDGE_SLACK_S 10 /* give up when the agent does not tick for this long past due */

/* CPU counters read at a window edge, right after the meter */
struct edge_cpu {
	bool node_ok;                    /* busy_s and up_s were read */
	double busy_s, up_s;             /* validate_cpu_busy */
	double inst_s[VAGENT_MAX_KEYS];  /* each instance's CPU seconds; NAN unknown */
};

struct run {
	const struct validate_opts *o;
	struct meter *m;
	struct vagent *ag;
	struct vtarget *t;               /* workload: reads the instances' CPU itself */
	struct edge_cpu ecur, eprev;
	uint64_t target_ticks;   /* next edge's tick count */
	uint64_t ticks_per_window;
	uint64_t last_edge_ns;
	double tick_s;
	const char *keys[VAGENT_MAX_KEYS];
	size_t n_keys;
	struct vagent_snapshot first, prev, cur;
	struct meter_delta md;   /* sampler delta of the window ending at cur */
};

static void progress(const struct validate_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void progress(const struct validate_opts *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!o->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->progress(o->progress_ctx, msg);
}

static bool stopped(const struct validate_opts *o)
{
	return o->stop && *o->stop;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Sleeps until mono time `until`, in slices, returning -EINTR on a stop request. */
static int sleep_until(const struct validate_opts *o, uint64_t until)
{
	for (;;) {
		uint64_t now = mono_ns();
		if (stopped(o))
			return -EINTR;
		if (now >= until)
			return 0;
		sleep_ms((until - now) / 1000000 > 50 ? 50 : (until - now + 999999) / 1000000);
	}
}

/* Waits ns from now: 0, or -EINTR ("interrupted" in err) when stopped first. */
static int settle_for(const struct validate_opts *o, uint64_t ns, struct wl_err *err)
{
	int rc = sleep_until(o, mono_ns() + ns);

	if (rc)
		err_set(err, EINTR, "interrupted");
	return rc;
}

/* Waits for the agent to reach r->target_ticks, then reads the meter. r->prev gets the
 * old r->cur. */
static int edge(struct run *r, struct wl_err *err)
{
	const struct validate_opts *o = r->o;
	uint64_t due = r->last_edge_ns + (uint64_t)(r->ticks_per_window * r->tick_s * 1e9);
	uint64_t give_up = due + EDGE_SLACK_S * 1000000000ull;
	struct vagent_snapshot s;
	int rc;

	if (r->last_edge_ns && due > EARLY_MS * 1000000ull) {
		rc = sleep_until(o, due - EARLY_MS * 1000000ull);
		if (rc)
			return err_set(err, EINTR, "interrupted");
	}
	for (;;) {
		if (stopped(o))
			return err_set(err, EINTR, "interrupted");
		rc = vagent_fetch(r->ag, r->keys, r->n_keys, &s, err);
		if (rc)
			return rc;
		if (s.ticks >= r->target_ticks)
			break;
		if (r->last_edge_ns && mono_ns() > give_up)
			return err_set(err, ETIMEDOUT, "the agent did not tick for %d s past the "
				       "expected time (ticks stuck at %llu)", EDGE_SLACK_S,
				       (unsigned long long)s.ticks);
		sleep_ms(POLL_MS);
	}
	rc = meter_read(r->m, &r->md);
	if (rc)
		return err_set(err, -rc, "the sampler could not read the meter: %s", strerror(-rc));
	r->eprev = r->ecur;
	r->ecur.node_ok = validate_cpu_busy(o->meter.proc_root, &r->ecur.busy_s,
					    &r->ecur.up_s) == 0;
	for (size_t k = 0; k < r->n_keys; k++) {
		double v = NAN;
		if (r->t && r->t->ops->cpu_s) {
			if (r->t->ops->cpu_s(r->t->impl, (int)k + 1, &v) != 0)
				v = NAN;
		} else if (s.found[k]) {
			v = s.cpu_s[k];
		}
		r->ecur.inst_s[k] = v;
	}
	r->last_edge_ns = mono_ns();
	r->prev = r->cur;
	r->cur = s;
	r->target_ticks = s.ticks + r->ticks_per_window;
	return 0;
}

static int run_open(struct run *r, const struct validate_opts *o, struct validate_report *rep,
		    struct wl_err *err)
{
	struct meter_probe probe[METER_KIND_COUNT];
	int rc;

	memset(r, 0, sizeof(*r));
	r->o = o;
	validate_checks_host(&rep->checks, NULL);
	memset(probe, 0, sizeof(probe));
	r->m = meter_open(&o->meter, probe);
	if (!r->m) {
		char why[400] = "";
		for (int k = 0; k < METER_KIND_COUNT; k++) {
			size_t len = strlen(why);
			if (probe[k].tried && len + 8 < sizeof(why))
				snprintf(why + len, sizeof(why) - len, "%s%s: %s", len ? "; " : "",
					 meter_kind_name(probe[k].kind), probe[k].reason);
		}
		return err_set(err, ENODEV, "the sampler found no energy meter (%s)", why);
	}
	validate_checks_meter(&rep->checks, r->m, o->meter.powercap_root);
	r->ag = vagent_new(o->url, err);
	if (!r->ag)
		return -ENOMEM;
	rc = vagent_fetch(r->ag, NULL, 0, &r->cur, err);
	if (rc)
		return rc;
	r->first = r->cur;
	r->tick_s = r->cur.tick_s;
	r->ticks_per_window = (uint64_t)llround(o->sample_ms / 1e3 / r->tick_s);
	if (r->ticks_per_window < 1)
		r->ticks_per_window = 1;
	rep->checks.agent_meter_matches = strcmp(r->cur.meter, rep->checks.meter) == 0;
	progress(o, "sampler: %s meter (%s)%s; agent: %s meter, tick %.3g s", rep->checks.meter,
		 rep->checks.meter_detail, rep->checks.simulated ? " [SIMULATED]" : "",
		 r->cur.meter, r->tick_s);
	return 0;
}

/* Closes what run_open() opened (again harmless). */
static void run_release(struct run *r)
{
	vagent_free(r->ag);
	meter_close(r->m);
	r->ag = NULL;
	r->m = NULL;
}

static void run_close(struct run *r, struct validate_report *rep)
{
	if (r->cur.meter_resets > r->first.meter_resets)
		rep->checks.agent_resets = r->cur.meter_resets - r->first.meter_resets;
	if (r->cur.meter_errors > r->first.meter_errors)
		rep->checks.agent_errors = r->cur.meter_errors - r->first.meter_errors;
	validate_checks_finish(&rep->checks);
	run_release(r);
	rep->timestamp_s = real_ns() / 1e9;
}

/* A run that ended without a verdict: what it opened is closed, the report says why. */
static void run_failed(struct run *r, struct validate_report *rep, const struct wl_err *err)
{
	run_release(r);
	rep->verdict = VERDICT_ERROR;
	snprintf(rep->reason, sizeof(rep->reason), "%s", err ? err->msg : "error");
	rep->timestamp_s = real_ns() / 1e9;
}

/* The end of either run: judged by judge when it completed (rc 0), else failed. */
static void run_end(struct run *r, struct validate_report *rep, int rc, const struct wl_err *err,
		    void (*judge)(struct validate_report *))
{
	if (rc) {
		run_failed(r, rep, err);
		return;
	}
	run_close(r, rep);
	judge(rep);
}

/* The first edge of a phase: aligns to the next tick; its meter delta is discarded. */
static int phase_start(struct run *r, struct wl_err *err)
{
	int rc;

	r->target_ticks = r->cur.ticks + 1;
	r->last_edge_ns = 0;
	rc = edge(r, err);
	return rc;
}

static double window_s(const struct run *r)
{
	return r->md.dt_ns / 1e9;
}

void validate_opts_default(struct validate_opts *o)
{
	if (!o)
		return;
	memset(o, 0, sizeof(*o));
	o->url = "http://127.0.0.1:9102";
	o->samples = 5;
	o->sample_ms = 5000;
	o->settle_ms = 3000;
	o->steps = 3;
	o->zone = ZONE_PACKAGE;
	validate_thresholds_default(&o->thr);
}

static int check_opts(const struct validate_opts *o, struct wl_err *err)
{
	if (!o || !o->url)
		return err_set(err, EINVAL, "no options");
	if (o->samples < 2 || o->samples > VALIDATE_MAX_SAMPLES)
		return err_set(err, EINVAL, "samples must be 2..%d", VALIDATE_MAX_SAMPLES);
	if (o->sample_ms < 100)
		return err_set(err, EINVAL, "sample duration must be at least 100ms");
	return 0;
}

static void report_init(struct validate_report *r, const struct validate_opts *o, const char *kind)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->verdict = VERDICT_ERROR;
	r->samples = o ? o->samples : 0;
	r->sample_s = o ? o->sample_ms / 1e3 : 0;
	if (o)
		r->thr = o->thr;
	r->zone = o ? o->zone : ZONE_PACKAGE;
	r->baseline_cpu_util = -1;
}

/* The start of either run: rep reset for kind, r empty, the options checked. */
static int run_begin(struct run *r, const struct validate_opts *o, struct validate_report *rep,
		     const char *kind, struct wl_err *err)
{
	report_init(rep, o, kind);
	memset(r, 0, sizeof(*r));
	return check_opts(o, err);
}

int validate_node(const struct validate_opts *o, struct validate_report *rep, struct wl_err *err)
{
	struct run r;
	double *sw = NULL, *aw = NULL;
	uint32_t mask;
	int rc;

	rc = run_begin(&r, o, rep, "node", err);
	if (rc)
		goto cleanup;
	rc = run_open(&r, o, rep, err);
	if (rc)
		goto cleanup;
	sw = calloc(o->samples * ZONE_COUNT, sizeof(*sw));
	aw = calloc(o->samples * ZONE_COUNT, sizeof(*aw));
	if (!sw || !aw) {
		rc = err_set(err, ENOMEM, "out of memory");
		goto cleanup;
	}
	rc = phase_start(&r, err);
	if (rc)
		goto cleanup;
	mask = meter_zone_mask(r.m) & r.cur.zone_mask;
	for (size_t i = 0; i < o->samples; i++) {
		double dt;
		rc = edge(&r, err);
		if (rc)
			goto cleanup;
		dt = window_s(&r);
		validate_checks_window(&rep->checks, &r.md, dt, o->meter.max_watts);
		mask &= r.md.zone_mask & r.cur.zone_mask;
		for (int z = 0; z < ZONE_COUNT; z++) {
			double sj = r.md.uj[z] / 1e6, aj = r.cur.node_j[z] - r.prev.node_j[z];
			rep->zones[z].sampler_j += sj;
			rep->zones[z].agent_j += aj;
			sw[i * ZONE_COUNT + z] = dt > 0 ? sj / dt : 0;
			aw[i * ZONE_COUNT + z] = dt > 0 ? aj / dt : 0;
		}
		progress(o, "sample %zu/%zu (%.2f s): package sampler %.3f W, agent %.3f W", i + 1,
			 o->samples, dt, sw[i * ZONE_COUNT + ZONE_PACKAGE],
			 aw[i * ZONE_COUNT + ZONE_PACKAGE]);
	}
	rep->zone_mask = mask;
	for (int z = 0; z < ZONE_COUNT; z++) {
		double x[VALIDATE_MAX_SAMPLES];
		struct vzone_result *zr = &rep->zones[z];
		if (!(mask & (1u << z)))
			continue;
		for (size_t i = 0; i < o->samples; i++)
			x[i] = sw[i * ZONE_COUNT + z];
		vstats_compute(x, o->samples, &zr->sampler_w);
		for (size_t i = 0; i < o->samples; i++)
			x[i] = aw[i * ZONE_COUNT + z];
		vstats_compute(x, o->samples, &zr->agent_w);
		zr->deviation_pct = validate_deviation_pct(zr->agent_j, zr->sampler_j);
	}
cleanup:
	run_end(&r, rep, rc, err, validate_judge_node);
	free(sw);
	free(aw);
	return rc;
}

/* Samples one phase: N windows into w (w->n_inst = n_inst instances running), then
 * adds it to the report (validate_workload_phase). */
static int sample_phase(struct run *r, struct validate_report *rep, const char *name,
			int n_inst, struct vwindows *w, struct wl_err *err)
{
	const struct validate_opts *o = r->o;
	struct vtarget *t = r->t;
	enum zone z = o->zone;
	int rc = phase_start(r, err);

	if (rc)
		return rc;
	for (int k = 0; k < n_inst; k++)
		if (!r->cur.found[k])
			return err_set(err, ENOENT, "the agent does not report workload %s (is "
				       "cgroup.containers_only set, or does it read another cgroup "
				       "hierarchy?)", r->keys[k]);
	w->n = o->samples;
	w->n_inst = n_inst;
	for (size_t i = 0; i < o->samples; i++) {
		double dt, up, inst_cpu = 0;
		rc = edge(r, err);
		if (rc)
			return rc;
		dt = window_s(r);
		validate_checks_window(&rep->checks, &r->md, dt, o->meter.max_watts);
		if (!(r->md.zone_mask & (1u << z)))
			return err_set(err, ENODEV, "the meter does not measure zone %s",
				       zone_name(z));
		w->node_w[i] = dt > 0 ? r->md.uj[z] / 1e6 / dt : 0;
		up = r->ecur.up_s - r->eprev.up_s;
		for (int k = 0; k < n_inst; k++) {
			double c = r->ecur.inst_s[k] - r->eprev.inst_s[k];
			if (!r->cur.found[k] || !r->prev.found[k])
				return err_set(err, ENOENT, "workload %s vanished from the agent",
					       r->keys[k]);
			w->y[VW_INST_W + k][i] =
				dt > 0 ? (r->cur.dyn_j[k][z] - r->prev.dyn_j[k][z]) / dt : 0;
			w->y[VW_INST_CPU + k][i] = up > 0 ? c / up : NAN;
			inst_cpu += c;
			if (t && t->ops->alive && !t->ops->alive(t->impl, k + 1))
				return err_set(err, ECHILD, "instance %d (%s) exited during the "
					       "measurement", k + 1, r->keys[k]);
		}
		/* node busy CPU minus the instances': NAN (rule not applied) when unknown */
		w->y[VW_OTHER][i] = r->ecur.node_ok && r->eprev.node_ok && up > 0 ?
					    (r->ecur.busy_s - r->eprev.busy_s - inst_cpu) / up : NAN;
		progress(o, "%s: sample %zu/%zu (%.2f s): node %s %.3f W, other CPU %.3f cores",
			 name, i + 1, o->samples, dt, zone_name(z), w->node_w[i], w->y[VW_OTHER][i]);
	}
	rc = validate_workload_phase(rep, n_inst, w);
	if (rc)
		return err_set(err, -rc, "%s: the windows could not be evaluated", name);
	if (w->n < o->samples)
		progress(o, "%s: %zu window(s) left out as outliers (a burst of other activity)",
			 name, o->samples - w->n);
	return 0;
}

int validate_workload(const struct validate_opts *o, struct vtarget *t,
		      struct validate_report *rep, struct wl_err *err)
{
	static const size_t KEYCAP = sizeof(((struct vstep_result *)0)->key);
	struct run r;
	struct vwindows *w = NULL;
	char name[32];
	int rc;

	rc = run_begin(&r, o, rep, "workload", err);
	if (rc)
		goto cleanup;
	if (!t || !t->ops || o->steps < 1 || o->steps > VALIDATE_MAX_STEPS ||
	    o->steps > VAGENT_MAX_KEYS) {
		rc = err_set(err, EINVAL, "steps must be 1..%d and a target is needed",
			     VALIDATE_MAX_STEPS < VAGENT_MAX_KEYS ? VALIDATE_MAX_STEPS : VAGENT_MAX_KEYS);
		goto cleanup;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		rc = err_set(err, ENOMEM, "out of memory");
		goto cleanup;
	}
	if (t->ops->prepare) {
		progress(o, "bringing the workload to 0 instances for the baseline");
		rc = t->ops->prepare(t->impl, err);
		if (rc)
			goto cleanup;
		/* what stopping the instances set off (container teardown) must not be
		 * measured as the baseline */
		progress(o, "settling %.3g s before the baseline", o->settle_ms / 1e3);
		rc = settle_for(o, o->settle_ms * 1000000ull, err);
		if (rc)
			goto cleanup;
	}
	rc = run_open(&r, o, rep, err);
	if (rc)
		goto cleanup;
	r.t = t;

	progress(o, "baseline: %zu samples of %.3g s with no workload", o->samples,
		 o->sample_ms / 1e3);
	{
		uint64_t b0 = 0, t0 = 0, b1 = 0, t1 = 0;
		int j0 = validate_cpu_jiffies(o->meter.proc_root, &b0, &t0);
		rc = sample_phase(&r, rep, "baseline", 0, w, err);
		if (rc)
			goto cleanup;
		if (j0 == 0 && validate_cpu_jiffies(o->meter.proc_root, &b1, &t1) == 0 && t1 > t0)
			rep->baseline_cpu_util = (double)(b1 - b0) / (double)(t1 - t0);
	}
	progress(o, "baseline: %.3f W +- %.3f W (95 %% CI), CPUs %.0f %% busy, other CPU %.3f "
		 "cores (drift %+.3f)", rep->baseline_w.mean, rep->baseline_w.ci95,
		 rep->baseline_cpu_util * 100, rep->baseline_other.cores.mean,
		 rep->baseline_other.drift);

	for (int k = 1; k <= o->steps; k++) {
		struct vstep_result *s = &rep->steps[k - 1];
		double settle;

		s->step = k;
		rc = t->ops->scale_up(t->impl, k, s->key, KEYCAP, err);
		if (rc)
			goto cleanup;
		r.keys[k - 1] = s->key;
		r.n_keys = (size_t)k;
		rep->n_steps = k;
		settle = o->settle_ms / 1e3;
		if (settle < 2 * r.tick_s)
			settle = 2 * r.tick_s; /* the agent must have seen a whole tick of it */
		progress(o, "step %d: started instance %s; settling %.3g s", k, s->key, settle);
		rc = settle_for(o, (uint64_t)(settle * 1e9), err);
		if (rc)
			goto cleanup;
		snprintf(name, sizeof(name), "step %d", k);
		rc = sample_phase(&r, rep, name, k, w, err);
		if (rc)
			goto cleanup;
		progress(o, "step %d: node %.3f W, delta %.3f W +- %.3f, wattlet %.3f W, "
			 "deviation %.2f %% +- %.2f; instance CPU %.3f cores, other CPU %.3f cores "
			 "(change %+.3f, drift %+.3f, limit %.4f)", k, s->node_w.mean, s->delta_w,
			 s->delta_ci95, s->wattlet_w.mean, s->deviation_pct, s->deviation_ci95,
			 s->cpu.mean, s->other.cores.mean, s->other_change, s->other.drift,
			 s->other_limit);
	}
cleanup:
	run_end(&r, rep, rc, err, validate_judge_workload);
	free(w);
	return rc;
}
