/* test_export.c - Prometheus and JSON renderings of a ledger built here, checked line
 * by line, by promtool, and by jansson; `wattlet top --once` against a real server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/cli/top.h"
#include "agent/cli/top_group.h"
#include "agent/export/export.h"
#include "agent/export/export_impl.h"
#include "agent/export/http.h"
#include "test/unit/fixture_prom.h"

#define POD_UID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define POD_UID_SD "0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0"
#define CID "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CID2 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define CID3 "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

#define CONTAINER_KEY                                                                    \
	"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD_UID_SD      \
	".slice/cri-containerd-" CID ".scope"
#define POD_KEY "/kubepods/besteffort/pod" POD_UID
#define CRIO_KEY "/kubepods.slice/kubepods-pod" POD_UID_SD ".slice/crio-" CID2 ".scope"
#define CONMON_KEY "/kubepods.slice/kubepods-pod" POD_UID_SD ".slice/crio-conmon-" CID2 ".scope"
#define DOCKER_KEY "/system.slice/docker-" CID3 ".scope"
#define WEIRD_KEY "/system.slice/we\"ird\\na\nme.service"
/* the newline is spelled \x0a (text), whose backslash the format escapes */
#define WEIRD_ESC "/system.slice/we\\\"ird\\\\na\\\\x0ame.service"
#define WEIRD_TEXT "/system.slice/we\"ird\\na\\x0ame.service" /* as a JSON string */

static void promtool_check(const char *text);

static void set_row(struct ledger_row *r, uint64_t pkg_dyn, uint64_t pkg_idle, uint64_t dram_dyn,
		    double w_pkg_dyn, double w_pkg_idle, uint64_t cpu_ns, double cores)
{
	r->uj[ZONE_PACKAGE][MODE_DYNAMIC] = pkg_dyn;
	r->uj[ZONE_PACKAGE][MODE_IDLE] = pkg_idle;
	r->uj[ZONE_DRAM][MODE_DYNAMIC] = dram_dyn;
	r->watts[ZONE_PACKAGE][MODE_DYNAMIC] = w_pkg_dyn;
	r->watts[ZONE_PACKAGE][MODE_IDLE] = w_pkg_idle;
	r->cpu_ns = cpu_ns;
	r->cpu_cores = cores;
}

static int setup(void **state)
{
	struct prom_fixture *f = prom_fixture_new();
	struct ledger_node *n;
	struct ledger_row *r;

	n = ledger_node(f->l);
	n->zone_mask = (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM);

	/* tick 1: everything is live */
	ledger_begin_tick(f->l);
	set_row(ledger_row_get(f->l, LEDGER_SYSTEM_KEY), 1000001, 500000, 7, 2.5, 1.25,
		3000000001ull, 0.5);
	set_row(ledger_row_get(f->l, CONTAINER_KEY), 18446744073000000123ull, 0, 0, 10.0, 0.75,
		1, 1.5);
	set_row(ledger_row_get(f->l, POD_KEY), 2000000, 1, 0, 0.000001, 0, 0, 0);
	set_row(ledger_row_get(f->l, CRIO_KEY), 3000000, 0, 0, 4.0, 0, 0, 0.25);
	set_row(ledger_row_get(f->l, CONMON_KEY), 500000, 0, 0, 0.5, 0, 0, 0.01);
	set_row(ledger_row_get(f->l, DOCKER_KEY), 42000000, 0, 0, 6.0, 0, 0, 1);
	set_row(ledger_row_get(f->l, WEIRD_KEY), 1, 0, 18446744073709551615ull, NAN, INFINITY, 0, NAN);
	ledger_commit_tick(f->l, 1000000000ull);

	/* tick 2: the docker container is gone */
	ledger_begin_tick(f->l);
	static const char *const live[] = {LEDGER_SYSTEM_KEY, CONTAINER_KEY, POD_KEY, CRIO_KEY,
					   CONMON_KEY, WEIRD_KEY};
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		assert_non_null(ledger_row_get(f->l, live[i]));
	ledger_commit_tick(f->l, 2000000000ull);
	r = (struct ledger_row *)ledger_find(f->l, DOCKER_KEY);
	assert_non_null(r);
	assert_true(r->terminated);

	n->uj[ZONE_PACKAGE][MODE_DYNAMIC] = 12000001;
	n->uj[ZONE_PACKAGE][MODE_IDLE] = 3000000;
	n->uj[ZONE_DRAM][MODE_DYNAMIC] = 999;
	n->watts[ZONE_PACKAGE][MODE_DYNAMIC] = 23.5;
	n->watts[ZONE_PACKAGE][MODE_IDLE] = 2.0;
	n->watts[ZONE_DRAM][MODE_IDLE] = 1.0;

	prom_status_init(&f->st, "hybrid");
	f->st.start_time_s = 1700000000;
	f->st.tick_interval_s = 1;
	f->st.idle_watts[ZONE_PACKAGE] = 2.0;
	f->st.idle_source[ZONE_PACKAGE] = "learned";
	f->st.idle_watts[ZONE_DRAM] = 1.0;
	f->st.ticks = 2;
	f->st.tick_seconds_sum = 0.004;
	f->st.meter_errors = 3;
	f->st.self_rss_bytes = 12345678;
	f->st.self_cpu_seconds = 1.5;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	return prom_fixture_teardown(state);
}

