/* export_common.c - output helpers shared by metrics.c and json.c (export_impl.h). */
#include "export.h"
#include "export_impl.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

void ob_add(struct out_buf *o, const char *s, size_t n)
{
	if (!o->err)
		o->err = strbuf_add(o->sb, s, n);
}

void ob_adds(struct out_buf *o, const char *s)
{
	ob_add(o, s, strlen(s));
}

/* ---- names as text ------------------------------------------------------------
 *
 * Cgroup names are arbitrary bytes; label values and JSON strings must be valid UTF-8,
 * and two different names must stay two different series. Text is the name with
 *  - every byte of an invalid UTF-8 sequence, every C0 control byte (0x00..0x1f),
 *    DEL (0x7f) and every byte of a C1 control (U+0080..U+009F, c2 80..c2 9f)
 *    spelled as the four characters \xNN (lowercase hex);
 *  - a backslash that is followed by "x" and two lowercase hex digits naming such a
 *    byte or 0x5c spelled \x5c (so a real "\xff" cannot pass for an escaped byte);
 *  - everything else (valid UTF-8, and systemd's "\x2d" in unit names) unchanged.
 * Decoding \xNN back to byte NN wherever NN is one of those values gives the name
 * back, so different names give different text. The text then gets the format's own
 * escaping: backslash and double quote (the only specials left) become \\ and \".
 */

static bool hex_lower(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static unsigned hex_val(unsigned char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

/* A byte value that text spells as \xNN. */
static bool spelled(unsigned v)
{
	return v < 0x20 || v >= 0x7f || v == '\\';
}

/* Length of the valid UTF-8 sequence starting at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or 0. The NUL terminator never passes as a
 * continuation byte, so this never reads past it. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

int export_add_text(struct strbuf *sb, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	const unsigned char *run = s;
	int err = 0;

	while (*s && !err) {
		unsigned char c = *s;
		size_t n, nesc = 0;
		const char *rep = NULL;

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
			s++;
			continue;
		}
		if (c == '"') {
			rep = "\\\"";
			n = 1;
		} else if (c == '\\') {
			n = 1;
			if (s[1] == 'x' && hex_lower(s[2]) && hex_lower(s[3]) &&
			    spelled(hex_val(s[2]) * 16 + hex_val(s[3])))
				nesc = 1; /* a real backslash that would read as an escape */
			else
				rep = "\\\\";
		} else {
			n = c < 0x80 ? 1 : utf8_len(s);
			if (n == 0)
				n = nesc = 1; /* one byte of an invalid sequence */
			else if (c < 0x20 || c == 0x7f || (c == 0xc2 && s[1] < 0xa0))
				nesc = n; /* C0, DEL, C1 controls */
			else {
				s += n; /* valid UTF-8: part of the run */
				continue;
			}
		}
		err = strbuf_add(sb, (const char *)run, (size_t)(s - run));
		if (!err && rep)
			err = strbuf_adds(sb, rep);
		for (size_t i = 0; i < nesc && !err; i++) {
			/* text \xNN, with its backslash escaped for the format: \\xNN */
			char e[5] = { '\\', '\\', 'x', hex[s[i] >> 4], hex[s[i] & 15] };
			err = strbuf_add(sb, e, sizeof(e));
		}
		s += n;
		run = s;
	}
	if (!err)
		err = strbuf_add(sb, (const char *)run, (size_t)(s - run));
	return err;
}

void ob_label(struct out_buf *o, const char *s)
{
	if (!o->err)
		o->err = export_add_text(o->sb, s);
}

void ob_json_str(struct out_buf *o, const char *s)
{
	ob_add(o, "\"", 1);
	if (!o->err)
		o->err = export_add_text(o->sb, s);
	ob_add(o, "\"", 1);
}

void ob_u64(struct out_buf *o, uint64_t v)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ob_add(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

void ob_fixed(struct out_buf *o, uint64_t v, unsigned digits)
{
	char tmp[48];
	char *p = tmp + sizeof(tmp);

	if (digits > 19)
		digits = 19;
	for (unsigned i = 0; i < digits; i++) {
		*--p = (char)('0' + v % 10);
		v /= 10;
	}
	if (digits)
		*--p = '.';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ob_add(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

void ob_double6(struct out_buf *o, double v)
{
	double micro;

	if (!isfinite(v) || v <= 0) {
		ob_add(o, "0", 1);
		return;
	}
	micro = v * 1e6 + 0.5;
	if (micro >= 1.8e19) { /* beyond u64 micro-units: no real power reads this */
		ob_add(o, "1.8e13", 6);
		return;
	}
	ob_fixed(o, (uint64_t)micro, 6);
}

const char *export_row_kind(const struct ledger_row *r)
{
	if (r->is_system)
		return "system";
	if (r->ident.container_id[0])
		return "container";
	if (r->ident.pod_uid[0])
		return "pod";
	return "cgroup";
}

const char *export_row_runtime(const struct ledger_row *r)
{
	return r->ident.runtime == RT_NONE ? "" : cg_runtime_name(r->ident.runtime);
}

uint32_t export_zones_present(const struct ledger_node *n)
{
	uint32_t m = n->zone_mask & ((1u << ZONE_COUNT) - 1);

	for (int z = 0; z < ZONE_COUNT; z++)
		for (int md = 0; md < MODE_COUNT; md++)
			if (n->uj[z][md])
				m |= 1u << z;
	if (n->platform_whole && (m & (1u << ZONE_PLATFORM)))
		m |= EXPORT_ZONES_PLATFORM_WHOLE;
	return m;
}

/* The zones a whole-machine total adds (export.h): a platform reading of the whole
 * chassis (a BMC's) already holds the GPUs, RAPL psys does not. */
static uint32_t whole_zones(uint32_t zones)
{
	uint32_t top = zones & (1u << ZONE_GPU);

	if ((zones & (1u << ZONE_PLATFORM)) && (zones & EXPORT_ZONES_PLATFORM_WHOLE))
		return 1u << ZONE_PLATFORM;
	if (zones & (1u << ZONE_PLATFORM))
		return top | (1u << ZONE_PLATFORM);
	return top | (zones & ((1u << ZONE_PACKAGE) | (1u << ZONE_DRAM)));
}

double export_mode_watts(const double w[ZONE_COUNT][MODE_COUNT], uint32_t zones, enum mode md)
{
	uint32_t m = whole_zones(zones);
	double sum = 0;

	for (int z = 0; z < ZONE_COUNT; z++)
		if ((m & (1u << z)) && isfinite(w[z][md]) && w[z][md] > 0)
			sum += w[z][md];
	return sum;
}

double export_total_watts(const double w[ZONE_COUNT][MODE_COUNT], uint32_t zones)
{
	return export_mode_watts(w, zones, MODE_DYNAMIC) + export_mode_watts(w, zones, MODE_IDLE);
}

uint64_t export_total_uj(const uint64_t uj[ZONE_COUNT][MODE_COUNT], uint32_t zones)
{
	uint32_t m = whole_zones(zones);
	uint64_t sum = 0;

	for (int z = 0; z < ZONE_COUNT; z++)
		if (m & (1u << z))
			for (int md = 0; md < MODE_COUNT; md++)
				sum += uj[z][md];
	return sum;
}
