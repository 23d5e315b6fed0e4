/* test_ledger.c - totals, retention, atomic checkpoint, corrupt and failing checkpoints,
 * planted links, checksums, consistency, special files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/ledger/ledger.h"

#define SEC 1000000000ull

static char dir[64];
static char ckpt[128]; /* dir/ledger.ckpt: the checkpoint file most tests write and load */

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wattlet-ledger-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(ckpt, sizeof(ckpt), "%s/ledger.ckpt", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128], mnt[128];
	snprintf(mnt, sizeof(mnt), "%s/full", dir); /* the disk-full test's tmpfs, if it failed */
	umount2(mnt, MNT_DETACH);
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

static int count_in(const char *in, const char *prefix);

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
	assert_int_equal(ledger_load(m, path, NULL, &err), 0);
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
	assert_int_equal(count_in(dir, ".ledger.ckpt.tmp-"), 0);
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
		struct ledger_load_info info;
		assert_int_equal(ledger_load(l, path, &info, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "checkpoint"));
		/* moved aside, never left to be loaded again */
		assert_false(path_exists(path));
		assert_non_null(strstr(info.set_aside, "/bad.ckpt.bad-"));
		assert_true(path_exists(info.set_aside));
		assert_int_equal(ledger_find(l, "/keep")->uj[ZONE_PACKAGE][MODE_DYNAMIC], 77);
		ledger_free(l);
	}
	struct ledger *l = ledger_new(SEC);
	assert_int_equal(ledger_load(l, "/nonexistent/x", NULL, &err), -ENOENT);
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
	assert_int_equal(count_in(mnt, ".ledger.ckpt.tmp-"), 0); /* the temporary file is removed */
	/* the previous checkpoint is intact */
	struct ledger *m = ledger_new(SEC);
	assert_int_equal(ledger_load(m, path, NULL, &err), 0);
	assert_int_equal(ledger_count(m), 1);
	ledger_free(m);
	ledger_free(l);
	umount(mnt);
}

/* --- helpers for the state-file tests -------------------------------------- */

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void write_bytes(const char *path, const char *p, size_t n)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* Flips bits `mask` of the byte `off` bytes into the first match of needle that comes
 * after the first match of `after`. */
static void flip(const char *path, const char *after, const char *needle, size_t off,
		 unsigned char mask)
{
	size_t n;
	char *buf = read_text(path, &n);
	char *a = strstr(buf, after);
	assert_non_null(a);
	char *p = strstr(a, needle);
	assert_non_null(p);
	p[off] = (char)(p[off] ^ mask);
	write_bytes(path, buf, n);
	free(buf);
}

