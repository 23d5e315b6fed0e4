/* test_kube_writer.c - PodEnergy / NodeEnergy / Event writes: coalescing, thresholds,
 * rate limit and backoff with an injected clock and transport. The same writer end to
 * end against tls_server.py is test_kube_writer_server.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "agent/kube/kube_http.h"
#include "agent/kube/kube_writer.h"
#include "agent/policy/energypolicy.h"
#include "test/unit/fixture_kube_writer.h"
#include "testmain.h"

/* ---- injected transport (the clock: fixture_kube_writer.h) ------------------------------ */

struct fake {
	int calls, status_calls, create_calls, event_calls;
	int rc;	     /* returned when nonzero (-ECONNREFUSED...) */
	long status; /* 0: 200 */
	char path[512];
	char *body;  /* last body */
	char *sbody; /* last status body */
	int apply_calls;	/* PATCHes of energypolicies (kube_writer_offer_status) */
	char apaths[8][512];	/* their paths, in order (the first 8) */
	char *abodies[8];
};

static int fake_send(void *ud, const char *method, const char *path, const char *body,
		     const char *ct, long *status, struct wl_err *e)
{
	struct fake *f = ud;
	f->calls++;
	assert_non_null(ct);
	if (strcmp(method, "PATCH") == 0 && strstr(path, "/energypolicies/")) {
		assert_string_equal(ct, "application/apply-patch+yaml");
		assert_non_null(strstr(path, "?fieldManager=wattlet"));
		assert_non_null(strstr(path, "&force=true"));
		if (f->apply_calls < 8) {
			snprintf(f->apaths[f->apply_calls], sizeof(f->apaths[0]), "%s", path);
			f->abodies[f->apply_calls] = strdup(body);
		}
		f->apply_calls++;
	} else if (strcmp(method, "PATCH") == 0) {
		assert_string_equal(ct, "application/apply-patch+yaml");
		assert_non_null(strstr(path, "?fieldManager=wattlet&force=true"));
		if (strstr(path, "/status?"))
			f->status_calls++;
		else
			f->create_calls++;
	} else {
		f->event_calls++;
	}
	snprintf(f->path, sizeof(f->path), "%s", path);
	free(f->body);
	f->body = strdup(body);
	if (strstr(path, "/status?")) {
		free(f->sbody);
		f->sbody = strdup(body);
	}
	if (f->rc)
		return err_set(e, f->rc, "connection refused");
	*status = f->status ? f->status : 200;
	if (*status == 422)
		err_set(e, EIO, "HTTP 422: spec.podName: Too long");
	return 0;
}

static void fake_release(struct fake *f)
{
	free(f->body);
	free(f->sbody);
	for (int i = 0; i < 8; i++)
		free(f->abodies[i]);
}

/* The state of a test on the injected transport (setup, teardown): the transport, the
 * clock (at 1000 s) and the writer that wfx_open made. teardown frees the writer, with
 * what is still queued in it (ASan sees a leak there), then the transport. */
struct wfx {
	struct fake f;
	struct fclock c;
	struct kube_writer *w;
};

static int setup(void **state)
{
	struct wfx *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	fx->c.t = 1000 * S_NS;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct wfx *fx = *state;

	kube_writer_free(fx->w);
	fake_release(&fx->f);
	free(fx);
	return 0;
}

/* The test's writer on fx's transport and clock; o: NULL or the other options. */
static struct kube_writer *wfx_open(struct wfx *fx, struct kube_writer_opts *o)
{
	fx->w = fixture_kw_new(fake_send, &fx->f, &fx->c, o);
	return fx->w;
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void test_pod_json(void **st)
{
	struct kw_pod p = mkpod("shop", "redis-0", "uid-1", 4.2, 1234.5);
	char *s;
	json_t *j, *own, *x;
	(void)st;

	s = kube_writer_pod_json(&p, 0, NULL);
	assert_non_null(s);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	own = json_array_get(json_object_get(json_object_get(j, "metadata"), "ownerReferences"), 0);
	assert_string_equal(json_string_value(json_object_get(own, "kind")), "Pod");
	assert_string_equal(json_string_value(json_object_get(own, "apiVersion")), "v1");
	assert_string_equal(json_string_value(json_object_get(own, "uid")), "uid-1");
	assert_true(json_is_true(json_object_get(own, "controller")));
	assert_true(json_is_false(json_object_get(own, "blockOwnerDeletion")));
	x = json_object_get(j, "spec");
	assert_string_equal(json_string_value(json_object_get(x, "podName")), "redis-0");
	assert_string_equal(json_string_value(json_object_get(x, "podUID")), "uid-1");
	assert_string_equal(json_string_value(json_object_get(x, "nodeName")), "node-1");
	assert_null(json_object_get(j, "status"));
	json_decref(j);
	free(s);

	/* NaN, Inf and negative numbers never reach JSON: the field is left out */
	p.watts = NAN;
	p.idle_watts = -1;
	p.joules = INFINITY;
	s = kube_writer_pod_json(&p, 1, NULL);
	assert_non_null(s);
	assert_null(strstr(s, "nan"));
	assert_null(strstr(s, "inf"));
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	x = json_object_get(j, "status");
	assert_null(json_object_get(x, "watts"));
	assert_null(json_object_get(x, "idleWatts"));
	assert_null(json_object_get(x, "joules"));
	assert_float_equal(jnum(x, "dynamicWatts"), 3.15, 1e-9);
	assert_string_equal(json_string_value(json_object_get(x, "lastMeasured")),
			    "2026-11-25T08:30:00Z");
	assert_int_equal(json_array_size(json_object_get(x, "zones")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(x, "containers"), 0),
				    "containerID")),
			    "containerd://abc123");
	json_decref(j);
	free(s);

	p.has_co2e = false;
	p.watts = 1;
	s = kube_writer_pod_json(&p, 1, NULL);
	assert_null(strstr(s, "co2eGrams"));
	free(s);
	p.uid = "";
	assert_null(kube_writer_pod_json(&p, 0, NULL));
}

