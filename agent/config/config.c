/* config.c - the key table, defaults and --set overrides for struct config.
 *
 * One table (config_keys[]) describes every leaf key: its dotted path, type, where it
 * lives in struct config and its range. The file walker (config_file.c) and
 * config_set() both end in cfg_apply_scalar(), so a value is checked by exactly one
 * piece of code whichever way it arrives. Error text is built as "<where>: <key>:
 * <why>", where <where> is "FILE:LINE:COL" (1-based, from libyaml marks) or "--set KEY".
 * Validation is in config_validate.c, the YAML dump in config_dump.c; the internals
 * they share are declared in config_impl.h.
 */
#include "config.h"
#include "config_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/duration.h"
#include "../common/nametab.h"

/* ---- name tables ------------------------------------------------------------ */

static const char *const idle_policy_names[] = {
	[IDLE_NONE] = "none", [IDLE_EVEN] = "even", [IDLE_USAGE] = "usage",
	[IDLE_REQUEST] = "request",
};
static const char *const log_level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};
static const char *const kube_mode_names[] = {
	[KUBE_AUTO] = "auto", [KUBE_ON] = "true", [KUBE_OFF] = "false",
};
static const char *const gpu_mode_names[] = {
	[GPU_AUTO] = "auto", [GPU_ON] = "true", [GPU_OFF] = "false",
};
static const char *const pods_from_names[] = {
	[KUBE_FROM_KUBELET] = "kubelet", [KUBE_FROM_APISERVER] = "apiserver",
};
static const char *const http_auth_names[] = {
	[HTTP_AUTH_NONE] = "none", [HTTP_AUTH_KUBE] = "kubernetes",
};
static const char *const hierarchy_names[] = {
	[CG_PREF_AUTO] = "auto", [CG_PREF_V1] = "v1", [CG_PREF_V2] = "v2",
};

const char *idle_policy_name(enum idle_policy p)
{
	return nametab_name(idle_policy_names, NELEM(idle_policy_names), p, "unknown");
}

int idle_policy_from_name(const char *name)
{
	return nametab_find(idle_policy_names, NELEM(idle_policy_names), name);
}

const char *log_level_name(enum log_level l)
{
	return nametab_name(log_level_names, NELEM(log_level_names), l, "unknown");
}

int log_level_from_name(const char *name)
{
	return nametab_find(log_level_names, NELEM(log_level_names), name);
}

/* ---- the key table ---------------------------------------------------------- */

#define STR(p, f, ne) { p, K_STRING, OFF(f), sizeof(((struct config *)0)->f), 0, 0, ne, NULL, 0 }
#define DUR(p, f, lo, hi) { p, K_DURATION, OFF(f), 0, lo, hi, false, NULL, 0 }
#define DBL(p, f, lo, hi) { p, K_DOUBLE, OFF(f), 0, lo, hi, false, NULL, 0 }
#define ENUMK(p, f, tab) { p, K_ENUM, OFF(f), 0, 0, 0, false, tab, NELEM(tab) }
#define BOOLK(p, f) { p, K_BOOL, OFF(f), 0, 0, 0, false, NULL, 0 }
#define SECT(p) { p, K_SECTION, 0, 0, 0, 0, false, NULL, 0 }

