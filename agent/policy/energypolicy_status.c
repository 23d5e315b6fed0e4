/* energypolicy_status.c - EnergyPolicy .status: built for one node, for every node's
 * part, summed across nodes, compared with what the object holds (energypolicy.h,
 * "status"). Split from energypolicy.c, which parses the objects and keeps the set. */
#include "energypolicy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/humanfmt.h"

/* ---- status ------------------------------------------------------------------------- */

/* The policy in effect has a budget with action throttle: throttledPods is written. */
static bool has_throttle(const struct policy_entry_info *who)
{
	for (size_t b = 0; who->policy && b < who->policy->n_budgets; b++)
		if (who->policy->budgets[b].action == EP_ACTION_THROTTLE)
			return true;
	return false;
}

/* obj.throttledPods = throttled, at most matched, where the policy throttles (has_throttle).
 * 0, or -1 when it could not be set. */
static int set_throttled(json_t *obj, const struct policy_entry_info *who, uint32_t throttled,
			 uint32_t matched)
{
	if (!has_throttle(who))
		return 0;
	return json_object_set_new(obj, "throttledPods",
				   json_integer(throttled > matched ? matched : throttled));
}

double ep_co2e_grams(double joules, double carbon_g_per_kwh)
{
	return joules / 3.6e6 * carbon_g_per_kwh;
}

static int fmt_time(char *buf, size_t cap, uint64_t real_ns)
{
	time_t t = (time_t)(real_ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -EINVAL;
	return 0;
}

static json_t *status_root(const struct policy_entry_info *who)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", EP_API_VERSION, "kind", EP_KIND,
			 "metadata", "name", who->name, "namespace", who->ns);
}

/* root.status = st when every step before went well (ok); returns root, or NULL with
 * root released and err set. st stays the caller's. */
static json_t *status_done(json_t *root, json_t *st, bool ok, struct wl_err *e)
{
	if (ok && json_object_set(root, "status", st) == 0)
		return root;
	err_set(e, ENOMEM, "out of memory (or a string that is not UTF-8) building status");
	json_decref(root);
	return NULL;
}

json_t *ep_status_build(const struct policy_entry_info *who, const struct ep_status_in *in,
			struct wl_err *e)
{
	char now[32], since[32];
	json_t *root = NULL, *st, *cond, *conds, *ret;
	bool valid, ok = false;

	if (!who || !in || !who->ns || !who->name || !who->ns[0] || !who->name[0]) {
		err_set(e, EINVAL, "status: no policy name/namespace");
		return NULL;
	}
	if (!isfinite(in->total_joules) || in->total_joules < 0) {
		err_set(e, EINVAL, "status.totalJoules: %g is not a finite value >= 0", in->total_joules);
		return NULL;
	}
	if (in->matched_pods > INT32_MAX) {
		err_set(e, EINVAL, "status.matchedPods: %u is more than int32", in->matched_pods);
		return NULL;
	}
	if (fmt_time(now, sizeof(now), in->now_real_ns) ||
	    fmt_time(since, sizeof(since), in->since_real_ns ? in->since_real_ns : in->now_real_ns)) {
		err_set(e, EINVAL, "status: time out of range");
		return NULL;
	}
	valid = !who->error || !who->error[0];
	st = json_pack("{s:i, s:f, s:s}", "matchedPods", (json_int_t)in->matched_pods,
		       "totalJoules", in->total_joules, "lastUpdateTime", now);
	cond = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "Valid", "status",
			 valid ? "True" : "False", "lastTransitionTime", since, "reason",
			 valid ? "Valid" : "InvalidSpec", "message",
			 valid ? "spec is valid" : who->error);
	conds = json_array();
	root = status_root(who);
	if (!st || !cond || !conds || !root)
		goto cleanup;
	if (set_throttled(st, who, in->throttled_pods, in->matched_pods))
		goto cleanup;
	if (who->policy && who->policy->has_carbon &&
	    json_object_set_new(st, "totalCO2eGrams",
				json_real(in->co2e_given && isfinite(in->total_co2e_grams) &&
							  in->total_co2e_grams >= 0
						  ? in->total_co2e_grams
						  : ep_co2e_grams(in->total_joules,
								  who->policy->carbon_g_per_kwh))))
		goto cleanup;
	if (who->generation > 0 &&
	    json_object_set_new(cond, "observedGeneration", json_integer(who->generation)))
		goto cleanup;
	{
		/* status.display: the totals for kubectl get (humanfmt.h) */
		char buf[32];
		const json_t *g = json_object_get(st, "totalCO2eGrams");
		json_t *disp = json_object();
		hf_format(in->total_joules, HF_JOULES, buf, sizeof(buf));
		if (!disp || json_object_set_new(st, "display", disp) ||
		    json_object_set_new(disp, "energy", json_string(buf)))
			goto cleanup;
		hf_format(json_real_value(g), HF_GRAMS, buf, sizeof(buf));
		if (g && json_object_set_new(disp, "co2e", json_string(buf)))
			goto cleanup;
	}
	ok = json_array_append(conds, cond) == 0 && json_object_set(st, "conditions", conds) == 0;
