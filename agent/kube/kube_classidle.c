/* kube_classidle.c - see kube_classidle.h: the class key, the object's parsing, the
 * merge and the request bodies (the thread is in kube_classidle_sync.c). */
#include "../common/caps.h"
#include "kube_classidle.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#define CPUINFO_MAX WL_CAP_TEXT_FILE

static void trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (s[i] && isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

int ci_hw_read(const char *proc_root, struct ci_hw *hw, struct wl_err *e)
{
	char path[4096], *buf = malloc(CPUINFO_MAX), *line, *save = NULL;
	uint64_t phys_seen[64] = { 0 }; /* bit set of physical ids 0..4095 */
	size_t len = 0;
	int rc;

	memset(hw, 0, sizeof(*hw));
	if (!buf)
		return err_set(e, ENOMEM, "out of memory");
	rc = path_join(path, sizeof(path), proc_root, "cpuinfo");
	if (!rc)
		rc = read_file(path, buf, CPUINFO_MAX, &len);
	if (rc) {
		free(buf);
		return err_set(e, -rc, "%s: %s", path, strerror(-rc));
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		trim(line);
		char *v = colon + 1;
		trim(v);
		if (strcmp(line, "processor") == 0)
			hw->cpus++;
		else if (!hw->cpu_model[0] && (strcmp(line, "model name") == 0 ||
					       strcmp(line, "Hardware") == 0 ||
					       strcmp(line, "cpu model") == 0))
			snprintf(hw->cpu_model, sizeof(hw->cpu_model), "%s", v);
		else if (strcmp(line, "physical id") == 0) {
			uint64_t id;
			if (parse_u64(v, &id) == 0 && id < 64 * 64 &&
			    !(phys_seen[id / 64] & (1ull << (id % 64)))) {
				phys_seen[id / 64] |= 1ull << (id % 64);
				hw->sockets++;
			}
		}
	}
	if (!hw->sockets)
		hw->sockets = 1;
	if (!hw->cpu_model[0])
		snprintf(hw->cpu_model, sizeof(hw->cpu_model), "unknown");
	rc = path_join(path, sizeof(path), proc_root, "meminfo");
	if (!rc && read_file(path, buf, 64 * 1024, &len) == 0) {
		unsigned long long kb;
		const char *m = strstr(buf, "MemTotal:");
		if (m && sscanf(m, "MemTotal: %llu", &kb) == 1)
			hw->mem_gib = (unsigned)((kb + 512ull * 1024) / (1024ull * 1024));
	}
	free(buf);
	if (!hw->cpus)
		return err_set(e, EINVAL, "%s/cpuinfo: no processor lines", proc_root);
	return 0;
}

/* Lower-cases and keeps [a-z0-9.-] (others become '-'), into out; a result that was
 * changed beyond case or would not fit gets a hash suffix. */
static int sanitize(const char *prefix, const char *s, char *out, size_t cap)
{
	char tmp[CI_KEY_MAX];
	size_t n = 0, plen = strlen(prefix);
	bool changed = false;

	if (cap < CI_KEY_MAX)
		return -ENOBUFS;
	for (const char *p = s; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		if (!(isalnum((unsigned char)c) || c == '.' || c == '-')) {
			c = '-';
			changed = true;
		}
		if (plen + n + 1 >= sizeof(tmp)) {
			changed = true;
			break;
		}
		tmp[n++] = c;
	}
	tmp[n] = '\0';
	/* a DNS subdomain starts and ends with an alphanumeric */
	while (n && !isalnum((unsigned char)tmp[n - 1])) {
		tmp[--n] = '\0';
		changed = true;
	}
	if (!n)
		return -EINVAL;
	if (changed) {
		size_t keep = CI_KEY_MAX - 1 - plen - 9; /* "-" + 8 hex */
		if (n > keep)
			n = keep;
		while (n && !isalnum((unsigned char)tmp[n - 1]))
			n--;
		snprintf(out, cap, "%s%.*s-%08" PRIx64, prefix, (int)n, tmp,
			 (uint64_t)(str_hash(s) & 0xffffffffu));
	} else
		snprintf(out, cap, "%s%s", prefix, tmp);
	return 0;
}

int ci_class_key(const struct ci_hw *hw, const char *instance_type, const char *override,
		 char *out, size_t cap, struct wl_err *e)
{
	char desc[256];

	if (override && *override) {
		if (sanitize("", override, out, cap))
			return err_set(e, EINVAL, "model.idle_class: \"%s\" is not usable as a "
				       "name (letters, digits, '.' or '-')", override);
		return 0;
	}
	if (instance_type && *instance_type && sanitize("it-", instance_type, out, cap) == 0)
		return 0;
	if (cap < CI_KEY_MAX)
		return err_set(e, ENOBUFS, "class key buffer too small");
	snprintf(desc, sizeof(desc), "%s|%u|%u|%u", hw->cpu_model, hw->sockets, hw->cpus,
		 hw->mem_gib);
	snprintf(out, cap, "hw-%016" PRIx64, str_hash(desc));
	return 0;
}

static int64_t parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end;

	if (!s)
		return 0;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return 0;
	if (*end == '.')
		for (end++; isdigit((unsigned char)*end); end++)
			;
	if (strcmp(end, "Z") != 0)
		return 0;
	return (int64_t)timegm(&tm);
}

