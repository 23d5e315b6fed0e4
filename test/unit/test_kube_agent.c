/* test_kube_agent.c - the Kubernetes orchestrator (agent/kube/kube_agent.h) against
 * tls_server.py: when it is wanted, its construction errors, and what it reports through
 * the note callback (level and text) instead of logging: the API it uses, the write
 * budget, a pod the API server sent without a uid, the pod table filled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/config/config.h"
#include "agent/kube/kube_agent.h"
#include "fixture_kube_agent.h"
#include "fixture_notes.h"
#include "test_kube_server.h"

static void test_wanted(void **st)
{
	struct config c;
	(void)st;

	config_defaults(&c);
	unsetenv("KUBERNETES_SERVICE_HOST");
	c.kube_enabled = KUBE_OFF;
	snprintf(c.kubeconfig, sizeof(c.kubeconfig), "/some/kubeconfig");
	assert_false(kube_agent_wanted(&c));
	c.kube_enabled = KUBE_ON;
	c.kubeconfig[0] = '\0';
	assert_true(kube_agent_wanted(&c));
	c.kube_enabled = KUBE_AUTO;
	assert_false(kube_agent_wanted(&c)); /* no kubeconfig, not in a pod */
	snprintf(c.kubeconfig, sizeof(c.kubeconfig), "/some/kubeconfig");
	assert_true(kube_agent_wanted(&c));
	c.kubeconfig[0] = '\0';
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	assert_true(kube_agent_wanted(&c));
	unsetenv("KUBERNETES_SERVICE_HOST");
}

static void test_bad_pod_source(void **st)
{
	struct config c;
	struct notes ns = { 0 };
	struct wl_err e = { "" };
	(void)st;
	NEED_SERVER();

	fixture_kube_agent_config(&c);
	setenv("WATTLET_POD_SOURCE", "etcd", 1);
	assert_null(kube_agent_new(&c, collect, &ns, &e));
	unsetenv("WATTLET_POD_SOURCE");
	assert_string_equal(e.msg, "WATTLET_POD_SOURCE=etcd: expected kubelet or apiserver");
	assert_int_equal(ns.n, 0); /* an error comes back in err, not as a note */
}

static void test_notes(void **st)
{
	struct config c;
	struct notes ns = { 0 };
	struct wl_err e = { "" };
	struct kube_agent *ka;
	char api[128];
	uint64_t deadline = mono_ns() + 20000000000ull;
	int at;
	(void)st;
	NEED_SERVER();

	fixture_kube_agent_config(&c);
	ka = kube_agent_new(&c, collect, &ns, &e);
	if (!ka)
		fail_msg("%s", e.msg);
	assert_string_equal(kube_agent_node(ka), "node-1");
	/* the first note says which API server and pod source it uses */
	assert_true(ns.n >= 1);
	snprintf(api, sizeof(api), "kubernetes: node node-1, API %s, pods from the API server", S.url);
	assert_int_equal(find_note(&ns, LOG_INFO, api), 0);

	/* service (non-blocking) until the pod watch has listed this node's pods */
	while (find_note(&ns, LOG_INFO, "pod table filled") < 0 && mono_ns() < deadline) {
		struct timespec ts = { 0, 10000000 }; /* poll interval, not a synchronisation */
		kube_agent_service(ka);
		nanosleep(&ts, NULL);
	}
	at = find_note(&ns, LOG_INFO, "pod table filled");
	if (at < 0)
		fail_msg("no 'pod table filled' note in %zu notes", ns.n);
	assert_non_null(strstr(ns.msg[at], "pods on node-1)"));
	/* the fixture's pod list holds a pod without metadata: a warning, once */
	at = find_note(&ns, LOG_WARN, "kubernetes: reading pods failed (1 times so far)");
	assert_true(at >= 0);
	assert_non_null(strstr(ns.msg[at], "measurement goes on"));
	for (size_t i = 0; i < ns.n; i++)
		assert_null(strchr(ns.msg[i], '\n')); /* one line each */
	kube_agent_free(ka);

	/* without a callback nothing is reported and nothing breaks */
	ka = kube_agent_new(&c, NULL, NULL, &e);
	assert_non_null(ka);
	kube_agent_service(ka);
	kube_agent_free(ka);
	kube_agent_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wanted),
		cmocka_unit_test(test_bad_pod_source),
		cmocka_unit_test(test_notes),
	};
	return cmocka_run_group_tests_name("kube_agent", tests, tsrv_group_setup,
					   tsrv_group_teardown);
}
