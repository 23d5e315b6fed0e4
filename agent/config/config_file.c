/* config_file.c - config_load_file(): a YAML config file (libyaml document API) walked
 * against the key table (config_impl.h); every value ends in cfg_apply_scalar(), the
 * same check config_set() uses. Errors read "FILE:LINE:COL: <key>: <why>" (1-based,
 * from libyaml marks).
 */
#include "../common/caps.h"
#include "config_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "../common/yamllimit.h"

#define CONFIG_FILE_MAX ((int)WL_CAP_TEXT_FILE) /* a config file larger than this is refused */

/* ---- the YAML file walker ---------------------------------------------------- */

struct walk {
	const char *file;
	yaml_document_t *doc;
	struct config *c;
	struct wl_err *err;
};

static int werr(struct walk *w, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int werr(struct walk *w, yaml_mark_t m, const char *fmt, ...)
{
	char msg[WHY_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(w->err, EINVAL, "%s:%zu:%zu: %s", w->file, m.line + 1, m.column + 1, msg);
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		return "a scalar";
	default:
		return "nothing";
	}
}

static bool is_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *expect_text(const struct key_desc *d)
{
	switch (d->type) {
	case K_DURATION:
		return "a duration";
	case K_STRING:
		return "a string";
	case K_BOOL:
		return "a boolean";
	case K_DOUBLE:
	case K_UINT:
		return "a number";
	case K_ENUM:
		return "one name";
	case K_METERS:
		return "a list of meter names";
	default:
		return "a mapping";
	}
}

/* Checks the keys of a mapping are scalars and unique; returns 0 or an error. */
static int check_keys(struct walk *w, yaml_node_t *map, const char *prefix)
{
	yaml_node_t *k, *k2;
	int r;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		k = yaml_document_get_node(w->doc, p->key);
		if (!k || k->type != YAML_SCALAR_NODE)
			return werr(w, k ? k->start_mark : map->start_mark,
				    "%s%skeys must be plain names, not %s", prefix ? prefix : "",
				    prefix ? ": " : "", k ? node_kind(k) : "nothing");
	}
	/* sorted, not pairwise: a mapping of 100k keys must not cost 10^10 compares */
	r = ylim_mapping_dup(w->doc, map, &k, &k2);
	if (r < 0)
		return err_set(w->err, -r, "%s: out of memory", w->file);
	if (r == 1)
		return werr(w, k->start_mark,
			    "duplicate key \"%s%s%.96s\" (first at line %zu, column %zu)",
			    prefix ? prefix : "", prefix ? "." : "", (const char *)k->data.scalar.value,
			    k2->start_mark.line + 1, k2->start_mark.column + 1);
	return 0;
}

/* The key and value nodes of a pair of a mapping check_keys() accepted (its keys are
 * scalars); returns the key's text. */
static const char *pair_at(struct walk *w, const yaml_node_pair_t *p, yaml_node_t **k,
			   yaml_node_t **v)
{
	*k = yaml_document_get_node(w->doc, p->key);
	*v = yaml_document_get_node(w->doc, p->value);
	return (const char *)(*k)->data.scalar.value;
}

static int walk_zone_map(struct walk *w, const struct key_desc *d, yaml_node_t *map)
{
	char why[WHY_MAX];
	int r = check_keys(w, map, d->path);

	if (r < 0)
		return r;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k, *v;
		const char *kname = pair_at(w, p, &k, &v);
		int z = cfg_zone_key(kname, why, sizeof(why));
		if (z < 0)
			return werr(w, k->start_mark, "%s: %s", d->path, why);
		if (v->type != YAML_SCALAR_NODE || is_null(v))
			return werr(w, v->start_mark, "%s.%s: expected %s, got %s", d->path, kname,
				    d->type == K_ZONE_WATTS ? "a number of watts" : "a feature name",
				    is_null(v) ? "nothing" : node_kind(v));
		if (cfg_apply_scalar(w->c, d, z, (const char *)v->data.scalar.value,
				     v->data.scalar.length, why, sizeof(why)) < 0)
			return werr(w, v->start_mark, "%s.%s: %s", d->path, kname, why);
	}
	return 0;
}

