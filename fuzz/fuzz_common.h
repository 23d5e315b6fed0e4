/* fuzz_common.h - helpers shared by the libFuzzer targets in fuzz/ (see fuzz/fuzz.mk).
 *
 * Every target is one LLVMFuzzerTestOneInput() driving one parser through its public
 * header. Targets abort() when a property that must hold is broken (a parsed value that
 * does not read back the same, an accepted input whose re-rendering is refused), so
 * libFuzzer reports it like a sanitizer crash. Files go to one private temporary
 * directory per process (under /dev/shm when it exists), removed at exit.
 */
#ifndef WATTLET_FUZZ_COMMON_H
#define WATTLET_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Feeds the JSON object obj to a set of the PREFIX_set_* API (model, policy): a list's
 * items in one sync (PREFIX_set_begin_sync, PREFIX_set_upsert of each item,
 * PREFIX_set_end_sync), or the object itself; upsert errors are expected and ignored.
 * Needs <jansson.h> and the set's header. */
#define FZ_SET_UPSERT(prefix, set, obj, e)                                  \
	do {                                                                \
		json_t *fz_items_ = json_object_get((obj), "items");        \
		if (json_is_array(fz_items_)) {                             \
			size_t fz_i_;                                       \
			json_t *fz_it_;                                     \
			prefix##_set_begin_sync(set);                       \
			json_array_foreach (fz_items_, fz_i_, fz_it_)       \
				(void)prefix##_set_upsert((set), fz_it_, (e)); \
			prefix##_set_end_sync(set);                         \
		} else {                                                    \
			(void)prefix##_set_upsert((set), (obj), (e));       \
		}                                                           \
	} while (0)

/* data as a NUL-terminated string (embedded NULs end it early); free() it */
static inline char *fz_cstr(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	if (n)
		memcpy(s, d, n);
	s[n] = '\0';
	return s;
}

static char fz_dir[64];

static void fz_rmdir(void)
{
	DIR *d = opendir(fz_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(fz_dir);
}

/* The process's private directory, created on first use. */
static inline const char *fz_tmpdir(void)
{
	if (!fz_dir[0]) {
		snprintf(fz_dir, sizeof(fz_dir), "%s/wattlet-fuzz-XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(fz_dir))
			abort();
		atexit(fz_rmdir);
	}
	return fz_dir;
}

/* "<tmpdir>/<name>" into out (static storage of the caller) */
static inline const char *fz_path(char *out, size_t cap, const char *name)
{
	if (snprintf(out, cap, "%s/%s", fz_tmpdir(), name) >= (int)cap)
		abort();
	return out;
}

/* Replaces path with a regular file holding n bytes of d. */
static inline void fz_write_file(const char *path, const void *d, size_t n)
{
	const char *p = d;
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		abort();
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			abort();
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

/* abort() with a message: a broken property, reported by libFuzzer as a crash */
#define FZ_CHECK(cond, ...)                                                              \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "fuzz property failed: %s: ", #cond);            \
			fprintf(stderr, __VA_ARGS__);                                    \
			fputc('\n', stderr);                                             \
			abort();                                                         \
		}                                                                        \
	} while (0)

#endif
