/* yamllimit.c - nesting depth and duplicate-key limits for libyaml (see yamllimit.h). */
#include "yamllimit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WL_STR_(x) #x
#define WL_STR(x) WL_STR_(x)

const char *ylim_reason(int code)
{
	switch (code) {
	case YLIM_TOO_DEEP:
		return "nested deeper than " WL_STR(YLIM_DEPTH_MAX) " levels";
	case YLIM_TOO_MANY_ANCHORS:
		return "more than " WL_STR(YLIM_ANCHORS_MAX) " anchors";
	default:
		return "within limits";
	}
}

static const yaml_char_t *event_anchor(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

int ylim_check(const char *text, size_t len, yaml_mark_t *mark)
{
	yaml_parser_t ps;
	yaml_event_t ev;
	int depth = 0, anchors = 0, ret = YLIM_OK;

	if (!text)
		return YLIM_OK;
	if (!yaml_parser_initialize(&ps))
		return -ENOMEM;
	yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
	for (;;) {
		yaml_event_type_t t;

		if (!yaml_parser_parse(&ps, &ev)) {
			/* a syntax error is the real load's to report */
			ret = ps.error == YAML_MEMORY_ERROR ? -ENOMEM : YLIM_OK;
			break;
		}
		t = ev.type;
		if (event_anchor(&ev) && ++anchors > YLIM_ANCHORS_MAX)
			ret = YLIM_TOO_MANY_ANCHORS;
		if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
			if (++depth > YLIM_DEPTH_MAX)
				ret = YLIM_TOO_DEEP;
		} else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		if (ret != YLIM_OK && mark)
			*mark = ev.start_mark;
		yaml_event_delete(&ev);
		if (ret != YLIM_OK || t == YAML_STREAM_END_EVENT)
			break;
	}
	yaml_parser_delete(&ps);
	return ret;
}

struct key_ref {
	const unsigned char *v;
	size_t len;
	size_t idx; /* position of the pair in the mapping */
	yaml_node_t *node;
};

static int key_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->v, y->v, n) : 0;

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int ylim_mapping_dup(yaml_document_t *doc, yaml_node_t *map, yaml_node_t **dup,
		     yaml_node_t **first)
{
	struct key_ref *refs = NULL;
	size_t n = 0, best = (size_t)-1;
	int ret = 0;

	if (!doc || !map || map->type != YAML_MAPPING_NODE)
		return -EINVAL;
	if (map->data.mapping.pairs.top - map->data.mapping.pairs.start < 2)
		return 0;
	refs = calloc((size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start),
		      sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (!k || k->type != YAML_SCALAR_NODE)
			continue;
		refs[n].v = k->data.scalar.value;
		refs[n].len = k->data.scalar.length;
		refs[n].idx = (size_t)(p - map->data.mapping.pairs.start);
		refs[n].node = k;
		n++;
	}
	qsort(refs, n, sizeof(*refs), key_cmp);
	/* in each run of equal keys (sorted by position) the run's second element is
	 * the earliest repeat; report the run whose repeat comes first */
	for (size_t i = 1; i < n; i++) {
		if (refs[i].len != refs[i - 1].len ||
		    (refs[i].len && memcmp(refs[i].v, refs[i - 1].v, refs[i].len)))
			continue;
		if (i >= 2 && refs[i - 2].len == refs[i].len &&
		    (!refs[i].len || !memcmp(refs[i].v, refs[i - 2].v, refs[i].len)))
			continue; /* third or later copy */
		if (best == (size_t)-1 || refs[i].idx < refs[best].idx)
			best = i;
	}
	if (best != (size_t)-1) {
		if (dup)
			*dup = refs[best].node;
		if (first)
			*first = refs[best - 1].node;
		ret = 1;
	}
	free(refs);
	return ret;
}

int ylim_document_dup(yaml_document_t *doc, yaml_node_t **dup, yaml_node_t **first)
{
	yaml_node_t *bd = NULL, *bf = NULL;

	if (!doc)
		return -EINVAL;
	for (yaml_node_t *m = doc->nodes.start; m < doc->nodes.top; m++) {
		yaml_node_t *d, *f;
		int r;

		if (m->type != YAML_MAPPING_NODE)
			continue;
		r = ylim_mapping_dup(doc, m, &d, &f);
		if (r < 0)
			return r;
		if (r == 1 && (!bd || d->start_mark.index < bd->start_mark.index)) {
			bd = d;
			bf = f;
		}
	}
	if (!bd)
		return 0;
	if (dup)
		*dup = bd;
	if (first)
		*first = bf;
	return 1;
}
