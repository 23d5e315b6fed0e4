/* gpu_stage.c - see gpu_stage.h. */
#include "gpu_stage.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../meter/nvml.h"
#include "../model/idle.h"
#include "../usage/gpu.h"
#include "log.h"

#define IDLE_EVERY 10 /* ticks between idle re-estimates, as for the other zones */

struct gpu_stage {
	const struct config *cfg;
	struct nvml *nv;
	struct gpu_map *map;
	struct idle_est *idle[NVML_MAX_GPUS];
	bool failing[NVML_MAX_GPUS]; /* logged as failing */
	uint64_t prev_t[NVML_MAX_GPUS];
	uint64_t ticks, dropped_logged;
	uint64_t *w;            /* per usage entry */
	size_t w_cap;
	int *handle;            /* per process of the GPU being split */
	struct gpu_split_proc *sp;
	size_t sp_cap;
	unsigned mig_sms[NVML_MAX_MIG];
	char detail[512];
	struct meter_delta md; /* the tick's energy with zone gpu added (in->energy) */
};

static void nvml_opts_from(const struct config *c, struct nvml_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->library = c->gpu_library;
	o->max_watts = c->meter_max_watts;
}

int gpu_stage_open(const struct config *c, const struct cg_layout *layout,
		   struct gpu_stage **out)
{
	struct nvml_opts no;
	struct nvml_probe np;
	struct gpu_map_opts mo = { 0 };
	struct wl_err err = { "" };
	struct gpu_stage *g;
	size_t window;

	*out = NULL;
	if (c->gpu_enabled == GPU_OFF) {
		log_info("gpu: disabled (gpu.enabled: false)");
		return 0;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		log_error("gpu: out of memory");
		return -1;
	}
	g->cfg = c;
	nvml_opts_from(c, &no);
	g->nv = nvml_open(&no, &np, &err);
	if (!g->nv) {
		gpu_stage_free(g);
		if (c->gpu_enabled == GPU_ON) {
			log_error("gpu: %s (gpu.enabled: true requires one; gpu.library: %s)", np.reason,
				  c->gpu_library);
			return -1;
		}
		log_info("gpu: %s; zone gpu not measured (gpu.enabled: auto)", np.reason);
		return 0;
	}
	mo.proc_root = c->proc_root;
	mo.v2 = layout && layout->cpu_is_v2;
	g->map = gpu_map_new(&mo, &err);
	if (!g->map) {
		log_error("%s", err.msg);
		gpu_stage_free(g);
		return -1;
	}
	window = (size_t)(c->idle_window_ms / (c->tick_ms ? c->tick_ms : 1000));
	if (window < 2)
		window = 2;
	if (c->idle_watts[ZONE_GPU] < 0)
		for (int i = 0; i < NVML_MAX_GPUS; i++) {
			g->idle[i] = idle_est_new(window, c->idle_percentile, c->idle_low_util);
			if (!g->idle[i]) {
				log_error("gpu: out of memory for the idle model");
				gpu_stage_free(g);
				return -1;
			}
		}
	nvml_describe(g->nv, g->detail, sizeof(g->detail));
	log_info("gpu: NVML (%s%s%s): %s; zone gpu shared by per-process SM samples (docs/gpu.md)",
		 c->gpu_library, np.driver[0] ? ", driver " : "", np.driver, g->detail);
	*out = g;
	return 0;
}

void gpu_stage_free(struct gpu_stage *g)
{
	if (!g)
		return;
	nvml_close(g->nv);
	gpu_map_free(g->map);
	for (int i = 0; i < NVML_MAX_GPUS; i++)
		idle_est_free(g->idle[i]);
	free(g->w);
	free(g->handle);
	free(g->sp);
	free(g);
}

static int grow(struct gpu_stage *g, size_t n_entries, size_t n_procs)
{
	if (n_entries > g->w_cap) {
		uint64_t *w = realloc(g->w, n_entries * sizeof(*w));
		if (!w)
			return -ENOMEM;
		g->w = w;
		g->w_cap = n_entries;
	}
	if (n_procs > g->sp_cap) {
		struct gpu_split_proc *sp = realloc(g->sp, n_procs * sizeof(*sp));
		int *h;
		if (!sp)
			return -ENOMEM;
		g->sp = sp;
		h = realloc(g->handle, n_procs * sizeof(*h));
		if (!h)
			return -ENOMEM;
		g->handle = h;
		g->sp_cap = n_procs;
	}
	return 0;
}

