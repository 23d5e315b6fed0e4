/* uidtab.h - records of one fixed size keyed by a string (a Kubernetes uid), for the
 * per-object state the agent keeps between ticks (pods, EnergyPolicies).
 *
 * Open addressing with linear probing; the table doubles when half full, up to a bound;
 * deletion is by sweep: records not touched in the current generation are dropped and
 * the survivors re-inserted (what open addressing needs to keep probe chains intact).
 * Every record starts with struct uidtab_hdr; the rest is the caller's.
 *
 * Ownership: the table owns its slots; record pointers stay valid until the next
 * uidtab_get that grows the table or the next uidtab_sweep. Not thread-safe.
 */
#ifndef WATTLET_UIDTAB_H
#define WATTLET_UIDTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UIDTAB_KEY_MAX 128

struct uidtab_hdr {
	char key[UIDTAB_KEY_MAX + 1];
	bool used;
	uint64_t seen; /* generation it was last touched in (the caller sets it) */
};

struct uidtab {
	unsigned char *slots;
	size_t elem;    /* record size, >= sizeof(struct uidtab_hdr) */
	size_t cap;     /* slots, a power of two (0 before the first record) */
	size_t used;    /* records */
	size_t min_cap; /* first allocation */
	size_t max;     /* most records (0: no bound) */
};

/* elem: the record's size (its first member a struct uidtab_hdr); min_cap: slots of
 * the first allocation (rounded up to a power of two); max: most records, 0 none. */
void uidtab_init(struct uidtab *t, size_t elem, size_t min_cap, size_t max);
void uidtab_release(struct uidtab *t);

/* The record of key, created zeroed with its key set when absent. NULL when key is
 * longer than UIDTAB_KEY_MAX, the table holds max records, or memory ran out. */
void *uidtab_get(struct uidtab *t, const char *key);

/* Record i of the slots (0..cap-1), NULL when the slot is empty: for iteration. */
void *uidtab_slot(const struct uidtab *t, size_t i);

/* Drops every record whose seen != gen, calling gone(record, ud) first (gone may be
 * NULL); the survivors are re-inserted. When memory for the rebuild runs out, every
 * record is dropped (gone called for each): never a table with broken probe chains. */
void uidtab_sweep(struct uidtab *t, uint64_t gen, void (*gone)(void *rec, void *ud), void *ud);

#endif
