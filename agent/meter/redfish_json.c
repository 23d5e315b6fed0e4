/* redfish_json.c - see redfish_json.h. */
#include "redfish_json.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "../common/jsonget.h"

bool rf_path_ok(const char *p)
{
	size_t n;

	if (!p || strncmp(p, "/redfish/v1/", 12) != 0)
		return false;
	n = strlen(p);
	if (n >= RF_PATH_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch <= ' ' || ch >= 0x7f || ch == '?' || ch == '#' || ch == '\\')
			return false;
		if (ch == '.' && p[i - 1] == '/' && p[i + 1] == '.' &&
		    (p[i + 2] == '/' || p[i + 2] == '\0'))
			return false;
	}
	return true;
}

static json_t *load(const char *body, size_t len, const char *what, struct wl_err *err)
{
	json_error_t je;
	json_t *root;

	if (!body)
		return err_set(err, EBADMSG, "%s: no body", what), NULL;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		err_set(err, EBADMSG, "%s: not JSON (line %d column %d: %s)", what, je.line,
			je.column, je.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		err_set(err, EBADMSG, "%s: not a JSON object", what);
		return NULL;
	}
	return root;
}

/* member key of o, an object holding "@odata.id": that path, checked */
static int link_of(const json_t *o, const char *key, const char *what, char *out, size_t cap,
		   struct wl_err *err)
{
	const char *p = NULL;
	json_t *l = json_object_get(o, key);
	int rc;

	out[0] = '\0';
	if (!l || json_is_null(l))
		return -ENOENT;
	rc = jg_str(l, "@odata.id", key, &p, err);
	if (rc == -ENOENT)
		return err_set(err, ENOENT, "%s: %s has no @odata.id", what, key);
	if (rc)
		return err_set(err, ERANGE, "%s: %s.@odata.id is not a string", what, key);
	if (!rf_path_ok(p) || strlen(p) >= cap)
		return err_set(err, ERANGE, "%s: %s.@odata.id \"%.64s\" is not a path under "
			       "/redfish/v1/ on this service", what, key, p);
	snprintf(out, cap, "%s", p);
	return 0;
}

int rf_parse_members_first(const char *body, size_t len, char *path, size_t cap,
			   struct wl_err *err)
{
	const char *what = "Chassis collection";
	json_t *root = load(body, len, what, err), *m, *first;
	int rc;

	if (!root)
		return -EBADMSG;
	path[0] = '\0';
	m = json_object_get(root, "Members");
	if (!json_is_array(m) || json_array_size(m) == 0) {
		rc = err_set(err, ENOENT, "%s: no Members (the BMC lists no chassis)", what);
		goto cleanup;
	}
	first = json_array_get(m, 0);
	if (!json_is_object(first)) {
		rc = err_set(err, ERANGE, "%s: Members[0] is not an object", what);
		goto cleanup;
	}
	{
		json_t *wrap = json_object();
		if (!wrap) {
			rc = -ENOMEM;
			goto cleanup;
		}
		json_object_set(wrap, "Members[0]", first);
		rc = link_of(wrap, "Members[0]", what, path, cap, err);
		json_decref(wrap);
	}
cleanup:
	json_decref(root);
	return rc;
}

int rf_parse_members(const char *body, size_t len, char (*paths)[RF_PATH_MAX], size_t max,
		     size_t *n, struct wl_err *err)
{
	const char *what = "collection";
	json_t *root = load(body, len, what, err), *m, *wrap = NULL;
	int rc = 0;

	*n = 0;
	if (!root)
		return -EBADMSG;
	m = json_object_get(root, "Members");
	if (!json_is_array(m) || json_array_size(m) == 0) {
		rc = err_set(err, ENOENT, "%s: no Members", what);
		goto cleanup;
	}
	if (json_array_size(m) > max) {
		rc = err_set(err, E2BIG, "%s: %zu Members, more than %zu", what, json_array_size(m),
			     max);
		goto cleanup;
	}
	wrap = json_object();
	if (!wrap) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < json_array_size(m); i++) {
		json_t *it = json_array_get(m, i);
		if (!json_is_object(it)) {
			rc = err_set(err, ERANGE, "%s: Members[%zu] is not an object", what, i);
			goto cleanup;
		}
		json_object_set(wrap, "Members[]", it);
		rc = link_of(wrap, "Members[]", what, paths[i], RF_PATH_MAX, err);
		if (rc)
			goto cleanup;
		*n = i + 1;
	}
cleanup:
	if (rc)
		*n = 0;
	json_decref(wrap);
	json_decref(root);
	return rc;
}

/* The one link field of a resource what: -ENOENT (missing: "<what>: <missing>") or
 * link_of()'s error. */
static int parse_one_link(const char *body, size_t len, const char *what, const char *field,
			  const char *missing, char *path, size_t cap, struct wl_err *err)
{
	json_t *root = load(body, len, what, err);
	int rc;

	if (!root)
		return -EBADMSG;
	rc = link_of(root, field, what, path, cap, err);
	if (rc == -ENOENT)
		rc = err_set(err, ENOENT, "%s: %s", what, missing);
	json_decref(root);
	return rc;
}

