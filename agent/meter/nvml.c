/* nvml.c - see nvml.h. The NVML declarations below are written from the NVML API
 * reference (docs.nvidia.com/deploy/nvml-api): only what this file calls. */
#include "nvml.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the NVML subset ---------------------------------------------------------------- */

typedef void *nv_dev;                 /* nvmlDevice_t: an opaque handle */
enum {
	NV_SUCCESS = 0, NV_UNINITIALIZED = 1, NV_INVALID_ARGUMENT = 2, NV_NOT_SUPPORTED = 3,
	NV_NO_PERMISSION = 4, NV_NOT_FOUND = 6, NV_INSUFFICIENT_SIZE = 7,
	NV_DRIVER_NOT_LOADED = 9, NV_TIMEOUT = 10, NV_LIBRARY_NOT_FOUND = 12,
	NV_FUNCTION_NOT_FOUND = 13, NV_GPU_IS_LOST = 15, NV_NO_DATA = 21, NV_UNKNOWN = 999,
};
#define NV_COMPUTEMODE_EXCLUSIVE_PROCESS 3
#define NV_MIG_ENABLE 1

struct nv_util {              /* nvmlUtilization_t */
	unsigned int gpu, memory;
};
struct nv_proc_sample {       /* nvmlProcessUtilizationSample_t */
	unsigned int pid;
	unsigned long long ts;    /* microseconds */
	unsigned int sm, mem, enc, dec;
};
struct nv_proc_info {         /* nvmlProcessInfo_t (v2/v3 layout) */
	unsigned int pid;
	unsigned long long used_mem;
	unsigned int gi_id, ci_id;
};
struct nv_attrs {             /* nvmlDeviceAttributes_t (v2) */
	unsigned int sm_count, copy_engines, decoders, encoders, jpegs, ofas;
	unsigned int gi_slices, ci_slices;
	unsigned long long mem_mb;
};

struct nv_api {
	int (*init)(void);
	int (*shutdown)(void);
	const char *(*error_string)(int);
	int (*driver_version)(char *, unsigned int);
	int (*count)(unsigned int *);
	int (*handle)(unsigned int, nv_dev *);
	int (*name)(nv_dev, char *, unsigned int);
	int (*uuid)(nv_dev, char *, unsigned int);
	int (*energy)(nv_dev, unsigned long long *);
	int (*power)(nv_dev, unsigned int *);
	int (*util)(nv_dev, struct nv_util *);
	int (*proc_util)(nv_dev, struct nv_proc_sample *, unsigned int *, unsigned long long);
	int (*running)(nv_dev, unsigned int *, struct nv_proc_info *);
	int (*compute_mode)(nv_dev, int *);
	int (*mig_mode)(nv_dev, unsigned int *, unsigned int *);
	int (*max_mig)(nv_dev, unsigned int *);
	int (*mig_handle)(nv_dev, unsigned int, nv_dev *);
	int (*gi_id)(nv_dev, unsigned int *);
	int (*attrs)(nv_dev, struct nv_attrs *);
};

struct nvml {
	void *lib;
	struct nv_api api;
	bool inited;
	double max_watts;
	uint64_t max_gap_ns;
	struct nvml_gpu gpu[NVML_MAX_GPUS];
	size_t n;
	struct nv_proc_sample *samples;
	unsigned samples_cap;
	struct nv_proc_info *infos;
	unsigned infos_cap;
};

/* dlsym of the first name found; a data pointer converted to a function pointer
 * through memcpy (POSIX guarantees the representation). */
static void sym(void *lib, void *fnp, size_t fnsize, const char *a, const char *b)
{
	void *p = dlsym(lib, a);

	if (!p && b)
		p = dlsym(lib, b);
	memcpy(fnp, &p, fnsize);
}
#define SYM(lib, field, a, b) sym((lib), &(field), sizeof(field), (a), (b))

