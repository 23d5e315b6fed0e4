/* metrics.c - Prometheus text exposition (format 0.0.4) of the ledger and agent status.
 *
 * Every family is written whole (HELP, TYPE, then all its samples) as the format
 * requires. Per-row label sets are escaped once per render into a scratch buffer and
 * copied for each series; numbers are printed by hand from integers (joules from
 * microjoules, exact). Sample names and label sets are unique: workload series are
 * keyed by the ledger key; Kepler-compatible container and pod series are summed per
 * container id / pod uid (a CRI-O conmon cgroup shares its container's id).
 *
 * Two shapes of the workload and pod families (docs/metrics.md):
 *  - detail (metrics.detail: true): every zone x mode as joules and watts, and labels
 *    with the full cgroup path, container id, runtime and pod uid;
 *  - lean (the default): counters only, one per "whole" zone (package, dram, platform,
 *    gpu; core and uncore are inside package) holding dynamic + idle, plus CPU seconds;
 *    labels namespace/pod/container (Kubernetes names, to join kube-state-metrics) and
 *    a short `workload` id (pods: `uid`): a container's first 12 id digits, "pod-" and
 *    8 uid digits for a pod-level cgroup, the cgroup path for anything else. An id
 *    shared by two rows is lengthened for those rows (full id, then the path, which the
 *    ledger keeps unique), so label sets stay unique.
 * Both shapes add owner_kind/owner_name (the pod's owner, kube_owner.h) to rows whose
 * pod's owner is known (absent otherwise, never empty).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "export_impl.h"
#include "metrics_impl.h"

const char *mx_str_or(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

void mx_family(struct out_buf *o, const char *name, const char *type, const char *help)
{
	ob_adds(o, "# HELP ");
	ob_adds(o, name);
	ob_add(o, " ", 1);
	ob_adds(o, help);
	ob_adds(o, "\n# TYPE ");
	ob_adds(o, name);
	ob_add(o, " ", 1);
	ob_adds(o, type);
	ob_add(o, "\n", 1);
}

/* name{k1="v1"} (a single label) */
void mx_open1(struct out_buf *o, const char *name, const char *k, const char *v)
{
	ob_adds(o, name);
	ob_add(o, "{", 1);
	ob_adds(o, k);
	ob_add(o, "=\"", 2);
	ob_label(o, v);
	ob_add(o, "\"", 1);
}

/* name{k="v"} n: one sample with a single label. */
static void sample1_u64(struct out_buf *o, const char *name, const char *k, const char *v,
			uint64_t n)
{
	mx_open1(o, name, k, v);
	ob_adds(o, "} ");
	ob_u64(o, n);
	ob_add(o, "\n", 1);
}

/* The family name (type counter, help) with one sample per label value: name{k="v[i]"}
 * n[i] for i < count. */
static void counter_by(struct out_buf *o, const char *name, const char *help, const char *k,
		       const char *const *v, const uint64_t *n, size_t count)
{
	mx_family(o, name, "counter", help);
	for (size_t i = 0; i < count; i++)
		sample1_u64(o, name, k, v[i], n[i]);
}

/* ---- node ------------------------------------------------------------------ */

/* The family name (type, help) with one node series per measured zone and mode: uj[z][m]
 * with 6 decimals (joules), or w[z][m] where w is not NULL (watts). */
static void node_zone_mode(struct render *r, const char *name, const char *type,
			   const char *help, const uint64_t (*uj)[MODE_COUNT],
			   const double (*w)[MODE_COUNT])
{
	struct out_buf *o = &r->o;

	mx_family(o, name, type, help);
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(r->zones & (1u << z)))
			continue;
		for (int m = 0; m < MODE_COUNT; m++) {
			ob_adds(o, name);
			ob_add(o, "{", 1);
			ob_adds(o, r->zm[z][m] + 1);
			if (w)
				ob_double6(o, w[z][m]);
			else
				ob_fixed(o, uj[z][m], 6);
			ob_add(o, "\n", 1);
		}
	}
}

/* name{zone="<z>",key="<val, "unknown" when NULL>"} (the value is the caller's). */
static void zone_info_open(struct out_buf *o, const char *name, int z, const char *key,
			   const char *val)
{
	mx_open1(o, name, "zone", zone_name((enum zone)z));
	ob_add(o, ",", 1);
	ob_adds(o, key);
	ob_adds(o, "=\"");
	ob_label(o, mx_str_or(val, "unknown"));
	ob_adds(o, "\"} ");
}

