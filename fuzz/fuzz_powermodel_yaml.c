/* fuzz_powermodel_yaml.c - PowerModel YAML (pm_parse_yaml). Property: an accepted model
 * renders (pm_to_yaml) to YAML that parses back to the same zones and name. */
#include "fuzz_common.h"

#include "agent/model/powermodel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct powermodel m, back;
	struct wl_err e = { "" };
	struct strbuf sb;

	if (pm_parse_yaml((const char *)data, size, &m, &e) != 0)
		return 0;
	strbuf_init(&sb, 1 << 20);
	FZ_CHECK(pm_to_yaml(&m, NULL, &sb) == 0, "pm_to_yaml failed");
	FZ_CHECK(pm_parse_yaml(sb.buf, sb.len, &back, &e) == 0, "rendered model refused: %s\n%.*s",
		 e.msg, (int)sb.len, sb.buf);
	FZ_CHECK(memcmp(back.zone, m.zone, sizeof(m.zone)) == 0, "zones differ after round trip");
	FZ_CHECK(strcmp(back.name, m.name) == 0 && back.priority == m.priority &&
			 back.attribution == m.attribution,
		 "name/priority/attribution differ after round trip");
	strbuf_release(&sb);
	return 0;
}
