/* validate.h - platform validation: is the energy wattlet reports right on this host?
 *
 * Two checks, as in Intel's validation of Kepler (KubeCon China 2023), made automatic:
 *
 *   node      an independent sampler opens the meter itself (meter_open/meter_read with
 *             the agent's meter options, so it reads the same counters) and measures N
 *             windows of D seconds; the agent's node joules are read at the same window
 *             edges (edges are aligned to the agent's ticks). Deviation per zone =
 *             (agent - sampler) / sampler over the whole run.
 *   workload  baseline first (no workload), then steps 1..K: one more instance of a
 *             workload is started (struct vtarget: a cgroup standalone, later a
 *             Deployment replica), allowed to settle, and sampled. The node power delta
 *             against the previous phase (sampler) is compared with the dynamic power the
 *             agent attributed to the new instance: deviation = (agent - delta) / delta.
 *
 * Noise is handled with repeated windows, means, standard deviations and Student-t 95 %
 * confidence intervals; when the baseline's CI half-width is above a fraction of the
 * expected step the result is REFUSED (not judged), saying why.
 *
 * Other CPU: in every window the validator also measures the node's busy CPU time
 * (/proc/stat, from measured idle) minus the instances' CPU time: the CPU used outside
 * the instances under test. A change of it between a step and the phase its delta is
 * taken from, or a drift of it within a phase, moves the node power delta by work that
 * is not the instance's (a background build that stops during the baseline): beyond
 * a limit derived from the judge's tolerance the result is REFUSED, never passed or
 * failed (judge.c has the derivation).
 *
 * Modules: stats.c (statistics), phase.c (a phase's windows -> the report's numbers),
 * judge.c (verdicts), report.c (JSON report and the state file the daemon exports),
 * checks.c (CPU/meter correctness checks, node busy CPU time),
 * agentapi.c (reading a running agent's /api/v1/workloads), run.c (the sampling
 * loops), target_cgroup.c (the standalone workload target).
 *
 * Nothing here prints: progress goes through a callback, errors through struct wl_err.
 * Return convention: 0 or a negative errno; constructors return NULL on failure;
 * destructors accept NULL.
 */
#ifndef WATTLET_VALIDATE_H
#define WATTLET_VALIDATE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../common/util.h"
#include "../common/zone.h"
#include "../export/export.h"
#include "../meter/meter.h"

#define VALIDATE_MAX_SAMPLES 1000
#define VALIDATE_MAX_STEPS 16

/* ---- statistics (stats.c) ------------------------------------------------------ */

struct vstats {
	size_t n;
	double mean;
	double stddev;   /* sample standard deviation (n - 1); 0 when n < 2 */
	double ci95;     /* half-width of the 95 % CI of the mean (Student t); 0 when n < 2 */
	size_t dropped;  /* windows left out as outliers (vstats_trim_outliers) */
};

/* Two-sided 95 % Student-t quantile for df degrees of freedom (df >= 1; exact table to
 * 30, then a close approximation tending to 1.96). NAN for df == 0. */
double vstats_t95(size_t df);
/* Mean, stddev and CI of x[0..n). -EINVAL when n == 0 or a value is not finite. */
int vstats_compute(const double *x, size_t n, struct vstats *out);
/* A phase's windows without the bursts of other activity: window i is dropped when
 * |x[i] - median(x)| > 3.5 x 1.4826 x MAD(x) (a robust 3.5-sigma rule), farthest first,
 * at most n / 4 windows, nothing when n < 5 or MAD is 0. The same windows leave every
 * series ys[0..ny) (the agent's numbers for those windows), so the series stay paired;
 * arrays are compacted in order. Returns the number of windows kept. */
