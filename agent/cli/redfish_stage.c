/* redfish_stage.c - see redfish_stage.h. */
#include "redfish_stage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../meter/redfish.h"
#include "../model/idle.h"
#include "log.h"

#define IDLE_EVERY 10 /* ticks between idle re-estimates, as for the other zones */

struct redfish_stage {
	const struct config *cfg;
	struct redfish *rf;
	struct idle_est *idle;   /* NULL with model.idle_watts.platform */
	uint64_t ticks, start_ns;
	bool logged_stale, logged_fresh;
	int logged_err;          /* enum rf_err last logged, -1 none */
	struct rf_status rs;
	struct export_redfish ex;
	struct meter_delta md;
	char endpoint[RF_ENDPOINT_MAX + 256]; /* with {node} replaced */
};

/* redfish.endpoint with "{node}" replaced by this node's name (kubernetes.node_name, else
 * $NODE_NAME, else the hostname): one chart value for every node's own BMC. */
static void endpoint_for_node(const struct config *c, char *out, size_t cap)
{
	const char *ph = strstr(c->redfish_endpoint, "{node}");
	char host[256] = "";
	const char *node = c->node_name[0] ? c->node_name : getenv("NODE_NAME");

	if (!ph) {
		snprintf(out, cap, "%s", c->redfish_endpoint);
		return;
	}
	if (!node || !node[0]) {
		if (gethostname(host, sizeof(host) - 1) != 0)
			snprintf(host, sizeof(host), "unknown");
		node = host;
	}
	snprintf(out, cap, "%.*s%s%s", (int)(ph - c->redfish_endpoint), c->redfish_endpoint, node,
		 ph + 6);
}

static void opts_from(const struct config *c, struct rf_opts *o, char *ep, size_t ep_cap)
{
	memset(o, 0, sizeof(*o));
	endpoint_for_node(c, ep, ep_cap);
	o->endpoint = ep;
	o->chassis = c->redfish_chassis;
	o->cred_file = c->redfish_cred_file;
	o->ca_file = c->redfish_ca_file;
	o->insecure = c->redfish_insecure;
	o->interval_ns = c->redfish_interval_ms * 1000000ull;
	o->timeout_ns = c->redfish_timeout_ms * 1000000ull;
	o->stale_ns = c->redfish_stale_ms * 1000000ull;
	o->use_kwh = c->redfish_energy_counter;
}

int redfish_stage_open(const struct config *c, struct redfish_stage **out)
{
	struct wl_err err = { "" };
	struct rf_opts o;
	struct redfish_stage *s;
	size_t window;
	char ep[RF_ENDPOINT_MAX + 256];

	*out = NULL;
	if (!c->redfish_endpoint[0])
		return 0;
	if (c->redfish_insecure)
		log_warn("redfish: redfish.insecure_skip_verify is set: the BMC's TLS certificate "
			 "is NOT verified, so anyone on the path can read the credentials sent to "
			 "%s and forge its readings; set redfish.ca_file instead",
			 c->redfish_endpoint);
	s = calloc(1, sizeof(*s));
	if (!s) {
		log_error("redfish: out of memory");
		return -1;
	}
	s->cfg = c;
	s->logged_err = -1;
	s->start_ns = mono_ns();
	if (c->idle_watts[ZONE_PLATFORM] < 0) {
		window = (size_t)(c->idle_window_ms / (c->tick_ms ? c->tick_ms : 1000));
		s->idle = idle_est_new(window < 2 ? 2 : window, c->idle_percentile,
				       c->idle_low_util);
		if (!s->idle) {
			log_error("redfish: out of memory for the idle model");
			redfish_stage_free(s);
			return -1;
		}
	}
	opts_from(c, &o, ep, sizeof(ep));
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", ep);
	s->rf = redfish_open(&o, &err);
	if (!s->rf) {
		log_error("redfish: %s", err.msg);
		redfish_stage_free(s);
		return -1;
	}
	log_info("redfish: polling %s every %.1f s (timeout %.1f s, stale after %.1f s, TLS %s); "
		 "zone platform from the BMC, attributed like every zone (docs/redfish.md)",
		 ep, c->redfish_interval_ms / 1e3, c->redfish_timeout_ms / 1e3,
		 c->redfish_stale_ms / 1e3,
		 c->redfish_insecure ? "NOT verified" :
		 c->redfish_ca_file[0] ? "verified against redfish.ca_file" :
		 "verified against the system CAs");
	*out = s;
	return 0;
}

