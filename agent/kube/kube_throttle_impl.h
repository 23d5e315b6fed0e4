/* kube_throttle_impl.h - private to kube_throttle*.c: the cgroup method's two steps.
 * Both return 0 or a negative errno with r->error set. */
#ifndef WATTLET_KUBE_THROTTLE_IMPL_H
#define WATTLET_KUBE_THROTTLE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kube_throttle.h"

/* Finds the pod r->uid's cgroup under cgroot (into dir, dcap bytes; *v2p: cgroup v2) and,
 * when rec has no "cgroup" member yet, records the pod's current quota and (v1) each
 * child cgroup's in rec, so that a restore can put them back. */
int kt_cgroup_record(const char *cgroot, struct kt_result *r, json_t *rec, char *dir, size_t dcap,
		     bool *v2p);

/* Sets (limit_mcpu > 0) or restores (0: the values kept in rec) the pod cgroup's quota;
 * on v1 children above the new quota are lowered first and raised after the pod. */
int kt_cgroup_apply(struct kt_result *r, const json_t *rec, const char *dir, bool v2,
		    uint32_t limit_mcpu);

#endif
