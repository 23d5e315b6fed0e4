/* export_impl.h - internals shared by the exporters (metrics.c, json.c); not a public face.
 *
 * struct out_buf wraps the caller's strbuf with a sticky error: after the first failed
 * append (cap hit or out of memory) every later append is a no-op and ob.err keeps
 * the first error, so a render either completes or reports why, never half-silently.
 * Number writers never use printf: they are on the hot path (1000 workloads x
 * many series per scrape) and must print exact values.
 */
#ifndef WATTLET_EXPORT_IMPL_H
#define WATTLET_EXPORT_IMPL_H

#include <stdint.h>

#include "../common/strbuf.h"
#include "../common/zone.h"
#include "../ledger/ledger.h"

struct out_buf {
	struct strbuf *sb;
	int err;
};

void ob_add(struct out_buf *o, const char *s, size_t n);
void ob_adds(struct out_buf *o, const char *s);
/* Appends a name (any bytes) as text that is valid UTF-8 without control characters,
 * escaped for a Prometheus label value and a JSON string alike (the two need the
 * same escapes once controls are gone): invalid UTF-8 bytes and controls are spelled
 * \xNN, a real backslash that would read as such an escape \x5c; distinct names give
 * distinct text (export_common.c explains the scheme). NULL is "". 0 or -E2BIG/-ENOMEM
 * from the strbuf. */
int export_add_text(struct strbuf *sb, const char *s);
void ob_label(struct out_buf *o, const char *s);    /* export_add_text() */
void ob_json_str(struct out_buf *o, const char *s); /* quoted export_add_text() */
void ob_u64(struct out_buf *o, uint64_t v);
/* v / 10^digits with exactly `digits` fractional digits: 1234567, 6 -> "1.234567" */
void ob_fixed(struct out_buf *o, uint64_t v, unsigned digits);
/* A finite, non-negative double with 6 decimals; NaN, Inf and negatives print 0. */
void ob_double6(struct out_buf *o, double v);

/* Workload kind: "system", "container", "pod" or "cgroup". */
const char *export_row_kind(const struct ledger_row *r);
/* Runtime name, "" for none. */
const char *export_row_runtime(const struct ledger_row *r);
/* export_zones_present(), export_total_*() and export_mode_watts() are in export.h. */

#endif
