/* config_impl.h - internals shared by the config modules; not a public face (config.h).
 *
 *   config.c           name tables, the key table, defaults, durations, applying one
 *                      value (cfg_apply_scalar), config_set()
 *   config_file.c      the YAML file walker, config_load_file()
 *   config_validate.c  config_validate()
 *   config_dump.c      config_dump()
 *
 * One table (config_keys[], config_nkeys entries, in config.c) describes every leaf key:
 * its dotted path, type, where it lives in struct config and its range. Every why/buf
 * argument below is filled with a NUL-terminated message of at most cap bytes, without
 * a location prefix (the caller adds "FILE:LINE:COL" or "--set KEY"). Nothing logs.
 */
#ifndef WATTLET_CONFIG_IMPL_H
#define WATTLET_CONFIG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define WHY_MAX 320 /* room for one error message */
#define MS_S 1000ULL
#define MS_M (60ULL * MS_S)
#define MS_H (60ULL * MS_M)
#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define OFF(f) offsetof(struct config, f)

enum ktype {
	K_SECTION,   /* a mapping of further keys */
	K_DURATION,  /* uint64_t ms */
	K_STRING,    /* char[size] */
	K_BOOL,      /* bool */
	K_DOUBLE,    /* double */
	K_UINT,      /* unsigned */
	K_ENUM,      /* an enum stored as int */
	K_METERS,    /* meter.order list */
	K_ZONE_WATTS,   /* mapping zone -> watts (double, <0 = learn) */
	K_ZONE_FEATURE, /* mapping zone -> feature name */
};

struct key_desc {
	const char *path;
	enum ktype type;
	size_t off;
	size_t size;          /* K_STRING: buffer size */
	double min, max;      /* K_DOUBLE, K_UINT, K_DURATION (ms) */
	bool nonempty;        /* K_STRING: "" is not allowed */
	const char *const *names; /* K_ENUM */
	int n_names;
};

extern const struct key_desc config_keys[];
extern const int config_nkeys;

/* The key with this dotted path, or NULL. */
const struct key_desc *cfg_find_key(const char *path);
/* Parses text (len bytes, may hold a NUL that is then refused) for key d and, for zone
 * maps, zone z; stores it in c. 0, or -EINVAL/-ERANGE with why filled. */
int cfg_apply_scalar(struct config *c, const struct key_desc *d, int z, const char *text,
		     size_t len, char *why, size_t cap);
/* Appends one meter name to order (*n entries, room for METER_KIND_COUNT); 0, or
 * -EINVAL with why filled for an unknown or repeated name. */
int cfg_meter_list_add(enum meter_kind *order, int *n, const char *text, char *why,
		       size_t cap);
/* The zone named name, or -EINVAL with why filled (with a spelling suggestion). */
int cfg_zone_key(const char *name, char *why, size_t cap);
/* "unknown key ..." for path, with the closest known key as a suggestion. */
void cfg_unknown_key_msg(const char *path, char *why, size_t cap);
/* HOST:PORT with a numeric port 0..65535 (the caller accepts "" = HTTP off). */
bool cfg_valid_listen(const char *s);
/* d's range as "lo..hi" (durations spelled as in a config file). */
void cfg_range_text(const struct key_desc *d, char *buf, size_t cap);
/* Shortest exact duration spelling: 1800000 -> "30m", 1500 -> "1500ms", 0 -> "0". */
void cfg_format_duration(uint64_t ms, char *buf, size_t cap);

#endif