/* ---- coalescing, thresholds ---------------------------------------------------------------- */

static void test_coalescing(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer *w = wfx_open(fx, NULL);
	struct kube_writer_stats s;
	json_t *j;

	for (int i = 1; i <= 5; i++) {
		struct kw_pod p = mkpod("shop", "redis-0", "uid-1", i, 100.0 * i);
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	}
	kube_writer_stats(w, &s);
	assert_int_equal(s.pods, 1);
	assert_int_equal(kube_writer_run_once(w, NULL), 2); /* create + status */
	assert_int_equal(fx->f.create_calls, 1);
	assert_int_equal(fx->f.status_calls, 1);
	assert_string_equal(fx->f.path, "/apis/wattlet.dev/v1alpha1/namespaces/shop/podenergies/"
				    "redis-0/status?fieldManager=wattlet&force=true");
	j = json_loads(fx->f.sbody, 0, NULL);
	assert_float_equal(jnum(j, "status.watts"), 5, 1e-9); /* only the newest */
	assert_float_equal(jnum(j, "status.joules"), 500, 1e-9);
	json_decref(j);
	/* nothing more to do: nothing pending */
	assert_int_equal(kube_writer_run_once(w, NULL), 0);
	kube_writer_stats(w, &s);
	assert_int_equal(s.writes_ok, 1);
	assert_int_equal(s.requests, 2);
}

static void test_thresholds(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer *w = wfx_open(fx, NULL);
	struct kube_writer_stats s;
	struct kw_pod p = mkpod("shop", "web-0", "uid-w", 10.0, 100000.0);
	uint64_t next = 0;

	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 2);

	/* a big change before the interval is up waits for it */
	fx->c.t += 30 * S_NS;
	p.watts = 20;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, &next), 0);
	assert_int_equal(next, 30000);

	/* interval up, change below max(0.1 W, 5 %) and joules +0.5 %: skipped */
	fx->c.t += 31 * S_NS;
	p.watts = 10.4;
	p.joules = 100500;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 0);
	kube_writer_stats(w, &s);
	assert_int_equal(s.skipped_unchanged, 1); /* once per interval, not per look */

	/* watts beyond 5 %: written (status only, the object exists) */
	p.watts = 10.6;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	assert_int_equal(fx->f.create_calls, 1);

	/* joules +1.5 % after the interval: written */
	fx->c.t += 61 * S_NS;
	p.joules = 100500 * 1.015;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);

	/* small watts near zero: the 0.1 W floor */
	fx->c.t += 61 * S_NS;
	p.watts = 10.6 + 0.09 * 0; /* unchanged */
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 0);

	/* a text change (another PowerModel) is a change */
	p.model = "xeon-ratio";
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);

	/* unchanged for 10 intervals: written anyway, once */
	for (int i = 0; i < 9; i++) {
		fx->c.t += 60 * S_NS;
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
		assert_int_equal(kube_writer_run_once(w, NULL), 0);
	}
	fx->c.t += 61 * S_NS;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	kube_writer_stats(w, &s);
	assert_int_equal(s.writes_ok, 5);

	/* the pod's own interval (EnergyPolicy updateInterval) */
	p.interval_s = 10;
	p.watts = 50;
	fx->c.t += 11 * S_NS;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
}

