/* redfish.h - platform power from a BMC over Redfish, polled on a thread of its own.
 *
 * redfish_open() starts a poller thread that, every interval, GETs the chassis' power
 * reading over HTTPS (libcurl) and places it on a timeline (redfish_tl.h) at the time
 * it was taken: the middle of the request's time on the wire (sent .. first byte back,
 * CURLINFO_PRETRANSFER/STARTTRANSFER), since the Redfish power readings carry no time of
 * their own. The tick only takes what was integrated (redfish_take: a lock and a copy),
 * so a BMC answering in 1-5 s, or not at all, never delays it.
 *
 * Which resource (docs/redfish.md): the chassis redfish.chassis (empty: the first member
 * of /redfish/v1/Chassis); its EnvironmentMetrics (PowerWatts.Reading, EnergykWh.Reading
 * when present) when that holds a power reading, else its PowerSubsystem (the sum of
 * every power supply's PowerSupplyMetrics InputPowerWatts.Reading, one GET per supply per
 * poll; a supply that fails fails the poll), else the legacy Power resource
 * (PowerControl[0].PowerConsumedWatts). After 3 failed polls in a row the resource is
 * looked up again.
 *
 * Credentials: the file's first line, read at open and again before every request (a
 * rotated Secret is picked up): "user:password" is sent as HTTP basic auth, a line without
 * ':' as the X-Auth-Token header (a Redfish session token). Neither is ever put in an
 * error message, the status or a URL; the buffers are wiped after use. TLS: peer and host
 * verified against ca_file (empty: the system CAs) unless insecure is set. Only https://
 * is spoken; redirects are not followed; links from the BMC are accepted only as paths
 * under /redfish/v1/ of the configured endpoint (redfish_json.h).
 *
 * Ownership: redfish_open() returns a poller freed with redfish_close() (NULL-safe; it
 * stops and joins the thread, aborting a request in flight). Strings in the options are
 * copied. struct rf_status is the caller's copy.
 * Return convention: NULL with err set (-EINVAL bad options, -ENOENT/-EACCES credentials
 * file, -ENOMEM, or the thread's errno); calls 0 or negative errno. No logging.
 */
#ifndef WATTLET_REDFISH_H
#define WATTLET_REDFISH_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/util.h"
#include "redfish_json.h"
#include "redfish_tl.h"

#define RF_ENDPOINT_MAX 512

struct rf_opts {
	const char *endpoint;   /* https://HOST[:PORT] */
	const char *chassis;    /* chassis Id; "" or NULL: the first in /redfish/v1/Chassis */
	const char *cred_file;  /* required */
	const char *ca_file;    /* "" or NULL: the system CAs */
	bool insecure;          /* do not verify the BMC's certificate */
	uint64_t interval_ns;   /* between polls */
	uint64_t timeout_ns;    /* per request */
	uint64_t stale_ns;      /* the timeline's gap/staleness limit */
	bool use_kwh;           /* integrate EnergykWh when present (redfish_tl.h) */
};

/* Why a poll failed; names in rf_err_names (label values of the error metric). */
enum rf_err {
	RF_ERR_CREDENTIALS, /* the credentials file is unreadable or empty */
	RF_ERR_CONNECT,     /* no connection (refused, DNS, reset) */
	RF_ERR_TLS,         /* TLS handshake or certificate verification */
	RF_ERR_TIMEOUT,     /* no complete answer within the timeout */
	RF_ERR_AUTH,        /* HTTP 401/403 */
	RF_ERR_HTTP,        /* another HTTP status than 200 */
	RF_ERR_JSON,        /* not a JSON object, or too large */
	RF_ERR_MISSING,     /* the reading (or a link) is missing or null */
	RF_ERR_RANGE,       /* a reading out of range or of the wrong type */
	RF_ERR_NO_SOURCE,   /* the chassis links no power resource */
	RF_ERR_COUNT
};
extern const char *const rf_err_names[RF_ERR_COUNT];

struct rf_status {
	char resource[RF_PATH_MAX];  /* the resource read ("" until found) */
	const char *kind;            /* "EnvironmentMetrics", "PowerSubsystem", "Power" or "" */
	uint64_t polls, polls_ok;
	uint64_t errors[RF_ERR_COUNT];
	int last_err;                /* enum rf_err of the latest poll, -1 when it succeeded */
	char last_msg[1400];         /* its message (no credentials) */
	uint64_t last_ok_ns;         /* CLOCK_MONOTONIC of the newest reading, 0: none */
	double last_watts;
	bool last_has_kwh;
	uint64_t last_rtt_ns;        /* send .. first byte of the latest answer */
};

bool rf_endpoint_ok(const char *endpoint);
bool rf_chassis_id_ok(const char *id);

struct redfish;
struct redfish *redfish_open(const struct rf_opts *o, struct wl_err *err);
void redfish_close(struct redfish *r);
/* The timeline integrated from the previous take up to now minus the BMC's lag
 * (redfish.interval + 2 x the latest round trip, at most stale_after: when the next
 * reading is due to have arrived), or up to the newest reading when that is older
 * (redfish_tl.h); and the status. */
void redfish_take(struct redfish *r, uint64_t now_ns, struct rf_take *t, struct rf_status *st);

/* For `wattlet probe`: one lookup and one reading, synchronously (no thread). 0 with
 * *rd and st filled, or the failing poll's -errno with st->last_err/last_msg saying why. */
int redfish_probe(const struct rf_opts *o, struct rf_reading *rd, struct rf_status *st);

#endif
