/* util.h - small helpers for reading kernel files, keeping errors and allocating.
 *
 * Return convention: 0 on success or a negative errno (constructors: NULL with the
 * struct wl_err filled). Nothing here logs; only wl_zalloc() allocates.
 *
 * struct wl_err carries a human-readable reason from a library module up to main,
 * which decides whether and how to log it. err_set() formats into it (NULL-safe).
 */
#ifndef WATTLET_UTIL_H
#define WATTLET_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WL_ERR_MAX 512

struct wl_err {
	char msg[WL_ERR_MAX];
};

/* Formats a message into e (if e is not NULL). Always returns -err_code, so
 * callers can write `return err_set(e, EINVAL, "bad %s", x);`. */
int err_set(struct wl_err *e, int err_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A zeroed block of size bytes (calloc), owned by the caller (free()). NULL when out of
 * memory, with e set to "out of memory" ("<who>: out of memory" when who is not NULL):
 * the allocation step of a constructor, `x = wl_zalloc(sizeof(*x), NULL, e);
 * if (!x) return NULL;`. */
void *wl_zalloc(size_t size, const char *who, struct wl_err *e);

/* Reads at most cap-1 bytes of path into buf and NUL-terminates it. *len (may be NULL)
 * gets the byte count. -EFBIG if the file is larger than cap-1 bytes. */
int read_file(const char *path, char *buf, size_t cap, size_t *len);
/* The same from an open fd (not closed here): for callers that open with their own
 * flags and checks (non-blocking, no links, file type). */
int read_fd(int fd, char *buf, size_t cap, size_t *len);

/* Reads a file holding one token (e.g. "package-0\n") into buf, trailing whitespace
 * removed. -EINVAL when empty. */
int read_str_file(const char *path, char *buf, size_t cap);

/* Strict unsigned decimal parse: leading/trailing ASCII whitespace allowed, nothing
 * else; -EINVAL on garbage or sign, -ERANGE on overflow. */
int parse_u64(const char *s, uint64_t *out);
int parse_i64(const char *s, int64_t *out);
/* Strict finite double parse with the same whitespace rule. */
int parse_double(const char *s, double *out);

/* read_file + parse_u64. */
int read_u64_file(const char *path, uint64_t *out);

/* Joins a and b with exactly one '/' into out; -ENAMETOOLONG if it does not fit. */
int path_join(char *out, size_t cap, const char *a, const char *b);

/* snprintf that reports truncation: 0 or -ENAMETOOLONG (for paths) */
int fmt_path(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
uint64_t mono_ns(void);
uint64_t real_ns(void);

/* true if path exists (any type) */
bool path_exists(const char *path);

/* 64-bit FNV-1a-style hash of the string's bytes (hash tables keyed by strings). */
uint64_t str_hash(const char *s);
/* 64-bit FNV-1a of n bytes (checksums of records). A single changed byte always changes
 * it: for a given byte every step is a bijection of the state. */
uint64_t mem_hash(const void *p, size_t n);

#endif