void redfish_stage_free(struct redfish_stage *s)
{
	if (!s)
		return;
	redfish_close(s->rf);
	idle_est_free(s->idle);
	free(s);
}

static void log_state(struct redfish_stage *s, const struct rf_take *t)
{
	const struct rf_status *rs = &s->rs;

	if (rs->last_err >= 0 && rs->last_err != s->logged_err) {
		log_warn("redfish: poll failed (%s): %s", rf_err_names[rs->last_err], rs->last_msg);
		s->logged_err = rs->last_err;
	} else if (rs->last_err < 0 && s->logged_err >= 0) {
		log_info("redfish: %s answers again (%s %s, %.1f W)", s->endpoint,
			 rs->kind, rs->resource, rs->last_watts);
		s->logged_err = -1;
	}
	if (t->have_reading && !s->logged_fresh) {
		log_info("redfish: first reading from %s: %.1f W%s", rs->resource, rs->last_watts,
			 rs->last_has_kwh && s->cfg->redfish_energy_counter ?
			 " (energy from EnergykWh between readings)" : "");
		s->logged_fresh = true;
	}
	/* before the first reading: stale (no energy) but said only once stale_after passed */
	if (t->stale && !s->logged_stale &&
	    (t->have_reading || mono_ns() - s->start_ns > s->cfg->redfish_stale_ms * 1000000ull)) {
		log_warn("redfish: zone platform is STALE: %s; no energy is counted for the time "
			 "without readings (nothing is invented)%s%s",
			 t->have_reading ? "no reading within redfish.stale_after" :
			 "no reading yet", rs->last_msg[0] ? "; last error: " : "", rs->last_msg);
		s->logged_stale = true;
	} else if (!t->stale && s->logged_stale) {
		log_info("redfish: zone platform fresh again (reading %.1f s old)", t->age_ns / 1e9);
		s->logged_stale = false;
	}
	if (t->gaps)
		log_warn("redfish: %.1f s between two readings exceeded redfish.stale_after; that "
			 "gap is not integrated", t->gap_ns / 1e9);
}

void redfish_stage_tick(struct redfish_stage *s, const struct usage_sample *us,
			struct attrib_input *in, struct agent_status *st, long ncpu)
{
	const struct config *c;
	struct rf_take t;
	double iw = 0, span_s;
	uint64_t idle_uj;
	const char *src = "none";

