#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(struct strbuf *sb, size_t cap)
{
	memset(sb, 0, sizeof(*sb));
	sb->cap = cap ? cap : 1;
}

void strbuf_release(struct strbuf *sb)
{
	if (!sb)
		return;
	free(sb->buf);
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	sb->overflow = false;
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->overflow = false;
	if (sb->buf)
		sb->buf[0] = '\0';
}

static int grow(struct strbuf *sb, size_t extra)
{
	size_t need, nalloc;
	char *nb;

	if (sb->overflow)
		return -E2BIG;
	if (extra > sb->cap || sb->len + extra + 1 > sb->cap) {
		sb->overflow = true;
		return -E2BIG;
	}
	need = sb->len + extra + 1;
	if (need <= sb->alloc)
		return 0;
	nalloc = sb->alloc ? sb->alloc : 256;
	while (nalloc < need)
		nalloc *= 2;
	if (nalloc > sb->cap)
		nalloc = sb->cap;
	nb = realloc(sb->buf, nalloc);
	if (!nb)
		return -ENOMEM;
	sb->buf = nb;
	sb->alloc = nalloc;
	return 0;
}

int strbuf_add(struct strbuf *sb, const char *data, size_t n)
{
	int err = grow(sb, n);
	if (err)
		return err;
	memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_adds(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n, err;
	size_t avail;

	if (sb->overflow)
		return -E2BIG;
	/* try in place first; most appends fit */
	avail = sb->alloc > sb->len ? sb->alloc - sb->len : 0;
	va_start(ap, fmt);
	n = vsnprintf(avail ? sb->buf + sb->len : NULL, avail, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < avail) {
		sb->len += (size_t)n;
		return 0;
	}
	err = grow(sb, (size_t)n);
	if (err) {
		if (sb->buf)
			sb->buf[sb->len] = '\0';
		return err;
	}
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return 0;
}

/* The escape sequence for c, written into tmp when it is built, or NULL to copy c. */
typedef const char *(*escape_fn)(unsigned char c, char tmp[8]);

/* Appends s, each character that esc replaces written as its replacement: the runs
 * between replaced characters are copied whole. Inlined into each caller, so esc is a
 * direct (inlined) call per character, not an indirect one: this runs for every label
 * value of every /metrics render. */
static inline __attribute__((always_inline)) int add_escaped(struct strbuf *sb, const char *s,
							     escape_fn esc)
{
	const char *run = s;
	int err = 0;

	for (; *s && !err; s++) {
		char tmp[8];
		const char *rep = esc((unsigned char)*s, tmp);
		if (!rep)
			continue;
		err = strbuf_add(sb, run, (size_t)(s - run));
		if (!err)
			err = strbuf_adds(sb, rep);
		run = s + 1;
	}
	if (!err)
		err = strbuf_add(sb, run, (size_t)(s - run));
	return err;
}

static const char *label_escape(unsigned char c, char tmp[8])
{
	(void)tmp;
	if (c == '\\')
		return "\\\\";
	if (c == '"')
		return "\\\"";
	if (c == '\n')
		return "\\n";
	return NULL;
}

static const char *json_escape(unsigned char c, char tmp[8])
{
	if (c == '\t')
		return "\\t";
	if (c >= 0x20 || c == '\n')
		return label_escape(c, tmp);
	snprintf(tmp, 8, "\\u%04x", c);
	return tmp;
}

int strbuf_add_label_escaped(struct strbuf *sb, const char *s)
{
	return add_escaped(sb, s, label_escape);
}

int strbuf_add_json_escaped(struct strbuf *sb, const char *s)
{
	return add_escaped(sb, s, json_escape);
}
