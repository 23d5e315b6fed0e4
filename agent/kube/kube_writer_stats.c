/* kube_writer_stats.c - what the writer counts: failure reasons and resources, the
 * last error, the request and write rates over a minute, kube_writer_stats()
 * (kube_writer_impl.h). */
#include "kube_writer_impl.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <jansson.h>

#include "../common/nametab.h"
#include "kube_budget.h"

void kw_ring_add(struct rate_ring *r, uint64_t now_ns)
{
	uint64_t s = now_ns / NS_PER_S;
	size_t i = s % 60;
	if (r->sec[i] != s) {
		r->sec[i] = s;
		r->n[i] = 0;
	}
	r->n[i]++;
}

static double ring_rate(const struct rate_ring *r, uint64_t now_ns)
{
	uint64_t s = now_ns / NS_PER_S, sum = 0;
	for (size_t i = 0; i < 60; i++)
		if (r->n[i] && r->sec[i] + 60 > s && r->sec[i] <= s)
			sum += r->n[i];
	return (double)sum / 60.0;
}

void kw_set_err_locked(struct kube_writer *w, const char *what, const char *msg)
{
	size_t cap = sizeof(w->st.last_error), n;
	kw_copy_str(w->st.last_error, cap, what);
	n = strlen(w->st.last_error);
	if (n + 2 < cap) {
		memcpy(w->st.last_error + n, ": ", 3);
		kw_copy_str(w->st.last_error + n + 2, cap - n - 2, msg);
	}
}

static const char *const REASON_NAMES[KW_REASON_COUNT] = {
	[KW_REASON_INVALID] = "Invalid",
	[KW_REASON_FORBIDDEN] = "Forbidden",
	[KW_REASON_UNAUTHORIZED] = "Unauthorized",
	[KW_REASON_NOTFOUND] = "NotFound",
	[KW_REASON_CONFLICT] = "Conflict",
	[KW_REASON_BADREQUEST] = "BadRequest",
	[KW_REASON_TOOMANYREQUESTS] = "TooManyRequests",
	[KW_REASON_TIMEOUT] = "Timeout",
	[KW_REASON_INTERNALERROR] = "InternalError",
	[KW_REASON_SERVICEUNAVAILABLE] = "ServiceUnavailable",
	[KW_REASON_NORESPONSE] = "NoResponse",
	[KW_REASON_OTHER] = "Other",
};

static const char *const RESOURCE_NAMES[KW_RES_COUNT] = {
	[KW_RES_PODENERGIES] = "podenergies",
	[KW_RES_NODEENERGIES] = "nodeenergies",
	[KW_RES_EVENTS] = "events",
	[KW_RES_STATUS] = "status",
};

const char *kube_writer_reason_name(enum kw_reason r)
{
	return nametab_name(REASON_NAMES, KW_REASON_COUNT, r, "Other");
}

const char *kube_writer_resource_name(enum kw_resource r)
{
	return nametab_name(RESOURCE_NAMES, KW_RES_COUNT, r, "other");
}

enum kw_reason kube_writer_reason_of(long status, const char *body, int rc)
{
	enum kw_reason r = KW_REASON_OTHER;

	if (rc || status <= 0)
		return rc == -ETIMEDOUT ? KW_REASON_TIMEOUT : KW_REASON_NORESPONSE;
	if (body && *body) {
		json_t *j = json_loads(body, 0, NULL);
		const char *s = json_string_value(json_object_get(j, "reason"));
		if (s) {
			if (strcmp(s, "AlreadyExists") == 0)
				s = "Conflict";
			else if (strcmp(s, "ServerTimeout") == 0)
				s = "Timeout";
			for (int i = 0; i < KW_REASON_OTHER; i++)
				if (i != KW_REASON_NORESPONSE && strcmp(s, REASON_NAMES[i]) == 0)
					r = (enum kw_reason)i;
		}
		json_decref(j);
		if (r != KW_REASON_OTHER)
			return r;
	}
	switch (status) {
	case 400: return KW_REASON_BADREQUEST;
	case 401: return KW_REASON_UNAUTHORIZED;
	case 403: return KW_REASON_FORBIDDEN;
	case 404: return KW_REASON_NOTFOUND;
	case 409: return KW_REASON_CONFLICT;
	case 422: return KW_REASON_INVALID;
	case 429: return KW_REASON_TOOMANYREQUESTS;
	case 500: return KW_REASON_INTERNALERROR;
	case 503: return KW_REASON_SERVICEUNAVAILABLE;
	case 504: return KW_REASON_TIMEOUT;
	default: return KW_REASON_OTHER;
	}
}

uint64_t kw_failures_total(const struct kube_writer *w)
{
	uint64_t n = 0;
	for (int i = 0; i < KW_RES_COUNT; i++)
		for (int j = 0; j < KW_REASON_COUNT; j++)
			n += w->st.failures[i][j];
	return n;
}

/* The failures as status.writeErrors shows them (lock held). */
void kw_werr_snapshot(const struct kube_writer *w, struct werr_view *v)
{
	v->total = kw_failures_total(w);
	v->at_ns = w->st.last_error_real_ns;
	v->resource = kube_writer_resource_name(w->st.last_resource);
	v->reason = kube_writer_reason_name(w->st.last_reason);
	kw_copy_str(v->message, sizeof(v->message), w->st.last_error);
}

void kube_writer_stats(struct kube_writer *w, struct kube_writer_stats *out)
{
	uint64_t now;
	if (!w || !out)
		return;
	pthread_mutex_lock(&w->mu);
	now = kw_now(w);
	*out = w->st;
	out->pods = w->n_pods;
	out->applies_pending = w->n_ap;
	out->writes_per_s_1m = ring_rate(&w->writes_ring, now);
	out->requests_per_s_1m = ring_rate(&w->req_ring, now);
	out->backing_off = w->backoff_until_ns > now;
	out->pod_interval_s = (unsigned)lround(KW_DEFAULT_INTERVAL_S * w->st.stretch);
	out->pod_max_interval_s = (unsigned)lround(kube_budget_floor(
		KW_DEFAULT_INTERVAL_S, w->st.stretch, w->o.refresh_intervals));
	pthread_mutex_unlock(&w->mu);
}
