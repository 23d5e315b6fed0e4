/* fuzz_redfish_json.c - the Redfish documents a BMC answers (agent/meter/redfish_json.h):
 * the first byte picks EnvironmentMetrics, legacy Power, a Chassis, the Chassis
 * collection (first member), PowerSubsystem, a collection (every member), a PowerSupply
 * or its PowerSupplyMetrics; the rest is the body. Properties: an accepted reading is finite and within
 * 0..RF_MAX_WATTS (an EnergykWh finite and >= 0); every accepted link passes rf_path_ok
 * (so it can only name a path on the configured BMC); an accepted reading fed to the
 * timeline twice, 1 s apart, gives its own energy (W x 1 s) to the microjoule. */
#include "fuzz_common.h"

#include <math.h>

#include "agent/meter/redfish_json.h"
#include "agent/meter/redfish_tl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rf_reading r;
	struct rf_chassis_links l;
	char path[RF_PATH_MAX], paths[RF_MAX_SUPPLIES][RF_PATH_MAX];
	size_t np = 77;
	const char *body;
	size_t n;
	int rc;

	if (size < 1)
		return 0;
	body = (const char *)data + 1;
	n = size - 1;
	switch (data[0] % 8) {
	case 0:
	case 1:
	case 7:
		rc = data[0] % 8 == 7 ? rf_parse_supply_metrics(body, n, &r, NULL)
		     : data[0] % 8 ? rf_parse_power(body, n, &r, NULL)
				   : rf_parse_env_metrics(body, n, &r, NULL);
		if (rc == 0) {
			struct rf_tl tl;
			struct rf_take t;
			struct rf_point p = { .t_ns = 1000000000ull, .watts = r.watts };
			FZ_CHECK(isfinite(r.watts) && r.watts >= 0 && r.watts <= RF_MAX_WATTS,
				 "reading %g W accepted", r.watts);
			FZ_CHECK(!r.have_kwh || (isfinite(r.kwh) && r.kwh >= 0), "kWh %g accepted",
				 r.kwh);
			rf_tl_init(&tl, 5000000000ull, false);
			FZ_CHECK(rf_tl_add(&tl, &p) == 0, "timeline refused %g W", r.watts);
			p.t_ns += 1000000000ull;
			FZ_CHECK(rf_tl_add(&tl, &p) == 0, "timeline refused %g W", r.watts);
			rf_tl_take(&tl, p.t_ns, UINT64_MAX, &t);
			FZ_CHECK(fabs((double)t.uj - r.watts * 1e6) <= 1, "%g W for 1 s gave %llu uJ",
				 r.watts, (unsigned long long)t.uj);
		} else {
			FZ_CHECK(rc == -EBADMSG || rc == -ENOENT || rc == -ERANGE, "rc %d", rc);
		}
		break;
	case 2:
		rc = rf_parse_chassis(body, n, &l, NULL);
		if (rc == 0) {
			FZ_CHECK(l.env[0] || l.psub[0] || l.power[0], "accepted without a link");
			FZ_CHECK(!l.env[0] || rf_path_ok(l.env), "env link '%s'", l.env);
			FZ_CHECK(!l.psub[0] || rf_path_ok(l.psub), "psub link '%s'", l.psub);
			FZ_CHECK(!l.power[0] || rf_path_ok(l.power), "power link '%s'", l.power);
		}
		break;
	case 3:
		rc = rf_parse_members_first(body, n, path, sizeof(path), NULL);
		if (rc == 0)
			FZ_CHECK(rf_path_ok(path), "member '%s'", path);
		break;
	case 4:
	case 6:
		rc = data[0] % 8 == 4 ? rf_parse_power_subsystem(body, n, path, sizeof(path), NULL)
				      : rf_parse_supply(body, n, path, sizeof(path), NULL);
		if (rc == 0)
			FZ_CHECK(rf_path_ok(path), "link '%s'", path);
		break;
	default:
		rc = rf_parse_members(body, n, paths, RF_MAX_SUPPLIES, &np, NULL);
		FZ_CHECK(rc == 0 ? np >= 1 && np <= RF_MAX_SUPPLIES : np == 0, "rc %d, %zu members",
			 rc, np);
		for (size_t i = 0; rc == 0 && i < np; i++)
			FZ_CHECK(rf_path_ok(paths[i]), "member %zu '%s'", i, paths[i]);
		break;
	}
	return 0;
}
