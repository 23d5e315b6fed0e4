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

#endif
