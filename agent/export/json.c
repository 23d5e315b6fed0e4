/* json.c - the /api/v1/workloads document (see docs/metrics.md for the schema).
 *
 * Always valid JSON: strings escaped, numbers printed by hand from integers or as
 * fixed 6-decimal values (NaN, Inf and negatives print 0). Workloads are sorted by
 * total watts, highest first; ties keep ledger order by key so output is stable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "export_impl.h"

struct wl_sort {
	const struct ledger_row *row;
	double watts;
};

static int cmp_watts_desc(const void *a, const void *b)
{
	const struct wl_sort *x = a, *y = b;

	if (x->watts > y->watts)
		return -1;
	if (x->watts < y->watts)
		return 1;
	return strcmp(x->row->key, y->row->key);
}

static void key(struct out_buf *o, const char *k)
{
	ob_json_str(o, k);
	ob_add(o, ":", 1);
}

static void kv_str(struct out_buf *o, const char *k, const char *v, bool comma)
{
	key(o, k);
	ob_json_str(o, v ? v : "");
	if (comma)
		ob_add(o, ",", 1);
}

static void kv_u64(struct out_buf *o, const char *k, uint64_t v, bool comma)
{
	key(o, k);
	ob_u64(o, v);
	if (comma)
		ob_add(o, ",", 1);
}

static void kv_dbl(struct out_buf *o, const char *k, double v, bool comma)
{
	key(o, k);
	ob_double6(o, v);
	if (comma)
		ob_add(o, ",", 1);
}

static void kv_bool(struct out_buf *o, const char *k, bool v, bool comma)
{
	key(o, k);
	ob_adds(o, v ? "true" : "false");
	if (comma)
		ob_add(o, ",", 1);
}

/* "zones":{"package":{"dynamic":{"joules":..,"watts":..},"idle":{..}},..}
 * idle_w/idle_src: node only (NULL for workloads). */
static void zones_obj(struct out_buf *o, uint32_t zones, const uint64_t uj[ZONE_COUNT][MODE_COUNT],
		      const double w[ZONE_COUNT][MODE_COUNT], bool zero_watts,
		      const struct agent_status *s)
{
	bool first = true;

	key(o, "zones");
	ob_add(o, "{", 1);
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(zones & (1u << z)))
			continue;
		if (!first)
			ob_add(o, ",", 1);
		first = false;
		key(o, zone_name((enum zone)z));
		ob_add(o, "{", 1);
		for (int m = 0; m < MODE_COUNT; m++) {
			key(o, mode_name((enum mode)m));
			ob_add(o, "{", 1);
			key(o, "joules");
			ob_fixed(o, uj[z][m], 6);
			ob_add(o, ",", 1);
			kv_dbl(o, "watts", zero_watts ? 0 : w[z][m], false);
			ob_add(o, "}", 1);
			if (m + 1 < MODE_COUNT || s)
				ob_add(o, ",", 1);
		}
		if (s) {
			kv_dbl(o, "idle_watts", s->idle_watts[z], true);
			kv_str(o, "idle_source", s->idle_source[z] ? s->idle_source[z] : "unknown",
			       false);
		}
		ob_add(o, "}", 1);
	}
	ob_add(o, "}", 1);
}

static void node_obj(struct out_buf *o, const struct ledger_node *n, uint32_t zones,
		     const struct agent_status *s)
{
	key(o, "node");
	ob_add(o, "{", 1);
	kv_str(o, "name", s->node_name, true);
	kv_u64(o, "ticks", n->ticks, true);
	zones_obj(o, zones, n->uj, n->watts, false, s);
	ob_add(o, ",", 1);
	kv_dbl(o, "watts", export_total_watts(n->watts, zones), true);
	kv_dbl(o, "watts_dynamic", export_mode_watts(n->watts, zones, MODE_DYNAMIC), true);
	kv_dbl(o, "watts_idle", export_mode_watts(n->watts, zones, MODE_IDLE), true);
	key(o, "joules");
	ob_fixed(o, export_total_uj(n->uj, zones), 6);
	ob_add(o, "}", 1);
}

