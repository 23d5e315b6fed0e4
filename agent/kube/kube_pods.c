#include "kube_pods.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kube_owner.h"
#include "kube_quantity.h"
#include "../common/jsonget.h"
#include "../common/objset.h"

#define PODS_MAX 65536
#define CTRS_PER_POD_MAX 1024

struct pod {
	struct kube_pod_info info;
	struct kube_owner owner;
	json_t *obj;
	struct kube_container_info *ctrs;
	size_t nctrs;
};

/* An entry of the watched-object store: the pod by uid (the pod itself is replaced whole
 * on every upsert; its info points into its own owner and JSON). */
struct pod_entry {
	struct objset_head h;
	struct pod *pod;
};

struct kube_pods {
	struct objset set; /* pod_entry by metadata.uid */
	const struct kube_container_info **index;
	size_t nindex;
	bool dirty;
	size_t skipped;
};

#define POD_AT(p, i) (((struct pod_entry *)(p)->set.e[i])->pod)

static void pod_free(struct pod *d)
{
	if (!d)
		return;
	json_decref(d->obj);
	free(d->ctrs);
	free(d);
}

static void entry_free(struct objset_head *h)
{
	pod_free(((struct pod_entry *)h)->pod);
	free(h);
}

struct kube_pods *kube_pods_new(void)
{
	struct kube_pods *p = calloc(1, sizeof(struct kube_pods));

	if (p)
		objset_init(&p->set, PODS_MAX, entry_free);
	return p;
}

void kube_pods_free(struct kube_pods *p)
{
	if (!p)
		return;
	objset_release(&p->set);
	free(p->index);
	free(p);
}

/* "containerd://abc" -> runtime "containerd" (into rt), id "abc" (pointer into s). */
static const char *split_id(const char *s, char *rt, size_t rtcap)
{
	const char *sep = strstr(s, "://");
	size_t n;

	rt[0] = '\0';
	if (!sep)
		return s;
	n = (size_t)(sep - s);
	if (n < rtcap) {
		memcpy(rt, s, n);
		rt[n] = '\0';
	}
	return sep + 3;
}

static const char *runtime_name(const char *rt)
{
	if (strcmp(rt, "containerd") == 0)
		return "containerd";
	if (strcmp(rt, "cri-o") == 0)
		return "cri-o";
	if (strcmp(rt, "docker") == 0)
		return "docker";
	return rt[0] ? "other" : "";
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n <= 128 && !strchr(id, '/');
}

/* spec container by name in any of the three spec lists. */
static const json_t *spec_container(const json_t *spec, const char *list, const char *name)
{
	const json_t *arr = json_object_get(spec, list), *c;
	size_t i;
	json_array_foreach(arr, i, c) {
		if (strcmp(jg_str_or(c, "name", ""), name) == 0)
			return c;
	}
	return NULL;
}

static double cpu_request(const json_t *c, bool *bad)
{
	const json_t *q = json_object_get(json_object_get(json_object_get(c, "resources"),
							  "requests"),
					  "cpu");
	double v = 0;

	*bad = false;
	if (!q)
		return 0;
	if (json_is_string(q)) {
		if (kube_quantity_cores(json_string_value(q), &v) == 0)
			return v;
	} else if (json_is_number(q) && json_number_value(q) >= 0) {
		return json_number_value(q);
	}
	*bad = true;
	return 0;
}

static int add_ctr(struct pod *d, size_t cap, const char *full_id, const char *name,
		   enum kube_ctr_kind kind, bool terminated, bool previous, const json_t *spec_c)
{
	struct kube_container_info *ci;
	char rt[32];
	const char *id;

	if (!full_id || d->nctrs >= cap)
		return 0;
	id = split_id(full_id, rt, sizeof(rt));
	if (!valid_id(id))
		return 0;
	for (size_t i = 0; i < d->nctrs; i++)
		if (strcmp(d->ctrs[i].container_id, id) == 0)
			return 0;
	ci = &d->ctrs[d->nctrs++];
	memset(ci, 0, sizeof(*ci));
	ci->container_id = id;
	ci->runtime = runtime_name(rt);
	ci->name = name;
	ci->kind = kind;
	ci->terminated = terminated;
	ci->previous = previous;
	ci->cpu_request_cores = spec_c ? cpu_request(spec_c, &ci->cpu_request_bad) : 0;
	ci->pod = &d->info;
	return 0;
}