/* The exposition of f's ledger and status (with the Kepler names when kepler), rendered
 * anew into f->out. */
static const char *render(struct prom_fixture *f, bool kepler)
{
	strbuf_reset(&f->out);
	assert_int_equal(export_metrics(f->l, &f->st, kepler, &f->out), 0);
	return f->out.buf;
}

static void test_metrics_lines(void **state)
{
	struct prom_fixture *f = *state;
	const char *t = render(f, false);

	prom_assert_line(t, "# TYPE wattlet_node_joules_total counter");
	prom_assert_line(t, "wattlet_node_joules_total{zone=\"package\",mode=\"dynamic\"} 12.000001");
	prom_assert_line(t, "wattlet_node_joules_total{zone=\"package\",mode=\"idle\"} 3.000000");
	prom_assert_line(t, "wattlet_node_joules_total{zone=\"dram\",mode=\"dynamic\"} 0.000999");
	prom_assert_line(t, "wattlet_node_watts{zone=\"package\",mode=\"dynamic\"} 23.500000");
	prom_assert_line(t, "wattlet_node_idle_watts{zone=\"package\",source=\"learned\"} 2.000000");
	prom_assert_line(t, "wattlet_node_idle_watts{zone=\"dram\",source=\"unknown\"} 1.000000");
	/* zones the meter does not measure and that hold no energy are absent */
	assert_null(strstr(t, "zone=\"core\""));
	assert_null(strstr(t, "zone=\"gpu\""));

	prom_assert_line(t, "# TYPE wattlet_workload_joules_total counter");
	prom_assert_line(t, "wattlet_workload_joules_total{workload=\"system\",kind=\"system\","
		       "container_id=\"\",runtime=\"\",pod_uid=\"\",namespace=\"\",pod=\"\",container=\"\",zone=\"package\","
		       "mode=\"dynamic\"} 1.000001");
	prom_assert_line(t, "wattlet_workload_joules_total{workload=\"" CONTAINER_KEY
		       "\",kind=\"container\",container_id=\"" CID
		       "\",runtime=\"containerd\",pod_uid=\"" POD_UID
		       "\",namespace=\"\",pod=\"\",container=\"\",zone=\"package\",mode=\"dynamic\"} 18446744073000.000123");
	prom_assert_line(t, "wattlet_workload_joules_total{workload=\"" WEIRD_ESC
		       "\",kind=\"cgroup\",container_id=\"\",runtime=\"\",pod_uid=\"\",namespace=\"\",pod=\"\",container=\"\","
		       "zone=\"dram\",mode=\"dynamic\"} 18446744073709.551615");
	prom_assert_line(t, "wattlet_workload_watts{workload=\"" CONTAINER_KEY
		       "\",kind=\"container\",container_id=\"" CID
		       "\",runtime=\"containerd\",pod_uid=\"" POD_UID
		       "\",namespace=\"\",pod=\"\",container=\"\",zone=\"package\",mode=\"idle\"} 0.750000");
	prom_assert_line(t, "wattlet_workload_joules_total{workload=\"" POD_KEY
		       "\",kind=\"pod\",container_id=\"\",runtime=\"\",pod_uid=\"" POD_UID
		       "\",namespace=\"\",pod=\"\",container=\"\",zone=\"package\",mode=\"idle\"} 0.000001");
	prom_assert_line(t, "wattlet_workload_watts{workload=\"" POD_KEY
		       "\",kind=\"pod\",container_id=\"\",runtime=\"\",pod_uid=\"" POD_UID
		       "\",namespace=\"\",pod=\"\",container=\"\",zone=\"package\",mode=\"dynamic\"} 0.000001");
	/* terminated: counters stay, watts drop to 0 */
	prom_assert_line(t, "wattlet_workload_joules_total{workload=\"" DOCKER_KEY
		       "\",kind=\"container\",container_id=\"" CID3
		       "\",runtime=\"docker\",pod_uid=\"\",namespace=\"\",pod=\"\",container=\"\",zone=\"package\",mode=\"dynamic\"} "
		       "42.000000");
	prom_assert_line(t, "wattlet_workload_watts{workload=\"" DOCKER_KEY
		       "\",kind=\"container\",container_id=\"" CID3
		       "\",runtime=\"docker\",pod_uid=\"\",namespace=\"\",pod=\"\",container=\"\",zone=\"package\",mode=\"dynamic\"} 0");
	/* escaping; NaN and Inf watts print 0 */
	prom_assert_line(t, "wattlet_workload_watts{workload=\"" WEIRD_ESC
		       "\",kind=\"cgroup\",container_id=\"\",runtime=\"\",pod_uid=\"\",namespace=\"\",pod=\"\",container=\"\","
		       "zone=\"package\",mode=\"dynamic\"} 0");
	prom_assert_line(t, "wattlet_workload_watts{workload=\"" WEIRD_ESC
		       "\",kind=\"cgroup\",container_id=\"\",runtime=\"\",pod_uid=\"\",namespace=\"\",pod=\"\",container=\"\","
		       "zone=\"package\",mode=\"idle\"} 0");
	prom_assert_line(t, "wattlet_workload_cpu_seconds_total{workload=\"system\",kind=\"system\","
		       "container_id=\"\",runtime=\"\",pod_uid=\"\",namespace=\"\",pod=\"\",container=\"\"} 3.000000001");

	prom_assert_line(t, "wattlet_agent_info{version=\"0.1.0\",node=\"node-1\",meter=\"powercap\","
		       "usage_source=\"ebpf\",cgroup_mode=\"hybrid\"} 1");
	prom_assert_line(t, "wattlet_agent_start_time_seconds 1700000000");
	prom_assert_line(t, "wattlet_agent_ready 1");
	prom_assert_line(t, "wattlet_agent_ticks_total 2");
	prom_assert_line(t, "# TYPE wattlet_agent_tick_duration_seconds summary");
	prom_assert_line(t, "wattlet_agent_tick_duration_seconds_sum 0.004000");
	prom_assert_line(t, "wattlet_agent_tick_duration_seconds_count 2");
	prom_assert_line(t, "wattlet_agent_meter_errors_total 3");
	prom_assert_line(t, "wattlet_agent_resident_memory_bytes 12345678");
	prom_assert_line(t, "wattlet_agent_cpu_seconds_total 1.500000");
	prom_assert_line(t, "wattlet_agent_workloads 5"); /* 7 rows - system - terminated */
	assert_null(strstr(t, "kepler_"));
	prom_assert_no_duplicates(t);
}