/* This GPU's idle watts: configured share, else learned against its utilisation (the
 * sample is added only for a clean interval: not after a reset, gap or error). */
static double gpu_idle_w(struct gpu_stage *g, size_t i, const struct nvml_gpu *gp, double watts,
			 size_t n_gpus, const char **src)
{
	const struct config *c = g->cfg;
	enum idle_source s = IDLE_SRC_NONE;
	double w = 0, util;

	if (c->idle_watts[ZONE_GPU] >= 0) {
		*src = "configured";
		return c->idle_watts[ZONE_GPU] / (double)n_gpus;
	}
	/* utilisation unknown: busy when it has processes */
	util = gp->util >= 0 ? gp->util : (gp->n_procs ? 1.0 : 0.0);
	if (gp->res == GPU_STEP_OK)
		idle_est_add(g->idle[i], watts, util);
	if (g->ticks % IDLE_EVERY == 0 || idle_est_count(g->idle[i]) < 30)
		idle_est_update(g->idle[i]);
	if (idle_est_get(g->idle[i], &w, &s) != 0)
		w = 0;
	*src = idle_source_name(s);
	return w;
}

static void log_gpu_state(struct gpu_stage *g, size_t i, const struct nvml_gpu *gp)
{
	if (gp->res == GPU_STEP_ERR && !g->failing[i]) {
		g->failing[i] = true;
		log_warn("gpu %d (%s): read failed: %s: %s; no energy from it until it reads again "
			 "(the counter then covers the gap)", gp->index, gp->name, gp->err_call,
			 strerror(gp->err < 0 ? -gp->err : EIO));
	} else if (gp->res != GPU_STEP_ERR && g->failing[i]) {
		g->failing[i] = false;
		log_info("gpu %d (%s): reads again", gp->index, gp->name);
	}
	if (gp->res == GPU_STEP_RESET)
		log_warn("gpu %d (%s): energy counter reset (driver reload?)", gp->index, gp->name);
	else if (gp->res == GPU_STEP_GAP)
		log_warn("gpu %d (%s): no power reading for more than 10 s; that gap is not "
			 "integrated", gp->index, gp->name);
}

void gpu_stage_tick(struct gpu_stage *g, const struct usage_sample *us, struct attrib_input *in,
		    struct agent_status *st)
{
	struct meter_delta *md;
	struct nvml_gpu *gpus;
	size_t ng = 0, nprocs = 0;
	uint64_t zone_uj = 0, idle_uj = 0, dyn_uj = 0, dropped = 0;
	const char *src = "none";
	double idle_w_sum = 0;
	int rc, ok = 0;

	if (!g || !us || !in || !in->energy)
		return;
	g->md = *in->energy;
	md = &g->md;
	g->ticks++;
	rc = nvml_read(g->nv, mono_ns(), &gpus, &ng);
	for (size_t i = 0; i < ng; i++)
		nprocs = gpus[i].n_procs > nprocs ? gpus[i].n_procs : nprocs;
	if (grow(g, us->n ? us->n : 1, nprocs ? nprocs : 1) != 0) {
		log_error("gpu: out of memory; zone gpu skipped this tick");
		return;
	}
	memset(g->w, 0, (us->n ? us->n : 1) * sizeof(*g->w));
	gpu_map_begin(g->map);
	md->zone_mask |= 1u << ZONE_GPU;
	for (size_t i = 0; i < ng; i++) {
		struct nvml_gpu *gp = &gpus[i];
		log_gpu_state(g, i, gp);
		dropped += gp->procs_dropped;
		if (gp->res == GPU_STEP_ERR)
			continue;
		ok++;
		for (size_t k = 0; k < gp->n_procs; k++)
			gpu_map_add(g->map, gp->procs[k].pid); /* unmapped pids: system */
	}
	gpu_map_resolve(g->map, us);
	if (rc != 0 && ok == 0)
		md->error_mask |= 1u << ZONE_GPU;