int rf_parse_power_subsystem(const char *body, size_t len, char *supplies, size_t cap,
			     struct wl_err *err)
{
	return parse_one_link(body, len, "PowerSubsystem", "PowerSupplies", "no PowerSupplies",
			      supplies, cap, err);
}

int rf_parse_supply(const char *body, size_t len, char *metrics, size_t cap, struct wl_err *err)
{
	return parse_one_link(body, len, "PowerSupply", "Metrics",
			      "no Metrics (the supply reports no power)", metrics, cap, err);
}

int rf_parse_chassis(const char *body, size_t len, struct rf_chassis_links *l,
		     struct wl_err *err)
{
	const char *what = "Chassis";
	json_t *root = load(body, len, what, err);
	int rc = 0, r;

	memset(l, 0, sizeof(*l));
	if (!root)
		return -EBADMSG;
	/* a bad link is an error only when no usable one remains */
	r = link_of(root, "EnvironmentMetrics", what, l->env, sizeof(l->env), err);
	if (r == -ERANGE)
		rc = r;
	r = link_of(root, "PowerSubsystem", what, l->psub, sizeof(l->psub), err);
	if (r == -ERANGE)
		rc = r;
	r = link_of(root, "Power", what, l->power, sizeof(l->power), err);
	if (r == -ERANGE)
		rc = r;
	if (l->env[0] || l->power[0] || l->psub[0])
		rc = 0;
	else if (!rc)
		rc = err_set(err, ENOENT, "Chassis: links to none of EnvironmentMetrics, "
			     "PowerSubsystem, Power (the BMC publishes no chassis power)");
	json_decref(root);
	return rc;
}

static int watts_ok(double w, const char *what, const char *field, struct wl_err *err)
{
	if (!isfinite(w) || w < 0 || w > RF_MAX_WATTS)
		return err_set(err, ERANGE, "%s: %s = %g W is out of range (0..%g)", what, field, w,
			       RF_MAX_WATTS);
	return 0;
}

static int num_field(const json_t *o, const char *key, const char *what, const char *field,
		     double *v, struct wl_err *err)
{
	int rc = jg_num(o, key, field, v, NULL);

	if (rc == -ENOENT)
		return err_set(err, ENOENT, "%s: no %s (missing or null: the BMC has no reading)",
			       what, field);
	if (rc)
		return err_set(err, ERANGE, "%s: %s is not a number", what, field);
	return 0;
}

/* what.{power}.Reading and EnergykWh.Reading of a metrics document */
static int metrics_doc(const char *body, size_t len, const char *what, const char *power,
		       struct rf_reading *r, struct wl_err *err)
{
	char field[64];
	json_t *root = load(body, len, what, err), *pw, *ek;
	double kwh;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!root)
		return -EBADMSG;
	snprintf(field, sizeof(field), "%s.Reading", power);
	pw = json_object_get(root, power);
	if (pw && !json_is_null(pw) && !json_is_object(pw)) {
		rc = err_set(err, ERANGE, "%s: %s is not an object", what, power);
		goto cleanup;
	}
	rc = num_field(pw, "Reading", what, field, &r->watts, err);
	if (rc == 0)
		rc = watts_ok(r->watts, what, field, err);
	if (rc)
		goto cleanup;
	ek = json_object_get(root, "EnergykWh");
	if (json_is_object(ek) && jg_num(ek, "Reading", "EnergykWh.Reading", &kwh, NULL) == 0 &&
	    kwh >= 0) {
		r->have_kwh = true;
		r->kwh = kwh;
	}
cleanup:
	json_decref(root);
	return rc;
}

int rf_parse_env_metrics(const char *body, size_t len, struct rf_reading *r, struct wl_err *err)
{
	return metrics_doc(body, len, "EnvironmentMetrics", "PowerWatts", r, err);
}

int rf_parse_supply_metrics(const char *body, size_t len, struct rf_reading *r,
			    struct wl_err *err)
{
	return metrics_doc(body, len, "PowerSupplyMetrics", "InputPowerWatts", r, err);
}

int rf_parse_power(const char *body, size_t len, struct rf_reading *r, struct wl_err *err)
{
	const char *what = "Power";
	json_t *root = load(body, len, what, err), *pc;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!root)
		return -EBADMSG;
	pc = json_object_get(root, "PowerControl");
	if (!json_is_array(pc) || json_array_size(pc) == 0) {
		rc = err_set(err, ENOENT, "%s: no PowerControl[0] (the BMC has no reading)", what);
		goto cleanup;
	}
	rc = num_field(json_array_get(pc, 0), "PowerConsumedWatts", what,
		       "PowerControl[0].PowerConsumedWatts", &r->watts, err);
	if (rc == 0)
		rc = watts_ok(r->watts, what, "PowerControl[0].PowerConsumedWatts", err);
cleanup:
	json_decref(root);
	return rc;
}