/* Kubernetes names on a container row, and per-pod aggregate series. */
static void test_metrics_pods_and_names(void **state)
{
	struct prom_fixture *f = *state;
	struct ledger *pods = ledger_new(1000000000ull);
	struct ledger_row *w, *p;

	ledger_begin_tick(f->l);
	w = ledger_row_get(f->l, CONTAINER_KEY);
	assert_int_equal(ledger_row_set_names(w, "shop", "redis-0", "redis"), 0);
	ledger_begin_tick(pods);
	p = ledger_row_get(pods, POD_UID);
	assert_int_equal(ledger_row_set_names(p, "shop", "redis-0", NULL), 0);
	set_row(p, 5000000, 1000000, 0, 2.5, 0.5, 3000000000ull, 0.25);
	ledger_commit_tick(pods, 1);
	f->st.pods = pods;
	render(f, false);
	prom_assert_line(f->out.buf,
		    "wattlet_workload_watts{workload=\"" CONTAINER_KEY "\",kind=\"container\","
		    "container_id=\"" CID "\",runtime=\"containerd\",pod_uid=\"" POD_UID "\","
		    "namespace=\"shop\",pod=\"redis-0\",container=\"redis\",zone=\"package\","
		    "mode=\"idle\"} 0.750000");
	prom_assert_line(f->out.buf, "# TYPE wattlet_pod_joules_total counter");
	prom_assert_line(f->out.buf, "wattlet_pod_joules_total{namespace=\"shop\",pod=\"redis-0\","
				"pod_uid=\"" POD_UID "\",zone=\"package\",mode=\"dynamic\"} 5.000000");
	prom_assert_line(f->out.buf, "wattlet_pod_watts{namespace=\"shop\",pod=\"redis-0\","
				"pod_uid=\"" POD_UID "\",zone=\"package\",mode=\"idle\"} 0.500000");
	prom_assert_line(f->out.buf, "wattlet_pod_cpu_seconds_total{namespace=\"shop\",pod=\"redis-0\","
				"pod_uid=\"" POD_UID "\"} 3.000000000");
	prom_assert_no_duplicates(f->out.buf);
	promtool_check(f->out.buf);
	f->st.pods = NULL;
	ledger_free(pods);
}

static void test_metrics_kepler(void **state)
{
	struct prom_fixture *f = *state;
	const char *t = render(f, true);

	prom_assert_line(t, "kepler_node_cpu_joules_total{node_name=\"node-1\",zone=\"package\"} "
		       "15.000001");
	prom_assert_line(t, "kepler_node_cpu_active_joules_total{node_name=\"node-1\",zone=\"package\"} "
		       "12.000001");
	prom_assert_line(t, "kepler_node_cpu_idle_watts{node_name=\"node-1\",zone=\"dram\"} 1.000000");
	prom_assert_line(t, "kepler_node_cpu_watts{node_name=\"node-1\",zone=\"package\"} 25.500000");
	/* crio container and its conmon share a container id: one series, summed */
	prom_assert_line(t, "kepler_container_cpu_joules_total{container_id=\"" CID2
		       "\",container_name=\"\",node_name=\"node-1\",pod_id=\"" POD_UID
		       "\",runtime=\"cri-o\",state=\"running\",zone=\"package\"} 3.500000");
	prom_assert_line(t, "kepler_container_cpu_watts{container_id=\"" CID3
		       "\",container_name=\"\",node_name=\"node-1\",pod_id=\"\",runtime=\"docker\","
		       "state=\"terminated\",zone=\"package\"} 0");
	/* pod: containerd container + pod cgroup + crio container + conmon, dynamic only */
	prom_assert_line(t, "kepler_pod_cpu_joules_total{node_name=\"node-1\",pod_id=\"" POD_UID
		       "\",pod_name=\"\",pod_namespace=\"\",state=\"running\",zone=\"package\"} "
		       "18446744073005.500123");
	prom_assert_line(t, "kepler_pod_cpu_watts{node_name=\"node-1\",pod_id=\"" POD_UID
		       "\",pod_name=\"\",pod_namespace=\"\",state=\"running\",zone=\"package\"} "
		       "14.500001");
	prom_assert_no_duplicates(t);
}