static void node_metrics(struct render *r)
{
	const struct ledger_node *n = ledger_node_c(r->l);
	struct out_buf *o = &r->o;

	node_zone_mode(r, "wattlet_node_joules_total", "counter",
		       "Energy measured on the node since the agent's ledger began, by zone and "
		       "mode.", n->uj, NULL);
	node_zone_mode(r, "wattlet_node_watts", "gauge",
		       "Average node power over the last tick, by zone and mode.", NULL, n->watts);
	mx_family(o, "wattlet_node_idle_watts", "gauge",
	       "Idle (baseline) power in use per zone, and where it came from.");
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(r->zones & (1u << z)))
			continue;
		zone_info_open(o, "wattlet_node_idle_watts", z, "source", r->s->idle_source[z]);
		ob_double6(o, r->s->idle_watts[z]);
		ob_add(o, "\n", 1);
	}
	mx_family(o, "wattlet_node_zone_feature_info", "gauge",
	       "Constant 1: the usage feature that shares each zone's dynamic energy (the configured "
	       "one, or cpu_time where it is not measured).");
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(r->zones & (1u << z)))
			continue;
		zone_info_open(o, "wattlet_node_zone_feature_info", z, "feature",
			       r->s->zone_feature[z]);
		ob_adds(o, "1\n");
	}
	mx_family(o, "wattlet_node_energy_source_info", "gauge",
	       "Constant 1: where node energy comes from (meter, model, meter+model, or none: "
	       "usage only - apply a PowerModel with estimated zones) and the model in use.");
	mx_open1(o, "wattlet_node_energy_source_info", "source", mx_str_or(r->s->energy_source, "none"));
	ob_adds(o, ",model=\"");
	ob_label(o, mx_str_or(r->s->model_name, "builtin-ratio"));
	ob_adds(o, "\"} 1\n");
	mx_family(o, "wattlet_node_zone_estimated", "gauge",
	       "1 where the zone's energy is estimated by the PowerModel's regression, 0 where measured.");
	for (int z = 0; z < ZONE_COUNT; z++) {
		if (!(r->zones & (1u << z)))
			continue;
		sample1_u64(o, "wattlet_node_zone_estimated", "zone", zone_name((enum zone)z),
			    (r->s->estimated_zones >> z) & 1u);
	}
}

/* ---- workloads --------------------------------------------------------------- */

/* The lean id of a row at uniqueness level lv, unescaped, into tmp (or the row's own
 * strings). Pod aggregates are keyed by pod uid. */
