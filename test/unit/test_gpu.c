/* test_gpu.c - zone gpu: energy from NVML readings (counter, power fallback, resets,
 * gaps, missing readings), the per-GPU split rules (SM share, exclusive, MIG), pid ->
 * cgroup mapping with bad /proc input, the attribution of external weights, and the
 * NVML loader against the stand-in library (test/stub/nvml_standin.c, not a GPU). */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/attrib/attrib.h"
#include "agent/meter/gpu_energy.h"
#include "agent/meter/nvml.h"
#include "agent/usage/gpu.h"
#include "test/unit/fixture.h"

#define S 1000000000ull

static struct gpu_reading mj_at(uint64_t mj, uint64_t t)
{
	return (struct gpu_reading){ .have_mj = true, .mj = mj, .t_ns = t };
}

static struct gpu_reading mw_at(uint32_t mw, uint64_t t)
{
	return (struct gpu_reading){ .have_mw = true, .mw = mw, .t_ns = t };
}

static uint64_t step(struct gpu_energy *s, struct gpu_reading r, enum gpu_step_res want)
{
	enum gpu_step_res res;
	uint64_t uj = 12345;

	assert_int_equal(gpu_energy_step(s, &r, 0, 0, &uj, &res), 0);
	assert_string_equal(gpu_step_name(res), gpu_step_name(want));
	return uj;
}

static void test_counter(void **state)
{
	struct gpu_energy s = { 0 };
	(void)state;

	assert_int_equal(step(&s, mj_at(1000000, 1 * S), GPU_STEP_BASE), 0);
	assert_true(s.use_counter);
	assert_int_equal(step(&s, mj_at(1000250, 2 * S), GPU_STEP_OK), 250000); /* 250 W */
	assert_int_equal(step(&s, mj_at(1000250, 3 * S), GPU_STEP_OK), 0);
	/* a reading with no counter value: error, baseline kept, the next covers the gap */
	assert_int_equal(step(&s, (struct gpu_reading){ .t_ns = 4 * S }, GPU_STEP_ERR), 0);
	assert_int_equal(step(&s, mj_at(1000850, 5 * S), GPU_STEP_OK), 600000); /* 2 s x 300 W */
}

static void test_counter_reset_and_jump(void **state)
{
	struct gpu_energy s = { 0 };
	(void)state;

	step(&s, mj_at(5000000, 1 * S), GPU_STEP_BASE);
	/* backwards: driver reload; 100 mJ since is plausible in 1 s */
	assert_int_equal(step(&s, mj_at(100, 2 * S), GPU_STEP_RESET), 100000);
	assert_int_equal(step(&s, mj_at(300, 3 * S), GPU_STEP_OK), 200000);
	/* backwards to an implausible value: reset, nothing counted */
	step(&s, mj_at(999999999, 4 * S), GPU_STEP_ERR); /* +1e6 J in 1 s: garbage once */
	assert_int_equal(step(&s, mj_at(999999999 + 200, 5 * S), GPU_STEP_RESET), 200000);
	assert_int_equal(step(&s, mj_at(999999999 + 400, 6 * S), GPU_STEP_OK), 200000);
	/* a one-off garbage spike is an error and the old baseline stays */
	step(&s, mj_at(5000000000ull, 7 * S), GPU_STEP_ERR);
	assert_int_equal(step(&s, mj_at(999999999 + 600, 8 * S), GPU_STEP_OK), 200000);
}

