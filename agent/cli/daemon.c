/* daemon.c - see daemon.h. */
#include "../common/caps.h"
#include "daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "../attrib/attrib.h"
#include "../cgroup/cgroup.h"
#include "../common/strbuf.h"
#include "../export/export.h"
#include "../export/http.h"
#include "../export/metrics_cache.h"
#include "../export/ui.h"
#include "../kube/kube_agent.h"
#include "../ledger/ledger.h"
#include "../meter/meter.h"
#include "../model/idle.h"
#include "../model/powermodel.h"
#include "../model/record.h"
#include "../pipeline/tick.h"
#include "../usage/usage.h"
#include "../validate/validate.h"
#include "http_guard.h"
#include "gpu_stage.h"
#include "redfish_stage.h"
#include "log.h"

/* Set by the signal handler; the daemon's only process-wide mutable state. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct agent {
	const struct config *cfg;
	struct cg_layout layout;
	struct meter *meter;
	struct usage *usage;
	struct attrib *attrib;
	struct ledger *ledger;
	struct ledger *pods;  /* per-pod aggregates, keyed by pod uid */
	char pods_ckpt[PATH_MAX + 8];
	struct idle_est *idle[ZONE_COUNT];
	double class_idle[ZONE_COUNT]; /* the hardware class's idle (< 0: none) */
	const char *idle_logged[ZONE_COUNT]; /* idle source last logged per zone */
	struct http_server *http;
	struct http_guard *auth; /* http.auth: kubernetes */
	struct metrics_cache *mcache; /* /metrics, rendered once per tick */
	struct ui_frame *ui;     /* /ui's WebSocket frame (http.ui), else NULL */
	bool ui_failing;         /* the last frame did not render (logged once) */
	struct http_stats http_stats; /* st.http points here while rendering */
	struct kube_agent *kube; /* NULL outside Kubernetes */
	struct gpu_stage *gpu;   /* NULL without NVIDIA GPUs (gpu_stage.h) */
	struct redfish_stage *redfish; /* NULL without redfish.endpoint (redfish_stage.h) */
	struct agent_status st;
	struct export_kube_writes kube_writes; /* st.kube_writes points here with Kubernetes */
	char hostname[256];
	char meter_detail[1024];
	long ncpu;
	uint64_t last_ckpt_ns;
	bool ckpt_failing;
	struct strbuf scratch;
	struct powermodel model; /* in use; valid when have_model */
	bool have_model;
	struct powermodel file_model; /* model.file, the fallback when the API selects none */
	bool have_file_model;
	struct rec_writer *rec;  /* --record */
	bool rec_failing;
	/* --record with NVML or Redfish: the meter's reading waits for their zones */
	struct meter_delta rec_md;
	bool rec_pending, rec_metered;
	struct validate_watch vwatch; /* validate.result_file */
	struct meter_watch mwatch;    /* probing again while there is no meter */
	uint32_t meter_err_zones;     /* zones whose last read failed (logged once) */
};

static void self_usage(struct agent_status *st)
{
	struct rusage ru;
	long pages = 0, rss = 0;
	FILE *f;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		st->self_cpu_seconds = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
				       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) == 2)
			st->self_rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
}

/* metrics_cache before_render: the agent's own numbers as of this render */
static void metrics_status(void *ctx)
{
	struct agent *a = ctx;
	struct metrics_cache_stats ms;

	self_usage(&a->st);
	http_server_stats(a->http, &a->http_stats);
	a->st.http = a->http ? &a->http_stats : NULL;
	metrics_cache_get_stats(a->mcache, &ms);
	a->st.metrics_cached = a->mcache != NULL;
	a->st.metrics_renders_tick = ms.renders - ms.renders_lazy;
	a->st.metrics_renders_scrape = ms.renders_lazy;
}