static const char *lean_id(const struct render *r, const struct ledger_row *row, int lv,
			   char *tmp, size_t cap)
{
	const struct cg_ident *id = &row->ident;

	if (r->pod_rows) {
		if (lv == 0)
			snprintf(tmp, cap, "%.8s", row->key);
		return lv == 0 ? tmp : row->key;
	}
	if (row->is_system || lv >= 2 || (!id->container_id[0] && !id->pod_uid[0]))
		return row->key;
	if (id->container_id[0])
		snprintf(tmp, cap, "%s%.*s", id->is_conmon ? "conmon-" : "", lv ? 64 : 12,
			 id->container_id);
	else
		snprintf(tmp, cap, "pod-%.*s", lv ? 36 : 8, id->pod_uid);
	return tmp;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sets r->lvl so that every row's lean id is unique: rows sharing an id get the next
 * longer one, until ids are keys (unique in a ledger; a key never equals a shorter id:
 * those are hex digits, or start with "pod-"/"conmon-", while keys start with '/' or
 * are "system"; pod uids are the pod ledger's keys). */
static int lean_levels(struct render *r)
{
	const char **v = NULL;
	size_t *off = NULL;
	char tmp[80];
	int err = 0;
	bool bumped = true;

	free(r->lvl);
	r->lvl = calloc(r->n ? r->n : 1, 1);
	v = malloc((r->n ? r->n : 1) * sizeof(*v));
	off = malloc((r->n ? r->n : 1) * sizeof(*off));
	if (!r->lvl || !v || !off) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (int round = 0; round < 3 && bumped && !err; round++) {
		bumped = false;
		strbuf_reset(&r->ids);
		for (size_t i = 0; i < r->n && !err; i++) {
			const struct ledger_row *row = ledger_row_at(r->l, i);
			const char *id = lean_id(r, row, r->lvl[i], tmp, sizeof(tmp));
			off[i] = r->ids.len;
			err = strbuf_add(&r->ids, id, strlen(id) + 1);
		}
		if (err)
			break;
		for (size_t i = 0; i < r->n; i++)
			v[i] = r->ids.buf + off[i];
		qsort(v, r->n, sizeof(*v), cmp_str);
		for (size_t i = 1; i < r->n; i++) {
			if (strcmp(v[i - 1], v[i]))
				continue;
			/* every row with this id goes one level up */
			for (size_t k = 0; k < r->n; k++) {
				if (r->lvl[k] < 2 && strcmp(r->ids.buf + off[k], v[i]) == 0) {
					r->lvl[k]++;
					bumped = true;
				}
			}
		}
	}
cleanup:
	free(v);
	free(off);
	return err;
}

/* ,owner_kind="..",owner_name=".." when the row's owner is known (both shapes). */
static void owner_labels(struct out_buf *lo, const struct ledger_row *row)
{
	if (!row->owner_kind || !row->owner_name)
		return;
	ob_adds(lo, ",owner_kind=\"");
	ob_label(lo, row->owner_kind);
	ob_adds(lo, "\",owner_name=\"");
	ob_label(lo, row->owner_name);
	ob_add(lo, "\"", 1);
}

static void lean_row_labels(struct render *r, struct out_buf *lo, const struct ledger_row *row,
			    size_t i)
{
	char tmp[80];

	ob_adds(lo, r->pod_rows ? "uid=\"" : "workload=\"");
	ob_label(lo, lean_id(r, row, r->lvl[i], tmp, sizeof(tmp)));
	ob_add(lo, "\"", 1);
	if (row->ns && *row->ns) {
		ob_adds(lo, ",namespace=\"");
		ob_label(lo, row->ns);
		ob_add(lo, "\"", 1);
	}
	if (row->pod && *row->pod) {
		ob_adds(lo, ",pod=\"");
		ob_label(lo, row->pod);
		ob_add(lo, "\"", 1);
	}
	if (!r->pod_rows && row->container && *row->container) {
		ob_adds(lo, ",container=\"");
		ob_label(lo, row->container);
		ob_add(lo, "\"", 1);
	}
	owner_labels(lo, row);
}

static int build_row_labels(struct render *r)
{
	struct out_buf lo = {.sb = &r->lbl, .err = 0};

	if (!r->detail) {
		int err = lean_levels(r);
		if (err)
			return err;
	}
	strbuf_reset(&r->lbl);
	free(r->lbl_off);
	r->lbl_off = malloc((r->n + 1) * sizeof(*r->lbl_off));
	if (!r->lbl_off)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		const struct ledger_row *row = ledger_row_at(r->l, i);
		r->lbl_off[i] = r->lbl.len;
		if (!r->detail) {
			lean_row_labels(r, &lo, row, i);
			continue;
		}
		if (r->pod_rows) {
			ob_adds(&lo, "namespace=\"");
			ob_label(&lo, mx_str_or(row->ns, ""));
			ob_adds(&lo, "\",pod=\"");
			ob_label(&lo, mx_str_or(row->pod, ""));
			ob_adds(&lo, "\",pod_uid=\"");
			ob_label(&lo, row->key);
			ob_add(&lo, "\"", 1);
			owner_labels(&lo, row);
			continue;
		}
		ob_adds(&lo, "workload=\"");
		ob_label(&lo, row->key);
		ob_adds(&lo, "\",kind=\"");
		ob_adds(&lo, export_row_kind(row));
		ob_adds(&lo, "\",container_id=\"");
		ob_label(&lo, row->ident.container_id);
		ob_adds(&lo, "\",runtime=\"");
		ob_adds(&lo, export_row_runtime(row));
		ob_adds(&lo, "\",pod_uid=\"");
		ob_label(&lo, row->ident.pod_uid);
		ob_adds(&lo, "\",namespace=\"");
		ob_label(&lo, mx_str_or(row->ns, ""));
		ob_adds(&lo, "\",pod=\"");
		ob_label(&lo, mx_str_or(row->pod, ""));
		ob_adds(&lo, "\",container=\"");
		ob_label(&lo, mx_str_or(row->container, ""));
		ob_add(&lo, "\"", 1);
		owner_labels(&lo, row);
	}
	r->lbl_off[r->n] = r->lbl.len;
	return lo.err;
}

/* name{<row i's labels><tail> (tail: the rest of the labels and "} "; the value follows). */
static void row_open(struct render *r, const char *name, size_t i, const char *tail)
{
	ob_adds(&r->o, name);
	ob_add(&r->o, "{", 1);
	ob_add(&r->o, r->lbl.buf + r->lbl_off[i], r->lbl_off[i + 1] - r->lbl_off[i]);
	ob_adds(&r->o, tail);
}

/* A family of one series without labels: its header, then "name " (the value follows). */
static void scalar_open(struct out_buf *o, const char *name, const char *type, const char *help)
{
	mx_family(o, name, type, help);
	ob_adds(o, name);
	ob_add(o, " ", 1);
}

static void scalar_u64(struct out_buf *o, const char *name, const char *type,
		       const char *help, uint64_t v)
{
	scalar_open(o, name, type, help);
	ob_u64(o, v);
	ob_add(o, "\n", 1);
}

static void scalar_dbl(struct out_buf *o, const char *name, const char *type,
		       const char *help, double v)
{
	scalar_open(o, name, type, help);
	ob_double6(o, v);
	ob_add(o, "\n", 1);
}

/* Row i's sample of name: its labels, then tail (the rest of the labels and "} "), then v
 * with digits decimals (row_fixed) or as a double (row_dbl). */
static void row_fixed(struct render *r, const char *name, size_t i, const char *tail, uint64_t v,
		      unsigned digits)
{
	row_open(r, name, i, tail);
	ob_fixed(&r->o, v, digits);
	ob_add(&r->o, "\n", 1);
}

static void row_dbl(struct render *r, const char *name, size_t i, const char *tail, double v)
{
	row_open(r, name, i, tail);
	ob_double6(&r->o, v);
	ob_add(&r->o, "\n", 1);
}

/* Every row's series of name per measured zone and mode: its joules (6 decimals), or
 * (watts) its average power over the last tick, 0 once terminated. */
static void rows_zone_mode(struct render *r, const char *name, bool watts)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct ledger_row *row = ledger_row_at(r->l, i);
		for (int z = 0; z < ZONE_COUNT; z++) {
			if (!(r->zones & (1u << z)))
				continue;
			for (int m = 0; m < MODE_COUNT; m++) {
				if (watts)
					row_dbl(r, name, i, r->zm[z][m],
						row->terminated ? 0 : row->watts[z][m]);
				else
					row_fixed(r, name, i, r->zm[z][m], row->uj[z][m], 6);
			}
		}
	}
}