int nvml_errno(int r)
{
	switch (r) {
	case NV_SUCCESS: return 0;
	case NV_NOT_SUPPORTED: return -EOPNOTSUPP;
	case NV_NO_PERMISSION: return -EACCES;
	case NV_NOT_FOUND: return -ENOENT;
	case NV_INSUFFICIENT_SIZE: return -ENOSPC;
	case NV_DRIVER_NOT_LOADED: return -ENODEV;
	case NV_TIMEOUT: return -ETIMEDOUT;
	case NV_GPU_IS_LOST: return -ENODEV;
	case NV_INVALID_ARGUMENT: return -EINVAL;
	case NV_NO_DATA: return -ENODATA;
	default: return -EIO;
	}
}

const char *nvml_ret_text(const struct nvml *n, int r)
{
	const char *s = (n && n->api.error_string) ? n->api.error_string(r) : NULL;

	if (s && *s)
		return s;
	switch (r) {
	case NV_SUCCESS: return "Success";
	case NV_UNINITIALIZED: return "Uninitialized";
	case NV_NOT_SUPPORTED: return "Not Supported";
	case NV_NO_PERMISSION: return "Insufficient Permissions";
	case NV_NOT_FOUND: return "Not Found";
	case NV_DRIVER_NOT_LOADED: return "Driver Not Loaded";
	case NV_GPU_IS_LOST: return "GPU is lost";
	default: return "NVML error";
	}
}

void nvml_close(struct nvml *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		free(n->gpu[i].procs);
	free(n->samples);
	free(n->infos);
	if (n->inited && n->api.shutdown)
		n->api.shutdown();
	if (n->lib)
		dlclose(n->lib);
	free(n);
}

