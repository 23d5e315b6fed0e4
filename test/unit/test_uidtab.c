/* test_uidtab.c - string-keyed records: find/create, growth, bound, sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testmain.h"

#include <stdio.h>
#include <string.h>

#include "agent/common/uidtab.h"

struct rec {
	struct uidtab_hdr h;
	int value;
};

static void key_of(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "6f3c2a1e-%04d-4a2b-9c3d-0123456789ab", i);
}

/* uidtab_get of key number i: the record (created zeroed if new), NULL when refused. */
static struct rec *get_nth(struct uidtab *t, int i)
{
	char k[64];

	key_of(k, sizeof(k), i);
	return uidtab_get(t, k);
}

static void test_get_grow_find(void **state)
{
	struct uidtab t;
	char k[64];
	(void)state;

	uidtab_init(&t, sizeof(struct rec), 4, 0);
	/* 1000 records through several doublings; each found again with its value */
	for (int i = 0; i < 1000; i++) {
		struct rec *r;
		key_of(k, sizeof(k), i);
		r = uidtab_get(&t, k);
		assert_non_null(r);
		assert_int_equal(r->value, 0); /* created zeroed */
		assert_string_equal(r->h.key, k);
		r->value = i + 1;
	}
	assert_int_equal(t.used, 1000);
	assert_true(t.cap >= 2000 && (t.cap & (t.cap - 1)) == 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(get_nth(&t, i)->value, i + 1);
	assert_int_equal(t.used, 1000); /* lookups create nothing */
	/* a key longer than the bound is refused, the longest allowed works */
	memset(k, 'a', sizeof(k));
	{
		char longk[UIDTAB_KEY_MAX + 2];
		memset(longk, 'x', sizeof(longk));
		longk[UIDTAB_KEY_MAX + 1] = '\0';
		assert_null(uidtab_get(&t, longk));
		longk[UIDTAB_KEY_MAX] = '\0';
		assert_non_null(uidtab_get(&t, longk));
	}
	assert_null(uidtab_get(&t, NULL));
	uidtab_release(&t);
	uidtab_release(&t); /* twice: fine */
}

static void test_bound(void **state)
{
	struct uidtab t;
	(void)state;

	uidtab_init(&t, sizeof(struct rec), 2, 3);
	for (int i = 0; i < 3; i++)
		assert_non_null(get_nth(&t, i));
	assert_null(get_nth(&t, 3)); /* full */
	assert_non_null(get_nth(&t, 1)); /* existing ones are still found */
	uidtab_release(&t);
}

static int gone_count;
static int gone_sum;

static void on_gone(void *rec, void *ud)
{
	const struct rec *r = rec;
	assert_ptr_equal(ud, &gone_count);
	gone_count++;
	gone_sum += r->value;
}

static void test_sweep(void **state)
{
	struct uidtab t;
	size_t n = 0;
	(void)state;

	uidtab_init(&t, sizeof(struct rec), 8, 0);
	for (int i = 0; i < 200; i++) {
		struct rec *r = get_nth(&t, i);
		r->value = i;
		r->h.seen = i % 3 == 0 ? 7 : 6; /* a third touched in generation 7 */
	}
	gone_count = gone_sum = 0;
	uidtab_sweep(&t, 7, on_gone, &gone_count);
	assert_int_equal(gone_count, 200 - 67);
	assert_int_equal(t.used, 67);
	for (size_t i = 0; i < t.cap; i++)
		n += uidtab_slot(&t, i) != NULL;
	assert_int_equal(n, 67);
	assert_null(uidtab_slot(&t, t.cap));
	/* survivors keep their values and are found through intact probe chains; the
	 * dropped come back new */
	for (int i = 0; i < 200; i++) {
		struct rec *r = get_nth(&t, i);
		assert_non_null(r);
		assert_int_equal(r->value, i % 3 == 0 ? i : 0);
	}
	/* generation 0: the 67 survivors (seen 7) go, the 133 recreated (seen 0) stay; no
	 * callback is fine */
	uidtab_sweep(&t, 0, NULL, NULL);
	assert_int_equal(t.used, 133);
	uidtab_release(&t);
	gone_count = 0;
	uidtab_sweep(&t, 1, on_gone, &gone_count); /* empty table */
	assert_int_equal(gone_count, 0);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_get_grow_find),
	cmocka_unit_test(test_bound),
	cmocka_unit_test(test_sweep))
