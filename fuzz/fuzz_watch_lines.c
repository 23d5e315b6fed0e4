/* fuzz_watch_lines.c - a watch stream: bytes in arbitrary chunks through the line
 * splitter (kube_lines, small per-line cap), each line through kube_watch_parse_event,
 * Pod objects into a kube_pods table as the informer does. The first input byte picks
 * the chunk size. */
#include "fuzz_common.h"

#include <jansson.h>

#include "agent/kube/kube_lines.h"
#include "agent/kube/kube_pods.h"
#include "agent/kube/kube_watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINE 4096

static int on_line(const char *line, size_t len, void *ud)
{
	struct kube_pods *p = ud;
	enum kube_ev_type type;
	json_t *obj = NULL;
	char rv[64];
	long code = 0;
	struct wl_err e = { "" };

	FZ_CHECK(len <= MAX_LINE, "line of %zu bytes passed the %d cap", len, MAX_LINE);
	FZ_CHECK(memchr(line, '\n', len) == NULL, "line holds a newline");
	if (kube_watch_parse_event(line, len, &type, &obj, rv, sizeof(rv), &code, &e) != 0)
		return 0;
	FZ_CHECK(strlen(rv) < sizeof(rv), "rv not terminated");
	if (type == KUBE_EV_ADDED || type == KUBE_EV_MODIFIED)
		(void)kube_pods_upsert(p, obj, &e);
	else if (type == KUBE_EV_DELETED)
		(void)kube_pods_remove(p, obj);
	(void)kube_ev_name(type);
	json_decref(obj);
	return 0;
}

static int on_oversize(size_t seen, void *ud)
{
	(void)ud;
	FZ_CHECK(seen > MAX_LINE, "oversize called at %zu bytes", seen);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_pods *p = kube_pods_new();
	struct kube_lines l;
	size_t chunk;

	if (!p)
		abort();
	if (size == 0) {
		kube_pods_free(p);
		return 0;
	}
	chunk = 1 + data[0] % 97;
	data++;
	size--;
	kube_lines_init(&l, MAX_LINE, on_line, on_oversize, p);
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		FZ_CHECK(kube_lines_feed(&l, (const char *)data + off, n) == 0, "feed stopped");
	}
	(void)kube_lines_finish(&l);
	kube_lines_release(&l);
	kube_pods_free(p);
	return 0;
}
