/* config.h - the agent's configuration: defaults, YAML file (libyaml), validation.
 *
 * Every field has a documented default (config_defaults(), README "Configuration").
 * config_load_file() applies a YAML file on top of what is in *c: unknown keys, wrong
 * types and out-of-range values are errors naming "file:line:column: message".
 * Command-line flags are applied by main after the file, with config_set() using the
 * same dotted key names as the file ("meter.order", "tick", ...), so a flag and a file
 * key are validated by one code path; its errors name the flag ("--set tick: ...").
 *
 * Ownership: struct config holds only fixed-size arrays; nothing to free.
 * Return convention: 0 or negative errno (-EINVAL for bad input) with err filled.
 */
#ifndef WATTLET_CONFIG_H
#define WATTLET_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "../attrib/attrib.h" /* enum idle_policy */
#include "../cgroup/cgroup.h"
#include "../common/loglevel.h"
#include "../common/util.h"
#include "../common/zone.h"
#include "../meter/meter.h"
#include "../usage/usage.h"

enum kube_mode { KUBE_AUTO, KUBE_ON, KUBE_OFF };
enum kube_pods_from { KUBE_FROM_KUBELET, KUBE_FROM_APISERVER };
enum gpu_mode { GPU_AUTO, GPU_ON, GPU_OFF };
enum http_auth { HTTP_AUTH_NONE, HTTP_AUTH_KUBE };

struct config {
	uint64_t tick_ms;              /* "tick": 1s; 100ms..60s */
	char listen[128];              /* "listen": "0.0.0.0:9102"; "" disables HTTP */
	unsigned http_max_connections; /* http.max_connections: 64; 1..65536, and never more
					  than RLIMIT_NOFILE/4 minus 6 (export/http.h) */
	uint64_t http_idle_timeout_ms; /* http.idle_timeout: 10s; 100ms..1h: a connection with
					  no request or response progress is closed */
	char http_tls_cert[PATH_MAX];  /* http.tls_cert_file: "" = plain HTTP; PEM certificate
					  (chain); set together with http.tls_key_file */
	char http_tls_key[PATH_MAX];   /* http.tls_key_file: PEM private key */
	enum http_auth http_auth;      /* http.auth: none | kubernetes (TokenReview +
					  SubjectAccessReview; needs TLS) */
	uint64_t http_auth_ttl_ms;     /* http.auth_cache_ttl: 2m; 1s..1h: how long an allowed
					  verdict is reused (denials: a tenth, at most 10s) */
	bool http_ui;                  /* http.ui: true; the /ui page and its WebSocket /ui/ws */
	unsigned http_ui_max_clients;  /* http.ui_max_clients: 0 = auto (16, lowered to
					  leave a connection free); 1..1024 set explicitly,
					  below http.max_connections: WebSocket clients */
	unsigned http_ui_rows;         /* http.ui_rows: 20; 1..200: workloads in a /ui frame */

	/* meter.* */
	enum meter_kind meter_order[METER_KIND_COUNT]; /* meter.order */
	int meter_n_order;             /* default powercap, perf, msr, hwmon, acpi */
	char sysfs_root[PATH_MAX];     /* meter.sysfs_root: /sys */
	char powercap_root[PATH_MAX];  /* meter.powercap_root: "" = <sysfs_root>/class/powercap */
	char dev_root[PATH_MAX];       /* meter.dev_root: /dev */
	double meter_max_watts;        /* meter.max_watts: 2000; reset-vs-wrap threshold */
	uint64_t meter_reprobe_ms;     /* meter.reprobe_interval: 30s; 0..1h, 0 = never. While
					  no meter is in use, meters are probed again this often */

	/* cgroup.* */
	char cgroup_root[PATH_MAX];    /* cgroup.root: /sys/fs/cgroup */
	enum cg_pref cgroup_hierarchy; /* cgroup.hierarchy: auto | v1 | v2 */
	bool containers_only;          /* cgroup.containers_only: false; true folds
					  non-container cgroups into "system" */
	unsigned max_cgroups;          /* cgroup.max_cgroups: 16384 */

	/* usage.* */
	enum usage_source usage_source; /* usage.source: auto | ebpf | cgroup */
	char proc_root[PATH_MAX];       /* usage.proc_root: /proc */

	/* model.* */
	double idle_watts[ZONE_COUNT];  /* model.idle_watts.<zone>: unset (<0) = learn */
	uint64_t idle_window_ms;        /* model.idle_window: 30m; 1m..24h */
	double idle_percentile;         /* model.idle_percentile: 5; 0..50 */
	double idle_low_util;           /* model.idle_low_utilization: 0.10; 0..1 */
	enum feature zone_feature[ZONE_COUNT]; /* model.features.<zone>: package and core
						  instructions, dram cache_misses, others
						  cpu_time; an unmeasured feature (no PMU)
						  falls back to cpu_time */
	char model_file[PATH_MAX];      /* model.file: "" = none; a PowerModel YAML
					  (docs/api.md, docs/models.md) for this node */
	char idle_class[64];            /* model.idle_class: "" = derive the node's hardware
					  class (kube/kube_classidle.h); "off" = no sharing;
					  else this class name */
	uint64_t idle_class_refresh_ms; /* model.idle_class_refresh: 5m; 10s..1h */
	uint64_t idle_class_publish_ms; /* model.idle_class_publish: 1h; 1m..24h */

