/* metrics_cache.h - /metrics served from a buffer rendered once per tick.
 *
 * The ledger changes only at the end of a tick, so every scrape within one tick would
 * render the same text. The cache keeps the last rendering (and its gzip form, made
 * once per rendering when a scraper asks for gzip) and a scrape copies it.
 *
 * When to render (docs/metrics.md, "Serving"): rendering 1,000 workloads every 1 s
 * tick would cost CPU for scrapes that come every 15-60 s, and nothing when nobody
 * scrapes. So metrics_cache_tick() only marks the buffer stale, and renders at once
 * only when the next scrape is expected within the next 1.5 ticks: the scrape interval
 * is learned from the last scrapes (the shorter of the last two gaps, so two scrapers
 * are covered). It keeps doing so while a scrape is at most one interval overdue,
 * then stops (the scraper went away). A scrape that finds the buffer stale renders
 * it itself (a "lazy" render): the first scrapes, an irregular scraper, or one that
 * comes back. Either way a scrape never shows older data than the last tick's, and
 * at most two renders happen per scrape interval of a regular scraper.
 *
 * Single-threaded: the owner calls everything from its own loop (the HTTP handler and
 * the tick run on the same thread).
 *
 * Ownership: the cache owns its buffers; the ledger and status are borrowed for the
 * duration of a call. Return convention: 0 or negative errno; the constructor returns
 * NULL with err filled. Nothing here logs.
 */
#ifndef WATTLET_METRICS_CACHE_H
#define WATTLET_METRICS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../common/util.h"
#include "export.h"

#define METRICS_GZIP_LEVEL 1 /* zlib level: ~6x smaller than the text at ~1/3 the time of level 6 */

struct metrics_cache_opts {
	struct export_metrics_opts render; /* what /metrics shows */
	uint64_t tick_ns;                  /* the agent's tick period (> 0) */
	int gzip_level;                    /* 1..9; 0 = METRICS_GZIP_LEVEL */
	/* Called right before each render (NULL: none), e.g. to refresh the agent's own
	 * CPU, RSS and HTTP counters in the status the render reads. */
	void (*before_render)(void *ctx);
	void *ctx;
};

struct metrics_cache_stats {
	uint64_t renders;         /* all renders */
	uint64_t renders_lazy;    /* of which done by a scrape that found the buffer stale */
	uint64_t compressions;    /* gzip forms made (at most one per render) */
	uint64_t serves;          /* scrapes answered */
	uint64_t serves_gzip;     /* of which gzip */
	size_t raw_bytes;         /* the current rendering's text */
	size_t gzip_bytes;        /* its gzip form (0: not made) */
	uint64_t render_ns;       /* time of the last render */
	uint64_t gzip_ns;         /* time of the last compression */
	uint64_t interval_ns;     /* scrape interval learned (0: not yet) */
};

struct metrics_cache *metrics_cache_new(const struct metrics_cache_opts *o,
					 struct wl_err *err);
void metrics_cache_free(struct metrics_cache *c);

/* A tick ended at now_ns: the rendering is stale. Renders (and compresses, if the last
 * scrape asked for gzip) now when a scrape is expected before the next tick ends (see
 * above). Returns 1 when it rendered, 0 when not, or a negative errno from the render
 * (the buffer then stays stale and the next scrape renders). */
int metrics_cache_tick(struct metrics_cache *c, const struct ledger *l,
		       const struct agent_status *s, uint64_t now_ns);

/* Answers a scrape at now_ns: renders when stale, compresses once per rendering when
 * gzip is asked for, and appends the text (or gzip bytes) to body. *encoding is set to
 * "gzip" or NULL (identity). -E2BIG when body's cap is too small, -ENOMEM, or an error
 * of the render; body is then left as it was. */
int metrics_cache_serve(struct metrics_cache *c, const struct ledger *l,
			const struct agent_status *s, bool gzip, uint64_t now_ns,
			struct strbuf *body, const char **encoding);

void metrics_cache_get_stats(const struct metrics_cache *c, struct metrics_cache_stats *st);

/* gzip (RFC 1952) of in[0..n) at level (1..9) into *buf (malloc'd, grown as needed:
 * *alloc is its size; both may start NULL/0; the caller frees *buf), *len set to the
 * bytes written. 0, -EINVAL, -ENOMEM, -EIO (zlib failed). Exposed for tests and the
 * benchmark. */
int metrics_gzip(const char *in, size_t n, int level, char **buf, size_t *alloc,
		 size_t *len);

#endif