const struct key_desc config_keys[] = {
	DUR("tick", tick_ms, 100, 60 * MS_S),
	STR("listen", listen, false),
	SECT("http"),
	{ "http.max_connections", K_UINT, OFF(http_max_connections), 0, 1, 65536, false, NULL, 0 },
	DUR("http.idle_timeout", http_idle_timeout_ms, 100, MS_H),
	STR("http.tls_cert_file", http_tls_cert, false),
	STR("http.tls_key_file", http_tls_key, false),
	ENUMK("http.auth", http_auth, http_auth_names),
	DUR("http.auth_cache_ttl", http_auth_ttl_ms, MS_S, MS_H),
	BOOLK("http.ui", http_ui),
	{ "http.ui_max_clients", K_UINT, OFF(http_ui_max_clients), 0, 0, 1024, false, NULL, 0 },
	{ "http.ui_rows", K_UINT, OFF(http_ui_rows), 0, 1, 200, false, NULL, 0 },
	SECT("meter"),
	{ "meter.order", K_METERS, OFF(meter_order), 0, 0, 0, false, meter_kind_names, METER_KIND_COUNT },
	STR("meter.sysfs_root", sysfs_root, true),
	STR("meter.powercap_root", powercap_root, false),
	STR("meter.dev_root", dev_root, true),
	DBL("meter.max_watts", meter_max_watts, 1, 100000),
	DUR("meter.reprobe_interval", meter_reprobe_ms, 0, MS_H),
	SECT("cgroup"),
	STR("cgroup.root", cgroup_root, true),
	ENUMK("cgroup.hierarchy", cgroup_hierarchy, hierarchy_names),
	BOOLK("cgroup.containers_only", containers_only),
	{ "cgroup.max_cgroups", K_UINT, OFF(max_cgroups), 0, 1, 1048576, false, NULL, 0 },
	SECT("usage"),
	ENUMK("usage.source", usage_source, usage_source_names),
	STR("usage.proc_root", proc_root, true),
	SECT("model"),
	{ "model.idle_watts", K_ZONE_WATTS, OFF(idle_watts), 0, 0, 100000, false, NULL, 0 },
	DUR("model.idle_window", idle_window_ms, MS_M, 24 * MS_H),
	DBL("model.idle_percentile", idle_percentile, 0, 50),
	DBL("model.idle_low_utilization", idle_low_util, 0, 1),
	{ "model.features", K_ZONE_FEATURE, OFF(zone_feature), 0, 0, 0, false, NULL, 0 },
	STR("model.file", model_file, false),
	STR("model.idle_class", idle_class, false),
	DUR("model.idle_class_refresh", idle_class_refresh_ms, 10 * MS_S, MS_H),
	DUR("model.idle_class_publish", idle_class_publish_ms, MS_M, 24 * MS_H),
	SECT("attribution"),
	ENUMK("attribution.idle_policy", idle_policy, idle_policy_names),
	DBL("attribution.test_bias", test_bias, -0.9, 10),
	SECT("ledger"),
	STR("ledger.checkpoint", checkpoint_path, false),
	DUR("ledger.checkpoint_interval", checkpoint_interval_ms, 0, 24 * MS_H),
	DUR("ledger.retention", retention_ms, 0, 7 * 24 * MS_H),
	SECT("metrics"),
	BOOLK("metrics.kepler_compat", kepler_compat),
	BOOLK("metrics.workloads", per_cgroup_metrics),
	BOOLK("metrics.detail", metrics_detail),
	SECT("log"),
	ENUMK("log.level", log_level, log_level_names),
	SECT("kubernetes"),
	ENUMK("kubernetes.enabled", kube_enabled, kube_mode_names),
	STR("kubernetes.kubeconfig", kubeconfig, false),
	STR("kubernetes.node_name", node_name, false),
	ENUMK("kubernetes.pod_source", pods_from, pods_from_names),
	STR("kubernetes.kubelet_address", kubelet_address, false),
	{ "kubernetes.kubelet_port", K_UINT, OFF(kubelet_port), 0, 1, 65535, false, NULL, 0 },
	BOOLK("kubernetes.kubelet_insecure_skip_verify", kubelet_insecure),
	DUR("kubernetes.pods_refresh", pods_refresh_ms, MS_S, MS_H),
	DUR("kubernetes.podenergy_interval", podenergy_interval_ms, 10 * MS_S, MS_H),
	DBL("kubernetes.write_qps", write_qps, 0.1, 1000),
	DBL("kubernetes.write_budget_per_s", write_budget, 0, 1000000),
	DBL("kubernetes.write_ceiling_per_node_per_s", write_ceiling, 0, 1000),
	SECT("validate"),
	STR("validate.result_file", validate_result_file, false),
	SECT("gpu"),
	ENUMK("gpu.enabled", gpu_enabled, gpu_mode_names),
	STR("gpu.library", gpu_library, true),
	SECT("redfish"),
	STR("redfish.endpoint", redfish_endpoint, false),
	STR("redfish.chassis", redfish_chassis, false),
	STR("redfish.credentials_file", redfish_cred_file, false),
	STR("redfish.ca_file", redfish_ca_file, false),
	BOOLK("redfish.insecure_skip_verify", redfish_insecure),
	DUR("redfish.interval", redfish_interval_ms, 200, 10 * MS_M),
	DUR("redfish.timeout", redfish_timeout_ms, 100, MS_M),
	DUR("redfish.stale_after", redfish_stale_ms, MS_S, MS_H),
	BOOLK("redfish.energy_counter", redfish_energy_counter),
};

const int config_nkeys = NELEM(config_keys);

