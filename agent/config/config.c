/* config.c - defaults, YAML file loading (libyaml document API), --set overrides,
 * cross-field validation and YAML dump for struct config.
 *
 * One table (keys[]) describes every leaf key: its dotted path, type, where it lives
 * in struct config and its range. The file walker and config_set() both end in
 * apply_scalar(), so a value is checked by exactly one piece of code whichever way it
 * arrives. Error text is built as "<where>: <key>: <why>", where <where> is
 * "FILE:LINE:COL" (1-based, from libyaml marks) or "--set KEY".
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "../common/yamllimit.h"

#define CONFIG_FILE_MAX (1024 * 1024) /* a config file larger than this is refused */
#define WHY_MAX 320
#define MS_S 1000ULL
#define MS_M (60ULL * MS_S)
#define MS_H (60ULL * MS_M)

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
static const char *const pods_from_names[] = {
	[KUBE_FROM_KUBELET] = "kubelet", [KUBE_FROM_APISERVER] = "apiserver",
};
static const char *const hierarchy_names[] = {
	[CG_PREF_AUTO] = "auto", [CG_PREF_V1] = "v1", [CG_PREF_V2] = "v2",
};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int name_lookup(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return i;
	return -EINVAL;
}

const char *idle_policy_name(enum idle_policy p)
{
	return (unsigned)p < (unsigned)NELEM(idle_policy_names) ? idle_policy_names[p] : "unknown";
}

int idle_policy_from_name(const char *name)
{
	return name ? name_lookup(idle_policy_names, NELEM(idle_policy_names), name) : -EINVAL;
}

const char *log_level_name(enum log_level l)
{
	return (unsigned)l < (unsigned)NELEM(log_level_names) ? log_level_names[l] : "unknown";
}

int log_level_from_name(const char *name)
{
	return name ? name_lookup(log_level_names, NELEM(log_level_names), name) : -EINVAL;
}

/* ---- the key table ---------------------------------------------------------- */

enum ktype {
	K_SECTION,   /* a mapping of further keys */
	K_DURATION,  /* uint64_t ms */
	K_STRING,    /* char[size] */
	K_BOOL,      /* bool */
	K_DOUBLE,    /* double */
	K_UINT,      /* unsigned */
	K_ENUM,      /* an enum stored as int */
	K_METERS,    /* meter.order list */
	K_ZONE_WATTS,   /* mapping zone -> watts (double, <0 = learn) */
	K_ZONE_FEATURE, /* mapping zone -> feature name */
};

struct key_desc {
	const char *path;
	enum ktype type;
	size_t off;
	size_t size;          /* K_STRING: buffer size */
	double min, max;      /* K_DOUBLE, K_UINT, K_DURATION (ms) */
	bool nonempty;        /* K_STRING: "" is not allowed */
	const char *const *names; /* K_ENUM */
	int n_names;
};

#define OFF(f) offsetof(struct config, f)
#define STR(p, f, ne) { p, K_STRING, OFF(f), sizeof(((struct config *)0)->f), 0, 0, ne, NULL, 0 }
#define DUR(p, f, lo, hi) { p, K_DURATION, OFF(f), 0, lo, hi, false, NULL, 0 }
#define DBL(p, f, lo, hi) { p, K_DOUBLE, OFF(f), 0, lo, hi, false, NULL, 0 }
#define ENUMK(p, f, tab) { p, K_ENUM, OFF(f), 0, 0, 0, false, tab, NELEM(tab) }
#define BOOLK(p, f) { p, K_BOOL, OFF(f), 0, 0, 0, false, NULL, 0 }
#define SECT(p) { p, K_SECTION, 0, 0, 0, 0, false, NULL, 0 }

static const struct key_desc keys[] = {
	DUR("tick", tick_ms, 100, 60 * MS_S),
	STR("listen", listen, false),
	SECT("http"),
	{ "http.max_connections", K_UINT, OFF(http_max_connections), 0, 1, 65536, false, NULL, 0 },
	DUR("http.idle_timeout", http_idle_timeout_ms, 100, MS_H),
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
	SECT("validate"),
	STR("validate.result_file", validate_result_file, false),
};

