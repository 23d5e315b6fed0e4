/* export_common.c - output helpers shared by metrics.c and json.c (export_impl.h). */
#include "export_impl.h"

#include <math.h>
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

void ob_label(struct out_buf *o, const char *s)
{
	if (!o->err)
		o->err = strbuf_add_label_escaped(o->sb, s ? s : "");
}

void ob_json_str(struct out_buf *o, const char *s)
{
	ob_add(o, "\"", 1);
	if (!o->err)
		o->err = strbuf_add_json_escaped(o->sb, s ? s : "");
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
	return m;
}

static uint32_t whole_zones(uint32_t zones)
{
	uint32_t top = zones & (1u << ZONE_GPU);

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
