/* fixture.h - the unit tests' fixture files: test/fixtures, or $WATTLET_FIXTURES when set
 * (the tests run from the repository root or from an installed tree).
 *
 * Header-only (each unit test is one .c file linked with the library); include it after
 * <cmocka.h>: a path that does not fit or a file that cannot be read fails the test.
 * fixture_slurp() returns a malloc'd buffer the test frees; fixture_write() writes into
 * a test's own temporary tree and fixture_rm_tree() removes such a tree.
 */
#ifndef WATTLET_TEST_FIXTURE_H
#define WATTLET_TEST_FIXTURE_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/common/util.h"

static inline const char *fixture_dir(void)
{
	const char *d = getenv("WATTLET_FIXTURES");

	return d && *d ? d : "test/fixtures";
}

/* <fixture dir>/<sub>/<name> into out. */
static inline void fixture_path(char *out, size_t cap, const char *sub, const char *name)
{
	assert_int_equal(fmt_path(out, cap, "%s/%s/%s", fixture_dir(), sub, name), 0);
}

/* The whole of <fixture dir>/<sub>/<name> (at most cap - 1 bytes), NUL-terminated. */
static inline char *fixture_slurp(const char *sub, const char *name, size_t cap, size_t *len)
{
	char p[512];
	char *buf = malloc(cap);

	assert_non_null(buf);
	fixture_path(p, sizeof(p), sub, name);
	assert_int_equal(read_file(p, buf, cap, len), 0);
	return buf;
}

/* Writes text to <dir>/<name> (a file of the test's own temporary tree). */
static inline void fixture_write(const char *dir, const char *name, const char *text)
{
	char p[1024];
	FILE *f;

	assert_int_equal(fmt_path(p, sizeof(p), "%s/%s", dir, name), 0);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/* Removes p and, when it is a directory, everything below it (links are removed, not
 * followed). Best effort: what cannot be removed stays. */
static inline void fixture_rm_tree(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *de;

	if (!d) {
		unlink(p);
		return;
	}
	while ((de = readdir(d))) {
		char c[PATH_MAX];
		struct stat st;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (path_join(c, sizeof(c), p, de->d_name))
			continue;
		if (lstat(c, &st) == 0 && S_ISDIR(st.st_mode))
			fixture_rm_tree(c);
		else
			unlink(c);
	}
	closedir(d);
	rmdir(p);
}

/* A 64-hex-digit container id: the two characters given, repeated (static buffer: valid
 * until the next call). */
static inline const char *fixture_cid(const char *two)
{
	static char buf[65];

	for (int i = 0; i < 64; i += 2)
		memcpy(buf + i, two, 2);
	buf[64] = '\0';
	return buf;
}

#endif
