/* test_ledger.c - totals, retention, atomic checkpoint, corrupt and failing checkpoints. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/ledger/ledger.h"

#define SEC 1000000000ull

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wattlet-ledger-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void add_tick(struct ledger *l, const char *key, uint64_t uj, uint64_t now)
{
	ledger_begin_tick(l);
	struct ledger_row *r = ledger_row_get(l, key);
	assert_non_null(r);
	r->uj[ZONE_PACKAGE][MODE_DYNAMIC] += uj;
	ledger_node(l)->uj[ZONE_PACKAGE][MODE_DYNAMIC] += uj;
	ledger_commit_tick(l, now);
}

static void test_rows_and_retention(void **state)
{
	(void)state;
	struct ledger *l = ledger_new(60 * SEC);
	add_tick(l, "/a", 5, 1 * SEC);
	add_tick(l, "/a", 7, 2 * SEC);
	const struct ledger_row *a = ledger_find(l, "/a");
	assert_non_null(a);
	assert_int_equal(a->uj[ZONE_PACKAGE][MODE_DYNAMIC], 12);
	assert_false(a->terminated);
	/* /a not seen: terminated but totals kept */
	add_tick(l, "/b", 1, 3 * SEC);
	a = ledger_find(l, "/a");
	assert_true(a->terminated);
	assert_int_equal(a->uj[ZONE_PACKAGE][MODE_DYNAMIC], 12);
	assert_int_equal(ledger_expire(l, 30 * SEC), 0);
	assert_int_equal(ledger_expire(l, 63 * SEC), 1);
	assert_null(ledger_find(l, "/a"));
	assert_non_null(ledger_find(l, "/b"));
	/* seen again: same row comes back to life with its totals */
	add_tick(l, "/b", 1, 64 * SEC);
	assert_int_equal(ledger_find(l, "/b")->uj[ZONE_PACKAGE][MODE_DYNAMIC], 2);
	ledger_free(l);
}

static void test_many_rows_index(void **state)
{
	(void)state;
	struct ledger *l = ledger_new(1);
	char key[32];
	ledger_begin_tick(l);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "/cg/%d", i);
		ledger_row_get(l, key)->cpu_ns = (uint64_t)i;
	}
	ledger_commit_tick(l, SEC);
	ledger_begin_tick(l);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "/cg/%d", i);
		ledger_row_get(l, key);
	}
	ledger_commit_tick(l, 2 * SEC);
	assert_int_equal(ledger_expire(l, 3 * SEC), 2500);
	assert_int_equal(ledger_count(l), 2500);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "/cg/%d", i);
		const struct ledger_row *r = ledger_find(l, key);
		if (i % 2) {
			assert_null(r);
		} else {
			assert_non_null(r);
			assert_int_equal(r->cpu_ns, i);
		}
	}
	ledger_free(l);
}

