/* cli_config.h - the configuration steps that `wattlet` (the daemon's flags) and
 * `wattlet validate` share: load the file, apply KEY=VALUE settings, validate. Each
 * prints its error to stderr as "<prog>: <message>" (prog: "wattlet", "wattlet
 * validate") and returns 0, or -1 after printing.
 */
#ifndef WATTLET_CLI_CONFIG_H
#define WATTLET_CLI_CONFIG_H

#include "../config/config.h"

/* Where the config file is looked for when no -c is given (used only if it exists). */
#define CLI_DEFAULT_CONFIG "/etc/wattlet/config.yaml"

/* Loads path onto c; path NULL: CLI_DEFAULT_CONFIG when it exists, else nothing. */
int cli_config_load(struct config *c, const char *prog, const char *path);
/* config_set(c, key, value). */
int cli_config_set(struct config *c, const char *prog, const char *key, const char *value);
/* --set's argument: "KEY=VALUE" (a key of 1..127 characters), applied by config_set. */
int cli_config_set_arg(struct config *c, const char *prog, const char *arg);
/* config_validate(c). */
int cli_config_validate(const struct config *c, const char *prog);

#endif