static void test_power(void **state)
{
	struct gpu_energy s = { 0 };
	uint64_t sum = 0;
	(void)state;

	step(&s, mw_at(100000, 1 * S), GPU_STEP_BASE);
	assert_false(s.use_counter);
	/* trapezoid: (100 + 200) / 2 W x 1 s */
	assert_int_equal(step(&s, mw_at(200000, 2 * S), GPU_STEP_OK), 150000000);
	/* missing power reading: error; the next integrates over 2 s (within max_gap) */
	step(&s, (struct gpu_reading){ .t_ns = 3 * S }, GPU_STEP_ERR);
	assert_int_equal(step(&s, mw_at(200000, 4 * S), GPU_STEP_OK), 400000000);
	/* a gap above max_gap (10 s) is not integrated */
	assert_int_equal(step(&s, mw_at(200000, 15 * S), GPU_STEP_GAP), 0);
	assert_int_equal(step(&s, mw_at(200000, 16 * S), GPU_STEP_OK), 200000000);
	/* garbage (above max_watts 2000 W) */
	step(&s, mw_at(3000000, 17 * S), GPU_STEP_ERR);
	/* sub-microjoule steps are carried: 1 mW for 0.5 ms = 0.5 uJ each */
	memset(&s, 0, sizeof(s));
	step(&s, mw_at(1, 0), GPU_STEP_BASE);
	for (uint64_t i = 1; i <= 10; i++)
		sum += step(&s, mw_at(1, i * 500000), GPU_STEP_OK);
	assert_int_equal(sum, 5);
}

static void test_energy_bad_args(void **state)
{
	struct gpu_energy s = { 0 };
	struct gpu_reading r = mj_at(10, 2 * S);
	enum gpu_step_res res;
	uint64_t uj;
	(void)state;

	assert_int_equal(gpu_energy_step(NULL, &r, 0, 0, &uj, &res), -EINVAL);
	/* nothing readable at first: no baseline yet */
	step(&s, (struct gpu_reading){ .t_ns = 1 * S }, GPU_STEP_ERR);
	step(&s, r, GPU_STEP_BASE);
	r.t_ns = 1 * S; /* time going backwards */
	assert_int_equal(gpu_energy_step(&s, &r, 0, 0, &uj, &res), -EINVAL);
}

/* gpu_split of dyn over in, into w (4 entries) zeroed first; returns the total given. */
static uint64_t split(const struct gpu_split_in *in, uint64_t dyn, uint64_t w[4],
		      enum gpu_rule *rule)
{
	memset(w, 0, 4 * sizeof(w[0]));
	return gpu_split(in, dyn, w, 4, rule);
}

/* split() gives total and reports rule. */
static void assert_split(const struct gpu_split_in *in, uint64_t dyn, uint64_t w[4],
			 uint64_t total, enum gpu_rule rule)
{
	enum gpu_rule got;

	assert_int_equal(split(in, dyn, w, &got), total);
	assert_int_equal(got, rule);
}

static void test_split_sm(void **state)
{
	struct gpu_split_proc p[3] = {
		{ .entry = 1, .sm = 700, .running = true, .mig = -1 },
		{ .entry = 2, .sm = 300, .running = true, .mig = -1 },
		{ .entry = 2, .sm = 0, .running = true, .mig = -1 }, /* no SM use: nothing */
	};
	struct gpu_split_in in = { .procs = p, .n = 3, .have_sm = true };
	uint64_t w[4] = { 0 };
	(void)state;

	assert_split(&in, 1000001, w, 700000 + 300000, GPU_RULE_SM);
	assert_int_equal(w[1], 700000);
	assert_int_equal(w[2], 300000);
	/* an unmapped process's part stays with system */
	p[1].entry = GPU_NO_ENTRY;
	assert_int_equal(split(&in, 1000000, w, NULL), 700000);
	assert_int_equal(w[2], 0);
	/* an entry index beyond the usage sample is never written */
	p[0].entry = 7;
	assert_int_equal(split(&in, 1000000, w, NULL), 0);
}

static void test_split_exclusive_even_none(void **state)
{
	struct gpu_split_proc p[2] = {
		{ .entry = 3, .running = true, .mig = -1 },
		{ .entry = 1, .running = true, .mig = -1 },
	};
	struct gpu_split_in in = { .procs = p, .n = 1, .have_sm = false };
	uint64_t w[4] = { 0 };
	(void)state;

	/* whole-GPU exclusive use without samples: the only process gets all */
	assert_split(&in, 999, w, 999, GPU_RULE_EVEN);
	assert_int_equal(w[3], 999);
	/* samples supported but all zero: even among the running processes */
	in.n = 2;
	in.have_sm = true;
	assert_int_equal(split(&in, 1001, w, NULL), 1000);
	assert_int_equal(w[3], 500);
	assert_int_equal(w[1], 500);
	/* no process: all to system */
	in.n = 0;
	assert_split(&in, 1000, w, 0, GPU_RULE_NONE);
}