	for (size_t i = 0; i < ng; i++) {
		struct nvml_gpu *gp = &gpus[i];
		struct gpu_split_in si = { 0 };
		uint64_t dt, e = gp->uj, idle;
		double iw;

		if (gp->res == GPU_STEP_ERR)
			continue;
		dt = g->prev_t[i] ? gp->en.base_t - g->prev_t[i] : 0;
		g->prev_t[i] = gp->en.base_t;
		zone_uj += e;
		if (gp->res == GPU_STEP_BASE || dt == 0)
			continue;
		iw = gpu_idle_w(g, i, gp, (double)e / ((double)dt / 1e3), ng, &src);
		idle = (uint64_t)fmin((double)e, fmax(0, iw * (double)dt / 1e3));
		idle_uj += idle;
		idle_w_sum += iw;
		for (size_t k = 0; k < gp->n_procs; k++) {
			/* handles are the pid's slot in this tick's map */
			int h = gpu_map_add(g->map, gp->procs[k].pid);
			g->sp[k] = (struct gpu_split_proc){
				.entry = gpu_map_entry(g->map, h), .sm = gp->procs[k].sm,
				.running = gp->procs[k].running, .mig = gp->procs[k].mig,
			};
		}
		for (size_t m = 0; m < gp->n_mig; m++)
			g->mig_sms[m] = gp->mig[m].sms;
		si.procs = g->sp;
		si.n = gp->n_procs;
		si.have_sm = gp->have_sm;
		si.mig_mode = gp->mig_mode;
		si.mig_sms = g->mig_sms;
		si.n_mig = gp->n_mig;
		si.total_sms = gp->total_sms;
		gpu_split(&si, e - idle, g->w, us->n, NULL);
		dyn_uj += e - idle;
	}
	if (dropped > g->dropped_logged) {
		log_warn("gpu: more than %d processes on a GPU; %llu process records dropped so far "
			 "(their share stays with system)", NVML_MAX_PROCS, (unsigned long long)dropped);
		g->dropped_logged = dropped;
	}
	md->uj[ZONE_GPU] += zone_uj;
	in->energy = md;
	in->ext_name[ZONE_GPU] = "nvml_sm";
	in->idle_w[ZONE_GPU] = md->dt_ns ? (double)idle_uj * 1e3 / (double)md->dt_ns : 0;
	in->ext_mask |= 1u << ZONE_GPU;
	in->ext_weight[ZONE_GPU] = g->w;
	in->ext_total[ZONE_GPU] = dyn_uj;
	if (st) {
		st->idle_watts[ZONE_GPU] = idle_w_sum;
		st->idle_source[ZONE_GPU] = src;
	}
}

const char *gpu_stage_detail(const struct gpu_stage *g)
{
	return g ? g->detail : "";
}

void gpu_stage_probe_print(const struct config *c)
{
	struct nvml_opts no;
	struct nvml_probe np;
	struct nvml *nv;
	struct nvml_gpu *gpus;
	size_t ng = 0;

	printf("gpu (gpu.enabled: %s, gpu.library: %s)\n",
	       c->gpu_enabled == GPU_OFF ? "false" : c->gpu_enabled == GPU_ON ? "true" : "auto",
	       c->gpu_library);
	if (c->gpu_enabled == GPU_OFF) {
		printf("  not used: disabled by gpu.enabled: false\n");
		return;
	}
	nvml_opts_from(c, &no);
	nv = nvml_open(&no, &np, NULL);
	if (!nv) {
		printf("  %s  %s\n", c->gpu_enabled == GPU_ON ? "ERROR  " : "absent ", np.reason);
		return;
	}
	printf("  nvml      IN USE   %s%s%s\n", np.reason, np.driver[0] ? "; driver " : "",
	       np.driver);
	/* two reads: the second shows a first interval's energy and processes */
	nvml_read(nv, 0, &gpus, &ng);
	nvml_read(nv, 0, &gpus, &ng);
	for (size_t i = 0; i < ng; i++) {
		const struct nvml_gpu *gp = &gpus[i];
		char util[32] = "unknown";
		if (gp->util >= 0)
			snprintf(util, sizeof(util), "%.0f %%", gp->util * 100);
		printf("  gpu %-3d   %s%s%s: %s, %s%s, utilisation %s, %zu process%s%s\n", gp->index,
		       gp->name, gp->uuid[0] ? " " : "", gp->uuid,
		       gp->counter ? "energy counter" : "power (integrated)",
		       gp->res == GPU_STEP_ERR ? "read FAILED: " : "reads",
		       gp->res == GPU_STEP_ERR ? gp->err_call : "", util, gp->n_procs,
		       gp->n_procs == 1 ? "" : "es",
		       gp->mig_mode ? ", MIG enabled" : gp->exclusive ? ", exclusive-process" : "");
	}
	nvml_close(nv);
}