static void test_checkpoint_round_trip(void **state)
{
	(void)state;
	char path[128];
	struct wl_err err = { "" };
	struct ledger *l = ledger_new(60 * SEC), *m = ledger_new(60 * SEC);
	snprintf(path, sizeof(path), "%s/ledger.ckpt", dir);
	add_tick(l, "/weird path\\with\nnewline", 123456789012ull, SEC);
	add_tick(l, LEDGER_SYSTEM_KEY, 42, 2 * SEC);
	ledger_node(l)->learned_idle_w[ZONE_PACKAGE] = 9.75;
	((struct ledger_row *)ledger_find(l, LEDGER_SYSTEM_KEY))->co2e_g = 0.125;
	assert_int_equal(ledger_save(l, path, &err), 0);
	assert_int_equal(ledger_load(m, path, &err), 0);
	assert_int_equal(ledger_count(m), 2);
	const struct ledger_row *r = ledger_find(m, "/weird path\\with\nnewline");
	assert_non_null(r);
	assert_int_equal(r->uj[ZONE_PACKAGE][MODE_DYNAMIC], 123456789012ull);
	assert_true(r->terminated); /* until seen again */
	assert_true(ledger_find(m, LEDGER_SYSTEM_KEY)->is_system);
	assert_true(ledger_find(m, LEDGER_SYSTEM_KEY)->co2e_g == 0.125);
	assert_true(r->co2e_g == 0);
	assert_int_equal(ledger_node_c(m)->uj[ZONE_PACKAGE][MODE_DYNAMIC], 123456789054ull);
	assert_int_equal(ledger_node_c(m)->ticks, 2);
	assert_true(ledger_node_c(m)->learned_idle_w[ZONE_PACKAGE] == 9.75);
	assert_false(path_exists(strcat(path, ".tmp")));
	ledger_free(l);
	ledger_free(m);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_corrupt_checkpoints_change_nothing(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"not a ledger\n",
		"wattlet-ledger 1\n",                               /* truncated */
		"wattlet-ledger 1\nnode 1 1 2 3\nend 0\n",          /* short node */
		"wattlet-ledger 1\nnode 1 0 0 0 0 0 0 0 0 0 0 0 0\nrow 1 0 0 0 0 0 0 0 0 0 0 0 0 /a\n",
		"wattlet-ledger 1\nnode 1 0 0 0 0 0 0 0 0 0 0 0 0\nend 5\n",
		"wattlet-ledger 1\nnode 1 0 0 0 0 0 0 0 0 0 0 0 x\nend 0\n",
		"wattlet-ledger 1\nnode 1 0 0 0 0 0 0 0 0 0 0 0 0\nbogus\nend 0\n",
		"wattlet-ledger 1\nnode 1 0 0 0 0 0 0 0 0 0 0 0 0\nrow 1 0 0 0 0 0 0 0 0 0 0 0 0 /a\n"
		"row 1 0 0 0 0 0 0 0 0 0 0 0 0 /a\nend 2\n",
		"wattlet-ledger 1\nnode 1 -1 0 0 0 0 0 0 0 0 0 0 0\nend 0\n",
		"wattlet-ledger 1\nnode 1 0 0 0 0 0 0 0 0 0 0 0 0\nco2e 1\nend 0\n", /* no row */
		"wattlet-ledger 1\nnode 1 0 0 0 0 0 0 0 0 0 0 0 0\nrow 1 0 0 0 0 0 0 0 0 0 0 0 0 /a\n"
		"co2e -2\nend 1\n",
	};
	char path[128];
	struct wl_err err;
	snprintf(path, sizeof(path), "%s/bad.ckpt", dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ledger *l = ledger_new(SEC);
		add_tick(l, "/keep", 77, SEC);
		write_text(path, bad[i]);
		err.msg[0] = '\0';
		assert_int_equal(ledger_load(l, path, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "checkpoint"));
		assert_int_equal(ledger_find(l, "/keep")->uj[ZONE_PACKAGE][MODE_DYNAMIC], 77);
		ledger_free(l);
	}
	struct ledger *l = ledger_new(SEC);
	assert_int_equal(ledger_load(l, "/nonexistent/x", &err), -ENOENT);
	ledger_free(l);
}

static void test_save_failure_reports(void **state)
{
	(void)state;
	struct wl_err err = { "" };
	struct ledger *l = ledger_new(SEC);
	add_tick(l, "/a", 1, SEC);
	assert_int_equal(ledger_save(l, "/nonexistent-dir/ledger.ckpt", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cannot create"));
	ledger_free(l);
}

/* A full disk: a 64 KiB tmpfs filled up. Needs root (mount); skips otherwise. */
static void test_save_disk_full_keeps_old_checkpoint(void **state)
{
	(void)state;
	char mnt[128], path[160], fill[160], key[64];
	struct wl_err err = { "" };
	snprintf(mnt, sizeof(mnt), "%s/full", dir);
	mkdir(mnt, 0700);
	if (geteuid() != 0 || mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
		print_message("skipped: disk-full test needs root to mount a small tmpfs\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/ledger.ckpt", mnt);
	struct ledger *l = ledger_new(SEC);
	add_tick(l, "/a", 1, SEC);
	assert_int_equal(ledger_save(l, path, &err), 0);
	snprintf(fill, sizeof(fill), "%s/filler", mnt);
	FILE *f = fopen(fill, "w");
	char block[4096] = { 0 };
	while (f && fwrite(block, 1, sizeof(block), f) == sizeof(block) && fflush(f) == 0)
		;
	if (f)
		fclose(f);
	ledger_begin_tick(l);
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "/a/long-enough-name-%d", i);
		ledger_row_get(l, key);
	}
	ledger_commit_tick(l, 2 * SEC);
	int rc = ledger_save(l, path, &err);
	assert_int_equal(rc, -ENOSPC);
	assert_non_null(strstr(err.msg, "No space"));
	/* the previous checkpoint is intact */
	struct ledger *m = ledger_new(SEC);
	assert_int_equal(ledger_load(m, path, &err), 0);
	assert_int_equal(ledger_count(m), 1);
	ledger_free(m);
	ledger_free(l);
	umount(mnt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_and_retention),
		cmocka_unit_test(test_many_rows_index),
		cmocka_unit_test(test_checkpoint_round_trip),
		cmocka_unit_test(test_corrupt_checkpoints_change_nothing),
		cmocka_unit_test(test_save_failure_reports),
		cmocka_unit_test(test_save_disk_full_keeps_old_checkpoint),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