/* Entries of directory in whose name starts with prefix. */
static int count_in(const char *in, const char *prefix)
{
	DIR *d = opendir(in);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static int count_prefixed(const char *prefix)
{
	return count_in(dir, prefix);
}

static bool is_link(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

static bool is_regular(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A ledger with rows /a, /b, /c and system whose node is their exact sum. */
static struct ledger *three_rows(void)
{
	struct ledger *l = ledger_new(60 * SEC);
	ledger_begin_tick(l);
	ledger_row_get(l, "/a")->uj[ZONE_PACKAGE][MODE_DYNAMIC] = 1111;
	ledger_row_get(l, "/b")->uj[ZONE_PACKAGE][MODE_DYNAMIC] = 2222;
	ledger_row_get(l, "/c")->uj[ZONE_PACKAGE][MODE_DYNAMIC] = 3333;
	ledger_row_get(l, LEDGER_SYSTEM_KEY)->uj[ZONE_PACKAGE][MODE_IDLE] = 4444;
	ledger_node(l)->uj[ZONE_PACKAGE][MODE_DYNAMIC] = 6666;
	ledger_node(l)->uj[ZONE_PACKAGE][MODE_IDLE] = 4444;
	ledger_node(l)->learned_idle_w[ZONE_PACKAGE] = 3.5;
	ledger_commit_tick(l, SEC);
	return l;
}

/* A ledger holding only /keep = 77 uJ: what a refused load must leave untouched. */
static struct ledger *keeper(void)
{
	struct ledger *l = ledger_new(SEC);
	add_tick(l, "/keep", 77, SEC);
	return l;
}

static void assert_kept(const struct ledger *m)
{
	assert_int_equal(ledger_count(m), 1);
	assert_int_equal(ledger_find(m, "/keep")->uj[ZONE_PACKAGE][MODE_DYNAMIC], 77);
}

/* Writes dir/name holding "precious\n" (its path into victim): the target of the links
 * the tests plant where the ledger writes. */
static void plant_victim(char *victim, size_t size, const char *name)
{
	snprintf(victim, size, "%s/%s", dir, name);
	write_text(victim, "precious\n");
}

/* The victim still holds exactly what plant_victim wrote. */
static void assert_victim_intact(const char *victim)
{
	char *v = read_text(victim, NULL);
	assert_string_equal(v, "precious\n");
	free(v);
}

static uint64_t tmp_seq[4];
static size_t tmp_next;
static uint64_t fixed_random(void)
{
	return tmp_seq[tmp_next++ % 4];
}

/* --- planted links ------------------------------------------------------------ */

static void test_save_never_writes_through_planted_links(void **state)
{
	(void)state;
	char pods[160], victim[128], old_tmp[160], old_pods_tmp[176], guess[192];
	struct wl_err err = { "" };
	struct ledger *l = three_rows();

	snprintf(pods, sizeof(pods), "%s.pods", ckpt);
	plant_victim(victim, sizeof(victim), "victim");
	snprintf(old_tmp, sizeof(old_tmp), "%s.tmp", ckpt);
	snprintf(old_pods_tmp, sizeof(old_pods_tmp), "%s.tmp", pods);
	/* the names the previous version wrote through */
	assert_int_equal(symlink(victim, old_tmp), 0);
	assert_int_equal(symlink(victim, old_pods_tmp), 0);
	/* and the first name this version will try: it must move on to the next one */
	tmp_seq[0] = 0x1111;
	tmp_seq[1] = 0x2222;
	tmp_next = 0;
	ledger_test_tmp_random = fixed_random;
	snprintf(guess, sizeof(guess), "%s/.ledger.ckpt.tmp-0000000000001111", dir);
	assert_int_equal(symlink(victim, guess), 0);

	assert_int_equal(ledger_save(l, ckpt, &err), 0);
	tmp_next = 0;
	snprintf(guess, sizeof(guess), "%s/.ledger.ckpt.pods.tmp-0000000000001111", dir);
	assert_int_equal(symlink(victim, guess), 0);
	assert_int_equal(ledger_save(l, pods, &err), 0);
	ledger_test_tmp_random = NULL;
	assert_int_equal(tmp_next, 2); /* the planted name was skipped, the next one used */

	assert_victim_intact(victim);
	assert_true(is_link(old_tmp));
	assert_true(is_link(old_pods_tmp));
	assert_true(is_link(guess));
	assert_true(is_regular(ckpt));
	assert_true(is_regular(pods));
	/* only the planted links remain under temporary names */
	assert_int_equal(count_prefixed(".ledger.ckpt.tmp-"), 1);
	assert_int_equal(count_prefixed(".ledger.ckpt.pods.tmp-"), 1);

	/* a symlink at the checkpoint itself is replaced by rename, not followed */
	assert_int_equal(unlink(ckpt), 0);
	assert_int_equal(symlink(victim, ckpt), 0);
	assert_int_equal(ledger_save(l, ckpt, &err), 0);
	assert_true(is_regular(ckpt));
	assert_victim_intact(victim);
	struct ledger *m = ledger_new(SEC);
	assert_int_equal(ledger_load(m, ckpt, NULL, &err), 0);
	assert_int_equal(ledger_count(m), 4);
	ledger_free(m);
	ledger_free(l);
}

static void test_load_refuses_symlink(void **state)
{
	(void)state;
	char real[128];
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *l = three_rows(), *m = keeper();

	snprintf(real, sizeof(real), "%s/elsewhere.ckpt", dir);
	assert_int_equal(ledger_save(l, real, &err), 0);
	assert_int_equal(symlink(real, ckpt), 0);
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -ELOOP);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_kept(m);
	/* the link (not its target) was moved aside */
	assert_false(path_exists(ckpt));
	assert_true(is_link(info.set_aside));
	assert_true(is_regular(real));
	ledger_free(m);
	ledger_free(l);
}

/* --- checksums ---------------------------------------------------------------- */

static void test_node_bit_flip_refused(void **state)
{
	(void)state;
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *l = three_rows(), *m = keeper();

	assert_int_equal(ledger_save(l, ckpt, &err), 0);
	flip(ckpt, "\nnode ", " 6666 ", 4, 0x01); /* 6666 -> 6667: still a number */
	size_t n;
	char *flipped = read_text(ckpt, &n);
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "checksum mismatch in the node record (line 2)"));
	assert_non_null(strstr(err.msg, "nothing restored"));
	assert_kept(m);
	/* kept aside as it was */
	assert_false(path_exists(ckpt));
	assert_non_null(strstr(err.msg, info.set_aside));
	char *aside = read_text(info.set_aside, NULL);
	assert_string_equal(aside, flipped);
	free(aside);
	free(flipped);
	ledger_free(m);
	ledger_free(l);
}

