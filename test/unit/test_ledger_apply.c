/* test_ledger_apply.c - one tick's attribution folded into the workload ledger and the
 * per-pod aggregates (agent/ledger/apply.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/ledger/apply.h"

#define SEC 1000000000ull
#define UID "0a1b2c3d_1111_2222_3333_444455556666"
#define UID_DASH "0a1b2c3d-1111-2222-3333-444455556666"
#define CID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define POD "/kubepods.slice/kubepods-pod" UID ".slice/"
#define CT_A POD "cri-containerd-" CID_A ".scope"
#define CT_B POD "cri-containerd-" CID_B ".scope"
#define HOST "/system.slice/sshd.service"

/* One tick: entries with CPU time, each with its share of package dynamic energy. */
struct fake_tick {
	struct usage_entry e[3];
	struct attrib_share sh[3];
	struct usage_sample us;
	struct attrib_result res;
	struct ledger_tick lt;
};

static void fake(struct fake_tick *f, uint64_t t_ns, const char *const *paths,
		 const uint64_t *cpu, const uint64_t *uj, size_t n, uint64_t node_cpu)
{
	uint64_t sum = 0;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		f->e[i].id = 100 + i;
		f->e[i].path = paths[i];
		f->e[i].delta[FEAT_CPU_TIME] = cpu[i];
		f->sh[i].entry = i;
		f->sh[i].uj[ZONE_PACKAGE][MODE_DYNAMIC] = uj[i];
		sum += uj[i];
	}
	f->us.t_ns = t_ns;
	f->us.dt_ns = SEC;
	f->us.entries = f->e;
	f->us.n = n;
	f->us.node_delta[FEAT_CPU_TIME] = node_cpu;
	f->res.shares = f->sh;
	f->res.n = n;
	f->res.system_uj[ZONE_PACKAGE][MODE_IDLE] = 5000000;
	f->res.node_uj[ZONE_PACKAGE][MODE_IDLE] = 5000000;
	f->res.node_uj[ZONE_PACKAGE][MODE_DYNAMIC] = sum;
	f->lt.usage = &f->us;
	f->lt.res = &f->res;
	f->lt.dt_s = 2.0; /* the meter's interval, not the usage's */
	f->lt.zone_mask = 1u << ZONE_PACKAGE;
}

static void test_rows_system_node(void **state)
{
	(void)state;
	struct ledger *l = ledger_new(60 * SEC), *pods = ledger_new(60 * SEC);
	const char *paths[] = { CT_A, CT_B, HOST };
	const uint64_t cpu[] = { SEC / 2, SEC / 4, SEC / 8 }, uj[] = { 4000000, 2000000, 1000000 };
	struct fake_tick f;
	struct wl_err err = { "" };

	fake(&f, 10 * SEC, paths, cpu, uj, 3, 2 * SEC);
	assert_int_equal(ledger_apply(l, pods, &f.lt, &err), 0);

	const struct ledger_row *a = ledger_find(l, CT_A), *h = ledger_find(l, HOST);
	assert_non_null(a);
	assert_non_null(h);
	assert_int_equal(a->cgroup_id, 100);
	assert_int_equal(a->uj[ZONE_PACKAGE][MODE_DYNAMIC], 4000000);
	assert_true(fabs(a->watts[ZONE_PACKAGE][MODE_DYNAMIC] - 2.0) < 1e-9); /* 4 J / 2 s */
	assert_int_equal(a->cpu_ns, SEC / 2);
	assert_true(fabs(a->cpu_cores - 0.5) < 1e-9); /* over the usage interval */
	assert_int_equal(h->uj[ZONE_PACKAGE][MODE_DYNAMIC], 1000000);
	assert_int_equal(h->last_seen_ns, 10 * SEC);

	/* system: its energy and the node's CPU time no workload used */
	const struct ledger_row *s = ledger_find(l, LEDGER_SYSTEM_KEY);
	assert_non_null(s);
	assert_int_equal(s->uj[ZONE_PACKAGE][MODE_IDLE], 5000000);
	assert_int_equal(s->cpu_ns, 2 * SEC - SEC / 2 - SEC / 4 - SEC / 8);

	const struct ledger_node *n = ledger_node_c(l);
	assert_int_equal(n->uj[ZONE_PACKAGE][MODE_DYNAMIC], 7000000);
	assert_int_equal(n->zone_mask, 1u << ZONE_PACKAGE);
	assert_int_equal(n->ticks, 1);
	assert_true(fabs(n->watts[ZONE_PACKAGE][MODE_IDLE] - 2.5) < 1e-9);

	/* the pod row sums both containers; the host cgroup has no pod */
	assert_int_equal(ledger_count(pods), 1);
	const struct ledger_row *p = ledger_find(pods, UID_DASH);
	assert_non_null(p);
	assert_int_equal(p->uj[ZONE_PACKAGE][MODE_DYNAMIC], 6000000);
	assert_int_equal(p->tick_uj[ZONE_PACKAGE][MODE_DYNAMIC], 6000000);
	assert_int_equal(p->cpu_ns, SEC / 2 + SEC / 4);
	assert_true(fabs(p->watts[ZONE_PACKAGE][MODE_DYNAMIC] - 3.0) < 1e-9);
	assert_true(fabs(p->cpu_cores - 0.75) < 1e-9);
	assert_false(p->terminated);
	ledger_free(l);
	ledger_free(pods);
}

