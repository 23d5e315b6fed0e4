/* test_whole_total.c - the whole-machine total across zones (agent/export/export.h):
 * zone platform alone when its reading already holds the GPUs (a BMC over Redfish, an
 * ACPI power meter), platform + gpu when it does not (RAPL psys), package + dram + gpu
 * when there is no platform zone. What the platform's source covers comes from the meter
 * (meter_delta.platform_whole: an ACPI power meter yes, RAPL psys no; the Redfish stage
 * sets it for the BMC) and travels from the tick (ledger_tick.platform_whole) through the
 * ledger's node to /api/v1/workloads. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "testmain.h"

#include <jansson.h>

#include "agent/export/export.h"
#include "agent/ledger/apply.h"
#include "test/unit/fixture_meter.h" /* SEC, BIT(), the meter fixture trees */

#define CPU_ZONES (BIT(ZONE_PACKAGE) | BIT(ZONE_CORE) | BIT(ZONE_DRAM))
#define GPU_JOB "/gpu-job.scope"

/* The node's energy per zone over a 10 s tick, J {dynamic, idle}; watts are these / 10.
 * A zone outside a case's mask holds none. */
static const double node_j[ZONE_COUNT][MODE_COUNT] = {
	[ZONE_PACKAGE] = { 30, 10 }, [ZONE_CORE] = { 20, 0 },       [ZONE_UNCORE] = { 1, 0 },
	[ZONE_DRAM] = { 5, 1 },      [ZONE_PLATFORM] = { 120, 60 }, [ZONE_GPU] = { 250, 50 },
};

static const struct whole_case {
	const char *what;
	uint32_t zones;      /* zones measured: the node's zone_mask */
	bool platform_whole; /* the platform's source holds the GPUs */
	double want_j;       /* the whole total, dynamic + idle */
	double want_dyn_j;   /* its dynamic part */
} cases[] = {
	{ "RAPL psys platform + gpu: platform + gpu",
	  CPU_ZONES | BIT(ZONE_PLATFORM) | BIT(ZONE_GPU), false, 180 + 300, 120 + 250 },
	{ "BMC platform + gpu: platform alone (it holds the GPUs)",
	  CPU_ZONES | BIT(ZONE_PLATFORM) | BIT(ZONE_GPU), true, 180, 120 },
	{ "BMC platform without gpu: platform", CPU_ZONES | BIT(ZONE_PLATFORM), true, 180, 120 },
	{ "RAPL psys platform without gpu: platform", CPU_ZONES | BIT(ZONE_PLATFORM), false, 180,
	  120 },
	{ "no platform: package + dram + gpu", CPU_ZONES | BIT(ZONE_UNCORE) | BIT(ZONE_GPU), false,
	  40 + 6 + 300, 30 + 5 + 250 },
	{ "no platform, the flag left set: still package + dram + gpu", CPU_ZONES | BIT(ZONE_GPU),
	  true, 40 + 6 + 300, 30 + 5 + 250 },
	{ "gpu alone (NVML, no meter): gpu", BIT(ZONE_GPU), false, 300, 250 },
};

static void assert_near(double got, double want, const char *what, const char *which)
{
	if (got < want - 1e-9 || got > want + 1e-9)
		fail_msg("%s: %s %.9f, want %.9f", what, which, got, want);
}

static void test_whole_total_rule(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct whole_case *c = &cases[i];
		struct ledger_node n = { .zone_mask = c->zones, .platform_whole = c->platform_whole };
		bool flag = c->platform_whole && (c->zones & BIT(ZONE_PLATFORM));
		uint64_t uj;
		uint32_t zones;

		for (int z = 0; z < ZONE_COUNT; z++)
			for (int md = 0; md < MODE_COUNT && (c->zones & BIT(z)); md++) {
				n.uj[z][md] = (uint64_t)(node_j[z][md] * 1e6);
				n.watts[z][md] = node_j[z][md] / 10;
			}
		zones = export_zones_present(&n);
		/* the zones shown stay the measured ones; the flag only with a platform zone */
		if ((zones & (BIT(ZONE_COUNT) - 1)) != c->zones ||
		    !(zones & EXPORT_ZONES_PLATFORM_WHOLE) != !flag)
			fail_msg("%s: zones present 0x%" PRIx32 ", want 0x%" PRIx32 " %s the flag",
				 c->what, zones, c->zones, flag ? "with" : "without");
		uj = export_total_uj(n.uj, zones);
		if (uj != (uint64_t)(c->want_j * 1e6))
			fail_msg("%s: total %" PRIu64 " uJ, want %.0f", c->what, uj, c->want_j * 1e6);
		assert_near(export_total_watts(n.watts, zones), c->want_j / 10, c->what, "watts");
		assert_near(export_mode_watts(n.watts, zones, MODE_DYNAMIC), c->want_dyn_j / 10,
			    c->what, "dynamic watts");
		assert_near(export_mode_watts(n.watts, zones, MODE_IDLE),
			    (c->want_j - c->want_dyn_j) / 10, c->what, "idle watts");
	}
}

