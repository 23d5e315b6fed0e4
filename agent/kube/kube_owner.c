/* kube_owner.c - see kube_owner.h. */
#include "kube_owner.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "../common/jsonget.h"

int kube_owner_kind_ok(const char *s)
{
	size_t n;

	if (!s || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (n = 0; s[n]; n++) {
		char c = s[n];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return 0;
	}
	return n < KUBE_OWNER_KIND_MAX;
}

int kube_owner_name_ok(const char *s)
{
	size_t n;

	if (!s || !s[0] || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (n = 0; s[n]; n++) {
		unsigned char c = (unsigned char)s[n];
		if (c <= 0x20 || c >= 0x7f || c == '/' || c == '%')
			return 0;
	}
	return n < KUBE_OWNER_NAME_MAX;
}

/* The controller ownerReference, else the first one; NULL when there is none. */
static const json_t *controller_ref(const json_t *refs)
{
	const json_t *r, *first = NULL;
	size_t i;

	json_array_foreach(refs, i, r) {
		if (!json_is_object(r))
			continue;
		if (json_is_true(json_object_get(r, "controller")))
			return r;
		if (!first)
			first = r;
	}
	return first;
}

static int set(struct kube_owner *out, const char *kind, const char *name, size_t name_len)
{
	if (!kube_owner_kind_ok(kind) || name_len == 0 || name_len >= KUBE_OWNER_NAME_MAX)
		return -ENOENT;
	memcpy(out->name, name, name_len);
	out->name[name_len] = '\0';
	if (!kube_owner_name_ok(out->name)) {
		out->name[0] = '\0';
		return -ENOENT;
	}
	strcpy(out->kind, kind);
	return 0;
}

int kube_owner_of(const json_t *pod, struct kube_owner *out)
{
	const json_t *md = json_object_get(pod, "metadata");
	const json_t *refs = json_object_get(md, "ownerReferences");
	const json_t *ref;
	const char *kind, *name, *hash;
	size_t nl, hl;

	out->kind[0] = out->name[0] = '\0';
	if (!json_is_object(md))
		return -ENOENT;
	ref = json_is_array(refs) ? controller_ref(refs) : NULL;
	if (!ref) {
		/* no ownerReference: the pod owns itself. Present but not an array, or only
		 * non-objects: bad input, no owner. */
		if (refs && !json_is_null(refs) && !(json_is_array(refs) && !json_array_size(refs)))
			return -ENOENT;
		name = jg_str_or(md, "name", "");
		return set(out, "Pod", name, strlen(name));
	}
	kind = jg_str_or(ref, "kind", "");
	name = jg_str_or(ref, "name", "");
	nl = strlen(name);
	if (strcmp(kind, "ReplicaSet") == 0) {
		hash = jg_str_or(json_object_get(md, "labels"), "pod-template-hash", "");
		hl = strlen(hash);
		if (hl && nl > hl + 1 && name[nl - hl - 1] == '-' &&
		    strcmp(name + nl - hl, hash) == 0)
			return set(out, "Deployment", name, nl - hl - 1);
	}
	return set(out, kind, name, nl);
}