static void test_row_bit_flip_drops_only_that_row(void **state)
{
	(void)state;
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *l = three_rows();

	/* a flipped digit in /b's total (line 5), then a flipped key: /c -> /b */
	for (int k = 0; k < 2; k++) {
		struct ledger *m = keeper();
		assert_int_equal(ledger_save(l, ckpt, &err), 0);
		if (k == 0)
			flip(ckpt, "\nrow ", " 2222 ", 1, 0x01); /* 2222 -> 3222 */
		else
			flip(ckpt, " 3333 ", " /c #", 2, 0x01); /* 'c' -> 'b' */
		assert_int_equal(ledger_load(m, ckpt, &info, &err), -EBADMSG);
		assert_non_null(strstr(err.msg, k == 0 ? "1 record(s) fail their checksum (first at line 5)"
						  : "1 record(s) fail their checksum (first at line 6)"));
		assert_non_null(strstr(err.msg, "restored the node totals and 3 intact row(s), 1 row(s) lost"));
		assert_int_equal(info.version, 2);
		assert_int_equal(info.rows, 3);
		assert_int_equal(info.rows_dropped, 1);
		assert_false(info.rows_lost_unknown);
		assert_false(info.idle_dropped);
		/* the node and every intact row are restored exactly */
		assert_null(ledger_find(m, "/keep"));
		assert_int_equal(ledger_node_c(m)->uj[ZONE_PACKAGE][MODE_DYNAMIC], 6666);
		assert_int_equal(ledger_node_c(m)->uj[ZONE_PACKAGE][MODE_IDLE], 4444);
		assert_true(ledger_node_c(m)->learned_idle_w[ZONE_PACKAGE] == 3.5);
		assert_int_equal(ledger_find(m, "/a")->uj[ZONE_PACKAGE][MODE_DYNAMIC], 1111);
		assert_int_equal(ledger_find(m, LEDGER_SYSTEM_KEY)->uj[ZONE_PACKAGE][MODE_IDLE], 4444);
		if (k == 0) {
			assert_null(ledger_find(m, "/b"));
			assert_int_equal(ledger_find(m, "/c")->uj[ZONE_PACKAGE][MODE_DYNAMIC], 3333);
		} else {
			/* /c's energy is not handed to /b */
			assert_null(ledger_find(m, "/c"));
			assert_int_equal(ledger_find(m, "/b")->uj[ZONE_PACKAGE][MODE_DYNAMIC], 2222);
		}
		assert_false(path_exists(ckpt));
		assert_true(is_regular(info.set_aside));
		ledger_free(m);
	}
	/* a damaged idle record: the idle model relearns, everything else is kept */
	struct ledger *m = keeper();
	assert_int_equal(ledger_save(l, ckpt, &err), 0);
	flip(ckpt, "\nidle ", "3.5", 0, 0x01); /* 3.5 -> 2.5 */
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -EBADMSG);
	assert_true(info.idle_dropped);
	assert_non_null(strstr(err.msg, "learned idle not restored"));
	assert_true(ledger_node_c(m)->learned_idle_w[ZONE_PACKAGE] < 0);
	assert_int_equal(ledger_count(m), 4);
	ledger_free(m);
	ledger_free(l);
}