static void load_api(struct nvml *n)
{
	struct nv_api *a = &n->api;
	void *l = n->lib;

	SYM(l, a->init, "nvmlInit_v2", "nvmlInit");
	SYM(l, a->shutdown, "nvmlShutdown", NULL);
	SYM(l, a->error_string, "nvmlErrorString", NULL);
	SYM(l, a->driver_version, "nvmlSystemGetDriverVersion", NULL);
	SYM(l, a->count, "nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
	SYM(l, a->handle, "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
	SYM(l, a->name, "nvmlDeviceGetName", NULL);
	SYM(l, a->uuid, "nvmlDeviceGetUUID", NULL);
	SYM(l, a->energy, "nvmlDeviceGetTotalEnergyConsumption", NULL);
	SYM(l, a->power, "nvmlDeviceGetPowerUsage", NULL);
	SYM(l, a->util, "nvmlDeviceGetUtilizationRates", NULL);
	SYM(l, a->proc_util, "nvmlDeviceGetProcessUtilization", NULL);
	SYM(l, a->running, "nvmlDeviceGetComputeRunningProcesses_v3",
	    "nvmlDeviceGetComputeRunningProcesses_v2");
	SYM(l, a->compute_mode, "nvmlDeviceGetComputeMode", NULL);
	SYM(l, a->mig_mode, "nvmlDeviceGetMigMode", NULL);
	SYM(l, a->max_mig, "nvmlDeviceGetMaxMigDeviceCount", NULL);
	SYM(l, a->mig_handle, "nvmlDeviceGetMigDeviceHandleByIndex", NULL);
	SYM(l, a->gi_id, "nvmlDeviceGetGpuInstanceId", NULL);
	SYM(l, a->attrs, "nvmlDeviceGetAttributes_v2", NULL);
}

static void append(char *buf, size_t cap, const char *fmt, const char *a, const char *b)
{
	size_t len = strlen(buf);

	if (len + 1 < cap)
		snprintf(buf + len, cap - len, fmt, a, b);
}

struct nvml *nvml_open(const struct nvml_opts *opts, struct nvml_probe *probe,
		       struct wl_err *err)
{
	struct nvml_probe local;
	const char *libname = opts && opts->library && *opts->library ? opts->library
								     : "libnvidia-ml.so.1";
	struct nvml *n;
	unsigned int count = 0;
	int r;

	if (!probe)
		probe = &local;
	memset(probe, 0, sizeof(*probe));
	n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(probe->reason, sizeof(probe->reason), "out of memory");
		err_set(err, ENOMEM, "nvml: out of memory");
		return NULL;
	}
	n->max_watts = opts && opts->max_watts > 0 ? opts->max_watts : GPU_DEFAULT_MAX_WATTS;
	n->max_gap_ns = opts && opts->max_gap_ns ? opts->max_gap_ns : GPU_DEFAULT_MAX_GAP_NS;
	n->lib = dlopen(libname, RTLD_NOW | RTLD_LOCAL);
	if (!n->lib) {
		const char *why = dlerror();
		snprintf(probe->reason, sizeof(probe->reason),
			 "no NVIDIA GPU: library %s not loaded (%s)", libname, why ? why : "not found");
		err_set(err, ENOENT, "%s", probe->reason);
		goto fail;
	}
	load_api(n);
	if (!n->api.init || !n->api.count || !n->api.handle ||
	    (!n->api.energy && !n->api.power)) {
		snprintf(probe->reason, sizeof(probe->reason),
			 "no NVIDIA GPU: %s lacks nvmlInit, nvmlDeviceGetCount, "
			 "nvmlDeviceGetHandleByIndex or both energy and power calls", libname);
		err_set(err, ENOSYS, "%s", probe->reason);
		goto fail;
	}
	r = n->api.init();
	if (r != NV_SUCCESS) {
		snprintf(probe->reason, sizeof(probe->reason), "no NVIDIA GPU: nvmlInit failed: %s (%d)",
			 nvml_ret_text(n, r), r);
		err_set(err, -nvml_errno(r), "%s", probe->reason);
		goto fail;
	}
	n->inited = true;
	probe->loaded = true;
	if (n->api.driver_version &&
	    n->api.driver_version(probe->driver, sizeof(probe->driver)) != NV_SUCCESS)
		probe->driver[0] = '\0';
	r = n->api.count(&count);
	if (r != NV_SUCCESS || count == 0) {
		snprintf(probe->reason, sizeof(probe->reason), "no NVIDIA GPU: %s",
			 r != NV_SUCCESS ? nvml_ret_text(n, r) : "NVML lists no devices");
		err_set(err, ENODEV, "%s", probe->reason);
		goto fail;
	}
	if (count > NVML_MAX_GPUS)
		count = NVML_MAX_GPUS;
	for (unsigned i = 0; i < count; i++) {
		struct nvml_gpu *g = &n->gpu[n->n];
		unsigned long long mj;
		unsigned int mw;
		nv_dev d = NULL;

		memset(g, 0, sizeof(*g));
		if (n->api.handle(i, &d) != NV_SUCCESS || !d)
			continue;
		g->dev = d;
		g->index = (int)i;
		g->util = -1;
		if (!n->api.name || n->api.name(d, g->name, sizeof(g->name)) != NV_SUCCESS)
			snprintf(g->name, sizeof(g->name), "GPU %u", i);
		g->name[sizeof(g->name) - 1] = '\0';
		if (!n->api.uuid || n->api.uuid(d, g->uuid, sizeof(g->uuid)) != NV_SUCCESS)
			g->uuid[0] = '\0';
		g->uuid[sizeof(g->uuid) - 1] = '\0';
		g->counter = n->api.energy && n->api.energy(d, &mj) == NV_SUCCESS;
		if (!g->counter && !(n->api.power && n->api.power(d, &mw) == NV_SUCCESS))
			continue; /* neither energy nor power: nothing to measure */
		n->n++;
	}
	if (n->n == 0) {
		snprintf(probe->reason, sizeof(probe->reason),
			 "no NVIDIA GPU: %u device(s) listed, none reports energy or power", count);
		err_set(err, ENODEV, "%s", probe->reason);
		goto fail;
	}
	probe->n_gpus = (int)n->n;
	nvml_describe(n, probe->reason, sizeof(probe->reason));
	return n;
fail:
	nvml_close(n);
	return NULL;
}

int nvml_describe(const struct nvml *n, char *buf, size_t cap)
{
	if (!n || !buf || cap == 0)
		return -EINVAL;
	snprintf(buf, cap, "%zu GPU%s:", n->n, n->n == 1 ? "" : "s");
	for (size_t i = 0; i < n->n; i++) {
		char idx[16];
		snprintf(idx, sizeof(idx), " %d", n->gpu[i].index);
		append(buf, cap, "%s%s", i ? "," : "", idx);
		append(buf, cap, " %s (%s)", n->gpu[i].name,
		       n->gpu[i].counter ? "energy counter" : "power, integrated");
	}
	return strlen(buf) + 1 >= cap ? -ENOSPC : 0;
}

/* The process slot for (pid, mig), added when new; NULL when the GPU's list is full. */
static struct nvml_proc *proc_slot(struct nvml_gpu *g, uint32_t pid, int mig)
{
	for (size_t i = 0; i < g->n_procs; i++)
		if (g->procs[i].pid == pid && g->procs[i].mig == mig)
			return &g->procs[i];
	if (g->n_procs == NVML_MAX_PROCS) {
		g->procs_dropped++;
		return NULL;
	}
	if (g->n_procs == g->procs_cap) {
		size_t nc = g->procs_cap ? g->procs_cap * 2 : 8;
		struct nvml_proc *p = realloc(g->procs, nc * sizeof(*p));
		if (!p) {
			g->procs_dropped++;
			return NULL;
		}
		g->procs = p;
		g->procs_cap = nc;
	}
	g->procs[g->n_procs] = (struct nvml_proc){ .pid = pid, .mig = mig };
	return &g->procs[g->n_procs++];
}

/* SM samples since the previous read (not in MIG mode: NVML does not sample there). */
static void read_samples(struct nvml *n, struct nvml_gpu *g)
{
	unsigned int cnt;
	unsigned long long newest = g->last_seen_us;
	int r;

	if (!n->api.proc_util)
		return;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!n->samples) {
			n->samples_cap = 64;
			n->samples = calloc(n->samples_cap, sizeof(*n->samples));
			if (!n->samples)
				return;
		}
		cnt = n->samples_cap;
		r = n->api.proc_util(g->dev, n->samples, &cnt, g->last_seen_us);
		if (r == NV_INSUFFICIENT_SIZE && attempt == 0 && cnt > n->samples_cap &&
		    cnt <= 4 * NVML_MAX_PROCS) {
			struct nv_proc_sample *p = realloc(n->samples, cnt * sizeof(*p));
			if (!p)
				return;
			n->samples = p;
			n->samples_cap = cnt;
			continue;
		}
		break;
	}
	if (r == NV_NOT_FOUND) { /* no samples since last_seen: supported, nothing ran */
		g->have_sm = true;
		return;
	}
	if (r != NV_SUCCESS)
		return;
	g->have_sm = true;
	if (cnt > n->samples_cap)
		cnt = n->samples_cap;
	for (unsigned i = 0; i < cnt; i++) {
		const struct nv_proc_sample *s = &n->samples[i];
		struct nvml_proc *p;
		if (s->ts <= g->last_seen_us || s->pid == 0)
			continue;
		if (s->ts > newest)
			newest = s->ts;
		p = proc_slot(g, s->pid, -1);
		if (!p)
			continue;
		p->sm += s->sm > 100 ? 100 : s->sm;
		p->samples++;
	}
	g->last_seen_us = newest;
}

