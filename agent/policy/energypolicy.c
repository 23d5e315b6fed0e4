/* energypolicy.c - see energypolicy.h: parsing, the set of policies, budget windows;
 * the .status documents are in energypolicy_status.c. */
#include "energypolicy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "../common/duration.h"
#include "../common/jsonget.h"
#include "../common/nametab.h"
#include "../common/objset.h"
#include "../config/config.h" /* idle_policy_from_name() */
#include "../kube/kube_quantity.h"

/* ---- small checks -------------------------------------------------------------- */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, 1..max */
static bool dns_label(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* RFC 1123 subdomain: labels joined by '.', at most 253 */
static bool dns_subdomain(const char *s)
{
	char label[64];
	size_t n = strlen(s), start = 0;

	if (n == 0 || n > EP_NAME_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (s[i] != '.' && s[i] != '\0')
			continue;
		if (i - start == 0 || i - start > 63)
			return false;
		memcpy(label, s + start, i - start);
		label[i - start] = '\0';
		if (!dns_label(label, 63))
			return false;
		start = i + 1;
	}
	return true;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* ---- durations and times ---------------------------------------------------------- */

/* Kubernetes objects' rules (common/duration.h): a unit on every term, fractions
 * truncated to the millisecond; at most 64 characters. */
int ep_parse_duration_ms(const char *s, uint64_t *ms)
{
	if (s && strlen(s) > 64)
		return -EINVAL;
	return duration_parse_ms(s, 0, ms);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int ep_parse_time_ms(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, ms_part = 0, off = 0;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p;

	if (!s || !ms || strlen(s) < 20)
		return -EINVAL;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		int nf = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (nf < 3)
				ms_part = ms_part * 10 + (*p - '0');
			nf++;
			p++;
		}
		if (nf == 0)
			return -EINVAL;
		for (; nf < 3; nf++)
			ms_part *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*ms = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec) -
	       off) * 1000 + ms_part;
	return 0;
}

/* spec.budgets[].action, by enum ep_action (ep_action_name() and the parser). */
static const char *const action_names[] = {
	[EP_ACTION_EVENT] = "event", [EP_ACTION_ANNOTATE] = "annotate",
	[EP_ACTION_THROTTLE] = "throttle",
};

const char *ep_action_name(enum ep_action a)
{
	return nametab_name(action_names, NAMETAB_LEN(action_names), (int)a, "event");
}