static int http_handler(void *ctx, const char *path, struct strbuf *body, const char **ctype)
{
	struct agent *a = ctx;
	int rc;

	if (strcmp(path, "/metrics") == 0) {
		const char *enc = NULL;
		rc = metrics_cache_serve(a->mcache, a->ledger, &a->st,
					 http_request_accepts_gzip(a->http), mono_ns(), body, &enc);
		http_response_set_encoding(a->http, enc);
		*ctype = "text/plain; version=0.0.4; charset=utf-8";
		return rc ? 500 : 200;
	}
	if (strcmp(path, "/api/v1/workloads") == 0) {
		self_usage(&a->st);
		rc = export_json_workloads(a->ledger, &a->st, body);
		*ctype = "application/json";
		return rc ? 500 : 200;
	}
	if (a->ui && (strcmp(path, "/ui") == 0 || strcmp(path, "/ui/") == 0)) {
		strbuf_add(body, ui_page_html, ui_page_html_len);
		*ctype = "text/html; charset=utf-8";
		return 200;
	}
	if (strcmp(path, "/healthz") == 0) {
		strbuf_adds(body, "ok\n");
		return 200;
	}
	if (strcmp(path, "/readyz") == 0) {
		strbuf_adds(body, a->st.ready ? "ready\n" : "not ready: no full tick yet\n");
		return a->st.ready ? 200 : 503;
	}
	if (strcmp(path, "/") == 0) {
		strbuf_adds(body, "wattlet " WATTLET_VERSION "\n/metrics\n/healthz\n/readyz\n"
				  "/api/v1/workloads\n");
		if (a->ui)
			strbuf_adds(body, "/ui\n");
		return 200;
	}
	strbuf_addf(body, "not found: %s\n", path);
	return 404;
}

static void checkpoint(struct agent *a, uint64_t now)
{
	struct wl_err err = { "" };
	const struct config *c = a->cfg;

	if (!c->checkpoint_path[0])
		return;
	for (int z = 0; z < ZONE_COUNT; z++) {
		double w;
		enum idle_source src;
		if (a->idle[z] && idle_est_get(a->idle[z], &w, &src) == 0 &&
		    (src == IDLE_SRC_FIT || src == IDLE_SRC_LOW || src == IDLE_SRC_SEED))
			ledger_node(a->ledger)->learned_idle_w[z] = w;
	}
	a->last_ckpt_ns = now;
	if (ledger_save(a->ledger, c->checkpoint_path, &err) != 0 ||
	    ledger_save(a->pods, a->pods_ckpt, &err) != 0) {
		a->st.checkpoint_errors++;
		/* log the first failure and the recovery, not every tick */
		if (!a->ckpt_failing)
			log_error("%s; totals are kept in memory and the write is retried", err.msg);
		a->ckpt_failing = true;
		return;
	}
	a->st.checkpoint_writes++;
	if (a->ckpt_failing)
		log_info("checkpoint %s written again", c->checkpoint_path);
	a->ckpt_failing = false;
}

/* Puts a model in use (NULL: the built-in ratio model) and updates the status. */
static void set_model(struct agent *a, const struct powermodel *m)
{
	if (m && m != &a->model)
		a->model = *m;
	a->have_model = m != NULL;
	a->st.model_name = a->have_model ? a->model.name : "builtin-ratio";
	a->st.estimated_zones = a->have_model ? pm_estimated_mask(&a->model) : 0;
	/* NVML and the BMC measure too: zones gpu and platform */
	bool measured = a->meter || a->gpu || a->redfish;
	a->st.energy_source = measured ? (a->st.estimated_zones ? "meter+model" : "meter")
				       : (a->st.estimated_zones ? "model" : "none");
}

static void meter_opts_from(const struct config *c, struct meter_opts *mo);

static void zone_list(uint32_t mask, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int z = 0; z < ZONE_COUNT && len < cap; z++)
		if (mask & (1u << z)) {
			int n = snprintf(buf + len, cap - len, "%s%s", len ? "," : "", zone_name(z));
			if (n < 0)
				break;
			len += (size_t)n;
		}
}

/* While no meter is in use, probes again every meter.reprobe_interval (a RAPL driver
 * loaded late, a simulated meter started after the agent). Returns true when one
 * appeared: its first read is a baseline, no energy from before is invented. */
static bool meter_reprobe(struct agent *a)
{
	struct meter_probe probe[METER_KIND_COUNT];
	struct meter_opts mo;
	char zones[128];

	meter_opts_from(a->cfg, &mo);
	a->meter = meter_watch_poll(&a->mwatch, &mo, mono_ns(), probe);
	if (!a->meter)
		return false;
	meter_describe(a->meter, a->meter_detail, sizeof(a->meter_detail));
	zone_list(meter_zone_mask(a->meter), zones, sizeof(zones));
	log_info("meter appeared: %s, zones %s: %s (probe %" PRIu64 "; energy counted from its "
		 "first reading on)", meter_kind_name(meter_get_kind(a->meter)), zones,
		 a->meter_detail, a->mwatch.probes);
	a->st.meter = meter_kind_name(meter_get_kind(a->meter));
	a->st.meter_detail = a->meter_detail;
	a->meter_err_zones = 0;
	set_model(a, a->have_model ? &a->model : NULL);
	if (a->kube)
		kube_agent_set_meters(a->kube, probe, METER_KIND_COUNT);
	return true;
}