static void test_threshold_options(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer_opts o = { 0 };
	struct kube_writer *w;
	struct kw_pod p = mkpod("shop", "web-0", "uid-w", 10.0, 100000.0);
	o.rel_dwatts = 0.5; /* 50 % */
	w = wfx_open(fx, &o);
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	fx->c.t += 61 * S_NS;
	p.watts = 14; /* +40 %: below 50 % */
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 0);
	p.watts = 16;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
}

/* ---- cap, forget ------------------------------------------------------------------------ */

static void test_cap_and_forget(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer_opts o = { 0 };
	struct kube_writer *w;
	struct kube_writer_stats s;
	char name[32], uid[32];
	o.max_pods = 8;
	o.burst = 100;
	w = wfx_open(fx, &o);
	for (int i = 0; i < 10; i++) {
		struct kw_pod p;
		snprintf(name, sizeof(name), "p%d", i);
		snprintf(uid, sizeof(uid), "u%d", i);
		p = mkpod("ns", name, uid, 1, 1);
		assert_int_equal(kube_writer_offer_pod(w, &p), i < 8 ? 0 : -ENOSPC);
	}
	/* an existing pod still gets its newer snapshots */
	{
		struct kw_pod p = mkpod("ns", "p3", "u3", 2, 2);
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	}
	kube_writer_stats(w, &s);
	assert_int_equal(s.pods, 8);
	assert_int_equal(s.dropped_cap, 2);
	/* forgotten pods are dropped from the queue and make room */
	for (int i = 0; i < 8; i += 2) {
		snprintf(uid, sizeof(uid), "u%d", i);
		assert_int_equal(kube_writer_forget_pod(w, uid), 0);
	}
	assert_int_equal(kube_writer_forget_pod(w, "u0"), -ENOENT);
	/* the others are all still findable (backward-shift deletion kept the probes) */
	for (int i = 1; i < 8; i += 2) {
		struct kw_pod p;
		snprintf(name, sizeof(name), "p%d", i);
		snprintf(uid, sizeof(uid), "u%d", i);
		p = mkpod("ns", name, uid, 3, 3);
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	}
	kube_writer_stats(w, &s);
	assert_int_equal(s.pods, 4);
	assert_int_equal(kube_writer_run_once(w, NULL), 8);
	assert_int_equal(fx->f.create_calls, 4);
	assert_null(strstr(fx->f.body, "\"p0\""));
	{
		struct kw_pod bad = mkpod("ns", "x", "", 1, 1);
		assert_int_equal(kube_writer_offer_pod(w, &bad), -EINVAL);
	}
}

/* ---- rate limit ---------------------------------------------------------------------------- */

static void test_rate_limit(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer *w = wfx_open(fx, NULL); /* 5/s, burst 10 */
	struct kube_writer_stats s;
	uint64_t next = 0;
	char name[32];
	int total = 0;

	for (int i = 0; i < 30; i++) {
		struct kw_pod p;
		snprintf(name, sizeof(name), "p%d", i);
		p = mkpod("ns", name, name, 1, 1);
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	}
	total += kube_writer_run_once(w, &next);
	assert_int_equal(total, 10); /* the burst: 5 pods, create + status each */
	assert_true(next >= 400 && next <= 401); /* 2 tokens at 5/s */
	kube_writer_stats(w, &s);
	assert_int_equal(s.rate_limited, 1);
	assert_int_equal(kube_writer_run_once(w, NULL), 0);
	kube_writer_stats(w, &s);
	assert_int_equal(s.rate_limited, 1); /* the same wait */
	fx->c.t += 400 * 1000000ull;
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	/* 10 more seconds: 50 more requests at most */
	for (int i = 0; i < 10; i++) {
		fx->c.t += S_NS;
		total += kube_writer_run_once(w, NULL);
	}
	assert_int_equal(total, 10 + 48); /* 2 went at 0.4 s, 50 tokens less those 2 */
	kube_writer_stats(w, &s);
	assert_int_equal(s.writes_ok, 30);
	assert_true(s.rate_limited >= 2);
}

/* ---- backoff ------------------------------------------------------------------------------ */

