/* objset.h - the set of one custom resource's objects as a watcher keeps them
 * (EnergyPolicies, PowerModels): one caller entry per object, keyed by an id (its
 * metadata.uid), with the sync sweep of a relist (begin, upsert what the list has, end:
 * entries not seen since begin are dropped).
 *
 * Entries are the caller's structs with a struct objset_head as their first member,
 * allocated by objset_get() (zeroed) and owned by the set: freed with the caller's
 * free_entry when dropped, swept or released. Lookup by id is O(1) (an open-addressing
 * index beside the entry array), so a set may hold every pod of a node as well as a few
 * policies. Iterate with e[0..n-1]; dropping an entry moves the last one into its place.
 * Not thread-safe. Returns: 0 or -errno.
 */
#ifndef WATTLET_COMMON_OBJSET_H
#define WATTLET_COMMON_OBJSET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define OBJSET_ID_MAX 128

struct objset_head {
	char id[OBJSET_ID_MAX + 1];
	uint64_t seen_gen; /* the sync generation it was last upserted in */
	uint32_t hash;	   /* of id, kept for the index */
};

struct objset {
	struct objset_head **e;
	size_t n, alloc, max;
	uint64_t sync_gen;
	void (*free_entry)(struct objset_head *); /* frees one entry and what it holds */
	uint32_t *slot; /* index: entry position + 1, 0 empty; nslot a power of two > 2n */
	size_t nslot;
};

/* An empty set of at most max entries (no allocation yet). */
void objset_init(struct objset *s, size_t max, void (*free_entry)(struct objset_head *));

/* Frees every entry, the array and the index; the set is empty again. */
void objset_release(struct objset *s);

/* Index of the entry with id, -1 when none. */
ssize_t objset_find(const struct objset *s, const char *id);

/* The entry for id (at most OBJSET_ID_MAX bytes), marked seen in the current sync: the
 * one there, or a new zeroed one of size bytes (>= sizeof(struct objset_head), the
 * caller's entry struct) with its id set. 0; -ENOSPC when max entries are held;
 * -ENOMEM. */
int objset_get(struct objset *s, const char *id, size_t size, struct objset_head **out);

/* Frees entry i (< n); the last entry takes its place. */
void objset_drop(struct objset *s, size_t i);
/* Frees the entry with id (objset_drop). 0, or -ENOENT when there is none. */
int objset_remove(struct objset *s, const char *id);

/* A relist starts / has ended: end drops every entry not upserted since begin. */
void objset_begin_sync(struct objset *s);
void objset_end_sync(struct objset *s);

#endif
