/* kube_lines.h - splits a byte stream into '\n'-terminated lines, with a per-line cap.
 *
 * Used for the newline-delimited JSON of watch streams: bytes arrive in arbitrary
 * chunks (CURLOPT_WRITEFUNCTION); every complete line (without its '\n', a trailing
 * '\r' removed, empty lines skipped) is passed to the line callback, in a buffer valid
 * only during the call. A line longer than max_line bytes is never buffered: the
 * splitter calls the oversize callback once, discards bytes until the next '\n' and
 * carries on, so memory stays bounded by max_line on any stream.
 * A callback returning non-zero stops kube_lines_feed, which returns that value.
 *
 * Ownership: the caller owns the struct; kube_lines_release frees the buffer.
 */
#ifndef WATTLET_KUBE_LINES_H
#define WATTLET_KUBE_LINES_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/strbuf.h"

typedef int (*kube_line_fn)(const char *line, size_t len, void *ud);
typedef int (*kube_oversize_fn)(size_t seen, void *ud);

struct kube_lines {
	struct strbuf buf;
	size_t max_line;
	bool discarding;  /* inside an oversized line */
	size_t discarded; /* bytes of the current oversized line */
	kube_line_fn on_line;
	kube_oversize_fn on_oversize;
	void *ud;
};

void kube_lines_init(struct kube_lines *l, size_t max_line, kube_line_fn on_line,
		     kube_oversize_fn on_oversize, void *ud);
void kube_lines_release(struct kube_lines *l);
/* Forgets any partial line (before a new stream). */
void kube_lines_reset(struct kube_lines *l);
/* 0, or the first non-zero callback return. */
int kube_lines_feed(struct kube_lines *l, const char *data, size_t n);
/* Bytes of an unterminated last line still held (a stream that ended here was
 * truncated when this is non-zero); the partial line is dropped. */
size_t kube_lines_finish(struct kube_lines *l);

#endif
