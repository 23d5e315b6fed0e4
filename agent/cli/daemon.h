/* daemon.h - `wattlet run`: the measurement loop and its HTTP endpoints.
 *
 * One thread. Each tick (config.tick_ms, aligned to a monotonic schedule):
 * meter and usage are read back to back, idle power is learned or taken from the
 * config, attribution splits the energy, the ledger accumulates it; between ticks
 * the HTTP server answers /metrics, /healthz, /readyz and /api/v1/workloads from the
 * ledger. The ledger is checkpointed every checkpoint_interval and at exit.
 *
 * daemon_run() returns the process exit code: 0 after SIGTERM/SIGINT or after
 * opts->duration_ms, 1 when start-up fails (the reason is logged).
 */
#ifndef WATTLET_DAEMON_H
#define WATTLET_DAEMON_H

#include <stdint.h>

#include "../config/config.h"

struct daemon_opts {
	uint64_t duration_ms; /* 0 = run until a signal */
	const char *node_name; /* NULL = hostname */
	const char *record_path; /* NULL = no recording; else `--record FILE` (model/record.h) */
};

int daemon_run(const struct config *c, const struct daemon_opts *o);

#endif
