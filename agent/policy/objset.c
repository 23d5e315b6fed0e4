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
	s->e = NULL;
	s->n = s->alloc = 0;
}

ssize_t objset_find(const struct objset *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i]->id, id) == 0)
			return (ssize_t)i;
	return -1;
}

int objset_get(struct objset *s, const char *id, size_t size, struct objset_head **out)
{
	ssize_t at = objset_find(s, id);
	struct objset_head *x;

	if (at >= 0) {
		x = s->e[at];
	} else {
		if (s->n >= s->max)
			return -ENOSPC;
		if (s->n == s->alloc) {
			size_t na = s->alloc ? s->alloc * 2 : 8;
			struct objset_head **ne = realloc(s->e, na * sizeof(*ne));

			if (!ne)
				return -ENOMEM;
			s->e = ne;
			s->alloc = na;
		}
		x = calloc(1, size);
		if (!x)
			return -ENOMEM;
		snprintf(x->id, sizeof(x->id), "%s", id);
		s->e[s->n++] = x;
	}
	x->seen_gen = s->sync_gen;
	*out = x;
	return 0;
}

void objset_drop(struct objset *s, size_t i)
{
	s->free_entry(s->e[i]);
	s->e[i] = s->e[--s->n];
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
