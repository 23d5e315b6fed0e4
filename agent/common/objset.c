/* objset.c - see objset.h. The index is linear probing over positions in e[]; a removal
 * shifts the following cluster back (no tombstones), so lookups stay short after churn. */
#include "objset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void objset_init(struct objset *s, size_t max, void (*free_entry)(struct objset_head *))
{
	memset(s, 0, sizeof(*s));
	s->max = max;
	s->free_entry = free_entry;
}

void objset_release(struct objset *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->free_entry(s->e[i]);
	free(s->e);
	free(s->slot);
	s->e = NULL;
	s->slot = NULL;
	s->n = s->alloc = s->nslot = 0;
}

static uint32_t id_hash(const char *id)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

/* The index slot holding position pos (which must be indexed). */
static size_t slot_of(const struct objset *s, size_t pos)
{
	size_t mask = s->nslot - 1, j = s->e[pos]->hash & mask;

	while (s->slot[j] != pos + 1)
		j = (j + 1) & mask;
	return j;
}

static void index_put(struct objset *s, size_t pos)
{
	size_t mask = s->nslot - 1, j = s->e[pos]->hash & mask;

	while (s->slot[j])
		j = (j + 1) & mask;
	s->slot[j] = (uint32_t)(pos + 1);
}

/* Makes room in the index for want entries (load factor <= 1/2). */
static int index_reserve(struct objset *s, size_t want)
{
	size_t ns = s->nslot ? s->nslot : 16;
	uint32_t *sl;

	while (ns < 2 * want)
		ns *= 2;
	if (ns == s->nslot)
		return 0;
	sl = calloc(ns, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	free(s->slot);
	s->slot = sl;
	s->nslot = ns;
	for (size_t i = 0; i < s->n; i++)
		index_put(s, i);
	return 0;
}

ssize_t objset_find(const struct objset *s, const char *id)
{
	size_t mask, j;
	uint32_t h;

	if (!s->nslot)
		return -1;
	h = id_hash(id);
	mask = s->nslot - 1;
	for (j = h & mask; s->slot[j]; j = (j + 1) & mask) {
		const struct objset_head *x = s->e[s->slot[j] - 1];
		if (x->hash == h && strcmp(x->id, id) == 0)
			return (ssize_t)(s->slot[j] - 1);
	}
	return -1;
}

int objset_get(struct objset *s, const char *id, size_t size, struct objset_head **out)
{
	ssize_t at = objset_find(s, id);
	struct objset_head *x;

	if (at >= 0) {
		x = s->e[at];
	} else {
		if (s->n >= s->max || s->n >= UINT32_MAX - 1)
			return -ENOSPC;
		if (s->n == s->alloc) {
			size_t na = s->alloc ? s->alloc * 2 : 8;
			struct objset_head **ne = realloc(s->e, na * sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			s->e = ne;
			s->alloc = na;
		}
		if (index_reserve(s, s->n + 1))
			return -ENOMEM;
		x = calloc(1, size);
		if (!x)
			return -ENOMEM;
		snprintf(x->id, sizeof(x->id), "%s", id);
		x->hash = id_hash(x->id);
		s->e[s->n] = x;
		index_put(s, s->n);
		s->n++;
	}
	x->seen_gen = s->sync_gen;
	*out = x;
	return 0;
}

/* Empties slot j and shifts back the entries after it whose probe path crossed it. */
static void index_remove(struct objset *s, size_t j)
{
	size_t mask = s->nslot - 1, k = j;

	for (;;) {
		size_t home;

		k = (k + 1) & mask;
		if (!s->slot[k])
			break;
		home = s->e[s->slot[k] - 1]->hash & mask;
		/* the entry at k may move to j when its home is not in (j, k] (cyclically) */
		if ((j < k) ? (home <= j || home > k) : (home <= j && home > k)) {
			s->slot[j] = s->slot[k];
			j = k;
		}
	}
	s->slot[j] = 0;
}

void objset_drop(struct objset *s, size_t i)
{
	size_t last = s->n - 1;

	index_remove(s, slot_of(s, i));
	s->free_entry(s->e[i]);
	if (i != last) {
		s->slot[slot_of(s, last)] = (uint32_t)(i + 1);
		s->e[i] = s->e[last];
	}
	s->n--;
}

int objset_remove(struct objset *s, const char *id)
{
	ssize_t at = objset_find(s, id);

	if (at < 0)
		return -ENOENT;
	objset_drop(s, (size_t)at);
	return 0;
}

void objset_begin_sync(struct objset *s)
{
	s->sync_gen++;
}

void objset_end_sync(struct objset *s)
{
	for (size_t i = s->n; i-- > 0;)
		if (s->e[i]->seen_gen != s->sync_gen)
			objset_drop(s, i);
}