static void add_statuses(struct pod *d, size_t cap, const json_t *status, const json_t *spec,
			 const char *slist, const char *speclist, enum kube_ctr_kind kind)
{
	const json_t *arr = json_object_get(status, slist), *s;
	size_t i;

	json_array_foreach(arr, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		const json_t *st = json_object_get(s, "state");
		const json_t *prev = json_object_get(json_object_get(s, "lastState"), "terminated");
		const json_t *sc;

		if (!name)
			continue;
		sc = spec_container(spec, speclist, name);
		add_ctr(d, cap, json_string_value(json_object_get(s, "containerID")), name, kind,
			json_object_get(st, "terminated") != NULL, false, sc);
		add_ctr(d, cap, json_string_value(json_object_get(prev, "containerID")), name, kind,
			true, true, sc);
	}
}

static size_t count_statuses(const json_t *status)
{
	static const char *const lists[] = { "containerStatuses", "initContainerStatuses",
					     "ephemeralContainerStatuses" };
	size_t n = 0;
	for (size_t i = 0; i < 3; i++)
		n += json_array_size(json_object_get(status, lists[i]));
	n *= 2;
	return n > CTRS_PER_POD_MAX ? CTRS_PER_POD_MAX : n;
}

static double pod_request(const json_t *spec)
{
	const json_t *c, *q;
	double app = 0, sidecars = 0, init_max = 0, overhead = 0, v;
	bool bad;
	size_t i;

	json_array_foreach(json_object_get(spec, "containers"), i, c)
		app += cpu_request(c, &bad);
	/* init containers run in order; a plain one runs next to the sidecars started
	 * before it, sidecars (restartPolicy: Always) keep running with the app */
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		v = cpu_request(c, &bad);
		if (strcmp(jg_str_or(c, "restartPolicy", ""), "Always") == 0)
			sidecars += v;
		else if (sidecars + v > init_max)
			init_max = sidecars + v;
	}
	q = json_object_get(json_object_get(spec, "overhead"), "cpu");
	if (json_is_string(q) && kube_quantity_cores(json_string_value(q), &v) == 0)
		overhead = v;
	return (app + sidecars > init_max ? app + sidecars : init_max) + overhead;
}

