/* top_group.c - see top_group.h. */
#include "top_group.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonget.h"

int top_group_parse(const char *s, enum top_group *out)
{
	if (!s)
		return -EINVAL;
	if (strcmp(s, "none") == 0)
		*out = TOP_GROUP_NONE;
	else if (strcmp(s, "pod") == 0)
		*out = TOP_GROUP_POD;
	else if (strcmp(s, "namespace") == 0 || strcmp(s, "ns") == 0)
		*out = TOP_GROUP_NAMESPACE;
	else if (strcmp(s, "owner") == 0)
		*out = TOP_GROUP_OWNER;
	else
		return -EINVAL;
	return 0;
}

/* malloc'ed printf; NULL on failure. */
static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

/* The row's name for grouping g (malloc'ed); NULL on failure. */
static char *row_name(const json_t *w, enum top_group g)
{
	const char *ns = jg_str_or(w, "namespace", ""), *pod = jg_str_or(w, "pod", "");
	const char *ctr = jg_str_or(w, "container", ""), *uid = jg_str_or(w, "pod_uid", "");
	const char *cid = jg_str_or(w, "container_id", "");
	const char *ok = jg_str_or(w, "owner_kind", ""), *on = jg_str_or(w, "owner_name", "");
	bool named = *ns && *pod;

	switch (g) {
	case TOP_GROUP_NONE:
		if (named && *ctr)
			return fmt("%s/%s/%s", ns, pod, ctr);
		if (named && *cid) /* a container the pod does not list: the sandbox */
			return fmt("%s/%s/%.12s", ns, pod, cid);
		if (named)
			return fmt("%s/%s", ns, pod);
		return strdup(jg_str_or(w, "workload", ""));
	case TOP_GROUP_POD:
		if (named)
			return fmt("%s/%s", ns, pod);
		if (*uid)
			return fmt("pod %s", uid);
		break;
	case TOP_GROUP_NAMESPACE:
		if (named)
			return strdup(ns);
		if (*uid)
			return strdup(TOP_UNNAMED_PODS);
		break;
	case TOP_GROUP_OWNER:
		if (named && *ok && *on)
			return fmt("%s/%s/%s", ns, ok, on);
		if (named || *uid)
			return strdup(TOP_NO_OWNER);
		break;
	}
	return strdup(TOP_NOT_IN_POD);
}

static int cmp_rows(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->watts != y->watts)
		return x->watts > y->watts ? -1 : 1;
	return strcmp(x->name, y->name);
}

void top_rows_free(struct top_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].name);
		free(rows[i].owner);
		free(rows[i].key);
	}
	free(rows);
}

int top_rows_build(const json_t *workloads, enum top_group g, struct top_row **out, size_t *n)
{
	size_t cap = json_array_size(workloads), k = 0, i;
	struct top_row *rows;
	const json_t *w;
	int err = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_array(workloads))
		return -EINVAL;
	rows = calloc(cap ? cap : 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	json_array_foreach(workloads, i, w) {
		struct top_row *r = NULL;
		char *name;
		bool term = json_is_true(json_object_get(w, "terminated"));

		if (!json_is_object(w))
			continue;
		name = row_name(w, g);
		if (!name) {
			err = -ENOMEM;
			break;
		}
		/* groups are few next to rows (pods, namespaces): a linear search is enough
		 * for the terminal's hundreds of rows */
		for (size_t j = 0; g != TOP_GROUP_NONE && j < k && !r; j++)
			if (strcmp(rows[j].name, name) == 0)
				r = &rows[j];
		if (r) {
			free(name);
			r->terminated = r->terminated && term;
		} else {
			const char *ok = jg_str_or(w, "owner_kind", "");
			const char *on = jg_str_or(w, "owner_name", "");
			r = &rows[k++];
			r->name = name;
			r->terminated = term;
			r->kind = g == TOP_GROUP_NONE ? jg_str_or(w, "kind", "") : "";
			r->key = strdup(g == TOP_GROUP_NONE ? jg_str_or(w, "workload", "") : "");
			r->owner = g == TOP_GROUP_NONE && *ok && *on ? fmt("%s/%s", ok, on)
								     : strdup("");
			if (!r->key || !r->owner) {
				err = -ENOMEM;
				break;
			}
		}
		r->members++;
		r->watts += jg_num_or(w, "watts", 0);
		r->watts_dynamic += jg_num_or(w, "watts_dynamic", 0);
		r->watts_idle += jg_num_or(w, "watts_idle", 0);
		r->joules += jg_num_or(w, "joules", 0);
		r->cpu_cores += jg_num_or(w, "cpu_cores", 0);
	}
	if (err) {
		top_rows_free(rows, k);
		return err;
	}
	qsort(rows, k, sizeof(*rows), cmp_rows);
	*out = rows;
	*n = k;
	return 0;
}