const struct key_desc *cfg_find_key(const char *path)
{
	for (int i = 0; i < NELEM(config_keys); i++)
		if (strcmp(config_keys[i].path, path) == 0)
			return &config_keys[i];
	return NULL;
}

/* ---- defaults --------------------------------------------------------------- */

void config_defaults(struct config *c)
{
	if (!c)
		return;
	memset(c, 0, sizeof(*c));
	c->tick_ms = 1000;
	snprintf(c->listen, sizeof(c->listen), "%s", "0.0.0.0:9102");
	c->http_max_connections = 64;
	c->http_idle_timeout_ms = 10 * MS_S;
	c->http_auth = HTTP_AUTH_NONE;
	c->http_auth_ttl_ms = 2 * MS_M;
	c->http_ui = true;
	c->http_ui_max_clients = 0; /* auto: 16, below http.max_connections */
	c->http_ui_rows = 20;
	c->meter_order[0] = METER_POWERCAP;
	c->meter_order[1] = METER_PERF;
	c->meter_order[2] = METER_MSR;
	c->meter_order[3] = METER_HWMON;
	c->meter_order[4] = METER_ACPI;
	c->meter_n_order = 5;
	snprintf(c->sysfs_root, sizeof(c->sysfs_root), "%s", "/sys");
	c->powercap_root[0] = '\0';
	snprintf(c->dev_root, sizeof(c->dev_root), "%s", "/dev");
	c->meter_max_watts = 2000;
	c->meter_reprobe_ms = 30 * MS_S;
	snprintf(c->cgroup_root, sizeof(c->cgroup_root), "%s", "/sys/fs/cgroup");
	c->cgroup_hierarchy = CG_PREF_AUTO;
	c->containers_only = false;
	c->max_cgroups = 16384;
	c->usage_source = USAGE_AUTO;
	snprintf(c->proc_root, sizeof(c->proc_root), "%s", "/proc");
	for (int z = 0; z < ZONE_COUNT; z++) {
		c->idle_watts[z] = -1;
		c->zone_feature[z] = FEAT_CPU_TIME;
	}
	/* Where a PMU exists: compute-bound zones by instructions, memory by cache
	 * misses. Attribution uses CPU time for any feature that is not measured. */
	c->zone_feature[ZONE_PACKAGE] = FEAT_INSTRUCTIONS;
	c->zone_feature[ZONE_CORE] = FEAT_INSTRUCTIONS;
	c->zone_feature[ZONE_DRAM] = FEAT_CACHE_MISSES;
	c->idle_window_ms = 30 * MS_M;
	c->idle_percentile = 5;
	c->idle_low_util = 0.10;
	c->idle_class_refresh_ms = 5 * MS_M;
	c->idle_class_publish_ms = MS_H;
	c->idle_policy = IDLE_EVEN;
	snprintf(c->checkpoint_path, sizeof(c->checkpoint_path), "%s",
		 "/var/lib/wattlet/ledger.ckpt");
	snprintf(c->validate_result_file, sizeof(c->validate_result_file), "%s",
		 "/var/lib/wattlet/validation.json");
	c->checkpoint_interval_ms = 10 * MS_S;
	c->retention_ms = 10 * MS_M;
	c->kepler_compat = false;
	c->per_cgroup_metrics = true;
	c->metrics_detail = false;
	c->log_level = LOG_INFO;
	c->kube_enabled = KUBE_AUTO;
	c->gpu_enabled = GPU_AUTO;
	snprintf(c->gpu_library, sizeof(c->gpu_library), "%s", "libnvidia-ml.so.1");
	c->redfish_interval_ms = 5 * MS_S; /* redfish.endpoint "": no Redfish source */
	c->redfish_timeout_ms = 10 * MS_S;
	c->redfish_stale_ms = 30 * MS_S;
	c->redfish_energy_counter = true;
	c->pods_from = KUBE_FROM_KUBELET;
	c->kubelet_port = 10250;
	c->pods_refresh_ms = 30 * MS_S;
	c->podenergy_interval_ms = 60 * MS_S;
	c->write_qps = 5;
	c->write_budget = 50;
	c->write_ceiling = 2;
}

/* ---- durations -------------------------------------------------------------- */

/* The config file's and command line's rules (common/duration.h): a bare integer is
 * milliseconds, a fraction must give whole milliseconds; overflow is -EINVAL here. */
