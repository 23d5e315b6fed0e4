/* kube_throttle_patch.c - the throttle record (a pod's own CPU requests and limits, kept in
 * its annotation) and the resources patch built from it; pure functions, see
 * kube_throttle.h. */
#include "kube_throttle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube_quantity.h"
/* ---- records and patches ------------------------------------------------------------ */

static const char *res_str(const json_t *ctr, const char *kind)
{
	return json_string_value(
		json_object_get(json_object_get(json_object_get(ctr, "resources"), kind), "cpu"));
}

static bool has_any_resources(const json_t *ctr)
{
	const json_t *r = json_object_get(ctr, "resources");
	return json_object_size(json_object_get(r, "requests")) > 0 ||
	       json_object_size(json_object_get(r, "limits")) > 0;
}

json_t *kt_record_of(const json_t *pod, const char *node, struct wl_err *e)
{
	const json_t *ctrs = json_object_get(json_object_get(pod, "spec"), "containers");
	const char *qos = json_string_value(
		json_object_get(json_object_get(pod, "status"), "qosClass"));
	json_t *rec = NULL, *arr = NULL;
	bool any = false;
	size_t i;
	const json_t *c;

	if (!json_is_array(ctrs) || json_array_size(ctrs) == 0) {
		err_set(e, EINVAL, "pod has no spec.containers");
		return NULL;
	}
	arr = json_array();
	if (!arr)
		goto nomem;
	json_array_foreach(ctrs, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *rq = res_str(c, "requests"), *lm = res_str(c, "limits");
		double v;
		if (!name || !*name) {
			err_set(e, EINVAL, "spec.containers[%zu].name missing", i);
			json_decref(arr);
			return NULL;
		}
		if ((rq && kube_quantity_cores(rq, &v) != 0) || (lm && kube_quantity_cores(lm, &v) != 0)) {
			err_set(e, EINVAL, "spec.containers[%zu] (%s): CPU quantity not understood", i, name);
			json_decref(arr);
			return NULL;
		}
		any = any || has_any_resources(c);
		if (json_array_append_new(arr, json_pack("{s:s, s:s?, s:s?}", "name", name, "requests",
							 rq, "limits", lm)) != 0)
			goto nomem;
	}
	if ((qos && strcmp(qos, "BestEffort") == 0) || (!qos && !any)) {
		err_set(e, EPERM,
			"BestEffort pod (no requests or limits): an in-place resize cannot add a CPU "
			"limit, the QoS class would change");
		json_decref(arr);
		return NULL;
	}
	rec = json_pack("{s:i, s:s, s:s, s:o}", "v", 1, "node", node ? node : "", "qos",
			qos ? qos : "Burstable", "containers", arr);
	if (!rec)
		goto nomem;
	return rec;
nomem:
	json_decref(arr);
	err_set(e, ENOMEM, "out of memory");
	return NULL;
}

static uint32_t mcpu_of(const char *q)
{
	double v;
	if (!q || kube_quantity_cores(q, &v) != 0)
		return 0;
	v = v * 1000.0 + 0.5;
	return v > 4e9 ? 4000000000u : (uint32_t)v;
}

static json_t *mstr(uint32_t mcpu)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRIu32 "m", mcpu ? mcpu : 1);
	return json_string(b);
}

json_t *kt_resources_patch(const json_t *record, const char *qos, uint32_t limit_mcpu,
			   uint32_t null_mcpu, uint32_t *orig_mcpu, struct wl_err *e)
{
	const json_t *ctrs = json_object_get(record, "containers");
	const char *rq = json_string_value(json_object_get(record, "qos"));
	bool guaranteed;
	json_t *out_ctrs, *patch;
	uint32_t per, orig = 0;
	bool all_limited = true;
	size_t i, n;
	const json_t *c;

	if (!json_is_array(ctrs) || (n = json_array_size(ctrs)) == 0) {
		err_set(e, EINVAL, "record: no containers");
		return NULL;
	}
	if (!qos)
		qos = rq ? rq : "Burstable";
	guaranteed = strcmp(qos, "Guaranteed") == 0;
	per = limit_mcpu / (uint32_t)n;
	if (per < 1)
		per = 1;
	out_ctrs = json_array();
	if (!out_ctrs)
		goto nomem;
	json_array_foreach(ctrs, i, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *oreq = json_string_value(json_object_get(c, "requests"));
		const char *olim = json_string_value(json_object_get(c, "limits"));
		uint32_t ol = mcpu_of(olim), orq = mcpu_of(oreq);
		json_t *res = json_object(), *lims = json_object(), *reqs = json_object();
		json_t *ctr = json_object();

		if (!name || !res || !lims || !reqs || !ctr) {
			json_decref(res);
			json_decref(lims);
			json_decref(reqs);
			json_decref(ctr);
			json_decref(out_ctrs);
			if (!name) {
				err_set(e, EINVAL, "record: containers[%zu].name missing", i);
				return NULL;
			}
			goto nomem;
		}
		if (olim)
			orig += ol;
		else
			all_limited = false;
		if (limit_mcpu) {
			uint32_t l = per;
			if (olim && l > ol)
				l = ol;
			json_object_set_new(lims, "cpu", mstr(l));
			if (guaranteed)
				json_object_set_new(reqs, "cpu", mstr(l));
			else if (oreq)
				json_object_set_new(reqs, "cpu", orq > l ? mstr(l) : json_string(oreq));
		} else {
			if (olim)
				json_object_set_new(lims, "cpu", json_string(olim));
			else if (null_mcpu)
				json_object_set_new(lims, "cpu", mstr(null_mcpu));
			else
				json_object_set_new(lims, "cpu", json_null());
			if (oreq)
				json_object_set_new(reqs, "cpu", json_string(oreq));
		}
		json_object_set_new(res, "limits", lims);
		if (json_object_size(reqs))
			json_object_set_new(res, "requests", reqs);
		else
			json_decref(reqs);
		json_object_set_new(ctr, "name", json_string(name));
		json_object_set_new(ctr, "resources", res);
		json_array_append_new(out_ctrs, ctr);
	}
	if (orig_mcpu)
		*orig_mcpu = all_limited ? orig : 0;
	patch = json_pack("{s:{s:o}}", "spec", "containers", out_ctrs);
	if (!patch)
		goto nomem;
	return patch;
nomem:
	err_set(e, ENOMEM, "out of memory");
	return NULL;
}