static void workloads_gauge(struct out_buf *o, uint64_t live)
{
	scalar_u64(o, "wattlet_agent_workloads", "gauge",
		   "Workloads seen in the last tick (live ledger rows, system excluded).", live);
}

static uint64_t live_rows(const struct render *r)
{
	uint64_t live = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct ledger_row *row = ledger_row_at(r->l, i);
		if (!row->terminated && !row->is_system)
			live++;
	}
	return live;
}

/* Lean: joules (dynamic + idle) per lean zone and CPU seconds per workload; per pod,
 * joules per lean zone and, where nonzero, grams CO2e. */
static void lean_workload_metrics(struct render *r)
{
	struct out_buf *o = &r->o;
	const char *jname = r->pod_rows ? "wattlet_pod_joules_total" : "wattlet_workload_joules_total";
	char zl[ZONE_COUNT][32];

	for (int z = 0; z < ZONE_COUNT; z++)
		snprintf(zl[z], sizeof(zl[z]), ",zone=\"%s\"} ", zone_name((enum zone)z));
	mx_family(o, jname, "counter",
	       r->pod_rows ? "Energy attributed to a Kubernetes pod (all its cgroups; dynamic + "
			     "idle), monotonic across container restarts, by zone."
			   : "Energy attributed to a workload (dynamic + idle), by zone.");
	for (size_t i = 0; i < r->n; i++) {
		const struct ledger_row *row = ledger_row_at(r->l, i);
		for (int z = 0; z < ZONE_COUNT; z++) {
			if (!(r->lean_zones & (1u << z)))
				continue;
			row_fixed(r, jname, i, zl[z],
				  row->uj[z][MODE_DYNAMIC] + row->uj[z][MODE_IDLE], 6);
		}
	}
	if (r->pod_rows) {
		mx_family(o, "wattlet_pod_co2e_grams_total", "counter",
		       "Grams CO2e of the pod's energy at the carbon intensity of its EnergyPolicy "
		       "(accumulated per tick; a pod's series appears once nonzero).");
		for (size_t i = 0; i < r->n; i++) {
			double g = ledger_row_at(r->l, i)->co2e_g;
			if (!(g > 0))
				continue;
			row_dbl(r, "wattlet_pod_co2e_grams_total", i, "} ", g);
		}
		return;
	}
	mx_family(o, "wattlet_workload_cpu_seconds_total", "counter",
	       "CPU time the attribution counted for a workload.");
	for (size_t i = 0; i < r->n; i++)
		row_fixed(r, "wattlet_workload_cpu_seconds_total", i, "} ",
			  ledger_row_at(r->l, i)->cpu_ns, 9);
	workloads_gauge(o, live_rows(r));
}

