/* fixture_usage.h - finding and checking entries of a usage read (struct usage_entry
 * arrays: a struct usage_sample's, or a usage source's own) for the usage unit tests
 * (test_usage, test_usage_cgroup), and the ancestry of cgroup paths their models of
 * hierarchical counters follow.
 *
 * Header-only (each unit test is one .c file linked with the library); include it after
 * <cmocka.h>. The entries are the caller's and are only read; a mismatch fails the test.
 */
#ifndef WATTLET_TEST_FIXTURE_USAGE_H
#define WATTLET_TEST_FIXTURE_USAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "agent/usage/usage.h"

/* Whether cgroup path a ("/" the root) is d or one of d's ancestors: the cgroups whose
 * hierarchical counters grow when d runs. */
static inline bool fixture_cg_ancestor_or_self(const char *a, const char *d)
{
	size_t n = strlen(a);

	if (!strcmp(a, "/"))
		return true;
	return !strncmp(a, d, n) && (d[n] == '\0' || d[n] == '/');
}

/* The entry of e[0..n) whose path is rel, NULL when none is. */
static inline const struct usage_entry *fixture_usage_entry(const struct usage_entry *e,
							       size_t n, const char *rel)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].path, rel))
			return &e[i];
	return NULL;
}

/* Fails unless e[0..n) has an entry for rel whose CPU time delta is ns. */
static inline void fixture_usage_expect_cpu(const struct usage_entry *e, size_t n, const char *rel,
					    uint64_t ns)
{
	const struct usage_entry *x = fixture_usage_entry(e, n, rel);

	if (!x)
		fail_msg("no entry for %s", rel);
	if (x->delta[FEAT_CPU_TIME] != ns)
		fail_msg("%s: cpu delta %llu ns, want %llu", rel,
			 (unsigned long long)x->delta[FEAT_CPU_TIME], (unsigned long long)ns);
}

#endif
