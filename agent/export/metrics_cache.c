/* metrics_cache.c - see metrics_cache.h. */
#include "metrics_cache.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "http.h"

struct metrics_cache {
	struct metrics_cache_opts o;
	struct strbuf text;       /* the current rendering */
	bool valid;               /* text holds a rendering of the current tick */
	char *gz;                 /* its gzip form, when gz_valid */
	size_t gz_alloc, gz_len;
	bool gz_valid;
	uint64_t last_scrape_ns;  /* 0: none yet */
	uint64_t gap_ns[2];       /* the last two intervals between scrapes (0: unknown) */
	bool last_gzip;           /* the last scrape asked for gzip */
	struct metrics_cache_stats st;
};

int metrics_gzip(const char *in, size_t n, int level, char **buf, size_t *alloc, size_t *len)
{
	z_stream zs;
	uLong bound;
	int rc, err = 0;

	if ((!in && n) || !buf || !alloc || !len || level < 1 || level > 9 || n > UINT_MAX)
		return -EINVAL;
	memset(&zs, 0, sizeof(zs));
	/* windowBits 15 + 16: a gzip header and trailer instead of zlib's */
	if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, (uLong)n);
	if (bound > UINT_MAX) {
		err = -E2BIG;
		goto cleanup;
	}
	if (*alloc < bound || !*buf) {
		char *nb = realloc(*buf, bound);
		if (!nb) {
			err = -ENOMEM;
			goto cleanup;
		}
		*buf = nb;
		*alloc = bound;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)*buf;
	zs.avail_out = (uInt)*alloc;
	rc = deflate(&zs, Z_FINISH); /* one call suffices with deflateBound's room */
	if (rc != Z_STREAM_END) {
		err = -EIO;
		goto cleanup;
	}
	*len = (size_t)zs.total_out;
cleanup:
	deflateEnd(&zs);
	return err;
}

struct metrics_cache *metrics_cache_new(const struct metrics_cache_opts *o, struct wl_err *err)
{
	struct metrics_cache *c;

	if (!o || !o->tick_ns || o->gzip_level < 0 || o->gzip_level > 9) {
		err_set(err, EINVAL, "metrics cache: needs a tick period and a gzip level 0..9");
		return NULL;
	}
	c = wl_zalloc(sizeof(*c), NULL, err);
	if (!c)
		return NULL;
	c->o = *o;
	if (!c->o.gzip_level)
		c->o.gzip_level = METRICS_GZIP_LEVEL;
	strbuf_init(&c->text, HTTP_BODY_CAP);
	return c;
}

void metrics_cache_free(struct metrics_cache *c)
{
	if (!c)
		return;
	strbuf_release(&c->text);
	free(c->gz);
	free(c);
}

static int render(struct metrics_cache *c, const struct ledger *l, const struct agent_status *s,
		  bool lazy)
{
	uint64_t t0 = mono_ns();
	int rc;

	c->valid = false;
	c->gz_valid = false;
	c->st.gzip_bytes = 0;
	strbuf_reset(&c->text);
	if (c->o.before_render)
		c->o.before_render(c->o.ctx);
	rc = export_metrics_render(l, s, &c->o.render, &c->text);
	if (rc) {
		strbuf_reset(&c->text);
		return rc;
	}
	c->valid = true;
	c->st.renders++;
	c->st.renders_lazy += lazy;
	c->st.raw_bytes = c->text.len;
	c->st.render_ns = mono_ns() - t0;
	return 0;
}

static int make_gzip(struct metrics_cache *c)
{
	uint64_t t0 = mono_ns();
	int rc = metrics_gzip(c->text.buf, c->text.len, c->o.gzip_level, &c->gz, &c->gz_alloc,
			      &c->gz_len);

	if (rc)
		return rc;
	c->gz_valid = true;
	c->st.compressions++;
	c->st.gzip_bytes = c->gz_len;
	c->st.gzip_ns = mono_ns() - t0;
	return 0;
}

static uint64_t interval(const struct metrics_cache *c)
{
	uint64_t a = c->gap_ns[0], b = c->gap_ns[1];

	if (!a || !b)
		return a ? a : b;
	return a < b ? a : b;
}

int metrics_cache_tick(struct metrics_cache *c, const struct ledger *l,
		       const struct agent_status *s, uint64_t now_ns)
{
	uint64_t gap, next, tick;
	int rc;

	if (!c || !l || !s)
		return -EINVAL;
	c->valid = false;
	c->gz_valid = false;
	gap = interval(c);
	if (!c->last_scrape_ns || !gap)
		return 0;
	tick = c->o.tick_ns;
	next = c->last_scrape_ns + gap;
	/* expected before the next tick ends (half a tick of slack for jitter), and not
	 * more than one interval overdue */
	if (next > now_ns + tick + tick / 2 || now_ns > next + gap)
		return 0;
	rc = render(c, l, s, false);
	if (!rc && c->last_gzip)
		rc = make_gzip(c);
	return rc ? rc : 1;
}

int metrics_cache_serve(struct metrics_cache *c, const struct ledger *l,
			const struct agent_status *s, bool gzip, uint64_t now_ns,
			struct strbuf *body, const char **encoding)
{
	int rc;

	if (!c || !l || !s || !body || !encoding)
		return -EINVAL;
	*encoding = NULL;
	if (c->last_scrape_ns && now_ns > c->last_scrape_ns) {
		c->gap_ns[1] = c->gap_ns[0];
		c->gap_ns[0] = now_ns - c->last_scrape_ns;
	}
	c->last_scrape_ns = now_ns;
	c->last_gzip = gzip;
	c->st.interval_ns = interval(c);
	if (!c->valid) {
		rc = render(c, l, s, true);
		if (rc)
			return rc;
	}
	if (gzip && !c->gz_valid) {
		rc = make_gzip(c);
		if (rc)
			return rc;
	}
	rc = gzip ? strbuf_add(body, c->gz, c->gz_len) : strbuf_add(body, c->text.buf, c->text.len);
	if (rc)
		return rc;
	c->st.serves++;
	c->st.serves_gzip += gzip;
	*encoding = gzip ? "gzip" : NULL;
	return 0;
}

void metrics_cache_get_stats(const struct metrics_cache *c, struct metrics_cache_stats *st)
{
	if (!st)
		return;
	if (!c) {
		memset(st, 0, sizeof(*st));
		return;
	}
	*st = c->st;
}
