/* fixture_kube_writer.h - what the writer's tests share (test_kube_writer.c with an
 * injected clock and transport, test_kube_writer_server.c against tls_server.py): an
 * injected clock, a PodEnergy snapshot with two zones and two containers, a NodeEnergy
 * snapshot, and a number at a dotted path of a JSON body (NAN when absent).
 * Include after <cmocka.h>. */
#ifndef WATTLET_TEST_FIXTURE_KUBE_WRITER_H
#define WATTLET_TEST_FIXTURE_KUBE_WRITER_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "agent/kube/kube_writer.h"

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

static inline double jnum(json_t *o, const char *path)
{
	json_t *v = o;
	char buf[128], *save = NULL, *tok;
	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return v && json_is_number(v) ? json_number_value(v) : NAN;
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

#endif
