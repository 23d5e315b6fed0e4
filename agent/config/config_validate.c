/* config_validate.c - config_validate(): every single-key rule of the key table again
 * (for structs filled in by code) and the rules that tie keys together.
 */
#include "config_impl.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "../meter/redfish.h"

/* ---- redfish.* --------------------------------------------------------------- */

static int config_validate_redfish(const struct config *c, struct wl_err *err)
{
	char a[32], b[32];

	if (!rf_endpoint_ok(c->redfish_endpoint))
		return err_set(err, EINVAL, "config: redfish.endpoint \"%s\" must be "
			       "https://HOST[:PORT] (no path, no user, HTTPS only: the BMC's "
			       "credentials never go in clear text)", c->redfish_endpoint);
	if (!c->redfish_cred_file[0])
		return err_set(err, EINVAL, "config: redfish.credentials_file must be set with "
			       "redfish.endpoint (a file holding user:password, or a session token)");
	if (c->redfish_chassis[0] && !rf_chassis_id_ok(c->redfish_chassis))
		return err_set(err, EINVAL, "config: redfish.chassis \"%s\" is not a chassis Id "
			       "(letters, digits, '.', '_', '-'; empty: the first chassis)",
			       c->redfish_chassis);
	if (c->redfish_insecure && c->redfish_ca_file[0])
		return err_set(err, EINVAL, "config: redfish.ca_file and "
			       "redfish.insecure_skip_verify: true contradict each other");
	cfg_format_duration(c->redfish_interval_ms, a, sizeof(a));
	cfg_format_duration(c->redfish_stale_ms, b, sizeof(b));
	if (c->redfish_stale_ms < 2 * c->redfish_interval_ms)
		return err_set(err, EINVAL, "config: redfish.stale_after (%s) must be at least two "
			       "redfish.interval (%s): one late answer must not make the zone stale",
			       b, a);
	if (c->redfish_timeout_ms > c->redfish_stale_ms) {
		cfg_format_duration(c->redfish_timeout_ms, a, sizeof(a));
		return err_set(err, EINVAL, "config: redfish.timeout (%s) must not exceed "
			       "redfish.stale_after (%s)", a, b);
	}
	return 0;
}

/* ---- config_validate ----------------------------------------------------------- */

int config_validate(const struct config *c, struct wl_err *err)
{
	char a[32], b[32], rng[80];

	if (!c)
		return err_set(err, EINVAL, "config: NULL");
	/* every single-field rule again, for structs filled in by code */
	for (int i = 0; i < config_nkeys; i++) {
		const struct key_desc *d = &config_keys[i];
		const char *base = (const char *)c + d->off;
		double v;
		switch (d->type) {
		case K_DURATION:
			v = (double)*(const uint64_t *)(const void *)base;
			break;
		case K_DOUBLE:
			v = *(const double *)(const void *)base;
			break;
		case K_UINT:
			v = *(const unsigned *)(const void *)base;
			break;
		case K_STRING:
			if (!memchr(base, '\0', d->size))
				return err_set(err, EINVAL, "config: %s is not terminated", d->path);
			if (d->nonempty && base[0] == '\0')
				return err_set(err, EINVAL, "config: %s must not be empty", d->path);
			if (d->off == OFF(listen) && base[0] && !cfg_valid_listen(base))
				return err_set(err, EINVAL, "config: listen \"%s\" is not HOST:PORT",
					       base);
			continue;
		case K_ENUM: {
			int e = *(const int *)(const void *)base;
			if (e < 0 || e >= d->n_names)
				return err_set(err, EINVAL, "config: %s has no valid value (%d)",
					       d->path, e);
			continue;
		}
		case K_ZONE_WATTS:
			for (int z = 0; z < ZONE_COUNT; z++) {
				double w = c->idle_watts[z];
				if (isnan(w) || w > d->max)
					return err_set(err, ERANGE,
						       "config: model.idle_watts.%s = %g is out of "
						       "range (0..%g, or unset)", zone_name((enum zone)z),
						       w, d->max);
			}
			continue;
		case K_ZONE_FEATURE:
			for (int z = 0; z < ZONE_COUNT; z++)
				if ((unsigned)c->zone_feature[z] >= FEAT_COUNT)
					return err_set(err, EINVAL,
						       "config: model.features.%s has no valid value",
						       zone_name((enum zone)z));
			continue;
		case K_METERS:
			if (c->meter_n_order < 1 || c->meter_n_order > METER_KIND_COUNT)
				return err_set(err, EINVAL,
					       "config: meter.order must name 1..%d meters (has %d)",
					       METER_KIND_COUNT, c->meter_n_order);
			for (int j = 0; j < c->meter_n_order; j++) {
				if ((unsigned)c->meter_order[j] >= METER_KIND_COUNT)
					return err_set(err, EINVAL,
						       "config: meter.order[%d] is not a meter", j);
				for (int k = 0; k < j; k++)
					if (c->meter_order[k] == c->meter_order[j])
						return err_set(err, EINVAL,
							       "config: meter.order lists \"%s\" twice",
							       meter_kind_names[c->meter_order[j]]);
			}
			continue;
		default:
			continue;
		}
		if (isnan(v) || v < d->min || v > d->max) {
			cfg_range_text(d, rng, sizeof(rng));
			return err_set(err, ERANGE, "config: %s is out of range (%s)", d->path, rng);
		}
	}

	/* cross-field rules */
	if (!c->http_tls_cert[0] != !c->http_tls_key[0])
		return err_set(err, EINVAL, "config: http.tls_cert_file and http.tls_key_file must "
			       "be set together (%s is empty)",
			       c->http_tls_cert[0] ? "http.tls_key_file" : "http.tls_cert_file");
	if (c->http_auth == HTTP_AUTH_KUBE && !c->http_tls_cert[0])
		return err_set(err, EINVAL, "config: http.auth: kubernetes needs TLS "
			       "(http.tls_cert_file, http.tls_key_file): bearer tokens are never "
			       "accepted over plain HTTP");
	if (c->http_ui && c->http_ui_max_clients && c->http_ui_max_clients >= c->http_max_connections)
		return err_set(err, EINVAL, "config: http.ui_max_clients (%u) must be less than "
			       "http.max_connections (%u): /ui WebSocket clients hold connections "
			       "and /healthz needs one", c->http_ui_max_clients,
			       c->http_max_connections);
	if (c->redfish_endpoint[0]) {
		int rc = config_validate_redfish(c, err);
		if (rc)
			return rc;
	}
	/* cross-field rules */
	cfg_format_duration(c->tick_ms, a, sizeof(a));
	if (c->checkpoint_interval_ms != 0 && c->checkpoint_interval_ms < c->tick_ms) {
		cfg_format_duration(c->checkpoint_interval_ms, b, sizeof(b));
		return err_set(err, EINVAL,
			       "config: ledger.checkpoint_interval (%s) must be 0 (only at exit) or "
			       "at least one tick (%s)", b, a);
	}
	if (c->write_budget > 0 && !(c->write_ceiling > 0))
		return err_set(err, EINVAL,
			       "config: kubernetes.write_ceiling_per_node_per_s must be more than 0 "
			       "while kubernetes.write_budget_per_s is set (%g); a budget of 0 turns "
			       "the write budget off", c->write_budget);
	if (c->idle_window_ms < 60 * c->tick_ms) {
		cfg_format_duration(c->idle_window_ms, b, sizeof(b));
		return err_set(err, EINVAL,
			       "config: model.idle_window (%s) must span at least 60 ticks (60 x %s)",
			       b, a);
	}
	return 0;
}