/* Running compute processes of dev (the GPU, or one MIG device: mig >= 0). */
static void read_running(struct nvml *n, struct nvml_gpu *g, nv_dev dev, int mig)
{
	unsigned int cnt;
	int r;

	if (!n->api.running)
		return;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!n->infos) {
			n->infos_cap = 64;
			n->infos = calloc(n->infos_cap, sizeof(*n->infos));
			if (!n->infos)
				return;
		}
		cnt = n->infos_cap;
		r = n->api.running(dev, &cnt, n->infos);
		if (r == NV_INSUFFICIENT_SIZE && attempt == 0 && cnt > n->infos_cap &&
		    cnt <= NVML_MAX_PROCS) {
			struct nv_proc_info *p = realloc(n->infos, (cnt + 8) * sizeof(*p));
			if (!p)
				return;
			n->infos = p;
			n->infos_cap = cnt + 8; /* processes may start between the two calls */
			continue;
		}
		break;
	}
	if (r != NV_SUCCESS)
		return;
	if (cnt > n->infos_cap)
		cnt = n->infos_cap;
	for (unsigned i = 0; i < cnt; i++) {
		struct nvml_proc *p;
		if (n->infos[i].pid == 0)
			continue;
		p = proc_slot(g, n->infos[i].pid, mig);
		if (p)
			p->running = true;
	}
}