static bool parse_entry(const char *node, json_t *v, struct ci_entry *out)
{
	json_t *zones = json_object_get(v, "zones"), *zv;
	const char *meter = json_string_value(json_object_get(v, "meter")), *zk;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(v) || !json_is_object(zones) || strlen(node) >= sizeof(out->node))
		return false;
	snprintf(out->node, sizeof(out->node), "%s", node);
	out->time_s = parse_time(json_string_value(json_object_get(v, "time")));
	if (out->time_s <= 0 || !meter || strlen(meter) >= sizeof(out->meter))
		return false;
	snprintf(out->meter, sizeof(out->meter), "%s", meter);
	json_object_foreach(zones, zk, zv) {
		int z = zone_from_name(zk);
		json_t *w = json_object_get(zv, "watts"), *smp = json_object_get(zv, "samples");
		const char *src = json_string_value(json_object_get(zv, "source"));
		struct ci_zone *cz;

		if (z < 0 || !json_is_number(w) || !json_is_integer(smp) || !src ||
		    json_integer_value(smp) < 0 || strlen(src) >= sizeof(cz->source))
			continue; /* an unknown zone or a bad one: that zone only */
		cz = &out->zone[z];
		cz->watts = json_number_value(w);
		if (!isfinite(cz->watts) || cz->watts < 0)
			continue;
		cz->samples = (uint64_t)json_integer_value(smp);
		snprintf(cz->source, sizeof(cz->source), "%s", src);
		cz->span = json_number_value(json_object_get(zv, "span"));
		cz->rmse = json_number_value(json_object_get(zv, "rmse"));
		out->zone_mask |= 1u << z;
	}
	return true;
}

int ci_parse(const char *json, size_t len, struct ci_entry *out, size_t cap, size_t *n,
	     size_t *n_total, size_t *n_bad, struct wl_err *e)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, 0, &je), *nodes, *v;
	const char *k;
	size_t bad = 0, total = 0;

	*n = 0;
	if (n_total)
		*n_total = 0;
	if (n_bad)
		*n_bad = 0;
	if (!json_is_object(root)) {
		json_decref(root);
		return err_set(e, EINVAL, "NodeClassIdle: not a JSON object%s%s",
			       root ? "" : ": ", root ? "" : je.text);
	}
	nodes = json_object_get(json_object_get(root, "status"), "nodes");
	json_object_foreach(nodes, k, v) {
		total++;
		if (*n >= cap)
			continue;
		if (parse_entry(k, v, &out[*n]))
			(*n)++;
		else
			bad++;
	}
	json_decref(root);
	if (n_total)
		*n_total = total;
	if (n_bad)
		*n_bad = bad;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static bool confident(const struct ci_zone *z)
{
	return z->samples >= CI_MIN_SAMPLES && isfinite(z->watts) && z->watts >= 0 &&
	       (strcmp(z->source, "learned-fit") == 0 || strcmp(z->source, "learned-low") == 0);
}

