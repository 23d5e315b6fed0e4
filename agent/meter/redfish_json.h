/* redfish_json.h - the few Redfish documents the platform power source reads (pure, no I/O).
 *
 *   Chassis collection   /redfish/v1/Chassis: Members[0]."@odata.id" (redfish.chassis
 *                        empty: the first chassis)
 *   Chassis              links to EnvironmentMetrics, PowerSubsystem and the legacy Power
 *                        resource ("@odata.id" of each, when present)
 *   EnvironmentMetrics   PowerWatts.Reading (W), EnergykWh.Reading (kWh, optional)
 *   Power (legacy)       PowerControl[0].PowerConsumedWatts (W)
 *   PowerSubsystem       PowerSupplies."@odata.id" (the collection of supplies)
 *   a collection         every Members[]."@odata.id" (at most RF_MAX_SUPPLIES)
 *   PowerSupply          Metrics."@odata.id"
 *   PowerSupplyMetrics   InputPowerWatts.Reading (W; AC input: the platform's draw through
 *                        that supply, its losses included), EnergykWh.Reading (optional)
 * A link is accepted only as a path on the same service: it starts with "/redfish/v1/",
 * holds printable ASCII without spaces, '?', '#', '\\' or a ".." segment, and fits
 * RF_PATH_MAX; the poller appends it to the configured endpoint, so a BMC can never send
 * the agent's credentials to another host.
 * A power reading must be a finite number in 0..RF_MAX_WATTS; JSON null (a BMC's "sensor
 * unavailable") is a missing reading. An EnergykWh that is absent, null, negative or not a
 * number leaves have_kwh false (the power reading is still used).
 *
 * Return convention: 0; -EBADMSG the body is not a JSON object (err says where it
 * breaks); -ENOENT the reading or link is missing or null (err names the field);
 * -ERANGE a reading out of range or not a number (err names the field and value).
 * err may be NULL. No state, no allocation kept, no logging; any thread.
 */
#ifndef WATTLET_REDFISH_JSON_H
#define WATTLET_REDFISH_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/util.h"

#define RF_PATH_MAX 256
#define RF_MAX_WATTS 100000.0 /* no one chassis draws 100 kW: above is garbage */
#define RF_MAX_SUPPLIES 16

struct rf_reading {
	double watts;
	bool have_kwh;
	double kwh;
};

struct rf_chassis_links {
	char env[RF_PATH_MAX];   /* EnvironmentMetrics, or "" */
	char psub[RF_PATH_MAX];  /* PowerSubsystem, or "" */
	char power[RF_PATH_MAX]; /* legacy Power, or "" */
};

int rf_parse_members_first(const char *body, size_t len, char *path, size_t cap,
			   struct wl_err *err);
int rf_parse_chassis(const char *body, size_t len, struct rf_chassis_links *l,
		     struct wl_err *err);
int rf_parse_env_metrics(const char *body, size_t len, struct rf_reading *r, struct wl_err *err);
int rf_parse_power(const char *body, size_t len, struct rf_reading *r, struct wl_err *err);
int rf_parse_power_subsystem(const char *body, size_t len, char *supplies, size_t cap,
			     struct wl_err *err);
/* Every member's path into paths[0..*n) (at most max; more is -E2BIG); -ENOENT for none. */
int rf_parse_members(const char *body, size_t len, char (*paths)[RF_PATH_MAX], size_t max,
		     size_t *n, struct wl_err *err);
int rf_parse_supply(const char *body, size_t len, char *metrics, size_t cap, struct wl_err *err);
int rf_parse_supply_metrics(const char *body, size_t len, struct rf_reading *r,
			    struct wl_err *err);

/* true when p is a link rf_parse_* would accept (see above). */
bool rf_path_ok(const char *p);

#endif
