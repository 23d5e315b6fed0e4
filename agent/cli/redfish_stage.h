/* redfish_stage.h - the tick's Redfish stage: zone platform from the BMC (docs/redfish.md).
 *
 * redfish_stage_open(): redfish.endpoint empty -> no stage (*out NULL, 0). Otherwise the
 * poller (agent/meter/redfish.h) is started; bad options or an unreadable credentials
 * file are an error (-1): the operator asked for this source. With
 * redfish.insecure_skip_verify a warning is logged at every start.
 * redfish_stage_tick() runs in the tick's prepare_attrib hook and takes the platform
 * energy integrated on the BMC's timeline since the previous tick (redfish_take):
 *   - in->energy is replaced by the stage's copy with uj[ZONE_PLATFORM] set to it (the
 *     meter's own platform reading, if any, is replaced: the BMC is what was asked for);
 *   - while stale (no reading within redfish.stale_after) the zone's error bit is set and
 *     only energy of real readings is counted - nothing is extrapolated;
 *   - in->idle_w[ZONE_PLATFORM]: model.idle_watts.platform when configured, else learned
 *     against the node's CPU utilisation (agent/model/idle.h), at most the zone's energy;
 *   - the dynamic rest is shared by the zone's feature like every zone (attrib).
 * State changes (stale/fresh, a new kind of poll error, recovery, gaps) are logged once.
 * This module logs (it is part of the daemon).
 *
 * Ownership: freed with redfish_stage_free() (NULL-safe). What it puts in *in and *st
 * stays valid until the next redfish_stage_tick() or the free.
 */
#ifndef WATTLET_REDFISH_STAGE_H
#define WATTLET_REDFISH_STAGE_H

#include "../attrib/attrib.h"
#include "../config/config.h"
#include "../export/export.h"
#include "../usage/usage.h"

struct redfish_stage;

int redfish_stage_open(const struct config *c, struct redfish_stage **out);
void redfish_stage_tick(struct redfish_stage *s, const struct usage_sample *us,
			struct attrib_input *in, struct agent_status *st, long ncpu);
void redfish_stage_free(struct redfish_stage *s);

/* For NodeEnergy status.meters: true while the reading is fresh; reason says what is read,
 * or why it is stale (the error's kind, not its changing text). */
bool redfish_stage_source(const struct redfish_stage *s, char *reason, size_t cap);

/* `wattlet probe`: the Redfish section (one synchronous poll, or why it is not used). */
void redfish_stage_probe_print(const struct config *c);

#endif