static void promtool_check(const char *text)
{
	if (!prom_promtool_check(text))
		skip();
}

static void test_metrics_promtool(void **state)
{
	struct prom_fixture *f = *state;

	promtool_check(render(f, true));
}

/* The Kubernetes writer's counters: absent without Kubernetes, by resource with it. */
static void test_metrics_kube_writes(void **state)
{
	struct prom_fixture *f = *state;
	struct export_kube_writes kw = {
		.ok = { 1234, 17, 2 },
		.failed = { 3, 0, 1 },
		.requests = { 1337, 18, 3 },
		.skipped_unchanged = 55,
		.rate_limited = 7,
		.backoffs = 1,
		.fail = { { "nodeenergies", "Invalid", 3 }, { "events", "Forbidden", 1 } },
		.n_fail = 2,
	};
	const char *t;

	assert_null(strstr(render(f, false), "wattlet_kube_"));

	f->st.kube_writes = &kw;
	t = render(f, false);
	prom_assert_line(t, "# TYPE wattlet_kube_writes_total counter");
	prom_assert_line(t, "wattlet_kube_writes_total{resource=\"podenergies\",result=\"ok\"} 1234");
	prom_assert_line(t, "wattlet_kube_writes_total{resource=\"podenergies\",result=\"failed\"} 3");
	prom_assert_line(t, "wattlet_kube_writes_total{resource=\"nodeenergies\",result=\"ok\"} 17");
	prom_assert_line(t, "wattlet_kube_writes_total{resource=\"nodeenergies\",result=\"failed\"} 0");
	prom_assert_line(t, "wattlet_kube_writes_total{resource=\"events\",result=\"ok\"} 2");
	prom_assert_line(t, "wattlet_kube_writes_total{resource=\"events\",result=\"failed\"} 1");
	prom_assert_line(t, "# TYPE wattlet_kube_requests_total counter");
	prom_assert_line(t, "wattlet_kube_requests_total{resource=\"podenergies\"} 1337");
	prom_assert_line(t, "wattlet_kube_requests_total{resource=\"nodeenergies\"} 18");
	prom_assert_line(t, "wattlet_kube_requests_total{resource=\"events\"} 3");
	prom_assert_line(t, "wattlet_kube_writes_skipped_total 55");
	prom_assert_line(t, "wattlet_kube_writes_rate_limited_total 7");
	prom_assert_line(t, "wattlet_kube_writer_backoffs_total 1");
	prom_assert_line(t, "# TYPE wattlet_kube_write_failures_total counter");
	prom_assert_line(t, "wattlet_kube_write_failures_total{resource=\"nodeenergies\",reason=\"Invalid\"} 3");
	prom_assert_line(t,
			 "wattlet_kube_write_failures_total{resource=\"events\",reason=\"Forbidden\"} 1");
	assert_null(strstr(t, "wattlet_kube_write_share")); /* budget off: no series */
	prom_assert_no_duplicates(t);
	promtool_check(t);

	/* the cluster write budget */
	kw.budget = true;
	kw.write_share = 0.05;
	kw.write_stretch = 34;
	kw.cluster_nodes = 1000;
	kw.nodes_source = "api";
	t = render(f, false);
	prom_assert_line(t, "# TYPE wattlet_kube_write_share gauge");
	prom_assert_line(t, "wattlet_kube_write_share 0.050000");
	prom_assert_line(t, "wattlet_kube_write_stretch 34.000000");
	prom_assert_line(t, "wattlet_kube_cluster_nodes{source=\"api\"} 1000");
	prom_assert_no_duplicates(t);
	promtool_check(t);
	f->st.kube_writes = NULL;
}

static void test_metrics_cap(void **state)
{
	struct prom_fixture *f = *state;
	struct strbuf small;

	strbuf_init(&small, 1024);
	assert_int_equal(export_metrics(f->l, &f->st, false, &small), -E2BIG);
	strbuf_release(&small);
	strbuf_init(&small, 1024);
	assert_int_equal(export_json_workloads(f->l, &f->st, &small), -E2BIG);
	strbuf_release(&small);
	assert_int_equal(export_metrics(NULL, &f->st, false, &f->out), -EINVAL);
}

static void test_metrics_empty_ledger(void **state)
{
	struct agent_status st = {0};
	struct ledger *l = ledger_new(1);
	struct strbuf out;
	(void)state;

	strbuf_init(&out, 1u << 20);
	assert_int_equal(export_metrics(l, &st, true, &out), 0);
	prom_assert_line(out.buf, "wattlet_agent_ready 0");
	prom_assert_line(out.buf, "wattlet_agent_workloads 0");
	promtool_check(out.buf);
	strbuf_reset(&out);
	assert_int_equal(export_json_workloads(l, &st, &out), 0);
	{
		json_error_t je;
		json_t *doc = json_loads(out.buf, 0, &je);
		assert_non_null(doc);
		assert_int_equal(json_array_size(json_object_get(doc, "workloads")), 0);
		json_decref(doc);
	}
	strbuf_release(&out);
	ledger_free(l);
}

