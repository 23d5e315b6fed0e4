/* test_attrib.c - attribution: exact conservation, shares, idle policies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/attrib/attrib.h"

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct usage_entry entries[4];
static struct usage_sample sample;
static struct meter_delta energy;

static void setup_tick(uint64_t node_cpu)
{
	memset(entries, 0, sizeof(entries));
	entries[0] = (struct usage_entry){ .id = 1, .path = "/" };
	entries[1] = (struct usage_entry){ .id = 2, .path = "/a" };
	entries[2] = (struct usage_entry){ .id = 3, .path = "/b" };
	entries[3] = (struct usage_entry){
		.id = 4, .path = "/kubepods.slice/kubepods-besteffort.slice/"
				 "kubepods-besteffort-pod1b4e8d4e_8c5a_4b0a_9f54_6f3c1f0f5a10.slice/"
				 "cri-containerd-" CID ".scope" };
	entries[0].delta[FEAT_CPU_TIME] = 100000000;  /* 0.1 s root */
	entries[1].delta[FEAT_CPU_TIME] = 250000000;  /* 0.25 s */
	entries[2].delta[FEAT_CPU_TIME] = 500000000;  /* 0.5 s */
	entries[3].delta[FEAT_CPU_TIME] = 0;          /* idle container */
	memset(&sample, 0, sizeof(sample));
	sample.entries = entries;
	sample.n = 4;
	sample.feature_mask = 1u << FEAT_CPU_TIME;
	sample.node_delta[FEAT_CPU_TIME] = node_cpu;
	memset(&energy, 0, sizeof(energy));
	energy.dt_ns = 1000000000;
	energy.zone_mask = (1u << ZONE_PACKAGE) | (1u << ZONE_DRAM);
	energy.uj[ZONE_PACKAGE] = 40000000; /* 40 J in 1 s */
	energy.uj[ZONE_DRAM] = 5000001;
}

static struct attrib_input input(enum idle_policy p)
{
	struct attrib_input in = { .energy = &energy, .usage = &sample, .idle_policy = p };
	in.idle_w[ZONE_PACKAGE] = 10;
	in.idle_w[ZONE_DRAM] = 2;
	return in;
}

/* The usual tick (setup_tick) and an input for it under idle policy p. */
static struct attrib_input tick(uint64_t node_cpu, enum idle_policy p)
{
	setup_tick(node_cpu);
	return input(p);
}

static void assert_conserved(const struct attrib_result *r)
{
	for (int z = 0; z < ZONE_COUNT; z++)
		for (int m = 0; m < MODE_COUNT; m++) {
			uint64_t sum = r->system_uj[z][m];
			for (size_t i = 0; i < r->n; i++)
				sum += r->shares[i].uj[z][m];
			assert_int_equal(sum, r->node_uj[z][m]);
		}
	for (int z = 0; z < ZONE_COUNT; z++)
		assert_int_equal(r->node_uj[z][MODE_DYNAMIC] + r->node_uj[z][MODE_IDLE],
				 (energy.zone_mask & (1u << z)) ? energy.uj[z] : 0);
}

#define ANY UINT64_MAX /* assert_pkg: this value is not checked */

/* The package zone's energy in one mode (uJ) of the three workloads of setup_tick
 * (/a, /b, the container: shares 0..2) and of system; ANY skips a value. */
static void assert_pkg(const struct attrib_result *r, int mode, uint64_t a_uj, uint64_t b_uj,
		       uint64_t ctr_uj, uint64_t system_uj)
{
	const uint64_t want[3] = { a_uj, b_uj, ctr_uj };
	for (size_t i = 0; i < 3; i++)
		if (want[i] != ANY)
			assert_int_equal(r->shares[i].uj[ZONE_PACKAGE][mode], want[i]);
	if (system_uj != ANY)
		assert_int_equal(r->system_uj[ZONE_PACKAGE][mode], system_uj);
}

/* One attrib_compute on the test's attrib (*state) that succeeds, then assert_pkg, then
 * exact conservation. */
static void compute_pkg(void **state, const struct attrib_input *in, struct attrib_result *r,
			int mode, uint64_t a_uj, uint64_t b_uj, uint64_t ctr_uj, uint64_t system_uj)
{
	assert_int_equal(attrib_compute(*state, in, r), 0);
	assert_pkg(r, mode, a_uj, b_uj, ctr_uj, system_uj);
	assert_conserved(r);
}

