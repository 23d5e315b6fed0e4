/* kube_writer_json.c - the writer's request bodies: server-side apply of PodEnergy and
 * NodeEnergy (metadata + spec, then status), core/v1 Events, and the object paths
 * (kube_writer_impl.h). Values a CRD would refuse (not finite, negative, outside an enum)
 * are left out and counted, never sent. */
#include "kube_writer_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "../common/humanfmt.h"
#include "../common/strbuf.h"

#define GROUP_PATH "/apis/wattlet.dev/v1alpha1"
#define API_VERSION "wattlet.dev/v1alpha1"
#define EVENT_MSG_MAX 1024

static void rfc3339(uint64_t real_ns_v, char out[32])
{
	time_t t = (time_t)(real_ns_v / NS_PER_S);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		kw_copy_str(out, 32, "1970-01-01T00:00:00Z");
}

static int put_str(json_t *o, const char *k, const char *s)
{
	if (!s)
		return 0;
	return json_object_set_new(o, k, json_string(s)) ? -ENOMEM : 0;
}

/* Non-negative finite numbers only (the CRDs' minimum: 0); others are left out. */
static int put_num(json_t *o, const char *k, double v, uint64_t *omitted)
{
	if (!isfinite(v) || v < 0) {
		if (omitted)
			(*omitted)++;
		return 0;
	}
	return json_object_set_new(o, k, json_real(v)) ? -ENOMEM : 0;
}

static int put_any_num(json_t *o, const char *k, double v, uint64_t *omitted)
{
	if (!isfinite(v)) {
		if (omitted)
			(*omitted)++;
		return 0;
	}
	return json_object_set_new(o, k, json_real(v)) ? -ENOMEM : 0;
}

static int put_time(json_t *o, const char *k, uint64_t real_ns_v)
{
	char t[32];
	if (!real_ns_v)
		return 0;
	rfc3339(real_ns_v, t);
	return put_str(o, k, t);
}

/* Sets child (a new object or array) under k in o and returns it for the caller to fill;
 * a failure is ORed into *rc as the callers do with their own calls. */
static json_t *put_child(json_t *o, const char *k, json_t *child, int *rc)
{
	*rc |= json_object_set_new(o, k, child);
	return child;
}

/* Appends a new object to the array a and returns it, a failure ORed into *rc. */
static json_t *add_object(json_t *a, int *rc)
{
	json_t *o = json_object();
	*rc |= json_array_append_new(a, o);
	return o;
}

static char *dump(json_t *root)
{
	char *s = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(root);
	return s;
}

bool kw_nonempty(const char *s)
{
	return s && *s;
}