/* A record with a valid checksum that does not parse was written that way. */
static void test_intact_but_invalid_record_refused(void **state)
{
	(void)state;
	struct wl_err err = { "" };
	struct ledger *m = keeper();
	/* "row x" with a correct FNV-1a 64 of "row x" */
	uint64_t h = 0xcbf29ce484222325ull;
	for (const char *p = "row x"; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ull;
	}
	char text[512];
	struct ledger *l = ledger_new(SEC);
	assert_int_equal(ledger_save(l, ckpt, &err), 0);
	char *good = read_text(ckpt, NULL);
	char *end = strstr(good, "end 0");
	assert_non_null(end);
	*end = '\0';
	snprintf(text, sizeof(text), "%srow x #%016llx\n", good, (unsigned long long)h);
	write_text(ckpt, text);
	assert_int_equal(ledger_load(m, ckpt, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "parse error at line 4: bad row record"));
	assert_kept(m);
	free(good);
	ledger_free(l);
	ledger_free(m);
}

/* --- consistency ------------------------------------------------------------ */

static void test_rows_exceeding_node_refused(void **state)
{
	(void)state;
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *l = three_rows(), *m = keeper();

	/* checksums are right (the numbers were wrong in memory): the invariant catches it */
	ledger_node(l)->uj[ZONE_PACKAGE][MODE_DYNAMIC] = 6665;
	assert_int_equal(ledger_save(l, ckpt, &err), 0);
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "rows exceed node in zone package, mode dynamic "
					"(rows 6666 uJ > node 6665 uJ)"));
	assert_kept(m);
	assert_true(is_regular(info.set_aside));

	/* the same in a format 1 file (loaded silently before) */
	char text[1024], z12[64] = "", zidle[64] = "";
	for (int i = 1; i < ZONE_COUNT * MODE_COUNT; i++)
		strcat(z12, " 0");
	for (int i = 0; i < ZONE_COUNT; i++)
		strcat(zidle, " -1.000000");
	snprintf(text, sizeof(text),
		 "wattlet-ledger 1\nnode 3 100%s\nidle%s\nrow 1 60%s /a\nrow 1 50%s system\nend 2\n",
		 z12, zidle, z12, z12);
	write_text(ckpt, text);
	assert_int_equal(ledger_load(m, ckpt, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "rows 110 uJ > node 100 uJ"));
	assert_kept(m);
	/* a ledger whose node totals are not kept (pod aggregates) loads it */
	write_text(ckpt, text);
	ledger_set_rows_share_node(m, false);
	assert_int_equal(ledger_load(m, ckpt, NULL, &err), 0);
	assert_int_equal(ledger_find(m, "/a")->uj[ZONE_PACKAGE][MODE_DYNAMIC], 60);
	ledger_free(m);

	/* expired rows take their energy away: rows summing below the node load */
	ledger_free(l);
	l = ledger_new(10 * SEC);
	add_tick(l, "/gone", 500, 1 * SEC);
	add_tick(l, "/stays", 7, 20 * SEC);
	assert_int_equal(ledger_expire(l, 20 * SEC), 1);
	assert_int_equal(ledger_save(l, ckpt, &err), 0);
	m = ledger_new(SEC);
	assert_int_equal(ledger_load(m, ckpt, NULL, &err), 0);
	assert_int_equal(ledger_node_c(m)->uj[ZONE_PACKAGE][MODE_DYNAMIC], 507);
	assert_int_equal(ledger_count(m), 1);
	ledger_free(m);
	ledger_free(l);
}

/* --- formats and damage ---------------------------------------------------- */

static void test_old_format_still_loads(void **state)
{
	(void)state;
	char text[1024], z11[64] = "", zidle[64] = "";
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *m = keeper();

	for (int i = 1; i < ZONE_COUNT * MODE_COUNT; i++)
		strcat(z11, " 0");
	for (int i = 1; i < ZONE_COUNT; i++)
		strcat(zidle, " -1.000000");
	snprintf(text, sizeof(text),
		 "wattlet-ledger 1\nnode 7 500%s\nidle 9.500000%s\nrow 11 300%s /pod/x\nco2e 0.5\n"
		 "row 0 200%s system\nend 2\n", z11, zidle, z11, z11);
	write_text(ckpt, text);
	assert_int_equal(ledger_load(m, ckpt, &info, &err), 0);
	assert_int_equal(info.version, 1);
	assert_int_equal(info.set_aside[0], '\0');
	assert_int_equal(ledger_count(m), 2);
	assert_int_equal(ledger_node_c(m)->ticks, 7);
	assert_int_equal(ledger_node_c(m)->uj[ZONE_PACKAGE][MODE_DYNAMIC], 500);
	assert_true(ledger_node_c(m)->learned_idle_w[ZONE_PACKAGE] == 9.5);
	const struct ledger_row *x = ledger_find(m, "/pod/x");
	assert_int_equal(x->uj[ZONE_PACKAGE][MODE_DYNAMIC], 300);
	assert_int_equal(x->cpu_ns, 11);
	assert_true(x->co2e_g == 0.5);
	/* written back in format 2, which loads to the same totals */
	assert_int_equal(ledger_save(m, ckpt, &err), 0);
	char *now = read_text(ckpt, NULL);
	assert_int_equal(strncmp(now, "wattlet-ledger 2\n", 17), 0);
	free(now);
	struct ledger *n = ledger_new(SEC);
	assert_int_equal(ledger_load(n, ckpt, &info, &err), 0);
	assert_int_equal(info.version, 2);
	assert_true(ledger_find(n, "/pod/x")->co2e_g == 0.5);
	assert_int_equal(ledger_find(n, LEDGER_SYSTEM_KEY)->uj[ZONE_PACKAGE][MODE_DYNAMIC], 200);
	ledger_free(n);
	ledger_free(m);
}