size_t vstats_trim_outliers(double *x, double (*ys)[VALIDATE_MAX_SAMPLES], size_t ny, size_t n);
/* (reported - reference) / reference x 100; NAN when reference is 0 or not finite. */
double validate_deviation_pct(double reported, double reference);
/* Half-width (percentage points) of the 95 % CI of validate_deviation_pct(reported,
 * reference) given the half-widths of both, by first-order error propagation; NAN
 * when reference is 0 or an input is not finite or a half-width is negative. */
double validate_deviation_ci95_pct(double reported, double reported_ci, double reference,
				   double reference_ci);
/* Half-width of the CI of a difference of two independent means. */
double vstats_diff_ci95(const struct vstats *a, const struct vstats *b);

/* ---- verdicts (judge.c) -------------------------------------------------------- */

enum verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_REFUSED, VERDICT_ERROR };
const char *verdict_name(enum verdict v);

struct validate_thresholds {
	double node_pct;     /* |node deviation| allowed, percent (default 1) */
	double workload_pct; /* |workload deviation| allowed, percent (default 5) */
	double max_noise;    /* refuse when baseline ci95 > max_noise x expected step
				(default 0.10) */
	double min_step_w;   /* refuse when the expected step is below this (default 0.05 W) */
	double max_baseline_util; /* refuse when the baseline already kept this fraction of
				     all CPUs busy: new work would displace, not add (0.85) */
	double max_other_bias; /* refuse when the CPU used outside the instances changed by
				  more than max_other_bias x workload_pct % of the step's own
				  CPU between phases or within one: the share of the
				  tolerance that other work may take (default 0.5) */
};
void validate_thresholds_default(struct validate_thresholds *t);

/* ---- correctness checks (checks.c) ---------------------------------------------- */

struct validate_checks {
	char cpu_model[160];
	char cpu_vendor[64];
	char arch[72];
	char kernel[160];
	long cpus;
	char meter[32];           /* meter kind in use */
	char meter_detail[512];   /* domains in use */
	bool simulated;           /* the powercap tree is the simulated meter */
	uint32_t zone_mask;       /* zones the platform's meter supports */
	/* meter sanity over the run */
	uint64_t windows;         /* windows seen */
	uint64_t resets;          /* counter resets (meter reset_mask) */
	uint64_t read_errors;     /* zone read errors (meter error_mask) */
	uint64_t implausible;     /* windows whose power was <= 0 or above max_watts */
	uint64_t agent_resets;    /* agent's meter_resets grew during the run */
	uint64_t agent_errors;    /* agent's meter_errors grew during the run */
	bool agent_meter_matches; /* the agent uses the same meter kind */
	bool sane;                /* all of the above clean */
	char notes[512];          /* first problems found, human-readable */
};

/* Host facts: /proc/cpuinfo under proc_root (NULL = /proc), uname. Never fails. */
void validate_checks_host(struct validate_checks *c, const char *proc_root);
/* Meter facts from an open meter; powercap_root (may be NULL) is checked for the
 * simulated meter's marker. */
void validate_checks_meter(struct validate_checks *c, const struct meter *m,
			   const char *powercap_root);
/* Busy and total jiffies of all CPUs from <proc_root>/stat (NULL = /proc). */
int validate_cpu_jiffies(const char *proc_root, uint64_t *busy, uint64_t *total);
/* The node's busy CPU time from measured idle: *busy_s = online CPUs (the cpuN lines of
 * <proc_root>/stat) x *uptime_s - (idle + iowait) seconds, where *uptime_s is
 * CLOCK_BOOTTIME read as the file is generated (the clock of /proc/uptime, in ns rather
 * than its 10 ms: on a 64-CPU host those 10 ms alone would be 0.64 CPU-seconds). On a
 * tickless kernel idle is measured at idle entry and exit, whereas the busy fields are
 * sampled by the timer tick (they read a 30 % duty-cycle load ~6 % low). Differences
 * of two reads are busy CPU-seconds over the time that passed; idle comes in 1/USER_HZ
 * quanta per CPU. -ENOENT/-EINVAL when the file is missing or unparsable. */