static const json_t *find_wl(const json_t *wls, const char *key)
{
	for (size_t i = 0; i < json_array_size(wls); i++) {
		const json_t *w = json_array_get(wls, i);
		if (strcmp(json_string_value(json_object_get(w, "workload")), key) == 0)
			return w;
	}
	fail_msg("workload %s not in JSON", key);
	return NULL;
}

static void test_json(void **state)
{
	struct prom_fixture *f = *state;
	json_error_t je;
	json_t *doc;
	const json_t *wls, *w, *node, *z;
	double prev = INFINITY;

	assert_int_equal(export_json_workloads(f->l, &f->st, &f->out), 0);
	doc = json_loads(f->out.buf, 0, &je);
	if (!doc)
		fail_msg("invalid JSON at line %d: %s", je.line, je.text);

	node = json_object_get(doc, "node");
	assert_string_equal(json_string_value(json_object_get(node, "name")), "node-1");
	z = json_object_get(json_object_get(node, "zones"), "package");
	assert_true(json_real_value(json_object_get(json_object_get(z, "dynamic"), "joules")) ==
		    12.000001);
	assert_string_equal(json_string_value(json_object_get(z, "idle_source")), "learned");
	assert_null(json_object_get(json_object_get(node, "zones"), "core"));
	/* package + dram, both modes */
	assert_true(fabs(json_real_value(json_object_get(node, "watts")) - 26.5) < 1e-9);
	assert_true(json_is_true(json_object_get(json_object_get(doc, "agent"), "ready")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "agent"),
							    "workloads_live")),
			 5);

	wls = json_object_get(doc, "workloads");
	assert_int_equal(json_array_size(wls), 7);
	for (size_t i = 0; i < json_array_size(wls); i++) {
		const json_t *e = json_array_get(wls, i);
		const json_t *wt = json_object_get(e, "watts");
		double v = json_is_integer(wt) ? (double)json_integer_value(wt) : json_real_value(wt);
		assert_true(json_is_number(wt));
		assert_true(v <= prev);
		prev = v;
		assert_true(json_is_boolean(json_object_get(e, "terminated")));
		assert_true(json_is_object(json_object_get(e, "zones")));
	}
	w = json_array_get(wls, 0);
	assert_string_equal(json_string_value(json_object_get(w, "workload")), CONTAINER_KEY);
	assert_string_equal(json_string_value(json_object_get(w, "kind")), "container");
	assert_string_equal(json_string_value(json_object_get(w, "container_id")), CID);
	assert_string_equal(json_string_value(json_object_get(w, "runtime")), "containerd");
	assert_string_equal(json_string_value(json_object_get(w, "pod_uid")), POD_UID);
	assert_string_equal(json_string_value(json_object_get(w, "qos")), "burstable");
	assert_true(fabs(json_real_value(json_object_get(w, "watts")) - 10.75) < 1e-9);
	assert_true(fabs(json_real_value(json_object_get(w, "cpu_cores")) - 1.5) < 1e-9);

	w = find_wl(wls, WEIRD_TEXT); /* the same text as the label value */
	assert_int_equal(json_integer_value(json_object_get(w, "watts")), 0);
	w = find_wl(wls, DOCKER_KEY);
	assert_true(json_is_true(json_object_get(w, "terminated")));
	assert_int_equal(json_integer_value(json_object_get(w, "watts")), 0);
	assert_true(json_real_value(json_object_get(w, "joules")) == 42.0);
	w = find_wl(wls, LEDGER_SYSTEM_KEY);
	assert_string_equal(json_string_value(json_object_get(w, "kind")), "system");
	assert_true(fabs(json_real_value(json_object_get(w, "cpu_seconds")) - 3.000000001) < 1e-12);
	json_decref(doc);
}

/* ---- wattlet top ---------------------------------------------------------------- */

struct top_run {
	char url[64];
	const char *extra[3]; /* more arguments (NULL-terminated), or none */
	int rc;
	atomic_bool done;
};

static int api_handler(void *ctx, const char *path, struct strbuf *body, const char **ctype)
{
	struct prom_fixture *f = ctx;

	if (strcmp(path, "/api/v1/workloads") != 0)
		return 404;
	*ctype = "application/json";
	return export_json_workloads(f->l, &f->st, body) ? 500 : 200;
}

static void *top_thread(void *arg)
{
	struct top_run *t = arg;
	char *argv[10] = {"top", "--url", t->url, "--once", "-n", "3"};
	int argc = 6;

	for (int i = 0; i < 3 && t->extra[i]; i++)
		argv[argc++] = (char *)t->extra[i];
	argv[argc] = NULL;
	t->rc = top_main(argc, argv);
	atomic_store(&t->done, true);
	return NULL;
}