/* Logs zones whose reads start failing (with the reason) and those that recover. */
static void meter_log_errors(struct agent *a, uint32_t err_mask)
{
	uint32_t fresh = err_mask & ~a->meter_err_zones, back = a->meter_err_zones & ~err_mask;
	char why[1024], zones[128];

	if (fresh) {
		meter_describe_errors(a->meter, fresh, why, sizeof(why));
		log_warn("meter: read failed: %s; those zones report no energy until they read "
			 "again (the gap is then counted, bounded by meter.max_watts)", why);
	}
	if (back) {
		zone_list(back, zones, sizeof(zones));
		log_info("meter: zone %s reads again", zones);
	}
	a->meter_err_zones = err_mask;
}

/* Hook: after the meter read; logs errors and resets, and gives up a vanished meter. */
static void tick_meter_read(void *ctx, int rc, const struct meter_delta *md)
{
	struct agent *a = ctx;
	const struct config *c = a->cfg;

	if (rc)
		log_warn("meter read failed: %s", strerror(-rc));
	meter_log_errors(a, md->error_mask);
	for (int z = 0; z < ZONE_COUNT; z++)
		if (md->reset_mask & (1u << z))
			log_warn("meter: counter reset detected in zone %s", zone_name(z));
	if (meter_zone_mask(a->meter) != 0)
		return;
	/* every domain vanished (driver unloaded) */
	log_warn("meter %s: every domain is gone; no meter in use, probing again every "
		 "%.1f s (meter.reprobe_interval)", a->st.meter, c->meter_reprobe_ms / 1e3);
	meter_close(a->meter);
	a->meter = NULL;
	a->meter_err_zones = 0;
	a->meter_detail[0] = '\0';
	a->st.meter = "none";
	a->st.meter_detail = a->meter_detail;
	set_model(a, a->have_model ? &a->model : NULL);
	if (a->kube) /* NodeEnergy no longer lists it as in use */
		kube_agent_set_meters(a->kube, NULL, 0);
	meter_watch_init(&a->mwatch, c->meter_reprobe_ms * 1000000ull, mono_ns());
}

/* --record: one tick's line; md NULL: no meter. */
static void record_write(struct agent *a, const struct meter_delta *md,
			 const struct usage_sample *us)
{
	struct wl_err rerr = { "" };

	if (rec_write(a->rec, md, us, &rerr) != 0) {
		if (!a->rec_failing)
			log_error("%s; recording goes on being tried", rerr.msg);
		a->rec_failing = true;
	} else {
		a->rec_failing = false;
	}
}

/* Hook: --record writes the meter's reading and the usage of every tick. With NVML or
 * Redfish the line waits for tick_prepare_attrib, which adds their measured zones (gpu,
 * platform) - never a model's estimates. */
static void tick_record(void *ctx, const struct meter_delta *md, const struct usage_sample *us)
{
	struct agent *a = ctx;

	if (!a->rec)
		return;
	if (a->gpu || a->redfish) {
		a->rec_pending = true;
		a->rec_metered = md != NULL;
		if (md)
			a->rec_md = *md;
		return;
	}
	record_write(a, md, us);
}

/* The pending --record line with the zones the GPU and Redfish stages measured. */
static void record_measured_zones(struct agent *a, const struct usage_sample *us,
				  const struct meter_delta *e)
{
	struct meter_delta m = a->rec_md;
	uint32_t zones = (a->gpu ? 1u << ZONE_GPU : 0) | (a->redfish ? 1u << ZONE_PLATFORM : 0);

	a->rec_pending = false;
	if (!a->rec_metered) {
		memset(&m, 0, sizeof(m));
		m.t_ns = e->t_ns;
		m.dt_ns = e->dt_ns;
	}
	for (int z = 0; z < ZONE_COUNT; z++) {
		uint32_t b = 1u << z;
		if (!(zones & b) || !(e->zone_mask & b))
			continue;
		m.uj[z] = e->uj[z];
		m.zone_mask |= b;
		m.error_mask = (m.error_mask & ~b) | (e->error_mask & b);
		m.reset_mask &= ~b;
	}
	record_write(a, m.zone_mask ? &m : NULL, us);
}