cleanup:
	ret = status_done(root, st, ok, e);
	json_decref(st);
	json_decref(cond);
	json_decref(conds);
	return ret;
}

/* ---- multi-node status ----------------------------------------------------------- */

json_t *ep_status_node_build(const struct policy_entry_info *who, const struct ep_node_part *part,
			     struct wl_err *e)
{
	char now[32];
	json_t *root, *st = NULL, *it = NULL, *ret;
	bool ok = false;

	if (!who || !who->ns || !who->name || !who->ns[0] || !who->name[0]) {
		err_set(e, EINVAL, "status: no policy name/namespace");
		return NULL;
	}
	if (part && (!part->node || !part->node[0])) {
		err_set(e, EINVAL, "status.nodes[]: no node name");
		return NULL;
	}
	if (part && (!isfinite(part->total_joules) || part->total_joules < 0)) {
		err_set(e, EINVAL, "status.nodes[].totalJoules: %g is not a finite value >= 0",
			part->total_joules);
		return NULL;
	}
	if (part && part->matched_pods > INT32_MAX) {
		err_set(e, EINVAL, "status.nodes[].matchedPods: %u is more than int32",
			part->matched_pods);
		return NULL;
	}
	if (part && fmt_time(now, sizeof(now), part->real_ns)) {
		err_set(e, EINVAL, "status: time out of range");
		return NULL;
	}
	root = status_root(who);
	st = json_object();
	if (!root || !st)
		goto cleanup;
	if (part) {
		it = json_pack("{s:s, s:i, s:f, s:s}", "node", part->node, "matchedPods",
			       (json_int_t)part->matched_pods, "totalJoules", part->total_joules,
			       "lastUpdateTime", now);
		if (!it)
			goto cleanup;
		if (set_throttled(it, who, part->throttled_pods, part->matched_pods))
			goto cleanup;
		if (who->policy && who->policy->has_carbon && isfinite(part->total_co2e_grams) &&
		    part->total_co2e_grams >= 0 &&
		    json_object_set_new(it, "totalCO2eGrams", json_real(part->total_co2e_grams)))
			goto cleanup;
		if (json_object_set_new(st, "nodes", json_pack("[O]", it)))
			goto cleanup;
	}
	ok = true;
cleanup:
	ret = status_done(root, st, ok, e);
	json_decref(it);
	json_decref(st);
	return ret;
}

/* A non-negative finite number of o[k], or -1 when absent or unusable. */
static double nonneg(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	double d;

	if (!json_is_number(v))
		return -1;
	d = json_number_value(v);
	return isfinite(d) && d >= 0 ? d : -1;
}

static const json_t *valid_condition(const json_t *status)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(status, "conditions"), i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		if (t && strcmp(t, "Valid") == 0)
			return c;
	}
	return NULL;
}

int ep_status_sum(const struct policy_entry_info *who, const char *self_node,
		  const struct ep_node_part *own, uint64_t now_real_ns, uint64_t stale_ms,
		  struct ep_status_in *out)
{
	const json_t *it, *vc;
	int64_t now_ms = (int64_t)(now_real_ns / 1000000ull);
	uint64_t pods = 0, throttled = 0;
	int counted = 0;
	size_t i;

