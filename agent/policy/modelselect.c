#include "modelselect.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "../common/jsonget.h"
#include "../kube/kube_selector.h"
#include "../common/objset.h"

#define MS_UID_MAX 128

/* ---- JSON -> pm_spec_in ---------------------------------------------------------- */

static int only_keys(const json_t *obj, const char *field, const char *const *keys, size_t n,
		     const char *list, struct wl_err *e)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		bool ok = false;
		for (size_t i = 0; i < n && !ok; i++)
			ok = strcmp(key, keys[i]) == 0;
		if (!ok)
			return err_set(e, EINVAL, "%s.%.64s: unknown field (%s)", field, key, list);
	}
	return 0;
}

static int read_zone(const json_t *zj, size_t i, struct pm_zone_in *zi, struct pm_coef_in *coef,
		     struct wl_err *e)
{
	static const char *const zkeys[] = { "zone", "source", "idleWatts", "feature", "regression" };
	static const char *const rkeys[] = { "interceptWatts", "coefficients" };
	static const char *const ckeys[] = { "feature", "weight" };
	char f[64], g[160];
	const json_t *reg, *coefs;
	int rc;

	snprintf(f, sizeof(f), "spec.zones[%zu]", i);
	if (!json_is_object(zj))
		return err_set(e, EINVAL, "%s: not an object", f);
	if ((rc = only_keys(zj, f, zkeys, 5, "zone, source, idleWatts, feature, regression", e)))
		return rc;
	snprintf(g, sizeof(g), "%s.zone", f);
	if ((rc = jg_str(zj, "zone", g, &zi->zone, e)) && rc != -ENOENT)
		return rc;
	snprintf(g, sizeof(g), "%s.source", f);
	if ((rc = jg_str(zj, "source", g, &zi->source, e)) && rc != -ENOENT)
		return rc;
	snprintf(g, sizeof(g), "%s.feature", f);
	if ((rc = jg_str(zj, "feature", g, &zi->feature, e)) && rc != -ENOENT)
		return rc;
	snprintf(g, sizeof(g), "%s.idleWatts", f);
	rc = jg_num(zj, "idleWatts", g, &zi->idle_watts, e);
	zi->has_idle = rc == 0;
	if (rc && rc != -ENOENT)
		return rc;
	reg = json_object_get(zj, "regression");
	if (!reg || json_is_null(reg))
		return 0;
	snprintf(g, sizeof(g), "%s.regression", f);
	if (!json_is_object(reg))
		return err_set(e, EINVAL, "%s: not an object", g);
	if ((rc = only_keys(reg, g, rkeys, 2, "interceptWatts, coefficients", e)))
		return rc;
	zi->has_regression = true;
	snprintf(g, sizeof(g), "%s.regression.interceptWatts", f);
	rc = jg_num(reg, "interceptWatts", g, &zi->intercept_watts, e);
	zi->has_intercept = rc == 0;
	if (rc && rc != -ENOENT)
		return rc;
	coefs = json_object_get(reg, "coefficients");
	snprintf(g, sizeof(g), "%s.regression.coefficients", f);
	if (coefs && !json_is_null(coefs) && !json_is_array(coefs))
		return err_set(e, EINVAL, "%s: not a list", g);
	if (json_array_size(coefs) > PM_MAX_COEF)
		return err_set(e, EINVAL, "%s: %zu items (must be 1..%d)", g, json_array_size(coefs),
			       PM_MAX_COEF);
	zi->coef = coef;
	zi->n_coef = json_array_size(coefs);
	for (size_t c = 0; c < zi->n_coef; c++) {
		const json_t *cj = json_array_get(coefs, c);
		char h[200];
		snprintf(h, sizeof(h), "%s[%zu]", g, c);
		if (!json_is_object(cj))
			return err_set(e, EINVAL, "%s: not an object", h);
		if ((rc = only_keys(cj, h, ckeys, 2, "feature, weight", e)))
			return rc;
		snprintf(h, sizeof(h), "%s[%zu].feature", g, c);
		if ((rc = jg_str(cj, "feature", h, &coef[c].feature, e)) && rc != -ENOENT)
			return rc;
		snprintf(h, sizeof(h), "%s[%zu].weight", g, c);
		rc = jg_num(cj, "weight", h, &coef[c].weight, e);
		coef[c].has_weight = rc == 0;
		if (rc && rc != -ENOENT)
			return rc;
	}
	return 0;
}