static void test_split_mig(void **state)
{
	struct gpu_split_proc p[3] = {
		{ .entry = 1, .running = true, .mig = 0 },
		{ .entry = 2, .running = true, .mig = 0 },
		{ .entry = 3, .running = true, .mig = 2 },
	};
	unsigned sms[3] = { 66, 33, 0 };
	struct gpu_split_in in = { .procs = p, .n = 2, .mig_mode = true, .mig_sms = sms,
				   .n_mig = 2, .total_sms = 132 };
	uint64_t w[4] = { 0 };
	(void)state;

	/* MIG device 0 has half the SMs and two processes; device 1 none; 33 SMs unallocated */
	assert_split(&in, 1000000, w, 500000, GPU_RULE_MIG);
	assert_int_equal(w[1], 250000);
	assert_int_equal(w[2], 250000);
	/* no SM counts from NVML: an equal part per MIG device */
	sms[0] = sms[1] = 0;
	in.n = 3;
	in.n_mig = 3;
	assert_int_equal(split(&in, 900, w, NULL), 600);
	assert_int_equal(w[1], 150);
	assert_int_equal(w[2], 150);
	assert_int_equal(w[3], 300);
}

static void test_cgroup_of_text(void **state)
{
	char p[64];
	(void)state;

	assert_int_equal(gpu_cgroup_of_text("0::/kubepods/pod1/c1\n", true, NULL, p, sizeof(p)), 0);
	assert_string_equal(p, "/kubepods/pod1/c1");
	assert_int_equal(gpu_cgroup_of_text("12:memory:/m\n4:cpu,cpuacct:/a/b/\n0::/u\n", false,
					    "cpuacct", p, sizeof(p)), 0);
	assert_string_equal(p, "/a/b");
	/* a token, not a substring */
	assert_int_equal(gpu_cgroup_of_text("4:cpuacct_x:/a\n", false, "cpuacct", p, sizeof(p)),
			 -ENOENT);
	/* garbage lines are skipped; the good line still found */
	assert_int_equal(gpu_cgroup_of_text("garbage\n::\n1:\n0::/ok", true, NULL, p, sizeof(p)), 0);
	assert_string_equal(p, "/ok");
	assert_int_equal(gpu_cgroup_of_text("0::relative\n", true, NULL, p, sizeof(p)), -EINVAL);
	assert_int_equal(gpu_cgroup_of_text("0::/a/../b\n", true, NULL, p, sizeof(p)), -EINVAL);
	assert_int_equal(gpu_cgroup_of_text("0::\n", true, NULL, p, sizeof(p)), -EINVAL);
	assert_int_equal(gpu_cgroup_of_text("1:name=systemd:/x\n", true, NULL, p, sizeof(p)), -ENOENT);
	assert_int_equal(gpu_cgroup_of_text("", true, NULL, p, sizeof(p)), -ENOENT);
	assert_int_equal(gpu_cgroup_of_text("0::/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
					    true, NULL, p, sizeof(p)), -ENAMETOOLONG);
	assert_int_equal(gpu_cgroup_of_text("4:cpu:/a\n", false, NULL, p, sizeof(p)), -EINVAL);
	/* seen from a private cgroup namespace: leading "/.." removed, matched as a suffix */
	assert_int_equal(gpu_cgroup_of_text("0::/../../pod1/c1\n", true, NULL, p, sizeof(p)), 1);
	assert_string_equal(p, "/pod1/c1");
	assert_int_equal(gpu_cgroup_of_text("0::/../..\n", true, NULL, p, sizeof(p)), -ENOENT);
	assert_int_equal(gpu_cgroup_of_text("0::/../x/../y\n", true, NULL, p, sizeof(p)), -EINVAL);
	assert_int_equal(gpu_cgroup_of_text("0::/..x/y\n", true, NULL, p, sizeof(p)), 0);
}

static char tmpdir[PATH_MAX];

