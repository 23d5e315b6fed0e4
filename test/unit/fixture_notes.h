/* fixture_notes.h - collects the lines a library hands to its note callback (the
 * Kubernetes orchestrator's log lines) so that a test can look them up by level and text.
 * Header-only, for test files: `struct notes ns = { 0 };` then pass collect, &ns. Lines
 * beyond NOTES_MAX are dropped; each is cut at 1,023 bytes. */
#ifndef WATTLET_TEST_FIXTURE_NOTES_H
#define WATTLET_TEST_FIXTURE_NOTES_H

#include <stdio.h>
#include <string.h>

#include "agent/common/loglevel.h"

#define NOTES_MAX 64

struct notes {
	size_t n;
	enum log_level lvl[NOTES_MAX];
	char msg[NOTES_MAX][1024];
};

static inline void collect(enum log_level lvl, const char *msg, void *ud)
{
	struct notes *ns = ud;
	if (ns->n == NOTES_MAX)
		return;
	ns->lvl[ns->n] = lvl;
	snprintf(ns->msg[ns->n], sizeof(ns->msg[0]), "%s", msg);
	ns->n++;
}

/* Index of the first note at lvl that contains text, or -1. */
static inline int find_note(const struct notes *ns, enum log_level lvl, const char *text)
{
	for (size_t i = 0; i < ns->n; i++)
		if (ns->lvl[i] == lvl && strstr(ns->msg[i], text))
			return (int)i;
	return -1;
}

#endif