static void test_truncated_checkpoint(void **state)
{
	(void)state;
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *l = three_rows();
	size_t n;

	assert_int_equal(ledger_save(l, ckpt, &err), 0);
	char *full = read_text(ckpt, &n);
	size_t row_c = (size_t)(strstr(full, " /c #") - full); /* inside /c's record */
	size_t row_a = (size_t)(strstr(full, "\nrow ") - full) + 1;
	size_t node_mid = (size_t)(strstr(full, "\nnode ") - full) + 8;

	/* cut inside /c's record: node, /a and /b restored; how many rows were lost is unknown */
	struct ledger *m = keeper();
	write_bytes(ckpt, full, row_c);
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "no intact end record (truncated?)"));
	assert_non_null(strstr(err.msg, "an unknown number of rows lost"));
	assert_true(info.rows_lost_unknown);
	assert_int_equal(ledger_count(m), 2);
	assert_non_null(ledger_find(m, "/b"));
	assert_null(ledger_find(m, "/c"));
	assert_int_equal(ledger_node_c(m)->uj[ZONE_PACKAGE][MODE_DYNAMIC], 6666);
	ledger_free(m);

	/* cut right before the rows: the node alone */
	m = keeper();
	write_bytes(ckpt, full, row_a);
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -EBADMSG);
	assert_int_equal(ledger_count(m), 0);
	assert_int_equal(ledger_node_c(m)->uj[ZONE_PACKAGE][MODE_IDLE], 4444);
	ledger_free(m);

	/* cut inside the node record, or after the magic: nothing */
	m = keeper();
	write_bytes(ckpt, full, node_mid);
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "checksum mismatch in the node record"));
	assert_kept(m);
	write_bytes(ckpt, full, 17);
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "truncated (no node record)"));
	assert_kept(m);
	/* only the final newline lost: every record is intact, all restored */
	write_bytes(ckpt, full, n - 1);
	assert_int_equal(ledger_load(m, ckpt, &info, &err), 0);
	assert_int_equal(ledger_count(m), 4);
	ledger_free(m);
	free(full);
	ledger_free(l);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "ledger_load blocked on a special file\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