/* Each test (but test_bad_args) gets a fresh attrib as its state. */
static int setup(void **state)
{
	*state = attrib_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	attrib_free(*state);
	return 0;
}

static void test_dynamic_by_cpu_share(void **state)
{
	struct attrib_result r;
	/* node busy 1 s: 0.15 s outside every cgroup */
	struct attrib_input in = tick(1000000000, IDLE_NONE);
	assert_int_equal(attrib_compute(*state, &in, &r), 0);
	assert_int_equal(r.n, 3); /* root is not a workload */
	assert_int_equal(r.node_uj[ZONE_PACKAGE][MODE_IDLE], 10000000);
	assert_int_equal(r.node_uj[ZONE_PACKAGE][MODE_DYNAMIC], 30000000);
	/* /a: 0.25 of node busy time, /b: 0.5; root 0.1 + unaccounted 0.15 -> system */
	assert_pkg(&r, MODE_DYNAMIC, 7500000, 15000000, 0, 7500000);
	assert_int_equal(r.system_uj[ZONE_PACKAGE][MODE_IDLE], 10000000);
	assert_conserved(&r);
}

static void test_node_total_below_cgroup_sum(void **state)
{
	struct attrib_result r;
	/* /proc/stat lagging: the cgroup sum is the denominator */
	struct attrib_input in = tick(10, IDLE_NONE);
	assert_int_equal(attrib_compute(*state, &in, &r), 0);
	assert_int_equal(r.shares[1].uj[ZONE_PACKAGE][MODE_DYNAMIC], 30000000ull * 5 / 8.5);
	assert_conserved(&r);
}

static void test_idle_policies(void **state)
{
	struct attrib_result r;
	struct attrib_input in = tick(1000000000, IDLE_EVEN); /* two active workloads: /a, /b */
	compute_pkg(state, &in, &r, MODE_IDLE, 5000000, 5000000, 0, ANY);

	in = input(IDLE_USAGE);
	compute_pkg(state, &in, &r, MODE_IDLE, 2500000, 5000000, ANY, ANY);

	double req[4] = { 0, 1.0, 3.0, 0 };
	in = input(IDLE_REQUEST);
	in.cpu_request = req;
	compute_pkg(state, &in, &r, MODE_IDLE, 2500000, 7500000, ANY, ANY);

	in.cpu_request = NULL; /* no requests known: even */
	assert_int_equal(attrib_compute(*state, &in, &r), 0);
	assert_int_equal(r.shares[0].uj[ZONE_PACKAGE][MODE_IDLE], 5000000);
}

static void test_idle_clamped_to_measured(void **state)
{
	struct attrib_result r;
	struct attrib_input in = tick(1000000000, IDLE_EVEN);
	energy.uj[ZONE_PACKAGE] = 4000000; /* 4 W measured, idle configured 10 W */
	assert_int_equal(attrib_compute(*state, &in, &r), 0);
	assert_int_equal(r.node_uj[ZONE_PACKAGE][MODE_IDLE], 4000000);
	assert_int_equal(r.node_uj[ZONE_PACKAGE][MODE_DYNAMIC], 0);
	assert_conserved(&r);
}

static void test_containers_only(void **state)
{
	struct attrib_result r;
	struct attrib_input in = tick(1000000000, IDLE_NONE);
	in.containers_only = true;
	assert_int_equal(attrib_compute(*state, &in, &r), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.shares[0].entry, 3);
	assert_int_equal(r.system_uj[ZONE_PACKAGE][MODE_DYNAMIC], 30000000);
	assert_conserved(&r);
}

/* A random tick for the property tests: node busy time, each entry's CPU time (and, when
 * given, a random per-entry policy and request), package energy, DRAM energy (a random
 * number, times a random factor below dram_mul when dram_mul > 0) and the tick length. */
static void random_tick(enum idle_policy *pol, double *req, int dram_mul)
{
	setup_tick((uint64_t)rand() * 1000);
	for (int i = 0; i < 4; i++) {
		entries[i].delta[FEAT_CPU_TIME] = (uint64_t)rand() * (uint64_t)(rand() % 7);
		if (pol)
			pol[i] = (enum idle_policy)(rand() % 4);
		if (req)
			req[i] = (rand() % 3) ? (rand() % 4000) / 1000.0 : 0;
	}
	energy.uj[ZONE_PACKAGE] = (uint64_t)rand() * (uint64_t)(rand() % 1000);
	energy.uj[ZONE_DRAM] = (uint64_t)rand();
	if (dram_mul > 0)
		energy.uj[ZONE_DRAM] *= (uint64_t)(rand() % dram_mul);
	energy.dt_ns = (uint64_t)(rand() % 3000) * 1000000;
}