/* Hook: the PowerModel in use; the cluster's selection replaces it live. */
static const struct powermodel *tick_model(void *ctx)
{
	struct agent *a = ctx;
	const struct powermodel *km;
	const char *kname;

	if (a->kube && kube_agent_model(a->kube, &km, &kname)) {
		set_model(a, km ? km : (a->have_file_model ? &a->file_model : NULL));
		log_info("model: now %s (live, from the cluster)", a->st.model_name);
	}
	return a->have_model ? &a->model : NULL;
}

static void tick_prepare_attrib(void *ctx, const struct usage_sample *us, struct attrib_input *in)
{
	struct agent *a = ctx;

	if (a->kube)
		kube_agent_prepare_attrib(a->kube, a->ledger, us, in);
	gpu_stage_tick(a->gpu, us, in, &a->st); /* zone gpu: NVML energy and weights */
	redfish_stage_tick(a->redfish, us, in, &a->st, a->ncpu); /* zone platform: the BMC */
	if (a->rec && a->rec_pending)
		record_measured_zones(a, us, in->energy);
	if (a->kube && a->redfish) { /* NodeEnergy status.meters: fresh or stale, and why */
		char why[200];
		bool fresh = redfish_stage_source(a->redfish, why, sizeof(why));
		kube_agent_set_source(a->kube, "redfish", fresh, why);
	}
}

/* Hook: after the ledgers: PodEnergy/NodeEnergy writes and their counters. */
static void tick_after_ledger(void *ctx, double dt)
{
	struct agent *a = ctx;

	if (!a->kube)
		return;
	kube_agent_after_tick(a->kube, a->ledger, a->pods, &a->st, real_ns(), dt);
	kube_agent_write_stats(a->kube, &a->kube_writes);
	a->st.kube_writes = &a->kube_writes;
}

static const struct tick_hooks tick_hooks = {
	.meter_read = tick_meter_read,
	.record = tick_record,
	.model = tick_model,
	.prepare_attrib = tick_prepare_attrib,
	.after_ledger = tick_after_ledger,
};

#define IDLE_FALLBACK_WARN_TICKS 60 /* a fallback this old is said plainly */

/* Logs a zone's idle source when it changes: a fallback (a guess from a node that was
 * never quiet) plainly and with what to do, once it has lasted IDLE_FALLBACK_WARN_TICKS. */
static void idle_source_log(struct agent *a)
{
	for (int z = 0; z < ZONE_COUNT; z++) {
		const char *s = a->st.idle_source[z];
		bool fb;

		if (!s || !a->idle[z] || (a->idle_logged[z] && strcmp(a->idle_logged[z], s) == 0))
			continue;
		fb = strcmp(s, "fallback") == 0;
		if (fb && a->st.ticks < IDLE_FALLBACK_WARN_TICKS)
			continue;
		if (fb)
			log_warn("idle %s: %.2f W is a FALLBACK guess: this node has not been quiet "
				 "(no spread of load to fit, no low-load samples), so its dynamic "
				 "energy is understated. Set model.idle_watts.%s, let the node idle "
				 "for a minute, or (Kubernetes) let a node of the same hardware class "
				 "publish its NodeClassIdle (docs/models.md)", zone_name(z),
				 a->st.idle_watts[z], zone_name(z));
		else if (a->idle_logged[z])
			log_info("idle %s: %.2f W, source %s (was %s)", zone_name(z),
				 a->st.idle_watts[z], s, a->idle_logged[z]);
		a->idle_logged[z] = s;
	}
}

/* One tick: the stages are in agent/pipeline/tick.c; here what is logged and the
 * checkpoint. */
static int tick(struct agent *a)
{
	const struct config *c = a->cfg;
	struct tick_report rep;
	uint64_t t0 = mono_ns();
	bool fresh = !a->meter && meter_reprobe(a); /* its first read is a baseline */
	struct tick_parts parts = {
		.cfg = c, .meter = a->meter, .meter_is_new = fresh, .usage = a->usage,
		.attrib = a->attrib, .ledger = a->ledger, .pods = a->pods, .idle = a->idle,
		.ncpu = a->ncpu, .start_ns = t0, .st = &a->st,
		.class_idle = a->kube ? a->class_idle : NULL,
	};
	if (a->kube && a->st.meter && strcmp(a->st.meter, "none") != 0)
		kube_agent_class_idle(a->kube, a->idle, a->st.meter, a->class_idle);
	int rc = tick_run(&parts, &tick_hooks, a, &rep);

	if (rep.stage == TICK_USAGE_FAILED)
		log_warn("usage read failed: %s; tick skipped", strerror(-rc));
	else if (rep.stage == TICK_ATTRIB_FAILED)
		log_error("attribution failed: %s; tick skipped", strerror(-rc));
	if (rep.stage != TICK_DONE)
		return rc;
	if (rep.ledger_rc)
		log_error("%s", rep.ledger_err.msg);
	idle_source_log(a);
	if (log_enabled(LOG_DEBUG)) {
		const struct ledger_node *node = ledger_node_c(a->ledger);
		log_debug("tick %" PRIu64 ": %zu workloads, package %.2f W (idle %.2f W), %.3f ms",
			  a->st.ticks, rep.workloads, node->watts[ZONE_PACKAGE][MODE_DYNAMIC] +
			  node->watts[ZONE_PACKAGE][MODE_IDLE], rep.idle_w[ZONE_PACKAGE],
			  a->st.last_tick_seconds * 1e3);
	}
	if (c->checkpoint_interval_ms &&
	    rep.t_ns - a->last_ckpt_ns >= c->checkpoint_interval_ms * 1000000ull)
		checkpoint(a, rep.t_ns);
	return 0;
}