	if (!who || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->now_real_ns = now_real_ns;
	out->co2e_given = true;
	if (own) {
		pods += own->matched_pods;
		throttled += own->throttled_pods;
		if (isfinite(own->total_joules) && own->total_joules > 0)
			out->total_joules += own->total_joules;
		if (isfinite(own->total_co2e_grams) && own->total_co2e_grams > 0)
			out->total_co2e_grams += own->total_co2e_grams;
		counted++;
	}
	json_array_foreach(json_object_get(who->status, "nodes"), i, it)
	{
		const char *node = json_string_value(json_object_get(it, "node"));
		const char *t = json_string_value(json_object_get(it, "lastUpdateTime"));
		const json_t *mp = json_object_get(it, "matchedPods");
		const json_t *tp = json_object_get(it, "throttledPods");
		int64_t t_ms;
		double j, g;

		if (!node || (self_node && strcmp(node, self_node) == 0))
			continue; /* our own entry: replaced by own */
		if (!t || ep_parse_time_ms(t, &t_ms) != 0 ||
		    (t_ms < now_ms && (uint64_t)(now_ms - t_ms) > stale_ms))
			continue; /* stale: a node that is gone (or stopped writing) */
		if (json_is_integer(mp) && json_integer_value(mp) > 0 &&
		    json_integer_value(mp) <= INT32_MAX)
			pods += (uint64_t)json_integer_value(mp);
		if (json_is_integer(tp) && json_integer_value(tp) > 0 &&
		    json_integer_value(tp) <= INT32_MAX)
			throttled += (uint64_t)json_integer_value(tp);
		j = nonneg(it, "totalJoules");
		g = nonneg(it, "totalCO2eGrams");
		if (j > 0)
			out->total_joules += j;
		if (g > 0)
			out->total_co2e_grams += g;
		counted++;
	}
	out->matched_pods = pods > INT32_MAX ? INT32_MAX : (uint32_t)pods;
	out->throttled_pods = throttled > INT32_MAX ? INT32_MAX : (uint32_t)throttled;
	vc = valid_condition(who->status);
	if (vc) {
		bool valid = !who->error || !who->error[0];
		const char *cs = json_string_value(json_object_get(vc, "status"));
		const char *lt = json_string_value(json_object_get(vc, "lastTransitionTime"));
		int64_t lt_ms;
		if (cs && strcmp(cs, valid ? "True" : "False") == 0 && lt &&
		    ep_parse_time_ms(lt, &lt_ms) == 0 && lt_ms > 0)
			out->since_real_ns = (uint64_t)lt_ms * 1000000ull;
	}
	return counted;
}

static bool close_enough(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b)) + 1e-12;
}

static bool same_str(const json_t *a, const json_t *b, const char *k)
{
	const char *x = json_string_value(json_object_get(a, k));
	const char *y = json_string_value(json_object_get(b, k));
	return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

bool ep_status_current(const struct policy_entry_info *who, const json_t *body)
{
	const json_t *have = who ? who->status : NULL, *want = json_object_get(body, "status");
	const json_t *hc, *wc, *hg, *wg;
	static const char *const nums[] = { "totalJoules", "totalCO2eGrams" };

	if (!have || !want)
		return false;
	if (!json_equal(json_object_get(have, "matchedPods"), json_object_get(want, "matchedPods")))
		return false;
	{
		const json_t *ht = json_object_get(have, "throttledPods");
		const json_t *wt = json_object_get(want, "throttledPods");
		if ((ht || wt) && !json_equal(ht, wt)) /* json_equal(NULL, NULL) is 0 */
			return false;
	}
	for (size_t k = 0; k < 2; k++) {
		double h = nonneg(have, nums[k]), w = nonneg(want, nums[k]);
		if ((h < 0) != (w < 0) || (w >= 0 && !close_enough(h, w)))
			return false;
	}
	hc = valid_condition(have);
	wc = valid_condition(want);
	if (!hc != !wc)
		return false;
	if (!wc)
		return true;
	hg = json_object_get(hc, "observedGeneration");
	wg = json_object_get(wc, "observedGeneration");
	return same_str(hc, wc, "status") && same_str(hc, wc, "reason") &&
	       same_str(hc, wc, "message") && ((!hg && !wg) || (hg && wg && json_equal(hg, wg)));
}

bool ep_status_has_node(const struct policy_entry_info *who, const char *node)
{
	const json_t *it;
	size_t i;

	if (!who || !node)
		return false;
	json_array_foreach(json_object_get(who->status, "nodes"), i, it)
	{
		const char *n = json_string_value(json_object_get(it, "node"));
		if (n && strcmp(n, node) == 0)
			return true;
	}
	return false;
}