static void workload_metrics(struct render *r)
{
	struct out_buf *o = &r->o;
	const char *pfx = r->pod_rows ? "wattlet_pod" : "wattlet_workload";
	char jname[64], wname[64], cname[64];

	snprintf(jname, sizeof(jname), "%s_joules_total", pfx);
	snprintf(wname, sizeof(wname), "%s_watts", pfx);
	snprintf(cname, sizeof(cname), "%s_cpu_seconds_total", pfx);

	mx_family(o, jname, "counter",
	       r->pod_rows ? "Energy attributed to a Kubernetes pod (all its cgroups), monotonic "
			     "across container restarts, by zone and mode."
			   : "Energy attributed to a workload (cgroup, container, pod or system), by "
			     "zone and mode.");
	rows_zone_mode(r, jname, false);
	mx_family(o, wname, "gauge",
	       r->pod_rows ? "Average power attributed to a pod over the last tick (0 once gone)."
			   : "Average power attributed to a workload over the last tick (0 once "
			     "terminated).");
	rows_zone_mode(r, wname, true);
	mx_family(o, cname, "counter",
	       r->pod_rows ? "CPU time the attribution counted for a pod."
			   : "CPU time the attribution counted for a workload.");
	for (size_t i = 0; i < r->n; i++)
		row_fixed(r, cname, i, "} ", ledger_row_at(r->l, i)->cpu_ns, 9);
	if (r->pod_rows) {
		mx_family(o, "wattlet_pod_co2e_grams_total", "counter",
		       "Grams CO2e of the pod's energy at the carbon intensity of its EnergyPolicy "
		       "(accumulated per tick; 0 without a carbon intensity).");
		for (size_t i = 0; i < r->n; i++)
			row_dbl(r, "wattlet_pod_co2e_grams_total", i, "} ",
				ledger_row_at(r->l, i)->co2e_g);
		return;
	}
	workloads_gauge(o, live_rows(r));
}

/* ---- agent ------------------------------------------------------------------- */

static void agent_metrics(struct render *r)
{
	const struct agent_status *s = r->s;
	struct out_buf *o = &r->o;

	mx_family(o, "wattlet_agent_info", "gauge",
	       "Constant 1, labelled with the agent's version, node and data sources.");
	mx_open1(o, "wattlet_agent_info", "version", mx_str_or(s->version, "unknown"));
	ob_adds(o, ",node=\"");
	ob_label(o, mx_str_or(s->node_name, ""));
	ob_adds(o, "\",meter=\"");
	ob_label(o, mx_str_or(s->meter, "none"));
	ob_adds(o, "\",usage_source=\"");
	ob_label(o, mx_str_or(s->usage_source, "unknown"));
	ob_adds(o, "\",cgroup_mode=\"");
	ob_label(o, mx_str_or(s->cgroup_mode, "unknown"));
	ob_adds(o, "\"} 1\n");

	scalar_u64(o, "wattlet_agent_start_time_seconds", "gauge",
		   "Unix time the agent started.", s->start_time_s);
	scalar_u64(o, "wattlet_agent_ready", "gauge",
		   "1 once the agent has completed a full measurement tick.", s->ready ? 1 : 0);
	scalar_dbl(o, "wattlet_agent_tick_interval_seconds", "gauge",
		   "Configured time between measurement ticks.", s->tick_interval_s);
	scalar_u64(o, "wattlet_agent_ticks_total", "counter", "Measurement ticks completed.",
		   s->ticks);
	mx_family(o, "wattlet_agent_tick_duration_seconds", "summary",
	       "Wall time spent doing a tick's work (reading meters and usage, attributing).");
	ob_adds(o, "wattlet_agent_tick_duration_seconds_sum ");
	ob_double6(o, s->tick_seconds_sum);
	ob_adds(o, "\nwattlet_agent_tick_duration_seconds_count ");
	ob_u64(o, s->ticks);
	ob_add(o, "\n", 1);
	scalar_u64(o, "wattlet_agent_meter_errors_total", "counter",
		   "Energy zone reads that failed.", s->meter_errors);
	scalar_u64(o, "wattlet_agent_meter_resets_total", "counter",
		   "Energy counter resets detected (not wraps).", s->meter_resets);
	scalar_u64(o, "wattlet_agent_usage_dropped_cgroups_total", "counter",
		   "Cgroups not tracked because the tracking bound was reached.",
		   s->usage_dropped);
	scalar_u64(o, "wattlet_agent_usage_vanished_cgroups_total", "counter",
		   "Cgroups that vanished while their usage was being read.", s->usage_vanished);
	scalar_u64(o, "wattlet_agent_checkpoint_writes_total", "counter",
		   "Ledger checkpoints written.", s->checkpoint_writes);
	scalar_u64(o, "wattlet_agent_checkpoint_errors_total", "counter",
		   "Ledger checkpoints that failed.", s->checkpoint_errors);
	scalar_dbl(o, "wattlet_agent_cpu_seconds_total", "counter",
		   "CPU time used by the agent itself.", s->self_cpu_seconds);
	scalar_u64(o, "wattlet_agent_resident_memory_bytes", "gauge",
		   "Resident memory of the agent.", s->self_rss_bytes);
	if (s->metrics_cached) {
		static const char *const trigger[] = { "tick", "scrape" };
		const uint64_t renders[] = { s->metrics_renders_tick, s->metrics_renders_scrape };

		counter_by(o, "wattlet_agent_metrics_renders_total",
			   "Renders of /metrics before this one, by trigger: at a tick's end (a "
			   "scrape was due) or by a scrape that found the last rendering stale.",
			   "trigger", trigger, renders, 2);
	}
}

