/* export.h - renders the ledger for the outside world: Prometheus text and JSON.
 *
 * Exporters only read: every number comes from the ledger and the agent status;
 * nothing is recomputed here (docs/design.md). Output goes into a capped strbuf.
 *
 * Return convention: 0 or negative errno (-E2BIG when the output cap was hit).
 */
#ifndef WATTLET_EXPORT_H
#define WATTLET_EXPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../common/zone.h"
#include "../ledger/ledger.h"
#include "http.h"

/* The last platform validation result of one kind (`wattlet validate`, read by the
 * daemon from validate.result_file). */
enum { EXPORT_VALIDATION_NODE, EXPORT_VALIDATION_WORKLOAD, EXPORT_VALIDATION_KINDS };
struct export_validation {
	bool present;                     /* a result of this kind was loaded */
	bool passed;                      /* verdict "pass" (fail and refused are not) */
	double timestamp_s;               /* unix time the validation finished */
	uint32_t zone_mask;               /* zones with a deviation */
	double deviation_percent[ZONE_COUNT]; /* node: per zone; workload: worst step */
};

/* The agent's writes to the Kubernetes API (kube_writer), by resource. */
enum { EXPORT_KUBE_PODENERGIES, EXPORT_KUBE_NODEENERGIES, EXPORT_KUBE_EVENTS,
       EXPORT_KUBE_RESOURCES };
struct export_kube_writes {
	uint64_t ok[EXPORT_KUBE_RESOURCES];       /* objects written, Events created */
	uint64_t failed[EXPORT_KUBE_RESOURCES];   /* writes that failed (any reason) */
	uint64_t requests[EXPORT_KUBE_RESOURCES]; /* HTTP requests sent */
	uint64_t skipped_unchanged; /* due by interval but unchanged: not written */
	uint64_t rate_limited;      /* writes that had to wait for the rate limit */
	uint64_t backoffs;          /* times the writer backed off (429, 5xx, no answer) */
	/* failed writes by resource and reason (the API Status reason: Invalid, Forbidden,
	 * ...; NoResponse): wattlet_kube_write_failures_total, nonzero entries only. The
	 * strings are static label values (no escaping). */
	struct { const char *resource, *reason; uint64_t count; } fail[64];
	size_t n_fail;
	/* The cluster write budget (docs/kube.md, "Write budget"); budget false: off, no
	 * series. nodes_source: "api", "override" or "unknown" (static; nodes 0). */
	bool budget;
	double write_share;   /* requests/s this node may send: its share of the budget */
	double write_stretch; /* PodEnergy/NodeEnergy intervals are multiplied by this */
	unsigned cluster_nodes;
	const char *nodes_source;
};

/* The Redfish platform power source (docs/redfish.md); filled by the daemon each tick. */
struct export_redfish {
	const char *resource;        /* "EnvironmentMetrics", "PowerSubsystem", "Power" or ""
					(none found yet) */
	bool stale;                  /* no reading within redfish.stale_after: zone platform
					stale, nothing invented */
	double reading_age_s;        /* age of the newest reading; < 0: none yet */
	double watts;                /* the newest reading */
	uint64_t polls;
	const char *const *err_names; /* [n_err] label values of ..._poll_errors_total */
	const uint64_t *errors;       /* [n_err] failed polls by reason */
	int n_err;
};

