/* apiclient.h - the client for a running agent's own JSON API (/api/v1/workloads,
 * docs/api.md), shared by `wattlet top` and `wattlet validate`.
 *
 * One blocking GET per call over libcurl (HTTP or HTTPS only, no signals, connect
 * timeout 2 s); the reply is kept in a buffer bounded by body_cap. The caller parses it.
 *
 * Ownership: api_client_new() returns an object freed with api_client_free() (NULL-safe);
 * the body from api_client_get() is owned by the client and valid until its next call.
 * Return convention: constructors NULL with err set; calls 0 or negative errno with err
 * naming the URL:
 *   -ECONNREFUSED  the agent cannot be reached (curl's reason in err)
 *   -E2BIG         the reply is larger than body_cap
 *   -EPROTO        an answer other than HTTP 200
 * No logging.
 */
#ifndef WATTLET_APICLIENT_H
#define WATTLET_APICLIENT_H

#include <stddef.h>

#include "util.h"

struct api_client;

/* base_url: "http://HOST:PORT" (trailing slashes ignored). NULL with err: an empty URL
 * (-EINVAL), out of memory or libcurl not initialised (-ENOMEM). */
struct api_client *api_client_new(const char *base_url, size_t body_cap, struct wl_err *err);
void api_client_free(struct api_client *c);
/* The full URL it GETs ("<base>/api/v1/workloads"). */
const char *api_client_url(const struct api_client *c);
/* GETs the workloads document within timeout_ms; *body is NUL-terminated. */
int api_client_get(struct api_client *c, long timeout_ms, const char **body, size_t *len,
		   struct wl_err *err);

#endif