/* ---- Kubernetes API writes ---------------------------------------------------- */

static void kube_metrics(struct render *r)
{
	static const char *const res[EXPORT_KUBE_RESOURCES] = { "podenergies", "nodeenergies",
								 "events" };
	const struct export_kube_writes *k = r->s->kube_writes;
	struct out_buf *o = &r->o;

	if (!k)
		return;
	mx_family(o, "wattlet_kube_writes_total", "counter",
	       "Writes to the Kubernetes API (PodEnergy/NodeEnergy status applies, Events "
	       "created), by resource and result.");
	for (int i = 0; i < EXPORT_KUBE_RESOURCES; i++) {
		for (int ok = 1; ok >= 0; ok--) {
			mx_open1(o, "wattlet_kube_writes_total", "resource", res[i]);
			ob_adds(o, ok ? ",result=\"ok\"} " : ",result=\"failed\"} ");
			ob_u64(o, ok ? k->ok[i] : k->failed[i]);
			ob_add(o, "\n", 1);
		}
	}
	counter_by(o, "wattlet_kube_requests_total",
		   "HTTP requests sent to the Kubernetes API by the writer, by resource (an "
		   "object's first write is two: create and status).",
		   "resource", res, k->requests, EXPORT_KUBE_RESOURCES);
	scalar_u64(o, "wattlet_kube_writes_skipped_total", "counter",
		   "Object writes due by interval but skipped because nothing changed.",
		   k->skipped_unchanged);
	scalar_u64(o, "wattlet_kube_writes_rate_limited_total", "counter",
		   "Times due writes had to wait for the per-node rate limit.", k->rate_limited);
	scalar_u64(o, "wattlet_kube_writer_backoffs_total", "counter",
		   "Times the writer backed off (no answer, 429 or 5xx).", k->backoffs);
	if (k->budget) {
		scalar_dbl(o, "wattlet_kube_write_share", "gauge",
			   "This node's share of the cluster write budget in requests/s: "
			   "min(ceiling, budget / nodes); 0.1 while the node count is unknown.",
			   k->write_share);
		scalar_dbl(o, "wattlet_kube_write_stretch", "gauge",
			   "Factor the budget stretches PodEnergy/NodeEnergy intervals by "
			   "(1: not stretched).", k->write_stretch);
		mx_family(o, "wattlet_kube_cluster_nodes", "gauge",
		       "Cluster node count the write budget is shared by, and where it comes "
		       "from (api, override; unknown: 0, the conservative share applies).");
		sample1_u64(o, "wattlet_kube_cluster_nodes", "source",
			    k->nodes_source ? k->nodes_source : "unknown", k->cluster_nodes);
	}
	mx_family(o, "wattlet_kube_write_failures_total", "counter",
	       "Failed writes to the Kubernetes API by resource and reason (the API Status "
	       "reason: Invalid, Forbidden, Conflict, NotFound, Timeout, ...; NoResponse when "
	       "no answer came). The agent logs the API's message; NodeEnergy "
	       "status.writeErrors shows the last one.");
	for (size_t i = 0; i < k->n_fail && i < sizeof(k->fail) / sizeof(k->fail[0]); i++) {
		mx_open1(o, "wattlet_kube_write_failures_total", "resource", k->fail[i].resource);
		ob_adds(o, ",reason=\"");
		ob_adds(o, k->fail[i].reason);
		ob_adds(o, "\"} ");
		ob_u64(o, k->fail[i].count);
		ob_add(o, "\n", 1);
	}
}