static void fmt_ms(char *buf, size_t cap, uint64_t ms)
{
	if (ms % 3600000 == 0)
		snprintf(buf, cap, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		snprintf(buf, cap, "%llum", (unsigned long long)(ms / 60000));
	else if (ms % 1000 == 0)
		snprintf(buf, cap, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, cap, "%llums", (unsigned long long)ms);
}

static int get_duration(const json_t *obj, const char *key, const char *field, uint64_t lo,
			uint64_t hi, uint64_t *out, struct wl_err *e)
{
	char s[33], a[32], b[32];
	int rc = jg_str_copy(obj, key, field, s, sizeof(s), e);

	if (rc)
		return rc;
	rc = ep_parse_duration_ms(s, out);
	if (rc == -ERANGE)
		return err_set(e, EINVAL, "%s: '%s' is too long a duration", field, s);
	if (rc)
		return err_set(e, EINVAL, "%s: '%s' is not a duration (e.g. 90s, 5m, 1h30m)", field, s);
	if (*out < lo || *out > hi) {
		fmt_ms(a, sizeof(a), lo);
		fmt_ms(b, sizeof(b), hi);
		return err_set(e, EINVAL, "%s: %s is outside %s..%s", field, s, a, b);
	}
	return 0;
}

/* ---- parsing ----------------------------------------------------------------------- */

void energypolicy_free(struct energypolicy *p)
{
	if (!p)
		return;
	kube_selector_free(p->pod_selector);
	free(p);
}

static int parse_meta(const json_t *obj, struct energypolicy *p, struct wl_err *e)
{
	const json_t *md, *gen;
	char api[64];
	int rc;

	if (!json_is_object(obj))
		return err_set(e, EINVAL, "EnergyPolicy: not a JSON object");
	/* list items and watch objects of a CRD carry apiVersion/kind; tolerate absence */
	rc = jg_str_copy(obj, "apiVersion", "apiVersion", api, sizeof(api), e);
	if (rc == 0 && strcmp(api, EP_API_VERSION) != 0)
		return err_set(e, EINVAL, "apiVersion: '%s' (expected %s)", api, EP_API_VERSION);
	if (rc && rc != -ENOENT)
		return rc;
	rc = jg_str_copy(obj, "kind", "kind", api, sizeof(api), e);
	if (rc == 0 && strcmp(api, EP_KIND) != 0)
		return err_set(e, EINVAL, "kind: '%s' (expected %s)", api, EP_KIND);
	if (rc && rc != -ENOENT)
		return rc;

	md = json_object_get(obj, "metadata");
	if (!json_is_object(md))
		return err_set(e, EINVAL, "metadata: missing or not an object");
	rc = jg_str_copy(md, "name", "metadata.name", p->name, sizeof(p->name), e);
	if (rc == -ENOENT)
		return err_set(e, EINVAL, "metadata.name: missing");
	if (rc)
		return rc;
	if (!dns_subdomain(p->name))
		return err_set(e, EINVAL, "metadata.name: '%s' is not a DNS subdomain name", p->name);
	rc = jg_str_copy(md, "namespace", "metadata.namespace", p->ns, sizeof(p->ns), e);
	if (rc == -ENOENT)
		return err_set(e, EINVAL, "metadata.namespace: missing (EnergyPolicy is namespaced)");
	if (rc)
		return rc;
	if (!dns_label(p->ns, EP_NS_MAX))
		return err_set(e, EINVAL, "metadata.namespace: '%s' is not a DNS label", p->ns);
	rc = jg_str_copy(md, "uid", "metadata.uid", p->uid, sizeof(p->uid), e);
	if (rc == -ENOENT)
		return err_set(e, EINVAL, "metadata.uid: missing");
	if (rc)
		return rc;
	if (!p->uid[0] || !printable(p->uid))
		return err_set(e, EINVAL, "metadata.uid: empty or not printable");
	rc = jg_str_copy(md, "resourceVersion", "metadata.resourceVersion", p->resource_version,
			 sizeof(p->resource_version), e);
	if (rc && rc != -ENOENT)
		return rc;
	rc = jg_str_copy(md, "creationTimestamp", "metadata.creationTimestamp",
			 p->creation_timestamp, sizeof(p->creation_timestamp), e);
	if (rc == -ENOENT)
		return err_set(e, EINVAL, "metadata.creationTimestamp: missing (needed to order "
			       "policies that select the same pod)");
	if (rc)
		return rc;
	if (ep_parse_time_ms(p->creation_timestamp, &p->created_ms))
		return err_set(e, EINVAL, "metadata.creationTimestamp: '%s' is not an RFC 3339 time",
			       p->creation_timestamp);
	gen = json_object_get(md, "generation");
	if (gen && !json_is_null(gen)) {
		if (!json_is_integer(gen) || json_integer_value(gen) < 0)
			return err_set(e, EINVAL, "metadata.generation: not a non-negative integer");
		p->generation = json_integer_value(gen);
	}
	return 0;
}

/* budgets[i].throttle: {minCPU, method, allowSystemNamespace}; only with action throttle. */
static int parse_throttle(const json_t *t, const char *f, struct ep_budget *out, struct wl_err *e)
{
	char g[96], s[40];
	const char *key;
	const json_t *v;
	double cores;
	int rc;

	out->throttle.min_mcpu = EP_THROTTLE_MIN_MCPU_DEFAULT;
	out->throttle.method = EP_THROTTLE_RESIZE;
	out->throttle.system_namespaces = false;
	if (!t || json_is_null(t))
		return 0;
	snprintf(g, sizeof(g), "%s.throttle", f);
	if (!json_is_object(t))
		return err_set(e, EINVAL, "%s: not an object", g);
	if (out->action != EP_ACTION_THROTTLE)
		return err_set(e, EINVAL, "%s: only with action throttle (action is %s)", g,
			       ep_action_name(out->action));
	json_object_foreach((json_t *)t, key, v) {
		if (strcmp(key, "minCPU") && strcmp(key, "method") && strcmp(key, "allowSystemNamespace"))
			return err_set(e, EINVAL,
				       "%s.%.64s: unknown field (minCPU, method, allowSystemNamespace)", g,
				       key);
	}
	snprintf(g, sizeof(g), "%s.throttle.minCPU", f);
	rc = jg_str_copy(t, "minCPU", g, s, sizeof(s), e);
	if (rc == 0) {
		if (kube_quantity_cores(s, &cores) != 0 || !(cores >= 0.001) ||
		    cores > EP_THROTTLE_MIN_MCPU_MAX / 1000.0)
			return err_set(e, EINVAL, "%s: '%s' is not a CPU quantity between 1m and %u",
				       g, s, EP_THROTTLE_MIN_MCPU_MAX / 1000u);
		out->throttle.min_mcpu = (uint32_t)(cores * 1000.0 + 0.5);
	} else if (rc != -ENOENT) {
		return rc;
	}
	snprintf(g, sizeof(g), "%s.throttle.method", f);
	rc = jg_str_copy(t, "method", g, s, sizeof(s), e);
	if (rc == 0) {
		if (strcmp(s, "resize") == 0)
			out->throttle.method = EP_THROTTLE_RESIZE;
		else if (strcmp(s, "cgroup") == 0)
			out->throttle.method = EP_THROTTLE_CGROUP;
		else
			return err_set(e, EINVAL, "%s: unknown method '%s' (resize or cgroup)", g, s);
	} else if (rc != -ENOENT) {
		return rc;
	}
	v = json_object_get(t, "allowSystemNamespace");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return err_set(e, EINVAL, "%s.throttle.allowSystemNamespace: not a boolean", f);
		out->throttle.system_namespaces = json_is_true(v);
	}
	return 0;
}

