/* kube_writer_snap.c - snapshots the writer keeps: deep copies of what the daemon
 * offers (one allocation each) and the hashes that tell a changed text field
 * (kube_writer_impl.h). */
#include "kube_writer_impl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

uint64_t kw_fnv(uint64_t h, const char *s)
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

uint64_t kw_fnv_u64(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (i * 8)) & 0xff;
		h *= 1099511628211ull;
	}
	return h;
}

void kw_copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
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

/* One zeroed allocation of sz bytes to carve from; false: out of memory. */
static bool ar_init(struct arena *a, size_t sz)
{
	a->p = calloc(1, sz);
	a->off = 0;
	a->cap = sz;
	return a->p != NULL;
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

/* The string fields of each snapshot, by offset: one list sizes and copies them.
 * STR_FIELD fails to compile unless the field is a const char *. */
#define STR_FIELD(type, f) \
	(offsetof(struct type, f) + _Generic(((struct type *)0)->f, const char *: 0))
static const size_t POD_STRS[] = {
	STR_FIELD(kw_pod, ns),		    STR_FIELD(kw_pod, name),
	STR_FIELD(kw_pod, uid),		    STR_FIELD(kw_pod, node),
	STR_FIELD(kw_pod, model),	    STR_FIELD(kw_pod, policy),
	STR_FIELD(kw_pod, budget_annotation), STR_FIELD(kw_pod, energy_source),
	STR_FIELD(kw_pod, owner_kind),	    STR_FIELD(kw_pod, owner_name),
	STR_FIELD(kw_pod, throttle_status),   STR_FIELD(kw_pod, throttle_reason),
	STR_FIELD(kw_pod, throttle_message),
};
static const size_t NODE_STRS[] = {
	STR_FIELD(kw_node, name),	 STR_FIELD(kw_node, usage_source),
	STR_FIELD(kw_node, model_name),	 STR_FIELD(kw_node, attribution),
	STR_FIELD(kw_node, energy_source),
};
static const size_t EVENT_STRS[] = {
	STR_FIELD(kw_event, api_version), STR_FIELD(kw_event, kind),
	STR_FIELD(kw_event, ns),	  STR_FIELD(kw_event, name),
	STR_FIELD(kw_event, uid),	  STR_FIELD(kw_event, reason),
	STR_FIELD(kw_event, message),	  STR_FIELD(kw_event, type),
};
#define NSTRS(list) (sizeof(list) / sizeof((list)[0]))

/* The string field at offset off of the snapshot obj. */
static const char *str_at(const void *obj, size_t off)
{
	return *(const char *const *)((const char *)obj + off);
}

/* Arena bytes the n string fields offs[] of obj take. */
static size_t strs_len(const void *obj, const size_t *offs, size_t n)
{
	size_t sz = 0;
	for (size_t i = 0; i < n; i++)
		sz += slen(str_at(obj, offs[i]));
	return sz;
}

/* Points the string fields offs[] of dst at arena copies of those of src. */
static void ar_strs(struct arena *a, void *dst, const void *src, const size_t *offs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*(const char **)((char *)dst + offs[i]) = ar_str(a, str_at(src, offs[i]));
}

/* A copy of the array src (n elements of sz bytes) in the arena; NULL when n is 0. The
 * caller then points the elements' strings into the arena (ar_str). */
static void *ar_array(struct arena *a, const void *src, size_t n, size_t sz)
{
	void *d;
	if (!n)
		return NULL;
	d = ar_get(a, n * sz);
	memcpy(d, src, n * sz);
	return d;
}

struct kw_pod *kw_pod_dup(const struct kw_pod *s, size_t *cut)
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
	sz += strs_len(s, POD_STRS, NSTRS(POD_STRS));
	for (size_t i = 0; i < nc; i++)
		sz += slen(s->containers[i].name) + slen(s->containers[i].container_id);
	if (!ar_init(&a, sz))
		return NULL;
	d = ar_get(&a, sizeof(*d));
	*d = *s;
	ar_strs(&a, d, s, POD_STRS, NSTRS(POD_STRS));
	d->n_zones = nz;
	d->zones = ar_array(&a, s->zones, nz, sizeof(*d->zones));
	d->n_containers = nc;
	c = ar_array(&a, s->containers, nc, sizeof(*c));
	for (size_t i = 0; i < nc; i++) {
		c[i].name = ar_str(&a, s->containers[i].name);
		c[i].container_id = ar_str(&a, s->containers[i].container_id);
	}
	d->containers = c;
	return d;
}

