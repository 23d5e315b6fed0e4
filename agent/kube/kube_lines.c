#include "kube_lines.h"

#include <string.h>

void kube_lines_init(struct kube_lines *l, size_t max_line, kube_line_fn on_line,
		     kube_oversize_fn on_oversize, void *ud)
{
	memset(l, 0, sizeof(*l));
	l->max_line = max_line ? max_line : 1;
	strbuf_init(&l->buf, l->max_line + 1);
	l->on_line = on_line;
	l->on_oversize = on_oversize;
	l->ud = ud;
}

void kube_lines_release(struct kube_lines *l)
{
	if (l)
		strbuf_release(&l->buf);
}

void kube_lines_reset(struct kube_lines *l)
{
	strbuf_reset(&l->buf);
	l->discarding = false;
	l->discarded = 0;
}

static int emit(struct kube_lines *l, const char *p, size_t n)
{
	if (n && p[n - 1] == '\r')
		n--;
	if (!n || !l->on_line)
		return 0;
	return l->on_line(p, n, l->ud);
}

int kube_lines_feed(struct kube_lines *l, const char *data, size_t n)
{
	while (n) {
		const char *nl = memchr(data, '\n', n);
		size_t take = nl ? (size_t)(nl - data) : n;
		int rc = 0;

		if (l->discarding) {
			l->discarded += take;
			if (nl)
				l->discarding = false;
		} else if (l->buf.len + take > l->max_line) {
			size_t seen = l->buf.len + take;
			strbuf_reset(&l->buf);
			l->discarding = !nl;
			l->discarded = seen;
			if (l->on_oversize)
				rc = l->on_oversize(seen, l->ud);
		} else if (nl && l->buf.len == 0) {
			rc = emit(l, data, take); /* whole line in this chunk: no copy */
		} else {
			strbuf_add(&l->buf, data, take); /* fits: checked above */
			if (nl) {
				rc = emit(l, l->buf.buf, l->buf.len);
				strbuf_reset(&l->buf);
			}
		}
		if (nl) {
			take++;
		}
		data += take;
		n -= take;
		if (rc)
			return rc;
	}
	return 0;
}

size_t kube_lines_finish(struct kube_lines *l)
{
	size_t left = l->discarding ? l->discarded : l->buf.len;
	kube_lines_reset(l);
	return left;
}
