/* kube_writer.c - PodEnergy / NodeEnergy / Event writes on a thread of their own
 * (kube_writer.h). */
#include "kube_writer.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "agent/common/strbuf.h"
#include "kube_backoff.h"
#include "kube_http.h"

#define GROUP_PATH "/apis/wattlet.dev/v1alpha1"
#define API_VERSION "wattlet.dev/v1alpha1"
#define APPLY_CT "application/apply-patch+yaml"
#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
#define RECENT_EVENTS 64
#define MAX_PATH_LEN 2048
#define EVENT_MSG_MAX 1024

/* One tracked pod. Heap-allocated so the table can move pointers around while the
 * writer thread works on a snapshot it took out (it finds the pod again by uid). */
struct pslot {
	char uid[72];
	struct kw_pod *pending; /* newest unwritten snapshot (one allocation), or NULL */
	bool created;		/* metadata + spec applied */
	bool ever_written;	/* status applied at least once */
	uint64_t last_write_ns, next_try_ns, skip_until_ns;
	double w_watts, w_joules; /* as last written */
	uint64_t w_hash;
	uint64_t meta_hash; /* budget annotation as last applied with metadata (0: none) */
};

/* One pending kube_writer_offer_status body (one allocation: strings follow). */
struct apply {
	const char *key, *path, *fm, *body;
};

struct cond_state {
	char type[80];
	char status[16];
	uint64_t since_ns;
};

struct recent_event {
	uint64_t key;
	uint64_t at_ns;
};

struct rate_ring {
	uint64_t sec[60];
	uint32_t n[60];
};

struct kube_writer {
	struct kube_writer_opts o;
	char field_manager[64];
	char node_name[254];
	struct kube_http *http;
	struct kube_backoff bo;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool have_thread, stop, kicked;

	/* pods: open addressing (linear probing, backward-shift deletion) */
	struct pslot **tab;
	size_t tab_cap, n_pods;
	size_t cursor;

	/* node */
	struct kw_node *node_pending;
	char node_key[254];
	bool node_created, node_written;
	uint64_t node_last_write_ns, node_next_try_ns, node_skip_until_ns;
	double node_w_watts, node_w_joules;
	uint64_t node_w_hash;
	uint64_t node_w_failures; /* failures_total() when the node was last written */
	struct cond_state conds[KW_MAX_CONDITIONS];
	size_t n_conds;

	/* generic status applies, oldest first */
	struct apply **ap;
	size_t n_ap;

	/* events */
	struct kw_event **evq;
	size_t evq_head, evq_len;
	struct recent_event recent[RECENT_EVENTS];
	size_t recent_next;

	/* rate limit and backoff */
	double tokens;
	uint64_t tokens_at_ns;
	uint64_t backoff_until_ns;
	bool stalled; /* rate_limited already counted for the current wait */

	struct rate_ring writes_ring, req_ring;
	struct kube_writer_stats st;
};

/* ---- small helpers ----------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const char *s)
{
	if (!s)
		s = "\x01";
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	h ^= 0xff; /* separator so "ab"+"c" != "a"+"bc" */
	return h * 1099511628211ull;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (i * 8)) & 0xff;
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t now_of(const struct kube_writer *w)
{
	return w->o.now_ns ? w->o.now_ns(w->o.clock_ud) : mono_ns();
}

static void copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

static void rfc3339(uint64_t real_ns_v, char out[32])
{
	time_t t = (time_t)(real_ns_v / NS_PER_S);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		copy_str(out, 32, "1970-01-01T00:00:00Z");
}

static void ring_add(struct rate_ring *r, uint64_t now_ns)
{
	uint64_t s = now_ns / NS_PER_S;
	size_t i = s % 60;
	if (r->sec[i] != s) {
		r->sec[i] = s;
		r->n[i] = 0;
	}
	r->n[i]++;
}

static double ring_rate(const struct rate_ring *r, uint64_t now_ns)
{
	uint64_t s = now_ns / NS_PER_S, sum = 0;
	for (size_t i = 0; i < 60; i++)
		if (r->n[i] && r->sec[i] + 60 > s && r->sec[i] <= s)
			sum += r->n[i];
	return (double)sum / 60.0;
}

/* ---- deep copies: one allocation per snapshot ---------------------------------------- */

struct arena {
	char *p;
	size_t off, cap;
};