/* What the daemon knows about itself; filled by the daemon each tick. */
struct agent_status {
	const struct ledger *pods;    /* per-pod aggregates (Kubernetes), or NULL */
	const char *version;
	const char *node_name;        /* hostname, or the Kubernetes node name */
	const char *meter;            /* meter kind in use, or "none" */
	const char *meter_detail;     /* domains in use */
	const char *usage_source;     /* "ebpf" or "cgroup" */
	const char *cgroup_mode;      /* "v1", "v2", "hybrid" */
	const char *energy_source;    /* "meter", "model", "meter+model" or "none" */
	const char *model_name;       /* PowerModel in use; NULL/"" = "builtin-ratio" */
	uint32_t estimated_zones;     /* bit z: zone z's energy is estimated by the model */
	bool ready;                   /* at least one full tick done */
	uint64_t start_time_s;        /* unix seconds the agent started */
	double tick_interval_s;
	double idle_watts[ZONE_COUNT];        /* idle power in use per zone */
	const char *idle_source[ZONE_COUNT];  /* "configured", "learned", "fallback" */
	const char *zone_feature[ZONE_COUNT]; /* feature sharing the zone's dynamic energy */
	uint64_t ticks;
	double last_tick_seconds;     /* CPU-independent wall time of the last tick's work */
	double tick_seconds_sum;
	uint64_t meter_errors;        /* zone reads that failed */
	uint64_t meter_resets;        /* counter resets detected */
	uint64_t usage_dropped;       /* cgroups not tracked because of the bound */
	uint64_t usage_vanished;      /* cgroups that vanished mid-read */
	uint64_t checkpoint_errors;
	uint64_t checkpoint_writes;
	double self_cpu_seconds;      /* the agent's own CPU time */
	uint64_t self_rss_bytes;
	struct export_validation validation[EXPORT_VALIDATION_KINDS]; /* last validations */
	const struct export_kube_writes *kube_writes; /* NULL: Kubernetes off (no series) */
	const struct http_stats *http; /* the HTTP server's counters; NULL: no series */
	const struct export_redfish *redfish; /* NULL: no Redfish source (no series) */
	bool metrics_cached;          /* /metrics comes from metrics_cache: render counters */
	uint64_t metrics_renders_tick;   /* renders done at a tick's end before this one */
	uint64_t metrics_renders_scrape; /* renders done by a scrape before this one */
};

/* Set in export_zones_present()'s mask, above the zone bits (loops over zones never see
 * it), when zone platform is present and reads the whole machine, discrete GPUs included
 * (node->platform_whole: the BMC over Redfish, an ACPI power meter). */
#define EXPORT_ZONES_PLATFORM_WHOLE (1u << 31)
/* Which zones to show: those the meter measures plus any holding energy (and
 * EXPORT_ZONES_PLATFORM_WHOLE, for the totals below). */
uint32_t export_zones_present(const struct ledger_node *n);
/* Whole-machine totals without double counting, over the zones in `zones`:
 *   platform that includes the GPUs (EXPORT_ZONES_PLATFORM_WHOLE)  platform alone;
 *   platform without them (RAPL psys; hwmon, coverage unknown)      platform + gpu;
 *   no platform                                                     package + dram + gpu.
 * core and uncore are inside package, package and dram inside platform. */
double export_total_watts(const double w[ZONE_COUNT][MODE_COUNT], uint32_t zones);
double export_mode_watts(const double w[ZONE_COUNT][MODE_COUNT], uint32_t zones, enum mode m);
uint64_t export_total_uj(const uint64_t uj[ZONE_COUNT][MODE_COUNT], uint32_t zones);

/* What /metrics shows (metrics.* keys, docs/metrics.md). Zeroed = the defaults: lean
 * workload and pod series, no Kepler names. */
struct export_metrics_opts {
	bool detail;        /* metrics.detail: every zone x mode as joules and watts, and the
			     * full cgroup path, container id, runtime and pod uid as labels */
	bool kepler_compat; /* metrics.kepler_compat: also Kepler's names */
	bool no_workloads;  /* metrics.workloads: false: node and agent series only */
};

/* Appends the Prometheus text exposition to out. 0, -E2BIG (out's cap), -ENOMEM,
 * -EINVAL (a NULL argument). */
int export_metrics_render(const struct ledger *l, const struct agent_status *s,
			  const struct export_metrics_opts *opts, struct strbuf *out);
/* export_metrics_render() in detail mode (the full series). */
int export_metrics(const struct ledger *l, const struct agent_status *s, bool kepler_compat,
		   struct strbuf *out);
int export_json_workloads(const struct ledger *l, const struct agent_status *s,
			  struct strbuf *out);

#endif