int parse_duration_ms(const char *s, uint64_t *ms)
{
	return duration_parse_ms(s, DURATION_BARE_MS | DURATION_EXACT, ms) < 0 ? -EINVAL : 0;
}

/* Shortest exact spelling: 1800000 -> "30m", 1500 -> "1500ms", 90000 -> "90s". */
void cfg_format_duration(uint64_t ms, char *buf, size_t cap)
{
	if (ms != 0 && ms % MS_H == 0)
		snprintf(buf, cap, "%lluh", (unsigned long long)(ms / MS_H));
	else if (ms != 0 && ms % MS_M == 0)
		snprintf(buf, cap, "%llum", (unsigned long long)(ms / MS_M));
	else if (ms != 0 && ms % MS_S == 0)
		snprintf(buf, cap, "%llus", (unsigned long long)(ms / MS_S));
	else if (ms != 0)
		snprintf(buf, cap, "%llums", (unsigned long long)ms);
	else
		snprintf(buf, cap, "0");
}

/* ---- helpers ---------------------------------------------------------------- */

static void list_names(char *buf, size_t cap, const char *const *names, int n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && used < cap; i++) {
		int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* Optimal string alignment distance (Levenshtein plus adjacent transposition);
 * strings longer than 63 bytes count as "far". */
static int edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int d[64][64];

	if (la > 63 || lb > 63)
		return 1000;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];
			int v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* " (did you mean "x"?)" for the closest candidate within distance 2, else "". */
static void suggest(char *buf, size_t cap, const char *word, const char *const *cands, int n)
{
	int best = 3, bi = -1;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		int dist = edit_distance(word, cands[i]);
		if (dist < best) {
			best = dist;
			bi = i;
		}
	}
	if (bi >= 0)
		snprintf(buf, cap, " (did you mean \"%s\"?)", cands[bi]);
}

static bool valid_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i];
		size_t more;
		unsigned cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			more = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			more = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			more = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (i + more >= n)
			return false;
		for (size_t k = 1; k <= more; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += more + 1;
	}
	return true;
}

void cfg_range_text(const struct key_desc *d, char *buf, size_t cap)
{
	if (d->type == K_DURATION) {
		char lo[32], hi[32];
		cfg_format_duration((uint64_t)d->min, lo, sizeof(lo));
		cfg_format_duration((uint64_t)d->max, hi, sizeof(hi));
		snprintf(buf, cap, "%s..%s", lo, hi);
	} else {
		snprintf(buf, cap, "%.15g..%.15g", d->min, d->max);
	}
}

/* "host:port" with a numeric port 0..65535 (0: the kernel picks a free one, which the
 * daemon logs); host may be empty, a name, an IPv4 address or a bracketed IPv6
 * address. "" (HTTP off) is accepted by the caller. */
bool cfg_valid_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (!colon || colon[1] == '\0' || parse_u64(colon + 1, &port) < 0 ||
	    port > 65535 || isspace((unsigned char)colon[1]))
		return false;
	if (s[0] == '[')
		return colon > s && colon[-1] == ']';
	for (const char *p = s; p < colon; p++)
		if (*p == ':' || isspace((unsigned char)*p))
			return false;
	return true;
}

/* ---- applying one value (shared by the file walker and config_set) ----------- */

/* Parses text (len bytes, may hold a NUL that is then refused) for key d and, for
 * zone maps, zone z; stores it in c. On error fills why (no location prefix). */
