/* agentapi.c - reads a running agent's /api/v1/workloads (common/apiclient.h, jansson): its tick
 * count, meter counters, node joules per zone and the dynamic joules and CPU seconds
 * of the workloads a validation follows. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/apiclient.h"
#include "../common/jsonget.h"
#include "validate.h"

#define VAGENT_BODY_CAP (64u << 20)

struct vagent {
	struct api_client *api;
};

struct vagent *vagent_new(const char *url, struct wl_err *err)
{
	struct api_client *api = api_client_new(url, VAGENT_BODY_CAP, err);
	struct vagent *a = api ? malloc(sizeof(*a)) : NULL;

	if (a) {
		a->api = api;
		return a;
	}
	if (api)
		err_set(err, ENOMEM, "out of memory");
	api_client_free(api);
	return NULL;
}

void vagent_free(struct vagent *a)
{
	if (a)
		api_client_free(a->api);
	free(a);
}

/* zones object -> dynamic (+ idle when both) joules per zone; returns the zone mask. */
static uint32_t zone_joules(const json_t *zones, bool with_idle, double j[ZONE_COUNT])
{
	const char *zk;
	json_t *zv;
	uint32_t mask = 0;

	for (int z = 0; z < ZONE_COUNT; z++)
		j[z] = 0;
	if (!json_is_object(zones))
		return 0;
	json_object_foreach((json_t *)zones, zk, zv) {
		int z = zone_from_name(zk);
		double d, i = 0;
		if (z < 0)
			continue;
		d = jg_num_or(json_object_get(zv, "dynamic"), "joules", NAN);
		if (with_idle)
			i = jg_num_or(json_object_get(zv, "idle"), "joules", NAN);
		if (!isfinite(d) || !isfinite(i))
			continue;
		j[z] = d + i;
		mask |= 1u << z;
	}
	return mask;
}

int vagent_parse(const char *text, size_t len, const char *const *keys, size_t n,
		 struct vagent_snapshot *out, struct wl_err *err)
{
	json_error_t je;
	json_t *doc, *node, *agent, *wls, *w;
	size_t i;
	double t;
	int rc = 0;

	if (!text || !out || n > VAGENT_MAX_KEYS)
		return err_set(err, EINVAL, "vagent_parse: bad arguments");
	memset(out, 0, sizeof(*out));
	doc = json_loadb(text, len, 0, &je);
	if (!doc)
		return err_set(err, EINVAL, "agent reply is not JSON: %s (line %d)", je.text,
			       je.line);
	node = json_object_get(doc, "node");
	agent = json_object_get(doc, "agent");
	wls = json_object_get(doc, "workloads");
	if (!json_is_object(node) || !json_is_object(agent) || !json_is_array(wls)) {
		rc = err_set(err, EINVAL, "agent reply lacks node, agent or workloads");
		goto cleanup;
	}
	t = jg_num_or(agent, "ticks", NAN);
	if (!(t >= 0)) {
		rc = err_set(err, EINVAL, "agent reply has no agent.ticks");
		goto cleanup;
	}
	out->ticks = (uint64_t)t;
	t = jg_num_or(agent, "tick_interval_s", NAN);
	out->tick_s = t > 0 ? t : 1.0;
	t = jg_num_or(agent, "meter_resets", NAN);
	out->meter_resets = t >= 0 ? (uint64_t)t : 0;
	t = jg_num_or(agent, "meter_errors", NAN);
	out->meter_errors = t >= 0 ? (uint64_t)t : 0;
	{
		const char *m = json_string_value(json_object_get(agent, "meter"));
		snprintf(out->meter, sizeof(out->meter), "%s", m ? m : "none");
	}
	out->zone_mask = zone_joules(json_object_get(node, "zones"), true, out->node_j);
	json_array_foreach(wls, i, w) {
		const char *k = json_string_value(json_object_get(w, "workload"));
		const char *uid = json_string_value(json_object_get(w, "pod_uid"));
		double cpu_s = jg_num_or(w, "cpu_seconds", NAN); /* NAN when absent: no other-CPU rule */
		if (!k)
			continue;
		for (size_t q = 0; q < n; q++) {
			double j[ZONE_COUNT];
			if (!keys[q])
				continue;
			if (strncmp(keys[q], "pod:", 4) == 0) {
				/* a pod: the sum of all its rows */
				if (!uid || !*uid || strcmp(keys[q] + 4, uid) != 0)
					continue;
				zone_joules(json_object_get(w, "zones"), false, j);
				for (int z = 0; z < ZONE_COUNT; z++)
					out->dyn_j[q][z] += j[z];
				out->cpu_s[q] += cpu_s;
				out->found[q] = true;
				continue;
			}
			if (out->found[q] || strcmp(keys[q], k) != 0)
				continue;
			out->found[q] = true;
			out->cpu_s[q] = cpu_s;
			zone_joules(json_object_get(w, "zones"), false, out->dyn_j[q]);
		}
	}
cleanup:
	json_decref(doc);
	return rc;
}

int vagent_fetch(struct vagent *a, const char *const *keys, size_t n,
		 struct vagent_snapshot *out, struct wl_err *err)
{
	const char *body;
	size_t len;
	int rc;

	if (!a || !out)
		return err_set(err, EINVAL, "vagent_fetch: bad arguments");
	rc = api_client_get(a->api, 10000L, &body, &len, err);
	if (rc)
		return rc;
	return vagent_parse(body, len, keys, n, out, err);
}