	if (!s || !us || !in || !in->energy)
		return;
	c = s->cfg;
	s->ticks++;
	redfish_take(s->rf, mono_ns(), &t, &s->rs);
	log_state(s, &t);
	s->md = *in->energy;
	s->md.zone_mask |= 1u << ZONE_PLATFORM;
	s->md.platform_whole = true; /* the chassis' power: the GPUs are inside it */
	s->md.uj[ZONE_PLATFORM] = t.uj;
	s->md.reset_mask &= ~(1u << ZONE_PLATFORM);
	s->md.error_mask &= ~(1u << ZONE_PLATFORM);
	if (t.stale)
		s->md.error_mask |= 1u << ZONE_PLATFORM;
	span_s = t.span_ns / 1e9;
	if (c->idle_watts[ZONE_PLATFORM] >= 0) {
		iw = c->idle_watts[ZONE_PLATFORM];
		src = "configured";
	} else if (s->idle) {
		enum idle_source is = IDLE_SRC_NONE;
		double util = 0;
		if (ncpu > 0 && us->dt_ns)
			util = (double)us->node_delta[FEAT_CPU_TIME] / ((double)us->dt_ns * ncpu);
		if (span_s > 0.2 && !t.gaps)
			idle_est_add(s->idle, (double)t.uj / 1e6 / span_s, util);
		if (s->ticks % IDLE_EVERY == 0 || idle_est_count(s->idle) < 30)
			idle_est_update(s->idle);
		if (idle_est_get(s->idle, &iw, &is) != 0)
			iw = 0;
		src = idle_source_name(is);
	}
	idle_uj = (uint64_t)fmin((double)t.uj, fmax(0, iw * span_s * 1e6));
	in->energy = &s->md;
	in->idle_w[ZONE_PLATFORM] = s->md.dt_ns ? (double)idle_uj * 1e3 / (double)s->md.dt_ns : 0;
	if (st) {
		st->idle_watts[ZONE_PLATFORM] = iw;
		st->idle_source[ZONE_PLATFORM] = src;
		s->ex.resource = s->rs.kind;
		s->ex.stale = t.stale;
		s->ex.reading_age_s = t.have_reading ? t.age_ns / 1e9 : -1;
		s->ex.watts = s->rs.last_watts;
		s->ex.polls = s->rs.polls;
		s->ex.err_names = rf_err_names;
		s->ex.errors = s->rs.errors;
		s->ex.n_err = RF_ERR_COUNT;
		st->redfish = &s->ex;
	}
}

bool redfish_stage_source(const struct redfish_stage *s, char *reason, size_t cap)
{
	if (!s || s->ticks == 0) {
		snprintf(reason, cap, "starting");
		return false;
	}
	if (s->ex.stale) {
		snprintf(reason, cap, "STALE: no reading within redfish.stale_after (%.0f s): zone "
			 "platform gains no energy; last error: %s", s->cfg->redfish_stale_ms / 1e3,
			 s->rs.last_err >= 0 ? rf_err_names[s->rs.last_err] : "none");
		return false;
	}
	snprintf(reason, cap, "zone platform from %s %s every %.1f s", s->rs.kind, s->rs.resource,
		 s->cfg->redfish_interval_ms / 1e3);
	return true;
}

void redfish_stage_probe_print(const struct config *c)
{
	struct rf_opts o;
	struct rf_status rs;
	struct rf_reading rd;
	char ep[RF_ENDPOINT_MAX + 256];

	printf("redfish (redfish.endpoint: %s)\n", c->redfish_endpoint[0] ? c->redfish_endpoint :
	       "\"\"");
	if (!c->redfish_endpoint[0]) {
		printf("  not used: redfish.endpoint is empty (zone platform from a BMC is off; "
		       "docs/redfish.md)\n");
		return;
	}
	if (c->redfish_insecure)
		printf("  WARNING   redfish.insecure_skip_verify: the BMC's certificate is not "
		       "verified\n");
	opts_from(c, &o, ep, sizeof(ep));
	if (strcmp(ep, c->redfish_endpoint) != 0)
		printf("  endpoint  %s ({node}: this node)\n", ep);
	if (redfish_probe(&o, &rd, &rs) != 0) {
		printf("  ERROR     not usable (%s): %s\n",
		       rs.last_err >= 0 ? rf_err_names[rs.last_err] : "error", rs.last_msg);
		return;
	}
	printf("  redfish   IN USE   %s %s: %.1f W%s; round trip %.0f ms; zone platform from "
	       "the BMC every %.1f s, stale after %.1f s\n", rs.kind, rs.resource, rd.watts,
	       rd.have_kwh ? (c->redfish_energy_counter ? ", EnergykWh counter used" :
			      ", EnergykWh present (redfish.energy_counter: false)") : "",
	       rs.last_rtt_ns / 1e6, c->redfish_interval_ms / 1e3, c->redfish_stale_ms / 1e3);
}