/* Property: random ticks, any policy - conservation is exact every time. */
static void test_conservation_random(void **state)
{
	struct attrib_result r;
	srand(42);
	for (int iter = 0; iter < 2000; iter++) {
		random_tick(NULL, NULL, 0);
		struct attrib_input in = input((enum idle_policy)(iter % 4));
		in.idle_w[ZONE_PACKAGE] = (rand() % 100) / 3.0;
		assert_int_equal(attrib_compute(*state, &in, &r), 0);
		assert_conserved(&r);
	}
}

/* Per-entry idle policies: each workload under its own policy; over-subscription is
 * scaled down in proportion; system keeps the remainder. */
static void test_idle_per_entry(void **state)
{
	struct attrib_result r;
	double req[4] = { 0, 0.5, 0.25, 0.25 };
	enum idle_policy pol[4] = { IDLE_EVEN, IDLE_USAGE, IDLE_EVEN, IDLE_REQUEST };
	struct attrib_input in = tick(1000000000, IDLE_NONE); /* global policy must be ignored */
	in.cpu_request = req;
	in.entry_idle_policy = pol;
	/* package idle 10 J: /a usage 0.25 -> 2.5 J, /b even of 2 active -> 5 J,
	 * container request 0.25/1.0 -> 2.5 J; exactly 10 J, nothing scaled */
	compute_pkg(state, &in, &r, MODE_IDLE, 2500000, 5000000, 2500000, 0);

	/* 5 + 5 + 2.5 = 12.5 J wanted of 10 J: scaled by 0.8 */
	pol[1] = IDLE_EVEN;
	compute_pkg(state, &in, &r, MODE_IDLE, 4000000, 4000000, 2000000, 0);

	/* none for /a, request for /b without any requests known -> as even (5 J);
	 * the dynamic split is untouched by idle policies */
	pol[1] = IDLE_NONE;
	pol[2] = IDLE_REQUEST;
	pol[3] = IDLE_NONE;
	in.cpu_request = NULL;
	compute_pkg(state, &in, &r, MODE_IDLE, 0, 5000000, 0, 5000000);
	assert_pkg(&r, MODE_DYNAMIC, 7500000, ANY, ANY, ANY);

	/* an out-of-range policy value gives nothing (system keeps it), never a crash */
	pol[2] = (enum idle_policy)77;
	compute_pkg(state, &in, &r, MODE_IDLE, ANY, 0, ANY, ANY);
}

/* Random ticks with a random idle policy per workload and random requests. */
static void test_conservation_random_mixed(void **state)
{
	struct attrib_result r;
	enum idle_policy pol[4];
	double req[4];
	int scaled = 0;
	srand(4242);
	for (int iter = 0; iter < 5000; iter++) {
		random_tick(pol, req, 5);
		struct attrib_input in = input((enum idle_policy)(iter % 4));
		in.idle_w[ZONE_PACKAGE] = (rand() % 100) / 3.0;
		in.idle_w[ZONE_DRAM] = (rand() % 1000) / 7.0;
		in.entry_idle_policy = pol;
		in.cpu_request = (iter % 5) ? req : NULL;
		assert_int_equal(attrib_compute(*state, &in, &r), 0);
		assert_conserved(&r);
		uint64_t sum = 0;
		for (size_t i = 0; i < r.n; i++) {
			if (pol[r.shares[i].entry] == IDLE_NONE)
				assert_int_equal(r.shares[i].uj[ZONE_PACKAGE][MODE_IDLE], 0);
			sum += r.shares[i].uj[ZONE_PACKAGE][MODE_IDLE];
		}
		assert_true(sum <= r.node_uj[ZONE_PACKAGE][MODE_IDLE]);
		/* idle all handed out but rounding (< 1 uJ per workload): typical of the
		 * over-subscribed, scaled-down ticks */
		if (r.system_uj[ZONE_PACKAGE][MODE_IDLE] > 0 &&
		    r.system_uj[ZONE_PACKAGE][MODE_IDLE] < r.n)
			scaled++;
	}
	assert_true(scaled > 0);
}