int validate_cpu_busy(const char *proc_root, double *busy_s, double *uptime_s);
/* Accounts one sampler window: dt seconds, its delta, the meter's max_watts. */
void validate_checks_window(struct validate_checks *c, const struct meter_delta *d, double dt,
			    double max_watts);
/* Sets c->sane and notes from the counters. */
void validate_checks_finish(struct validate_checks *c);

/* ---- a running agent (agentapi.c) --------------------------------------------- */

#define VAGENT_MAX_KEYS 16

struct vagent_snapshot {
	uint64_t ticks;
	double tick_s;                       /* the agent's tick interval */
	uint64_t meter_resets, meter_errors;
	char meter[32];
	uint32_t zone_mask;                  /* zones the agent reports */
	double node_j[ZONE_COUNT];           /* dynamic + idle joules per zone */
	/* for the workloads asked for (keys[] given to vagent_fetch) */
	bool found[VAGENT_MAX_KEYS];
	double dyn_j[VAGENT_MAX_KEYS][ZONE_COUNT]; /* dynamic joules per zone */
	double cpu_s[VAGENT_MAX_KEYS];       /* CPU seconds the agent counted */
};

struct vagent;
/* url: the agent's base URL, e.g. "http://127.0.0.1:9102". NULL on failure. */
struct vagent *vagent_new(const char *url, struct wl_err *err);
void vagent_free(struct vagent *a);
/* GET /api/v1/workloads and parse it. keys: n ledger keys (cgroup paths) whose
 * dynamic joules are wanted, or "pod:<uid>": the sum over every workload row of that
 * pod (its containers and sandbox). */
int vagent_fetch(struct vagent *a, const char *const *keys, size_t n,
		 struct vagent_snapshot *out, struct wl_err *err);
/* Parses a /api/v1/workloads document (for tests and vagent_fetch). */
int vagent_parse(const char *json, size_t len, const char *const *keys, size_t n,
		 struct vagent_snapshot *out, struct wl_err *err);

/* ---- workload targets (target_cgroup.c; Kubernetes later) ---------------------- */

/* "Start one more instance / where is its power": the part of a workload validation
 * that differs between standalone and Kubernetes. */
struct vtarget_ops {
	/* Optional (NULL: nothing to do): brings the target to zero instances before the
	 * baseline is measured. */
	int (*prepare)(void *impl, struct wl_err *err);
	/* Starts instance number `step` (1-based); fills key with the agent's workload
	 * key (ledger key: cgroup path relative to the CPU hierarchy) of the new instance. */
	int (*scale_up)(void *impl, int step, char *key, size_t cap, struct wl_err *err);
	/* true while instance `step` is still running */
	bool (*alive)(void *impl, int step);
	/* Optional (NULL: the agent's count is used): the CPU seconds instance `step` has
	 * used so far, read by the validator itself at the window edge. */
	int (*cpu_s)(void *impl, int step, double *seconds);
	/* Stops every instance and removes what scale_up created. Idempotent. */
	void (*teardown)(void *impl);
	void (*free)(void *impl);
};

struct vtarget {
	const struct vtarget_ops *ops;
	void *impl;
};

/* Standalone: each instance is argv run (in its own process group, stdin from
 * /dev/null) inside its own new cgroup <cpu_root><relbase>/step<k>, the hierarchy the
 * agent reads CPU time from; the process joins the cgroup before it execs. relbase
 * starts with '/' (e.g. "/wattlet-validate-1234"). Teardown SIGKILLs everything in the
 * cgroups, reaps the children and removes the directories. argv is copied. The
 * instances' CPU time is read from their cgroups (cpu.stat usage_usec, or v1
 * cpuacct.usage). */
int vtarget_cgroup_new(struct vtarget *t, const char *cpu_root, const char *relbase,
		       const char *const *argv, struct wl_err *err);