static void read_mig(struct nvml *n, struct nvml_gpu *g)
{
	unsigned int cur = 0, pend = 0, max = 0;
	struct nv_attrs at;

	g->mig_mode = false;
	g->n_mig = 0;
	g->total_sms = 0;
	if (!n->api.mig_mode || n->api.mig_mode(g->dev, &cur, &pend) != NV_SUCCESS ||
	    cur != NV_MIG_ENABLE)
		return;
	g->mig_mode = true;
	if (n->api.attrs && n->api.attrs(g->dev, &at) == NV_SUCCESS)
		g->total_sms = at.sm_count;
	if (!n->api.max_mig || !n->api.mig_handle || n->api.max_mig(g->dev, &max) != NV_SUCCESS)
		return;
	for (unsigned i = 0; i < max && g->n_mig < NVML_MAX_MIG; i++) {
		struct nvml_mig *m = &g->mig[g->n_mig];
		nv_dev md = NULL;
		if (n->api.mig_handle(g->dev, i, &md) != NV_SUCCESS || !md)
			continue; /* no MIG device at this index */
		m->gi_id = 0;
		m->sms = 0;
		if (n->api.gi_id)
			n->api.gi_id(md, &m->gi_id);
		if (n->api.attrs && n->api.attrs(md, &at) == NV_SUCCESS)
			m->sms = at.sm_count;
		read_running(n, g, md, (int)g->n_mig);
		g->n_mig++;
	}
}

static void read_gpu(struct nvml *n, struct nvml_gpu *g, uint64_t t)
{
	struct gpu_reading rd = { .t_ns = t };
	unsigned long long mj = 0;
	unsigned int mw = 0;
	struct nv_util u;
	int r, mode = 0;

	g->n_procs = 0;
	g->have_sm = false;
	g->util = -1;
	g->err = 0;
	g->err_call[0] = '\0';
	if (g->counter) {
		r = n->api.energy(g->dev, &mj);
		rd.have_mj = r == NV_SUCCESS;
		if (!rd.have_mj) {
			g->err = nvml_errno(r);
			snprintf(g->err_call, sizeof(g->err_call), "nvmlDeviceGetTotalEnergyConsumption");
		}
	} else {
		r = n->api.power(g->dev, &mw);
		rd.have_mw = r == NV_SUCCESS;
		if (!rd.have_mw) {
			g->err = nvml_errno(r);
			snprintf(g->err_call, sizeof(g->err_call), "nvmlDeviceGetPowerUsage");
		}
	}
	rd.mj = mj;
	rd.mw = mw;
	if (gpu_energy_step(&g->en, &rd, n->max_watts, n->max_gap_ns, &g->uj, &g->res) != 0) {
		g->res = GPU_STEP_ERR;
		g->uj = 0;
	}
	if (g->res == GPU_STEP_ERR && !g->err) {
		g->err = -ERANGE;
		snprintf(g->err_call, sizeof(g->err_call), "implausible reading");
	}
	if (n->api.util && n->api.util(g->dev, &u) == NV_SUCCESS && u.gpu <= 100)
		g->util = u.gpu / 100.0;
	g->exclusive = n->api.compute_mode && n->api.compute_mode(g->dev, &mode) == NV_SUCCESS &&
		       mode == NV_COMPUTEMODE_EXCLUSIVE_PROCESS;
	read_mig(n, g);
	if (!g->mig_mode) {
		read_samples(n, g);
		read_running(n, g, g->dev, -1);
	}
}

int nvml_read(struct nvml *n, uint64_t t_ns, struct nvml_gpu **gpus, size_t *n_gpus)
{
	int ok = 0, first_err = 0;

	if (!n || !gpus || !n_gpus)
		return -EINVAL;
	if (!t_ns)
		t_ns = mono_ns();
	for (size_t i = 0; i < n->n; i++) {
		read_gpu(n, &n->gpu[i], t_ns);
		if (n->gpu[i].res != GPU_STEP_ERR)
			ok++;
		else if (!first_err)
			first_err = n->gpu[i].err ? n->gpu[i].err : -EIO;
	}
	*gpus = n->gpu;
	*n_gpus = n->n;
	return ok ? 0 : (first_err ? first_err : -ENODEV);
}