	/* attribution.* */
	enum idle_policy idle_policy;   /* attribution.idle_policy: even */
	double test_bias;               /* attribution.test_bias: 0; -0.9..10. TEST ONLY:
					   every workload's dynamic share is scaled by
					   (1 + bias) (system absorbs the difference), so a
					   validation can be shown to catch a wrong split */

	/* ledger.* */
	char checkpoint_path[PATH_MAX]; /* ledger.checkpoint: /var/lib/wattlet/ledger.ckpt;
					   "" disables */
	uint64_t checkpoint_interval_ms; /* ledger.checkpoint_interval: 10s */
	uint64_t retention_ms;          /* ledger.retention: 10m; terminated workloads kept */

	/* metrics.* */
	bool kepler_compat;             /* metrics.kepler_compat: false */
	bool per_cgroup_metrics;        /* metrics.workloads: true */
	bool metrics_detail;            /* metrics.detail: false (lean series) */

	/* kubernetes.* */
	enum kube_mode kube_enabled;    /* kubernetes.enabled: auto (on when in a pod's
					   service-account env or kubeconfig is set) | true | false */
	char kubeconfig[PATH_MAX];      /* kubernetes.kubeconfig: "" = in-cluster */
	char node_name[256];            /* kubernetes.node_name: "" = $NODE_NAME, else hostname */
	enum kube_pods_from pods_from;  /* kubernetes.pod_source: kubelet | apiserver */
	char kubelet_address[256];      /* kubernetes.kubelet_address: "" = $HOST_IP, else node name */
	unsigned kubelet_port;          /* kubernetes.kubelet_port: 10250 */
	bool kubelet_insecure;          /* kubernetes.kubelet_insecure_skip_verify: false (explicit
					   opt-out; the cluster CA verifies the kubelet otherwise) */
	uint64_t pods_refresh_ms;       /* kubernetes.pods_refresh: 30s */
	uint64_t podenergy_interval_ms; /* kubernetes.podenergy_interval: 60s (EnergyPolicy's
					   updateInterval overrides per pod) */
	double write_qps;               /* kubernetes.write_qps: 5 writes/s per node */
	double write_budget;            /* kubernetes.write_budget_per_s: 50 writes/s of all
					   agents together (docs/kube.md); 0: no budget */
	double write_ceiling;           /* kubernetes.write_ceiling_per_node_per_s: 2; > 0
					   while a budget is set */

	/* log.* */
	enum log_level log_level;       /* log.level: info */

	/* gpu.* (docs/gpu.md) */
	enum gpu_mode gpu_enabled;      /* gpu.enabled: auto (NVIDIA GPUs through NVML when the
					   library loads and lists a GPU) | true (required:
					   failing to open is an error) | false */
	char gpu_library[PATH_MAX];     /* gpu.library: libnvidia-ml.so.1 (dlopen name or path) */

	/* redfish.* (docs/redfish.md): zone platform from a BMC */
	char redfish_endpoint[512];     /* redfish.endpoint: "" (off) | https://HOST[:PORT] */
	char redfish_chassis[128];      /* redfish.chassis: "" = the first chassis listed */
	char redfish_cred_file[PATH_MAX]; /* redfish.credentials_file: user:password or a token */
	char redfish_ca_file[PATH_MAX]; /* redfish.ca_file: "" = the system CAs */
	bool redfish_insecure;          /* redfish.insecure_skip_verify: false */
	uint64_t redfish_interval_ms;   /* redfish.interval: 5s between polls */
	uint64_t redfish_timeout_ms;    /* redfish.timeout: 10s per request */
	uint64_t redfish_stale_ms;      /* redfish.stale_after: 30s */
	bool redfish_energy_counter;    /* redfish.energy_counter: true (EnergykWh when given) */

	/* validate.* */
	char validate_result_file[PATH_MAX]; /* validate.result_file:
						/var/lib/wattlet/validation.json; "" disables */
};

void config_defaults(struct config *c);
int config_load_file(struct config *c, const char *path, struct wl_err *err);
/* key is a dotted path as in the YAML file, value its scalar text; a list value
 * (meter.order) is comma-separated. */
int config_set(struct config *c, const char *key, const char *value, struct wl_err *err);
/* Cross-field checks after everything is applied. */
int config_validate(const struct config *c, struct wl_err *err);
/* Writes the effective configuration as YAML (for `wattlet config` / docs).
 * config_load_file() reads it back to the same struct. -ENOSPC if cap is too small
 * (buf then holds a truncated, NUL-terminated prefix). */
int config_dump(const struct config *c, char *buf, size_t cap);

const char *idle_policy_name(enum idle_policy p);
int idle_policy_from_name(const char *name);
const char *log_level_name(enum log_level l);
int log_level_from_name(const char *name); /* level or -EINVAL */

/* "1s", "500ms", "10m", "2h", "1500" (ms) -> ms. -EINVAL on garbage or overflow. */
int parse_duration_ms(const char *s, uint64_t *ms);

#endif
