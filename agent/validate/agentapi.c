/* agentapi.c - reads a running agent's /api/v1/workloads (libcurl, jansson): its tick
 * count, meter counters, node joules per zone and the dynamic joules and CPU seconds
 * of the workloads a validation follows. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

#define VAGENT_BODY_CAP (64u << 20)

struct vagent {
	CURL *curl;
	char url[512];
	struct strbuf body;
};

struct vagent *vagent_new(const char *url, struct wl_err *err)
{
	struct vagent *a;
	size_t n;

	if (!url || !*url) {
		err_set(err, EINVAL, "no agent URL");
		return NULL;
	}
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	a = calloc(1, sizeof(*a));
	if (!a) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (fmt_path(a->url, sizeof(a->url), "%.*s/api/v1/workloads", (int)n, url) != 0) {
		err_set(err, ENAMETOOLONG, "agent URL too long");
		free(a);
		return NULL;
	}
	a->curl = curl_easy_init();
	if (!a->curl) {
		err_set(err, ENOMEM, "cannot initialise libcurl");
		free(a);
		return NULL;
	}
	strbuf_init(&a->body, VAGENT_BODY_CAP);
	return a;
}

void vagent_free(struct vagent *a)
{
	if (!a)
		return;
	if (a->curl)
		curl_easy_cleanup(a->curl);
	strbuf_release(&a->body);
	free(a);
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct strbuf *sb = ud;

	if (n && sz > SIZE_MAX / n)
		return 0;
	return strbuf_add(sb, p, sz * n) ? 0 : sz * n;
}

static double num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	double d = json_is_number(v) ? json_number_value(v) : NAN;
	return d;
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
		d = num(json_object_get(zv, "dynamic"), "joules");
		if (with_idle)
			i = num(json_object_get(zv, "idle"), "joules");
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
	t = num(agent, "ticks");
	if (!(t >= 0)) {
		rc = err_set(err, EINVAL, "agent reply has no agent.ticks");
		goto cleanup;
	}
	out->ticks = (uint64_t)t;
	t = num(agent, "tick_interval_s");
	out->tick_s = t > 0 ? t : 1.0;
	t = num(agent, "meter_resets");
	out->meter_resets = t >= 0 ? (uint64_t)t : 0;
	t = num(agent, "meter_errors");
	out->meter_errors = t >= 0 ? (uint64_t)t : 0;
	{
		const char *m = json_string_value(json_object_get(agent, "meter"));
		snprintf(out->meter, sizeof(out->meter), "%s", m ? m : "none");
	}
	out->zone_mask = zone_joules(json_object_get(node, "zones"), true, out->node_j);
	json_array_foreach(wls, i, w) {
		const char *k = json_string_value(json_object_get(w, "workload"));
		const char *uid = json_string_value(json_object_get(w, "pod_uid"));
		double cpu_s = num(w, "cpu_seconds"); /* NAN when absent: no other-CPU rule */
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
	char curlerr[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;

	if (!a || !out)
		return err_set(err, EINVAL, "vagent_fetch: bad arguments");
	strbuf_reset(&a->body);
	curl_easy_setopt(a->curl, CURLOPT_URL, a->url);
	curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, &a->body);
	curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(a->curl, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(a->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)VAGENT_BODY_CAP);
	curl_easy_setopt(a->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(a->curl);
	if (rc != CURLE_OK) {
		if (rc == CURLE_WRITE_ERROR && a->body.overflow)
			return err_set(err, E2BIG, "reply from %s is larger than %u MiB", a->url,
				       VAGENT_BODY_CAP >> 20);
		return err_set(err, ECONNREFUSED, "cannot reach the agent at %s: %s - is `wattlet "
			       "run` running?", a->url, curlerr[0] ? curlerr : curl_easy_strerror(rc));
	}
	curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return err_set(err, EPROTO, "the agent at %s answered HTTP %ld", a->url, status);
	return vagent_parse(a->body.buf ? a->body.buf : "", a->body.len, keys, n, out, err);
}