/* Re-reads validate.result_file when it changed (`wattlet validate` wrote it). */
static void validation_reload(struct agent *a)
{
	struct wl_err err = { "" };
	int rc = validate_state_poll(a->cfg->validate_result_file, &a->vwatch, a->st.validation,
				     &err);

	if (rc == 1)
		log_info("validation results loaded from %s", a->cfg->validate_result_file);
	else if (rc < 0)
		log_warn("validation results: %s", err.msg);
}

static void meter_opts_from(const struct config *c, struct meter_opts *mo)
{
	memset(mo, 0, sizeof(*mo));
	memcpy(mo->order, c->meter_order, sizeof(mo->order));
	mo->n_order = c->meter_n_order;
	mo->sysfs_root = c->sysfs_root;
	mo->powercap_root = c->powercap_root[0] ? c->powercap_root : NULL;
	mo->dev_root = c->dev_root;
	mo->max_watts = c->meter_max_watts;
}

/* Loads a checkpoint; ledger_load moves a bad one aside as PATH.bad-<time> and its
 * message says what was wrong, what was kept and where the file went. */
static void restore(struct ledger *l, const char *path, const char *what)
{
	struct wl_err err = { "" };
	struct ledger_load_info info;
	int rc = ledger_load(l, path, &info, &err);

	if (info.stale_tmps_removed)
		log_info("ledger: removed %zu temporary file(s) next to %s that a crash left behind",
			 info.stale_tmps_removed, path);
	if (rc == 0) {
		log_info("ledger: totals restored from %s (%zu %s)%s", path, ledger_count(l), what,
			 info.version == 1 ? "; format 1 without checksums, the next checkpoint "
					     "writes format 2" : "");
		return;
	}
	if (rc == -ENOENT) {
		log_info("ledger: no checkpoint at %s yet, starting from zero", path);
		return;
	}
	if (rc == -EBADMSG) {
		log_error("ledger: %s; totals partly restored (%zu %s)", err.msg, ledger_count(l), what);
		return;
	}
	log_error("ledger: %s; %s start from zero", err.msg, what);
}