static const struct key_desc *find_key(const char *path)
{
	for (int i = 0; i < NELEM(keys); i++)
		if (strcmp(keys[i].path, path) == 0)
			return &keys[i];
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
	c->idle_policy = IDLE_EVEN;
	snprintf(c->checkpoint_path, sizeof(c->checkpoint_path), "%s",
		 "/var/lib/wattlet/ledger.ckpt");
	snprintf(c->validate_result_file, sizeof(c->validate_result_file), "%s",
		 "/var/lib/wattlet/validation.json");
	c->checkpoint_interval_ms = 10 * MS_S;
	c->retention_ms = 10 * MS_M;
	c->kepler_compat = false;
	c->per_cgroup_metrics = true;
	c->log_level = LOG_INFO;
	c->kube_enabled = KUBE_AUTO;
	c->pods_from = KUBE_FROM_KUBELET;
	c->kubelet_port = 10250;
	c->pods_refresh_ms = 30 * MS_S;
	c->podenergy_interval_ms = 60 * MS_S;
	c->write_qps = 5;
}

/* ---- durations -------------------------------------------------------------- */

static int unit_ms(const char *s, size_t *len, uint64_t *mul)
{
	if (strncmp(s, "ms", 2) == 0) {
		*len = 2;
		*mul = 1;
	} else if (*s == 's') {
		*len = 1;
		*mul = MS_S;
	} else if (*s == 'm') {
		*len = 1;
		*mul = MS_M;
	} else if (*s == 'h') {
		*len = 1;
		*mul = MS_H;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* One "<digits>[.<digits>]<unit>" term (or a bare integer when it is the whole
 * string) -> ms, added to *acc. Fractions must come out as whole milliseconds. */
static int duration_term(const char **sp, bool whole, uint64_t *acc)
{
	const char *s = *sp;
	uint64_t ip = 0, frac = 0, fdiv = 1, mul, v;
	size_t ulen;
	int nint = 0, nfrac = 0;

	for (; isdigit((unsigned char)*s); s++, nint++)
		if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, (uint64_t)(*s - '0'), &ip))
			return -EINVAL;
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s); s++, nfrac++) {
			if (nfrac >= 9)
				return -EINVAL; /* finer than a nanosecond */
			frac = frac * 10 + (uint64_t)(*s - '0');
			fdiv *= 10;
		}
		if (nfrac == 0)
			return -EINVAL;
	}
	if (nint == 0)
		return -EINVAL;
	if (*s == '\0' && whole && nfrac == 0) { /* plain integer: milliseconds */
		mul = 1;
		ulen = 0;
	} else if (unit_ms(s, &ulen, &mul) < 0) {
		return -EINVAL;
	}
	if (__builtin_mul_overflow(ip, mul, &v))
		return -EINVAL;
	if (nfrac) {
		/* frac < 1e9 and mul <= 3.6e6: the product fits in 64 bits */
		uint64_t f = frac * mul;
		if (f % fdiv)
			return -EINVAL; /* not a whole number of milliseconds */
		if (__builtin_add_overflow(v, f / fdiv, &v))
			return -EINVAL;
	}
	if (__builtin_add_overflow(*acc, v, acc))
		return -EINVAL;
	*sp = s + ulen;
	return 0;
}

int parse_duration_ms(const char *s, uint64_t *ms)
{
	uint64_t acc = 0;
	const char *p = s;

	if (!s || !ms || *s == '\0')
		return -EINVAL;
	while (*p) {
		int r = duration_term(&p, p == s, &acc);
		if (r < 0)
			return r;
	}
	*ms = acc;
	return 0;
}

/* Shortest exact spelling: 1800000 -> "30m", 1500 -> "1500ms", 90000 -> "90s". */
static void format_duration(uint64_t ms, char *buf, size_t cap)
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

static void range_text(const struct key_desc *d, char *buf, size_t cap)
{
	if (d->type == K_DURATION) {
		char lo[32], hi[32];
		format_duration((uint64_t)d->min, lo, sizeof(lo));
		format_duration((uint64_t)d->max, hi, sizeof(hi));
		snprintf(buf, cap, "%s..%s", lo, hi);
	} else {
		snprintf(buf, cap, "%.15g..%.15g", d->min, d->max);
	}
}

/* "host:port" with a numeric port 0..65535 (0: the kernel picks a free one, which the
 * daemon logs); host may be empty, a name, an IPv4 address or a bracketed IPv6
 * address. "" (HTTP off) is accepted by the caller. */