static size_t al(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

static size_t slen(const char *s)
{
	return s ? al(strlen(s) + 1) : 0;
}

static void *ar_get(struct arena *a, size_t n)
{
	void *r = a->p + a->off;
	a->off += al(n);
	return r;
}

static const char *ar_str(struct arena *a, const char *s)
{
	size_t n;
	char *d;
	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = ar_get(a, n);
	memcpy(d, s, n);
	return d;
}

static struct kw_pod *pod_dup(const struct kw_pod *s, size_t *cut)
{
	size_t nz = s->n_zones > KW_MAX_ZONES ? KW_MAX_ZONES : s->n_zones;
	size_t nc = s->n_containers > KW_MAX_CONTAINERS ? KW_MAX_CONTAINERS : s->n_containers;
	size_t sz = al(sizeof(*s)) + al(nz * sizeof(struct kw_zone)) +
		    al(nc * sizeof(struct kw_container));
	struct arena a;
	struct kw_pod *d;
	struct kw_container *c;

	*cut = s->n_containers - nc;
	if (!s->zones)
		nz = 0;
	if (!s->containers)
		nc = 0;
	sz += slen(s->ns) + slen(s->name) + slen(s->uid) + slen(s->node) + slen(s->model) +
	      slen(s->policy) + slen(s->budget_annotation) + slen(s->energy_source);
	for (size_t i = 0; i < nc; i++)
		sz += slen(s->containers[i].name) + slen(s->containers[i].container_id);
	a.p = calloc(1, sz);
	if (!a.p)
		return NULL;
	a.off = 0;
	a.cap = sz;
	d = ar_get(&a, sizeof(*d));
	*d = *s;
	d->ns = ar_str(&a, s->ns);
	d->name = ar_str(&a, s->name);
	d->uid = ar_str(&a, s->uid);
	d->node = ar_str(&a, s->node);
	d->model = ar_str(&a, s->model);
	d->policy = ar_str(&a, s->policy);
	d->budget_annotation = ar_str(&a, s->budget_annotation);
	d->energy_source = ar_str(&a, s->energy_source);
	d->n_zones = nz;
	d->zones = NULL;
	if (nz) {
		struct kw_zone *z = ar_get(&a, nz * sizeof(*z));
		memcpy(z, s->zones, nz * sizeof(*z));
		d->zones = z;
	}
	d->n_containers = nc;
	d->containers = NULL;
	if (nc) {
		c = ar_get(&a, nc * sizeof(*c));
		for (size_t i = 0; i < nc; i++) {
			c[i] = s->containers[i];
			c[i].name = ar_str(&a, s->containers[i].name);
			c[i].container_id = ar_str(&a, s->containers[i].container_id);
		}
		d->containers = c;
	}
	return d;
}

static struct kw_node *node_dup(const struct kw_node *s)
{
	size_t nm = s->meters ? (s->n_meters > KW_MAX_METERS ? KW_MAX_METERS : s->n_meters) : 0;
	size_t nz = s->zones ? (s->n_zones > KW_MAX_ZONES ? KW_MAX_ZONES : s->n_zones) : 0;
	size_t nc = s->conditions ?
			    (s->n_conditions > KW_MAX_CONDITIONS ? KW_MAX_CONDITIONS : s->n_conditions) :
			    0;
	size_t sz = al(sizeof(*s)) + al(nm * sizeof(struct kw_meter)) +
		    al(nz * sizeof(struct kw_node_zone)) + al(nc * sizeof(struct kw_condition));
	struct arena a;
	struct kw_node *d;

	sz += slen(s->name) + slen(s->usage_source) + slen(s->model_name) + slen(s->attribution) +
	      slen(s->energy_source);
	for (size_t i = 0; i < nm; i++)
		sz += slen(s->meters[i].kind) + slen(s->meters[i].reason);
	for (size_t i = 0; i < nz; i++)
		sz += slen(s->zones[i].idle_source);
	for (size_t i = 0; i < nc; i++)
		sz += slen(s->conditions[i].type) + slen(s->conditions[i].status) +
		      slen(s->conditions[i].reason) + slen(s->conditions[i].message);
	a.p = calloc(1, sz);
	if (!a.p)
		return NULL;
	a.off = 0;
	a.cap = sz;
	d = ar_get(&a, sizeof(*d));
	*d = *s;
	d->name = ar_str(&a, s->name);
	d->usage_source = ar_str(&a, s->usage_source);
	d->model_name = ar_str(&a, s->model_name);
	d->attribution = ar_str(&a, s->attribution);
	d->energy_source = ar_str(&a, s->energy_source);
	d->n_meters = nm;
	d->meters = NULL;
	if (nm) {
		struct kw_meter *m = ar_get(&a, nm * sizeof(*m));
		for (size_t i = 0; i < nm; i++) {
			m[i] = s->meters[i];
			m[i].kind = ar_str(&a, s->meters[i].kind);
			m[i].reason = ar_str(&a, s->meters[i].reason);
		}
		d->meters = m;
	}
	d->n_zones = nz;
	d->zones = NULL;
	if (nz) {
		struct kw_node_zone *z = ar_get(&a, nz * sizeof(*z));
		for (size_t i = 0; i < nz; i++) {
			z[i] = s->zones[i];
			z[i].idle_source = ar_str(&a, s->zones[i].idle_source);
		}
		d->zones = z;
	}
	d->n_conditions = nc;
	d->conditions = NULL;
	if (nc) {
		struct kw_condition *c = ar_get(&a, nc * sizeof(*c));
		for (size_t i = 0; i < nc; i++) {
			c[i] = s->conditions[i];
			c[i].type = ar_str(&a, s->conditions[i].type);
			c[i].status = ar_str(&a, s->conditions[i].status);
			c[i].reason = ar_str(&a, s->conditions[i].reason);
			c[i].message = ar_str(&a, s->conditions[i].message);
		}
		d->conditions = c;
	}
	return d;
}

static struct kw_event *event_dup(const struct kw_event *s)
{
	size_t sz = al(sizeof(*s)) + slen(s->api_version) + slen(s->kind) + slen(s->ns) +
		    slen(s->name) + slen(s->uid) + slen(s->reason) + slen(s->message) +
		    slen(s->type);
	struct arena a = { calloc(1, sz), 0, sz };
	struct kw_event *d;
	if (!a.p)
		return NULL;
	d = ar_get(&a, sizeof(*d));
	d->api_version = ar_str(&a, s->api_version);
	d->kind = ar_str(&a, s->kind);
	d->ns = ar_str(&a, s->ns);
	d->name = ar_str(&a, s->name);
	d->uid = ar_str(&a, s->uid);
	d->reason = ar_str(&a, s->reason);
	d->message = ar_str(&a, s->message);
	d->type = ar_str(&a, s->type);
	return d;
}

/* The budget annotation as a hash; 0 for none. */
static uint64_t annot_hash(const struct kw_pod *p)
{
	uint64_t h;
	if (!p->budget_annotation || !*p->budget_annotation)
		return 0;
	h = fnv(1469598103934665603ull, p->budget_annotation);
	return h ? h : 1;
}

static uint64_t pod_hash(const struct kw_pod *p)
{
	uint64_t h = 1469598103934665603ull;
	h = fnv_u64(h, annot_hash(p));
	h = fnv(h, p->model);
	h = fnv(h, p->policy);
	h = fnv(h, p->node);
	h = fnv(h, p->energy_source);
	h = fnv_u64(h, p->has_co2e);
	h = fnv_u64(h, p->n_zones);
	for (size_t i = 0; i < p->n_zones; i++)
		h = fnv_u64(h, (uint64_t)p->zones[i].zone);
	for (size_t i = 0; i < p->n_containers; i++) {
		h = fnv(h, p->containers[i].name);
		h = fnv(h, p->containers[i].container_id);
	}
	return h;
}

static uint64_t node_hash(const struct kw_node *n)
{
	uint64_t h = 1469598103934665603ull;
	h = fnv(h, n->usage_source);
	h = fnv(h, n->model_name);
	h = fnv(h, n->attribution);
	h = fnv(h, n->energy_source);
	h = fnv_u64(h, n->estimated_zones);
	for (size_t i = 0; i < n->n_meters; i++) {
		h = fnv(h, n->meters[i].kind);
		h = fnv_u64(h, n->meters[i].in_use);
		h = fnv(h, n->meters[i].reason);
	}
	for (size_t i = 0; i < n->n_zones; i++) {
		h = fnv_u64(h, (uint64_t)n->zones[i].zone);
		h = fnv(h, n->zones[i].idle_source);
	}
	h = fnv_u64(h, n->has_validation);
	if (n->has_validation) {
		h = fnv_u64(h, n->validation.time_ns / NS_PER_S);
		h = fnv_u64(h, n->validation.passed);
	}
	for (size_t i = 0; i < n->n_conditions; i++) {
		h = fnv(h, n->conditions[i].type);
		h = fnv(h, n->conditions[i].status);
		h = fnv(h, n->conditions[i].reason);
		h = fnv(h, n->conditions[i].message);
	}
	return h;
}

/* ---- JSON ------------------------------------------------------------------------------ */

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

static char *dump(json_t *root)
{
	char *s = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(root);
	return s;
}

static bool nonempty(const char *s)
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

static const char *const METER_KINDS[] = { "powercap", "perf", "msr", "hwmon", "acpi", NULL };
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

/* The writer's failures as the NodeEnergy shows them (status.writeErrors). */
struct werr_view {
	uint64_t total;
	uint64_t at_ns;
	const char *resource, *reason;
	char message[256];
};

static char *pod_json_c(const struct kw_pod *p, int which, uint64_t *omitted)
{
	json_t *root, *md, *x, *a;
	int rc = 0;

	if (!p || !nonempty(p->ns) || !nonempty(p->name) || !nonempty(p->uid) ||
	    !nonempty(p->node))
		return NULL;
	root = json_object();
	md = json_object();
	if (!root || !md) {
		json_decref(md);
		json_decref(root);
		return NULL;
	}
	rc |= put_str(root, "apiVersion", API_VERSION);
	rc |= put_str(root, "kind", "PodEnergy");
	rc |= json_object_set_new(root, "metadata", md);
	rc |= put_str(md, "name", p->name);
	rc |= put_str(md, "namespace", p->ns);
	if (which == 0) {
		json_t *own = json_object(), *lab = json_object();
		rc |= json_object_set_new(md, "labels", lab);
		rc |= put_str(lab, "app.kubernetes.io/managed-by", "wattlet");
		if (nonempty(p->budget_annotation)) {
			json_t *ann = json_object();
			rc |= json_object_set_new(md, "annotations", ann);
			rc |= put_str(ann, KW_BUDGET_ANNOTATION, p->budget_annotation);
		}
		rc |= json_object_set_new(md, "ownerReferences", json_pack("[o]", own));
		rc |= put_str(own, "apiVersion", "v1");
		rc |= put_str(own, "kind", "Pod");
		rc |= put_str(own, "name", p->name);
		rc |= put_str(own, "uid", p->uid);
		rc |= json_object_set_new(own, "controller", json_true());
		rc |= json_object_set_new(own, "blockOwnerDeletion", json_false());
		x = json_object();
		rc |= json_object_set_new(root, "spec", x);
		rc |= put_str(x, "podName", p->name);
		rc |= put_str(x, "podUID", p->uid);
		rc |= put_str(x, "nodeName", p->node);
	} else {
		x = json_object();
		rc |= json_object_set_new(root, "status", x);
		rc |= put_str(x, "nodeName", p->node);
		rc |= put_str(x, "model", p->model);
		rc |= put_str(x, "policy", p->policy ? p->policy : "");
		rc |= put_enum(x, "energySource", p->energy_source, POD_SOURCES, omitted);
		rc |= put_time(x, "lastMeasured", p->last_measured_ns);
		rc |= put_num(x, "windowSeconds", p->window_s, omitted);
		rc |= put_num(x, "watts", p->watts, omitted);
		rc |= put_num(x, "dynamicWatts", p->dynamic_watts, omitted);
		rc |= put_num(x, "idleWatts", p->idle_watts, omitted);
		rc |= put_num(x, "joules", p->joules, omitted);
		if (p->has_co2e)
			rc |= put_num(x, "co2eGrams", p->co2e_grams, omitted);
		if (p->n_zones) {
			a = json_array();
			rc |= json_object_set_new(x, "zones", a);
			for (size_t i = 0; i < p->n_zones; i++) {
				const struct kw_zone *z = &p->zones[i];
				json_t *zo;
				const char *zn = zone_name(z->zone);
				if ((unsigned)z->zone >= ZONE_COUNT || !zn)
					continue;
				zo = json_object();
				rc |= json_array_append_new(a, zo);
				rc |= put_str(zo, "zone", zn);
				rc |= put_num(zo, "dynamicJoules", z->dynamic_joules, omitted);
				rc |= put_num(zo, "idleJoules", z->idle_joules, omitted);
				rc |= put_num(zo, "dynamicWatts", z->dynamic_watts, omitted);
				rc |= put_num(zo, "idleWatts", z->idle_watts, omitted);
			}
		}
		if (p->n_containers) {
			a = json_array();
			rc |= json_object_set_new(x, "containers", a);
			for (size_t i = 0; i < p->n_containers; i++) {
				const struct kw_container *c = &p->containers[i];
				json_t *co;
				if (!nonempty(c->name))
					continue;
				co = json_object();
				rc |= json_array_append_new(a, co);
				rc |= put_str(co, "name", c->name);
				if (nonempty(c->container_id))
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

static char *node_json_c(const struct kw_node *n, int which, const struct werr_view *we,
			 uint64_t *omitted)
{
	json_t *root, *md, *x, *a;
	int rc = 0;

	if (!n || !nonempty(n->name))
		return NULL;
	root = json_object();
	md = json_object();
	if (!root || !md) {
		json_decref(md);
		json_decref(root);
		return NULL;
	}
	rc |= put_str(root, "apiVersion", API_VERSION);
	rc |= put_str(root, "kind", "NodeEnergy");
	rc |= json_object_set_new(root, "metadata", md);
	rc |= put_str(md, "name", n->name);
	if (which == 0) {
		json_t *lab = json_object();
		rc |= json_object_set_new(md, "labels", lab);
		rc |= put_str(lab, "app.kubernetes.io/managed-by", "wattlet");
		rc |= json_object_set_new(root, "spec", json_object());
	} else {
		x = json_object();
		rc |= json_object_set_new(root, "status", x);
		if (n->n_meters) {
			a = json_array();
			rc |= json_object_set_new(x, "meters", a);
			for (size_t i = 0; i < n->n_meters; i++) {
				json_t *m;
				if (!one_of(n->meters[i].kind, METER_KINDS)) {
					if (omitted && n->meters[i].kind)
						(*omitted)++;
					continue;
				}
				m = json_object();
				rc |= json_array_append_new(a, m);
				rc |= put_str(m, "kind", n->meters[i].kind);
				rc |= json_object_set_new(m, "inUse",
							  json_boolean(n->meters[i].in_use));
				rc |= put_str(m, "reason", n->meters[i].reason);
			}
		}
		if (nonempty(n->usage_source))
			rc |= put_str(x, "usageSource", n->usage_source);
		rc |= put_enum(x, "energySource", n->energy_source, NODE_SOURCES, omitted);
		if (n->model_name || n->attribution || n->estimated_zones) {
			json_t *m = json_object();
			rc |= json_object_set_new(x, "model", m);
			rc |= put_str(m, "name", n->model_name);
			if (nonempty(n->attribution))
				rc |= put_str(m, "attribution", n->attribution);
			if (n->estimated_zones) {
				json_t *ez = json_array();
				rc |= json_object_set_new(m, "estimatedZones", ez);
				for (int z = 0; z < ZONE_COUNT; z++)
					if ((n->estimated_zones & (1u << z)) && zone_name((enum zone)z))
						rc |= json_array_append_new(
							ez, json_string(zone_name((enum zone)z)));
			}
		}
		rc |= put_num(x, "watts", n->watts, omitted);
		rc |= put_num(x, "joules", n->joules, omitted);
		if (n->n_zones) {
			a = json_array();
			rc |= json_object_set_new(x, "zones", a);
			for (size_t i = 0; i < n->n_zones; i++) {
				const struct kw_node_zone *z = &n->zones[i];
				const char *zn = zone_name(z->zone);
				json_t *zo;
				if ((unsigned)z->zone >= ZONE_COUNT || !zn)
					continue;
				zo = json_object();
				rc |= json_array_append_new(a, zo);
				rc |= put_str(zo, "zone", zn);
				rc |= put_num(zo, "dynamicWatts", z->dynamic_watts, omitted);
				rc |= put_num(zo, "idleWatts", z->idle_watts, omitted);
				if (nonempty(z->idle_source))
					rc |= put_str(zo, "idleSource", z->idle_source);
				rc |= put_num(zo, "joules", z->joules, omitted);
			}
		}
		if (n->has_validation) {
			json_t *v = json_object();
			rc |= json_object_set_new(x, "validation", v);
			rc |= put_time(v, "time", n->validation.time_ns);
			rc |= json_object_set_new(v, "passed", json_boolean(n->validation.passed));
			rc |= put_any_num(v, "nodeDeviationPercent",
					  n->validation.node_deviation_pct, omitted);
			rc |= put_any_num(v, "podDeviationPercent",
					  n->validation.pod_deviation_pct, omitted);
		}
		rc |= put_time(x, "lastUpdateTime", real_ns());
		if (we && we->total) {
			json_t *e = json_object();
			rc |= json_object_set_new(x, "writeErrors", e);
			rc |= json_object_set_new(e, "failedWrites", json_integer((json_int_t)we->total));
			rc |= put_time(e, "lastTime", we->at_ns);
			rc |= put_str(e, "lastResource", we->resource);
			rc |= put_str(e, "lastReason", we->reason);
			rc |= put_str(e, "lastMessage", we->message);
		}
		a = json_array();
		rc |= json_object_set_new(x, "conditions", a);
		for (size_t i = 0; i < n->n_conditions; i++) {
			const struct kw_condition *c = &n->conditions[i];
			json_t *co;
			if (!nonempty(c->type) || !nonempty(c->status) || !nonempty(c->reason))
				continue;
			co = json_object();
			rc |= json_array_append_new(a, co);
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
	(void)field_manager;
	return pod_json_c(snap, which, NULL);
}

char *kube_writer_node_json(const struct kw_node *snap, int which)
{
	return node_json_c(snap, which, NULL, NULL);
}

static char *event_json(const struct kw_event *ev, const char *node, const char *ns)
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
	copy_str(msg, sizeof(msg), ev->message ? ev->message : "");
	rc |= put_str(root, "apiVersion", "v1");
	rc |= put_str(root, "kind", "Event");
	rc |= json_object_set_new(root, "metadata", md);
	rc |= put_str(md, "generateName", gen);
	rc |= put_str(md, "namespace", ns);
	rc |= json_object_set_new(root, "involvedObject", io);
	rc |= put_str(io, "apiVersion", ev->api_version);
	rc |= put_str(io, "kind", ev->kind);
	if (nonempty(ev->ns))
		rc |= put_str(io, "namespace", ev->ns);
	rc |= put_str(io, "name", ev->name);
	if (nonempty(ev->uid))
		rc |= put_str(io, "uid", ev->uid);
	rc |= put_str(root, "reason", ev->reason);
	rc |= put_str(root, "message", msg);
	rc |= put_str(root, "type", nonempty(ev->type) ? ev->type : "Normal");
	rc |= json_object_set_new(root, "source", src);
	rc |= put_str(src, "component", "wattlet");
	if (nonempty(node))
		rc |= put_str(src, "host", node);
	rc |= put_str(root, "firstTimestamp", t);
	rc |= put_str(root, "lastTimestamp", t);
	rc |= json_object_set_new(root, "count", json_integer(1));
	rc |= put_str(root, "reportingComponent", "wattlet");
	if (nonempty(node))
		rc |= put_str(root, "reportingInstance", node);
	if (rc) {
		json_decref(root);
		return NULL;
	}
	return dump(root);
}

/* ---- the pod table ------------------------------------------------------------------ */

static size_t slot_of(const struct kube_writer *w, const char *uid)
{
	return (size_t)fnv(1469598103934665603ull, uid) & (w->tab_cap - 1);
}

static struct pslot *tab_find(const struct kube_writer *w, const char *uid, size_t *idx)
{
	size_t i = slot_of(w, uid);
	for (size_t n = 0; n < w->tab_cap; n++, i = (i + 1) & (w->tab_cap - 1)) {
		if (!w->tab[i])
			return NULL;
		if (strcmp(w->tab[i]->uid, uid) == 0) {
			if (idx)
				*idx = i;
			return w->tab[i];
		}
	}
	return NULL;
}

static void tab_insert(struct kube_writer *w, struct pslot *s)
{
	size_t i = slot_of(w, s->uid);
	while (w->tab[i])
		i = (i + 1) & (w->tab_cap - 1);
	w->tab[i] = s;
	w->n_pods++;
}

static void tab_remove(struct kube_writer *w, size_t i)
{
	size_t j = i;
	w->tab[i] = NULL;
	w->n_pods--;
	for (;;) {
		size_t k;
		j = (j + 1) & (w->tab_cap - 1);
		if (!w->tab[j])
			return;
		k = slot_of(w, w->tab[j]->uid);
		/* move tab[j] to the hole at i when its home k is not in (i, j] cyclically */
		if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
			w->tab[i] = w->tab[j];
			w->tab[j] = NULL;
			i = j;
		}
	}
}

/* ---- public: offers --------------------------------------------------------------------- */

int kube_writer_offer_pod(struct kube_writer *w, const struct kw_pod *snap)
{
	struct kw_pod *d, *old = NULL;
	struct pslot *s;
	size_t cut = 0;
	bool fresh = false;

	if (!w || !snap || !nonempty(snap->ns) || !nonempty(snap->name) ||
	    !nonempty(snap->uid) || !nonempty(snap->node) || strlen(snap->uid) >= sizeof(s->uid))
		return -EINVAL;
	d = pod_dup(snap, &cut);
	if (!d)
		return -ENOMEM;
	pthread_mutex_lock(&w->mu);
	w->st.containers_cut += cut;
	s = tab_find(w, snap->uid, NULL);
	if (!s) {
		if (w->n_pods >= w->o.max_pods) {
			w->st.dropped_cap++;
			pthread_mutex_unlock(&w->mu);
			free(d);
			return -ENOSPC;
		}
		s = calloc(1, sizeof(*s));
		if (!s) {
			pthread_mutex_unlock(&w->mu);
			free(d);
			return -ENOMEM;
		}
		copy_str(s->uid, sizeof(s->uid), snap->uid);
		tab_insert(w, s);
		fresh = true;
	}
	old = s->pending;
	s->pending = d;
	if (fresh)
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	free(old);
	return 0;
}

int kube_writer_offer_node(struct kube_writer *w, const struct kw_node *snap)
{
	struct kw_node *d, *old;
	uint64_t rn = real_ns();

	if (!w || !snap || !nonempty(snap->name))
		return -EINVAL;
	d = node_dup(snap);
	if (!d)
		return -ENOMEM;
	pthread_mutex_lock(&w->mu);
	/* lastTransitionTime the writer keeps: when it first saw each type's status */
	for (size_t i = 0; i < d->n_conditions; i++) {
		struct kw_condition *c = (struct kw_condition *)&d->conditions[i];
		struct cond_state *cs = NULL;
		if (c->last_transition_ns || !c->type || !c->status)
			continue;
		for (size_t j = 0; j < w->n_conds; j++)
			if (strcmp(w->conds[j].type, c->type) == 0)
				cs = &w->conds[j];
		if (!cs && w->n_conds < KW_MAX_CONDITIONS) {
			cs = &w->conds[w->n_conds++];
			copy_str(cs->type, sizeof(cs->type), c->type);
			cs->status[0] = '\0';
		}
		if (!cs) {
			c->last_transition_ns = rn;
			continue;
		}
		if (strcmp(cs->status, c->status) != 0) {
			copy_str(cs->status, sizeof(cs->status), c->status);
			cs->since_ns = rn;
		}
		c->last_transition_ns = cs->since_ns;
	}
	if (strcmp(w->node_key, d->name) != 0) { /* another node name: a new object */
		copy_str(w->node_key, sizeof(w->node_key), d->name);
		w->node_created = w->node_written = false;
		w->node_next_try_ns = 0;
		pthread_cond_signal(&w->cv);
	}
	old = w->node_pending;
	w->node_pending = d;
	pthread_mutex_unlock(&w->mu);
	free(old);
	return 0;
}

int kube_writer_forget_pod(struct kube_writer *w, const char *uid)
{
	struct pslot *s;
	size_t i;
	if (!w || !uid)
		return -EINVAL;
	pthread_mutex_lock(&w->mu);
	s = tab_find(w, uid, &i);
	if (s)
		tab_remove(w, i);
	pthread_mutex_unlock(&w->mu);
	if (!s)
		return -ENOENT;
	free(s->pending);
	free(s);
	return 0;
}

int kube_writer_event(struct kube_writer *w, const struct kw_event *ev)
{
	struct kw_event *d;
	uint64_t key, now;
	int rc = 0;

	if (!w || !ev || !nonempty(ev->kind) || !nonempty(ev->name) || !nonempty(ev->reason) ||
	    !nonempty(ev->api_version))
		return -EINVAL;
	key = fnv(fnv(fnv(fnv(1469598103934665603ull, ev->kind), ev->ns), ev->name), ev->reason);
	d = event_dup(ev);
	if (!d)
		return -ENOMEM;
	pthread_mutex_lock(&w->mu);
	now = now_of(w);
	for (size_t i = 0; i < RECENT_EVENTS; i++)
		if (w->recent[i].at_ns && w->recent[i].key == key &&
		    now - w->recent[i].at_ns < (uint64_t)w->o.event_min_gap_s * NS_PER_S) {
			w->st.events_suppressed++;
			rc = -EALREADY;
			goto cleanup;
		}
	if (w->evq_len >= w->o.event_queue) {
		w->st.events_dropped++;
		rc = -ENOSPC;
		goto cleanup;
	}
	w->recent[w->recent_next].key = key;
	w->recent[w->recent_next].at_ns = now ? now : 1;
	w->recent_next = (w->recent_next + 1) % RECENT_EVENTS;
	w->evq[(w->evq_head + w->evq_len) % w->o.event_queue] = d;
	w->evq_len++;
	d = NULL;
	pthread_cond_signal(&w->cv);
cleanup:
	pthread_mutex_unlock(&w->mu);
	free(d);
	return rc;
}

int kube_writer_offer_status(struct kube_writer *w, const char *key, const char *path,
			     const char *field_manager, const char *json_body)
{
	struct apply *a, *old = NULL;
	size_t kl, pl, fl, bl;
	char *p;
	int rc = 0;

	if (!w || !nonempty(key) || !path || path[0] != '/' || strchr(path, '?') ||
	    !nonempty(json_body))
		return -EINVAL;
	if (!field_manager)
		field_manager = w->field_manager;
	kl = strlen(key);
	pl = strlen(path);
	fl = strlen(field_manager);
	bl = strlen(json_body);
	if (!fl || fl > KW_FIELD_MANAGER_MAX || kl > 1024 || pl > MAX_PATH_LEN / 2 ||
	    bl > KW_APPLY_BODY_MAX)
		return -EINVAL;
	a = malloc(sizeof(*a) + kl + pl + fl + bl + 4);
	if (!a)
		return -ENOMEM;
	p = (char *)(a + 1);
	a->key = memcpy(p, key, kl + 1);
	p += kl + 1;
	a->path = memcpy(p, path, pl + 1);
	p += pl + 1;
	a->fm = memcpy(p, field_manager, fl + 1);
	p += fl + 1;
	a->body = memcpy(p, json_body, bl + 1);
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->n_ap; i++)
		if (strcmp(w->ap[i]->key, key) == 0) {
			old = w->ap[i];
			w->ap[i] = a; /* newest body, same turn */
			a = NULL;
			break;
		}
	if (a) {
		if (w->n_ap >= w->o.max_applies) {
			w->st.applies_dropped++;
			rc = -ENOSPC;
			old = a;
		} else {
			w->ap[w->n_ap++] = a;
			pthread_cond_signal(&w->cv);
		}
	}
	pthread_mutex_unlock(&w->mu);
	free(old);
	return rc;
}

void kube_writer_stats(struct kube_writer *w, struct kube_writer_stats *out)
{
	uint64_t now;
	if (!w || !out)
		return;
	pthread_mutex_lock(&w->mu);
	now = now_of(w);
	*out = w->st;
	out->pods = w->n_pods;
	out->applies_pending = w->n_ap;
	out->writes_per_s_1m = ring_rate(&w->writes_ring, now);
	out->requests_per_s_1m = ring_rate(&w->req_ring, now);
	out->backing_off = w->backoff_until_ns > now;
	pthread_mutex_unlock(&w->mu);
}

void kube_writer_kick(struct kube_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->kicked = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* ---- the writer's work ------------------------------------------------------------------ */

/* Outcome of one request. */
enum res { R_OK, R_NOTFOUND, R_INVALID, R_OTHER4XX, R_RETRY };

static void set_err_locked(struct kube_writer *w, const char *what, const char *msg)
{
	size_t cap = sizeof(w->st.last_error), n;
	copy_str(w->st.last_error, cap, what);
	n = strlen(w->st.last_error);
	if (n + 2 < cap) {
		memcpy(w->st.last_error + n, ": ", 3);
		copy_str(w->st.last_error + n + 2, cap - n - 2, msg);
	}
}

static const char *const REASON_NAMES[KW_REASON_COUNT] = {
	[KW_REASON_INVALID] = "Invalid",
	[KW_REASON_FORBIDDEN] = "Forbidden",
	[KW_REASON_UNAUTHORIZED] = "Unauthorized",
	[KW_REASON_NOTFOUND] = "NotFound",
	[KW_REASON_CONFLICT] = "Conflict",
	[KW_REASON_BADREQUEST] = "BadRequest",
	[KW_REASON_TOOMANYREQUESTS] = "TooManyRequests",
	[KW_REASON_TIMEOUT] = "Timeout",
	[KW_REASON_INTERNALERROR] = "InternalError",
	[KW_REASON_SERVICEUNAVAILABLE] = "ServiceUnavailable",
	[KW_REASON_NORESPONSE] = "NoResponse",
	[KW_REASON_OTHER] = "Other",
};

static const char *const RESOURCE_NAMES[KW_RES_COUNT] = {
	[KW_RES_PODENERGIES] = "podenergies",
	[KW_RES_NODEENERGIES] = "nodeenergies",
	[KW_RES_EVENTS] = "events",
	[KW_RES_STATUS] = "status",
};

const char *kube_writer_reason_name(enum kw_reason r)
{
	return (unsigned)r < KW_REASON_COUNT ? REASON_NAMES[r] : "Other";
}

const char *kube_writer_resource_name(enum kw_resource r)
{
	return (unsigned)r < KW_RES_COUNT ? RESOURCE_NAMES[r] : "other";
}

enum kw_reason kube_writer_reason_of(long status, const char *body, int rc)
{
	enum kw_reason r = KW_REASON_OTHER;

	if (rc || status <= 0)
		return rc == -ETIMEDOUT ? KW_REASON_TIMEOUT : KW_REASON_NORESPONSE;
	if (body && *body) {
		json_t *j = json_loads(body, 0, NULL);
		const char *s = json_string_value(json_object_get(j, "reason"));
		if (s) {
			if (strcmp(s, "AlreadyExists") == 0)
				s = "Conflict";
			else if (strcmp(s, "ServerTimeout") == 0)
				s = "Timeout";
			for (int i = 0; i < KW_REASON_OTHER; i++)
				if (i != KW_REASON_NORESPONSE && strcmp(s, REASON_NAMES[i]) == 0)
					r = (enum kw_reason)i;
		}
		json_decref(j);
		if (r != KW_REASON_OTHER)
			return r;
	}
	switch (status) {
	case 400: return KW_REASON_BADREQUEST;
	case 401: return KW_REASON_UNAUTHORIZED;
	case 403: return KW_REASON_FORBIDDEN;
	case 404: return KW_REASON_NOTFOUND;
	case 409: return KW_REASON_CONFLICT;
	case 422: return KW_REASON_INVALID;
	case 429: return KW_REASON_TOOMANYREQUESTS;
	case 500: return KW_REASON_INTERNALERROR;
	case 503: return KW_REASON_SERVICEUNAVAILABLE;
	case 504: return KW_REASON_TIMEOUT;
	default: return KW_REASON_OTHER;
	}
}

static uint64_t failures_total(const struct kube_writer *w)
{
	uint64_t n = 0;
	for (int i = 0; i < KW_RES_COUNT; i++)
		for (int j = 0; j < KW_REASON_COUNT; j++)
			n += w->st.failures[i][j];
	return n;
}

/* The failures as status.writeErrors shows them (lock held). */
static void werr_snapshot(const struct kube_writer *w, struct werr_view *v)
{
	v->total = failures_total(w);
	v->at_ns = w->st.last_error_real_ns;
	v->resource = kube_writer_resource_name(w->st.last_resource);
	v->reason = kube_writer_reason_name(w->st.last_reason);
	copy_str(v->message, sizeof(v->message), w->st.last_error);
}

/* Sends one request with the lock NOT held; then takes the lock to account for it
 * (a failure by resource and reason). Returns with the lock held. */
static enum res send_req(struct kube_writer *w, enum kw_resource res, const char *method,
			 const char *path, const char *body, const char *ct, const char *what)
{
	struct wl_err e = { { 0 } };
	long status = 0;
	int rc;
	enum res r;
	enum kw_reason why = KW_REASON_OTHER;

	if (w->o.send) {
		rc = w->o.send(w->o.send_ud, method, path, body, ct, &status, &e);
		if (!rc && (status < 200 || status > 299) && !e.msg[0])
			snprintf(e.msg, sizeof(e.msg), "HTTP %ld", status);
		if (rc || status < 200 || status > 299)
			why = kube_writer_reason_of(rc ? 0 : status, NULL, rc);
	} else {
		struct kube_resp resp;
		rc = kube_http_request(w->http, method, path, body, ct, &resp, &e);
		if (!rc) {
			status = resp.status;
			kube_resp_check(&resp, &e);
		}
		if (rc || status < 200 || status > 299)
			why = kube_writer_reason_of(rc ? 0 : status, rc ? NULL : resp.body, rc);
		kube_resp_release(&resp);
	}
	pthread_mutex_lock(&w->mu);
	w->st.requests++;
	ring_add(&w->req_ring, now_of(w));
	if (rc != 0 || status == 429 || status >= 500)
		r = R_RETRY;
	else if (status >= 200 && status <= 299)
		r = R_OK;
	else if (status == 404)
		r = R_NOTFOUND;
	else if (status == 422)
		r = R_INVALID;
	else
		r = R_OTHER4XX;
	if (r != R_OK) {
		set_err_locked(w, what, e.msg[0] ? e.msg : "request failed");
		w->st.failures[res][why]++;
		w->st.last_resource = res;
		w->st.last_reason = why;
		w->st.last_error_real_ns = real_ns();
	}
	return r;
}

/* Accounts a failed object write (lock held). */
static void fail_locked(struct kube_writer *w, enum res r, uint64_t now)
{
	w->st.writes_failed++;
	if (r == R_NOTFOUND)
		w->st.not_found++;
	else if (r == R_INVALID)
		w->st.invalid++;
	if (r == R_RETRY) {
		w->st.transport_errors++;
		w->st.backoffs++;
		w->backoff_until_ns = now + (uint64_t)kube_backoff_next_ms(&w->bo) * NS_PER_MS;
	}
}

static int object_path(char *out, size_t cap, const char *ns, const char *plural,
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
	strbuf_adds(&sb, "?fieldManager=");
	kube_url_escape(&sb, fm);
	rc = strbuf_adds(&sb, "&force=true");
	if (!rc && sb.len < cap)
		memcpy(out, sb.buf, sb.len + 1);
	else
		rc = -ENAMETOOLONG;
	strbuf_release(&sb);
	return rc;
}

static double interval_ns_of(unsigned iv_s)
{
	return (double)(iv_s ? iv_s : KW_DEFAULT_INTERVAL_S) * 1e9;
}

static bool changed(const struct kube_writer *w, double ow, double oj, uint64_t oh, double nw,
		    double nj, uint64_t nh)
{
	double lim = w->o.rel_dwatts * fabs(ow);
	if (lim < w->o.min_dwatts)
		lim = w->o.min_dwatts;
	if (oh != nh)
		return true;
	if (!isfinite(nw) != !isfinite(ow))
		return true;
	if (isfinite(nw) && fabs(nw - ow) > lim)
		return true;
	if (isfinite(nj) && isfinite(oj) && nj - oj > w->o.rel_djoules * fabs(oj))
		return true;
	return false;
}

/* Is an object due? next_ns gets the time from now until it may be (lock held). */
static bool due(struct kube_writer *w, uint64_t now, bool written, uint64_t last_write,
		uint64_t next_try, uint64_t *skip_until, double iv, bool chg, uint64_t *next_ns)
{
	double elapsed, refresh;
	if (now < next_try) {
		*next_ns = next_try - now;
		return false;
	}
	if (!written)
		return true;
	elapsed = (double)(now - last_write);
	if (elapsed < iv) {
		*next_ns = (uint64_t)(iv - elapsed);
		return false;
	}
	refresh = iv * w->o.refresh_intervals;
	if (chg || elapsed >= refresh)
		return true;
	if (now >= *skip_until) {
		w->st.skipped_unchanged++;
		*skip_until = now + (uint64_t)iv;
	}
	*next_ns = (uint64_t)(refresh - elapsed);
	return false;
}

static void refill(struct kube_writer *w, uint64_t now)
{
	if (now > w->tokens_at_ns) {
		w->tokens += (double)(now - w->tokens_at_ns) / 1e9 * w->o.rate_per_s;
		if (w->tokens > w->o.burst)
			w->tokens = w->o.burst;
	}
	w->tokens_at_ns = now;
}

/* Takes `need` tokens, or counts a rate-limited wait and gives the time until they
 * are there (lock held). */
static bool take_tokens(struct kube_writer *w, double need, uint64_t now, uint64_t *next_ns)
{
	if (need > w->o.burst)
		need = w->o.burst;
	refill(w, now);
	if (w->tokens + 1e-9 >= need) {
		w->tokens -= need;
		w->stalled = false;
		return true;
	}
	if (!w->stalled)
		w->st.rate_limited++;
	w->stalled = true;
	*next_ns = (uint64_t)((need - w->tokens) / w->o.rate_per_s * 1e9) + 1;
	return false;
}

static void minu(uint64_t *a, uint64_t b)
{
	if (b < *a)
		*a = b;
}

/* Writes one pod (lock held on entry and exit; dropped around the requests). */
static int write_pod(struct kube_writer *w, struct pslot *s, uint64_t now)
{
	struct kw_pod *p = s->pending;
	char uid[72], path[MAX_PATH_LEN];
	char *body = NULL;
	uint64_t ah = annot_hash(p);
	/* metadata + spec: once, and again when the budget annotation changed */
	bool need_create = !s->created || s->meta_hash != ah, created = s->created;
	bool meta_ok = false;
	enum res r = R_OK;
	int sent = 0;
	uint64_t omitted = 0;
	struct pslot *cur;

	s->pending = NULL;
	copy_str(uid, sizeof(uid), s->uid);
	pthread_mutex_unlock(&w->mu);

	if (need_create) {
		body = pod_json_c(p, 0, NULL);
		if (!body || object_path(path, sizeof(path), p->ns, "podenergies", p->name, false,
					 w->field_manager)) {
			pthread_mutex_lock(&w->mu);
			r = R_INVALID;
			set_err_locked(w, "PodEnergy", "cannot build request");
			goto done;
		}
		r = send_req(w, KW_RES_PODENERGIES, "PATCH", path, body, APPLY_CT, "apply PodEnergy");
		sent++;
		free(body);
		body = NULL;
		if (r != R_OK)
			goto done;
		created = true;
		meta_ok = true;
		pthread_mutex_unlock(&w->mu);
	}
	body = pod_json_c(p, 1, &omitted);
	if (!body || object_path(path, sizeof(path), p->ns, "podenergies", p->name, true,
				 w->field_manager)) {
		pthread_mutex_lock(&w->mu);
		r = R_INVALID;
		set_err_locked(w, "PodEnergy", "cannot build request");
		goto done;
	}
	r = send_req(w, KW_RES_PODENERGIES, "PATCH", path, body, APPLY_CT,
		     "apply PodEnergy status");
	sent++;
	if (r == R_NOTFOUND && !need_create)
		created = false; /* deleted behind our back: create it again */
done:
	free(body);
	/* lock held here */
	w->st.values_omitted += omitted;
	w->st.pod_requests += (uint64_t)sent;
	cur = tab_find(w, uid, NULL); /* the pod may have been forgotten meanwhile */
	if (cur) {
		cur->created = created;
		if (meta_ok)
			cur->meta_hash = ah;
		if (!created)
			cur->meta_hash = 0;
		if (r == R_OK) {
			cur->ever_written = true;
			cur->last_write_ns = now;
			cur->w_watts = p->watts;
			cur->w_joules = p->joules;
			cur->w_hash = pod_hash(p);
			w->st.writes_ok++;
			w->st.pod_writes_ok++;
			ring_add(&w->writes_ring, now);
			kube_backoff_reset(&w->bo);
		} else {
			fail_locked(w, r, now);
			w->st.pod_writes_failed++;
			if (r == R_RETRY || (r == R_NOTFOUND && !created && !need_create)) {
				/* keep it for the retry unless a newer one came */
				if (!cur->pending) {
					cur->pending = p;
					p = NULL;
				}
			} else {
				cur->next_try_ns = now + (uint64_t)interval_ns_of(p->interval_s);
			}
		}
	} else if (r == R_OK) {
		w->st.writes_ok++;
		w->st.pod_writes_ok++;
		ring_add(&w->writes_ring, now);
	}
	free(p);
	return sent;
}

static int write_node(struct kube_writer *w, uint64_t now)
{
	struct kw_node *n = w->node_pending;
	char path[MAX_PATH_LEN];
	char *body = NULL;
	bool need_create = !w->node_created;
	enum res r = R_OK;
	int sent = 0;
	uint64_t omitted = 0;
	struct werr_view we;

	w->node_pending = NULL;
	werr_snapshot(w, &we);
	pthread_mutex_unlock(&w->mu);
	if (need_create) {
		body = node_json_c(n, 0, NULL, NULL);
		if (!body || object_path(path, sizeof(path), NULL, "nodeenergies", n->name, false,
					 w->field_manager)) {
			pthread_mutex_lock(&w->mu);
			r = R_INVALID;
			set_err_locked(w, "NodeEnergy", "cannot build request");
			goto done;
		}
		r = send_req(w, KW_RES_NODEENERGIES, "PATCH", path, body, APPLY_CT, "apply NodeEnergy");
		sent++;
		free(body);
		body = NULL;
		if (r != R_OK)
			goto done;
		w->node_created = true;
		pthread_mutex_unlock(&w->mu);
	}
	body = node_json_c(n, 1, &we, &omitted);
	if (!body || object_path(path, sizeof(path), NULL, "nodeenergies", n->name, true,
				 w->field_manager)) {
		pthread_mutex_lock(&w->mu);
		r = R_INVALID;
		set_err_locked(w, "NodeEnergy", "cannot build request");
		goto done;
	}
	r = send_req(w, KW_RES_NODEENERGIES, "PATCH", path, body, APPLY_CT,
		     "apply NodeEnergy status");
	sent++;
	if (r == R_NOTFOUND)
		w->node_created = false;
done:
	free(body);
	w->st.values_omitted += omitted;
	w->st.node_requests += (uint64_t)sent;
	if (strcmp(w->node_key, n->name) == 0) {
		if (r == R_OK) {
			w->node_written = true;
			w->node_last_write_ns = now;
			w->node_w_watts = n->watts;
			w->node_w_joules = n->joules;
			w->node_w_hash = node_hash(n);
			w->node_w_failures = we.total;
			w->st.writes_ok++;
			w->st.node_writes_ok++;
			ring_add(&w->writes_ring, now);
			kube_backoff_reset(&w->bo);
		} else {
			fail_locked(w, r, now);
			w->st.node_writes_failed++;
			if ((r == R_RETRY || (r == R_NOTFOUND && !need_create)) &&
			    !w->node_pending) {
				w->node_pending = n;
				n = NULL;
			} else if (r != R_RETRY) {
				w->node_next_try_ns =
					now + (uint64_t)w->o.node_interval_s * NS_PER_S;
			}
		}
	}
	free(n);
	return sent;
}

static int send_event(struct kube_writer *w, uint64_t now)
{
	struct kw_event *ev = w->evq[w->evq_head];
	const char *ns = nonempty(ev->ns) ? ev->ns : "default";
	char path[MAX_PATH_LEN], node[254];
	struct strbuf sb;
	char *body;
	enum res r = R_INVALID;

	w->evq_head = (w->evq_head + 1) % w->o.event_queue;
	w->evq_len--;
	copy_str(node, sizeof(node), w->node_name);
	pthread_mutex_unlock(&w->mu);
	strbuf_init(&sb, sizeof(path));
	strbuf_adds(&sb, "/api/v1/namespaces/");
	kube_url_escape(&sb, ns);
	strbuf_adds(&sb, "/events");
	body = event_json(ev, node, ns);
	if (body && !sb.overflow) {
		r = send_req(w, KW_RES_EVENTS, "POST", sb.buf, body, "application/json",
			     "create Event");
		w->st.event_requests++;
	} else {
		pthread_mutex_lock(&w->mu);
		set_err_locked(w, "Event", "cannot build request");
	}
	strbuf_release(&sb);
	free(body);
	if (r == R_OK) {
		w->st.events_sent++;
	} else {
		w->st.events_dropped++;
		if (r == R_RETRY) {
			w->st.transport_errors++;
			w->st.backoffs++;
			w->backoff_until_ns =
				now + (uint64_t)kube_backoff_next_ms(&w->bo) * NS_PER_MS;
		}
	}
	free(ev);
	return 1;
}

/* Sends the oldest pending status apply (lock held on entry and exit). */
static int send_apply(struct kube_writer *w, uint64_t now)
{
	struct apply *a = w->ap[0];
	struct strbuf sb;
	enum res r = R_INVALID;

	memmove(w->ap, w->ap + 1, (w->n_ap - 1) * sizeof(*w->ap));
	w->n_ap--;
	pthread_mutex_unlock(&w->mu);
	strbuf_init(&sb, MAX_PATH_LEN);
	strbuf_adds(&sb, a->path);
	strbuf_adds(&sb, "?fieldManager=");
	kube_url_escape(&sb, a->fm);
	strbuf_adds(&sb, "&force=true");
	if (!sb.overflow) {
		r = send_req(w, KW_RES_STATUS, "PATCH", sb.buf, a->body, APPLY_CT, "apply status");
	} else {
		pthread_mutex_lock(&w->mu);
		set_err_locked(w, "status", "cannot build request");
	}
	strbuf_release(&sb);
	if (r == R_OK) {
		w->st.applies_ok++;
		kube_backoff_reset(&w->bo);
	} else {
		w->st.applies_failed++;
		if (r == R_NOTFOUND)
			w->st.not_found++;
		else if (r == R_INVALID)
			w->st.invalid++;
	}
	if (r == R_RETRY) {
		bool newer = false;
		w->st.transport_errors++;
		w->st.backoffs++;
		w->backoff_until_ns = now + (uint64_t)kube_backoff_next_ms(&w->bo) * NS_PER_MS;
		for (size_t i = 0; i < w->n_ap && !newer; i++)
			newer = strcmp(w->ap[i]->key, a->key) == 0;
		if (!newer && w->n_ap < w->o.max_applies) {
			/* first again: it is the oldest */
			memmove(w->ap + 1, w->ap, w->n_ap * sizeof(*w->ap));
			w->ap[0] = a;
			w->n_ap++;
			a = NULL;
		}
	}
	free(a);
	return 1;
}

/* Finds one due pod starting at the cursor (lock held). */
static struct pslot *next_due_pod(struct kube_writer *w, uint64_t now, uint64_t *next_ns,
				  size_t *scanned)
{
	for (; *scanned < w->tab_cap; (*scanned)++) {
		struct pslot *s = w->tab[w->cursor];
		size_t here = w->cursor;
		uint64_t nx = UINT64_MAX;
		w->cursor = (w->cursor + 1) & (w->tab_cap - 1);
		if (!s || !s->pending)
			continue;
		{
			const struct kw_pod *p = s->pending;
			bool chg = s->ever_written &&
				   changed(w, s->w_watts, s->w_joules, s->w_hash, p->watts,
					   p->joules, pod_hash(p));
			if (due(w, now, s->ever_written, s->last_write_ns, s->next_try_ns,
				&s->skip_until_ns, interval_ns_of(p->interval_s), chg, &nx)) {
				w->cursor = here; /* come back here if it must wait for tokens */
				return s;
			}
		}
		minu(next_ns, nx);
	}
	return NULL;
}

int kube_writer_run_once(struct kube_writer *w, uint64_t *next_ms)
{
	uint64_t next_ns = UINT64_MAX, now;
	size_t scanned = 0;
	int sent = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		struct pslot *s;
		now = now_of(w);
		if (w->backoff_until_ns > now) {
			next_ns = w->backoff_until_ns - now;
			break;
		}
		if (w->evq_len) {
			if (!take_tokens(w, 1, now, &next_ns))
				break;
			sent += send_event(w, now);
			continue;
		}
		if (w->node_pending) {
			uint64_t nx = UINT64_MAX;
			const struct kw_node *n = w->node_pending;
			/* new write failures are news for status.writeErrors */
			bool chg = w->node_written &&
				   (changed(w, w->node_w_watts, w->node_w_joules, w->node_w_hash,
					    n->watts, n->joules, node_hash(n)) ||
				    failures_total(w) != w->node_w_failures);
			if (due(w, now, w->node_written, w->node_last_write_ns, w->node_next_try_ns,
				&w->node_skip_until_ns, (double)w->o.node_interval_s * 1e9, chg,
				&nx)) {
				if (!take_tokens(w, w->node_created ? 1 : 2, now, &next_ns))
					break;
				sent += write_node(w, now);
				continue;
			}
			minu(&next_ns, nx);
		}
		if (w->n_ap) {
			if (!take_tokens(w, 1, now, &next_ns))
				break;
			sent += send_apply(w, now);
			continue;
		}
		s = next_due_pod(w, now, &next_ns, &scanned);
		if (!s)
			break;
		if (!take_tokens(w, s->created && s->meta_hash == annot_hash(s->pending) ? 1 : 2,
				 now, &next_ns))
			break;
		sent += write_pod(w, s, now);
	}
	pthread_mutex_unlock(&w->mu);
	if (next_ms)
		*next_ms = next_ns == UINT64_MAX ? UINT64_MAX : (next_ns + NS_PER_MS - 1) / NS_PER_MS;
	return sent;
}

static void *writer_main(void *arg)
{
	struct kube_writer *w = arg;
	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		uint64_t next_ms = UINT64_MAX;
		struct timespec ts;
		uint64_t until;
		w->kicked = false;
		pthread_mutex_unlock(&w->mu);
		kube_writer_run_once(w, &next_ms);
		pthread_mutex_lock(&w->mu);
		if (w->stop || w->kicked)
			continue;
		/* new offers do not always signal: look again at least once a second */
		if (next_ms > 1000)
			next_ms = 1000;
		until = mono_ns() + next_ms * NS_PER_MS;
		ts.tv_sec = (time_t)(until / NS_PER_S);
		ts.tv_nsec = (long)(until % NS_PER_S);
		while (!w->stop && !w->kicked && mono_ns() < until)
			if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

struct kube_writer *kube_writer_new(struct kube_config *c, const struct kube_writer_opts *o,
				    struct wl_err *e)
{
	struct kube_writer *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	size_t cap = 16;

	if (!w) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (o)
		w->o = *o;
	if (!w->o.max_pods)
		w->o.max_pods = 4096;
	if (!w->o.node_interval_s)
		w->o.node_interval_s = 30;
	if (!w->o.refresh_intervals)
		w->o.refresh_intervals = 10;
	if (!(w->o.min_dwatts > 0))
		w->o.min_dwatts = 0.1;
	if (!(w->o.rel_dwatts > 0))
		w->o.rel_dwatts = 0.05;
	if (!(w->o.rel_djoules > 0))
		w->o.rel_djoules = 0.01;
	if (!(w->o.rate_per_s > 0))
		w->o.rate_per_s = 5;
	if (!(w->o.burst >= 1))
		w->o.burst = 10;
	if (!w->o.backoff_base_ms)
		w->o.backoff_base_ms = 500;
	if (!w->o.backoff_max_ms)
		w->o.backoff_max_ms = 60000;
	if (!w->o.event_queue)
		w->o.event_queue = 16;
	if (!w->o.event_min_gap_s)
		w->o.event_min_gap_s = 60;
	if (!w->o.max_applies)
		w->o.max_applies = 256;
	if (!w->o.timeout_ms)
		w->o.timeout_ms = 10000;
	copy_str(w->field_manager, sizeof(w->field_manager),
		 w->o.field_manager ? w->o.field_manager : "wattlet");
	copy_str(w->node_name, sizeof(w->node_name), w->o.node_name);
	w->o.field_manager = NULL;
	w->o.node_name = NULL;
	while (cap < (size_t)w->o.max_pods * 2)
		cap <<= 1;
	w->tab_cap = cap;
	w->tab = calloc(cap, sizeof(*w->tab));
	w->evq = calloc(w->o.event_queue, sizeof(*w->evq));
	w->ap = calloc(w->o.max_applies, sizeof(*w->ap));
	if (!w->tab || !w->evq || !w->ap) {
		err_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	kube_backoff_init(&w->bo, w->o.backoff_base_ms, w->o.backoff_max_ms);
	w->tokens = w->o.burst;
	w->tokens_at_ns = now_of(w);
	if (!w->o.send) {
		struct kube_http_opts ho = { 0 };
		if (!c) {
			err_set(e, EINVAL, "kube_writer: no API config");
			goto fail;
		}
		ho.timeout_ms = w->o.timeout_ms;
		ho.connect_timeout_ms = w->o.timeout_ms < 5000 ? w->o.timeout_ms : 5000;
		ho.max_retries = -1; /* the writer backs off itself, interruptibly */
		ho.max_body = 4 << 20;
		w->http = kube_http_new(c, &ho, e);
		if (!w->http)
			goto fail;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (!w->o.manual) {
		int rc;
		w->have_thread = true; /* before the thread runs: it shares the word */
		rc = pthread_create(&w->thread, NULL, writer_main, w);
		if (rc) {
			w->have_thread = false;
			err_set(e, rc, "kube_writer: cannot start thread: %s", strerror(rc));
			pthread_cond_destroy(&w->cv);
			pthread_mutex_destroy(&w->mu);
			goto fail;
		}
	}
	return w;
fail:
	kube_http_free(w->http);
	free(w->tab);
	free(w->evq);
	free(w->ap);
	free(w);
	return NULL;
}

void kube_writer_free(struct kube_writer *w)
{
	if (!w)
		return;
	if (w->have_thread) {
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	for (size_t i = 0; i < w->tab_cap; i++)
		if (w->tab[i]) {
			free(w->tab[i]->pending);
			free(w->tab[i]);
		}
	for (size_t i = 0; i < w->evq_len; i++)
		free(w->evq[(w->evq_head + i) % w->o.event_queue]);
	free(w->node_pending);
	for (size_t i = 0; i < w->n_ap; i++)
		free(w->ap[i]);
	free(w->ap);
	free(w->tab);
	free(w->evq);
	kube_http_free(w->http);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