/* Runs top in a thread with stdout (or stderr) captured into cap, servicing s here. */
static int run_top_args(struct http_server *s, const char *url, int fdno, char *cap,
			size_t capn, const char *a1, const char *a2)
{
	struct top_run t;
	pthread_t th;
	char path[] = "/tmp/wattlet-top-XXXXXX";
	int fd = mkstemp(path), saved;
	ssize_t n;

	assert_true(fd >= 0);
	unlink(path);
	memset(&t, 0, sizeof(t));
	snprintf(t.url, sizeof(t.url), "%s", url);
	t.extra[0] = a1;
	t.extra[1] = a1 ? a2 : NULL;
	atomic_init(&t.done, false);
	fflush(fdno == 1 ? stdout : stderr);
	saved = dup(fdno);
	dup2(fd, fdno);
	assert_int_equal(pthread_create(&th, NULL, top_thread, &t), 0);
	while (!atomic_load(&t.done))
		if (s)
			http_server_service(s, 20);
		else
			usleep(1000);
	pthread_join(th, NULL);
	fflush(fdno == 1 ? stdout : stderr);
	dup2(saved, fdno);
	close(saved);
	n = pread(fd, cap, capn - 1, 0);
	cap[n > 0 ? n : 0] = '\0';
	close(fd);
	return t.rc;
}

static int run_top(struct http_server *s, const char *url, int fdno, char *cap, size_t capn)
{
	return run_top_args(s, url, fdno, cap, capn, NULL, NULL);
}

static void test_top_once(void **state)
{
	struct prom_fixture *f = *state;
	struct wl_err err = {{0}};
	struct http_server *s = http_server_new("127.0.0.1:0", api_handler, f, &err);
	char url[64], out[8192];

	if (!s)
		fail_msg("server: %s", err.msg);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", http_server_port(s));
	assert_int_equal(run_top(s, url, 1, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "node node-1"));
	assert_non_null(strstr(out, "meter powercap"));
	assert_non_null(strstr(out, "package 25.50 W"));
	assert_non_null(strstr(out, "WORKLOAD"));
	assert_non_null(strstr(out, "cri-containerd-" CID ".scope")); /* busiest, shown */
	assert_non_null(strstr(out, "... 4 more"));                  /* -n 3 of 7 */
	assert_null(strstr(out, "\033[2J"));                          /* --once: no clear */
	http_server_free(s);
}

/* Names a Kubernetes user knows; --wide adds owner and cgroup; --group-by sums. */
static void test_top_names_groups(void **state)
{
	struct prom_fixture *f = *state;
	struct wl_err err = {{0}};
	struct http_server *s = http_server_new("127.0.0.1:0", api_handler, f, &err);
	struct ledger_row *w = (struct ledger_row *)ledger_find(f->l, CONTAINER_KEY);
	char url[64], out[8192];

	assert_non_null(s);
	assert_non_null(w);
	assert_int_equal(ledger_row_set_names(w, "shop", "redis-0", "redis"), 0);
	assert_int_equal(ledger_row_set_owner(w, "StatefulSet", "redis"), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", http_server_port(s));
	assert_int_equal(run_top(s, url, 1, out, sizeof(out)), 0);
	assert_non_null(strstr(out, " shop/redis-0/redis\n"));
	assert_null(strstr(out, "cri-containerd-" CID ".scope")); /* named: no path */
	assert_int_equal(run_top_args(s, url, 1, out, sizeof(out), "--wide", NULL), 0);
	assert_non_null(strstr(out, "OWNER"));
	assert_non_null(strstr(out, "CGROUP"));
	{
		/* owner, name (padded to the longest shown), the whole path, on one line */
		const char *l = strstr(out, "StatefulSet/redis shop/redis-0/redis ");
		assert_non_null(l);
		l += strspn(l + 37, " ") + 37;
		assert_memory_equal(l, CONTAINER_KEY "\n", strlen(CONTAINER_KEY) + 1);
	}
	assert_int_equal(run_top_args(s, url, 1, out, sizeof(out), "-g", "owner"), 0);
	assert_non_null(strstr(out, "ROWS OWNER\n"));
	assert_non_null(strstr(out, "       1 shop/StatefulSet/redis\n"));
	assert_non_null(strstr(out, " " TOP_NOT_IN_POD "\n"));
	assert_int_equal(run_top_args(s, url, 1, out, sizeof(out), "--group-by", "namespace"), 0);
	assert_non_null(strstr(out, " shop\n"));
	http_server_free(s);
}

static void test_top_unreachable(void **state)
{
	struct wl_err err = {{0}};
	struct http_server *s = http_server_new("127.0.0.1:0", api_handler, *state, &err);
	char url[64], out[4096];
	int port;

	/* a port that was just free: nothing listens there any more */
	assert_non_null(s);
	port = http_server_port(s);
	http_server_free(s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	assert_int_equal(run_top(NULL, url, 2, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "cannot reach wattlet at"));
	assert_non_null(strstr(out, "is `wattlet run` running?"));
}

static void test_top_usage(void **state)
{
	char *bad1[] = {"top", "--interval", "0s", NULL};
	char *bad2[] = {"top", "-n", "x", NULL};
	char *bad3[] = {"top", "--url", "ftp://x", NULL};
	char *bad4[] = {"top", "--group-by", "deployment", NULL};
	int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
	(void)state;

	dup2(devnull, 2);
	assert_int_equal(top_main(3, bad1), 2);
	assert_int_equal(top_main(3, bad2), 2);
	assert_int_equal(top_main(3, bad3), 2);
	assert_int_equal(top_main(3, bad4), 2);
	dup2(saved, 2);
	close(saved);
	close(devnull);
}

/* The HTTP server's counters: absent without a server, all reasons with one. */
static void test_metrics_http(void **state)
{
	struct prom_fixture *f = *state;
	struct http_stats hs = { .open = 3, .max = 58, .accepted = 1000, .refused = 2,
				 .evicted = 900, .timed_out = 40, .upgrades_refused = 1 };
	const char *t;

	assert_null(strstr(render(f, false), "wattlet_http_"));
	f->st.http = &hs;
	t = render(f, false);
	prom_assert_line(t, "# TYPE wattlet_http_connections gauge");
	prom_assert_line(t, "wattlet_http_connections 3");
	prom_assert_line(t, "wattlet_http_connections_max 58");
	prom_assert_line(t, "wattlet_http_connections_accepted_total 1000");
	prom_assert_line(t, "wattlet_http_connections_closed_total{reason=\"evicted\"} 900");
	prom_assert_line(t, "wattlet_http_connections_closed_total{reason=\"idle_timeout\"} 40");
	prom_assert_line(t, "wattlet_http_connections_closed_total{reason=\"refused\"} 2");
	prom_assert_line(t, "wattlet_http_connections_closed_total{reason=\"upgrade\"} 1");
	prom_assert_no_duplicates(t);
	promtool_check(t);
	f->st.http = NULL;
}

/* ---- names that are not valid UTF-8 ----------------------------------------------- */

/* Strict UTF-8 (RFC 3629) without C0/DEL/C1 controls, written independently of
 * export_common.c. */
static bool valid_utf8(const unsigned char *p, size_t n, bool newlines)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], cp, len, min;
		if (c < 0x80) {
			if ((c < 0x20 && !(newlines && c == '\n')) || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			len = 2, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			len = 3, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			len = 4, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (i + len > n)
			return false;
		for (unsigned k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += len;
	}
	return true;
}

static bool valid_text(const unsigned char *p, size_t n)
{
	return valid_utf8(p, n, false);
}

/* Undoes the format escapes (\\ and \") of one rendered value; false on anything
 * else after a backslash or a bare double quote. */
static bool unescape_format(const char *in, size_t n, struct strbuf *out)
{
	strbuf_reset(out);
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '"')
			return false;
		if (in[i] == '\\') {
			if (i + 1 >= n || (in[i + 1] != '\\' && in[i + 1] != '"'))
				return false;
			i++;
		}
		strbuf_add(out, in + i, 1);
	}
	return true;
}