static void test_backoff(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer_opts o = { 0 };
	struct kube_writer *w;
	struct kube_writer_stats s;
	uint64_t next = 0, prev = 0;
	json_t *j;
	o.backoff_base_ms = 1000;
	o.backoff_max_ms = 8000;
	o.burst = 1000;
	o.rate_per_s = 1000;
	w = wfx_open(fx, &o);
	fx->f.rc = ECONNREFUSED;
	for (int i = 0; i < 6; i++) {
		struct kw_pod p = mkpod("ns", "p", "u", 1 + i, 10 + i);
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
		assert_int_equal(kube_writer_run_once(w, &next), 1);
		/* backed off: nothing until the delay is over; delays grow, bounded */
		assert_int_equal(kube_writer_run_once(w, &next), 0);
		if (!(next >= 500 && next <= 8000))
			fprintf(stderr, "i=%d next=%llu\n", i, (unsigned long long)next);
		assert_true(next >= 500 && next <= 8000);
		if (i >= 4)
			assert_true(next >= 4000);
		assert_true(i == 0 || next + 1 >= prev / 2);
		prev = next;
		kube_writer_stats(w, &s);
		assert_true(s.backing_off);
		assert_int_equal(s.pods, 1); /* only the newest snapshot, never grows */
		fx->c.t += next * 1000000ull;
	}
	kube_writer_stats(w, &s);
	assert_int_equal(s.transport_errors, 6);
	assert_int_equal(s.writes_failed, 6);
	assert_non_null(strstr(s.last_error, "connection refused"));
	/* API back: the newest snapshot is written, the backoff resets */
	fx->f.rc = 0;
	{
		struct kw_pod p = mkpod("ns", "p", "u", 42, 420);
		assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	}
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	j = json_loads(fx->f.sbody, 0, NULL);
	assert_float_equal(jnum(j, "status.watts"), 42, 1e-9);
	json_decref(j);
	kube_writer_stats(w, &s);
	assert_false(s.backing_off);
	assert_int_equal(s.writes_ok, 1);
}

static void test_invalid_not_retried(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer *w = wfx_open(fx, NULL);
	struct kube_writer_stats s;
	struct kw_pod p = mkpod("ns", "p", "u", 1, 1);
	fx->f.status = 422;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	kube_writer_stats(w, &s);
	assert_int_equal(s.invalid, 1);
	assert_false(s.backing_off);
	assert_non_null(strstr(s.last_error, "Too long"));
	/* a newer snapshot is not sent before the interval */
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 0);
	fx->c.t += 61 * S_NS;
	fx->f.status = 0;
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
}

/* ---- node and events ---------------------------------------------------------------------- */

static void test_node_and_events(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer *w = wfx_open(fx, NULL);
	struct kube_writer_stats s;
	struct kw_node n = mknode(52.3);
	struct kw_event ev = { "wattlet.dev/v1alpha1", "PowerModel", NULL, "bad-model", "u-pm",
			       "InvalidModel", "zone gpu: idleWatts is negative", "Warning" };
	json_t *j;

	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	assert_int_equal(kube_writer_event(w, &ev), 0);
	assert_int_equal(kube_writer_event(w, &ev), -EALREADY); /* same object + reason */
	assert_int_equal(kube_writer_run_once(w, NULL), 3);
	assert_int_equal(fx->f.event_calls, 1);
	assert_string_equal(fx->f.path, "/apis/wattlet.dev/v1alpha1/nodeenergies/node-1/status"
				    "?fieldManager=wattlet&force=true");
	j = json_loads(fx->f.sbody, 0, NULL);
	assert_float_equal(jnum(j, "status.watts"), 52.3, 1e-9);
	assert_float_equal(jnum(j, "status.validation.nodeDeviationPercent"), -0.3, 1e-9);
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "status"),
							 "conditions")),
			 2);
	json_decref(j);
	/* 30 s node interval; 1 W of 52 is below 5 % */
	fx->c.t += 31 * S_NS;
	n.watts = 53.3;
	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 0);
	n.watts = 60;
	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	/* after the gap the event may go again; a full queue drops */
	fx->c.t += 61 * S_NS;
	assert_int_equal(kube_writer_event(w, &ev), 0);
	for (int i = 0; i < 15; i++) {
		char r[32];
		ev.reason = r;
		snprintf(r, sizeof(r), "Reason%d", i);
		assert_int_equal(kube_writer_event(w, &ev), 0);
	}
	ev.reason = "OneTooMany";
	assert_int_equal(kube_writer_event(w, &ev), -ENOSPC);
	kube_writer_stats(w, &s);
	assert_int_equal(s.events_dropped, 1);
	assert_int_equal(s.events_suppressed, 1);
	assert_int_equal(kube_writer_run_once(w, NULL), 10); /* the burst */
}


/* ---- failures by resource and reason; what a meterless node sends (issue 19) -------- */

