/* test_owner_display.c - the pod's owner and the display numbers where they are
 * written: PodEnergy status.owner/display and NodeEnergy status.display bodies, the
 * fallback for CRDs older than them (the API server refuses the whole status), and the
 * owner_kind/owner_name labels of /metrics (lean and detail, workloads and pods). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent/export/export.h"
#include "agent/kube/kube_writer.h"
#include "test/unit/fixture_kube_writer.h"
#include "test/unit/fixture_prom.h"

static const char *jstr(const json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

static void test_pod_owner_display(void **st)
{
	struct kw_pod p = mkpod("shop", "web-7d9f8b6c5d-x2k4p", "uid-1", 10.6186763344,
				26.622378);
	json_t *j, *x;
	char *s;
	(void)st;

	p.co2e_grams = 0.00118096177778;
	p.owner_kind = "Deployment";
	p.owner_name = "web";
	s = kube_writer_pod_json(&p, 1, NULL);
	assert_non_null(s);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	x = json_object_get(j, "status");
	assert_string_equal(jstr(x, "owner", "kind"), "Deployment");
	assert_string_equal(jstr(x, "owner", "name"), "web");
	/* the example row, readable; the numbers keep their precision */
	assert_string_equal(jstr(x, "display", "power"), "10.6 W");
	assert_string_equal(jstr(x, "display", "energy"), "26.6 J");
	assert_string_equal(jstr(x, "display", "co2e"), "1.18 mg");
	assert_string_equal(jstr(x, "display", "dynamicPower"), "7.96 W");
	assert_string_equal(jstr(x, "display", "idlePower"), "2.65 W");
	assert_string_equal(jstr(x, "display", "window"), "1.00 min");
	assert_true(fabs(json_number_value(json_object_get(x, "watts")) - 10.6186763344) < 1e-9);
	json_decref(j);
	free(s);

	/* metadata + spec carry neither; without an owner, no status.owner; a number left
	 * out is left out of display too; without CO2e no display.co2e */
	s = kube_writer_pod_json(&p, 0, NULL);
	assert_null(strstr(s, "owner\":{"));
	assert_null(strstr(s, "display"));
	free(s);
	p.owner_kind = "";
	p.watts = NAN;
	p.has_co2e = false;
	s = kube_writer_pod_json(&p, 1, NULL);
	j = json_loads(s, 0, NULL);
	x = json_object_get(j, "status");
	assert_null(json_object_get(x, "owner"));
	assert_null(jstr(x, "display", "power"));
	assert_null(jstr(x, "display", "co2e"));
	assert_string_equal(jstr(x, "display", "energy"), "26.6 J");
	json_decref(j);
	free(s);
	/* which 2: a CRD older than owner and display */
	p.owner_kind = "Deployment";
	s = kube_writer_pod_json(&p, 2, NULL);
	assert_null(strstr(s, "display"));
	assert_null(strstr(s, "Deployment"));
	assert_non_null(strstr(s, "\"joules\""));
	free(s);
}

static void test_node_display(void **st)
{
	struct kw_node n = { 0 };
	json_t *j;
	char *s;
	(void)st;

	n.name = "node-1";
	n.watts = 87.34567;
	n.joules = 1234567.89;
	s = kube_writer_node_json(&n, 1);
	j = json_loads(s, 0, NULL);
	assert_non_null(j);
	assert_string_equal(jstr(json_object_get(j, "status"), "display", "power"), "87.3 W");
	assert_string_equal(jstr(json_object_get(j, "status"), "display", "energy"), "1.23 MJ");
	json_decref(j);
	free(s);
}

/* An API server with CRDs from before status.owner/display: server-side apply refuses
 * the whole status (500 "field not declared in schema"), PodEnergy and NodeEnergy. */
static void test_outdated_crd(void **st)
{
	struct oldcrd o = { .unknown = { "\"display\"", "\"owner\":{" }, .field = "display" };
	struct fclock c = { 1000 * S_NS };
	struct kube_writer_stats s;
	struct kube_writer *w = oldcrd_writer(&o, &c);
	struct kw_pod p = mkpod("ns", "p0", "p0", 3, 30);
	struct kw_node n = { 0 };
	(void)st;

	p.owner_kind = "StatefulSet";
	p.owner_name = "db";
	oldcrd_assert_refused_once(w, &o, &p, &s);
	assert_int_equal(o.pod_ok, 0);
	for (int i = 0; i < 5 && !o.pod_ok; i++) { /* past the backoff */
		c.t += 5 * S_NS;
		kube_writer_run_once(w, NULL);
	}
	assert_int_equal(o.pod_ok, 1);
	/* the NodeEnergy goes without display from the start */
	n.name = "node-1";
	n.watts = 50;
	assert_int_equal(kube_writer_offer_node(w, &n), 0);
	for (int i = 0; i < 5 && !o.node_ok; i++) {
		c.t += 40 * S_NS;
		kube_writer_run_once(w, NULL);
	}
	assert_int_equal(o.node_ok, 1);
	assert_int_equal(o.refused, 1);
	kube_writer_free(w);
}

/* ---- /metrics ----------------------------------------------------------------------- */

#define UID1 "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define UID1_SD "0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0"
#define CID_A "aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111"
#define CID_B "bbbbbbbbbbbb1111111111111111111111111111111111111111111111111111"
#define POD_DIR "/kubepods.slice/kubepods-pod" UID1_SD ".slice"
#define KEY_A POD_DIR "/cri-containerd-" CID_A ".scope"
#define KEY_B POD_DIR "/cri-containerd-" CID_B ".scope"