/* Kubernetes: each instance is one more replica of a Deployment (target_kube.c):
 * prepare scales it to 0 and waits until its pods are gone; scale_up(k) patches the
 * scale subresource to k replicas, waits until k pods are Ready and none terminating,
 * and keys the new pod as "pod:<uid>" (the agent sums the pod's cgroups); teardown
 * restores the replica count prepare found. */
struct kube_config;
struct vtarget_kube_opts {
	struct kube_config *kc;       /* API access; not owned, must outlive the target */
	const char *ns, *name;        /* the Deployment */
	const char *node;             /* this node: a new pod elsewhere is an error; NULL/"": any */
	uint64_t ready_timeout_ms;    /* each wait for pods; 0: 180 s */
	volatile sig_atomic_t *stop;  /* ends waits early (-EINTR) */
};
int vtarget_kube_new(struct vtarget *t, const struct vtarget_kube_opts *o, struct wl_err *err);
/* teardown + free; NULL-safe on t->ops */
void vtarget_close(struct vtarget *t);

/* ---- runs (run.c) --------------------------------------------------------------- */

struct validate_opts {
	const char *url;               /* agent base URL */
	size_t samples;                /* N windows per phase (>= 2) */
	uint64_t sample_ms;            /* D: window length */
	uint64_t settle_ms;            /* after each scale-up, before sampling */
	int steps;                     /* K (workload) */
	enum zone zone;                /* zone judged in workload mode */
	struct validate_thresholds thr;
	struct meter_opts meter;       /* the agent's meter options */
	volatile sig_atomic_t *stop;   /* set by a signal: the run stops, -EINTR */
	void (*progress)(void *ctx, const char *msg);
	void *progress_ctx;
};

struct vzone_result {                /* node check, one zone */
	struct vstats sampler_w;         /* per-window sampler power */
	struct vstats agent_w;           /* per-window agent power */
	double sampler_j, agent_j;       /* totals over the run */
	double deviation_pct;            /* (agent - sampler) / sampler, totals */
	bool pass;
};

/* The CPU used outside the instances in one phase (cores): per-window stats of node
 * busy CPU minus the instances' CPU, and its drift within the phase. */
struct vother_cpu {
	struct vstats cores;             /* mean/stddev/ci95 are in cores here */
	double drift;                    /* mean of the phase's second half of windows minus
					    its first half's; NAN when n < 2 */
};

struct vstep_result {
	int step;                        /* 1..K */
	char key[256];                   /* the new instance's workload key */
	struct vstats node_w;            /* sampler node power in this phase (judged zone) */
	double delta_w;                  /* node_w.mean - previous phase mean */
	double delta_ci95;               /* CI half-width of the delta */
	struct vstats wattlet_w;         /* agent's dynamic power of the new instance */
	double all_instances_delta_w;    /* change in the sum over all instances */
	double deviation_pct;            /* (wattlet_w.mean - delta_w) / delta_w x 100 */
	double deviation_ci95;           /* its 95 % CI half-width, percentage points */
	struct vstats cpu;               /* the new instance's CPU, cores */
	double all_instances_w;          /* agent's dynamic power summed over all instances */
	struct vother_cpu other;         /* CPU outside the instances in this phase */
	double other_change;             /* other.cores.mean - the previous phase's, cores */
	double other_limit;              /* allowed |change| and |drift| for this step:
					    max_other_bias x workload_pct / 100 x cpu.mean
					    (set by the phase, again by the judge from r->thr) */
	bool pass;
};

struct validate_report {
	const char *kind;                /* "node" or "workload" */
	enum verdict verdict;
	int attempt;                     /* workload: which run gave it (--attempts); 0 = 1 */
	char reason[512];
	double timestamp_s;              /* unix seconds at the end */
	size_t samples;
	double sample_s;
	struct validate_thresholds thr;
	struct validate_checks checks;
	/* node */
	uint32_t zone_mask;              /* zones compared */
	struct vzone_result zones[ZONE_COUNT];
	/* workload */
	enum zone zone;                  /* zone judged */
	char command[512];               /* the instance command, space-joined */
	struct vstats baseline_w;
	double baseline_cpu_util;        /* busy fraction of all CPUs during the baseline
					    (/proc/stat); < 0 unknown */
	double expected_step_w;
	bool other_known;                /* the other-CPU numbers below and in steps[] were
					    measured (false: the other-CPU rule is not applied) */
	struct vother_cpu baseline_other;
	int n_steps;
	struct vstep_result steps[VALIDATE_MAX_STEPS];
};