static void test_failure_reasons(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer *w = wfx_open(fx, NULL);
	struct kube_writer_stats s;
	struct kw_pod p = mkpod("ns", "p", "u", 1, 1);
	struct kw_node n = mknode(10);

	/* the Status body's reason wins; else the HTTP status; no answer: NoResponse */
	assert_int_equal(kube_writer_reason_of(409, "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\"}", 0),
			 KW_REASON_CONFLICT);
	assert_int_equal(kube_writer_reason_of(422, "{\"kind\":\"Status\",\"reason\":\"Invalid\"}", 0),
			 KW_REASON_INVALID);
	assert_int_equal(kube_writer_reason_of(504, "{\"reason\":\"ServerTimeout\"}", 0),
			 KW_REASON_TIMEOUT);
	assert_int_equal(kube_writer_reason_of(403, "not json", 0), KW_REASON_FORBIDDEN);
	assert_int_equal(kube_writer_reason_of(418, "{\"reason\":\"Teapot\"}", 0), KW_REASON_OTHER);
	assert_int_equal(kube_writer_reason_of(0, NULL, -ECONNREFUSED), KW_REASON_NORESPONSE);
	assert_int_equal(kube_writer_reason_of(0, NULL, -ETIMEDOUT), KW_REASON_TIMEOUT);
	assert_string_equal(kube_writer_reason_name(KW_REASON_INVALID), "Invalid");
	assert_string_equal(kube_writer_resource_name(KW_RES_NODEENERGIES), "nodeenergies");

	/* 403 on the PodEnergy (RBAC), then 422 on the NodeEnergy */
	fx->f.status = 403;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	kube_writer_stats(w, &s);
	assert_int_equal(s.failures[KW_RES_PODENERGIES][KW_REASON_FORBIDDEN], 1);
	assert_int_equal(s.last_resource, KW_RES_PODENERGIES);
	assert_int_equal(s.last_reason, KW_REASON_FORBIDDEN);
	assert_true(s.last_error_real_ns > 0);
	fx->f.status = 422;
	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	kube_writer_stats(w, &s);
	assert_int_equal(s.failures[KW_RES_NODEENERGIES][KW_REASON_INVALID], 1);
	assert_int_equal(s.node_writes_failed, 1);
	assert_int_equal(s.last_reason, KW_REASON_INVALID);
	assert_non_null(strstr(s.last_error, "NodeEnergy"));
	assert_non_null(strstr(s.last_error, "Too long"));
	/* the next NodeEnergy status carries the failures (status.writeErrors) */
	fx->f.status = 0;
	fx->c.t += 31 * S_NS;
	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 2); /* create + status */
	{
		json_t *j = json_loads(fx->f.sbody, 0, NULL);
		json_t *we = json_object_get(json_object_get(j, "status"), "writeErrors");
		assert_non_null(we);
		assert_int_equal(json_integer_value(json_object_get(we, "failedWrites")), 2);
		assert_string_equal(json_string_value(json_object_get(we, "lastReason")), "Invalid");
		assert_string_equal(json_string_value(json_object_get(we, "lastResource")),
				    "nodeenergies");
		assert_non_null(strstr(json_string_value(json_object_get(we, "lastMessage")),
				       "Too long"));
		assert_non_null(json_string_value(json_object_get(we, "lastTime")));
		json_decref(j);
	}
	/* no answer at all */
	fx->f.rc = -ECONNREFUSED;
	fx->c.t += 200 * S_NS;
	{
		struct kw_pod q = mkpod("ns", "q", "u-q", 1, 1);
		assert_int_equal(kube_writer_offer_pod(w, &q), 0);
	}
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	kube_writer_stats(w, &s);
	assert_int_equal(s.failures[KW_RES_PODENERGIES][KW_REASON_NORESPONSE], 1);
}

/* A node without a meter: the agent's status once named meter kind "none", which the
 * CRD's enum refuses, and the whole status write failed with 422 (issue 19). The writer
 * leaves such a meter out (counted) and writes the rest, with the energy source. */
static void test_node_without_meter_json(void **st)
{
	static const struct kw_meter M[] = { { "none", false, "no energy meter" },
					     { "powercap", false, "/sys/class/powercap does not exist" } };
	struct kw_node n = mknode(0);
	struct kw_pod p = mkpod("ns", "p", "u", 0, 0);
	json_t *j, *x, *m;
	char *b;
	(void)st;

	n.meters = M;
	n.n_meters = 2;
	n.energy_source = "none";
	b = kube_writer_node_json(&n, 1);
	assert_non_null(b);
	j = json_loads(b, 0, NULL);
	x = json_object_get(j, "status");
	m = json_object_get(x, "meters");
	assert_int_equal(json_array_size(m), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "kind")),
			    "powercap");
	assert_false(json_is_true(json_object_get(json_array_get(m, 0), "inUse")));
	assert_string_equal(json_string_value(json_object_get(x, "energySource")), "none");
	json_decref(j);
	free(b);
	/* an estimated model: its zones; an unknown source is left out */
	n.energy_source = "model";
	n.estimated_zones = (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM);
	b = kube_writer_node_json(&n, 1);
	j = json_loads(b, 0, NULL);
	x = json_object_get(json_object_get(j, "status"), "model");
	assert_int_equal(json_array_size(json_object_get(x, "estimatedZones")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(x, "estimatedZones"), 1)),
			    "dram");
	json_decref(j);
	free(b);
	n.energy_source = "guess";
	b = kube_writer_node_json(&n, 1);
	assert_null(strstr(b, "energySource"));
	free(b);

	p.energy_source = "none";
	b = kube_writer_pod_json(&p, 1, NULL);
	j = json_loads(b, 0, NULL);
	assert_string_equal(jpath_str(j, "status.energySource"), "none");
	json_decref(j);
	free(b);
}

