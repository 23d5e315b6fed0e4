/* fuzz_config_yaml.c - the agent's config file (config_load_file): YAML limits, key
 * table, value parsers. Property: an accepted file dumps (config_dump) to YAML that
 * loads back and dumps to the same text. */
#include "fuzz_common.h"

#include "agent/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[128], dump1[1 << 16], dump2[1 << 16];
	static struct config c, c2;
	struct wl_err e = { "" };

	fz_path(path, sizeof(path), "config.yaml");
	fz_write_file(path, data, size);
	config_defaults(&c);
	if (config_load_file(&c, path, &e) != 0)
		return 0;
	(void)config_validate(&c, &e);
	if (config_dump(&c, dump1, sizeof(dump1)) != 0)
		return 0;
	fz_write_file(path, dump1, strlen(dump1));
	config_defaults(&c2);
	FZ_CHECK(config_load_file(&c2, path, &e) == 0, "dump does not load back: %s\n%s", e.msg,
		 dump1);
	FZ_CHECK(config_dump(&c2, dump2, sizeof(dump2)) == 0, "second dump failed");
	FZ_CHECK(strcmp(dump1, dump2) == 0, "dump changed on reload:\n%s\n---\n%s", dump1, dump2);
	return 0;
}