static void read_annotations(const json_t *md, struct powermodel *m)
{
	const json_t *an = json_object_get(md, "annotations");
	const char *key;
	json_t *v;

	if (!json_is_object(an))
		return;
	json_object_foreach((json_t *)an, key, v) {
		double d;
		if (!json_is_string(v) || parse_double(json_string_value(v), &d) != 0)
			continue;
		pm_set_fit_annotation(m, key, d);
	}
}

/* spec.nodeSelector -> selector (never NULL on success). */
static struct kube_selector *read_selector(const json_t *obj, struct wl_err *e)
{
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *ns = json_is_object(spec) ? json_object_get(spec, "nodeSelector") : NULL;
	struct wl_err se = { { 0 } };
	struct kube_selector *sel;

	if (ns && !json_is_null(ns) && !json_is_object(ns)) {
		err_set(e, EINVAL, "spec.nodeSelector: not an object");
		return NULL;
	}
	sel = kube_selector_parse(ns && !json_is_null(ns) ? ns : NULL, &se);
	if (!sel)
		err_set(e, EINVAL, "spec.nodeSelector: %s", se.msg);
	return sel;
}

int model_from_json(const json_t *obj, struct powermodel *out, struct wl_err *e)
{
	static const char *const skeys[] = { "nodeSelector", "priority", "attribution", "zones" };
	struct pm_zone_in zones[ZONE_COUNT];
	struct pm_coef_in coefs[ZONE_COUNT][PM_MAX_COEF];
	struct pm_spec_in in = { 0 };
	struct kube_selector *sel;
	const json_t *md, *spec, *zj, *pr;
	const char *s;
	int rc;

	if (!out)
		return err_set(e, EINVAL, "no output");
	memset(zones, 0, sizeof(zones));
	memset(coefs, 0, sizeof(coefs));
	if (!json_is_object(obj))
		return err_set(e, EINVAL, "PowerModel: not a JSON object");
	if ((rc = jg_str(obj, "apiVersion", "apiVersion", &s, e)) && rc != -ENOENT)
		return rc;
	if (s && strcmp(s, PM_API_VERSION) != 0)
		return err_set(e, EINVAL, "apiVersion: '%.64s' (expected %s)", s, PM_API_VERSION);
	if ((rc = jg_str(obj, "kind", "kind", &s, e)) && rc != -ENOENT)
		return rc;
	if (s && strcmp(s, PM_KIND) != 0)
		return err_set(e, EINVAL, "kind: '%.64s' (expected %s)", s, PM_KIND);
	md = json_object_get(obj, "metadata");
	if (!json_is_object(md))
		return err_set(e, EINVAL, "metadata: missing or not an object");
	if ((rc = jg_str(md, "name", "metadata.name", &in.name, e)) && rc != -ENOENT)
		return rc;
	spec = json_object_get(obj, "spec");
	if (!json_is_object(spec))
		return err_set(e, EINVAL, "spec: missing or not an object");
	if ((rc = only_keys(spec, "spec", skeys, 4, "nodeSelector, priority, attribution, zones", e)))
		return rc;
	sel = read_selector(obj, e);
	if (!sel)
		return -EINVAL;
	kube_selector_free(sel);
	pr = json_object_get(spec, "priority");
	if (pr && !json_is_null(pr)) {
		if (!json_is_integer(pr))
			return err_set(e, EINVAL, "spec.priority: not an integer");
		in.has_priority = true;
		in.priority = json_integer_value(pr);
	}
	rc = jg_str(spec, "attribution", "spec.attribution", &in.attribution, e);
	if (rc && rc != -ENOENT)
		return rc;
	zj = json_object_get(spec, "zones");
	if (zj && !json_is_null(zj) && !json_is_array(zj))
		return err_set(e, EINVAL, "spec.zones: not a list");
	if (json_array_size(zj) > ZONE_COUNT)
		return err_set(e, EINVAL, "spec.zones: %zu items (must be 1..%d)", json_array_size(zj),
			       ZONE_COUNT);
	in.n_zones = json_array_size(zj);
	in.zones = zones;
	for (size_t i = 0; i < in.n_zones; i++)
		if ((rc = read_zone(json_array_get(zj, i), i, &zones[i], coefs[i], e)))
			return rc;
	rc = pm_from_spec(&in, out, e);
	if (rc)
		return rc;
	read_annotations(md, out);
	return 0;
}

