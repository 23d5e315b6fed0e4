/* top_group.h - the rows `wattlet top` shows, from /api/v1/workloads' "workloads" array:
 * one per workload, or summed per pod, per namespace or per owner.
 *
 * A row's name is what a Kubernetes user knows: "namespace/pod/container" for a
 * container, "namespace/pod/<12 id digits>" for a container the pod does not list (the
 * sandbox), "namespace/pod" for a pod-level cgroup, else the workload key (cgroup path,
 * "system"). Grouped:
 *   pod        "namespace/pod"; an unnamed pod cgroup "pod <uid>"; rows outside pods
 *              (system, services, plain cgroups) sum into one row "(not in a pod)"
 *   namespace  "namespace"; pod cgroups the kubelet has not named yet
 *              "(pods not named yet)"; rows outside pods as above
 *   owner      "namespace/Kind/name" (owner_kind/owner_name); pod rows without an owner
 *              (an agent older than owners, a pod not yet named) "(no owner)"; rows
 *              outside pods as above
 * so the groups' sums of watts and joules equal the rows' (nothing dropped, nothing
 * counted twice). A group is terminated when all its rows are.
 * Rows are sorted by watts, highest first, then by name.
 *
 * Ownership: top_rows_build allocates *out (free with top_rows_free); name, owner and
 * key are copies. Return convention: 0 or -errno (-EINVAL: not an array, -ENOMEM).
 * Members that are not objects are skipped. No logging.
 */
#ifndef WATTLET_TOP_GROUP_H
#define WATTLET_TOP_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

enum top_group { TOP_GROUP_NONE, TOP_GROUP_POD, TOP_GROUP_NAMESPACE, TOP_GROUP_OWNER };

#define TOP_NOT_IN_POD "(not in a pod)"
#define TOP_NO_OWNER "(no owner)"
#define TOP_UNNAMED_PODS "(pods not named yet)"

struct top_row {
	char *name;  /* see above */
	char *owner; /* "Kind/name", "" when unknown or grouped by something else */
	char *key;   /* ungrouped: the workload key (cgroup path); grouped: "" */
	const char *kind; /* ungrouped: the workload kind ("container", ...); grouped: "" */
	double watts, watts_dynamic, watts_idle, joules, cpu_cores;
	size_t members; /* workloads summed into the row */
	bool terminated;
};

/* Parses a --group-by value ("none", "pod", "namespace" or "ns", "owner"); -EINVAL. */
int top_group_parse(const char *s, enum top_group *out);

int top_rows_build(const json_t *workloads, enum top_group g, struct top_row **out,
		   size_t *n);
void top_rows_free(struct top_row *rows, size_t n);

#endif