static int hexd(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The inverse the escaping promises: \xNN with NN < 0x20, >= 0x7f or 0x5c is byte NN,
 * everything else is itself. */
static void decode_text(const char *t, size_t n, struct strbuf *out)
{
	strbuf_reset(out);
	for (size_t i = 0; i < n; i++) {
		if (t[i] == '\\' && i + 3 < n && t[i + 1] == 'x' && hexd(t[i + 2]) >= 0 &&
		    hexd(t[i + 3]) >= 0) {
			int v = hexd(t[i + 2]) * 16 + hexd(t[i + 3]);
			if (v < 0x20 || v >= 0x7f || v == 0x5c) {
				char b = (char)v;
				strbuf_add(out, &b, 1);
				i += 3;
				continue;
			}
		}
		strbuf_add(out, t + i, 1);
	}
}

/* export_add_text over many byte strings built from the bytes that matter: the
 * output is valid UTF-8 without controls once the format escapes are undone, and
 * decodes back to the input (so distinct names give distinct values). */
static void test_text_escape_roundtrip(void **state)
{
	static const unsigned char alpha[] = { '\\', 'x', 'f', '5', 'c', '0', 'a', '"', 'A',
					       0x01, 0x0a, 0x7f, 0x80, 0x85, 0xa0, 0xa9, 0xbf,
					       0xc2, 0xc3, 0xe0, 0xed, 0xf0, 0xf4, 0xfe, 0xff };
	struct strbuf enc, txt, dec;
	unsigned long long x = 0x9e3779b97f4a7c15ull;
	(void)state;

	strbuf_init(&enc, 4096);
	strbuf_init(&txt, 4096);
	strbuf_init(&dec, 4096);
	for (int iter = 0; iter < 50000; iter++) {
		unsigned char name[16];
		size_t len;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		len = (size_t)(x % 13);
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			name[i] = alpha[x % sizeof(alpha)];
		}
		name[len] = '\0';
		strbuf_reset(&enc);
		assert_int_equal(export_add_text(&enc, (const char *)name), 0);
		if (!unescape_format(enc.buf ? enc.buf : "", enc.len, &txt))
			fail_msg("bad format escape in '%s'", enc.buf);
		if (!valid_text((const unsigned char *)(txt.buf ? txt.buf : ""), txt.len))
			fail_msg("not valid UTF-8 text: '%s'", enc.buf);
		decode_text(txt.buf ? txt.buf : "", txt.len, &dec);
		if (dec.len != len || (len && memcmp(dec.buf, name, len) != 0))
			fail_msg("'%s' does not decode back to its name", enc.buf);
	}
	/* names that are valid text are left alone, systemd's own escapes included */
	strbuf_reset(&enc);
	assert_int_equal(export_add_text(&enc, "/system.slice/systemd-fsck@dev-disk-by\\x2duuid-"
					       "\xc3\xa9\xe6\x97\xa5.service"), 0);
	assert_string_equal(enc.buf, "/system.slice/systemd-fsck@dev-disk-by\\\\x2duuid-"
				     "\xc3\xa9\xe6\x97\xa5.service");
	strbuf_release(&enc);
	strbuf_release(&txt);
	strbuf_release(&dec);
}