/* ---- the set ----------------------------------------------------------------------- */

struct ms_entry {
	struct objset_head h; /* h.id: metadata.uid, else "name:" metadata.name */
	char name[PM_NAME_MAX + 1];
	int64_t generation;
	bool valid;
	struct powermodel model;    /* when valid */
	struct kube_selector *sel;  /* NULL: selector unreadable, selects nothing */
	int priority;               /* clamped to 0..1000 */
	int terms;
	char error[WL_ERR_MAX];
};

_Static_assert(MS_UID_MAX == OBJSET_ID_MAX, "a model id is an objset id");

struct model_set {
	struct objset set; /* of struct ms_entry */
	bool has_good, selected_once;
	struct powermodel good; /* last returned valid model (has_good), else built-in */
};

static struct ms_entry *entry_at(const struct model_set *s, size_t i)
{
	return (struct ms_entry *)s->set.e[i];
}

static void entry_free(struct objset_head *h)
{
	struct ms_entry *x = (struct ms_entry *)h;

	kube_selector_free(x->sel);
	free(x);
}

struct model_set *model_set_new(void)
{
	struct model_set *s = calloc(1, sizeof(*s));

	if (s)
		objset_init(&s->set, MS_SET_MAX, entry_free);
	return s;
}

void model_set_free(struct model_set *s)
{
	if (!s)
		return;
	objset_release(&s->set);
	free(s);
}

/* identity: metadata.uid, else metadata.name ("name:" prefixed so they never clash) */
static int obj_id(const json_t *obj, char *out, size_t cap)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *uid = json_string_value(json_object_get(md, "uid"));
	const char *name = json_string_value(json_object_get(md, "name"));
	int n;

	if (uid && uid[0])
		n = snprintf(out, cap, "%s", uid);
	else if (name && name[0])
		n = snprintf(out, cap, "name:%s", name);
	else
		return -EINVAL;
	return n < 0 || (size_t)n >= cap ? -EINVAL : 0;
}

int model_set_upsert(struct model_set *s, const json_t *obj, struct wl_err *e)
{
	struct wl_err pe = { { 0 } }, se = { { 0 } };
	struct objset_head *h;
	struct ms_entry *x;
	char id[MS_UID_MAX + 1];
	const json_t *spec, *pr, *g;
	const char *name;
	int rc;

	if (!s || !obj)
		return err_set(e, EINVAL, "no model set or object");
	if (obj_id(obj, id, sizeof(id)))
		return err_set(e, EINVAL, "PowerModel without a usable metadata.uid or name");
	rc = objset_get(&s->set, id, sizeof(*x), &h);
	if (rc == -ENOSPC)
		return err_set(e, ENOSPC, "more than %d PowerModels", MS_SET_MAX);
	if (rc < 0)
		return err_set(e, ENOMEM, "out of memory");
	x = (struct ms_entry *)h;
	name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	snprintf(x->name, sizeof(x->name), "%s", name ? name : "");
	g = json_object_get(json_object_get(obj, "metadata"), "generation");
	x->generation = json_is_integer(g) ? json_integer_value(g) : 0;

	/* selection inputs, read even when the model is invalid */
	kube_selector_free(x->sel);
	x->sel = read_selector(obj, &se);
	x->terms = x->sel ? kube_selector_terms(x->sel) : 0;
	spec = json_object_get(obj, "spec");
	pr = json_is_object(spec) ? json_object_get(spec, "priority") : NULL;
	x->priority = 0;
	if (json_is_integer(pr)) {
		json_int_t p = json_integer_value(pr);
		x->priority = p < 0 ? 0 : p > 1000 ? 1000 : (int)p;
	}

	rc = model_from_json(obj, &x->model, &pe);
	x->valid = rc == 0;
	if (rc == 0) {
		x->error[0] = '\0';
		return 0;
	}
	memset(&x->model, 0, sizeof(x->model));
	snprintf(x->error, sizeof(x->error), "%s", pe.msg);
	return err_set(e, EINVAL, "PowerModel %s: %s", x->name[0] ? x->name : "(no name)", pe.msg);
}

