/* cli_config.c - see cli_config.h. */
#include "cli_config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* rc from a config call: 0, or -1 after printing err. */
static int report(int rc, const char *prog, const struct wl_err *err)
{
	if (rc == 0)
		return 0;
	fprintf(stderr, "%s: %s\n", prog, err->msg);
	return -1;
}

int cli_config_load(struct config *c, const char *prog, const char *path)
{
	struct wl_err err = { "" };

	if (!path && access(CLI_DEFAULT_CONFIG, F_OK) == 0)
		path = CLI_DEFAULT_CONFIG;
	if (!path)
		return 0;
	return report(config_load_file(c, path, &err), prog, &err);
}

int cli_config_set(struct config *c, const char *prog, const char *key, const char *value)
{
	struct wl_err err = { "" };

	return report(config_set(c, key, value, &err), prog, &err);
}

int cli_config_set_arg(struct config *c, const char *prog, const char *arg)
{
	char key[128];
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(key)) {
		fprintf(stderr, "%s: --set wants KEY=VALUE, got '%s'\n", prog, arg);
		return -1;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	return cli_config_set(c, prog, key, eq + 1);
}

int cli_config_validate(const struct config *c, const char *prog)
{
	struct wl_err err = { "" };

	return report(config_validate(c, &err), prog, &err);
}
