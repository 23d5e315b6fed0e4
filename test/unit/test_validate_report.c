/* test_validate_report.c - platform validation's outputs and inputs: the report JSON,
 * the state file and its reload, the validation metrics, the agent-reply parser against
 * the real JSON exporter, the correctness checks, and the standalone target's cleanup.
 * Statistics and the judge: test_validate.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/export/export.h"
#include "agent/ledger/ledger.h"
#include "agent/validate/validate.h"
#include "test/unit/fixture.h"
#include "test/unit/fixture_validate.h"

/* ---- report JSON ---------------------------------------------------------------- */

static json_t *render(const struct validate_report *r)
{
	struct strbuf sb;
	json_error_t je;
	json_t *o;

	strbuf_init(&sb, 1 << 20);
	assert_int_equal(validate_report_json(r, &sb), 0);
	o = json_loads(sb.buf, 0, &je);
	if (!o)
		fail_msg("report is not JSON: %s\n%s", je.text, sb.buf);
	strbuf_release(&sb);
	return o;
}

static void test_report_json_workload(void **state)
{
	const double delta[] = { 4.5, 4.4, 4.6 };
	const double biased[] = { 4.5 * 1.3, 4.4 * 1.3, 4.6 * 1.3 };
	struct validate_report r;
	json_t *o, *steps, *s1;
	(void)state;

	wl_report(&r, 0.05, 3, delta, biased);
	snprintf(r.command, sizeof(r.command), "stress-ng --cpu 1 --cpu-load 30");
	snprintf(r.steps[0].key, sizeof(r.steps[0].key), "/wattlet-validate-1/step1");
	r.timestamp_s = 1700000000.5;
	snprintf(r.checks.cpu_model, sizeof(r.checks.cpu_model), "Test \"CPU\"");
	r.checks.zone_mask = (1u << ZONE_PACKAGE) | (1u << ZONE_CORE);
	validate_judge_workload(&r);
	o = render(&r);
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "workload");
	assert_string_equal(json_string_value(json_object_get(o, "verdict")), "fail");
	assert_true(json_is_false(json_object_get(o, "passed")));
	assert_true(fabs(json_number_value(json_object_get(o, "timestamp")) - 1700000000.5) < 1e-3);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "checks"),
							       "cpu_model")), "Test \"CPU\"");
	assert_int_equal(json_array_size(json_object_get(json_object_get(o, "checks"),
							 "zones_supported")), 2);
	steps = json_object_get(json_object_get(o, "workload"), "steps");
	assert_int_equal(json_array_size(steps), 3);
	s1 = json_array_get(steps, 0);
	assert_string_equal(json_string_value(json_object_get(s1, "instance")),
			    "/wattlet-validate-1/step1");
	assert_true(fabs(json_number_value(json_object_get(s1, "deviation_percent")) - 30) < 1e-6);
	assert_true(fabs(json_number_value(json_object_get(s1, "sampler_delta_w")) - 4.5) < 1e-9);
	assert_true(json_is_false(json_object_get(s1, "pass")));
	/* the summary holds the worst step's signed deviation for the judged zone */
	assert_true(fabs(json_number_value(json_object_get(
		json_object_get(json_object_get(o, "summary"), "deviation_percent"), "package")) -
		30) < 1e-6);
	assert_string_equal(json_string_value(json_object_get(json_object_get(o, "workload"),
							       "command")),
			    "stress-ng --cpu 1 --cpu-load 30");
	json_decref(o);
}

static void test_report_json_node_nan(void **state)
{
	struct validate_report r;
	json_t *o, *z;
	(void)state;

	node_report(&r, 0.07, NAN);
	r.zones[ZONE_PACKAGE].sampler_w = (struct vstats){ .n = 5, .mean = 12.5, .ci95 = 0.1 };
	validate_judge_node(&r);
	o = render(&r);
	z = json_object_get(json_object_get(json_object_get(o, "node"), "zones"), "dram");
	assert_non_null(z);
	assert_true(json_is_null(json_object_get(z, "deviation_percent"))); /* not NaN text */
	z = json_object_get(json_object_get(json_object_get(o, "node"), "zones"), "package");
	assert_true(fabs(json_number_value(json_object_get(json_object_get(z, "sampler"),
							   "mean_w")) - 12.5) < 1e-9);
	assert_true(json_is_true(json_object_get(z, "pass")));
	assert_null(json_object_get(json_object_get(json_object_get(o, "node"), "zones"), "core"));
	json_decref(o);
}