static bool valid_listen(const char *s)
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
static int apply_scalar(struct config *c, const struct key_desc *d, int z, const char *text,
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
			range_text(d, rng, sizeof(rng));
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
		if (d->off == OFF(listen) && len && !valid_listen(text)) {
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
			range_text(d, rng, sizeof(rng));
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
			range_text(d, rng, sizeof(rng));
			snprintf(why, cap, "%.64s is out of range (%s)", text, rng);
			return -ERANGE;
		}
		*(unsigned *)(void *)base = (unsigned)v;
		return 0;
	}
	case K_ENUM: {
		int v = name_lookup(d->names, d->n_names, text);
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
static int meter_list_add(enum meter_kind *order, int *n, const char *text, char *why, size_t cap)
{
	int k = name_lookup(meter_kind_names, METER_KIND_COUNT, text);

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
static int zone_key(const char *name, char *why, size_t cap)
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

static void unknown_key_msg(const char *path, char *why, size_t cap)
{
	const char *cands[NELEM(keys)];
	char sug[96];

	for (int i = 0; i < NELEM(keys); i++)
		cands[i] = keys[i].path;
	suggest(sug, sizeof(sug), path, cands, NELEM(keys));
	snprintf(why, cap, "unknown key \"%.96s\"%s", path, sug);
}

/* ---- the YAML file walker ---------------------------------------------------- */

struct walk {
	const char *file;
	yaml_document_t *doc;
	struct config *c;
	struct wl_err *err;
};

static int werr(struct walk *w, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int werr(struct walk *w, yaml_mark_t m, const char *fmt, ...)
{
	char msg[WHY_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(w->err, EINVAL, "%s:%zu:%zu: %s", w->file, m.line + 1, m.column + 1, msg);
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a scalar";
	default:
		return "nothing";
	}
}

static bool is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *expect_text(const struct key_desc *d)
{
	switch (d->type) {
	case K_DURATION:
		return "a duration";
	case K_STRING:
		return "a string";
	case K_BOOL:
		return "a boolean";
	case K_DOUBLE:
	case K_UINT:
		return "a number";
	case K_ENUM:
		return "one name";
	case K_METERS:
		return "a list of meter names";
	default:
		return "a mapping";
	}
}

/* Checks the keys of a mapping are scalars and unique; returns 0 or an error. */
static int check_keys(struct walk *w, yaml_node_t *map, const char *prefix)
{
	yaml_node_t *k, *k2;
	int r;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		k = yaml_document_get_node(w->doc, p->key);
		if (!k || k->type != YAML_SCALAR_NODE)
			return werr(w, k ? k->start_mark : map->start_mark,
				    "%s%skeys must be plain names, not %s", prefix ? prefix : "",
				    prefix ? ": " : "", k ? node_kind(k) : "nothing");
	}
	/* sorted, not pairwise: a mapping of 100k keys must not cost 10^10 compares */
	r = ylim_mapping_dup(w->doc, map, &k, &k2);
	if (r < 0)
		return err_set(w->err, -r, "%s: out of memory", w->file);
	if (r == 1)
		return werr(w, k->start_mark,
			    "duplicate key \"%s%s%.96s\" (first at line %zu, column %zu)",
			    prefix ? prefix : "", prefix ? "." : "", (const char *)k->data.scalar.value,
			    k2->start_mark.line + 1, k2->start_mark.column + 1);
	return 0;
}

static int walk_zone_map(struct walk *w, const struct key_desc *d, yaml_node_t *map)
{
	char why[WHY_MAX];
	int r = check_keys(w, map, d->path);

	if (r < 0)
		return r;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *kname = (const char *)k->data.scalar.value;
		int z = zone_key(kname, why, sizeof(why));
		if (z < 0)
			return werr(w, k->start_mark, "%s: %s", d->path, why);
		if (v->type != YAML_SCALAR_NODE || is_null(v))
			return werr(w, v->start_mark, "%s.%s: expected %s, got %s", d->path, kname,
				    d->type == K_ZONE_WATTS ? "a number of watts" : "a feature name",
				    is_null(v) ? "nothing" : node_kind(v));
		if (apply_scalar(w->c, d, z, (const char *)v->data.scalar.value,
				 v->data.scalar.length, why, sizeof(why)) < 0)
			return werr(w, v->start_mark, "%s.%s: %s", d->path, kname, why);
	}
	return 0;
}

static int walk_meters(struct walk *w, const struct key_desc *d, yaml_node_t *seq)
{
	enum meter_kind order[METER_KIND_COUNT];
	int n = 0;
	char why[WHY_MAX];

	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(w->doc, *it);
		if (v->type != YAML_SCALAR_NODE)
			return werr(w, v->start_mark, "%s: expected a meter name, got %s", d->path,
				    node_kind(v));
		if (meter_list_add(order, &n, (const char *)v->data.scalar.value, why, sizeof(why)) < 0)
			return werr(w, v->start_mark, "%s: %s", d->path, why);
	}
	if (n == 0)
		return werr(w, seq->start_mark, "%s: must name at least one meter", d->path);
	memcpy(w->c->meter_order, order, sizeof(order[0]) * (size_t)n);
	w->c->meter_n_order = n;
	return 0;
}

