/* fixture_idle.h - the per-zone idle estimators of the idle-selection unit tests
 * (test_idlesel, test_idle_class).
 *
 * Header-only (each unit test is one .c file linked with the library); include it after
 * <cmocka.h>. fixture_idle_new() fills est[ZONE_COUNT] with estimators the caller frees
 * with fixture_idle_free(), also after a failed new when est was zeroed before (the
 * estimators not made are NULL, and freeing NULL does nothing).
 */
#ifndef WATTLET_TEST_FIXTURE_IDLE_H
#define WATTLET_TEST_FIXTURE_IDLE_H

#include "agent/model/idle.h"

/* For every zone: an estimator over window ticks (5th percentile, utilisation below 0.10
 * counts as idle) and no configured idle (cfg -1). Returns 0, or -1 when one cannot be made. */
static inline int fixture_idle_new(struct idle_est **est, double *cfg, size_t window)
{
	for (int z = 0; z < ZONE_COUNT; z++) {
		cfg[z] = -1;
		est[z] = idle_est_new(window, 5, 0.10);
		if (!est[z])
			return -1;
	}
	return 0;
}

static inline void fixture_idle_free(struct idle_est **est)
{
	for (int z = 0; z < ZONE_COUNT; z++)
		idle_est_free(est[z]);
}

#endif