static int agent_start(struct agent *a, const struct config *c, const struct daemon_opts *o)
{
	struct wl_err err = { "" };
	struct meter_probe probe[METER_KIND_COUNT];
	struct meter_opts mo;
	struct usage_opts uo = { 0 };
	struct usage_probe up = { 0 };
	size_t window;

	a->cfg = c;
	a->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	strbuf_init(&a->scratch, WL_CAP_SCRATCH);
	if (o && o->node_name)
		snprintf(a->hostname, sizeof(a->hostname), "%s", o->node_name);
	else if (gethostname(a->hostname, sizeof(a->hostname) - 1) != 0)
		snprintf(a->hostname, sizeof(a->hostname), "unknown");

	if (cg_layout_detect(c->cgroup_root, c->cgroup_hierarchy, &a->layout, &err)) {
		log_error("cgroups: %s", err.msg);
		return -1;
	}
	log_info("cgroups: %s layout, CPU time from %s", cg_mode_name(a->layout.mode),
		 a->layout.cpu_root);

	meter_opts_from(c, &mo);
	memset(probe, 0, sizeof(probe));
	a->meter = meter_open(&mo, probe);
	for (int k = 0; k < METER_KIND_COUNT; k++)
		if (probe[k].tried && !probe[k].chosen)
			log_info("meter %s: not used: %s", meter_kind_name(probe[k].kind), probe[k].reason);
	if (a->meter) {
		meter_describe(a->meter, a->meter_detail, sizeof(a->meter_detail));
		log_info("meter: %s: %s", meter_kind_name(meter_get_kind(a->meter)), a->meter_detail);
	} else if (!c->model_file[0]) {
		log_warn("no energy meter found: exporting usage only, energy is reported as absent. "
			 "Run `wattlet probe` for the reasons; on a simulated host start raplsim and set "
			 "meter.powercap_root");
	}
	/* no meter: look again every meter.reprobe_interval (0: never) */
	meter_watch_init(&a->mwatch, a->meter ? 0 : c->meter_reprobe_ms * 1000000ull, mono_ns());
	if (!a->meter && c->meter_reprobe_ms)
		log_info("meter: probing again every %.1f s while none is found "
			 "(meter.reprobe_interval)", c->meter_reprobe_ms / 1e3);
	if (c->model_file[0]) {
		if (pm_load_file(c->model_file, &a->file_model, &err) != 0) {
			log_error("model.file: %s", err.msg);
			return -1;
		}
		a->have_file_model = true;
		log_info("model: PowerModel %s from %s: attribution %s, estimated zones 0x%x",
			 a->file_model.name, c->model_file,
			 pm_attribution_name(a->file_model.attribution),
			 pm_estimated_mask(&a->file_model));
	}
	set_model(a, a->have_file_model ? &a->file_model : NULL);
	if (!a->meter && !a->st.estimated_zones && !c->redfish_endpoint[0])
		log_warn("NO ENERGY SOURCE: no meter and no PowerModel with estimated zones; exporting "
			 "usage only (wattlet_node_energy_source_info{source=\"none\"}). Apply a PowerModel "
			 "with estimated zones (fit one on a metered node of this hardware: wattlet run "
			 "--record FILE, wattlet model fit FILE) or run with --model FILE; see docs/models.md");
	if (o && o->record_path) {
		a->rec = rec_open(o->record_path, &err);
		if (!a->rec) {
			log_error("%s", err.msg);
			return -1;
		}
		log_info("recording energy and usage per tick to %s (for wattlet model fit)", o->record_path);
	}

	uo.layout = &a->layout;
	uo.source = c->usage_source;
	uo.max_cgroups = c->max_cgroups;
	uo.proc_root = c->proc_root;
	for (int z = 0; z < ZONE_COUNT; z++) /* task-clock is read only when a zone uses it */
		if (c->zone_feature[z] == FEAT_TASK_CLOCK ||
		    (a->have_file_model && a->file_model.zone[z].present &&
		     a->file_model.zone[z].feature == FEAT_TASK_CLOCK))
			uo.counter_features |= 1u << FEAT_TASK_CLOCK;
	a->usage = usage_open(&uo, &up, &err);
	if (!a->usage) {
		log_error("usage: %s", err.msg);
		return -1;
	}
	if (up.in_use != USAGE_EBPF)
		log_info("usage: eBPF not used: %s", up.ebpf_reason);
	log_info("usage: %s source; hardware counters: %s; %s", usage_source_name(up.in_use),
		 up.pmu_reason, up.task_clock_reason);
	if (gpu_stage_open(c, &a->layout, &a->gpu) != 0)
		return -1;
	if (redfish_stage_open(c, &a->redfish) != 0)
		return -1;
	if (a->gpu || a->redfish) /* they measure: the energy source is not "none" */
		set_model(a, a->have_model ? &a->model : NULL);
	if (!up.removed_ok) /* once, at start: short-lived cgroups count to system */
		log_warn("usage: %s", up.removed_reason);

	a->attrib = attrib_new();
	a->ledger = ledger_new(c->retention_ms * 1000000ull);
	a->pods = ledger_new(c->retention_ms * 1000000ull);
	if (!a->attrib || !a->ledger || !a->pods) {
		log_error("out of memory");
		return -1;
	}
	ledger_set_rows_share_node(a->pods, false); /* pod aggregates keep no node totals */
	if (c->checkpoint_path[0]) {
		snprintf(a->pods_ckpt, sizeof(a->pods_ckpt), "%s.pods", c->checkpoint_path);
		restore(a->ledger, c->checkpoint_path, "workloads");
		restore(a->pods, a->pods_ckpt, "pods");
	}

	window = (size_t)(c->idle_window_ms / (c->tick_ms ? c->tick_ms : 1000));
	if (window < 2)
		window = 2;
	for (int z = 0; z < ZONE_COUNT; z++) {
		a->st.idle_source[z] = "none";
		a->class_idle[z] = -1; /* none until the class object says */
		if (c->idle_watts[z] >= 0)
			continue;
		a->idle[z] = idle_est_new(window, c->idle_percentile, c->idle_low_util);
		if (!a->idle[z]) {
			log_error("out of memory for the idle model");
			return -1;
		}
		double seed = ledger_node_c(a->ledger)->learned_idle_w[z];
		if (seed >= 0)
			idle_est_seed(a->idle[z], seed);
	}

	if (kube_agent_wanted(c)) {
		a->kube = kube_agent_new(c, log_note, NULL, &err);
		if (!a->kube) {
			if (c->kube_enabled == KUBE_ON) {
				log_error("kubernetes: %s", err.msg);
				return -1;
			}
			log_warn("kubernetes: %s; running without Kubernetes (set kubernetes.enabled: "
				 "false to silence this)", err.msg);
		} else {
			/* NodeEnergy lists every meter probed and why it is not used */
			kube_agent_set_meters(a->kube, probe, METER_KIND_COUNT);
			if (a->gpu) /* and the other sources in use */
				kube_agent_set_source(a->kube, "nvml", true, gpu_stage_detail(a->gpu));
		}
	}
	if (c->listen[0]) {
		struct http_opts ho = { .max_connections = c->http_max_connections,
					.idle_timeout_ms = (unsigned)c->http_idle_timeout_ms,
					.tls_cert_file = c->http_tls_cert,
					.tls_key_file = c->http_tls_key };
		struct metrics_cache_opts mco = {
			.render = { .detail = c->metrics_detail, .kepler_compat = c->kepler_compat,
				    .no_workloads = !c->per_cgroup_metrics },
			.tick_ns = c->tick_ms * 1000000ull, .before_render = metrics_status, .ctx = a };
		if (c->http_ui) {
			ho.ws_path = "/ui/ws";
			ho.ws_protocol = UI_WS_PROTOCOL;
			ho.ws_max_clients = c->http_ui_max_clients;
			a->ui = ui_frame_new(c->http_ui_rows, &err);
			if (!a->ui) {
				log_error("http.ui_rows: %s", err.msg);
				return -1;
			}
		}
		if (c->http_auth == HTTP_AUTH_KUBE) {
			a->auth = http_guard_new(c, &err);
			if (!a->auth) {
				log_error("http.auth: kubernetes: %s", err.msg);
				return -1;
			}
			http_guard_opts(a->auth, &ho);
		}
		a->mcache = metrics_cache_new(&mco, &err);
		a->http = a->mcache ? http_server_new_opts(c->listen, &ho, http_handler, a, &err) : NULL;
		if (!a->http) {
			log_error("http: %s", err.msg);
			return -1;
		}
		http_guard_attach(a->auth, a->http);
		if (c->http_tls_cert[0])
			log_info("http: TLS with %s; %s", c->http_tls_cert,
				 a->auth ? "bearer tokens checked with TokenReview and "
					   "SubjectAccessReview (/healthz, /readyz open)" :
					   "no authentication (http.auth: none)");
		log_info("http: serving /metrics, /healthz, /readyz, /api/v1/workloads%s on %s (port %d, "
			 "at most %u connections)", a->ui ? ", /ui" : "",
			 c->listen, http_server_port(a->http), http_server_max_connections(a->http));
		if (a->ui) {
			struct http_stats hs;
			http_server_stats(a->http, &hs);
			log_info("http: /ui WebSocket /ui/ws: at most %u clients, %u workloads a frame",
				 hs.ws_max, c->http_ui_rows);
		}
		if (http_server_max_connections(a->http) < c->http_max_connections)
			log_warn("http: http.max_connections %u lowered to %u (a quarter of the open "
				 "files limit goes to HTTP)", c->http_max_connections,
				 http_server_max_connections(a->http));
	}

	a->st.version = WATTLET_VERSION;
	a->st.pods = a->pods;
	a->st.node_name = a->kube ? kube_agent_node(a->kube) : a->hostname;
	a->st.meter = a->meter ? meter_kind_name(meter_get_kind(a->meter)) : "none";
	a->st.meter_detail = a->meter ? a->meter_detail : "";
	a->st.usage_source = usage_source_name(up.in_use);
	a->st.cgroup_mode = cg_mode_name(a->layout.mode);
	a->st.start_time_s = real_ns() / 1000000000ull;
	a->st.tick_interval_s = c->tick_ms / 1e3;
	a->last_ckpt_ns = mono_ns();
	return 0;
}