static void agent_obj(struct out_buf *o, const struct agent_status *s, size_t live, size_t rows)
{
	key(o, "agent");
	ob_add(o, "{", 1);
	kv_str(o, "version", s->version, true);
	kv_str(o, "meter", s->meter ? s->meter : "none", true);
	kv_str(o, "meter_detail", s->meter_detail, true);
	kv_str(o, "energy_source", s->energy_source ? s->energy_source : "none", true);
	kv_str(o, "usage_source", s->usage_source, true);
	kv_str(o, "cgroup_mode", s->cgroup_mode, true);
	kv_bool(o, "ready", s->ready, true);
	kv_u64(o, "start_time_s", s->start_time_s, true);
	kv_dbl(o, "tick_interval_s", s->tick_interval_s, true);
	kv_u64(o, "ticks", s->ticks, true);
	kv_dbl(o, "last_tick_seconds", s->last_tick_seconds, true);
	kv_u64(o, "meter_errors", s->meter_errors, true);
	kv_u64(o, "meter_resets", s->meter_resets, true);
	kv_u64(o, "usage_dropped", s->usage_dropped, true);
	kv_u64(o, "usage_vanished", s->usage_vanished, true);
	kv_u64(o, "checkpoint_writes", s->checkpoint_writes, true);
	kv_u64(o, "checkpoint_errors", s->checkpoint_errors, true);
	kv_dbl(o, "cpu_seconds", s->self_cpu_seconds, true);
	kv_u64(o, "rss_bytes", s->self_rss_bytes, true);
	kv_u64(o, "workloads_live", live, true);
	kv_u64(o, "workloads_total", rows, false);
	ob_add(o, "}", 1);
}

static void workload_obj(struct out_buf *o, const struct ledger_row *r, uint32_t zones,
			 double watts)
{
	ob_add(o, "{", 1);
	kv_str(o, "workload", r->key, true);
	kv_str(o, "kind", export_row_kind(r), true);
	kv_str(o, "container_id", r->ident.container_id, true);
	kv_str(o, "runtime", export_row_runtime(r), true);
	kv_str(o, "pod_uid", r->ident.pod_uid, true);
	kv_str(o, "namespace", r->ns ? r->ns : "", true);
	kv_str(o, "pod", r->pod ? r->pod : "", true);
	kv_str(o, "container", r->container ? r->container : "", true);
	kv_str(o, "owner_kind", r->owner_kind ? r->owner_kind : "", true);
	kv_str(o, "owner_name", r->owner_name ? r->owner_name : "", true);
	kv_str(o, "qos", r->ident.qos == QOS_NONE ? "" : cg_qos_name(r->ident.qos), true);
	kv_bool(o, "terminated", r->terminated, true);
	kv_dbl(o, "cpu_cores", r->terminated ? 0 : r->cpu_cores, true);
	key(o, "cpu_seconds");
	ob_fixed(o, r->cpu_ns, 9);
	ob_add(o, ",", 1);
	zones_obj(o, zones, r->uj, r->watts, r->terminated, NULL);
	ob_add(o, ",", 1);
	kv_dbl(o, "watts", watts, true);
	kv_dbl(o, "watts_dynamic",
	       r->terminated ? 0 : export_mode_watts(r->watts, zones, MODE_DYNAMIC), true);
	kv_dbl(o, "watts_idle", r->terminated ? 0 : export_mode_watts(r->watts, zones, MODE_IDLE),
	       true);
	key(o, "joules");
	ob_fixed(o, export_total_uj(r->uj, zones), 6);
	ob_add(o, "}", 1);
}

int export_json_workloads(const struct ledger *l, const struct agent_status *s,
			  struct strbuf *out)
{
	const struct ledger_node *n;
	struct out_buf o = {.sb = out, .err = 0};
	struct wl_sort *v;
	size_t count, live = 0;
	uint32_t zones;

	if (!l || !s || !out)
		return -EINVAL;
	n = ledger_node_c(l);
	zones = export_zones_present(n);
	count = ledger_count(l);
	v = malloc((count ? count : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		v[i].row = ledger_row_at(l, i);
		v[i].watts = v[i].row->terminated ? 0 : export_total_watts(v[i].row->watts, zones);
		if (!v[i].row->terminated && !v[i].row->is_system)
			live++;
	}
	qsort(v, count, sizeof(*v), cmp_watts_desc);

	ob_add(&o, "{", 1);
	node_obj(&o, n, zones, s);
	ob_add(&o, ",", 1);
	agent_obj(&o, s, live, count);
	ob_add(&o, ",", 1);
	key(&o, "workloads");
	ob_add(&o, "[", 1);
	for (size_t i = 0; i < count; i++) {
		if (i)
			ob_add(&o, ",", 1);
		workload_obj(&o, v[i].row, zones, v[i].watts);
	}
	ob_adds(&o, "]}\n");
	free(v);
	return o.err;
}