/* One phase's windows, as measured (or synthesised by a test): node_w is the sampler's
 * power of the judged zone, y[] holds the paired per-window series (VW_* rows).
 * n_inst instances were running (0 for the baseline). */
enum {
	VW_OTHER = 0,                                /* CPU outside the instances, cores */
	VW_INST_W = 1,                               /* + k: agent dynamic W, instance k */
	VW_INST_CPU = 1 + VALIDATE_MAX_STEPS,        /* + k: CPU of instance k, cores */
	VW_ROWS = 1 + 2 * VALIDATE_MAX_STEPS,
};
struct vwindows {
	size_t n;
	int n_inst;
	double node_w[VALIDATE_MAX_SAMPLES];
	double y[VW_ROWS][VALIDATE_MAX_SAMPLES];
};

/* Adds one measured phase to a workload report: phase 0 is the baseline, phase k the
 * step that started instance k (w->n_inst == k; phases in order, the report made by
 * the previous calls). Leaves out outlier windows (vstats_trim_outliers, all series
 * paired; w is compacted), then fills the phase's stats, its delta and deviation
 * against the previous phase, and the other-CPU numbers (other_known set when every
 * kept window's other CPU is finite). -EINVAL on a phase out of order or no windows. */
int validate_workload_phase(struct validate_report *r, int phase, struct vwindows *w);

void validate_opts_default(struct validate_opts *o);

/* Node validation against the agent at o->url. Fills r (also on failure, with
 * verdict ERROR and a reason). Returns 0 when a verdict was reached. */
int validate_node(const struct validate_opts *o, struct validate_report *r, struct wl_err *err);
/* Workload validation: baseline, then o->steps scale-ups of t. The caller tears t down
 * (always, also after an error or -EINTR). */
int validate_workload(const struct validate_opts *o, struct vtarget *t,
		      struct validate_report *r, struct wl_err *err);

/* Judges a filled report (judge.c): sets verdict, reason and the per-zone / per-step
 * pass flags from the numbers and r->thr. Used by the runs and the unit tests. */
void validate_judge_node(struct validate_report *r);
void validate_judge_workload(struct validate_report *r);

/* ---- report and state file (report.c) ------------------------------------------ */

/* The report as one JSON object (schema in docs/validation.md). */
int validate_report_json(const struct validate_report *r, struct strbuf *out);
/* Writes the report into the state file at path, keyed by its kind (the other kind's
 * last result is kept): read, replace, write to a temp file, fsync, rename. */
int validate_state_store(const char *path, const struct validate_report *r,
			 struct wl_err *err);
/* Reads the state file into v[EXPORT_VALIDATION_KINDS] (kinds absent: present=false).
 * -ENOENT when the file does not exist; -EINVAL (with a reason) when it is garbage. */
int validate_state_load(const char *path, struct export_validation v[EXPORT_VALIDATION_KINDS],
			struct wl_err *err);

/* Re-reads the state file only when its mtime (or size) changed since the last call.
 * Returns 1 when v was reloaded, 0 when unchanged, or a negative errno (the file is
 * gone: v is cleared and -ENOENT returned once per change). */
struct validate_watch {
	int64_t mtime_ns;
	int64_t size;
	bool seen;
};
int validate_state_poll(const char *path, struct validate_watch *w,
			struct export_validation v[EXPORT_VALIDATION_KINDS], struct wl_err *err);

#endif
