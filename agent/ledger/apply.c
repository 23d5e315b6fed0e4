/* apply.c - see apply.h. */
#include "apply.h"

#include <errno.h>
#include <string.h>

static void add_uj(uint64_t dst[ZONE_COUNT][MODE_COUNT], const uint64_t src[ZONE_COUNT][MODE_COUNT])
{
	for (int z = 0; z < ZONE_COUNT; z++)
		for (int m = 0; m < MODE_COUNT; m++)
			dst[z][m] += src[z][m];
}

static void set_watts(double w[ZONE_COUNT][MODE_COUNT], const uint64_t uj[ZONE_COUNT][MODE_COUNT],
		      double dt)
{
	for (int z = 0; z < ZONE_COUNT; z++)
		for (int m = 0; m < MODE_COUNT; m++)
			w[z][m] = dt > 0 ? uj[z][m] / 1e6 / dt : 0;
}

/* Adds a workload row's tick to its pod's row; gen marks the pod rows touched this tick. */
static int add_to_pod(struct ledger *pods, uint64_t gen, const struct ledger_row *w,
		      const uint64_t uj[ZONE_COUNT][MODE_COUNT], uint64_t cpu_ns)
{
	struct ledger_row *p = ledger_row_get(pods, w->ident.pod_uid);

	if (!p)
		return -ENOMEM;
	if (p->gen_tick != gen) { /* first cgroup of this pod this tick */
		memset(p->tick_uj, 0, sizeof(p->tick_uj));
		p->tick_cpu_ns = 0;
		p->gen_tick = gen;
	}
	add_uj(p->uj, uj);
	add_uj(p->tick_uj, uj);
	p->cpu_ns += cpu_ns;
	p->tick_cpu_ns += cpu_ns;
	if (w->ns || w->pod)
		ledger_row_set_names(p, w->ns, w->pod, NULL);
	return 0;
}

static void finish_pods(struct ledger *pods, uint64_t gen, double dt, uint64_t dt_ns,
			uint64_t now)
{
	for (size_t i = 0; i < ledger_count(pods); i++) {
		struct ledger_row *p = (struct ledger_row *)ledger_row_at(pods, i);
		if (p->terminated || p->gen_tick != gen)
			continue;
		set_watts(p->watts, p->tick_uj, dt);
		p->cpu_cores = p->tick_cpu_ns / (double)dt_ns;
	}
	ledger_commit_tick(pods, now);
	ledger_expire(pods, now);
}

int ledger_apply(struct ledger *l, struct ledger *pods, const struct ledger_tick *t,
		 struct wl_err *err)
{
	const struct usage_sample *us = t->usage;
	const struct attrib_result *res = t->res;
	uint64_t system_cpu = us->node_delta[FEAT_CPU_TIME];
	/* unique per tick of the pods ledger: its tick count advances at every commit */
	uint64_t gen = pods ? ledger_node(pods)->ticks + 1 : 0;
	int rc = 0;

	ledger_begin_tick(l);
	if (pods)
		ledger_begin_tick(pods);
	for (size_t i = 0; i < res->n; i++) {
		const struct usage_entry *e = &us->entries[res->shares[i].entry];
		uint64_t cpu = e->delta[FEAT_CPU_TIME];
		struct ledger_row *r = ledger_row_get(l, e->path);
		if (!r) {
			if (!rc)
				rc = err_set(err, ENOMEM, "ledger: out of memory adding %s", e->path);
			continue;
		}
		r->cgroup_id = e->id;
		add_uj(r->uj, res->shares[i].uj);
		set_watts(r->watts, res->shares[i].uj, t->dt_s);
		r->cpu_ns += cpu;
		r->cpu_cores = cpu / (double)us->dt_ns;
		system_cpu = system_cpu > cpu ? system_cpu - cpu : 0;
		if (pods && r->ident.pod_uid[0] &&
		    add_to_pod(pods, gen, r, res->shares[i].uj, cpu) != 0 && !rc) {
			rc = err_set(err, ENOMEM, "ledger: out of memory adding pod %s",
				     r->ident.pod_uid);
		}
	}
	struct ledger_row *sys = ledger_row_get(l, LEDGER_SYSTEM_KEY);
	if (sys) {
		add_uj(sys->uj, res->system_uj);
		set_watts(sys->watts, res->system_uj, t->dt_s);
		sys->cpu_ns += system_cpu;
		sys->cpu_cores = system_cpu / (double)us->dt_ns;
	} else if (!rc) {
		rc = err_set(err, ENOMEM, "ledger: out of memory adding %s", LEDGER_SYSTEM_KEY);
	}
	struct ledger_node *node = ledger_node(l);
	add_uj(node->uj, res->node_uj);
	set_watts(node->watts, res->node_uj, t->dt_s);
	node->zone_mask = t->zone_mask;
	node->platform_whole = t->platform_whole;
	ledger_commit_tick(l, us->t_ns);
	ledger_expire(l, us->t_ns);
	if (pods)
		finish_pods(pods, gen, t->dt_s, us->dt_ns, us->t_ns);
	return rc;
}