/* ---- the HTTP server ----------------------------------------------------------- */

static void http_metrics(struct render *r)
{
	static const char *const conn_why[] = { "evicted", "idle_timeout", "refused", "upgrade" };
	static const char *const ui_why[] = { "limit", "slow" };
	const struct http_stats *h = r->s->http;
	struct out_buf *o = &r->o;

	if (!h)
		return;
	const uint64_t conn_closed[] = { h->evicted, h->timed_out, h->refused,
					 h->upgrades_refused };
	const uint64_t ui_closed[] = { h->ws_refused, h->ws_dropped };
	scalar_u64(o, "wattlet_http_connections", "gauge",
		   "HTTP connections open when /metrics was rendered (at most once per tick).",
		   h->open);
	scalar_u64(o, "wattlet_http_connections_max", "gauge",
		   "HTTP connections allowed at a time (http.max_connections, at most a quarter "
		   "of the open-files limit).", h->max);
	scalar_u64(o, "wattlet_http_connections_accepted_total", "counter",
		   "HTTP connections accepted.", h->accepted);
	counter_by(o, "wattlet_http_connections_closed_total",
		   "HTTP connections the agent closed, by reason: evicted (the longest idle, to "
		   "make room at the cap), idle_timeout, refused (at the cap with every connection "
		   "busy), upgrade (WebSocket/h2c upgrade or CONNECT).",
		   "reason", conn_why, conn_closed, 4);
	if (!h->ws_max)
		return;
	scalar_u64(o, "wattlet_ui_clients", "gauge",
		   "/ui WebSocket clients open when /metrics was rendered.", h->ws_open);
	scalar_u64(o, "wattlet_ui_clients_max", "gauge",
		   "/ui WebSocket clients allowed at a time (http.ui_max_clients).", h->ws_max);
	counter_by(o, "wattlet_ui_clients_closed_total",
		   "/ui WebSocket clients the agent closed, by reason: limit (over "
		   "http.ui_max_clients), slow (a frame waited http.idle_timeout for it).",
		   "reason", ui_why, ui_closed, 2);
	scalar_u64(o, "wattlet_ui_frames_total", "counter",
		   "/ui frames written to WebSocket clients (one rendering per tick is shared by "
		   "all).", h->ws_frames);
}

/* ---- the Redfish platform power source (docs/redfish.md) ----------------------- */

static void redfish_metrics(struct render *r)
{
	const struct export_redfish *f = r->s->redfish;
	struct out_buf *o = &r->o;

	if (!f)
		return;
	mx_family(o, "wattlet_redfish_up", "gauge",
	       "1 while the BMC's platform power reading is fresh, 0 when it is stale (no "
	       "reading within redfish.stale_after: zone platform is marked stale and no "
	       "energy is invented), by the Redfish resource read.");
	sample1_u64(o, "wattlet_redfish_up", "resource", mx_str_or(f->resource, "none"),
		    f->stale ? 0 : 1);
	if (f->reading_age_s >= 0) {
		scalar_dbl(o, "wattlet_redfish_reading_age_seconds", "gauge",
			   "Age of the newest platform power reading from the BMC (when it was "
			   "taken, estimated as the middle of the request's time on the wire).",
			   f->reading_age_s);
		scalar_dbl(o, "wattlet_redfish_power_watts", "gauge",
			   "The newest platform power reading from the BMC.", f->watts);
	}
	scalar_u64(o, "wattlet_redfish_polls_total", "counter",
		   "Polls of the BMC (successful or not).", f->polls);
	counter_by(o, "wattlet_redfish_poll_errors_total",
		   "Failed polls of the BMC by reason: credentials, connect, tls, timeout, auth "
		   "(401/403), http (another status), json (not a JSON object), missing (no "
		   "reading), range (a reading out of range), no_source (no power resource).",
		   "reason", f->err_names, f->errors, f->n_err > 0 ? (size_t)f->n_err : 0);
}

/* ---- platform validation (wattlet validate) ------------------------------------ */

static void signed6(struct out_buf *o, double v)
{
	if (v < 0) {
		ob_add(o, "-", 1);
		v = -v;
	}
	ob_double6(o, v);
}

