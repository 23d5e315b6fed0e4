/* idlesel.c - see idlesel.h. */
#include "idlesel.h"

#include <string.h>

/* The zone's learned idle, after feeding it this tick's reading. */
static const char *learned(struct idle_est *e, const struct meter_delta *md, int z,
			   double util, bool refit, double *w)
{
	double dt = md->dt_ns / 1e9, v = 0;
	enum idle_source src = IDLE_SRC_NONE;

	if (dt > 0 && !(md->error_mask & (1u << z)) && !(md->reset_mask & (1u << z)))
		idle_est_add(e, md->uj[z] / 1e6 / dt, util);
	if (refit || idle_est_count(e) < 30)
		idle_est_update(e);
	if (idle_est_get(e, &v, &src) == 0)
		*w = v;
	return idle_source_name(src);
}

void idle_select(struct idle_est *const est[ZONE_COUNT], const double cfg_w[ZONE_COUNT],
		 const struct powermodel *model, const struct meter_delta *md, double util,
		 bool refit, struct idle_pick *out)
{
	memset(out, 0, sizeof(*out));
	for (int z = 0; z < ZONE_COUNT; z++) {
		double mw = model ? pm_idle_w(model, (enum zone)z) : -1;

		if (!(md->zone_mask & (1u << z)))
			continue;
		if (cfg_w[z] >= 0) {
			out->w[z] = cfg_w[z];
			out->source[z] = "configured";
			continue;
		}
		if (est[z])
			out->source[z] = learned(est[z], md, z, util, refit, &out->w[z]);
		if (mw >= 0) {
			out->w[z] = mw;
			out->source[z] = "model";
		}
	}
}

void idle_apply_class(const double class_w[ZONE_COUNT], struct idle_pick *pick)
{
	const char *fb = idle_source_name(IDLE_SRC_FALLBACK);

	for (int z = 0; z < ZONE_COUNT; z++)
		if (class_w[z] >= 0 && pick->source[z] && strcmp(pick->source[z], fb) == 0) {
			pick->w[z] = class_w[z];
			pick->source[z] = "class";
		}
}
