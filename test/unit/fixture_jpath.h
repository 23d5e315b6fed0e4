/* fixture_jpath.h - a member of a JSON document (jansson) by its dotted path, e.g.
 * jpath_str(j, "status.energySource"): NULL where a step is missing or the value is not
 * of the kind asked for. Header-only. The returned values are borrowed from o. */
#ifndef WATTLET_TEST_FIXTURE_JPATH_H
#define WATTLET_TEST_FIXTURE_JPATH_H

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

static inline json_t *jpath(const json_t *o, const char *path)
{
	json_t *v = (json_t *)o;
	char buf[128], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save))
		v = json_object_get(v, tok);
	return v;
}

static inline const char *jpath_str(const json_t *o, const char *path)
{
	return json_string_value(jpath(o, path));
}

/* A number at path; NAN when absent or not a number. */
static inline double jnum(const json_t *o, const char *path)
{
	json_t *v = jpath(o, path);

	return v && json_is_number(v) ? json_number_value(v) : NAN;
}

#endif