static struct pod *pod_build(json_t *obj, struct wl_err *e)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *status = json_object_get(obj, "status");
	const json_t *labels = json_object_get(md, "labels");
	struct pod *d;
	size_t cap;

	if (!json_is_object(obj) || !json_is_object(md) || !*jg_str_or(md, "uid", "") ||
	    !*jg_str_or(md, "name", "") || !*jg_str_or(md, "namespace", "")) {
		err_set(e, EINVAL, "pod without metadata.uid, name or namespace");
		return NULL;
	}
	if (strlen(jg_str_or(md, "uid", "")) > OBJSET_ID_MAX) {
		err_set(e, EINVAL, "pod metadata.uid longer than %d bytes", OBJSET_ID_MAX);
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	cap = count_statuses(status);
	if (!d || (cap && !(d->ctrs = calloc(cap, sizeof(*d->ctrs))))) {
		free(d);
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	d->obj = json_incref(obj);
	d->info.ns = jg_str_or(md, "namespace", "");
	d->info.name = jg_str_or(md, "name", "");
	d->info.uid = jg_str_or(md, "uid", "");
	d->info.qos_class = jg_str_or(status, "qosClass", "");
	d->info.phase = jg_str_or(status, "phase", "");
	d->info.node = jg_str_or(spec, "nodeName", "");
	d->info.labels = json_is_object(labels) ? labels : NULL;
	(void)kube_owner_of(obj, &d->owner); /* no owner: both "" */
	d->info.owner_kind = d->owner.kind;
	d->info.owner_name = d->owner.name;
	d->info.cpu_request_cores = pod_request(spec);
	add_statuses(d, cap, status, spec, "containerStatuses", "containers", KUBE_CTR_APP);
	add_statuses(d, cap, status, spec, "initContainerStatuses", "initContainers",
		     KUBE_CTR_INIT);
	add_statuses(d, cap, status, spec, "ephemeralContainerStatuses", "ephemeralContainers",
		     KUBE_CTR_EPHEMERAL);
	return d;
}

/* Puts d (owned from now on, also on error) into set under its uid, replacing the pod
 * there. 0; -ENOSPC (PODS_MAX pods); -ENOMEM. */
static int put(struct objset *set, struct pod *d)
{
	struct objset_head *h;
	int rc = objset_get(set, d->info.uid, sizeof(struct pod_entry), &h);

	if (rc) {
		pod_free(d);
		return rc;
	}
	pod_free(((struct pod_entry *)h)->pod);
	((struct pod_entry *)h)->pod = d;
	return 0;
}

int kube_pods_load_list(struct kube_pods *p, const char *json, size_t len, struct wl_err *e)
{
	json_error_t je;
	json_t *root, *items, *it;
	struct objset tmp;
	size_t i, skipped = 0;
	int err = 0;

	if (!p || !json)
		return err_set(e, EINVAL, "kube_pods_load_list: missing argument");
	root = json_loadb(json, len, 0, &je);
	if (!root)
		return err_set(e, EINVAL, "pod list is not JSON: %s (line %d)", je.text, je.line);
	items = json_object_get(root, "items");
	if (!json_is_object(root) || !(json_is_array(items) || json_is_null(items))) {
		json_decref(root);
		return err_set(e, EINVAL, "not a PodList: no items array");
	}
	objset_init(&tmp, PODS_MAX, entry_free);
	json_array_foreach(items, i, it) {
		struct pod *d = pod_build(it, NULL);
		if (!d) {
			skipped++;
			continue;
		}
		err = put(&tmp, d);
		if (err) {
			err = err_set(e, -err, "pod list: too many pods or out of memory");
			break;
		}
	}
	json_decref(root); /* pods hold their own references */
	if (err) {
		objset_release(&tmp);
		return err;
	}
	objset_release(&p->set);
	p->set = tmp;
	p->skipped = skipped;
	p->dirty = true;
	return 0;
}

int kube_pods_upsert(struct kube_pods *p, json_t *pod, struct wl_err *e)
{
	struct pod *d;
	int err;

	if (!p)
		return err_set(e, EINVAL, "no table");
	d = pod_build(pod, e);
	if (!d)
		return -EINVAL;
	err = put(&p->set, d);
	if (err)
		return err_set(e, -err, "pod table full or out of memory");
	p->dirty = true;
	return 0;
}

int kube_pods_remove(struct kube_pods *p, const json_t *pod)
{
	const char *uid = jg_str_or(json_object_get(pod, "metadata"), "uid", "");
	ssize_t i;

	if (!p || !*uid)
		return -EINVAL;
	i = objset_find(&p->set, uid);
	if (i < 0)
		return -ENOENT;
	objset_drop(&p->set, (size_t)i);
	p->dirty = true;
	return 0;
}

void kube_pods_begin_sync(struct kube_pods *p)
{
	if (p)
		objset_begin_sync(&p->set);
}

void kube_pods_end_sync(struct kube_pods *p)
{
	if (!p)
		return;
	objset_end_sync(&p->set);
	p->dirty = true;
}

static int cmp_ctr(const void *a, const void *b)
{
	const struct kube_container_info *x = *(const struct kube_container_info *const *)a;
	const struct kube_container_info *y = *(const struct kube_container_info *const *)b;
	return strcmp(x->container_id, y->container_id);
}

static int rebuild(struct kube_pods *p)
{
	size_t n = 0, k = 0;
	const struct kube_container_info **idx;

	for (size_t i = 0; i < p->set.n; i++)
		n += POD_AT(p, i)->nctrs;
	idx = n ? malloc(n * sizeof(*idx)) : NULL;
	if (n && !idx)
		return -ENOMEM;
	for (size_t i = 0; i < p->set.n; i++)
		for (size_t j = 0; j < POD_AT(p, i)->nctrs; j++)
			idx[k++] = &POD_AT(p, i)->ctrs[j];
	if (n)
		qsort(idx, n, sizeof(*idx), cmp_ctr);
	free(p->index);
	p->index = idx;
	p->nindex = n;
	p->dirty = false;
	return 0;
}

const struct kube_container_info *kube_pods_find(struct kube_pods *p, const char *container_id)
{
	struct kube_container_info key = { 0 };
	const struct kube_container_info *kp = &key, *const *hit;
	char rt[32];

	if (!p || !container_id)
		return NULL;
	if (p->dirty && rebuild(p))
		return NULL;
	key.container_id = split_id(container_id, rt, sizeof(rt));
	if (!p->nindex)
		return NULL;
	hit = bsearch(&kp, p->index, p->nindex, sizeof(*p->index), cmp_ctr);
	return hit ? *hit : NULL;
}

const struct kube_pod_info *kube_pods_find_pod(const struct kube_pods *p, const char *uid)
{
	ssize_t i = p && uid ? objset_find(&p->set, uid) : -1;
	return i >= 0 ? &POD_AT(p, i)->info : NULL;
}

size_t kube_pods_count(const struct kube_pods *p)
{
	return p ? p->set.n : 0;
}

const struct kube_pod_info *kube_pods_at(const struct kube_pods *p, size_t i)
{
	return p && i < p->set.n ? &POD_AT(p, i)->info : NULL;
}

size_t kube_pods_containers(const struct kube_pods *p)
{
	size_t n = 0;
	for (size_t i = 0; p && i < p->set.n; i++)
		n += POD_AT(p, i)->nctrs;
	return n;
}

size_t kube_pods_skipped(const struct kube_pods *p)
{
	return p ? p->skipped : 0;
}
