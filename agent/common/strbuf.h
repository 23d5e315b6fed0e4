/* strbuf.h - a growing, NUL-terminated text buffer with a hard size cap.
 *
 * Ownership: the strbuf owns buf; strbuf_release() frees it (safe on a zeroed or
 * released strbuf). A zero-initialised struct strbuf is invalid: use strbuf_init().
 * Once an append would exceed cap the buffer keeps what it had, sb->overflow is set,
 * and that call and every later append return -E2BIG; callers check once at the end.
 */
#ifndef WATTLET_STRBUF_H
#define WATTLET_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap; /* hard limit on len + 1 */
	bool overflow;
};

void strbuf_init(struct strbuf *sb, size_t cap);
void strbuf_release(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb); /* len = 0, keeps memory, clears overflow */
int strbuf_add(struct strbuf *sb, const char *data, size_t n);
int strbuf_adds(struct strbuf *sb, const char *s);
int strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with the escaping Prometheus label values need (\\, \", \n). */
int strbuf_add_label_escaped(struct strbuf *sb, const char *s);
/* Appends s as the inside of a JSON string (quotes not included). */
int strbuf_add_json_escaped(struct strbuf *sb, const char *s);

#endif