static int parse_budget(const json_t *b, size_t i, struct ep_budget *out, struct wl_err *e)
{
	char f[64], g[96], act[16];
	const char *key;
	const json_t *v;
	int rc;

	snprintf(f, sizeof(f), "spec.budgets[%zu]", i);
	if (!json_is_object(b))
		return err_set(e, EINVAL, "%s: not an object", f);
	json_object_foreach((json_t *)b, key, v) {
		if (strcmp(key, "name") && strcmp(key, "window") && strcmp(key, "maxJoules") &&
		    strcmp(key, "action") && strcmp(key, "throttle"))
			return err_set(e, EINVAL,
				       "%s.%.64s: unknown field (name, window, maxJoules, action, throttle)",
				       f, key);
	}
	snprintf(g, sizeof(g), "%s.name", f);
	rc = jg_str_copy(b, "name", g, out->name, sizeof(out->name), e);
	if (rc == -ENOENT)
		return err_set(e, EINVAL, "%s: missing", g);
	if (rc)
		return rc;
	if (!dns_label(out->name, EP_BUDGET_NAME_MAX))
		return err_set(e, EINVAL, "%s: '%s' is not a DNS label", g, out->name);
	snprintf(g, sizeof(g), "%s.window", f);
	rc = get_duration(b, "window", g, EP_WINDOW_MIN_MS, EP_WINDOW_MAX_MS, &out->window_ms, e);
	if (rc == -ENOENT)
		return err_set(e, EINVAL, "%s: missing", g);
	if (rc)
		return rc;
	snprintf(g, sizeof(g), "%s.maxJoules", f);
	rc = jg_num(b, "maxJoules", g, &out->max_joules, e);
	if (rc == -ENOENT)
		return err_set(e, EINVAL, "%s: missing", g);
	if (rc)
		return rc;
	if (!(out->max_joules > 0) || out->max_joules > EP_MAX_JOULES_MAX)
		return err_set(e, EINVAL, "%s: %g is outside (0, 1e15]", g, out->max_joules);
	snprintf(g, sizeof(g), "%s.action", f);
	out->action = EP_ACTION_EVENT;
	rc = jg_str_copy(b, "action", g, act, sizeof(act), e);
	if (rc == 0) {
		int a = nametab_find(action_names, NAMETAB_LEN(action_names), act);
		if (a < 0)
			return err_set(e, EINVAL, "%s: unknown action '%s' (event, annotate or throttle)",
				       g, act);
		out->action = (enum ep_action)a;
	} else if (rc != -ENOENT) {
		return rc;
	}
	return parse_throttle(json_object_get(b, "throttle"), f, out, e);
}

