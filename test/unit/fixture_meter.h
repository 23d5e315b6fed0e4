/* fixture_meter.h - what the meter tests share (test_meter.c, test_meter_read.c): a
 * copy of test/fixtures/meter/<name> in a fresh /tmp/wl-meter-* directory, files and MSR
 * registers written into it, and meter options whose roots point there. A failed step
 * fails the test. Include after <cmocka.h>. */
#ifndef WATTLET_TEST_FIXTURE_METER_H
#define WATTLET_TEST_FIXTURE_METER_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/meter/meter.h"
#include "agent/meter/meter_impl.h"
#include "test/unit/fixture.h"

#define SEC 1000000000ull
#define T0 (1000 * SEC)
#define BIT(z) (1u << (z))

/* Copies test/fixtures/meter/<name> into a fresh temp dir (world-readable). */
static inline void copy_tree(const char *name, char *out, size_t cap)
{
	char cmd[1024];

	snprintf(out, cap, "/tmp/wl-meter-XXXXXX");
	assert_non_null(mkdtemp(out));
	assert_int_equal(chmod(out, 0755), 0);
	snprintf(cmd, sizeof(cmd), "cp -a '%s/meter/%s/.' '%s/'", fixture_dir(), name, out);
	assert_int_equal(system(cmd), 0);
}

static inline void rm_tree(const char *dir)
{
	char cmd[600];
	if (strncmp(dir, "/tmp/wl-meter-", 14) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static inline void put(const char *root, const char *rel, const char *val)
{
	fixture_write(root, rel, val);
}

static inline void put_u64(const char *root, const char *rel, uint64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%llu\n", (unsigned long long)v);
	put(root, rel, b);
}

static inline void write_msr(const char *root, int cpu, uint64_t off, uint64_t v)
{
	char p[700];
	unsigned char b[8];
	int fd;

	snprintf(p, sizeof(p), "%s/dev/cpu/%d", root, cpu);
	mkdir(p, 0755); /* parents made by the caller */
	snprintf(p, sizeof(p), "%s/dev/cpu/%d/msr", root, cpu);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	assert_int_equal(pwrite(fd, b, 8, (off_t)off), 8);
	close(fd);
}

struct fx {
	char root[256], sys[300], dev[300], proc[300];
	struct meter_opts o;
};

static inline void fx_init(struct fx *f, const char *name, enum meter_kind k)
{
	copy_tree(name, f->root, sizeof(f->root));
	snprintf(f->sys, sizeof(f->sys), "%s/sys", f->root);
	snprintf(f->dev, sizeof(f->dev), "%s/dev", f->root);
	snprintf(f->proc, sizeof(f->proc), "%s/proc", f->root);
	memset(&f->o, 0, sizeof(f->o));
	f->o.order[0] = k;
	f->o.n_order = 1;
	f->o.sysfs_root = f->sys;
	f->o.dev_root = f->dev;
	f->o.proc_root = f->proc;
}

static inline struct meter *fx_open(struct fx *f, struct meter_probe *probe)
{
	struct meter_probe local[METER_KIND_COUNT];
	return meter_open(&f->o, probe ? probe : local);
}

/* fx_init(f, name, k) and a meter opened on it (the probe results not kept); fails the
 * test when none opens. The caller ends it with fx_end(). */
static inline struct meter *fx_start(struct fx *f, const char *name, enum meter_kind k)
{
	struct meter *m;

	fx_init(f, name, k);
	m = fx_open(f, NULL);
	assert_non_null(m);
	return m;
}

/* A meter opened on f (probe results in probe, or not kept when NULL) that measures
 * exactly the zones in mask; fails the test otherwise. */
static inline struct meter *fx_open_zones(struct fx *f, struct meter_probe *probe,
					  uint32_t mask)
{
	struct meter *m = fx_open(f, probe);

	assert_non_null(m);
	assert_int_equal(meter_zone_mask(m), mask);
	return m;
}

/* fx_init(f, name, k) and fx_open_zones(f, NULL, mask). */
static inline struct meter *fx_start_zones(struct fx *f, const char *name, enum meter_kind k,
					   uint32_t mask)
{
	fx_init(f, name, k);
	return fx_open_zones(f, NULL, mask);
}

/* Makes <root>/dev/cpu, where write_msr puts the MSR files. */
static inline void fx_make_cpu_dir(struct fx *f)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/dev/cpu", f->root);
	assert_int_equal(mkdir(f->dev, 0755), 0);
	assert_int_equal(mkdir(p, 0755), 0);
}

/* Closes m (may be NULL) and removes f's temporary tree. */
static inline void fx_end(struct fx *f, struct meter *m)
{
	meter_close(m);
	rm_tree(f->root);
}

#define PC "sys/devices/virtual/powercap/intel-rapl/"

#endif