/* A container restarting under a new cgroup: the pod's total goes on growing, its tick
 * sums hold only this tick, the old cgroup's row is terminated with 0 W. */
static void test_pod_monotonic_across_restart(void **state)
{
	(void)state;
	struct ledger *l = ledger_new(60 * SEC), *pods = ledger_new(60 * SEC);
	const char *first[] = { CT_A }, *second[] = { CT_B };
	const uint64_t cpu[] = { SEC / 2 }, uj1[] = { 4000000 }, uj2[] = { 1000000 };
	struct fake_tick f;

	fake(&f, 10 * SEC, first, cpu, uj1, 1, SEC);
	assert_int_equal(ledger_apply(l, pods, &f.lt, NULL), 0);
	fake(&f, 11 * SEC, second, cpu, uj2, 1, SEC);
	assert_int_equal(ledger_apply(l, pods, &f.lt, NULL), 0);

	const struct ledger_row *old = ledger_find(l, CT_A), *p = ledger_find(pods, UID_DASH);
	assert_non_null(old);
	assert_true(old->terminated);
	assert_true(old->watts[ZONE_PACKAGE][MODE_DYNAMIC] == 0);
	assert_int_equal(old->uj[ZONE_PACKAGE][MODE_DYNAMIC], 4000000); /* kept */
	assert_non_null(p);
	assert_int_equal(p->uj[ZONE_PACKAGE][MODE_DYNAMIC], 5000000);
	assert_int_equal(p->tick_uj[ZONE_PACKAGE][MODE_DYNAMIC], 1000000);
	assert_int_equal(p->tick_cpu_ns, SEC / 2);
	assert_int_equal(p->cpu_ns, SEC);
	assert_true(fabs(p->watts[ZONE_PACKAGE][MODE_DYNAMIC] - 0.5) < 1e-9);
	assert_int_equal(ledger_node_c(l)->ticks, 2);
	assert_int_equal(ledger_node_c(pods)->ticks, 2);

	/* a tick without the pod: its row is terminated, its total stays */
	const char *host[] = { HOST };
	fake(&f, 12 * SEC, host, cpu, uj2, 1, SEC);
	assert_int_equal(ledger_apply(l, pods, &f.lt, NULL), 0);
	p = ledger_find(pods, UID_DASH);
	assert_non_null(p);
	assert_true(p->terminated);
	assert_true(p->watts[ZONE_PACKAGE][MODE_DYNAMIC] == 0);
	assert_int_equal(p->uj[ZONE_PACKAGE][MODE_DYNAMIC], 5000000);
	ledger_free(l);
	ledger_free(pods);
}

/* Workloads reporting more CPU than the node (different read instants): system's CPU
 * time never wraps below zero. No pods ledger: no aggregation. */
static void test_system_cpu_floor_no_pods(void **state)
{
	(void)state;
	struct ledger *l = ledger_new(60 * SEC);
	const char *paths[] = { CT_A, HOST };
	const uint64_t cpu[] = { SEC, SEC }, uj[] = { 1, 2 };
	struct fake_tick f;

	fake(&f, 10 * SEC, paths, cpu, uj, 2, SEC + SEC / 2);
	assert_int_equal(ledger_apply(l, NULL, &f.lt, NULL), 0);
	const struct ledger_row *s = ledger_find(l, LEDGER_SYSTEM_KEY);
	assert_non_null(s);
	assert_int_equal(s->cpu_ns, 0);
	assert_true(s->cpu_cores == 0);
	assert_int_equal(ledger_count(l), 3);
	ledger_free(l);
}

/* Expiry runs as part of the fold: a row unseen for longer than retention is dropped. */
static void test_expires_after_retention(void **state)
{
	(void)state;
	struct ledger *l = ledger_new(5 * SEC), *pods = ledger_new(5 * SEC);
	const char *a[] = { CT_A }, *h[] = { HOST };
	const uint64_t cpu[] = { 1 }, uj[] = { 1 };
	struct fake_tick f;

	fake(&f, 10 * SEC, a, cpu, uj, 1, SEC);
	assert_int_equal(ledger_apply(l, pods, &f.lt, NULL), 0);
	fake(&f, 12 * SEC, h, cpu, uj, 1, SEC);
	assert_int_equal(ledger_apply(l, pods, &f.lt, NULL), 0);
	assert_non_null(ledger_find(l, CT_A));
	assert_non_null(ledger_find(pods, UID_DASH));
	fake(&f, 16 * SEC, h, cpu, uj, 1, SEC);
	assert_int_equal(ledger_apply(l, pods, &f.lt, NULL), 0);
	assert_null(ledger_find(l, CT_A));
	assert_null(ledger_find(pods, UID_DASH));
	assert_non_null(ledger_find(l, HOST));
	ledger_free(l);
	ledger_free(pods);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_rows_system_node),
	cmocka_unit_test(test_pod_monotonic_across_restart),
	cmocka_unit_test(test_system_cpu_floor_no_pods),
	cmocka_unit_test(test_expires_after_retention))