static void agent_stop(struct agent *a)
{
	http_guard_free(a->auth); /* before the server its worker wakes */
	http_server_free(a->http);
	metrics_cache_free(a->mcache);
	ui_frame_free(a->ui);
	for (int z = 0; z < ZONE_COUNT; z++)
		idle_est_free(a->idle[z]);
	kube_agent_free(a->kube);
	ledger_free(a->ledger);
	ledger_free(a->pods);
	attrib_free(a->attrib);
	usage_close(a->usage);
	gpu_stage_free(a->gpu);
	redfish_stage_free(a->redfish);
	meter_close(a->meter);
	rec_close(a->rec);
	strbuf_release(&a->scratch);
}

/* After a tick: the node's watts into /ui's history; a frame for /ui's WebSocket
 * clients, rendered once and shared, only while someone watches. */
static void ui_publish(struct agent *a)
{
	const char *text;
	size_t len;
	int rc;

	if (!a->ui)
		return;
	ui_frame_record(a->ui, a->ledger, &a->st);
	if (!http_server_ws_clients(a->http))
		return;
	rc = ui_frame_render(a->ui, a->ledger, &a->st);
	text = ui_frame_text(a->ui, &len);
	if (!rc)
		rc = http_server_ws_publish(a->http, text, len);
	if (rc && !a->ui_failing)
		log_warn("http: /ui frame not sent: %s (retried every tick)",
			 strerror(-rc));
	else if (!rc && a->ui_failing)
		log_info("http: /ui frames sent again");
	a->ui_failing = rc != 0;
}

