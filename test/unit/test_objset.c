/* test_objset.c - the keyed set of watched objects shared by policy_set and model_set:
 * growth past its first allocation, the entry cap, lookup, removal and the relist sweep,
 * with each entry freed exactly once (counted by the free callback); the hash index
 * checked against a plain array through random churn. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/common/objset.h"

struct item {
	struct objset_head h;
	int value;
};

static int freed;

static void item_free(struct objset_head *h)
{
	freed++;
	free(h);
}

static struct item *get(struct objset *s, const char *id)
{
	struct objset_head *h = NULL;

	assert_int_equal(objset_get(s, id, sizeof(struct item), &h), 0);
	assert_non_null(h);
	return (struct item *)h;
}

/* 20 entries (past the first 8 slots), found again by id with their contents kept;
 * upserting an id again returns the same entry; the cap refuses the 21st. */
static void test_grow_find_cap(void **state)
{
	struct objset s;
	struct objset_head *h = NULL;
	char id[16];

	(void)state;
	freed = 0;
	objset_init(&s, 20, item_free);
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "uid-%d", i);
		get(&s, id)->value = i;
	}
	assert_int_equal(s.n, 20);
	for (int i = 0; i < 20; i++) {
		ssize_t at;

		snprintf(id, sizeof(id), "uid-%d", i);
		at = objset_find(&s, id);
		assert_true(at >= 0);
		assert_string_equal(s.e[at]->id, id);
		assert_int_equal(((struct item *)s.e[at])->value, i);
	}
	assert_int_equal(get(&s, "uid-7")->value, 7); /* the same entry, not a new one */
	assert_int_equal(s.n, 20);
	assert_int_equal(objset_get(&s, "uid-20", sizeof(struct item), &h), -ENOSPC);
	assert_int_equal(objset_find(&s, "uid-20"), -1);
	assert_int_equal(freed, 0);
	objset_release(&s);
	assert_int_equal(freed, 20);
	assert_int_equal(s.n, 0);
}

/* A relist: entries not upserted between begin and end are dropped (and freed); a
 * dropped entry's slot goes to another one, which stays findable; removal by id frees
 * the entry once and answers -ENOENT for an id not held. */
static void test_sync_and_drop(void **state)
{
	struct objset s;

	(void)state;
	freed = 0;
	objset_init(&s, 100, item_free);
	get(&s, "a");
	get(&s, "b");
	get(&s, "c");
	get(&s, "d");
	objset_begin_sync(&s);
	get(&s, "b");
	get(&s, "d");
	get(&s, "e"); /* new during the relist */
	objset_end_sync(&s);
	assert_int_equal(s.n, 3);
	assert_int_equal(freed, 2);
	assert_int_equal(objset_find(&s, "a"), -1);
	assert_int_equal(objset_find(&s, "c"), -1);
	assert_true(objset_find(&s, "b") >= 0 && objset_find(&s, "d") >= 0 &&
		    objset_find(&s, "e") >= 0);
	objset_drop(&s, (size_t)objset_find(&s, "b"));
	assert_int_equal(freed, 3);
	assert_int_equal(s.n, 2);
	assert_int_equal(objset_find(&s, "b"), -1);
	assert_true(objset_find(&s, "d") >= 0 && objset_find(&s, "e") >= 0);
	objset_end_sync(&s); /* nothing new since begin: d and e were seen */
	assert_int_equal(s.n, 2);
	assert_int_equal(objset_remove(&s, "d"), 0); /* by id: found, dropped, freed */
	assert_int_equal(freed, 4);
	assert_int_equal(objset_find(&s, "d"), -1);
	assert_true(objset_find(&s, "e") >= 0);
	assert_int_equal(objset_remove(&s, "d"), -ENOENT);
	assert_int_equal(freed, 4);
	objset_release(&s);
	assert_int_equal(freed, 5);
}

/* 200,000 random upserts and drops over 3,000 ids (sets of up to ~1,500, so the index
 * grows, collides and shifts clusters back on removal), each step checked against a
 * plain array of what should be present: every present id is found at a position whose
 * entry has that id, every absent one is not found, and the count agrees. */
static void test_index_random_churn(void **state)
{
	enum { IDS = 3000, STEPS = 200000 };
	static bool present[IDS];
	struct objset s;
	char id[32];
	unsigned seed = 12345;
	size_t want = 0;

	(void)state;
	freed = 0;
	memset(present, 0, sizeof(present));
	objset_init(&s, IDS, item_free);
	for (int step = 0; step < STEPS; step++) {
		int k;

		seed = seed * 1103515245u + 12345u;
		k = (int)((seed >> 8) % IDS);
		snprintf(id, sizeof(id), "pod-%d-uid", k);
		if ((seed >> 4) & 1) {
			get(&s, id)->value = k;
			if (!present[k])
				want++;
			present[k] = true;
		} else {
			ssize_t at = objset_find(&s, id);
			assert_true((at >= 0) == present[k]);
			if (at >= 0) {
				objset_drop(&s, (size_t)at);
				present[k] = false;
				want--;
			}
		}
		assert_int_equal(s.n, want);
		if (step % 997 == 0) {
			for (int j = 0; j < IDS; j++) {
				ssize_t at;

				snprintf(id, sizeof(id), "pod-%d-uid", j);
				at = objset_find(&s, id);
				assert_true((at >= 0) == present[j]);
				if (at >= 0) {
					assert_string_equal(s.e[at]->id, id);
					assert_int_equal(((struct item *)s.e[at])->value, j);
				}
			}
		}
	}
	objset_release(&s);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_grow_find_cap),
	cmocka_unit_test(test_sync_and_drop),
	cmocka_unit_test(test_index_random_churn))