int cfg_apply_scalar(struct config *c, const struct key_desc *d, int z, const char *text,
		     size_t len, char *why, size_t cap)
{
	char *base = (char *)c + d->off;
	char rng[80];

	if (strlen(text) != len) {
		snprintf(why, cap, "value contains a NUL byte");
		return -EINVAL;
	}
	switch (d->type) {
	case K_DURATION: {
		uint64_t ms;
		if (parse_duration_ms(text, &ms) < 0) {
			snprintf(why, cap,
				 "expected a duration such as \"500ms\", \"1s\", \"1.5s\", \"10m\", "
				 "\"2h\" or whole milliseconds, got \"%.64s\"", text);
			return -EINVAL;
		}
		if ((double)ms < d->min || (double)ms > d->max) {
			cfg_range_text(d, rng, sizeof(rng));
			snprintf(why, cap, "%.64s is out of range (%s)", text, rng);
			return -ERANGE;
		}
		*(uint64_t *)(void *)base = ms;
		return 0;
	}
	case K_STRING:
		if (!valid_utf8(text, len)) {
			snprintf(why, cap, "value is not valid UTF-8");
			return -EINVAL;
		}
		if (len >= d->size) {
			snprintf(why, cap, "value is %zu bytes long, at most %zu allowed", len,
				 d->size - 1);
			return -ERANGE;
		}
		if (d->nonempty && len == 0) {
			snprintf(why, cap, "must not be empty");
			return -EINVAL;
		}
		if (d->off == OFF(listen) && len && !cfg_valid_listen(text)) {
			snprintf(why, cap,
				 "expected HOST:PORT with a port in 0..65535 (or \"\" to disable "
				 "HTTP), got \"%.64s\"", text);
			return -EINVAL;
		}
		memcpy(base, text, len + 1);
		return 0;
	case K_BOOL:
		if (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "TRUE")) {
			*(bool *)(void *)base = true;
		} else if (!strcmp(text, "false") || !strcmp(text, "False") ||
			   !strcmp(text, "FALSE")) {
			*(bool *)(void *)base = false;
		} else {
			snprintf(why, cap, "expected a boolean (true or false), got \"%.64s\"", text);
			return -EINVAL;
		}
		return 0;
	case K_DOUBLE:
	case K_ZONE_WATTS: {
		double v;
		int r = parse_double(text, &v);
		if (d->type == K_ZONE_WATTS && strcmp(text, "learn") == 0) {
			((double *)(void *)base)[z] = -1;
			return 0;
		}
		if (r == -EINVAL || (text[0] && isspace((unsigned char)text[0]))) {
			snprintf(why, cap, "expected a number%s, got \"%.64s\"",
				 d->type == K_ZONE_WATTS ? " of watts (or \"learn\")" : "", text);
			return -EINVAL;
		}
		if (r < 0 || v < d->min || v > d->max) {
			cfg_range_text(d, rng, sizeof(rng));
			snprintf(why, cap, "%.64s is out of range (%s)", text, rng);
			return -ERANGE;
		}
		if (d->type == K_ZONE_WATTS)
			((double *)(void *)base)[z] = v;
		else
			*(double *)(void *)base = v;
		return 0;
	}
	case K_UINT: {
		uint64_t v;
		int r = parse_u64(text, &v);
		if (r == -EINVAL || isspace((unsigned char)text[0])) {
			snprintf(why, cap, "expected a whole number, got \"%.64s\"", text);
			return -EINVAL;
		}
		if (r < 0 || (double)v < d->min || (double)v > d->max) {
			cfg_range_text(d, rng, sizeof(rng));
			snprintf(why, cap, "%.64s is out of range (%s)", text, rng);
			return -ERANGE;
		}
		*(unsigned *)(void *)base = (unsigned)v;
		return 0;
	}
	case K_ENUM: {
		int v = nametab_find(d->names, (size_t)d->n_names, text);
		if (v < 0) {
			char all[160];
			list_names(all, sizeof(all), d->names, d->n_names);
			snprintf(why, cap, "\"%.64s\" is not one of: %s", text, all);
			return -EINVAL;
		}
		*(int *)(void *)base = v;
		return 0;
	}
	case K_ZONE_FEATURE: {
		int v = feature_from_name(text);
		if (v < 0) {
			const char *names[FEAT_COUNT];
			char all[160];
			for (int i = 0; i < FEAT_COUNT; i++)
				names[i] = feature_name((enum feature)i);
			list_names(all, sizeof(all), names, FEAT_COUNT);
			snprintf(why, cap, "\"%.64s\" is not one of: %s", text, all);
			return -EINVAL;
		}
		((enum feature *)(void *)base)[z] = (enum feature)v;
		return 0;
	}
	case K_METERS:
	case K_SECTION:
		break;
	}
	snprintf(why, cap, "internal error: key type %d is not a scalar", (int)d->type);
	return -EINVAL;
}

/* Appends one meter name to a list being built; refuses unknown and repeated ones. */
int cfg_meter_list_add(enum meter_kind *order, int *n, const char *text, char *why,
		       size_t cap)
{
	int k = nametab_find(meter_kind_names, METER_KIND_COUNT, text);

	if (k < 0) {
		char all[160];
		list_names(all, sizeof(all), meter_kind_names, METER_KIND_COUNT);
		snprintf(why, cap, "\"%.64s\" is not one of: %s", text, all);
		return -EINVAL;
	}
	for (int i = 0; i < *n; i++) {
		if ((int)order[i] == k) {
			snprintf(why, cap, "\"%s\" is listed twice", text);
			return -EINVAL;
		}
	}
	/* with no repeats and METER_KIND_COUNT names, *n < METER_KIND_COUNT here */
	order[(*n)++] = (enum meter_kind)k;
	return 0;
}