struct kw_node *kw_node_dup(const struct kw_node *s)
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
	struct kw_meter *m;
	struct kw_node_zone *z;
	struct kw_condition *c;

	sz += strs_len(s, NODE_STRS, NSTRS(NODE_STRS));
	for (size_t i = 0; i < nm; i++)
		sz += slen(s->meters[i].kind) + slen(s->meters[i].reason);
	for (size_t i = 0; i < nz; i++)
		sz += slen(s->zones[i].idle_source);
	for (size_t i = 0; i < nc; i++)
		sz += slen(s->conditions[i].type) + slen(s->conditions[i].status) +
		      slen(s->conditions[i].reason) + slen(s->conditions[i].message);
	if (!ar_init(&a, sz))
		return NULL;
	d = ar_get(&a, sizeof(*d));
	*d = *s;
	ar_strs(&a, d, s, NODE_STRS, NSTRS(NODE_STRS));
	d->n_meters = nm;
	m = ar_array(&a, s->meters, nm, sizeof(*m));
	for (size_t i = 0; i < nm; i++) {
		m[i].kind = ar_str(&a, s->meters[i].kind);
		m[i].reason = ar_str(&a, s->meters[i].reason);
	}
	d->meters = m;
	d->n_zones = nz;
	z = ar_array(&a, s->zones, nz, sizeof(*z));
	for (size_t i = 0; i < nz; i++)
		z[i].idle_source = ar_str(&a, s->zones[i].idle_source);
	d->zones = z;
	d->n_conditions = nc;
	c = ar_array(&a, s->conditions, nc, sizeof(*c));
	for (size_t i = 0; i < nc; i++) {
		c[i].type = ar_str(&a, s->conditions[i].type);
		c[i].status = ar_str(&a, s->conditions[i].status);
		c[i].reason = ar_str(&a, s->conditions[i].reason);
		c[i].message = ar_str(&a, s->conditions[i].message);
	}
	d->conditions = c;
	return d;
}

struct kw_event *kw_event_dup(const struct kw_event *s)
{
	size_t sz = al(sizeof(*s)) + strs_len(s, EVENT_STRS, NSTRS(EVENT_STRS));
	struct arena a;
	struct kw_event *d;
	if (!ar_init(&a, sz))
		return NULL;
	d = ar_get(&a, sizeof(*d));
	ar_strs(&a, d, s, EVENT_STRS, NSTRS(EVENT_STRS));
	return d;
}

/* The budget annotation as a hash; 0 for none. */
uint64_t kw_annot_hash(const struct kw_pod *p)
{
	uint64_t h;
	if (!p->budget_annotation || !*p->budget_annotation)
		return 0;
	h = kw_fnv(1469598103934665603ull, p->budget_annotation);
	return h ? h : 1;
}

uint64_t kw_pod_hash(const struct kw_pod *p)
{
	uint64_t h = 1469598103934665603ull;
	h = kw_fnv_u64(h, kw_annot_hash(p));
	h = kw_fnv(h, p->model);
	h = kw_fnv(h, p->policy);
	h = kw_fnv(h, p->node);
	h = kw_fnv(h, p->energy_source);
	h = kw_fnv(h, p->owner_kind);
	h = kw_fnv(h, p->owner_name);
	h = kw_fnv(h, p->throttle_status);
	h = kw_fnv(h, p->throttle_reason);
	h = kw_fnv(h, p->throttle_message);
	h = kw_fnv_u64(h, p->has_co2e);
	h = kw_fnv_u64(h, p->n_zones);
	for (size_t i = 0; i < p->n_zones; i++)
		h = kw_fnv_u64(h, (uint64_t)p->zones[i].zone);
	for (size_t i = 0; i < p->n_containers; i++) {
		h = kw_fnv(h, p->containers[i].name);
		h = kw_fnv(h, p->containers[i].container_id);
	}
	return h;
}

uint64_t kw_node_hash(const struct kw_node *n)
{
	uint64_t h = 1469598103934665603ull;
	h = kw_fnv(h, n->usage_source);
	h = kw_fnv(h, n->model_name);
	h = kw_fnv(h, n->attribution);
	h = kw_fnv(h, n->energy_source);
	h = kw_fnv_u64(h, n->estimated_zones);
	for (size_t i = 0; i < n->n_meters; i++) {
		h = kw_fnv(h, n->meters[i].kind);
		h = kw_fnv_u64(h, n->meters[i].in_use);
		h = kw_fnv(h, n->meters[i].reason);
	}
	for (size_t i = 0; i < n->n_zones; i++) {
		h = kw_fnv_u64(h, (uint64_t)n->zones[i].zone);
		h = kw_fnv(h, n->zones[i].idle_source);
	}
	h = kw_fnv_u64(h, n->has_validation);
	if (n->has_validation) {
		h = kw_fnv_u64(h, n->validation.time_ns / NS_PER_S);
		h = kw_fnv_u64(h, n->validation.passed);
	}
	for (size_t i = 0; i < n->n_conditions; i++) {
		h = kw_fnv(h, n->conditions[i].type);
		h = kw_fnv(h, n->conditions[i].status);
		h = kw_fnv(h, n->conditions[i].reason);
		h = kw_fnv(h, n->conditions[i].message);
	}
	return h;
}