#define BAD_KEY "/bad\xff\xfe"
#define BAD_LOOKALIKE "/bad\\xff\\xfe" /* a real name spelled like BAD_KEY's text */
#define CTL_KEY "/ctl\x01\x1b[31m\x7f"
#define C1_KEY "/c1\xc2\x85"
#define OVERLONG_KEY "/ovl\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80"
#define TRUNC_KEY "/trunc\xe6\x97"

/* Rows whose names are not valid UTF-8 (or hold controls, or look like an escaped
 * form) render parseable Prometheus text and valid JSON, with one distinct series
 * per row that decodes back to the row's key. */
static void test_names_invalid_utf8(void **state)
{
	static const char *const keys[] = { BAD_KEY, BAD_LOOKALIKE, CTL_KEY, C1_KEY,
					    OVERLONG_KEY, TRUNC_KEY };
	struct prom_fixture *f = *state;
	struct strbuf txt, dec;
	bool seen[sizeof(keys) / sizeof(keys[0])] = { false };
	const char *p;
	json_error_t je;
	json_t *doc;
	size_t nwl;

	ledger_begin_tick(f->l);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		set_row(ledger_row_get(f->l, keys[i]), 1000 + i, 0, 0, 1, 0, 1, 0.1);
	ledger_commit_tick(f->l, 3000000000ull);
	render(f, true);
	if (!valid_utf8((const unsigned char *)f->out.buf, f->out.len, true))
		fail_msg("/metrics output is not valid UTF-8");
	prom_assert_no_duplicates(f->out.buf);
	promtool_check(f->out.buf);

	/* each odd key's cpu series: present once, decoding back to the key */
	strbuf_init(&txt, 4096);
	strbuf_init(&dec, 4096);
	for (p = f->out.buf; (p = strstr(p, "\nwattlet_workload_cpu_seconds_total{workload=\""));) {
		const char *v = p + strlen("\nwattlet_workload_cpu_seconds_total{workload=\"");
		const char *e = strstr(v, "\",kind=");
		assert_non_null(e);
		assert_true(unescape_format(v, (size_t)(e - v), &txt));
		assert_true(valid_text((const unsigned char *)txt.buf, txt.len));
		decode_text(txt.buf, txt.len, &dec);
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (dec.len == strlen(keys[i]) && memcmp(dec.buf, keys[i], dec.len) == 0) {
				assert_false(seen[i]);
				seen[i] = true;
			}
		}
		p = e;
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!seen[i])
			fail_msg("no series decodes to key %zu", i);
	assert_non_null(strstr(f->out.buf, "workload=\"/bad\\\\xff\\\\xfe\""));
	assert_non_null(strstr(f->out.buf, "workload=\"/bad\\\\x5cxff\\\\x5cxfe\""));

	strbuf_reset(&f->out);
	assert_int_equal(export_json_workloads(f->l, &f->st, &f->out), 0);
	doc = json_loads(f->out.buf, 0, &je); /* jansson rejects invalid UTF-8 */
	if (!doc)
		fail_msg("invalid JSON at line %d: %s", je.line, je.text);
	nwl = json_array_size(json_object_get(doc, "workloads"));
	assert_int_equal(nwl, ledger_count(f->l));
	find_wl(json_object_get(doc, "workloads"), "/bad\\xff\\xfe");
	find_wl(json_object_get(doc, "workloads"), "/bad\\x5cxff\\x5cxfe");
	find_wl(json_object_get(doc, "workloads"), "/ctl\\x01\\x1b[31m\\x7f");
	find_wl(json_object_get(doc, "workloads"), "/c1\\xc2\\x85");
	find_wl(json_object_get(doc, "workloads"), "/trunc\\xe6\\x97");
	json_decref(doc);
	strbuf_release(&txt);
	strbuf_release(&dec);
}

WL_TEST_MAIN(
	WL_TEST_FIXTURE(test_metrics_lines),
	WL_TEST_FIXTURE(test_metrics_pods_and_names),
	WL_TEST_FIXTURE(test_metrics_kepler),
	WL_TEST_FIXTURE(test_metrics_promtool),
	WL_TEST_FIXTURE(test_metrics_kube_writes),
	WL_TEST_FIXTURE(test_metrics_cap),
	cmocka_unit_test(test_metrics_empty_ledger),
	WL_TEST_FIXTURE(test_json),
	cmocka_unit_test(test_text_escape_roundtrip),
	WL_TEST_FIXTURE(test_metrics_http),
	WL_TEST_FIXTURE(test_names_invalid_utf8),
	WL_TEST_FIXTURE(test_top_once),
	WL_TEST_FIXTURE(test_top_names_groups),
	WL_TEST_FIXTURE(test_top_unreachable),
	cmocka_unit_test(test_top_usage))
