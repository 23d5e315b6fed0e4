/* fixture_refused.h - the check that a parser or loader refused its input: nothing was
 * made, and the error says why (contains an expected part). For the tests of the
 * kubeconfig, label selector, EnergyPolicy and PowerModel parsers.
 *
 * Header-only; include after <cmocka.h>. The caller frees whatever the parser made
 * before the check (the check fails the test, so nothing would free it after).
 */
#ifndef WATTLET_TEST_FIXTURE_REFUSED_H
#define WATTLET_TEST_FIXTURE_REFUSED_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "test/unit/fixture_json.h"

/* Fails the test when input `what` was accepted (made) or when the error message msg
 * does not contain want. */
static inline void assert_refused_with(const char *what, bool made, const char *msg,
				       const char *want)
{
	if (made)
		fail_msg("%s accepted", what);
	if (!strstr(msg, want))
		fail_msg("%s: error \"%s\" lacks \"%s\"", what, msg, want);
}

/* A JSON fixture file a parser must refuse, and a part of the error it must give. */
struct refused_file {
	const char *file, *want;
};

/* Each of the n files (JSON fixtures under <fixture dir>/<sub>) is refused by parse:
 * parse returns whether it made something (freeing it), its error in err. */
static inline void assert_files_refused(const char *sub, const struct refused_file *cases,
					size_t n, bool (*parse)(json_t *o, struct wl_err *err))
{
	for (size_t i = 0; i < n; i++) {
		struct wl_err e = { { 0 } };
		json_t *o = fixture_json_file(sub, cases[i].file);
		bool made = parse(o, &e);

		json_decref(o);
		assert_refused_with(cases[i].file, made, e.msg, cases[i].want);
	}
}

#endif
