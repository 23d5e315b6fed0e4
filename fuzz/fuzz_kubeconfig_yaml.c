/* fuzz_kubeconfig_yaml.c - kubeconfig files (kube_config_from_file). Paths named in the
 * file are only read (exec plugins are refused by the parser). */
#include "fuzz_common.h"

#include "agent/kube/kube_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[128];
	struct kube_config_opts o = { .allow_insecure = true };
	struct wl_err e = { "" };
	struct kube_config *c;

	fz_path(path, sizeof(path), "kubeconfig");
	fz_write_file(path, data, size);
	c = kube_config_from_file(path, &o, &e);
	if (c) {
		FZ_CHECK(kube_config_server(c) != NULL, "no server");
		(void)kube_config_namespace(c);
	}
	kube_config_free(c);
	return 0;
}