/* NVML and Redfish are listed among the meters (docs/redfish.md): a stale BMC with
 * inUse false and why. */
static void test_node_sources_json(void **st)
{
	static const struct kw_meter M[] = {
		{ "powercap", true, "package-0" },
		{ "nvml", true, "2 GPUs" },
		{ "redfish", false, "STALE: no reading within redfish.stale_after (30 s)" } };
	struct kw_node n = mknode(0);
	json_t *j, *m;
	char *b;
	(void)st;

	n.meters = M;
	n.n_meters = 3;
	b = kube_writer_node_json(&n, 1);
	assert_non_null(b);
	j = json_loads(b, 0, NULL);
	m = json_object_get(json_object_get(j, "status"), "meters");
	assert_int_equal(json_array_size(m), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 1), "kind")), "nvml");
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 2), "kind")),
			    "redfish");
	assert_false(json_is_true(json_object_get(json_array_get(m, 2), "inUse")));
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(m, 2), "reason")),
			       "STALE"));
	json_decref(j);
	free(b);
}

/* ---- budget annotation ------------------------------------------------------------------ */

static const char *annotation_of(json_t *j)
{
	return json_string_value(json_object_get(
		json_object_get(json_object_get(j, "metadata"), "annotations"), KW_BUDGET_ANNOTATION));
}

static void test_budget_annotation(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer *w = wfx_open(fx, NULL);
	struct kw_pod p = mkpod("shop", "redis-0", "uid-1", 4.2, 1234.5);
	char *b;
	json_t *j;

	/* the body: metadata.annotations only while over budget */
	p.budget_annotation = "daily=3600000J/86400s,hourly=150000J/3600s";
	b = kube_writer_pod_json(&p, 0, NULL);
	j = json_loads(b, 0, NULL);
	assert_string_equal(annotation_of(j), "daily=3600000J/86400s,hourly=150000J/3600s");
	/* still the owner reference and labels */
	assert_non_null(json_object_get(json_object_get(j, "metadata"), "ownerReferences"));
	json_decref(j);
	free(b);
	p.budget_annotation = "";
	b = kube_writer_pod_json(&p, 0, NULL);
	j = json_loads(b, 0, NULL);
	assert_null(json_object_get(json_object_get(j, "metadata"), "annotations"));
	json_decref(j);
	free(b);

	/* created without; then over budget: metadata is applied again, with it */
	p.budget_annotation = NULL;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	assert_int_equal(fx->f.create_calls, 1);
	fx->c.t += 61 * S_NS;
	p.budget_annotation = "daily=3600000J/86400s";
	assert_int_equal(kube_writer_offer_pod(w, &p), 0); /* watts/joules unchanged */
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	assert_int_equal(fx->f.create_calls, 2);
	/* unchanged annotation: only the status is written at the next interval */
	fx->c.t += 61 * S_NS;
	p.joules *= 2;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	assert_int_equal(fx->f.create_calls, 2);
	/* back under budget: applied once more, without the annotation (apply removes it) */
	fx->c.t += 61 * S_NS;
	p.budget_annotation = NULL;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	assert_int_equal(fx->f.create_calls, 3);
}

/* The metadata bodies the fake saw, in order: checks the annotation of each apply. */
static int meta_send(void *ud, const char *method, const char *path, const char *body,
		     const char *ct, long *status, struct wl_err *e)
{
	char **seen = ud;
	(void)method;
	(void)ct;
	(void)e;
	if (!strstr(path, "/status?")) {
		for (int i = 0; i < 4; i++)
			if (!seen[i]) {
				seen[i] = strdup(body);
				break;
			}
	}
	*status = 200;
	return 0;
}

