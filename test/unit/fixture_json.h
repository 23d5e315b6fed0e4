/* fixture_json.h - JSON fixtures and inline JSON for unit tests (jansson): a document that
 * cannot be loaded or parsed fails the test, naming the file or the text. The caller
 * owns the returned reference (json_decref). Include after <cmocka.h>. */
#ifndef WATTLET_TEST_FIXTURE_JSON_H
#define WATTLET_TEST_FIXTURE_JSON_H

#include <jansson.h>

#include "test/unit/fixture.h"

/* <fixture dir>/<sub>/<name>, parsed. */
static inline json_t *fixture_json_file(const char *sub, const char *name)
{
	char path[512];
	json_error_t je;
	json_t *j;

	fixture_path(path, sizeof(path), sub, name);
	j = json_load_file(path, 0, &je);
	if (!j)
		fail_msg("cannot load %s: %s", path, je.text);
	return j;
}

/* A JSON text written in the test, parsed. */
static inline json_t *fixture_json_text(const char *s)
{
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);

	if (!j)
		fail_msg("bad test JSON %s: %s", s, je.text);
	return j;
}

/* Defines `static struct <set> *load_set(void)`: a new <set> synced from the list fixture
 * <sub>/<name>: <set>_begin_sync, <set>_upsert of each of its "items" (an item refused
 * fails the test, naming it and the error), <set>_end_sync. For the object sets that
 * have this API (policy_set, model_set); the caller frees the set. */
#define FIXTURE_JSON_LOAD_SET(set, sub, name)                                 \
	static struct set *load_set(void)                                     \
	{                                                                     \
		struct set *s = set##_new();                                  \
		json_t *lst = fixture_json_file(sub, name), *it;              \
		size_t i;                                                     \
		set##_begin_sync(s);                                          \
		json_array_foreach(json_object_get(lst, "items"), i, it) {    \
			struct wl_err e = { { 0 } };                          \
			if (set##_upsert(s, it, &e))                          \
				fail_msg("item %zu: %s", i, e.msg);           \
		}                                                             \
		set##_end_sync(s);                                            \
		json_decref(lst);                                             \
		return s;                                                     \
	}

#endif