static void test_special_files_refused_without_blocking(void **state)
{
	(void)state;
	char path[128];
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *m = keeper();
	struct stat st;

	signal(SIGALRM, on_alarm);
	alarm(10);
	snprintf(path, sizeof(path), "%s/fifo.ckpt", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(ledger_load(m, path, &info, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is a FIFO, not a regular file"));
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISFIFO(st.st_mode)); /* left in place */
	assert_kept(m);
	/* a save replaces the FIFO (rename), it does not open it */
	assert_int_equal(ledger_save(m, path, &err), 0);
	assert_true(is_regular(path));

	snprintf(path, sizeof(path), "%s/dir.ckpt", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(ledger_load(m, path, &info, &err), -EISDIR);
	assert_non_null(strstr(err.msg, "is a directory"));
	assert_true(path_exists(path));
	assert_int_equal(ledger_save(m, path, &err), -EISDIR);
	assert_int_equal(count_prefixed(".dir.ckpt.tmp-"), 0);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	assert_kept(m);
	ledger_free(m);
}

static void test_oversized_checkpoint_refused(void **state)
{
	(void)state;
	char path[128];
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *m = keeper();

	snprintf(path, sizeof(path), "%s/big.ckpt", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "wattlet-ledger 2\n", 17), 17);
	assert_int_equal(ftruncate(fd, (256 << 20) + 1), 0); /* sparse */
	close(fd);
	assert_int_equal(ledger_load(m, path, &info, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "too large (268435457 bytes"));
	assert_kept(m);
	assert_false(path_exists(path));
	assert_true(is_regular(info.set_aside));
	unlink(info.set_aside);
	ledger_free(m);
}

/* Moving a bad file aside never replaces or follows what is at the new name. */
static void test_set_aside_never_replaces(void **state)
{
	(void)state;
	char victim[128], planted[192];
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *m = keeper();
	long long now = (long long)time(NULL);

	plant_victim(victim, sizeof(victim), "victim2");
	for (int i = 0; i < 30; i++) { /* now and the next 29 s: a loaded machine may be slow */
		snprintf(planted, sizeof(planted), "%s.bad-%lld", ckpt, now + i);
		assert_int_equal(symlink(victim, planted), 0);
	}
	write_text(ckpt, "garbage one\n");
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -EINVAL);
	assert_non_null(strstr(info.set_aside, ".bad-"));
	assert_non_null(strstr(info.set_aside + strlen(ckpt), ".1"));
	char first[sizeof(info.set_aside)];
	strcpy(first, info.set_aside);
	write_text(ckpt, "garbage two\n");
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -EINVAL);
	assert_string_not_equal(info.set_aside, first);
	char *a = read_text(first, NULL), *b = read_text(info.set_aside, NULL);
	assert_string_equal(a, "garbage one\n");
	assert_string_equal(b, "garbage two\n");
	free(a);
	free(b);
	assert_victim_intact(victim);
	assert_kept(m);
	ledger_free(m);
}

/* Temporary files a crash left between create and rename are removed at load: only
 * regular files of exactly this path's pattern, never a link or another path's file. */
static void test_stale_tmps_removed_at_load(void **state)
{
	(void)state;
	char p[256], victim[128];
	struct wl_err err = { "" };
	struct ledger_load_info info;
	struct ledger *m = keeper();
	const char *keep[] = { ".ledger.ckpt.pods.tmp-0123456789abcdef",
			       ".ledger.ckpt.tmp-0123456789abcdeg", ".ledger.ckpt.tmp-01234" };

	plant_victim(victim, sizeof(victim), "victim3");
	snprintf(p, sizeof(p), "%s/.ledger.ckpt.tmp-0123456789abcdef", dir);
	write_text(p, "half a checkpoint");
	snprintf(p, sizeof(p), "%s/.ledger.ckpt.tmp-fedcba9876543210", dir);
	assert_int_equal(symlink(victim, p), 0);
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, keep[i]);
		write_text(p, "not ours");
	}
	assert_int_equal(ledger_load(m, ckpt, &info, &err), -ENOENT);
	assert_int_equal(info.stale_tmps_removed, 1);
	snprintf(p, sizeof(p), "%s/.ledger.ckpt.tmp-0123456789abcdef", dir);
	assert_false(path_exists(p));
	snprintf(p, sizeof(p), "%s/.ledger.ckpt.tmp-fedcba9876543210", dir);
	assert_true(path_exists(p)); /* a link is left alone, and its target too */
	unlink(p);
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, keep[i]);
		assert_true(is_regular(p));
		unlink(p);
	}
	assert_victim_intact(victim);
	unlink(victim);
	ledger_free(m);
}

/* every test gets a fresh directory */
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

WL_TEST_MAIN(
	T(test_rows_and_retention),
	T(test_many_rows_index),
	T(test_checkpoint_round_trip),
	T(test_corrupt_checkpoints_change_nothing),
	T(test_save_failure_reports),
	T(test_save_disk_full_keeps_old_checkpoint),
	T(test_save_never_writes_through_planted_links),
	T(test_load_refuses_symlink),
	T(test_node_bit_flip_refused),
	T(test_row_bit_flip_drops_only_that_row),
	T(test_intact_but_invalid_record_refused),
	T(test_rows_exceeding_node_refused),
	T(test_old_format_still_loads),
	T(test_truncated_checkpoint),
	T(test_special_files_refused_without_blocking),
	T(test_oversized_checkpoint_refused),
	T(test_set_aside_never_replaces),
	T(test_stale_tmps_removed_at_load))