int model_set_remove(struct model_set *s, const json_t *obj)
{
	char id[MS_UID_MAX + 1];

	if (!s || !obj || obj_id(obj, id, sizeof(id)))
		return -EINVAL;
	return objset_remove(&s->set, id);
}

void model_set_begin_sync(struct model_set *s)
{
	if (s)
		objset_begin_sync(&s->set);
}

void model_set_end_sync(struct model_set *s)
{
	if (s)
		objset_end_sync(&s->set);
}

size_t model_set_count(const struct model_set *s)
{
	return s ? s->set.n : 0;
}

int model_set_at(const struct model_set *s, size_t i, struct model_entry_info *out)
{
	const struct ms_entry *x;

	if (!s || !out || i >= s->set.n)
		return -ERANGE;
	x = entry_at(s, i);
	out->name = x->name;
	out->uid = x->h.id;
	out->generation = x->generation;
	out->valid = x->valid;
	out->model = x->valid ? &x->model : NULL;
	out->error = x->error;
	return 0;
}

/* true when a beats b */
static bool better(const struct ms_entry *a, const struct ms_entry *b)
{
	if (a->priority != b->priority)
		return a->priority > b->priority;
	if (a->terms != b->terms)
		return a->terms > b->terms;
	return strcmp(a->name, b->name) < 0;
}

int model_select(struct model_set *s, const json_t *node_labels, struct model_choice *out)
{
	const struct ms_entry *win = NULL;
	struct powermodel prev;
	bool prev_has;

	if (!s || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (node_labels && !json_is_object(node_labels))
		node_labels = NULL;
	for (size_t i = 0; i < s->set.n; i++) {
		const struct ms_entry *x = entry_at(s, i);
		if (!x->sel || !x->name[0])
			continue;
		if (win && !better(x, win))
			continue;
		if (kube_selector_matches(x->sel, node_labels))
			win = x;
	}
	memcpy(&prev, &s->good, sizeof(prev));
	prev_has = s->has_good;

	if (!win) {
		s->has_good = false;
		memset(&s->good, 0, sizeof(s->good));
		snprintf(out->reason, sizeof(out->reason),
			 "no PowerModel matches this node; using the built-in ratio model");
	} else if (win->valid) {
		s->has_good = true;
		memcpy(&s->good, &win->model, sizeof(s->good));
		snprintf(out->reason, sizeof(out->reason),
			 "PowerModel %s matches this node (priority %d, %d selector terms)", win->name,
			 win->priority, win->terms);
	} else {
		out->invalid = true;
		snprintf(out->reason, sizeof(out->reason),
			 "PowerModel %.100s is invalid: %.280s; keeping the last good model %.60s",
			 win->name, win->error, s->has_good ? s->good.name : MS_BUILTIN_NAME);
	}
	out->selected = win ? win->name : "";
	out->model = s->has_good ? &s->good : NULL;
	out->name = s->has_good ? s->good.name : MS_BUILTIN_NAME;
	out->changed = !s->selected_once || prev_has != s->has_good ||
		       (s->has_good && memcmp(&prev, &s->good, sizeof(prev)) != 0);
	s->selected_once = true;
	return 0;
}
