/* test_kube_agent_writefail.c - issue 19: a status the API server rejects reaches the
 * operator. The orchestrator (agent/kube/kube_agent.h) runs against tls_server.py, which
 * checks every apply against the CRD schemas from crds/; the NodeEnergy status it
 * offers names a model longer than the schema allows, so the API answers 422 Invalid.
 * Asserted: one warning note (the daemon logs notes) naming the resource, the reason and
 * the API's own message, and the failure counted by resource and reason (the counters
 * behind wattlet_kube_write_failures_total). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/config/config.h"
#include "agent/export/export.h"
#include "agent/kube/kube_agent.h"
#include "agent/ledger/ledger.h"
#include "fixture_kube_agent.h"
#include "fixture_notes.h"
#include "test_kube_server.h"

/* A kube_agent for node "node-1" against the test API server (pods from the API server),
 * its notes, empty workload and pod ledgers, and the status the ticks offer it. */
struct agent_env {
	struct config c;
	struct notes ns;
	struct kube_agent *ka;
	struct ledger *wl, *pods;
	struct agent_status as;
};

static void agent_env_start(struct agent_env *x)
{
	struct wl_err e = { "" };

	memset(x, 0, sizeof(*x));
	fixture_kube_agent_config(&x->c);
	x->ka = kube_agent_new(&x->c, collect, &x->ns, &e);
	if (!x->ka)
		fail_msg("%s", e.msg);
	x->wl = ledger_new(0);
	x->pods = ledger_new(0);
	assert_non_null(x->wl);
	assert_non_null(x->pods);
}

/* One tick now (1 s long) and a service of the agent's loop. */
static void agent_env_tick(struct agent_env *x)
{
	kube_agent_after_tick(x->ka, x->wl, x->pods, &x->as, (uint64_t)time(NULL) * 1000000000ull,
			      1.0);
	kube_agent_service(x->ka);
}

static void agent_env_end(struct agent_env *x)
{
	kube_agent_free(x->ka);
	ledger_free(x->wl);
	ledger_free(x->pods);
}

