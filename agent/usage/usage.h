/* usage.h - per-cgroup resource usage deltas, one sample per tick.
 *
 * Two sources behind one face:
 *   ebpf    sched_switch programs accumulate on-CPU time (and PMU counters where
 *           the CPU has them) per cgroup id; see bpf/ and usage_bpf.c.
 *   cgroup  the fallback: CPU time from v2 cpu.stat / v1 cpuacct.usage.
 * usage_open() with USAGE_AUTO tries eBPF and falls back with a reason (probe).
 *
 * A cgroup removed before any read listed it still gets one entry, with all its
 * usage, in the read after its removal (eBPF source with the cgroup_rmdir recorder;
 * probe->removed_ok). The cgroup source cannot see such cgroups.
 *
 * Entries are *exclusive*: a cgroup's own usage, not its descendants' (the cgroup
 * source subtracts the children's totals from the hierarchical counter). The root
 * cgroup ("/") is reported like any other entry; callers decide that it is "system".
 * node_delta[FEAT_CPU_TIME] is the node's busy CPU time from /proc/stat over the same
 * interval (user+nice+system+irq+softirq+steal), read back to back with the cgroups.
 *
 * Ownership: the sample's entries and their path strings are owned by the usage
 * object and valid until the next usage_read() or usage_close().
 * Return convention: 0 or negative errno; nothing logs.
 */
#ifndef WATTLET_USAGE_H
#define WATTLET_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../cgroup/cgroup.h"
#include "../common/util.h"
#include "../common/zone.h"

enum usage_source { USAGE_AUTO, USAGE_EBPF, USAGE_CGROUP, USAGE_SOURCE_COUNT };

struct usage_opts {
	const struct cg_layout *layout; /* borrowed; must outlive the usage object */
	enum usage_source source;
	unsigned max_cgroups;  /* bound on tracked cgroups; 0 selects 16384 */
	unsigned max_depth;    /* cgroup walk depth; 0 selects 16 */
	const char *proc_root; /* default "/proc" */
	bool ebpf_per_process_off; /* eBPF source: skip CPU time per process (tgid); kept by default */
	/* cgroup source: counter files kept open between reads. 0: automatic (half the soft
	 * RLIMIT_NOFILE on a cgroup filesystem, none on any other tree); > 0: at most that
	 * many; < 0: none (every counter opened and closed at each read). */
	int cgroup_max_open;
	/* eBPF source: counter features to open beyond the hardware set (which is opened
	 * wherever the CPU has it): bit FEAT_TASK_CLOCK opens the task-clock software
	 * event; set it when a zone is configured with task_clock. */
	uint32_t counter_features;
	const char *cpu_online_path; /* default /sys/devices/system/cpu/online */
};

struct usage_probe {
	enum usage_source in_use;  /* USAGE_EBPF or USAGE_CGROUP */
	bool ebpf_ok;
	char ebpf_reason[200]; /* why eBPF is not used, or what was attached */
	bool pmu_ok;
	char pmu_reason[200];  /* why there are no hardware counters, or which */
	bool task_clock_ok;    /* the task-clock counter is open on every online CPU */
	char task_clock_reason[240]; /* which, or why not (not configured, open failed) */
	/* Cgroups created and removed between two reads (short Jobs, init containers):
	 * removed_ok when their usage still gets an entry of its own (eBPF with the
	 * cgroup_rmdir recorder); else it goes to the root ("system"). Why, either way. */
	bool removed_ok;
	char removed_reason[240];
};

struct usage_entry {
	uint64_t id;                /* cgroup id (directory inode) */
	const char *path;           /* relative to the hierarchy root, starts with '/' */
	uint64_t delta[FEAT_COUNT]; /* exclusive usage in this interval (ns, counts) */
};

struct usage_sample {
	uint64_t t_ns;  /* CLOCK_MONOTONIC at the read */
	uint64_t dt_ns; /* since the previous read; 0 on the first */
	const struct usage_entry *entries;
	size_t n;
	uint64_t node_delta[FEAT_COUNT];
	uint32_t feature_mask; /* bit f: feature f is measured */
	uint64_t dropped;      /* cumulative cgroups not tracked because of max_cgroups */
	uint64_t vanished;     /* cumulative cgroups that disappeared mid-read */
};

struct usage *usage_open(const struct usage_opts *opts, struct usage_probe *probe,
			 struct wl_err *err);
void usage_close(struct usage *u);

/* First call is the baseline (entries with zero deltas, dt_ns 0). */
int usage_read(struct usage *u, struct usage_sample *out);

/* Names as used in config and output, indexed by enum usage_source. */
extern const char *const usage_source_names[USAGE_SOURCE_COUNT];
const char *usage_source_name(enum usage_source s);
int usage_source_from_name(const char *name);

/* Node busy CPU nanoseconds since boot from <proc_root>/stat. */
int usage_read_proc_stat_busy_ns(const char *proc_root, uint64_t *busy_ns);

#endif