/* Writes text to <tmpdir>/<rel>, making rel's directory (one level) first. */
static void put(const char *rel, const char *text)
{
	char dir[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, rel);
	*strrchr(dir, '/') = '\0';
	mkdir(dir, 0755);
	fixture_write(tmpdir, rel, text);
}

static void test_map(void **state)
{
	struct usage_entry e[5] = {
		{ .id = 1, .path = "/" },
		{ .id = 2, .path = "/kubepods" },
		{ .id = 3, .path = "/kubepods/pod1/c1" },
		{ .id = 4, .path = "/kubepods/pod1/c10" },
		{ .id = 5, .path = NULL },
	};
	struct usage_sample us = { .entries = e, .n = 5 };
	struct gpu_map_opts o = { .proc_root = tmpdir, .v2 = true };
	struct wl_err err = { "" };
	struct gpu_map *m;
	char big[20000], dir[PATH_MAX + 16];
	int h100, h104, h106, h107, h108, h109, h110;
	(void)state;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/wattlet-test-gpu-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	put("100/cgroup", "0::/kubepods/pod1/c1\n");
	put("101/cgroup", "this is not a cgroup file\n");
	snprintf(dir, sizeof(dir), "%s/103/cgroup", tmpdir); /* a directory in its place */
	mkdir(dir, 0755);
	*strrchr(dir, '/') = '\0';
	snprintf(dir + strlen(dir), 16, "/cgroup");
	mkdir(dir, 0755);
	put("104/cgroup", "0::/kubepods/pod1/c1/deeper/still\n"); /* below the walked depth */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put("105/cgroup", big);
	put("106/cgroup", "0::/kubepods/pod1/c10\n");
	put("107/cgroup", "0::/kubepods/pod1/c1x\n"); /* not c1: a sibling name with c1 as prefix */
	put("108/cgroup", "0::/\n");
	put("109/cgroup", "0::/../../pod1/c10\n"); /* from another cgroup namespace */
	put("110/cgroup", "0::/../../pod9/c1\n");  /* no entry ends with it */

	m = gpu_map_new(&o, &err);
	assert_non_null(m);
	gpu_map_begin(m);
	h100 = gpu_map_add(m, 100);
	assert_true(h100 >= 0);
	assert_int_equal(gpu_map_add(m, 100), h100); /* once per tick */
	assert_int_equal(gpu_map_add(m, 101), -ENOENT);
	assert_int_equal(gpu_map_add(m, 102), -ENOENT); /* exited */
	assert_true(gpu_map_add(m, 103) < 0);
	h104 = gpu_map_add(m, 104);
	assert_int_equal(gpu_map_add(m, 105), -EFBIG);
	h106 = gpu_map_add(m, 106);
	h107 = gpu_map_add(m, 107);
	h108 = gpu_map_add(m, 108);
	h109 = gpu_map_add(m, 109);
	h110 = gpu_map_add(m, 110);
	assert_int_equal(gpu_map_add(m, 0), -EINVAL);
	assert_int_equal(gpu_map_resolve(m, &us), 0);
	assert_int_equal(gpu_map_entry(m, h100), 2);
	assert_int_equal(gpu_map_entry(m, h104), 2);  /* nearest ancestor */
	assert_int_equal(gpu_map_entry(m, h106), 3);
	assert_int_equal(gpu_map_entry(m, h107), 1);  /* /kubepods, not c1 */
	assert_int_equal(gpu_map_entry(m, h108), 0);  /* the root: system */
	assert_int_equal(gpu_map_entry(m, h109), 3);  /* suffix of /kubepods/pod1/c10 */
	assert_int_equal(gpu_map_entry(m, h110), GPU_NO_ENTRY);
	assert_int_equal(gpu_map_entry(m, -ENOENT), GPU_NO_ENTRY);
	assert_int_equal(gpu_map_entry(m, 999), GPU_NO_ENTRY);
	/* a new tick forgets the pids: a changed file is read again */
	put("100/cgroup", "0::/kubepods/pod1/c10\n");
	gpu_map_begin(m);
	h100 = gpu_map_add(m, 100);
	gpu_map_resolve(m, &us);
	assert_int_equal(gpu_map_entry(m, h100), 3);
	gpu_map_free(m);
	gpu_map_free(NULL);
	{
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_attrib_ext(void **state)
{
	struct usage_entry e[3] = { { .id = 1, .path = "/" }, { .id = 2, .path = "/a" },
				    { .id = 3, .path = "/b" } };
	struct usage_sample us = { .entries = e, .n = 3, .feature_mask = 1u << FEAT_CPU_TIME };
	struct meter_delta md = { .dt_ns = S, .zone_mask = 1u << ZONE_GPU };
	uint64_t w[3] = { 5, 700, 300 }; /* the root's weight stays with system */
	struct attrib_input in = { .energy = &md, .usage = &us, .idle_policy = IDLE_NONE };
	struct attrib_result res;
	struct attrib *a = attrib_new();
	uint64_t sum;
	(void)state;

	e[1].delta[FEAT_CPU_TIME] = 1; /* CPU time would split 50/50: the weights must win */
	e[2].delta[FEAT_CPU_TIME] = 1;
	md.uj[ZONE_GPU] = 2000000;
	in.idle_w[ZONE_GPU] = 1.0; /* 1 W: 1 J of the 2 J is idle */
	in.ext_mask = 1u << ZONE_GPU;
	in.ext_weight[ZONE_GPU] = w;
	in.ext_total[ZONE_GPU] = 2000;
	assert_int_equal(attrib_compute(a, &in, &res), 0);
	assert_int_equal(res.n, 2);
	assert_int_equal(res.node_uj[ZONE_GPU][MODE_IDLE], 1000000);
	assert_int_equal(res.shares[0].uj[ZONE_GPU][MODE_DYNAMIC], 350000);
	assert_int_equal(res.shares[1].uj[ZONE_GPU][MODE_DYNAMIC], 150000);
	for (int m = 0; m < MODE_COUNT; m++) {
		sum = res.system_uj[ZONE_GPU][m];
		for (size_t i = 0; i < res.n; i++)
			sum += res.shares[i].uj[ZONE_GPU][m];
		assert_int_equal(sum, res.node_uj[ZONE_GPU][m]);
	}
	attrib_free(a);
}

/* ---- the loader against the stand-in library ----------------------------------- */

static char standin[PATH_MAX + 64], script[PATH_MAX];

static void write_script(const char *text)
{
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int find_standin(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	/* build/test/test_gpu and build/test-asan/test_gpu: the library is in build/test */
	snprintf(standin, sizeof(standin), "%s/../test/libnvidia-ml.so.1", exe);
	snprintf(script, sizeof(script), "/tmp/wattlet-test-nvml-%d.script", (int)getpid());
	return access(standin, R_OK);
}

static void test_nvml_absent(void **state)
{
	struct nvml_opts o = { .library = "/nonexistent/libnvidia-ml.so.1" };
	struct nvml_probe p;
	struct wl_err err = { "" };
	(void)state;

	assert_null(nvml_open(&o, &p, &err));
	assert_non_null(strstr(p.reason, "no NVIDIA GPU: library /nonexistent/libnvidia-ml.so.1 not loaded"));
	assert_false(p.loaded);
	nvml_close(NULL);
}

static void test_nvml_standin(void **state)
{
	struct nvml_opts o = { 0 };
	struct nvml_probe p;
	struct wl_err err = { "" };
	struct nvml_gpu *g;
	size_t n;
	struct nvml *nv;
	(void)state;

	if (find_standin() != 0)
		skip(); /* built by the Makefile next to the tests (order-only prerequisite) */
	o.library = standin;
	/* no script: nvmlInit fails, and the reason says so */
	unsetenv("WATTLET_NVML_STANDIN");
	assert_null(nvml_open(&o, &p, &err));
	assert_non_null(strstr(p.reason, "no NVIDIA GPU: nvmlInit failed"));

	setenv("WATTLET_NVML_STANDIN", script, 1);
	write_script("gpu power_mw=1 energy_mj=1000 util=50\n"
		     "proc gpu=0 pid=11 sm=70\nproc gpu=0 pid=12 sm=30\n"
		     "gpu power_mw=150000 counter=0 samples=0 compute_mode=3\nproc gpu=1 pid=13\n"
		     "gpu power_mw=1 energy_mj=0 mig=1 sms=132\nmig gpu=2 gi=3 sms=66\n"
		     "proc gpu=2 pid=14 mig=0\n");
	nv = nvml_open(&o, &p, &err);
	assert_non_null(nv);
	assert_int_equal(p.n_gpus, 3);
	assert_non_null(strstr(p.reason, "STAND-IN (not a GPU)"));
	assert_string_equal(p.driver, "stand-in");

	assert_int_equal(nvml_read(nv, 1 * S, &g, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(g[0].res, GPU_STEP_BASE);
	assert_true(g[0].counter);
	assert_false(g[1].counter);

	write_script("gpu power_mw=1 energy_mj=1250 util=50\n"
		     "proc gpu=0 pid=11 sm=70\nproc gpu=0 pid=12 sm=30\n"
		     "gpu power_mw=150000 counter=0 samples=0 compute_mode=3\nproc gpu=1 pid=13\n"
		     "gpu power_mw=1 energy_mj=300 mig=1 sms=132\nmig gpu=2 gi=3 sms=66\n"
		     "proc gpu=2 pid=14 mig=0\n");
	assert_int_equal(nvml_read(nv, 2 * S, &g, &n), 0);
	assert_int_equal(g[0].res, GPU_STEP_OK);
	assert_int_equal(g[0].uj, 250000);
	assert_true(g[0].util > 0.49 && g[0].util < 0.51);
	assert_true(g[0].have_sm);
	assert_int_equal(g[0].n_procs, 2);
	assert_int_equal(g[0].procs[0].pid, 11);
	assert_int_equal(g[0].procs[0].sm, 70);
	assert_true(g[0].procs[0].running);
	assert_int_equal(g[1].uj, 150000000); /* 150 W x 1 s, power integrated */
	assert_true(g[1].exclusive);
	assert_false(g[1].have_sm);
	assert_int_equal(g[1].n_procs, 1);
	assert_true(g[2].mig_mode);
	assert_int_equal(g[2].n_mig, 1);
	assert_int_equal(g[2].mig[0].gi_id, 3);
	assert_int_equal(g[2].mig[0].sms, 66);
	assert_int_equal(g[2].total_sms, 132);
	assert_int_equal(g[2].n_procs, 1);
	assert_int_equal(g[2].procs[0].mig, 0);
	assert_int_equal(g[2].uj, 300000);

	/* a failing GPU: error with the call named, the others still read */
	write_script("gpu power_mw=1 energy_mj=1300 fail=energy\n"
		     "gpu power_mw=150000 counter=0 samples=0\n"
		     "gpu power_mw=1 energy_mj=400 mig=1\n");
	assert_int_equal(nvml_read(nv, 3 * S, &g, &n), 0);
	assert_int_equal(g[0].res, GPU_STEP_ERR);
	assert_string_equal(g[0].err_call, "nvmlDeviceGetTotalEnergyConsumption");
	assert_int_equal(g[0].err, -ENODEV); /* GPU is lost */
	assert_int_equal(g[2].uj, 100000);
	/* it reads again: the counter covers the gap */
	write_script("gpu power_mw=1 energy_mj=1400\ngpu power_mw=150000 counter=0\n"
		     "gpu power_mw=1 energy_mj=500 mig=1\n");
	assert_int_equal(nvml_read(nv, 4 * S, &g, &n), 0);
	assert_int_equal(g[0].res, GPU_STEP_OK);
	assert_int_equal(g[0].uj, 150000);
	nvml_close(nv);
	unlink(script);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_counter),
	cmocka_unit_test(test_counter_reset_and_jump),
	cmocka_unit_test(test_power),
	cmocka_unit_test(test_energy_bad_args),
	cmocka_unit_test(test_split_sm),
	cmocka_unit_test(test_split_exclusive_even_none),
	cmocka_unit_test(test_split_mig),
	cmocka_unit_test(test_cgroup_of_text),
	cmocka_unit_test(test_map),
	cmocka_unit_test(test_attrib_ext),
	cmocka_unit_test(test_nvml_absent),
	cmocka_unit_test(test_nvml_standin))
