/* metrics_kepler.c - the Kepler-compatible families (metrics.kepler_compat): Kepler's
 * node and container/pod metric names over wattlet's ledger, so that Kepler dashboards keep
 * working; see metrics_impl.h and docs/metrics.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_impl.h"

/* ---- Kepler compatibility ------------------------------------------------------ */

/* Kepler names RAPL zones after the powercap domain names; it has no GPU zone in its
 * cpu metrics. */
static const char *kepler_zone(int z)
{
	switch (z) {
	case ZONE_PACKAGE:
		return "package";
	case ZONE_CORE:
		return "core";
	case ZONE_UNCORE:
		return "uncore";
	case ZONE_DRAM:
		return "dram";
	case ZONE_PLATFORM:
		return "psys";
	default:
		return NULL;
	}
}

void mx_kepler_node(struct render *r)
{
	static const struct {
		const char *name, *type, *help;
		int what; /* 0 total, 1 dynamic, 2 idle */
		bool watts;
	} fam[] = {
		{"kepler_node_cpu_joules_total", "counter",
		 "Kepler-compatible: node energy by zone (active + idle).", 0, false},
		{"kepler_node_cpu_watts", "gauge", "Kepler-compatible: node power by zone.", 0,
		 true},
		{"kepler_node_cpu_active_joules_total", "counter",
		 "Kepler-compatible: node active (dynamic) energy by zone.", 1, false},
		{"kepler_node_cpu_active_watts", "gauge",
		 "Kepler-compatible: node active (dynamic) power by zone.", 1, true},
		{"kepler_node_cpu_idle_joules_total", "counter",
		 "Kepler-compatible: node idle energy by zone.", 2, false},
		{"kepler_node_cpu_idle_watts", "gauge",
		 "Kepler-compatible: node idle power by zone.", 2, true},
	};
	const struct ledger_node *n = ledger_node_c(r->l);
	struct out_buf *o = &r->o;
	const char *node = mx_str_or(r->s->node_name, "");

	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		mx_family(o, fam[f].name, fam[f].type, fam[f].help);
		for (int z = 0; z < ZONE_COUNT; z++) {
			uint64_t uj;
			double w;
			if (!(r->zones & (1u << z)) || !kepler_zone(z))
				continue;
			if (fam[f].what == 0) {
				uj = n->uj[z][MODE_DYNAMIC] + n->uj[z][MODE_IDLE];
				w = n->watts[z][MODE_DYNAMIC] + n->watts[z][MODE_IDLE];
			} else {
				int m = fam[f].what == 1 ? MODE_DYNAMIC : MODE_IDLE;
				uj = n->uj[z][m];
				w = n->watts[z][m];
			}
			mx_open1(o, fam[f].name, "node_name", node);
			ob_adds(o, ",zone=\"");
			ob_adds(o, kepler_zone(z));
			ob_adds(o, "\"} ");
			if (fam[f].watts)
				ob_double6(o, w);
			else
				ob_fixed(o, uj, 6);
			ob_add(o, "\n", 1);
		}
	}
}

static int cmp_container(const void *a, const void *b)
{
	const struct ledger_row *x = *(const struct ledger_row *const *)a;
	const struct ledger_row *y = *(const struct ledger_row *const *)b;
	return strcmp(x->ident.container_id, y->ident.container_id);
}

static int cmp_pod(const void *a, const void *b)
{
	const struct ledger_row *x = *(const struct ledger_row *const *)a;
	const struct ledger_row *y = *(const struct ledger_row *const *)b;
	return strcmp(x->ident.pod_uid, y->ident.pod_uid);
}

struct group {
	const struct ledger_row *first;
	uint64_t uj[ZONE_COUNT];
	double watts[ZONE_COUNT];
	bool running;
};

/* Sums dynamic energy/power of rows[i..] sharing the key; returns the next index. */
static size_t group_next(const struct ledger_row **rows, size_t n, size_t i, bool by_pod,
			 struct group *g)
{
	size_t j = i;

	memset(g, 0, sizeof(*g));
	g->first = rows[i];
	for (; j < n; j++) {
		const struct ledger_row *row = rows[j];
		if (strcmp(by_pod ? row->ident.pod_uid : row->ident.container_id,
			   by_pod ? g->first->ident.pod_uid : g->first->ident.container_id))
			break;
		for (int z = 0; z < ZONE_COUNT; z++) {
			g->uj[z] += row->uj[z][MODE_DYNAMIC];
			if (!row->terminated)
				g->watts[z] += row->watts[z][MODE_DYNAMIC];
		}
		g->running |= !row->terminated;
	}
	return j;
}

static void kepler_group_labels(struct render *r, const char *name, const struct group *g,
				bool by_pod, int z)
{
	struct out_buf *o = &r->o;
	const struct cg_ident *id = &g->first->ident;

	ob_adds(o, name);
	if (by_pod) {
		ob_adds(o, "{node_name=\"");
		ob_label(o, mx_str_or(r->s->node_name, ""));
		ob_adds(o, "\",pod_id=\"");
		ob_label(o, id->pod_uid);
		ob_adds(o, "\",pod_name=\"\",pod_namespace=\"\",state=\"");
	} else {
		ob_adds(o, "{container_id=\"");
		ob_label(o, id->container_id);
		ob_adds(o, "\",container_name=\"\",node_name=\"");
		ob_label(o, mx_str_or(r->s->node_name, ""));
		ob_adds(o, "\",pod_id=\"");
		ob_label(o, id->pod_uid);
		ob_adds(o, "\",runtime=\"");
		ob_adds(o, export_row_runtime(g->first));
		ob_adds(o, "\",state=\"");
	}
	ob_adds(o, g->running ? "running" : "terminated");
	ob_adds(o, "\",zone=\"");
	ob_adds(o, kepler_zone(z));
	ob_adds(o, "\"} ");
}

int mx_kepler_workloads(struct render *r, bool by_pod)
{
	const char *jname = by_pod ? "kepler_pod_cpu_joules_total"
				   : "kepler_container_cpu_joules_total";
	const char *wname = by_pod ? "kepler_pod_cpu_watts" : "kepler_container_cpu_watts";
	const struct ledger_row **rows;
	size_t k = 0;
	struct group g;

	rows = malloc((r->n ? r->n : 1) * sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		const struct ledger_row *row = ledger_row_at(r->l, i);
		if (by_pod ? row->ident.pod_uid[0] != '\0' : row->ident.container_id[0] != '\0')
			rows[k++] = row;
	}
	qsort(rows, k, sizeof(*rows), by_pod ? cmp_pod : cmp_container);

	for (int pass = 0; pass < 2; pass++) {
		mx_family(&r->o, pass ? wname : jname, pass ? "gauge" : "counter",
		       pass ? (by_pod ? "Kepler-compatible: pod active (dynamic) power by zone."
				      : "Kepler-compatible: container active (dynamic) power by "
					"zone.")
			    : (by_pod ? "Kepler-compatible: pod active (dynamic) energy by zone."
				      : "Kepler-compatible: container active (dynamic) energy "
					"by zone."));
		for (size_t i = 0; i < k;) {
			i = group_next(rows, k, i, by_pod, &g);
			for (int z = 0; z < ZONE_COUNT; z++) {
				if (!(r->zones & (1u << z)) || !kepler_zone(z))
					continue;
				kepler_group_labels(r, pass ? wname : jname, &g, by_pod, z);
				if (pass)
					ob_double6(&r->o, g.watts[z]);
				else
					ob_fixed(&r->o, g.uj[z], 6);
				ob_add(&r->o, "\n", 1);
			}
		}
	}
	free(rows);
	return 0;
}
