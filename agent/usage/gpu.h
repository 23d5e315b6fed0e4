/* gpu.h - GPU processes -> cgroups (usage entries) -> shares of each GPU's dynamic energy.
 *
 * Two jobs, both without NVML (agent/meter/nvml.h reads the GPUs):
 *  1. pid -> usage entry. /proc/<pid>/cgroup names the process's cgroup: the "0::PATH"
 *     line on cgroup v2, the line whose controller list holds cpuacct (else cpu) on v1 -
 *     the hierarchy the usage entries come from. The entry is the one whose path is that
 *     cgroup or its nearest ancestor (a cgroup deeper than usage walks, or created since
 *     the last usage read, is charged to its parent). A path seen from another cgroup
 *     namespace ("/../../kubepods/.../cri-containerd-ID.scope": the agent in a container
 *     with a private cgroup namespace, reading the host's /proc) is matched as a suffix:
 *     the shortest entry path ending with "/kubepods/.../cri-containerd-ID.scope" (container
 *     scopes are unique by their id). Unreadable or malformed files
 *     (the process exited, another pid namespace, garbage) leave the pid unmapped: its
 *     share stays with "system".
 *  2. One GPU's dynamic energy split among its processes (gpu_split), the documented
 *     rules of docs/gpu.md:
 *       MIG enabled  by MIG device: each gets dyn x its SMs / the GPU's SMs (or an equal
 *                    part when NVML gives no SM counts); within a MIG device equally per
 *                    running process. MIG devices without processes: system.
 *       SM samples   (time-sliced sharing, MPS) by each process's summed SM utilisation
 *                    samples in the interval (nvmlDeviceGetProcessUtilization).
 *       no samples   equally among the running compute processes (whole-GPU exclusive
 *                    use: the only process gets all of it, whatever its SM samples).
 *       no process   all to system.
 *     Parts are rounded down in integer microjoules; what is not given stays with
 *     system, so conservation is exact.
 *
 * Cost per tick with GPU processes: one /proc/<pid>/cgroup read per distinct pid, and
 * one pass over the usage entries comparing each path with the distinct cgroups of GPU
 * processes: O(entries x distinct GPU cgroups) length-filtered compares.
 *
 * Ownership: gpu_map_new() returns an object freed with gpu_map_free() (NULL-safe).
 * Return convention: 0 or negative errno; gpu_map_new NULL with err set. No logging.
 */
#ifndef WATTLET_USAGE_GPU_H
#define WATTLET_USAGE_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "usage.h"

#define GPU_NO_ENTRY ((size_t)-1)
#define GPU_MAP_MAX_PIDS 4096 /* distinct pids mapped per tick; more stay unmapped */

/* The cgroup path of a /proc/<pid>/cgroup text. v2: the "0::" line; else the line whose
 * controller list holds `controller` (a whole comma-separated token). 0; 1 when the path
 * was outside the reader's cgroup namespace (leading "/.." parts removed: match it as a
 * suffix); -ENOENT (no such line, or only "/.." parts), -EINVAL (malformed: path not
 * absolute, ".." after a name, or a NUL), -ENAMETOOLONG. */
int gpu_cgroup_of_text(const char *text, bool v2, const char *controller, char *path,
		       size_t cap);

struct gpu_map_opts {
	const char *proc_root; /* default "/proc" */
	bool v2;               /* the usage entries come from a cgroup v2 hierarchy */
};

struct gpu_map *gpu_map_new(const struct gpu_map_opts *o, struct wl_err *err);
void gpu_map_free(struct gpu_map *m);

/* Starts a tick: forgets the previous tick's pids. */
void gpu_map_begin(struct gpu_map *m);
/* Registers pid (read of /proc/<pid>/cgroup, once per tick per pid); returns a handle
 * >= 0 to look up after gpu_map_resolve(), or a negative errno (pid unmapped). */
int gpu_map_add(struct gpu_map *m, uint32_t pid);
/* One pass over us's entries resolving every registered pid. */
int gpu_map_resolve(struct gpu_map *m, const struct usage_sample *us);
/* The usage entry index of a handle, or GPU_NO_ENTRY. */
size_t gpu_map_entry(const struct gpu_map *m, int handle);

enum gpu_rule { GPU_RULE_NONE, GPU_RULE_SM, GPU_RULE_EVEN, GPU_RULE_MIG };
const char *gpu_rule_name(enum gpu_rule r);

struct gpu_split_proc {
	size_t entry;    /* usage entry or GPU_NO_ENTRY */
	uint64_t sm;     /* summed SM utilisation samples */
	bool running;    /* a running compute process */
	int mig;         /* MIG device index, or -1 */
};

struct gpu_split_in {
	const struct gpu_split_proc *procs;
	size_t n;
	bool have_sm;            /* SM samples supported (non-MIG) */
	bool mig_mode;
	const unsigned *mig_sms; /* per MIG device: its SM count (0 unknown) */
	size_t n_mig;
	unsigned total_sms;      /* the GPU's SM count; 0 unknown */
};

/* Adds each process's part of dyn (microjoules) to w[entry] (n_entries long); returns
 * the total given (<= dyn) and the rule applied in *rule (may be NULL). */
uint64_t gpu_split(const struct gpu_split_in *in, uint64_t dyn, uint64_t *w, size_t n_entries,
		   enum gpu_rule *rule);

#endif