static void fill(struct ledger_row *r, uint64_t uj)
{
	for (int z = 0; z < ZONE_COUNT; z++) {
		r->uj[z][MODE_DYNAMIC] = uj;
		r->watts[z][MODE_DYNAMIC] = 1;
	}
}

static void test_metrics_owner(void **st)
{
	struct prom_fixture *f = prom_fixture_new();
	struct ledger_row *a, *b, *p, *sys;
	struct export_metrics_opts lean = { 0 }, detail = { .detail = true };
	(void)st;

	prom_status_init(&f->st, "v2");
	f->pods = ledger_new(3600ull * 1000000000ull);
	ledger_node(f->l)->zone_mask = (1u << ZONE_PACKAGE);
	ledger_begin_tick(f->l);
	a = ledger_row_get(f->l, KEY_A);
	b = ledger_row_get(f->l, KEY_B);
	sys = ledger_row_get(f->l, LEDGER_SYSTEM_KEY);
	fill(a, 1000000);
	fill(b, 2000000);
	fill(sys, 5);
	assert_int_equal(ledger_row_set_names(a, "shop", "web-1", "nginx"), 0);
	assert_int_equal(ledger_row_set_owner(a, "Deployment", "web"), 0);
	/* b: named, owner not known: no owner labels; an empty kind is unknown too */
	assert_int_equal(ledger_row_set_names(b, "shop", "web-1", "side\"car"), 0);
	assert_int_equal(ledger_row_set_owner(b, "", "x"), 0);
	assert_null(b->owner_kind);
	ledger_commit_tick(f->l, 1);
	ledger_begin_tick(f->pods);
	p = ledger_row_get(f->pods, UID1);
	fill(p, 3000000);
	assert_int_equal(ledger_row_set_names(p, "shop", "web-1", NULL), 0);
	assert_int_equal(ledger_row_set_owner(p, "Deployment", "web\\x"), 0); /* escaped */
	ledger_commit_tick(f->pods, 1);
	f->st.pods = f->pods;

	assert_int_equal(export_metrics_render(f->l, &f->st, &lean, &f->out), 0);
	prom_assert_line(f->out.buf,
			 "wattlet_workload_joules_total{workload=\"aaaaaaaaaaaa\","
			 "namespace=\"shop\",pod=\"web-1\",container=\"nginx\","
			 "owner_kind=\"Deployment\",owner_name=\"web\",zone=\"package\"} "
			 "1.000000");
	prom_assert_line(f->out.buf,
			 "wattlet_workload_cpu_seconds_total{workload=\"aaaaaaaaaaaa\","
			 "namespace=\"shop\",pod=\"web-1\",container=\"nginx\","
			 "owner_kind=\"Deployment\",owner_name=\"web\"} 0.000000000");
	prom_assert_line(f->out.buf,
			 "wattlet_workload_joules_total{workload=\"bbbbbbbbbbbb\","
			 "namespace=\"shop\",pod=\"web-1\",container=\"side\\\"car\","
			 "zone=\"package\"} 2.000000");
	prom_assert_line(f->out.buf,
			 "wattlet_pod_joules_total{uid=\"0f1e2d3c\",namespace=\"shop\","
			 "pod=\"web-1\",owner_kind=\"Deployment\","
			 "owner_name=\"web\\\\x\",zone=\"package\"} 3.000000");
	prom_assert_line(f->out.buf,
			 "wattlet_workload_joules_total{workload=\"system\","
			 "zone=\"package\"} 0.000005");
	assert_int_equal(prom_count_samples(f->out.buf, "owner_kind="), 3); /* a: 2, pod: 1 */
	prom_assert_no_duplicates(f->out.buf);
	if (!prom_promtool_check(f->out.buf))
		print_message("promtool not installed: exposition format not checked by it\n");

	strbuf_reset(&f->out);
	assert_int_equal(export_metrics_render(f->l, &f->st, &detail, &f->out), 0);
	prom_assert_line(f->out.buf,
			 "wattlet_workload_watts{workload=\"" KEY_A "\",kind=\"container\","
			 "container_id=\"" CID_A "\",runtime=\"containerd\",pod_uid=\"" UID1
			 "\",namespace=\"shop\",pod=\"web-1\",container=\"nginx\","
			 "owner_kind=\"Deployment\",owner_name=\"web\",zone=\"package\","
			 "mode=\"dynamic\"} 1.000000");
	prom_assert_line(f->out.buf,
			 "wattlet_pod_cpu_seconds_total{namespace=\"shop\",pod=\"web-1\","
			 "pod_uid=\"" UID1 "\",owner_kind=\"Deployment\","
			 "owner_name=\"web\\\\x\"} 0.000000000");
	assert_null(strstr(f->out.buf, "owner_kind=\"\""));
	prom_assert_no_duplicates(f->out.buf);
	if (!prom_promtool_check(f->out.buf))
		print_message("promtool not installed: exposition format not checked by it\n");
	f->st.pods = NULL;
	{
		void *state = f;
		prom_fixture_teardown(&state);
	}
}

WL_TEST_MAIN(
	cmocka_unit_test(test_pod_owner_display),
	cmocka_unit_test(test_node_display),
	cmocka_unit_test(test_outdated_crd),
	cmocka_unit_test(test_metrics_owner))