static int walk_mapping(struct walk *w, yaml_node_t *map, const char *prefix)
{
	char path[128], why[WHY_MAX];
	int r = check_keys(w, map, prefix);

	if (r < 0)
		return r;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
		const char *kname = (const char *)k->data.scalar.value;
		const struct key_desc *d;

		if (snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "", prefix ? "." : "",
			     kname) >= (int)sizeof(path) ||
		    strlen(kname) != k->data.scalar.length || strchr(kname, '.'))
			d = NULL;
		else
			d = find_key(path);
		if (!d) {
			unknown_key_msg(path, why, sizeof(why));
			if (strchr(kname, '.') && find_key(path))
				snprintf(why, sizeof(why),
					 "unknown key \"%.96s\": dotted names are for --set; in a "
					 "file nest the key under its section", kname);
			return werr(w, k->start_mark, "%s", why);
		}
		switch (d->type) {
		case K_SECTION:
			if (is_null(v))
				break; /* an empty section (every key commented out) */
			if (v->type != YAML_MAPPING_NODE)
				return werr(w, v->start_mark, "%s: expected a mapping of keys, got %s",
					    path, node_kind(v));
			r = walk_mapping(w, v, d->path);
			break;
		case K_ZONE_WATTS:
		case K_ZONE_FEATURE:
			if (is_null(v))
				break;
			if (v->type != YAML_MAPPING_NODE)
				return werr(w, v->start_mark,
					    "%s: expected a mapping of zone: %s, got %s", path,
					    d->type == K_ZONE_WATTS ? "watts" : "feature",
					    node_kind(v));
			r = walk_zone_map(w, d, v);
			break;
		case K_METERS:
			if (v->type != YAML_SEQUENCE_NODE)
				return werr(w, v->start_mark,
					    "%s: expected a list of meter names such as [powercap, "
					    "perf], got %s", path, is_null(v) ? "nothing" : node_kind(v));
			r = walk_meters(w, d, v);
			break;
		default:
			if (v->type != YAML_SCALAR_NODE)
				return werr(w, v->start_mark, "%s: expected %s, got %s", path,
					    expect_text(d), node_kind(v));
			if (is_null(v))
				return werr(w, v->start_mark, "%s: value missing%s", path,
					    d->type == K_STRING ? " (write \"\" for an empty string)" : "");
			if (apply_scalar(w->c, d, 0, (const char *)v->data.scalar.value,
					 v->data.scalar.length, why, sizeof(why)) < 0)
				return werr(w, v->start_mark, "%s: %s", path, why);
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Line and column (1-based) of byte offset off in text, for reader errors. */
static void offset_to_mark(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static int parser_error(const char *file, yaml_parser_t *ps, const char *text, size_t len,
			struct wl_err *err)
{
	size_t line, col;
	const char *problem = ps->problem ? ps->problem : "malformed YAML";

	if (ps->error == YAML_READER_ERROR) {
		offset_to_mark(text, len, ps->problem_offset, &line, &col);
		return err_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s", file, line, col,
			       problem);
	}
	if (ps->error == YAML_MEMORY_ERROR)
		return err_set(err, ENOMEM, "%s: out of memory parsing YAML", file);
	if (ps->context)
		return err_set(err, EINVAL,
			       "%s:%zu:%zu: YAML syntax error: %s %s started at line %zu, column %zu",
			       file, ps->problem_mark.line + 1, ps->problem_mark.column + 1, problem,
			       ps->context, ps->context_mark.line + 1, ps->context_mark.column + 1);
	return err_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s", file,
		       ps->problem_mark.line + 1, ps->problem_mark.column + 1, problem);
}