static int parse_spec(const json_t *spec, struct energypolicy *p, struct wl_err *e)
{
	const json_t *v, *budgets;
	const char *key;
	char buf[32];
	int rc;

	p->idle_policy = IDLE_EVEN;
	p->update_interval_ms = EP_INTERVAL_DEFAULT_MS;
	if (!spec || json_is_null(spec))
		spec = NULL;
	else if (!json_is_object(spec))
		return err_set(e, EINVAL, "spec: not an object");
	if (spec) {
		json_object_foreach((json_t *)spec, key, v) {
			if (strcmp(key, "podSelector") && strcmp(key, "idlePolicy") &&
			    strcmp(key, "updateInterval") && strcmp(key, "carbonIntensity") &&
			    strcmp(key, "budgets"))
				return err_set(e, EINVAL, "spec.%.64s: unknown field (podSelector, idlePolicy, "
					       "updateInterval, carbonIntensity, budgets)", key);
		}
	}

	v = spec ? json_object_get(spec, "podSelector") : NULL;
	if (v && !json_is_null(v) && !json_is_object(v))
		return err_set(e, EINVAL, "spec.podSelector: not an object");
	{
		struct wl_err se = { { 0 } };
		p->pod_selector = kube_selector_parse(v && !json_is_null(v) ? v : NULL, &se);
		if (!p->pod_selector)
			return err_set(e, EINVAL, "spec.podSelector: %s", se.msg);
	}
	if (!spec)
		return 0;

	rc = jg_str_copy(spec, "idlePolicy", "spec.idlePolicy", buf, sizeof(buf), e);
	if (rc == 0) {
		int ip = idle_policy_from_name(buf);
		if (ip < 0)
			return err_set(e, EINVAL, "spec.idlePolicy: unknown policy '%s' (none, even, "
				       "request, usage)", buf);
		p->idle_policy = (enum idle_policy)ip;
	} else if (rc != -ENOENT) {
		return rc;
	}
	rc = get_duration(spec, "updateInterval", "spec.updateInterval", EP_INTERVAL_MIN_MS,
			  EP_INTERVAL_MAX_MS, &p->update_interval_ms, e);
	if (rc == -ENOENT)
		p->update_interval_ms = EP_INTERVAL_DEFAULT_MS;
	else if (rc)
		return rc;
	rc = jg_num(spec, "carbonIntensity", "spec.carbonIntensity", &p->carbon_g_per_kwh, e);
	if (rc == 0) {
		if (p->carbon_g_per_kwh < 0 || p->carbon_g_per_kwh > EP_CARBON_MAX)
			return err_set(e, EINVAL, "spec.carbonIntensity: %g is outside 0..5000 gCO2e/kWh",
				       p->carbon_g_per_kwh);
		p->has_carbon = true;
	} else if (rc != -ENOENT) {
		return rc;
	}
	budgets = json_object_get(spec, "budgets");
	if (budgets && !json_is_null(budgets)) {
		if (!json_is_array(budgets))
			return err_set(e, EINVAL, "spec.budgets: not a list");
		if (json_array_size(budgets) > EP_MAX_BUDGETS)
			return err_set(e, EINVAL, "spec.budgets: %zu items (at most %d)",
				       json_array_size(budgets), EP_MAX_BUDGETS);
		for (size_t i = 0; i < json_array_size(budgets); i++) {
			rc = parse_budget(json_array_get(budgets, i), i, &p->budgets[i], e);
			if (rc)
				return rc;
			for (size_t j = 0; j < i; j++)
				if (strcmp(p->budgets[j].name, p->budgets[i].name) == 0)
					return err_set(e, EINVAL, "spec.budgets[%zu].name: '%s' is listed twice",
						       i, p->budgets[i].name);
			p->n_budgets = i + 1;
		}
	}
	return 0;
}

