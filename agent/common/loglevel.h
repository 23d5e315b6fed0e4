/* loglevel.h - the log levels: the threshold the config holds (log.level) and the CLI's
 * logger applies (agent/cli/log.h). Library modules never log; they only carry it. */
#ifndef WATTLET_LOGLEVEL_H
#define WATTLET_LOGLEVEL_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

#endif
