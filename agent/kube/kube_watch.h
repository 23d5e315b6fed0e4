/* kube_watch.h - list + watch of one collection of the API server (an informer's
 * reflector), driven from the caller's loop.
 *
 * Protocol: LIST in pages (limit=page_limit, continue tokens; every page capped at
 * max_body) -> resourceVersion RV; WATCH ?watch=1&allowWatchBookmarks=true&
 * resourceVersion=RV&timeoutSeconds=T (T jittered between timeout_s and 1.5x).
 * The watch stream is newline-delimited JSON ({"type":..,"object":..}), split by
 * kube_lines with a per-line cap, so memory is bounded on endless streams. RV advances
 * with every event and BOOKMARK. Recovery:
 *   - stream ends cleanly (server timeout)         -> re-watch from RV at once
 *   - 410 Gone, as HTTP status or ERROR event      -> relist (RV too old)
 *   - other ERROR event, garbage line, line over
 *     the cap, truncated last line, transport error,
 *     429/5xx or other HTTP error                   -> drop the connection, re-watch
 *                                                      from RV after backoff + jitter
 *                                                      (Retry-After honoured)
 *   - list failure                                  -> relist after backoff
 * Nothing is lost by a re-watch from RV: the server replays every change after RV.
 *
 * Why the curl multi interface and no thread: the daemon is single-threaded; with
 * kube_watch_service(w, 0) once per tick it does whatever I/O is ready and returns
 * at once (non-blocking sockets, curl's threaded resolver), so measurement never
 * waits for the API server, there is no lock and no shared cache to get wrong, and
 * callbacks run on the daemon's own thread where its state can be touched directly.
 * A caller that wants to block (a test, a CLI) passes a timeout.
 *
 * Callback: cb(type, obj, ud) with type
 *   KUBE_EV_SYNC_BEGIN (obj NULL)  a (re)list starts; every object that is not
 *                                  delivered again before SYNC_END is gone
 *   KUBE_EV_ADDED / _MODIFIED / _DELETED (obj = the object, borrowed: incref to keep)
 *   KUBE_EV_SYNC_END (obj NULL)    the list is complete; the watch follows
 *   KUBE_EV_BOOKMARK (obj = the bookmark object)
 * A relist can restart before SYNC_END (expired continue token): SYNC_BEGIN again.
 * The callback must not call kube_watch_* on the same watch.
 *
 * Ownership: the watch borrows the kube_config (must outlive it) and copies opts
 * strings. kube_watch_free accepts NULL. Constructors return NULL with e set. No logging:
 * errors are counted and the last one is kept in kube_watch_stats.
 */
#ifndef WATTLET_KUBE_WATCH_H
#define WATTLET_KUBE_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../common/util.h"
#include "kube_config.h"

enum kube_ev_type {
	KUBE_EV_SYNC_BEGIN,
	KUBE_EV_ADDED,
	KUBE_EV_MODIFIED,
	KUBE_EV_DELETED,
	KUBE_EV_BOOKMARK,
	KUBE_EV_SYNC_END,
	KUBE_EV_ERROR, /* only from kube_watch_parse_event */
};

typedef void (*kube_watch_cb)(enum kube_ev_type type, json_t *obj, void *ud);

struct kube_watch_opts {
	const char *path;	    /* collection, e.g. "/api/v1/pods" (required) */
	const char *field_selector; /* e.g. "spec.nodeName=node-1", or NULL */
	const char *label_selector; /* or NULL */
	unsigned page_limit;	    /* 0: 500 */
	unsigned timeout_s;	    /* watch timeoutSeconds; 0: 300 */
	size_t max_line;	    /* per event; 0: 16 MiB */
	size_t max_body;	    /* per list page; 0: 64 MiB */
	unsigned backoff_base_ms;   /* 0: 500 */
	unsigned backoff_max_ms;    /* 0: 30000 */
	unsigned retry_after_max_s; /* 0: 60 */
	long connect_timeout_ms;    /* 0: 5000 */
	kube_watch_cb cb;
	void *ud;
};

struct kube_watch_stats {
	uint64_t lists;		 /* list requests (pages) sent */
	uint64_t watches;	 /* watch requests sent */
	uint64_t events;	 /* ADDED/MODIFIED/DELETED delivered from watches */
	uint64_t bookmarks;
	uint64_t gone;		 /* 410s (status or ERROR event) -> relists */
	uint64_t errors;	 /* failed requests and broken streams */
	uint64_t bad_lines;	 /* garbage or unexpected JSON lines */
	uint64_t oversized;	 /* lines over max_line */
	uint64_t truncated;	 /* streams ending inside a line */
	bool synced;		 /* a list completed and the watch is current */
	char resource_version[64];
	char last_error[256];
};

struct kube_watch;

struct kube_watch *kube_watch_new(struct kube_config *c, const struct kube_watch_opts *o,
				  struct wl_err *e);
void kube_watch_free(struct kube_watch *w);

/* Does the I/O that is ready, starting requests whose backoff expired, and delivers
 * callbacks; waits at most timeout_ms (0: no waiting). Returns 0, or -errno on a fatal
 * error of curl itself (e.g. out of memory); API problems are not fatal, see stats. */
int kube_watch_service(struct kube_watch *w, int timeout_ms);

void kube_watch_stats(const struct kube_watch *w, struct kube_watch_stats *out);

/* Parses one watch stream line. On 0: *type is ADDED/MODIFIED/DELETED/BOOKMARK/ERROR,
 * *obj a new reference to the object (caller decrefs), rv (may be NULL) gets
 * object.metadata.resourceVersion ("" when absent), *code the Status code of an ERROR
 * (0 otherwise). -EINVAL on garbage or an unknown type (e says why). */
int kube_watch_parse_event(const char *line, size_t len, enum kube_ev_type *type,
			   json_t **obj, char *rv, size_t rv_cap, long *code, struct wl_err *e);

const char *kube_ev_name(enum kube_ev_type t);

#endif
