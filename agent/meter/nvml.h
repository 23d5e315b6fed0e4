/* nvml.h - NVIDIA GPUs through NVML, loaded at run time (dlopen; no build dependency).
 *
 * nvml_open() loads the library (opts->library, default "libnvidia-ml.so.1"), calls
 * nvmlInit and lists the GPUs. Absent library, a failed nvmlInit or no GPU -> NULL and
 * probe->reason says which ("no NVIDIA GPU: ..."). The few NVML types and functions
 * used are declared in nvml.c from the NVML API documentation (nvml.h is not needed).
 *
 * nvml_read() reads every GPU once: energy for the interval (total-energy counter where
 * the GPU has one, else power integrated; gpu_energy.h), GPU utilisation, compute mode,
 * the processes with their SM utilisation samples since the previous read
 * (nvmlDeviceGetProcessUtilization) and the running compute processes; with MIG
 * enabled, each MIG device's processes and its SM count. The first read is a baseline.
 *
 * Ownership: nvml_open() returns an object freed by nvml_close() (NULL-safe; unloads
 * the library). Arrays returned by nvml_read() are owned by it and valid until the next
 * nvml_read() or nvml_close().
 * Return convention: 0 or negative errno; constructors NULL with err set. No logging.
 */
#ifndef WATTLET_NVML_H
#define WATTLET_NVML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "gpu_energy.h"

#define NVML_MAX_GPUS 64
#define NVML_MAX_PROCS 1024 /* processes per GPU per read; more are dropped and counted */
#define NVML_MAX_MIG 16     /* MIG devices per GPU */

struct nvml_opts {
	const char *library;  /* NULL or "": libnvidia-ml.so.1 */
	double max_watts;     /* per GPU plausibility bound; 0: 2000 */
	uint64_t max_gap_ns;  /* power-only GPUs: longest interval integrated; 0: 10 s */
};

struct nvml_probe {
	bool loaded;       /* the library was found and nvmlInit succeeded */
	int n_gpus;
	char reason[400];  /* why not usable, or "N GPU(s): name (energy counter), ..." */
	char driver[96];
};

/* One process seen on a GPU in the interval. */
struct nvml_proc {
	uint32_t pid;
	uint64_t sm;      /* sum of its SM utilisation samples (percent) in the interval */
	uint32_t samples; /* how many samples */
	bool running;     /* listed by nvmlDeviceGetComputeRunningProcesses */
	int mig;          /* index into the GPU's mig[] (MIG mode), else -1 */
};

struct nvml_mig {
	unsigned gi_id;   /* GPU instance id */
	unsigned sms;     /* its streaming multiprocessors (share of the GPU) */
};

struct nvml_gpu {
	int index;
	char name[96];
	char uuid[96];
	bool counter;          /* energy from the total-energy counter (else power) */
	/* this read */
	enum gpu_step_res res;
	uint64_t uj;           /* energy in the interval */
	int err;               /* the failed NVML call's errno equivalent when res is ERR */
	char err_call[48];     /* which call failed */
	double util;           /* GPU utilisation 0..1, -1 when unknown */
	bool exclusive;        /* compute mode EXCLUSIVE_PROCESS */
	bool mig_mode;         /* MIG enabled */
	bool have_sm;          /* per-process SM samples were supported this read */
	struct nvml_mig mig[NVML_MAX_MIG];
	size_t n_mig;
	unsigned total_sms;    /* the whole GPU's SMs (MIG share denominator); 0 unknown */
	struct nvml_proc *procs;
	size_t n_procs;
	uint64_t procs_dropped; /* cumulative */
	/* state */
	struct gpu_energy en;
	uint64_t last_seen_us;  /* newest process sample timestamp seen */
	size_t procs_cap;
	void *dev;
};

struct nvml *nvml_open(const struct nvml_opts *opts, struct nvml_probe *probe,
		       struct wl_err *err);
void nvml_close(struct nvml *n);

/* Reads every GPU; t_ns is the caller's CLOCK_MONOTONIC (0: read the clock). Returns 0
 * when at least one GPU read, else a negative errno; the array has every GPU. */
int nvml_read(struct nvml *n, uint64_t t_ns, struct nvml_gpu **gpus, size_t *n_gpus);

/* "N GPU(s): 0 NAME (energy counter), ..." */
int nvml_describe(const struct nvml *n, char *buf, size_t cap);

/* NVML's return code as a negative errno and its text ("Not Supported", ...). */
int nvml_errno(int nvml_ret);
const char *nvml_ret_text(const struct nvml *n, int nvml_ret);

#endif