static int parse_rc(const json_t *obj, struct energypolicy **out, struct wl_err *e)
{
	struct energypolicy *p = calloc(1, sizeof(*p));
	int rc;

	*out = NULL;
	if (!p)
		return err_set(e, ENOMEM, "out of memory");
	rc = parse_meta(obj, p, e);
	if (rc == 0)
		rc = parse_spec(json_object_get(obj, "spec"), p, e);
	if (rc) {
		energypolicy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

struct energypolicy *energypolicy_parse(const json_t *obj, struct wl_err *e)
{
	struct energypolicy *p;

	parse_rc(obj, &p, e);
	return p;
}

/* ---- the set ------------------------------------------------------------------------ */

struct ep_entry {
	struct objset_head h; /* h.id: metadata.uid */
	char ns[EP_NS_MAX + 1];
	char name[EP_NAME_MAX + 1];
	int64_t generation;
	struct energypolicy *good; /* in effect, NULL when never valid */
	char error[WL_ERR_MAX];    /* "" when the latest object is valid */
	json_t *status;            /* the latest object's .status (a reference), or NULL */
};

_Static_assert(EP_UID_MAX == OBJSET_ID_MAX, "a policy uid is an objset id");

struct policy_set {
	struct objset set; /* of struct ep_entry */
};

static struct ep_entry *entry_at(const struct policy_set *s, size_t i)
{
	return (struct ep_entry *)s->set.e[i];
}

static void entry_free(struct objset_head *h)
{
	struct ep_entry *x = (struct ep_entry *)h;

	energypolicy_free(x->good);
	json_decref(x->status);
	free(x);
}

struct policy_set *policy_set_new(void)
{
	struct policy_set *s = calloc(1, sizeof(*s));

	if (s)
		objset_init(&s->set, EP_SET_MAX, entry_free);
	return s;
}

void policy_set_free(struct policy_set *s)
{
	if (!s)
		return;
	objset_release(&s->set);
	free(s);
}

/* metadata.<key> as a string of at most cap-1 bytes, "" when absent or unusable */
static void meta_str(const json_t *obj, const char *key, char *out, size_t cap)
{
	const json_t *v = json_object_get(json_object_get(obj, "metadata"), key);
	const char *s = json_string_value(v);

	out[0] = '\0';
	if (s && strlen(s) < cap && strlen(s) == json_string_length(v))
		memcpy(out, s, strlen(s) + 1);
}

int policy_set_upsert(struct policy_set *s, const json_t *obj, struct wl_err *e)
{
	struct wl_err pe = { { 0 } };
	struct energypolicy *p;
	struct objset_head *h;
	struct ep_entry *x;
	char uid[EP_UID_MAX + 1];
	int rc;

	if (!s || !obj)
		return err_set(e, EINVAL, "no policy set or object");
	if (parse_rc(obj, &p, &pe) == -ENOMEM)
		return err_set(e, ENOMEM, "%s", pe.msg);
	if (p)
		memcpy(uid, p->uid, sizeof(uid));
	else
		meta_str(obj, "uid", uid, sizeof(uid));
	if (!uid[0] || !printable(uid)) {
		energypolicy_free(p);
		return err_set(e, EINVAL, "EnergyPolicy without a usable metadata.uid: %s", pe.msg);
	}
	rc = objset_get(&s->set, uid, sizeof(*x), &h);
	if (rc < 0) {
		energypolicy_free(p);
		if (rc == -ENOSPC)
			return err_set(e, ENOSPC, "more than %d EnergyPolicies", EP_SET_MAX);
		return err_set(e, ENOMEM, "out of memory");
	}
	x = (struct ep_entry *)h;
	{
		/* the status as the API server has it (other nodes' entries), valid or not */
		json_t *st = json_object_get(obj, "status");
		json_decref(x->status);
		x->status = json_is_object(st) ? json_incref(st) : NULL;
	}
	if (p) {
		energypolicy_free(x->good);
		x->good = p;
		x->error[0] = '\0';
		memcpy(x->ns, p->ns, sizeof(x->ns));
		memcpy(x->name, p->name, sizeof(x->name));
		x->generation = p->generation;
		return 0;
	}
	/* invalid: keep the last good version in effect, remember why */
	meta_str(obj, "namespace", x->ns, sizeof(x->ns));
	meta_str(obj, "name", x->name, sizeof(x->name));
	{
		const json_t *g = json_object_get(json_object_get(obj, "metadata"), "generation");
		x->generation = json_is_integer(g) ? json_integer_value(g) : 0;
	}
	snprintf(x->error, sizeof(x->error), "%s", pe.msg);
	return err_set(e, EINVAL, "EnergyPolicy %s/%s: %s", x->ns, x->name, pe.msg);
}

int policy_set_remove(struct policy_set *s, const json_t *obj)
{
	char uid[EP_UID_MAX + 1];

	if (!s || !obj)
		return -EINVAL;
	meta_str(obj, "uid", uid, sizeof(uid));
	if (!uid[0])
		return -EINVAL;
	return objset_remove(&s->set, uid);
}

void policy_set_begin_sync(struct policy_set *s)
{
	if (s)
		objset_begin_sync(&s->set);
}

void policy_set_end_sync(struct policy_set *s)
{
	if (s)
		objset_end_sync(&s->set);
}

size_t policy_set_count(const struct policy_set *s)
{
	return s ? s->set.n : 0;
}

int policy_set_at(const struct policy_set *s, size_t i, struct policy_entry_info *out)
{
	const struct ep_entry *x;

	if (!s || !out || i >= s->set.n)
		return -ERANGE;
	x = entry_at(s, i);
	out->ns = x->ns;
	out->name = x->name;
	out->uid = x->h.id;
	out->generation = x->generation;
	out->policy = x->good;
	out->error = x->error;
	out->status = x->status;
	return 0;
}

/* true when a is older than b (creationTimestamp, then name, then uid for determinism) */
static bool older(const struct energypolicy *a, const struct energypolicy *b)
{
	int c;

	if (a->created_ms != b->created_ms)
		return a->created_ms < b->created_ms;
	c = strcmp(a->name, b->name);
	if (c)
		return c < 0;
	return strcmp(a->uid, b->uid) < 0;
}

const struct energypolicy *policy_for_pod(const struct policy_set *s, const char *ns,
					  const json_t *labels)
{
	const struct energypolicy *best = NULL;

	if (!s || !ns)
		return NULL;
	if (labels && !json_is_object(labels))
		labels = NULL;
	for (size_t i = 0; i < s->set.n; i++) {
		const struct energypolicy *p = entry_at(s, i)->good;
		if (!p || strcmp(p->ns, ns) != 0)
			continue;
		if (best && !older(p, best))
			continue;
		if (kube_selector_matches(p->pod_selector, labels))
			best = p;
	}
	return best;
}

/* ---- budgets ------------------------------------------------------------------------ */

int ep_ring_init(struct ep_ring *r, uint64_t window_ms)
{
	if (!r || window_ms == 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->window_ms = window_ms;
	r->step_ms = window_ms / EP_RING_STEPS;
	if (r->step_ms == 0)
		r->step_ms = 1;
	return 0;
}

static const struct ep_ring_sample *ring_at(const struct ep_ring *r, size_t k)
{
	return &r->s[(r->first + k) % EP_RING_CAP];
}

int ep_ring_add(struct ep_ring *r, uint64_t t_ms, double joules_total)
{
	struct ep_ring_sample smp = { t_ms, joules_total };

	if (!r || r->window_ms == 0 || !isfinite(joules_total) || joules_total < 0)
		return -EINVAL;
	if (r->has_last && (t_ms < r->last.t_ms || joules_total < r->last.joules)) {
		r->n = 0;
		r->first = 0;
		r->has_last = false;
		r->resets++;
	}
	r->last = smp;
	r->has_last = true;
	/* keep it when it is the first, or a step after the newest kept sample */
	if (r->n && t_ms - ring_at(r, r->n - 1)->t_ms < r->step_ms)
		return 0;
	if (r->n == EP_RING_CAP) {
		/* full: the oldest goes; the 63 left are >= 63 steps apart, more than a window */
		r->first = (r->first + 1) % EP_RING_CAP;
		r->n--;
	}
	r->s[(r->first + r->n) % EP_RING_CAP] = smp;
	r->n++;
	return 0;
}

int ep_ring_window(const struct ep_ring *r, double *joules, uint64_t *span_ms)
{
	const struct ep_ring_sample *a = NULL, *b = NULL;
	uint64_t start;
	double base;

	if (!r || !joules || !span_ms)
		return -EINVAL;
	if (!r->has_last || r->n == 0)
		return -ENODATA;
	if (r->last.t_ms < r->window_ms || ring_at(r, 0)->t_ms > r->last.t_ms - r->window_ms) {
		/* history shorter than the window: everything since the oldest sample */
		*joules = r->last.joules - ring_at(r, 0)->joules;
		*span_ms = r->last.t_ms - ring_at(r, 0)->t_ms;
		return 0;
	}
	start = r->last.t_ms - r->window_ms;
	/* newest kept sample at or before start, and the one after it (or the newest) */
	for (size_t k = 0; k < r->n; k++) {
		const struct ep_ring_sample *x = ring_at(r, k);
		if (x->t_ms <= start) {
			a = x;
			b = k + 1 < r->n ? ring_at(r, k + 1) : &r->last;
		}
	}
	base = a->joules;
	if (b->t_ms > a->t_ms)
		base += (b->joules - a->joules) * (double)(start - a->t_ms) / (double)(b->t_ms - a->t_ms);
	*joules = r->last.joules - base;
	if (*joules < 0)
		*joules = 0;
	*span_ms = r->window_ms;
	return 0;
}

int policy_budget_check(const struct ep_budget *b, double window_joules)
{
	if (!b || !isfinite(window_joules) || window_joules < 0)
		return -EINVAL;
	return window_joules > b->max_joules ? 1 : 0;
}
