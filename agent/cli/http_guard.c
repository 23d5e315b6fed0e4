/* http_guard.c - see http_guard.h. */
#include "http_guard.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../kube/kube_authn.h"
#include "log.h"

#define HA_LOG_EVERY_NS (60ull * 1000000000ull) /* review failures: one line a minute */

struct http_guard {
	struct kube_config *kc;
	struct kube_authn *authn;
	_Atomic(struct http_server *) srv;
	unsigned long long failed_logged, overloaded_logged;
	uint64_t last_log_ns;
};

static void wake(void *ud)
{
	struct http_guard *ha = ud;
	struct http_server *s = atomic_load(&ha->srv);

	if (s)
		http_server_wake(s);
}

/* Review failures, at most once a minute (main thread). */
static void log_failures(struct http_guard *ha)
{
	struct kube_authn_stats st;
	uint64_t now = mono_ns();

	if (now - ha->last_log_ns < HA_LOG_EVERY_NS && ha->last_log_ns)
		return;
	kube_authn_stats(ha->authn, &st);
	if (st.failed > ha->failed_logged)
		log_warn("http.auth: %llu token review(s) failed, answered 503: %s",
			 st.failed - ha->failed_logged, st.last_error);
	if (st.overloaded > ha->overloaded_logged)
		log_warn("http.auth: %llu request(s) answered 503: too many token reviews pending",
			 st.overloaded - ha->overloaded_logged);
	if (st.failed > ha->failed_logged || st.overloaded > ha->overloaded_logged)
		ha->last_log_ns = now;
	ha->failed_logged = st.failed;
	ha->overloaded_logged = st.overloaded;
}

static enum http_authz authz(void *ctx, const char *token, const char *path)
{
	struct http_guard *ha = ctx;
	enum http_authz r;

	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0)
		return HTTP_AUTHZ_ALLOW;
	/* no API requests for paths that serve nothing (a token holder probing paths) */
	if (strcmp(path, "/metrics") != 0 && strcmp(path, "/api/v1/workloads") != 0 &&
	    strcmp(path, "/") != 0 && strcmp(path, "/ui") != 0 && strcmp(path, "/ui/") != 0 &&
	    strcmp(path, "/ui/ws") != 0)
		return token ? HTTP_AUTHZ_DENY_403 : HTTP_AUTHZ_DENY_401;
	switch (kube_authn_check(ha->authn, token, path)) {
	case KA_ALLOW: r = HTTP_AUTHZ_ALLOW; break;
	case KA_PENDING: r = HTTP_AUTHZ_PENDING; break;
	case KA_UNAUTHENTICATED: r = HTTP_AUTHZ_DENY_401; break;
	case KA_FORBIDDEN: r = HTTP_AUTHZ_DENY_403; break;
	default: r = HTTP_AUTHZ_UNAVAILABLE; break;
	}
	if (r == HTTP_AUTHZ_UNAVAILABLE)
		log_failures(ha);
	return r;
}

struct http_guard *http_guard_new(const struct config *c, struct wl_err *err)
{
	struct http_guard *ha = calloc(1, sizeof(*ha));
	struct kube_config_opts co = { 0 };
	struct kube_authn_opts ao = { 0 };

	if (!ha) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	atomic_init(&ha->srv, NULL);
	co.kubeconfig = c->kubeconfig[0] ? c->kubeconfig : NULL;
	ha->kc = kube_config_load(&co, err);
	if (!ha->kc)
		goto fail;
	ao.ttl_ms = c->http_auth_ttl_ms;
	ao.notify = wake;
	ao.notify_ud = ha;
	ha->authn = kube_authn_new(ha->kc, &ao, err);
	if (!ha->authn)
		goto fail;
	return ha;
fail:
	http_guard_free(ha);
	return NULL;
}

void http_guard_opts(struct http_guard *ha, struct http_opts *o)
{
	o->authz = authz;
	o->authz_ctx = ha;
}

void http_guard_attach(struct http_guard *ha, struct http_server *s)
{
	if (ha)
		atomic_store(&ha->srv, s);
}

void http_guard_free(struct http_guard *ha)
{
	if (!ha)
		return;
	kube_authn_free(ha->authn); /* joins the worker: no wake after this */
	kube_config_free(ha->kc);
	free(ha);
}