/* One 1 s tick folded by ledger_apply() and rendered as /api/v1/workloads: GPU_JOB gets
 * platform 70 J + gpu 200 J dynamic, system the idle (platform 30 J, gpu 40 J). Returns
 * the node's and GPU_JOB's "joules"; checks that both zones are still shown. */
static void json_totals(bool platform_whole, double *node_total, double *job_total)
{
	struct usage_entry e = { .id = 100, .path = GPU_JOB, .delta = { [FEAT_CPU_TIME] = SEC / 2 } };
	struct usage_sample us = { .t_ns = 10 * SEC, .dt_ns = SEC, .entries = &e, .n = 1 };
	struct attrib_share sh = { .entry = 0 };
	struct attrib_result res = { .shares = &sh, .n = 1 };
	struct ledger_tick lt = { .usage = &us, .res = &res, .dt_s = 1.0,
				  .zone_mask = BIT(ZONE_PLATFORM) | BIT(ZONE_GPU),
				  .platform_whole = platform_whole };
	struct ledger *l = ledger_new(60 * SEC);
	struct agent_status st = { 0 };
	struct strbuf out;
	json_error_t je;
	json_t *doc;
	const json_t *node, *wls, *job = NULL;

	us.node_delta[FEAT_CPU_TIME] = SEC;
	sh.uj[ZONE_PLATFORM][MODE_DYNAMIC] = 70000000;
	sh.uj[ZONE_GPU][MODE_DYNAMIC] = 200000000;
	res.system_uj[ZONE_PLATFORM][MODE_IDLE] = 30000000;
	res.system_uj[ZONE_GPU][MODE_IDLE] = 40000000;
	res.node_uj[ZONE_PLATFORM][MODE_DYNAMIC] = 70000000;
	res.node_uj[ZONE_PLATFORM][MODE_IDLE] = 30000000;
	res.node_uj[ZONE_GPU][MODE_DYNAMIC] = 200000000;
	res.node_uj[ZONE_GPU][MODE_IDLE] = 40000000;
	assert_non_null(l);
	assert_int_equal(ledger_apply(l, NULL, &lt, NULL), 0);
	assert_int_equal(ledger_node_c(l)->platform_whole, platform_whole);

	strbuf_init(&out, 1u << 20);
	assert_int_equal(export_json_workloads(l, &st, &out), 0);
	doc = json_loads(out.buf, 0, &je);
	if (!doc)
		fail_msg("invalid JSON at line %d: %s", je.line, je.text);
	node = json_object_get(doc, "node");
	assert_non_null(json_object_get(json_object_get(node, "zones"), "platform"));
	assert_non_null(json_object_get(json_object_get(node, "zones"), "gpu"));
	*node_total = json_number_value(json_object_get(node, "joules"));
	wls = json_object_get(doc, "workloads");
	for (size_t i = 0; i < json_array_size(wls); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(wls, i), "workload")),
			   GPU_JOB) == 0)
			job = json_array_get(wls, i);
	assert_non_null(job);
	*job_total = json_number_value(json_object_get(job, "joules"));
	json_decref(doc);
	strbuf_release(&out);
	ledger_free(l);
}

static void test_json_psys_adds_gpu(void **state)
{
	double node, job;

	(void)state;
	json_totals(false, &node, &job);
	assert_near(node, 100 + 240, "RAPL psys platform + gpu", "node joules");
	assert_near(job, 70 + 200, "RAPL psys platform + gpu", "workload joules");
}

static void test_json_bmc_platform_alone(void **state)
{
	double node, job;

	(void)state;
	json_totals(true, &node, &job);
	assert_near(node, 100, "BMC platform + gpu", "node joules");
	assert_near(job, 70, "BMC platform + gpu", "workload joules");
}

/* intel-2s has both: RAPL psys (powercap intel-rapl:2) and an ACPI power meter. */
static void test_meter_says_what_platform_covers(void **state)
{
	static const struct {
		enum meter_kind kind;
		bool whole;
	} kinds[] = { { METER_POWERCAP, false }, { METER_ACPI, true } };

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct fx f;
		struct meter *m = fx_start(&f, "intel-2s", kinds[i].kind);
		struct meter_delta d;

		assert_true(meter_zone_mask(m) & BIT(ZONE_PLATFORM));
		assert_int_equal(meter_read_at(m, T0, &d), 0);
		assert_int_equal(meter_read_at(m, T0 + SEC, &d), 0);
		assert_true(d.zone_mask & BIT(ZONE_PLATFORM));
		if (d.platform_whole != kinds[i].whole)
			fail_msg("%s meter: platform_whole %d, want %d", meter_kind_name(kinds[i].kind),
				 d.platform_whole, kinds[i].whole);
		fx_end(&f, m);
	}
}

WL_TEST_MAIN(cmocka_unit_test(test_whole_total_rule), cmocka_unit_test(test_json_psys_adds_gpu),
	     cmocka_unit_test(test_json_bmc_platform_alone),
	     cmocka_unit_test(test_meter_says_what_platform_covers))