/* Zone name for a zone-map key, with a suggestion when it is misspelt. */
int cfg_zone_key(const char *name, char *why, size_t cap)
{
	int z = zone_from_name(name);

	if (z < 0) {
		const char *names[ZONE_COUNT];
		char all[160], sug[96];
		for (int i = 0; i < ZONE_COUNT; i++)
			names[i] = zone_name((enum zone)i);
		list_names(all, sizeof(all), names, ZONE_COUNT);
		suggest(sug, sizeof(sug), name, names, ZONE_COUNT);
		snprintf(why, cap, "unknown zone \"%.64s\"%s; zones are: %s", name, sug, all);
		return -EINVAL;
	}
	return z;
}

void cfg_unknown_key_msg(const char *path, char *why, size_t cap)
{
	const char *cands[NELEM(config_keys)];
	char sug[96];

	for (int i = 0; i < NELEM(config_keys); i++)
		cands[i] = config_keys[i].path;
	suggest(sug, sizeof(sug), path, cands, NELEM(config_keys));
	snprintf(why, cap, "unknown key \"%.96s\"%s", path, sug);
}

/* ---- config_set -------------------------------------------------------------- */

int config_set(struct config *c, const char *key, const char *value, struct wl_err *err)
{
	char why[WHY_MAX];
	const struct key_desc *d;
	const char *dot;
	int z = 0;

	if (!c || !key || !value)
		return err_set(err, EINVAL, "--set: NULL argument");
	d = cfg_find_key(key);
	if (!d) {
		/* model.idle_watts.<zone>, model.features.<zone> */
		dot = strrchr(key, '.');
		if (dot) {
			char head[64];
			size_t hl = (size_t)(dot - key);
			if (hl < sizeof(head)) {
				memcpy(head, key, hl);
				head[hl] = '\0';
				d = cfg_find_key(head);
			}
			if (d && (d->type == K_ZONE_WATTS || d->type == K_ZONE_FEATURE)) {
				z = cfg_zone_key(dot + 1, why, sizeof(why));
				if (z < 0)
					return err_set(err, EINVAL, "--set %s: %s", key, why);
			} else {
				d = NULL;
			}
		}
		if (!d) {
			cfg_unknown_key_msg(key, why, sizeof(why));
			return err_set(err, EINVAL, "--set %s: %s", key, why);
		}
	} else if (d->type == K_SECTION) {
		return err_set(err, EINVAL, "--set %s: \"%s\" is a section; set one of its keys "
			       "(e.g. %s)", key, key, (d + 1)->path);
	} else if (d->type == K_ZONE_WATTS || d->type == K_ZONE_FEATURE) {
		return err_set(err, EINVAL, "--set %s: name a zone, e.g. %s.package", key, key);
	}

	if (d->type == K_METERS) {
		enum meter_kind order[METER_KIND_COUNT];
		int n = 0;
		const char *p = value;
		for (;;) {
			const char *comma = strchr(p, ',');
			size_t l = comma ? (size_t)(comma - p) : strlen(p);
			char item[32];
			while (l && isspace((unsigned char)*p))
				p++, l--;
			while (l && isspace((unsigned char)p[l - 1]))
				l--;
			if (l == 0 && (comma || n > 0))
				return err_set(err, EINVAL, "--set %s: empty name in list \"%.64s\"", key,
					       value);
			if (l) {
				if (l >= sizeof(item))
					l = sizeof(item) - 1;
				memcpy(item, p, l);
				item[l] = '\0';
				if (cfg_meter_list_add(order, &n, item, why, sizeof(why)) < 0)
					return err_set(err, EINVAL, "--set %s: %s", key, why);
			}
			if (!comma)
				break;
			p = comma + 1;
		}
		if (n == 0)
			return err_set(err, EINVAL, "--set %s: must name at least one meter", key);
		memcpy(c->meter_order, order, sizeof(order[0]) * (size_t)n);
		c->meter_n_order = n;
		return 0;
	}
	if (cfg_apply_scalar(c, d, z, value, strlen(value), why, sizeof(why)) < 0)
		return err_set(err, EINVAL, "--set %s: %s", key, why);
	return 0;
}