static void test_schema_violation_logged(void **st)
{
	struct agent_env x;
	struct export_kube_writes kw;
	uint64_t deadline = mono_ns() + 20000000000ull, failed = 0;
	json_t *sj;
	char longname[300];
	int at;
	(void)st;
	NEED_SERVER();
	srv_reset();
	sj = srv_call("GET", "/__writes", NULL);
	if (json_array_size(json_object_get(sj, "schemas")) != 3) {
		json_decref(sj);
		printf("skipped: the server could not load crds/ (python3-yaml?)\n");
		skip();
	}
	json_decref(sj);

	agent_env_start(&x);
	/* A model name longer than the CRD allows (253; a PowerModel's own name cannot be,
	 * so this stands for any field the agent gets wrong): the API refuses the status.
	 * The agent already keeps meter kinds and energySource inside their enums. */
	memset(longname, 'm', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	x.as.model_name = longname;
	x.as.energy_source = "none";

	/* ticks until the writer has tried and the warning came (the writer is a thread) */
	while ((at = find_note(&x.ns, LOG_WARN, "write(s) to the API failed")) < 0 &&
	       mono_ns() < deadline) {
		struct timespec ts = { 0, 20000000 }; /* poll interval, not a synchronisation */
		agent_env_tick(&x);
		nanosleep(&ts, NULL);
	}
	if (at < 0) {
		kube_agent_write_stats(x.ka, &kw);
		for (size_t i = 0; i < x.ns.n; i++)
			printf("note %zu: %s\n", i, x.ns.msg[i]);
		sj = srv_call("GET", "/__writes", NULL);
		char *dump = json_dumps(json_object_get(json_object_get(sj, "objects"), "/nodeenergies/node-1"), 0);
		printf("stored: %s\n", dump ? dump : "(none)");
		free(dump);
		json_decref(sj);
		fail_msg("no write-failure warning in %zu notes (NodeEnergy writes: %" PRIu64
			 " ok, %" PRIu64 " failed, %" PRIu64 " requests)", x.ns.n,
			 kw.ok[EXPORT_KUBE_NODEENERGIES], kw.failed[EXPORT_KUBE_NODEENERGIES],
			 kw.requests[EXPORT_KUBE_NODEENERGIES]);
	}
	printf("note: %s\n", x.ns.msg[at]);
	/* resource, reason and the API's own message naming the field */
	assert_non_null(strstr(x.ns.msg[at], "nodeenergies Invalid"));
	assert_non_null(strstr(x.ns.msg[at], "is invalid"));
	assert_non_null(strstr(x.ns.msg[at], "model.name: Invalid value: length 299 out of bounds"));
	assert_null(strchr(x.ns.msg[at], '\n'));

	kube_agent_write_stats(x.ka, &kw);
	for (size_t i = 0; i < kw.n_fail; i++)
		if (strcmp(kw.fail[i].resource, "nodeenergies") == 0 &&
		    strcmp(kw.fail[i].reason, "Invalid") == 0)
			failed = kw.fail[i].count;
	assert_true(failed >= 1);
	assert_true(kw.failed[EXPORT_KUBE_NODEENERGIES] >= failed);

	/* rate-limited: more failures within the minute add no second warning */
	for (int i = 0; i < 5; i++)
		agent_env_tick(&x);
	assert_int_equal(find_note(&x.ns, LOG_WARN, "write(s) to the API failed"), at);
	for (size_t i = (size_t)at + 1; i < x.ns.n; i++)
		assert_null(strstr(x.ns.msg[i], "write(s) to the API failed"));
	agent_env_end(&x);
}

/* The condition of a node measured only by its BMC (#15): NodeEnergy says the energy is
 * measured (MeterAvailable True, EnergySource "measured by the redfish meter"), not
 * NoMeter, although no RAPL/hwmon meter is in use. Fails on the old publish code. */
static void test_redfish_only_node_measured(void **st)
{
	struct agent_env x;
	struct export_kube_writes kw;
	uint64_t deadline = mono_ns() + 20000000000ull;
	json_t *sj, *obj, *conds;
	const json_t *avail = NULL, *source = NULL;
	size_t i;
	(void)st;
	NEED_SERVER();
	srv_reset();
	agent_env_start(&x);
	x.as.meter = "none";
	x.as.energy_source = "meter";
	x.as.model_name = "builtin-ratio";
	kube_agent_set_source(x.ka, "redfish", true, "zone platform from the BMC");

	/* ticks until the writer (a thread) reports a NodeEnergy write accepted */
	do {
		struct timespec ts = { 0, 20000000 }; /* poll interval, not a synchronisation */
		agent_env_tick(&x);
		kube_agent_write_stats(x.ka, &kw);
		if (kw.ok[EXPORT_KUBE_NODEENERGIES] >= 1)
			break;
		nanosleep(&ts, NULL);
	} while (mono_ns() < deadline);
	sj = srv_call("GET", "/__writes", NULL);
	obj = json_object_get(json_object_get(sj, "objects"), "/nodeenergies/node-1");
	conds = json_object_get(json_object_get(obj, "status"), "conditions");
	for (i = 0; i < json_array_size(conds); i++) {
		const json_t *cd = json_array_get(conds, i);
		const char *type = json_string_value(json_object_get(cd, "type"));
		if (type && strcmp(type, "MeterAvailable") == 0)
			avail = cd;
		if (type && strcmp(type, "EnergySource") == 0)
			source = cd;
	}
	if (!avail || !source)
		fail_msg("no NodeEnergy status with both conditions stored");
	assert_string_equal(json_string_value(json_object_get(avail, "status")), "True");
	assert_string_equal(json_string_value(json_object_get(avail, "reason")), "MeterFound");
	assert_string_equal(json_string_value(json_object_get(source, "status")), "True");
	assert_string_equal(json_string_value(json_object_get(source, "reason")), "MeterFound");
	assert_non_null(strstr(json_string_value(json_object_get(source, "message")),
			       "measured by the redfish meter"));
	json_decref(sj);
	agent_env_end(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_violation_logged),
		cmocka_unit_test(test_redfish_only_node_measured),
	};
	return cmocka_run_group_tests_name("kube_agent_writefail", tests, tsrv_group_setup,
					   tsrv_group_teardown);
}