static int walk_meters(struct walk *w, const struct key_desc *d, yaml_node_t *seq)
{
	enum meter_kind order[METER_KIND_COUNT];
	int n = 0;
	char why[WHY_MAX];

	for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
	     it++) {
		yaml_node_t *v = yaml_document_get_node(w->doc, *it);
		if (v->type != YAML_SCALAR_NODE)
			return werr(w, v->start_mark, "%s: expected a meter name, got %s", d->path,
				    node_kind(v));
		if (cfg_meter_list_add(order, &n, (const char *)v->data.scalar.value, why,
				       sizeof(why)) < 0)
			return werr(w, v->start_mark, "%s: %s", d->path, why);
	}
	if (n == 0)
		return werr(w, seq->start_mark, "%s: must name at least one meter", d->path);
	memcpy(w->c->meter_order, order, sizeof(order[0]) * (size_t)n);
	w->c->meter_n_order = n;
	return 0;
}

static int walk_mapping(struct walk *w, yaml_node_t *map, const char *prefix)
{
	char path[128], why[WHY_MAX];
	int r = check_keys(w, map, prefix);

	if (r < 0)
		return r;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k, *v;
		const char *kname = pair_at(w, p, &k, &v);
		const struct key_desc *d;

		if (snprintf(path, sizeof(path), "%s%s%s", prefix ? prefix : "", prefix ? "." : "",
			     kname) >= (int)sizeof(path) ||
		    strlen(kname) != k->data.scalar.length || strchr(kname, '.'))
			d = NULL;
		else
			d = cfg_find_key(path);
		if (!d) {
			cfg_unknown_key_msg(path, why, sizeof(why));
			if (strchr(kname, '.') && cfg_find_key(path))
				snprintf(why, sizeof(why),
					 "unknown key \"%.96s\": dotted names are for --set; in a "
					 "file nest the key under its section", kname);
			return werr(w, k->start_mark, "%s", why);
		}
		switch (d->type) {
		case K_SECTION:
			if (is_null(v))
				break; /* an empty section (every key commented out) */
			if (v->type != YAML_MAPPING_NODE)
				return werr(w, v->start_mark, "%s: expected a mapping of keys, got %s",
					    path, node_kind(v));
			r = walk_mapping(w, v, d->path);
			break;
		case K_ZONE_WATTS:
		case K_ZONE_FEATURE:
			if (is_null(v))
				break;
			if (v->type != YAML_MAPPING_NODE)
				return werr(w, v->start_mark,
					    "%s: expected a mapping of zone: %s, got %s", path,
					    d->type == K_ZONE_WATTS ? "watts" : "feature",
					    node_kind(v));
			r = walk_zone_map(w, d, v);
			break;
		case K_METERS:
			if (v->type != YAML_SEQUENCE_NODE)
				return werr(w, v->start_mark,
					    "%s: expected a list of meter names such as [powercap, "
					    "perf], got %s", path, is_null(v) ? "nothing" : node_kind(v));
			r = walk_meters(w, d, v);
			break;
		default:
			if (v->type != YAML_SCALAR_NODE)
				return werr(w, v->start_mark, "%s: expected %s, got %s", path,
					    expect_text(d), node_kind(v));
			if (is_null(v))
				return werr(w, v->start_mark, "%s: value missing%s", path,
					    d->type == K_STRING ? " (write \"\" for an empty string)" : "");
			if (cfg_apply_scalar(w->c, d, 0, (const char *)v->data.scalar.value,
					     v->data.scalar.length, why, sizeof(why)) < 0)
				return werr(w, v->start_mark, "%s: %s", path, why);
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Line and column (1-based) of byte offset off in text, for reader errors. */
static void offset_to_mark(const char *text, size_t len, size_t off, size_t *line, size_t *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			(*col)++;
		}
	}
}

static int parser_error(const char *file, yaml_parser_t *ps, const char *text, size_t len,
			struct wl_err *err)
{
	size_t line, col;
	const char *problem = ps->problem ? ps->problem : "malformed YAML";

