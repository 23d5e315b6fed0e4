/* log.h - the CLI's and daemon's logging (library modules never log).
 *
 * One line per event on stderr: "2026-11-25T08:30:00.123Z warn  message". The level
 * threshold is process-wide state owned by main (the daemon's top level).
 */
#ifndef WATTLET_LOG_H
#define WATTLET_LOG_H

#include <stdbool.h>

#include "../common/loglevel.h"

void log_set_level(enum log_level lvl);
bool log_enabled(enum log_level lvl);
void wl_log(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One line a library module reported through a note callback (kube_agent_note_fn):
 * logged as is at lvl; ud unused. */
void log_note(enum log_level lvl, const char *msg, void *ud);

#define log_error(...) wl_log(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) wl_log(LOG_WARN, __VA_ARGS__)
#define log_info(...) wl_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) wl_log(LOG_DEBUG, __VA_ARGS__)

#endif