/* Serves HTTP (or sleeps) until the monotonic time `until` or a stop request. */
static void wait_until(struct agent *a, uint64_t until)
{
	for (;;) {
		uint64_t now = mono_ns();
		if (stop_requested || now >= until)
			return;
		int ms = (int)((until - now + 999999) / 1000000);
		if (a->kube) {
			/* watches and the kubelet poller are serviced without blocking,
			 * at least every 50 ms */
			kube_agent_service(a->kube);
			if (ms > 50)
				ms = 50;
			now = mono_ns();
			if (now >= until)
				return;
		}
		if (a->http) {
			if (http_server_service(a->http, ms) != 0)
				log_warn("http: event loop error");
		} else {
			uint64_t ns = a->kube ? (uint64_t)ms * 1000000ull : until - now;
			struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
			nanosleep(&ts, NULL);
		}
	}
}

int daemon_run(const struct config *c, const struct daemon_opts *o)
{
	struct agent a = { 0 };
	struct sigaction sa = { 0 };
	uint64_t period = c->tick_ms * 1000000ull, next, deadline = 0;
	int rc = 0;

	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (agent_start(&a, c, o) != 0) {
		agent_stop(&a);
		return 1;
	}
	if (c->test_bias != 0)
		log_warn("attribution.test_bias=%g: workload shares are DELIBERATELY WRONG (test only)",
			 c->test_bias);
	log_info("wattlet %s running: tick %" PRIu64 " ms, idle policy %s, checkpoint %s", WATTLET_VERSION,
		 c->tick_ms, idle_policy_name(c->idle_policy),
		 c->checkpoint_path[0] ? c->checkpoint_path : "(disabled)");

	next = mono_ns();
	if (o && o->duration_ms)
		deadline = next + o->duration_ms * 1000000ull;
	tick(&a); /* baseline */
	validation_reload(&a);
	while (!stop_requested) {
		next += period;
		if (deadline && next > deadline)
			next = deadline;
		wait_until(&a, next);
		if (stop_requested)
			break;
		tick(&a);
		validation_reload(&a);
		if (a.mcache) /* renders now only when a scrape is due (metrics_cache.h) */
			metrics_cache_tick(a.mcache, a.ledger, &a.st, mono_ns());
		ui_publish(&a);
		if (deadline && mono_ns() >= deadline)
			break;
		/* fell behind (suspend, long stall): resynchronise instead of bursting */
		if (mono_ns() > next + period)
			next = mono_ns();
	}
	self_usage(&a.st);
	log_info("stopping after %" PRIu64 " ticks (mean tick %.3f ms, agent CPU %.2f s, RSS %.1f MiB)",
		 a.st.ticks, a.st.ticks ? a.st.tick_seconds_sum / a.st.ticks * 1e3 : 0.0,
		 a.st.self_cpu_seconds, a.st.self_rss_bytes / 1048576.0);
	checkpoint(&a, mono_ns());
	if (a.ckpt_failing)
		rc = 1;
	agent_stop(&a);
	return rc;
}