	if (ps->error == YAML_READER_ERROR) {
		offset_to_mark(text, len, ps->problem_offset, &line, &col);
		return err_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s", file, line, col,
			       problem);
	}
	if (ps->error == YAML_MEMORY_ERROR)
		return err_set(err, ENOMEM, "%s: out of memory parsing YAML", file);
	if (ps->context)
		return err_set(err, EINVAL,
			       "%s:%zu:%zu: YAML syntax error: %s %s started at line %zu, column %zu",
			       file, ps->problem_mark.line + 1, ps->problem_mark.column + 1, problem,
			       ps->context, ps->context_mark.line + 1, ps->context_mark.column + 1);
	return err_set(err, EINVAL, "%s:%zu:%zu: YAML syntax error: %s", file,
		       ps->problem_mark.line + 1, ps->problem_mark.column + 1, problem);
}

static int read_config_text(const char *path, char **out, size_t *len, struct wl_err *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *buf = NULL;
	int ret = 0;

	*out = NULL;
	if (!f)
		return err_set(err, errno, "%s: cannot open: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) < 0) {
		ret = err_set(err, errno, "%s: cannot stat: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = err_set(err, EINVAL, "%s: not a regular file", path);
		goto cleanup;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		ret = err_set(err, EFBIG, "%s: larger than %d bytes", path, CONFIG_FILE_MAX);
		goto cleanup;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = err_set(err, ENOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	*len = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		ret = err_set(err, EIO, "%s: read error", path);
		goto cleanup;
	}
	buf[*len] = '\0';
	*out = buf;
	buf = NULL;
cleanup:
	free(buf);
	fclose(f);
	return ret;
}

int config_load_file(struct config *c, const char *path, struct wl_err *err)
{
	yaml_parser_t ps;
	yaml_document_t doc, doc2;
	yaml_mark_t deep;
	bool ps_ok = false, doc_ok = false;
	struct config *tmp = NULL;
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (!c || !path)
		return err_set(err, EINVAL, "config_load_file: NULL argument");
	ret = read_config_text(path, &text, &len, err);
	if (ret < 0)
		return ret;
	tmp = malloc(sizeof(*tmp));
	if (!tmp || !yaml_parser_initialize(&ps)) {
		ret = err_set(err, ENOMEM, "%s: out of memory", path);
		goto cleanup;
	}
	ps_ok = true;
	/* before building the tree: libyaml is quadratic in nesting depth and anchors */
	ret = ylim_check(text, len, &deep);
	if (ret < 0) {
		ret = err_set(err, -ret, "%s: out of memory", path);
		goto cleanup;
	}
	if (ret != YLIM_OK) {
		ret = err_set(err, EINVAL, "%s:%zu:%zu: %s", path, deep.line + 1, deep.column + 1,
			      ylim_reason(ret));
		goto cleanup;
	}
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	if (!yaml_parser_load(&ps, &doc)) {
		ret = parser_error(path, &ps, text, len, err);
		goto cleanup;
	}
	doc_ok = true;
	*tmp = *c;

	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root) {
		/* exactly one document: a second one would be silently ignored */
		if (!yaml_parser_load(&ps, &doc2)) {
			ret = parser_error(path, &ps, text, len, err);
			goto cleanup;
		}
		yaml_node_t *root2 = yaml_document_get_root_node(&doc2);
		yaml_mark_t m2 = root2 ? doc2.start_mark : doc.start_mark;
		yaml_document_delete(&doc2);
		if (root2) {
			ret = err_set(err, EINVAL,
				      "%s:%zu:%zu: only one YAML document is allowed in a config file",
				      path, m2.line + 1, m2.column + 1);
			goto cleanup;
		}
		struct walk w = { .file = path, .doc = &doc, .c = tmp, .err = err };
		if (is_null(root)) {
			/* a file holding only comments or "~" */
		} else if (root->type != YAML_MAPPING_NODE) {
			ret = werr(&w, root->start_mark, "the top level must be a mapping of keys, not %s",
				   node_kind(root));
			goto cleanup;
		} else {
			ret = walk_mapping(&w, root, NULL);
			if (ret < 0)
				goto cleanup;
		}
	}
	*c = *tmp;
	ret = 0;
cleanup:
	if (doc_ok)
		yaml_document_delete(&doc);
	if (ps_ok)
		yaml_parser_delete(&ps);
	free(tmp);
	free(text);
	return ret;
}