/* s is one of the NULL-terminated list (the CRD's enum). */
static bool one_of(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static const char *const METER_KINDS[] = { "powercap", "perf", "msr", "hwmon", "acpi", "nvml",
					   "redfish", NULL };
static const char *const NODE_SOURCES[] = { "meter", "model", "meter+model", "none", NULL };
static const char *const POD_SOURCES[] = { "measured", "estimated", "none", NULL };

/* An enum string: written when the CRD allows it, else left out and counted. */
static int put_enum(json_t *o, const char *k, const char *s, const char *const *list,
		    uint64_t *omitted)
{
	if (!s)
		return 0;
	if (!one_of(s, list)) {
		if (omitted)
			(*omitted)++;
		return 0;
	}
	return put_str(o, k, s);
}

/* {"apiVersion": "wattlet.dev/v1alpha1", "kind": kind, "metadata": {"name": name,
 * "namespace": ns (unless NULL)}}; *md gets the metadata. NULL: out of memory. */
static json_t *crd_object(const char *kind, const char *name, const char *ns, json_t **md)
{
	json_t *root = json_object(), *m = json_object();
	int rc = 0;

	if (!root || !m) {
		json_decref(m);
		json_decref(root);
		return NULL;
	}
	rc |= put_str(root, "apiVersion", API_VERSION);
	rc |= put_str(root, "kind", kind);
	rc |= json_object_set_new(root, "metadata", m);
	rc |= put_str(m, "name", name);
	rc |= put_str(m, "namespace", ns);
	if (rc) {
		json_decref(root);
		return NULL;
	}
	*md = m;
	return root;
}

/* status.display[k]: v for a person (humanfmt.h), next to the exact number; left out
 * where the number is (not finite, negative). */
static int put_display(json_t *disp, const char *k, double v, enum hf_unit u)
{
	char buf[32];

	if (!isfinite(v) || v < 0)
		return 0;
	hf_format(v, u, buf, sizeof(buf));
	return put_str(disp, k, buf);
}

/* refresh_s / max_refresh_s: status.refreshIntervalSeconds / maxRefreshIntervalSeconds
 * (<= 0: left out). which 2: status without owner and display (a CRD older than them:
 * kube_writer_send.c). */
char *kw_pod_json(const struct kw_pod *p, int which, uint64_t *omitted, double refresh_s,
			double max_refresh_s)
{
	json_t *root, *md, *x, *a;
	int rc = 0;

	if (!p || !kw_nonempty(p->ns) || !kw_nonempty(p->name) || !kw_nonempty(p->uid) ||
	    !kw_nonempty(p->node))
		return NULL;
	root = crd_object("PodEnergy", p->name, p->ns, &md);
	if (!root)
		return NULL;
	if (which == 0) {
		json_t *own = json_object(), *lab = json_object();
		rc |= json_object_set_new(md, "labels", lab);
		rc |= put_str(lab, "app.kubernetes.io/managed-by", "wattlet");
		if (kw_nonempty(p->budget_annotation)) {
			json_t *ann = put_child(md, "annotations", json_object(), &rc);
			rc |= put_str(ann, KW_BUDGET_ANNOTATION, p->budget_annotation);
		}
		rc |= json_object_set_new(md, "ownerReferences", json_pack("[o]", own));
		rc |= put_str(own, "apiVersion", "v1");
		rc |= put_str(own, "kind", "Pod");
		rc |= put_str(own, "name", p->name);
		rc |= put_str(own, "uid", p->uid);
		rc |= json_object_set_new(own, "controller", json_true());
		rc |= json_object_set_new(own, "blockOwnerDeletion", json_false());
		x = put_child(root, "spec", json_object(), &rc);
		rc |= put_str(x, "podName", p->name);
		rc |= put_str(x, "podUID", p->uid);
		rc |= put_str(x, "nodeName", p->node);
	} else {
		x = put_child(root, "status", json_object(), &rc);
		rc |= put_str(x, "nodeName", p->node);
		rc |= put_str(x, "model", p->model);
		rc |= put_str(x, "policy", p->policy ? p->policy : "");
		rc |= put_enum(x, "energySource", p->energy_source, POD_SOURCES, omitted);
		rc |= put_time(x, "lastMeasured", p->last_measured_ns);
		rc |= put_num(x, "windowSeconds", p->window_s, omitted);
		if (refresh_s > 0)
			rc |= json_object_set_new(x, "refreshIntervalSeconds",
						  json_integer((json_int_t)llround(refresh_s)));
		if (max_refresh_s > 0)
			rc |= json_object_set_new(x, "maxRefreshIntervalSeconds",
						  json_integer((json_int_t)llround(max_refresh_s)));
		rc |= put_num(x, "watts", p->watts, omitted);
		rc |= put_num(x, "dynamicWatts", p->dynamic_watts, omitted);
		rc |= put_num(x, "idleWatts", p->idle_watts, omitted);
		rc |= put_num(x, "joules", p->joules, omitted);
		if (p->has_co2e)
			rc |= put_num(x, "co2eGrams", p->co2e_grams, omitted);
		if (kw_nonempty(p->throttle_status) && kw_nonempty(p->throttle_reason)) {
			json_t *co;
			a = put_child(x, "conditions", json_array(), &rc);
			co = add_object(a, &rc);
			rc |= put_str(co, "type", "Throttled");
			rc |= put_str(co, "status", p->throttle_status);
			rc |= put_time(co, "lastTransitionTime",
				       p->throttle_since_ns ? p->throttle_since_ns : real_ns());
			rc |= put_str(co, "reason", p->throttle_reason);
			rc |= put_str(co, "message", p->throttle_message ? p->throttle_message : "");
		}
		if (which == 1 && kw_nonempty(p->owner_kind) && kw_nonempty(p->owner_name)) {
			json_t *ow = put_child(x, "owner", json_object(), &rc);
			rc |= put_str(ow, "kind", p->owner_kind);
			rc |= put_str(ow, "name", p->owner_name);
		}
		if (which == 1) {
			json_t *disp = put_child(x, "display", json_object(), &rc);
			rc |= put_display(disp, "power", p->watts, HF_WATTS);
			rc |= put_display(disp, "dynamicPower", p->dynamic_watts, HF_WATTS);
			rc |= put_display(disp, "idlePower", p->idle_watts, HF_WATTS);
			rc |= put_display(disp, "energy", p->joules, HF_JOULES);
			if (p->has_co2e)
				rc |= put_display(disp, "co2e", p->co2e_grams, HF_GRAMS);
			rc |= put_display(disp, "window", p->window_s, HF_SECONDS);
		}
		if (p->n_zones) {
			a = put_child(x, "zones", json_array(), &rc);
			for (size_t i = 0; i < p->n_zones; i++) {
				const struct kw_zone *z = &p->zones[i];
				json_t *zo;
				const char *zn = zone_name(z->zone);
				if ((unsigned)z->zone >= ZONE_COUNT || !zn)
					continue;
				zo = add_object(a, &rc);
				rc |= put_str(zo, "zone", zn);
				rc |= put_num(zo, "dynamicJoules", z->dynamic_joules, omitted);
				rc |= put_num(zo, "idleJoules", z->idle_joules, omitted);
				rc |= put_num(zo, "dynamicWatts", z->dynamic_watts, omitted);
				rc |= put_num(zo, "idleWatts", z->idle_watts, omitted);
			}
		}
		if (p->n_containers) {
			a = put_child(x, "containers", json_array(), &rc);
			for (size_t i = 0; i < p->n_containers; i++) {
				const struct kw_container *c = &p->containers[i];
				json_t *co;
				if (!kw_nonempty(c->name))
					continue;
				co = add_object(a, &rc);
				rc |= put_str(co, "name", c->name);
				if (kw_nonempty(c->container_id))
					rc |= put_str(co, "containerID", c->container_id);
				rc |= put_num(co, "joules", c->joules, omitted);
				rc |= put_num(co, "watts", c->watts, omitted);
			}
		}
	}
	if (rc) {
		json_decref(root);
		return NULL;
	}
	return dump(root);
}

char *kw_node_json(const struct kw_node *n, int which, const struct werr_view *we,
			 uint64_t *omitted)
{
	json_t *root, *md, *x, *a;
	int rc = 0;

	if (!n || !kw_nonempty(n->name))
		return NULL;
	root = crd_object("NodeEnergy", n->name, NULL, &md);
	if (!root)
		return NULL;
	if (which == 0) {
		json_t *lab = put_child(md, "labels", json_object(), &rc);
		rc |= put_str(lab, "app.kubernetes.io/managed-by", "wattlet");
		rc |= json_object_set_new(root, "spec", json_object());
	} else {
		x = put_child(root, "status", json_object(), &rc);
		if (n->n_meters) {
			a = put_child(x, "meters", json_array(), &rc);
			for (size_t i = 0; i < n->n_meters; i++) {
				json_t *m;
				if (!one_of(n->meters[i].kind, METER_KINDS)) {
					if (omitted && n->meters[i].kind)
						(*omitted)++;
					continue;
				}
				m = add_object(a, &rc);
				rc |= put_str(m, "kind", n->meters[i].kind);
				rc |= json_object_set_new(m, "inUse",
							  json_boolean(n->meters[i].in_use));
				rc |= put_str(m, "reason", n->meters[i].reason);
			}
		}
		if (kw_nonempty(n->usage_source))
			rc |= put_str(x, "usageSource", n->usage_source);
		rc |= put_enum(x, "energySource", n->energy_source, NODE_SOURCES, omitted);
		if (n->model_name || n->attribution || n->estimated_zones) {
			json_t *m = put_child(x, "model", json_object(), &rc);
			rc |= put_str(m, "name", n->model_name);
			if (kw_nonempty(n->attribution))
				rc |= put_str(m, "attribution", n->attribution);
			if (n->estimated_zones) {
				json_t *ez = put_child(m, "estimatedZones", json_array(), &rc);
				for (int z = 0; z < ZONE_COUNT; z++)
					if ((n->estimated_zones & (1u << z)) && zone_name((enum zone)z))
						rc |= json_array_append_new(
							ez, json_string(zone_name((enum zone)z)));
			}
		}
		rc |= put_num(x, "watts", n->watts, omitted);
		rc |= put_num(x, "joules", n->joules, omitted);
		if (which == 1) {
			json_t *disp = put_child(x, "display", json_object(), &rc);
			rc |= put_display(disp, "power", n->watts, HF_WATTS);
			rc |= put_display(disp, "energy", n->joules, HF_JOULES);
		}
		if (n->n_zones) {
			a = put_child(x, "zones", json_array(), &rc);
			for (size_t i = 0; i < n->n_zones; i++) {
				const struct kw_node_zone *z = &n->zones[i];
				const char *zn = zone_name(z->zone);
				json_t *zo;
				if ((unsigned)z->zone >= ZONE_COUNT || !zn)
					continue;
				zo = add_object(a, &rc);
				rc |= put_str(zo, "zone", zn);
				rc |= put_num(zo, "dynamicWatts", z->dynamic_watts, omitted);
				rc |= put_num(zo, "idleWatts", z->idle_watts, omitted);
				if (kw_nonempty(z->idle_source))
					rc |= put_str(zo, "idleSource", z->idle_source);
				rc |= put_num(zo, "joules", z->joules, omitted);
			}
		}
		if (n->has_validation) {
			json_t *v = put_child(x, "validation", json_object(), &rc);
			rc |= put_time(v, "time", n->validation.time_ns);
			rc |= json_object_set_new(v, "passed", json_boolean(n->validation.passed));
			rc |= put_any_num(v, "nodeDeviationPercent",
					  n->validation.node_deviation_pct, omitted);
			rc |= put_any_num(v, "podDeviationPercent",
					  n->validation.pod_deviation_pct, omitted);
		}
		rc |= put_time(x, "lastUpdateTime", real_ns());
		if (we && we->total) {
			json_t *e = put_child(x, "writeErrors", json_object(), &rc);
			rc |= json_object_set_new(e, "failedWrites", json_integer((json_int_t)we->total));
			rc |= put_time(e, "lastTime", we->at_ns);
			rc |= put_str(e, "lastResource", we->resource);
			rc |= put_str(e, "lastReason", we->reason);
			rc |= put_str(e, "lastMessage", we->message);
		}
		a = put_child(x, "conditions", json_array(), &rc);
		for (size_t i = 0; i < n->n_conditions; i++) {
			const struct kw_condition *c = &n->conditions[i];
			json_t *co;
			if (!kw_nonempty(c->type) || !kw_nonempty(c->status) || !kw_nonempty(c->reason))
				continue;
			co = add_object(a, &rc);
			rc |= put_str(co, "type", c->type);
			rc |= put_str(co, "status", c->status);
			rc |= put_time(co, "lastTransitionTime",
				       c->last_transition_ns ? c->last_transition_ns : real_ns());
			rc |= put_str(co, "reason", c->reason);
			rc |= put_str(co, "message", c->message ? c->message : "");
		}
	}
	if (rc) {
		json_decref(root);
		return NULL;
	}
	return dump(root);
}

char *kube_writer_pod_json(const struct kw_pod *snap, int which, const char *field_manager)
{
	double iv = snap && snap->interval_s ? snap->interval_s : KW_DEFAULT_INTERVAL_S;
	(void)field_manager;
	/* as written without a budget, at the default refresh_intervals (10) */
	return kw_pod_json(snap, which, NULL, iv, iv * 10);
}

char *kube_writer_node_json(const struct kw_node *snap, int which)
{
	return kw_node_json(snap, which, NULL, NULL);
}

char *kw_event_json(const struct kw_event *ev, const char *node, const char *ns)
{
	json_t *root = json_object(), *md = json_object(), *io = json_object(),
	       *src = json_object();
	char t[32], gen[300], msg[EVENT_MSG_MAX + 1];
	int rc = 0;

	if (!root || !md || !io || !src) {
		json_decref(root);
		json_decref(md);
		json_decref(io);
		json_decref(src);
		return NULL;
	}
	rfc3339(real_ns(), t);
	snprintf(gen, sizeof(gen), "%.240s.", ev->name);
	kw_copy_str(msg, sizeof(msg), ev->message ? ev->message : "");
	rc |= put_str(root, "apiVersion", "v1");
	rc |= put_str(root, "kind", "Event");
	rc |= json_object_set_new(root, "metadata", md);
	rc |= put_str(md, "generateName", gen);
	rc |= put_str(md, "namespace", ns);
	rc |= json_object_set_new(root, "involvedObject", io);
	rc |= put_str(io, "apiVersion", ev->api_version);
	rc |= put_str(io, "kind", ev->kind);
	if (kw_nonempty(ev->ns))
		rc |= put_str(io, "namespace", ev->ns);
	rc |= put_str(io, "name", ev->name);
	if (kw_nonempty(ev->uid))
		rc |= put_str(io, "uid", ev->uid);
	rc |= put_str(root, "reason", ev->reason);
	rc |= put_str(root, "message", msg);
	rc |= put_str(root, "type", kw_nonempty(ev->type) ? ev->type : "Normal");
	rc |= json_object_set_new(root, "source", src);
	rc |= put_str(src, "component", "wattlet");
	if (kw_nonempty(node))
		rc |= put_str(src, "host", node);
	rc |= put_str(root, "firstTimestamp", t);
	rc |= put_str(root, "lastTimestamp", t);
	rc |= json_object_set_new(root, "count", json_integer(1));
	rc |= put_str(root, "reportingComponent", "wattlet");
	if (kw_nonempty(node))
		rc |= put_str(root, "reportingInstance", node);
	if (rc) {
		json_decref(root);
		return NULL;
	}
	return dump(root);
}

int kw_apply_query(struct strbuf *sb, const char *fm)
{
	strbuf_adds(sb, "?fieldManager=");
	kube_url_escape(sb, fm);
	return strbuf_adds(sb, "&force=true");
}

int kw_object_path(char *out, size_t cap, const char *ns, const char *plural,
		       const char *name, bool status, const char *fm)
{
	struct strbuf sb;
	int rc;
	strbuf_init(&sb, cap);
	strbuf_adds(&sb, GROUP_PATH);
	if (ns) {
		strbuf_adds(&sb, "/namespaces/");
		kube_url_escape(&sb, ns);
	}
	strbuf_addf(&sb, "/%s/", plural);
	kube_url_escape(&sb, name);
	if (status)
		strbuf_adds(&sb, "/status");
	rc = kw_apply_query(&sb, fm);
	if (!rc && sb.len < cap)
		memcpy(out, sb.buf, sb.len + 1);
	else
		rc = -ENAMETOOLONG;
	strbuf_release(&sb);
	return rc;
}