/* ---- state file ------------------------------------------------------------------- */

static void tmp_path(char *buf, size_t cap, const char *name)
{
	const char *t = getenv("TMPDIR");
	snprintf(buf, cap, "%s/wattlet-test-validate-%d-%s", t && *t ? t : "/tmp", (int)getpid(),
		 name);
}

static void test_state_store_and_load(void **state)
{
	const double delta[] = { 4.5 }, w[] = { 4.41 };
	struct export_validation v[EXPORT_VALIDATION_KINDS];
	struct validate_report r;
	struct wl_err err = { "" };
	char dir[PATH_MAX], path[PATH_MAX + 32];
	(void)state;

	tmp_path(dir, sizeof(dir), "state");
	snprintf(path, sizeof(path), "%s/validation.json", dir); /* dir is created */
	assert_int_equal(validate_state_load(path, v, &err), -ENOENT);

	node_report(&r, 0.07, -0.32);
	r.timestamp_s = 100;
	validate_judge_node(&r);
	assert_int_equal(validate_state_store(path, &r, &err), 0);
	wl_report(&r, 0.05, 1, delta, w);
	r.timestamp_s = 200;
	validate_judge_workload(&r);
	assert_int_equal(validate_state_store(path, &r, &err), 0);

	assert_int_equal(validate_state_load(path, v, &err), 0);
	assert_true(v[EXPORT_VALIDATION_NODE].present && v[EXPORT_VALIDATION_NODE].passed);
	assert_true(fabs(v[EXPORT_VALIDATION_NODE].timestamp_s - 100) < 1e-9);
	assert_int_equal(v[EXPORT_VALIDATION_NODE].zone_mask,
			 (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM));
	assert_true(fabs(v[EXPORT_VALIDATION_NODE].deviation_percent[ZONE_DRAM] + 0.32) < 1e-9);
	assert_true(v[EXPORT_VALIDATION_WORKLOAD].present && v[EXPORT_VALIDATION_WORKLOAD].passed);
	assert_true(fabs(v[EXPORT_VALIDATION_WORKLOAD].deviation_percent[ZONE_PACKAGE] + 2.0) < 1e-9);

	/* a newer failing node result replaces the old one; the workload result stays */
	node_report(&r, 3.0, 0.1);
	r.timestamp_s = 300;
	validate_judge_node(&r);
	assert_int_equal(validate_state_store(path, &r, &err), 0);
	assert_int_equal(validate_state_load(path, v, &err), 0);
	assert_false(v[EXPORT_VALIDATION_NODE].passed);
	assert_true(fabs(v[EXPORT_VALIDATION_NODE].timestamp_s - 300) < 1e-9);
	assert_true(v[EXPORT_VALIDATION_WORKLOAD].present);

	/* garbage is an error with a reason, and is replaced by the next store */
	fixture_write(dir, "validation.json", "{\"node\": [1, 2");
	assert_int_equal(validate_state_load(path, v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not a validation state file"));
	assert_false(v[0].present || v[1].present);
	assert_int_equal(validate_state_store(path, &r, &err), 0);
	assert_int_equal(validate_state_load(path, v, &err), 0);
	assert_true(v[EXPORT_VALIDATION_NODE].present && !v[EXPORT_VALIDATION_WORKLOAD].present);

	unlink(path);
	rmdir(dir);
}

static void test_state_poll(void **state)
{
	struct export_validation v[EXPORT_VALIDATION_KINDS];
	struct validate_watch w = { 0 };
	struct validate_report r;
	struct wl_err err = { "" };
	char path[PATH_MAX];
	(void)state;

	tmp_path(path, sizeof(path), "poll.json");
	unlink(path);
	memset(v, 0, sizeof(v));
	assert_int_equal(validate_state_poll(path, &w, v, &err), 0); /* absent, nothing to do */
	node_report(&r, 0.5, 0.1);
	validate_judge_node(&r);
	assert_int_equal(validate_state_store(path, &r, &err), 0);
	assert_int_equal(validate_state_poll(path, &w, v, &err), 1);
	assert_true(v[EXPORT_VALIDATION_NODE].passed);
	assert_int_equal(validate_state_poll(path, &w, v, &err), 0); /* unchanged */
	/* a new result (different size or mtime) is picked up */
	node_report(&r, 12.5, 0.1);
	validate_judge_node(&r);
	{
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL); /* distinct mtime on coarse-timestamp filesystems */
	}
	assert_int_equal(validate_state_store(path, &r, &err), 0);
	assert_int_equal(validate_state_poll(path, &w, v, &err), 1);
	assert_false(v[EXPORT_VALIDATION_NODE].passed);
	assert_true(fabs(v[EXPORT_VALIDATION_NODE].deviation_percent[ZONE_PACKAGE] - 12.5) < 1e-9);
	unlink(path);
	assert_int_equal(validate_state_poll(path, &w, v, &err), -ENOENT);
	assert_false(v[EXPORT_VALIDATION_NODE].present);
	assert_int_equal(validate_state_poll(path, &w, v, &err), 0); /* reported once */
}

/* ---- metrics ---------------------------------------------------------------------- */

static void test_validation_metrics(void **state)
{
	struct ledger *l = ledger_new(0);
	struct agent_status st = { 0 };
	struct strbuf sb;
	(void)state;

	assert_non_null(l);
	st.version = "test";
	strbuf_init(&sb, 1 << 20);
	assert_int_equal(export_metrics(l, &st, false, &sb), 0);
	assert_null(strstr(sb.buf, "wattlet_validation_")); /* nothing validated yet */

	st.validation[EXPORT_VALIDATION_NODE] = (struct export_validation){
		.present = true, .passed = true, .timestamp_s = 1700000000,
		.zone_mask = 1u << ZONE_PACKAGE, .deviation_percent = { [ZONE_PACKAGE] = 0.07 } };
	st.validation[EXPORT_VALIDATION_WORKLOAD] = (struct export_validation){
		.present = true, .passed = false, .timestamp_s = 1700000100,
		.zone_mask = 1u << ZONE_PACKAGE, .deviation_percent = { [ZONE_PACKAGE] = -29.5 } };
	strbuf_reset(&sb);
	assert_int_equal(export_metrics(l, &st, false, &sb), 0);
	assert_non_null(strstr(sb.buf, "# TYPE wattlet_validation_passed gauge\n"));
	assert_non_null(strstr(sb.buf, "wattlet_validation_passed{kind=\"node\"} 1\n"));
	assert_non_null(strstr(sb.buf, "wattlet_validation_passed{kind=\"workload\"} 0\n"));
	assert_non_null(strstr(sb.buf, "wattlet_validation_deviation_percent{kind=\"node\","
				       "zone=\"package\"} 0.070000\n"));
	assert_non_null(strstr(sb.buf, "wattlet_validation_deviation_percent{kind=\"workload\","
				       "zone=\"package\"} -29.500000\n"));
	assert_non_null(strstr(sb.buf, "wattlet_validation_timestamp_seconds{kind=\"workload\"} "
				       "1700000100.000000\n"));
	strbuf_release(&sb);
	ledger_free(l);
}

/* ---- the agent's JSON, rendered by the real exporter ------------------------------ */

static void test_vagent_parse_real_export(void **state)
{
	const char *keys[] = { "/wattlet-validate-9/step1", "/missing" };
	struct ledger *l = ledger_new(0);
	struct agent_status st = { 0 };
	struct vagent_snapshot s;
	struct wl_err err = { "" };
	struct ledger_node *n;
	struct ledger_row *row;
	struct strbuf sb;
	(void)state;

	assert_non_null(l);
	st.version = "test";
	st.meter = "powercap";
	st.ticks = 42;
	st.tick_interval_s = 0.5;
	st.meter_resets = 1;
	n = ledger_node(l);
	n->zone_mask = (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM);
	ledger_begin_tick(l);
	row = ledger_row_get(l, keys[0]);
	assert_non_null(row);
	row->uj[ZONE_PACKAGE][MODE_DYNAMIC] = 4500000;
	row->uj[ZONE_PACKAGE][MODE_IDLE] = 700000;
	row->uj[ZONE_DRAM][MODE_DYNAMIC] = 123;
	row->cpu_ns = 2500000001ull;
	ledger_commit_tick(l, 1000000000ull);
	n->uj[ZONE_PACKAGE][MODE_DYNAMIC] = 20000001;
	n->uj[ZONE_PACKAGE][MODE_IDLE] = 10000000;
	n->uj[ZONE_DRAM][MODE_IDLE] = 1500000;
	strbuf_init(&sb, 1 << 20);
	assert_int_equal(export_json_workloads(l, &st, &sb), 0);

	assert_int_equal(vagent_parse(sb.buf, sb.len, keys, 2, &s, &err), 0);
	assert_int_equal(s.ticks, 42);
	assert_true(fabs(s.tick_s - 0.5) < 1e-9);
	assert_int_equal(s.meter_resets, 1);
	assert_string_equal(s.meter, "powercap");
	assert_int_equal(s.zone_mask, (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM));
	assert_true(fabs(s.node_j[ZONE_PACKAGE] - 30.000001) < 1e-9); /* dynamic + idle */
	assert_true(fabs(s.node_j[ZONE_DRAM] - 1.5) < 1e-9);
	assert_true(s.found[0] && !s.found[1]);
	assert_true(fabs(s.dyn_j[0][ZONE_PACKAGE] - 4.5) < 1e-9); /* dynamic only */
	assert_true(fabs(s.dyn_j[0][ZONE_DRAM] - 0.000123) < 1e-12);
	assert_true(fabs(s.cpu_s[0] - 2.500000001) < 1e-12); /* the instance's CPU seconds */

	assert_int_equal(vagent_parse("{\"node\":{}}", 11, NULL, 0, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "lacks"));
	assert_int_equal(vagent_parse("<html>", 6, NULL, 0, &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not JSON"));
	strbuf_release(&sb);
	ledger_free(l);
}

/* "pod:<uid>" sums the pod's rows (two containers and the sandbox), not other pods' */
static void test_vagent_pod_key(void **state)
{
	static const char uid[] = "6f3c2a1e-1111-4a2b-9c3d-0123456789ab";
	static const char other[] = "aaaaaaaa-2222-4a2b-9c3d-0123456789ab";
	const char *rows[][2] = {
		{ "/kubepods/besteffort/pod6f3c2a1e-1111-4a2b-9c3d-0123456789ab/c1", uid },
		{ "/kubepods/besteffort/pod6f3c2a1e-1111-4a2b-9c3d-0123456789ab/c2", uid },
		{ "/kubepods/besteffort/pod6f3c2a1e-1111-4a2b-9c3d-0123456789ab/sandbox", uid },
		{ "/kubepods/besteffort/podaaaaaaaa-2222-4a2b-9c3d-0123456789ab/c1", other },
	};
	char key[64], key2[64];
	const char *keys[3] = { key, key2, "pod:" };
	struct ledger *l = ledger_new(0);
	struct agent_status st = { 0 };
	struct vagent_snapshot s;
	struct wl_err err = { "" };
	struct strbuf sb;
	(void)state;

	snprintf(key, sizeof(key), "pod:%s", uid);
	snprintf(key2, sizeof(key2), "pod:%s", "bbbbbbbb-3333-4a2b-9c3d-0123456789ab");
	assert_non_null(l);
	st.version = "test";
	st.meter = "powercap";
	ledger_node(l)->zone_mask = 1u << ZONE_PACKAGE;
	ledger_begin_tick(l);
	for (size_t i = 0; i < 4; i++) {
		struct ledger_row *row = ledger_row_get(l, rows[i][0]);
		assert_non_null(row);
		snprintf(row->ident.pod_uid, sizeof(row->ident.pod_uid), "%s", rows[i][1]);
		row->uj[ZONE_PACKAGE][MODE_DYNAMIC] = (i + 1) * 1000000ull;
		row->uj[ZONE_PACKAGE][MODE_IDLE] = 5000000;
		row->cpu_ns = (i + 1) * 100000000ull;
	}
	ledger_commit_tick(l, 1000000000ull);
	strbuf_init(&sb, 1 << 20);
	assert_int_equal(export_json_workloads(l, &st, &sb), 0);
	assert_int_equal(vagent_parse(sb.buf, sb.len, keys, 3, &s, &err), 0);
	assert_true(s.found[0]);
	assert_true(fabs(s.dyn_j[0][ZONE_PACKAGE] - 6.0) < 1e-9); /* 1 + 2 + 3 J, dynamic */
	assert_true(fabs(s.cpu_s[0] - 0.6) < 1e-9);                /* 0.1 + 0.2 + 0.3 s */
	assert_false(s.found[1]); /* a pod the agent does not know */
	assert_false(s.found[2]); /* "pod:" matches no row without a pod uid */
	strbuf_release(&sb);
	ledger_free(l);
}

static void test_vagent_unreachable(void **state)
{
	struct wl_err err = { "" };
	struct vagent_snapshot s;
	struct vagent *a;
	(void)state;

	assert_null(vagent_new("", &err));
	a = vagent_new("http://127.0.0.1:1/", &err); /* port 1: nothing listens */
	assert_non_null(a);
	assert_int_equal(vagent_fetch(a, NULL, 0, &s, &err), -ECONNREFUSED);
	assert_non_null(strstr(err.msg, "127.0.0.1:1/api/v1/workloads"));
	vagent_free(a);
	vagent_free(NULL);
}

/* ---- correctness checks ------------------------------------------------------------ */

static void test_checks(void **state)
{
	struct validate_checks c;
	struct meter_delta d = { 0 };
	char proc[PATH_MAX];
	(void)state;

	memset(&c, 0, sizeof(c));
	snprintf(proc, sizeof(proc), "%s/validate/proc", fixture_dir());
	validate_checks_host(&c, proc);
	assert_string_equal(c.cpu_model, "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz");
	assert_string_equal(c.cpu_vendor, "GenuineIntel");
	assert_true(c.arch[0] && strcmp(c.arch, "unknown") != 0);

	c.agent_meter_matches = true;
	d.zone_mask = (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM);
	d.uj[ZONE_PACKAGE] = 50000000; /* 10 W over 5 s */
	d.uj[ZONE_DRAM] = 7500000;
	validate_checks_window(&c, &d, 5.0, 2000);
	validate_checks_finish(&c);
	assert_true(c.sane);
	assert_int_equal(c.windows, 1);

	d.uj[ZONE_DRAM] = 0; /* a stuck counter */
	validate_checks_window(&c, &d, 5.0, 2000);
	d.uj[ZONE_DRAM] = 7500000;
	d.reset_mask = 1u << ZONE_PACKAGE;
	validate_checks_window(&c, &d, 5.0, 2000);
	d.reset_mask = 0;
	d.uj[ZONE_PACKAGE] = 20000000000ull; /* 4000 W */
	validate_checks_window(&c, &d, 5.0, 2000);
	validate_checks_finish(&c);
	assert_false(c.sane);
	assert_int_equal(c.resets, 1);
	assert_int_equal(c.implausible, 2);
	assert_non_null(strstr(c.notes, "reset"));
	assert_non_null(strstr(c.notes, "implausible"));

	{
		uint64_t busy = 0, total = 0;
		char root[PATH_MAX];
		snprintf(root, sizeof(root), "%s/validate/proc", fixture_dir());
		assert_int_equal(validate_cpu_jiffies(root, &busy, &total), 0);
		/* cpu  1000 20 300 8000 100 5 15 60: busy = user+nice+system+irq+softirq+steal */
		assert_int_equal(busy, 1000 + 20 + 300 + 5 + 15 + 60);
		assert_int_equal(total, busy + 8000 + 100);
		snprintf(root, sizeof(root), "%s/validate/nonexistent", fixture_dir());
		assert_int_equal(validate_cpu_jiffies(root, &busy, &total), -ENOENT);
	}
	{
		/* measured idle: 2 CPUs x uptime - (8000 idle + 100 iowait) / USER_HZ */
		double busy_s = 0, up_s = 0, hz = (double)sysconf(_SC_CLK_TCK);
		char root[PATH_MAX];
		struct timespec t0, t1;
		snprintf(root, sizeof(root), "%s/validate/proc", fixture_dir());
		clock_gettime(CLOCK_BOOTTIME, &t0);
		assert_int_equal(validate_cpu_busy(root, &busy_s, &up_s), 0);
		clock_gettime(CLOCK_BOOTTIME, &t1);
		assert_true(up_s >= t0.tv_sec + t0.tv_nsec / 1e9 && up_s <= t1.tv_sec + t1.tv_nsec / 1e9);
		assert_true(fabs(busy_s - (2 * up_s - 8100 / hz)) < 1e-6);
		snprintf(root, sizeof(root), "%s/validate/nonexistent", fixture_dir());
		assert_int_equal(validate_cpu_busy(root, &busy_s, &up_s), -ENOENT);
		/* the live host: busy time between 0 and CPUs x uptime */
		assert_int_equal(validate_cpu_busy(NULL, &busy_s, &up_s), 0);
		assert_true(busy_s >= 0 && busy_s <= sysconf(_SC_NPROCESSORS_CONF) * up_s + 1);
	}

	memset(&c, 0, sizeof(c));
	validate_checks_finish(&c); /* the agent on another meter */
	assert_false(c.sane);
	assert_non_null(strstr(c.notes, "same meter"));
}

/* ---- the standalone target ----------------------------------------------------------- */

static void test_target_cleanup_on_failure(void **state)
{
	/* A plain directory stands in for the CPU hierarchy: mkdir works but there is no
	 * cgroup.procs, so joining fails; the error must be clear and teardown must reap
	 * the child and remove every directory it made. */
	const char *argv[] = { "sleep", "30", NULL };
	struct wl_err err = { "" };
	struct vtarget t = { 0 };
	char root[PATH_MAX], dir[PATH_MAX + 64], key[256];
	(void)state;

	tmp_path(root, sizeof(root), "cgroot");
	assert_int_equal(mkdir(root, 0755), 0);
	assert_int_equal(vtarget_cgroup_new(&t, root, "no-slash", argv, &err), -EINVAL);
	assert_int_equal(vtarget_cgroup_new(&t, root, "/wattlet-validate-t", argv, &err), 0);
	assert_int_equal(t.ops->scale_up(t.impl, 2, key, sizeof(key), &err), -EINVAL);
	assert_true(t.ops->scale_up(t.impl, 1, key, sizeof(key), &err) < 0);
	assert_non_null(strstr(err.msg, "cgroup.procs"));
	assert_string_equal(key, "/wattlet-validate-t/step1");
	snprintf(dir, sizeof(dir), "%s/wattlet-validate-t/step1", root);
	assert_true(path_exists(dir));
	{
		/* the instance's CPU time, read by the validator itself: v2 cpu.stat, else
		 * v1 cpuacct.usage */
		char f[PATH_MAX + 96];
		double sec = 0;
		assert_int_equal(t.ops->cpu_s(t.impl, 1, &sec), -ENOENT);
		fixture_write(dir, "cpu.stat",
			      "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n");
		assert_int_equal(t.ops->cpu_s(t.impl, 1, &sec), 0);
		assert_true(fabs(sec - 1.5) < 1e-12);
		assert_int_equal(t.ops->cpu_s(t.impl, 2, &sec), -EINVAL); /* not started */
		snprintf(f, sizeof(f), "%s/cpu.stat", dir);
		unlink(f);
		fixture_write(dir, "cpuacct.usage", "2500000001\n");
		assert_int_equal(t.ops->cpu_s(t.impl, 1, &sec), 0);
		assert_true(fabs(sec - 2.500000001) < 1e-12);
		snprintf(f, sizeof(f), "%s/cpuacct.usage", dir);
		unlink(f);
	}
	vtarget_close(&t);
	assert_false(path_exists(dir));
	snprintf(dir, sizeof(dir), "%s/wattlet-validate-t", root);
	assert_false(path_exists(dir));
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1); /* no child left behind */
	assert_int_equal(errno, ECHILD);
	vtarget_close(&t); /* idempotent */
	assert_int_equal(rmdir(root), 0);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_report_json_workload),
	cmocka_unit_test(test_report_json_node_nan),
	cmocka_unit_test(test_state_store_and_load),
	cmocka_unit_test(test_state_poll),
	cmocka_unit_test(test_validation_metrics),
	cmocka_unit_test(test_vagent_parse_real_export),
	cmocka_unit_test(test_vagent_pod_key),
	cmocka_unit_test(test_vagent_unreachable),
	cmocka_unit_test(test_checks),
	cmocka_unit_test(test_target_cleanup_on_failure))
