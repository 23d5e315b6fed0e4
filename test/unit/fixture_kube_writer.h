/* fixture_kube_writer.h - what the writer's tests share (test_kube_writer.c with an
 * injected clock and transport, test_kube_writer_server.c against tls_server.py): an
 * injected clock, a PodEnergy snapshot with two zones and two containers, a NodeEnergy
 * snapshot, a number at a dotted path of a JSON body (jnum, fixture_jpath.h), a writer on an
 * injected transport and clock (fixture_kw_new), and an API server whose CRDs are older
 * than some status fields (oldcrd_writer); with test_kube_server.h, a writer on its server.
 * Include after <cmocka.h>. */
#ifndef WATTLET_TEST_FIXTURE_KUBE_WRITER_H
#define WATTLET_TEST_FIXTURE_KUBE_WRITER_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "agent/kube/kube_writer.h"
#include "test/unit/fixture_jpath.h"

#define S_NS 1000000000ull

struct fclock {
	uint64_t t;
};

static inline uint64_t fclock_now(void *ud)
{
	return ((struct fclock *)ud)->t;
}

static const struct kw_zone ZONES[] = {
	{ ZONE_PACKAGE, 1000.1, 200.2, 3.0, 1.0 },
	{ ZONE_DRAM, 50.0, 10.0, 0.1, 0.1 },
};
static const struct kw_container CTRS[] = {
	{ "redis", "containerd://abc123", 1200.3, 4.1 },
	{ "sidecar", "containerd://def456", 50.0, 0.1 },
};

static inline struct kw_pod mkpod(const char *ns, const char *name, const char *uid, double watts,
			   double joules)
{
	struct kw_pod p = { 0 };
	p.ns = ns;
	p.name = name;
	p.uid = uid;
	p.node = "node-1";
	p.model = "builtin-ratio";
	p.policy = "shop/default";
	p.last_measured_ns = 1795595400ull * S_NS; /* 2026-11-25T08:30:00Z */
	p.window_s = 60;
	p.watts = watts;
	p.dynamic_watts = watts * 0.75;
	p.idle_watts = watts * 0.25;
	p.joules = joules;
	p.co2e_grams = 0.12;
	p.has_co2e = true;
	p.zones = ZONES;
	p.n_zones = 2;
	p.containers = CTRS;
	p.n_containers = 2;
	return p;
}

static inline struct kw_node mknode(double watts)
{
	static const struct kw_meter M[] = { { "powercap", true, "intel-rapl:0 package-0" },
					     { "msr", false, "not needed" } };
	static const struct kw_node_zone Z[] = { { ZONE_PACKAGE, 30, 20, 1e6, "learned-fit" } };
	static const struct kw_condition C[] = {
		{ "ModelValid", "True", "Loaded", "xeon-ratio", 0 },
		{ "MeterAvailable", "True", "Powercap", "", 0 },
	};
	struct kw_node n = { 0 };
	n.name = "node-1";
	n.meters = M;
	n.n_meters = 2;
	n.usage_source = "ebpf";
	n.model_name = "builtin-ratio";
	n.attribution = "ratio";
	n.watts = watts;
	n.joules = 1.2e6;
	n.zones = Z;
	n.n_zones = 1;
	n.has_validation = true;
	n.validation.time_ns = 1795595400ull * S_NS;
	n.validation.passed = true;
	n.validation.node_deviation_pct = -0.3;
	n.validation.pod_deviation_pct = 2.1;
	n.conditions = C;
	n.n_conditions = 2;
	return n;
}

/* A manual writer (kube_writer_run_once) on kube config kc (NULL: an injected transport
 * in o); o (NULL: the defaults) holds the options. */
static inline struct kube_writer *fixture_kw_manual(struct kube_config *kc,
						    struct kube_writer_opts *o)
{
	struct kube_writer_opts d = { 0 };
	struct wl_err e = { { 0 } };
	struct kube_writer *w;

	if (!o)
		o = &d;
	o->manual = true;
	w = kube_writer_new(kc, o, &e);
	assert_non_null(w);
	return w;
}

/* A manual writer without a kube config: its requests go to send(ud), its clock is c.
 * o (NULL: all defaults) holds the other options; its transport and clock are set here. */
static inline struct kube_writer *fixture_kw_new(kw_send_fn send, void *ud, struct fclock *c,
						 struct kube_writer_opts *o)
{
	struct kube_writer_opts d = { 0 };

	if (!o)
		o = &d;
	o->send = send;
	o->send_ud = ud;
	o->now_ns = fclock_now;
	o->clock_ud = c;
	return fixture_kw_manual(NULL, o);
}

/* An API server with CRDs from before some status fields: server-side apply refuses the
 * whole status (HTTP 500 "field not declared in schema") when a status body holds one of
 * `unknown` (up to 2, NULL after the last); every other request is answered 200. */
struct oldcrd {
	const char *unknown[3];
	const char *field; /* the field the refusal names: ".status.<field>" */
	int refused;	   /* status writes refused */
	int accepted;	   /* status writes accepted: pod_ok + node_ok */
	int pod_ok, node_ok;
};

static inline int oldcrd_send(void *ud, const char *method, const char *path, const char *body,
			      const char *ct, long *status, struct wl_err *e)
{
	struct oldcrd *o = ud;
	(void)method;
	(void)ct;
	*status = 200;
	if (!strstr(path, "/status?"))
		return 0;
	for (const char *const *u = o->unknown; *u; u++) {
		if (strstr(body, *u)) {
			o->refused++;
			*status = 500;
			err_set(e, EIO,
				"HTTP 500: failed to create typed patch object (ns/p0; "
				"wattlet.dev/v1alpha1, Kind=PodEnergy): .status.%s: field not "
				"declared in schema",
				o->field);
			return 0;
		}
	}
	o->accepted++;
	if (strstr(path, "/podenergies/"))
		o->pod_ok++;
	else
		o->node_ok++;
	return 0;
}

/* A manual writer (no kube config, no budget) sending to `o` on the clock `c`. */
static inline struct kube_writer *oldcrd_writer(struct oldcrd *o, struct fclock *c)
{
	return fixture_kw_new(oldcrd_send, o, c, NULL);
}

/* Offers p to w and runs it once: the status is refused once and the writer says the
 * CRD is outdated. Its stats then into *s. */
static inline void oldcrd_assert_refused_once(struct kube_writer *w, const struct oldcrd *o,
					      const struct kw_pod *p, struct kube_writer_stats *s)
{
	assert_int_equal(kube_writer_offer_pod(w, p), 0);
	kube_writer_run_once(w, NULL);
	kube_writer_stats(w, s);
	assert_int_equal(o->refused, 1);
	assert_true(s->crd_outdated);
}

#ifdef TEST_KUBE_SERVER_H
/* With test_kube_server.h (include it first): a manual writer on its test API server, the
 * server's config into *c. o (NULL: the defaults) holds the other options. Freed by
 * fixture_kw_srv_free. */
static inline struct kube_writer *fixture_kw_srv_new(struct kube_config **c,
						     struct kube_writer_opts *o)
{
	*c = tsrv_config(&S, NULL);
	assert_non_null(*c);
	return fixture_kw_manual(*c, o);
}

static inline void fixture_kw_srv_free(struct kube_writer *w, struct kube_config *c)
{
	kube_writer_free(w);
	kube_config_free(c);
}
#endif

#endif