/* A PMU feature that is not measured falls back to CPU time; a measured one is used. */
static void test_feature_selection(void **state)
{
	struct attrib_result r;
	struct attrib_input in = tick(1000000000, IDLE_NONE);
	in.zone_feature[ZONE_PACKAGE] = FEAT_INSTRUCTIONS;
	in.zone_feature[ZONE_DRAM] = FEAT_CACHE_MISSES;
	assert_int_equal(attrib_compute(*state, &in, &r), 0);
	assert_int_equal(r.used_feature[ZONE_PACKAGE], FEAT_CPU_TIME);
	assert_int_equal(r.shares[1].uj[ZONE_PACKAGE][MODE_DYNAMIC], 15000000);

	/* now instructions are measured: /a retires 3x what /b does */
	sample.feature_mask |= 1u << FEAT_INSTRUCTIONS;
	entries[0].delta[FEAT_INSTRUCTIONS] = 0;
	entries[1].delta[FEAT_INSTRUCTIONS] = 3000;
	entries[2].delta[FEAT_INSTRUCTIONS] = 1000;
	assert_int_equal(attrib_compute(*state, &in, &r), 0);
	assert_int_equal(r.used_feature[ZONE_PACKAGE], FEAT_INSTRUCTIONS);
	assert_int_equal(r.used_feature[ZONE_DRAM], FEAT_CPU_TIME);
	assert_pkg(&r, MODE_DYNAMIC, 22500000, 7500000, ANY, ANY);
	assert_conserved(&r);
}

/* attribution.test_bias (TEST ONLY): each workload's dynamic energy x (1 + bias) exactly,
 * taken from system dynamic, then idle; node totals and conservation stay exact. */
static void test_bias(void **state)
{
	struct attrib_result r;
	/* dyn 30 J: /a 7.5 J, /b 15 J, system 7.5 J (0.25 s of 1 s) */
	struct attrib_input in = tick(1000000000, IDLE_NONE);
	in.test_bias = 0.2; /* +4.5 J: from system's 7.5 J */
	compute_pkg(state, &in, &r, MODE_DYNAMIC, 9000000, 18000000, ANY, 3000000);
	assert_int_equal(r.node_uj[ZONE_PACKAGE][MODE_IDLE], 10000000);

	in.test_bias = 0.6; /* +13.5 J: 7.5 from system dynamic, 6 from idle */
	compute_pkg(state, &in, &r, MODE_DYNAMIC, 12000000, 24000000, ANY, 0);
	assert_int_equal(r.node_uj[ZONE_PACKAGE][MODE_IDLE], 4000000);
	assert_int_equal(r.node_uj[ZONE_PACKAGE][MODE_DYNAMIC], 36000000);

	in.test_bias = 5; /* +112.5 J wanted, 17.5 J there: scaled down, node still exact */
	assert_int_equal(attrib_compute(*state, &in, &r), 0);
	assert_true(r.node_uj[ZONE_PACKAGE][MODE_IDLE] <= 2); /* 1 uJ per workload rounding */
	assert_true(r.shares[1].uj[ZONE_PACKAGE][MODE_DYNAMIC] >
		    r.shares[0].uj[ZONE_PACKAGE][MODE_DYNAMIC]);
	assert_conserved(&r);

	in.test_bias = -0.5; /* halved, the rest to system */
	compute_pkg(state, &in, &r, MODE_DYNAMIC, 3750000, ANY, ANY, 18750000);
}

static void test_bad_args(void **state)
{
	(void)state;
	struct attrib_result r;
	assert_int_equal(attrib_compute(NULL, NULL, &r), -EINVAL);
	attrib_free(NULL);
}

WL_TEST_MAIN(
	WL_TEST_FIXTURE(test_dynamic_by_cpu_share),
	WL_TEST_FIXTURE(test_node_total_below_cgroup_sum),
	WL_TEST_FIXTURE(test_idle_policies),
	WL_TEST_FIXTURE(test_idle_clamped_to_measured),
	WL_TEST_FIXTURE(test_containers_only),
	WL_TEST_FIXTURE(test_conservation_random),
	WL_TEST_FIXTURE(test_idle_per_entry),
	WL_TEST_FIXTURE(test_conservation_random_mixed),
	WL_TEST_FIXTURE(test_feature_selection),
	WL_TEST_FIXTURE(test_bias),
	cmocka_unit_test(test_bad_args))