static void validation_metrics(struct render *r)
{
	static const char *const kind[EXPORT_VALIDATION_KINDS] = { "node", "workload" };
	const struct export_validation *v = r->s->validation;
	struct out_buf *o = &r->o;
	bool any = false;

	for (int k = 0; k < EXPORT_VALIDATION_KINDS; k++)
		any |= v[k].present;
	if (!any)
		return;
	mx_family(o, "wattlet_validation_passed", "gauge",
	       "1 when the last `wattlet validate` of this kind passed, 0 when it failed or "
	       "refused to judge.");
	for (int k = 0; k < EXPORT_VALIDATION_KINDS; k++) {
		if (!v[k].present)
			continue;
		sample1_u64(o, "wattlet_validation_passed", "kind", kind[k], v[k].passed ? 1 : 0);
	}
	mx_family(o, "wattlet_validation_deviation_percent", "gauge",
	       "Deviation of wattlet from the independent sampler in the last validation: "
	       "node power per zone (node), worst step's workload power (workload).");
	for (int k = 0; k < EXPORT_VALIDATION_KINDS; k++) {
		if (!v[k].present)
			continue;
		for (int z = 0; z < ZONE_COUNT; z++) {
			if (!(v[k].zone_mask & (1u << z)))
				continue;
			mx_open1(o, "wattlet_validation_deviation_percent", "kind", kind[k]);
			ob_adds(o, ",zone=\"");
			ob_adds(o, zone_name((enum zone)z));
			ob_adds(o, "\"} ");
			signed6(o, v[k].deviation_percent[z]);
			ob_add(o, "\n", 1);
		}
	}
	mx_family(o, "wattlet_validation_timestamp_seconds", "gauge",
	       "Unix time the last validation of this kind finished.");
	for (int k = 0; k < EXPORT_VALIDATION_KINDS; k++) {
		if (!v[k].present)
			continue;
		mx_open1(o, "wattlet_validation_timestamp_seconds", "kind", kind[k]);
		ob_adds(o, "} ");
		ob_double6(o, v[k].timestamp_s);
		ob_add(o, "\n", 1);
	}
}

static void rows_metrics(struct render *r)
{
	if (r->detail)
		workload_metrics(r);
	else
		lean_workload_metrics(r);
}

int export_metrics(const struct ledger *l, const struct agent_status *s, bool kepler_compat,
		   struct strbuf *out)
{
	struct export_metrics_opts o = { .detail = true, .kepler_compat = kepler_compat };

	return export_metrics_render(l, s, &o, out);
}

int export_metrics_render(const struct ledger *l, const struct agent_status *s,
			  const struct export_metrics_opts *opts, struct strbuf *out)
{
	struct render *r;
	bool kepler_compat, rows;
	int err;

	if (!l || !s || !out || !opts)
		return -EINVAL;
	kepler_compat = opts->kepler_compat;
	rows = !opts->no_workloads;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->o.sb = out;
	r->l = l;
	r->s = s;
	r->n = ledger_count(l);
	r->zones = export_zones_present(ledger_node_c(l));
	r->detail = opts->detail;
	r->lean_zones = r->zones & LEAN_ZONES;
	if (!r->lean_zones) /* only nested zones measured (core alone): show those */
		r->lean_zones = r->zones;
	strbuf_init(&r->lbl, LABEL_SCRATCH_CAP);
	strbuf_init(&r->ids, LABEL_SCRATCH_CAP);
	for (int z = 0; z < ZONE_COUNT; z++)
		for (int m = 0; m < MODE_COUNT; m++)
			snprintf(r->zm[z][m], sizeof(r->zm[z][m]), ",zone=\"%s\",mode=\"%s\"} ",
				 zone_name((enum zone)z), mode_name((enum mode)m));

	err = rows ? build_row_labels(r) : 0;
	if (err)
		goto cleanup;
	node_metrics(r);
	if (rows)
		rows_metrics(r);
	if (s->pods && rows) {
		r->pod_rows = true;
		r->l = s->pods;
		r->n = ledger_count(s->pods);
		err = build_row_labels(r);
		if (err)
			goto cleanup;
		rows_metrics(r);
		r->pod_rows = false;
		r->l = l;
		r->n = ledger_count(l);
	}
	if (!rows)
		workloads_gauge(&r->o, live_rows(r));
	agent_metrics(r);
	kube_metrics(r);
	http_metrics(r);
	redfish_metrics(r);
	validation_metrics(r);
	if (kepler_compat) {
		mx_kepler_node(r);
		err = rows ? mx_kepler_workloads(r, false) : 0;
		if (!err && rows)
			err = mx_kepler_workloads(r, true);
		if (err)
			goto cleanup;
	}
	err = r->o.err;

cleanup:
	strbuf_release(&r->lbl);
	strbuf_release(&r->ids);
	free(r->lbl_off);
	free(r->lvl);
	free(r);
	return err;
}
