#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int err_set(struct wl_err *e, int err_code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -err_code;
}

void *wl_zalloc(size_t size, const char *who, struct wl_err *e)
{
	void *p = calloc(1, size);

	if (!p) {
		if (who)
			err_set(e, ENOMEM, "%s: out of memory", who);
		else
			err_set(e, ENOMEM, "out of memory");
	}
	return p;
}

int read_fd(int fd, char *buf, size_t cap, size_t *len)
{
	size_t got = 0;
	int err = 0;

	if (!buf || cap == 0)
		return -EINVAL;
	for (;;) {
		ssize_t n;
		if (got == cap - 1) {
			char extra;
			n = read(fd, &extra, 1);
			if (n > 0)
				err = -EFBIG;
			else if (n < 0 && errno != EINTR)
				err = -errno;
			break;
		}
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (len)
		*len = got;
	return err;
}

int read_file(const char *path, char *buf, size_t cap, size_t *len)
{
	int fd, err;

	if (!buf || cap == 0)
		return -EINVAL;
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = read_fd(fd, buf, cap, len);
	close(fd);
	return err;
}

int read_str_file(const char *path, char *buf, size_t cap)
{
	size_t len;
	int err = read_file(path, buf, cap, &len);
	if (err)
		return err;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	return len ? 0 : -EINVAL;
}

static const char *skip_ws(const char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	return s;
}

/* The strict decimal parse behind parse_u64 and parse_i64: digits (after a sign only
 * when is_signed) with ASCII whitespace around them. The value goes to *u or *i; neither
 * is written on failure. */
static int parse_dec(const char *s, bool is_signed, uint64_t *u, int64_t *i)
{
	char *end;
	unsigned long long uv = 0;
	long long iv = 0;

	if (!s)
		return -EINVAL;
	s = skip_ws(s);
	if (!isdigit((unsigned char)*s) &&
	    !(is_signed && (*s == '-' || *s == '+') && isdigit((unsigned char)s[1])))
		return -EINVAL;
	errno = 0;
	if (is_signed)
		iv = strtoll(s, &end, 10);
	else
		uv = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*skip_ws(end) != '\0')
		return -EINVAL;
	if (is_signed)
		*i = (int64_t)iv;
	else
		*u = (uint64_t)uv;
	return 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	return parse_dec(s, false, out, NULL);
}

int parse_i64(const char *s, int64_t *out)
{
	return parse_dec(s, true, NULL, out);
}

int parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s)
		return -EINVAL;
	s = skip_ws(s);
	if (*s == '\0')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *skip_ws(end) != '\0')
		return -EINVAL;
	if (errno == ERANGE || !isfinite(v))
		return -ERANGE;
	*out = v;
	return 0;
}

int read_u64_file(const char *path, uint64_t *out)
{
	char buf[64];
	int err = read_file(path, buf, sizeof(buf), NULL);
	if (err)
		return err;
	return parse_u64(buf, out);
}

int fmt_path(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int path_join(char *out, size_t cap, const char *a, const char *b)
{
	size_t la = strlen(a);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (*b == '\0')
		return fmt_path(out, cap, "%.*s", (int)la, a);
	return fmt_path(out, cap, "%.*s/%s", (int)la, a, b);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

bool path_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* str_hash keeps the offset it has always used (one digit short of FNV's): it names
 * field managers of long node names (kube_agent), which must not change on upgrade.
 * mem_hash is standard FNV-1a 64 (checkpoint checksums, checkable by other tools). */
#define FNV64_OFFSET 1469598103934665603ull
#define FNV1A64_OFFSET 14695981039346656037ull
#define FNV64_PRIME 1099511628211ull

uint64_t str_hash(const char *s)
{
	uint64_t h = FNV64_OFFSET;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= FNV64_PRIME;
	}
	return h;
}

uint64_t mem_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = FNV1A64_OFFSET;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= FNV64_PRIME;
	}
	return h;
}
