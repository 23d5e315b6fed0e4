/* config_dump.c - config_dump(): the effective configuration as YAML that
 * config_load_file() reads back to the same struct config.
 */
#include "config_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/numfmt.h"

/* ---- config_dump ------------------------------------------------------------------ */

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (o->full)
		return;
	va_start(ap, fmt);
	w = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= o->cap - o->len) {
		o->full = true;
		o->buf[o->len] = '\0';
		return;
	}
	o->len += (size_t)w;
}

/* A YAML double-quoted scalar that reads back byte for byte. */
static void out_quoted(struct out *o, const char *s)
{
	outf(o, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			outf(o, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			outf(o, "\\x%02x", *p);
		else
			outf(o, "%c", *p);
	}
	outf(o, "\"");
}

/* Shortest "%.Ng" that parses back to exactly v. */
static void out_double(struct out *o, double v)
{
	char tmp[NUMFMT_EXACT_CAP];

	outf(o, "%s", fmt_double_exact(v, tmp));
}

static bool has_idle_watts(const struct config *c)
{
	for (int z = 0; z < ZONE_COUNT; z++)
		if (c->idle_watts[z] >= 0)
			return true;
	return false;
}

static void out_leaf(struct out *o, const struct config *c, const struct key_desc *d, int indent)
{
	const char *base = (const char *)c + d->off;
	const char *leaf = strrchr(d->path, '.');
	char tmp[32];

	leaf = leaf ? leaf + 1 : d->path;
	outf(o, "%*s%s:", indent, "", leaf);
	if (d->type != K_ZONE_FEATURE && !(d->type == K_ZONE_WATTS && has_idle_watts(c)))
		outf(o, " ");
	switch (d->type) {
	case K_DURATION:
		cfg_format_duration(*(const uint64_t *)(const void *)base, tmp, sizeof(tmp));
		outf(o, "%s\n", tmp);
		break;
	case K_STRING:
		out_quoted(o, base);
		outf(o, "\n");
		break;
	case K_BOOL:
		outf(o, "%s\n", *(const bool *)(const void *)base ? "true" : "false");
		break;
	case K_DOUBLE:
		out_double(o, *(const double *)(const void *)base);
		outf(o, "\n");
		break;
	case K_UINT:
		outf(o, "%u\n", *(const unsigned *)(const void *)base);
		break;
	case K_ENUM: {
		int e = *(const int *)(const void *)base;
		outf(o, "%s\n", e >= 0 && e < d->n_names ? d->names[e] : "invalid");
		break;
	}
	case K_METERS:
		outf(o, "[");
		for (int i = 0; i < c->meter_n_order && i < METER_KIND_COUNT; i++)
			outf(o, "%s%s", i ? ", " : "",
			     (unsigned)c->meter_order[i] < METER_KIND_COUNT ?
				     meter_kind_names[c->meter_order[i]] : "invalid");
		outf(o, "]\n");
		break;
	case K_ZONE_WATTS: {
		int n = 0;
		for (int z = 0; z < ZONE_COUNT; z++)
			n += c->idle_watts[z] >= 0;
		if (n == 0) {
			outf(o, "{}   # every zone learned\n");
			break;
		}
		outf(o, "\n");
		for (int z = 0; z < ZONE_COUNT; z++) {
			if (c->idle_watts[z] < 0)
				continue;
			outf(o, "%*s%s: ", indent + 2, "", zone_name((enum zone)z));
			out_double(o, c->idle_watts[z]);
			outf(o, "\n");
		}
		break;
	}
	case K_ZONE_FEATURE:
		outf(o, "\n");
		for (int z = 0; z < ZONE_COUNT; z++)
			outf(o, "%*s%s: %s\n", indent + 2, "", zone_name((enum zone)z),
			     feature_name(c->zone_feature[z]));
		break;
	case K_SECTION:
		break;
	}
}

int config_dump(const struct config *c, char *buf, size_t cap)
{
	struct out o = { .buf = buf, .cap = cap, .len = 0, .full = false };

	if (!c || !buf || cap == 0)
		return -EINVAL;
	buf[0] = '\0';
	outf(&o, "# wattlet effective configuration\n");
	for (int i = 0; i < config_nkeys; i++) {
		const struct key_desc *d = &config_keys[i];
		if (d->type == K_SECTION)
			outf(&o, "%s:\n", d->path);
		else
			out_leaf(&o, c, d, strchr(d->path, '.') ? 2 : 0);
	}
	return o.full ? -ENOSPC : 0;
}