static void test_budget_annotation_bodies(void **st)
{
	char *seen[4] = { 0 };
	struct fclock c = { 1000 * S_NS };
	struct kube_writer *w = fixture_kw_new(meta_send, seen, &c, NULL);
	struct kw_pod p = mkpod("shop", "redis-0", "uid-1", 4.2, 1234.5);
	json_t *j;
	(void)st;

	p.budget_annotation = "tiny=1J/60s";
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	c.t += 61 * S_NS;
	p.budget_annotation = NULL;
	assert_int_equal(kube_writer_offer_pod(w, &p), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	assert_non_null(seen[0]);
	assert_non_null(seen[1]);
	assert_null(seen[2]);
	j = json_loads(seen[0], 0, NULL);
	assert_string_equal(annotation_of(j), "tiny=1J/60s");
	json_decref(j);
	j = json_loads(seen[1], 0, NULL);
	assert_null(annotation_of(j));
	assert_string_equal(jpath_str(j, "spec.podUID"), "uid-1");
	json_decref(j);
	for (int i = 0; i < 4; i++)
		free(seen[i]);
	kube_writer_free(w);
}

/* ---- generic status applies (EnergyPolicy) --------------------------------------------------- */

#define EP_PATH "/apis/wattlet.dev/v1alpha1/namespaces/shop/energypolicies/default/status"
#define EP2_PATH "/apis/wattlet.dev/v1alpha1/namespaces/shop/energypolicies/other/status"

static void test_offer_status(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer_opts o = { 0 };
	struct kube_writer *w;
	struct kube_writer_stats s;
	char fm[200];

	o.burst = 2;
	o.rate_per_s = 1;
	o.max_applies = 3;
	w = wfx_open(fx, &o);
	/* coalescing per key: only the newest body of a key goes, in its first turn */
	assert_int_equal(kube_writer_offer_status(w, "u1/node", EP_PATH, "wattlet-node-1",
						  "{\"v\":1}"), 0);
	assert_int_equal(kube_writer_offer_status(w, "u1/sum", EP_PATH, NULL, "{\"v\":2}"), 0);
	assert_int_equal(kube_writer_offer_status(w, "u1/node", EP_PATH, "wattlet-node-1",
						  "{\"v\":3}"), 0);
	assert_int_equal(kube_writer_offer_status(w, "u2/sum", EP2_PATH, NULL, "{\"v\":4}"), 0);
	kube_writer_stats(w, &s);
	assert_int_equal(s.applies_pending, 3);
	/* a fourth key: over max_applies */
	assert_int_equal(kube_writer_offer_status(w, "u3/sum", EP2_PATH, NULL, "{}"), -ENOSPC);
	/* the same token bucket as everything else: 2 now, the third waits */
	assert_int_equal(kube_writer_run_once(w, NULL), 2);
	assert_int_equal(fx->f.apply_calls, 2);
	assert_string_equal(fx->f.apaths[0], EP_PATH "?fieldManager=wattlet-node-1&force=true");
	assert_string_equal(fx->f.abodies[0], "{\"v\":3}");
	assert_string_equal(fx->f.apaths[1], EP_PATH "?fieldManager=wattlet&force=true");
	assert_string_equal(fx->f.abodies[1], "{\"v\":2}");
	kube_writer_stats(w, &s);
	assert_int_equal(s.rate_limited, 1);
	assert_int_equal(s.applies_ok, 2);
	assert_int_equal(s.applies_pending, 1);
	assert_int_equal(s.applies_dropped, 1);
	fx->c.t += S_NS;
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	assert_string_equal(fx->f.apaths[2], EP2_PATH "?fieldManager=wattlet&force=true");
	assert_string_equal(fx->f.abodies[2], "{\"v\":4}");
	assert_int_equal(kube_writer_run_once(w, NULL), 0); /* nothing pending */

	/* transport error: backs off, keeps the body for the retry... */
	fx->c.t += 10 * S_NS;
	fx->f.rc = -ECONNREFUSED;
	assert_int_equal(kube_writer_offer_status(w, "u1/sum", EP_PATH, NULL, "{\"v\":5}"), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	kube_writer_stats(w, &s);
	assert_true(s.backing_off);
	assert_int_equal(s.applies_failed, 1);
	assert_int_equal(s.applies_pending, 1);
	/* ...unless a newer one comes: that one is sent */
	assert_int_equal(kube_writer_offer_status(w, "u1/sum", EP_PATH, NULL, "{\"v\":6}"), 0);
	fx->f.rc = 0;
	fx->c.t += 120 * S_NS;
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	assert_string_equal(fx->f.abodies[4], "{\"v\":6}");
	/* 404 (policy deleted) drops it */
	fx->f.status = 404;
	assert_int_equal(kube_writer_offer_status(w, "u1/sum", EP_PATH, NULL, "{\"v\":7}"), 0);
	assert_int_equal(kube_writer_run_once(w, NULL), 1);
	kube_writer_stats(w, &s);
	assert_int_equal(s.applies_pending, 0);
	assert_int_equal(s.not_found, 1);
	assert_false(s.backing_off);
	fx->f.status = 0;

	/* bad arguments */
	assert_int_equal(kube_writer_offer_status(w, "k", "no-slash", NULL, "{}"), -EINVAL);
	assert_int_equal(kube_writer_offer_status(w, "k", EP_PATH "?x=1", NULL, "{}"), -EINVAL);
	assert_int_equal(kube_writer_offer_status(w, "", EP_PATH, NULL, "{}"), -EINVAL);
	assert_int_equal(kube_writer_offer_status(w, "k", EP_PATH, NULL, ""), -EINVAL);
	memset(fm, 'm', 129);
	fm[129] = '\0';
	assert_int_equal(kube_writer_offer_status(w, "k", EP_PATH, fm, "{}"), -EINVAL);
	fm[128] = '\0';
	assert_int_equal(kube_writer_offer_status(w, "k", EP_PATH, fm, "{}"), 0);
}

/* ---- the write rate at the defaults -------------------------------------------------------- */

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double urand(uint64_t *s)
{
	return (double)(xs(s) >> 11) / 9007199254740992.0;
}

/* 100 pods on one node, 1 s ticks, for 3 simulated hours. Watts: a third steady
 * (1 % noise), a third moderate (5 % noise, slow drift), a third busy (bursty, 20 %
 * noise, load changes every few minutes); the daemon's watts are 60 s averages, so the
 * offered value is a moving average of the instantaneous one. */
static void test_write_rate_100_pods(void **st)
{
	struct wfx *fx = *st;
	struct kube_writer *w = wfx_open(fx, NULL);
	struct kube_writer_stats s;
	enum { NP = 100, HOURS = 3 };
	double base[NP], avg[NP], joules[NP];
	char names[NP][16];
	uint64_t rng = 88172645463325252ull;
	uint64_t ok_h[HOURS] = { 0 }, prev_ok = 0;

	for (int i = 0; i < NP; i++) {
		snprintf(names[i], sizeof(names[i]), "pod-%d", i);
		base[i] = 0.5 + 19.5 * urand(&rng);
		avg[i] = base[i];
		joules[i] = 0;
	}
	for (int t = 0; t < HOURS * 3600; t++) {
		fx->c.t += S_NS;
		for (int i = 0; i < NP; i++) {
			double noise = i % 3 == 0 ? 0.01 : i % 3 == 1 ? 0.05 : 0.20;
			double inst;
			struct kw_pod p;
			if (i % 3 == 2 && urand(&rng) < 1.0 / 300) /* load change */
				base[i] = 0.5 + 19.5 * urand(&rng);
			if (i % 3 == 1)
				base[i] *= 1 + 0.002 * (urand(&rng) - 0.5);
			inst = base[i] * (1 + noise * (2 * urand(&rng) - 1));
			avg[i] += (inst - avg[i]) / 60.0;
			joules[i] += inst;
			p = mkpod("bench", names[i], names[i], avg[i], joules[i]);
			assert_int_equal(kube_writer_offer_pod(w, &p), 0);
		}
		kube_writer_run_once(w, NULL);
		if ((t + 1) % 3600 == 0) {
			kube_writer_stats(w, &s);
			ok_h[t / 3600] = s.writes_ok - prev_ok;
			prev_ok = s.writes_ok;
		}
	}
	kube_writer_stats(w, &s);
	printf("write rate, 100 pods, defaults: hour 1 %.3f writes/s, hour 2 %.3f, hour 3 %.3f; "
	       "requests %llu over %d h = %.3f/s; skipped %llu, rate-limited waits %llu\n",
	       ok_h[0] / 3600.0, ok_h[1] / 3600.0, ok_h[2] / 3600.0,
	       (unsigned long long)s.requests, HOURS, s.requests / (HOURS * 3600.0),
	       (unsigned long long)s.skipped_unchanged, (unsigned long long)s.rate_limited);
	/* bounds: at most one write per pod per interval, at least one per 10 intervals */
	for (int h = 0; h < HOURS; h++) {
		assert_true(ok_h[h] <= NP * 60 + NP);
		assert_true(ok_h[h] >= NP * 6);
	}
}

int main(void)
{
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_pod_json),
		WL_TEST_FIXTURE(test_coalescing),
		WL_TEST_FIXTURE(test_thresholds),
		WL_TEST_FIXTURE(test_threshold_options),
		WL_TEST_FIXTURE(test_cap_and_forget),
		WL_TEST_FIXTURE(test_rate_limit),
		WL_TEST_FIXTURE(test_backoff),
		WL_TEST_FIXTURE(test_invalid_not_retried),
		WL_TEST_FIXTURE(test_node_and_events),
		WL_TEST_FIXTURE(test_budget_annotation),
		cmocka_unit_test(test_budget_annotation_bodies),
		WL_TEST_FIXTURE(test_offer_status),
		WL_TEST_FIXTURE(test_write_rate_100_pods),
		WL_TEST_FIXTURE(test_failure_reasons),
		cmocka_unit_test(test_node_without_meter_json),
		cmocka_unit_test(test_node_sources_json),
	};
	return cmocka_run_group_tests_name("kube_writer", unit, NULL, NULL);
}