void ci_merge(const struct ci_entry *ent, size_t n, const char *meter, int64_t now_s,
	      int64_t max_age_s, double w[ZONE_COUNT], unsigned used[ZONE_COUNT])
{
	double v[CI_MAX_NODES * 4];

	for (int z = 0; z < ZONE_COUNT; z++) {
		size_t k = 0;

		w[z] = -1;
		used[z] = 0;
		for (size_t i = 0; i < n && k < sizeof(v) / sizeof(v[0]); i++) {
			const struct ci_entry *x = &ent[i];
			if (!(x->zone_mask & (1u << z)) || !confident(&x->zone[z]))
				continue;
			if (meter && strcmp(meter, x->meter) != 0)
				continue;
			/* fresh: not older than max_age, not more than an hour in the future */
			if (x->time_s <= 0 || now_s - x->time_s > max_age_s || x->time_s - now_s > 3600)
				continue;
			v[k++] = x->zone[z].watts;
		}
		if (!k)
			continue;
		qsort(v, k, sizeof(v[0]), cmp_double);
		w[z] = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
		used[z] = (unsigned)k;
	}
}

int ci_evict_pick(const struct ci_entry *ent, size_t n, size_t total, const char *node,
		  int64_t now_s, int64_t max_age_s, const char **evict)
{
	const struct ci_entry *oldest = NULL;

	*evict = NULL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ent[i].node, node) == 0)
			return 0; /* our own key: an update, never more entries */
		if (!oldest || ent[i].time_s < oldest->time_s)
			oldest = &ent[i];
	}
	if (total < CI_MAX_NODES)
		return 0;
	if (!oldest || now_s - oldest->time_s <= max_age_s)
		return 1;
	*evict = oldest->node;
	return 0;
}

static json_t *entry_json(const struct ci_entry *m)
{
	char ts[32];
	time_t t = (time_t)m->time_s;
	struct tm tm;
	json_t *o = json_object(), *zones = json_object();
	int rc = 0;

	if (!o || !zones || !gmtime_r(&t, &tm)) {
		json_decref(o);
		json_decref(zones);
		return NULL;
	}
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	rc |= json_object_set_new(o, "time", json_string(ts));
	rc |= json_object_set_new(o, "meter", json_string(m->meter));
	for (int z = 0; z < ZONE_COUNT; z++) {
		const struct ci_zone *cz = &m->zone[z];
		if (!(m->zone_mask & (1u << z)) || !isfinite(cz->watts) || cz->watts < 0)
			continue;
		rc |= json_object_set_new(zones, zone_name(z),
					  json_pack("{s:f,s:I,s:s,s:f,s:f}", "watts", cz->watts,
						    "samples", (json_int_t)cz->samples, "source",
						    cz->source, "span",
						    isfinite(cz->span) ? cz->span : 0.0, "rmse",
						    isfinite(cz->rmse) ? cz->rmse : 0.0));
	}
	rc |= json_object_set_new(o, "zones", zones);
	if (rc) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static char *dump(json_t *root)
{
	char *s = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	json_decref(root);
	return s;
}

char *ci_patch_body(const struct ci_entry *mine, const char *evict)
{
	json_t *nodes = json_object(), *ent = entry_json(mine);

	if (!nodes || !ent || json_object_set_new(nodes, mine->node, ent)) {
		json_decref(nodes);
		return NULL;
	}
	if (evict && strcmp(evict, mine->node) != 0 &&
	    json_object_set_new(nodes, evict, json_null())) {
		json_decref(nodes);
		return NULL;
	}
	return dump(json_pack("{s:{s:o}}", "status", "nodes", nodes));
}

char *ci_create_body(const char *key, const struct ci_hw *hw, const struct ci_entry *mine)
{
	char desc[256];
	json_t *nodes = json_object(), *ent = entry_json(mine);

	if (!nodes || !ent || json_object_set_new(nodes, mine->node, ent)) {
		json_decref(nodes);
		return NULL;
	}
	snprintf(desc, sizeof(desc), "%s; %u sockets; %u cpus; %u GiB", hw->cpu_model,
		 hw->sockets, hw->cpus, hw->mem_gib);
	return dump(json_pack("{s:s,s:s,s:{s:s},s:{s:s},s:{s:o}}", "apiVersion",
			      "wattlet.dev/v1alpha1", "kind", "NodeClassIdle", "metadata", "name",
			      key, "spec", "hardware", desc, "status", "nodes", nodes));
}
