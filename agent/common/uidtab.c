/* uidtab.c - string-keyed records, open addressing (see uidtab.h). */
#include "uidtab.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>


static struct uidtab_hdr *at(unsigned char *slots, size_t elem, size_t i)
{
	return (struct uidtab_hdr *)(void *)(slots + i * elem);
}

void uidtab_init(struct uidtab *t, size_t elem, size_t min_cap, size_t max)
{
	size_t c = 1;

	memset(t, 0, sizeof(*t));
	t->elem = elem < sizeof(struct uidtab_hdr) ? sizeof(struct uidtab_hdr) : elem;
	while (c < min_cap)
		c *= 2;
	t->min_cap = c < 2 ? 2 : c;
	t->max = max;
}

void uidtab_release(struct uidtab *t)
{
	if (!t)
		return;
	free(t->slots);
	t->slots = NULL;
	t->cap = t->used = 0;
}

/* Places rec (a whole record) into slots of capacity cap; the key is known absent. */
static void place(unsigned char *slots, size_t elem, size_t cap, const struct uidtab_hdr *rec)
{
	size_t i = str_hash(rec->key) & (cap - 1);

	while (at(slots, elem, i)->used)
		i = (i + 1) & (cap - 1);
	memcpy(at(slots, elem, i), rec, elem);
}

/* Moves every used record of t into new slots of capacity ncap. */
static int rehash(struct uidtab *t, size_t ncap)
{
	unsigned char *n = calloc(ncap, t->elem);

	if (!n)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		const struct uidtab_hdr *r = at(t->slots, t->elem, i);
		if (r->used)
			place(n, t->elem, ncap, r);
	}
	free(t->slots);
	t->slots = n;
	t->cap = ncap;
	return 0;
}

void *uidtab_get(struct uidtab *t, const char *key)
{
	struct uidtab_hdr *r;
	size_t i;

	if (!t || !key || strlen(key) > UIDTAB_KEY_MAX)
		return NULL;
	if (t->cap) {
		for (i = str_hash(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
			r = at(t->slots, t->elem, i);
			if (!r->used)
				break;
			if (strcmp(r->key, key) == 0)
				return r;
		}
	}
	if (t->max && t->used >= t->max)
		return NULL;
	if (2 * (t->used + 1) > t->cap && rehash(t, t->cap ? t->cap * 2 : t->min_cap))
		return NULL;
	for (i = str_hash(key) & (t->cap - 1); at(t->slots, t->elem, i)->used;
	     i = (i + 1) & (t->cap - 1))
		;
	r = at(t->slots, t->elem, i);
	memset(r, 0, t->elem);
	r->used = true;
	memcpy(r->key, key, strlen(key) + 1);
	t->used++;
	return r;
}

void *uidtab_slot(const struct uidtab *t, size_t i)
{
	struct uidtab_hdr *r;

	if (!t || i >= t->cap)
		return NULL;
	r = at(t->slots, t->elem, i);
	return r->used ? r : NULL;
}

void uidtab_sweep(struct uidtab *t, uint64_t gen, void (*gone)(void *rec, void *ud), void *ud)
{
	size_t dropped = 0;

	if (!t || !t->cap)
		return;
	for (size_t i = 0; i < t->cap; i++) {
		struct uidtab_hdr *r = at(t->slots, t->elem, i);
		if (!r->used || r->seen == gen)
			continue;
		if (gone)
			gone(r, ud);
		r->used = false;
		dropped++;
	}
	if (!dropped)
		return;
	t->used -= dropped;
	if (rehash(t, t->cap) != 0) {
		/* no memory for the rebuild: start empty rather than leave broken probe
		 * chains (the caller recreates what it still needs) */
		for (size_t i = 0; gone && i < t->cap; i++) {
			struct uidtab_hdr *r = at(t->slots, t->elem, i);
			if (r->used)
				gone(r, ud);
		}
		memset(t->slots, 0, t->cap * t->elem);
		t->used = 0;
	}
}