static int read_config_text(const char *path, char **out, size_t *len, struct wl_err *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	int ret = 0;

	*out = NULL;
	if (!f)
		return err_set(err, errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0) {
		ret = err_set(err, errno, "%s: cannot stat: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = err_set(err, EINVAL, "%s: not a regular file", path);
		goto cleanup;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		ret = err_set(err, EFBIG, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
		goto cleanup;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = err_set(err, ENOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		ret = err_set(err, EIO, "%s: read error", path);
		goto cleanup;
	}
	buf[*len] = '\0';
	*out = buf;
	buf = NULL;
cleanup:
	free(buf);
	fclose(f);
	return ret;
}

int config_load_file(struct config *c, const char *path, struct wl_err *err)
{
	yaml_parser_t ps;
	yaml_document_t doc, doc2;
	yaml_mark_t deep;
	bool ps_ok = false, doc_ok = false;
	struct config *tmp = NULL;
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (!c || !path)
		return err_set(err, EINVAL, "config_load_file: NULL argument");
	ret = read_config_text(path, &text, &len, err);
	if (ret < 0)
		return ret;
	tmp = malloc(sizeof(*tmp));
	if (!tmp || !yaml_parser_initialize(&ps)) {
		ret = err_set(err, ENOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	ps_ok = true;
	/* before building the tree: libyaml is quadratic in nesting depth and anchors */
	ret = ylim_check(text, len, &deep);
	if (ret < 0) {
		ret = err_set(err, -ret, "%s: out of memory", path);
		goto cleanup;
	}
	if (ret != YLIM_OK) {
		ret = err_set(err, EINVAL, "%s:%zu:%zu: %s", path, deep.line + 1, deep.column + 1,
			      ylim_reason(ret));
		goto cleanup;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	if (!yaml_parser_load(&ps, &doc)) {
		ret = parser_error(path, &ps, text, len, err);
		goto cleanup;
	}
	doc_ok = true;
	*tmp = *c;

	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root) {
		/* exactly one document: a second one would be silently ignored */
		if (!yaml_parser_load(&ps, &doc2)) {
			ret = parser_error(path, &ps, text, len, err);
			goto cleanup;
		}
		yaml_node_t *root2 = yaml_document_get_root_node(&doc2);
		yaml_mark_t m2 = root2 ? doc2.start_mark : doc.start_mark;
		yaml_document_delete(&doc2);
		if (root2) {
			ret = err_set(err, EINVAL,
				      "%s:%zu:%zu: only one YAML document is allowed in a config file",
				      path, m2.line + 1, m2.column + 1);
			goto cleanup;
		}
		struct walk w = { .file = path, .doc = &doc, .c = tmp, .err = err };
		if (is_null(root)) {
			/* a file holding only comments or "~" */
		} else if (root->type != YAML_MAPPING_NODE) {
			ret = werr(&w, root->start_mark, "the top level must be a mapping of keys, not %s",
				   node_kind(root));
			goto cleanup;
		} else {
			ret = walk_mapping(&w, root, NULL);
			if (ret < 0)
				goto cleanup;
		}
	}
	*c = *tmp;
	ret = 0;
cleanup:
	if (doc_ok)
		yaml_document_delete(&doc);
	if (ps_ok)
		yaml_parser_delete(&ps);
	free(tmp);
	free(text);
	return ret;
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
	d = find_key(key);
	if (!d) {
		/* model.idle_watts.<zone>, model.features.<zone> */
		dot = strrchr(key, '.');
		if (dot) {
			char head[64];
			size_t hl = (size_t)(dot - key);
			if (hl < sizeof(head)) {
				memcpy(head, key, hl);
				head[hl] = '\0';
				d = find_key(head);
			}
			if (d && (d->type == K_ZONE_WATTS || d->type == K_ZONE_FEATURE)) {
				z = zone_key(dot + 1, why, sizeof(why));
				if (z < 0)
					return err_set(err, EINVAL, "--set %s: %s", key, why);
			} else {
				d = NULL;
			}
		}
		if (!d) {
			unknown_key_msg(key, why, sizeof(why));
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
				if (meter_list_add(order, &n, item, why, sizeof(why)) < 0)
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
	if (apply_scalar(c, d, z, value, strlen(value), why, sizeof(why)) < 0)
		return err_set(err, EINVAL, "--set %s: %s", key, why);
	return 0;
}

/* ---- config_validate ----------------------------------------------------------- */

int config_validate(const struct config *c, struct wl_err *err)
{
	char a[32], b[32], rng[80];

	if (!c)
		return err_set(err, EINVAL, "config: NULL");
	/* every single-field rule again, for structs filled in by code */
	for (int i = 0; i < NELEM(keys); i++) {
		const struct key_desc *d = &keys[i];
		const char *base = (const char *)c + d->off;
		double v;
		switch (d->type) {
		case K_DURATION:
			v = (double)*(const uint64_t *)(const void *)base;
			break;
		case K_DOUBLE:
			v = *(const double *)(const void *)base;
			break;
		case K_UINT:
			v = *(const unsigned *)(const void *)base;
			break;
		case K_STRING:
			if (!memchr(base, '\0', d->size))
				return err_set(err, EINVAL, "config: %s is not terminated", d->path);
			if (d->nonempty && base[0] == '\0')
				return err_set(err, EINVAL, "config: %s must not be empty", d->path);
			if (d->off == OFF(listen) && base[0] && !valid_listen(base))
				return err_set(err, EINVAL, "config: listen \"%s\" is not HOST:PORT",
					       base);
			continue;
		case K_ENUM: {
			int e = *(const int *)(const void *)base;
			if (e < 0 || e >= d->n_names)
				return err_set(err, EINVAL, "config: %s has no valid value (%d)",
					       d->path, e);
			continue;
		}
		case K_ZONE_WATTS:
			for (int z = 0; z < ZONE_COUNT; z++) {
				double w = c->idle_watts[z];
				if (isnan(w) || w > d->max)
					return err_set(err, ERANGE,
						       "config: model.idle_watts.%s = %g is out of "
						       "range (0..%g, or unset)", zone_name((enum zone)z),
						       w, d->max);
			}
			continue;
		case K_ZONE_FEATURE:
			for (int z = 0; z < ZONE_COUNT; z++)
				if ((unsigned)c->zone_feature[z] >= FEAT_COUNT)
					return err_set(err, EINVAL,
						       "config: model.features.%s has no valid value",
						       zone_name((enum zone)z));
			continue;
		case K_METERS:
			if (c->meter_n_order < 1 || c->meter_n_order > METER_KIND_COUNT)
				return err_set(err, EINVAL,
					       "config: meter.order must name 1..%d meters (has %d)",
					       METER_KIND_COUNT, c->meter_n_order);
			for (int j = 0; j < c->meter_n_order; j++) {
				if ((unsigned)c->meter_order[j] >= METER_KIND_COUNT)
					return err_set(err, EINVAL,
						       "config: meter.order[%d] is not a meter", j);
				for (int k = 0; k < j; k++)
					if (c->meter_order[k] == c->meter_order[j])
						return err_set(err, EINVAL,
							       "config: meter.order lists \"%s\" twice",
							       meter_kind_names[c->meter_order[j]]);
			}
			continue;
		default:
			continue;
		}
		if (isnan(v) || v < d->min || v > d->max) {
			range_text(d, rng, sizeof(rng));
			return err_set(err, ERANGE, "config: %s is out of range (%s)", d->path, rng);
		}
	}

	/* cross-field rules */
	format_duration(c->tick_ms, a, sizeof(a));
	if (c->checkpoint_interval_ms != 0 && c->checkpoint_interval_ms < c->tick_ms) {
		format_duration(c->checkpoint_interval_ms, b, sizeof(b));
		return err_set(err, EINVAL,
			       "config: ledger.checkpoint_interval (%s) must be 0 (only at exit) or "
			       "at least one tick (%s)", b, a);
	}
	if (c->idle_window_ms < 60 * c->tick_ms) {
		format_duration(c->idle_window_ms, b, sizeof(b));
		return err_set(err, EINVAL,
			       "config: model.idle_window (%s) must span at least 60 ticks (60 x %s)",
			       b, a);
	}
	return 0;
}

/* ---- config_dump ------------------------------------------------------------------ */

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->full)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= o->cap - o->len) {
		o->full = true;
		o->buf[o->len] = '\0';
		return;
	}
	o->len += (size_t)w;
}

/* A YAML double-quoted scalar that reads back byte for byte. */
static void out_quoted(struct out *o, const char *s)
{
	outf(o, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			outf(o, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			outf(o, "\\x%02x", *p);
		else
			outf(o, "%c", *p);
	}
	outf(o, "\"");
}

/* Shortest "%.Ng" that parses back to exactly v. */
static void out_double(struct out *o, double v)
{
	char tmp[40];

	for (int prec = 6; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	outf(o, "%s", tmp);
}

static bool has_idle_watts(const struct config *c)
{
	for (int z = 0; z < ZONE_COUNT; z++)
		if (c->idle_watts[z] >= 0)
			return true;
	return false;
}

static void out_leaf(struct out *o, const struct config *c, const struct key_desc *d, int indent)
{
	const char *base = (const char *)c + d->off;
	const char *leaf = strrchr(d->path, '.');
	char tmp[32];

	leaf = leaf ? leaf + 1 : d->path;
	outf(o, "%*s%s:", indent, "", leaf);
	if (d->type != K_ZONE_FEATURE && !(d->type == K_ZONE_WATTS && has_idle_watts(c)))
		outf(o, " ");
	switch (d->type) {
	case K_DURATION:
		format_duration(*(const uint64_t *)(const void *)base, tmp, sizeof(tmp));
		outf(o, "%s\n", tmp);
		break;
	case K_STRING:
		out_quoted(o, base);
		outf(o, "\n");
		break;
	case K_BOOL:
		outf(o, "%s\n", *(const bool *)(const void *)base ? "true" : "false");
		break;
	case K_DOUBLE:
		out_double(o, *(const double *)(const void *)base);
		outf(o, "\n");
		break;
	case K_UINT:
		outf(o, "%u\n", *(const unsigned *)(const void *)base);
		break;
	case K_ENUM: {
		int e = *(const int *)(const void *)base;
		outf(o, "%s\n", e >= 0 && e < d->n_names ? d->names[e] : "invalid");
		break;
	}
	case K_METERS:
		outf(o, "[");
		for (int i = 0; i < c->meter_n_order && i < METER_KIND_COUNT; i++)
			outf(o, "%s%s", i ? ", " : "",
			     (unsigned)c->meter_order[i] < METER_KIND_COUNT ?
				     meter_kind_names[c->meter_order[i]] : "invalid");
		outf(o, "]\n");
		break;
	case K_ZONE_WATTS: {
		int n = 0;
		for (int z = 0; z < ZONE_COUNT; z++)
			n += c->idle_watts[z] >= 0;
		if (n == 0) {
			outf(o, "{}   # every zone learned\n");
			break;
		}
		outf(o, "\n");
		for (int z = 0; z < ZONE_COUNT; z++) {
			if (c->idle_watts[z] < 0)
				continue;
			outf(o, "%*s%s: ", indent + 2, "", zone_name((enum zone)z));
			out_double(o, c->idle_watts[z]);
			outf(o, "\n");
		}
		break;
	}
	case K_ZONE_FEATURE:
		outf(o, "\n");
		for (int z = 0; z < ZONE_COUNT; z++)
			outf(o, "%*s%s: %s\n", indent + 2, "", zone_name((enum zone)z),
			     feature_name(c->zone_feature[z]));
		break;
	case K_SECTION:
		break;
	}
}

int config_dump(const struct config *c, char *buf, size_t cap)
{
	struct out o = { .buf = buf, .cap = cap, .len = 0, .full = false };

	if (!c || !buf || cap == 0)
		return -EINVAL;
	buf[0] = '\0';
	outf(&o, "# wattlet effective configuration\n");
	for (int i = 0; i < NELEM(keys); i++) {
		const struct key_desc *d = &keys[i];
		if (d->type == K_SECTION)
			outf(&o, "%s:\n", d->path);
		else
			out_leaf(&o, c, d, strchr(d->path, '.') ? 2 : 0);
	}
	return o.full ? -ENOSPC : 0;
}
