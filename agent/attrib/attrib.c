#include "attrib.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../cgroup/ident.h"
#include "../model/powermodel.h"

struct attrib {
	struct attrib_share *shares;
	size_t alloc;
};

struct attrib *attrib_new(void)
{
	return calloc(1, sizeof(struct attrib));
}

void attrib_free(struct attrib *a)
{
	if (!a)
		return;
	free(a->shares);
	free(a);
}

bool attrib_is_workload(const struct attrib_input *in, const struct usage_entry *e)
{
	struct cg_ident id;

	if (!e->path || strcmp(e->path, "/") == 0)
		return false;
	if (!in->containers_only)
		return true;
	return cg_ident_parse(e->path, &id) == 0;
}

/* floor(total * part / whole) without overflow; whole > 0, part <= whole */
static uint64_t share_of(uint64_t total, uint64_t part, uint64_t whole)
{
	return (uint64_t)(((unsigned __int128)total * part) / whole);
}

static uint64_t idle_uj_for(const struct attrib_input *in, enum zone z, uint64_t measured)
{
	double w = in->idle_w[z];
	double uj;

	if (!(w > 0) || !isfinite(w))
		return 0;
	uj = w * (double)in->energy->dt_ns / 1e3; /* W * ns / 1e3 = uJ */
	if (uj >= (double)measured)
		return measured;
	return (uint64_t)uj;
}

/* Spreads `total` over the workloads by weight[i] (weights scaled to integers);
 * returns what was handed out. */
static uint64_t spread(struct attrib_share *sh, size_t n, const uint64_t *weight, uint64_t whole,
		       uint64_t total, enum zone z, enum mode m)
{
	uint64_t given = 0;

	if (whole == 0 || total == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t part = weight[i] > whole ? whole : weight[i];
		uint64_t s = share_of(total, part, whole);
		sh[i].uj[z][m] = s;
		given += s;
	}
	return given;
}

/* Regression weights: each workload's predicted dynamic power, scaled to integers out
 * of *all; leaves weight/all alone when the node's prediction is 0. */
static void reg_weights(const struct attrib_input *in, const struct attrib_share *sh, size_t n,
			enum zone z, uint64_t *weight, uint64_t *all)
{
	const struct usage_sample *u = in->usage;
	double node = 0, scale;
	uint64_t sum = 0;

	for (int f = 0; f < FEAT_COUNT; f++) {
		uint64_t tot = 0;
		double w = in->reg_w[z][f];
		if (!(u->feature_mask & (1u << f)) || !(w > 0) || !isfinite(w))
			continue;
		for (size_t i = 0; i < u->n; i++)
			tot += u->entries[i].delta[f];
		if (u->node_delta[f] > tot)
			tot = u->node_delta[f];
		node += w * pm_feature_unit(f) * (double)tot;
	}
	if (!(node > 0) || !isfinite(node))
		return;
	scale = 1e15 / node;
	for (size_t i = 0; i < n; i++) {
		const struct usage_entry *e = &u->entries[sh[i].entry];
		double p = 0;
		for (int f = 0; f < FEAT_COUNT; f++) {
			double w = in->reg_w[z][f];
			if ((u->feature_mask & (1u << f)) && w > 0 && isfinite(w))
				p += w * pm_feature_unit(f) * (double)e->delta[f];
		}
		weight[i] = (uint64_t)(p * scale);
		sum += weight[i];
	}
	*all = sum > 1000000000000000ull ? sum : 1000000000000000ull;
}

/* Idle energy under per-entry policies (in->entry_idle_policy): each workload's share
 * under its own policy into want[], scaled down in proportion when they add up to more
 * than idle. uweight/uall: the usage weights of the dynamic split. Returns what was
 * handed out (<= idle). */
static uint64_t idle_per_entry(const struct attrib_input *in, struct attrib_share *sh, size_t n,
			       const uint64_t *uweight, uint64_t uall, uint64_t *want,
			       uint64_t idle, enum zone z)
{
	const struct usage_sample *u = in->usage;
	uint64_t active = 0, req_sum = 0, given = 0;
	unsigned __int128 sum = 0;

	if (idle == 0 || n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		active += u->entries[sh[i].entry].delta[FEAT_CPU_TIME] > 0;
		if (in->cpu_request) {
			double r = in->cpu_request[sh[i].entry];
			if (isfinite(r) && r > 0 && r < 1e9)
				req_sum += (uint64_t)(r * 1e6);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct usage_entry *e = &u->entries[sh[i].entry];
		uint64_t w = 0;
		switch (in->entry_idle_policy[sh[i].entry]) {
		case IDLE_USAGE:
			if (uall)
				w = share_of(idle, uweight[i] > uall ? uall : uweight[i], uall);
			break;
		case IDLE_REQUEST:
			if (req_sum) {
				double r = in->cpu_request[sh[i].entry];
				uint64_t rq = (isfinite(r) && r > 0 && r < 1e9) ? (uint64_t)(r * 1e6) : 0;
				w = share_of(idle, rq, req_sum);
				break;
			}
			/* no requests known: as even */
			__attribute__((fallthrough));
		case IDLE_EVEN:
			if (active && e->delta[FEAT_CPU_TIME] > 0)
				w = idle / active;
			break;
		case IDLE_NONE:
		default: /* unknown value: nothing, system keeps it */
			break;
		}
		want[i] = w;
		sum += w;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t s = want[i];
		if (sum > idle)
			s = (uint64_t)(((unsigned __int128)idle * want[i]) / sum);
		sh[i].uj[z][MODE_IDLE] = s;
		given += s;
	}
	return given;
}

/* TEST ONLY (attribution.test_bias): every workload's dynamic energy x (1 + bias). What
 * a positive bias adds is taken from the system's dynamic energy, then from the node's
 * idle energy (which becomes dynamic: node totals stay exact, only the split is wrong);
 * when that pool is too small the additions shrink proportionally. A negative bias
 * gives the difference to the system. Returns the new dynamic total given to
 * workloads; *idle, *dynp and out->node_uj[z] are moved accordingly. */
static uint64_t apply_test_bias(struct attrib_share *sh, size_t n, enum zone z, double bias,
				uint64_t *dynp, uint64_t given, uint64_t *idle,
				struct attrib_result *out)
{
	uint64_t dyn = *dynp;
	double want = 0, scale = 1, pool = (double)(dyn - given) + (double)*idle;
	uint64_t moved = 0, from_idle;

	for (size_t i = 0; i < n; i++)
		want += (double)sh[i].uj[z][MODE_DYNAMIC] * fabs(bias);
	if (bias > 0 && want > pool)
		scale = want > 0 ? pool / want : 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t d = (uint64_t)((double)sh[i].uj[z][MODE_DYNAMIC] * fabs(bias) * scale);
		if (bias > 0) {
			if (moved + d > dyn - given + *idle) /* rounding guard */
				d = dyn - given + *idle - moved;
			sh[i].uj[z][MODE_DYNAMIC] += d;
		} else {
			if (d > sh[i].uj[z][MODE_DYNAMIC])
				d = sh[i].uj[z][MODE_DYNAMIC];
			sh[i].uj[z][MODE_DYNAMIC] -= d;
		}
		moved += d;
	}
	if (bias < 0)
		return given - moved;
	from_idle = moved > dyn - given ? moved - (dyn - given) : 0;
	*idle -= from_idle;
	*dynp += from_idle;
	out->node_uj[z][MODE_DYNAMIC] += from_idle;
	out->node_uj[z][MODE_IDLE] -= from_idle;
	return given + moved;
}

int attrib_compute(struct attrib *a, const struct attrib_input *in, struct attrib_result *out)
{
	const struct usage_sample *u;
	size_t nw = 0;
	uint64_t *weight = NULL;
	int rc = 0;

	if (!a || !in || !in->energy || !in->usage || !out)
		return -EINVAL;
	u = in->usage;
	memset(out, 0, sizeof(*out));

	for (size_t i = 0; i < u->n; i++)
		nw += attrib_is_workload(in, &u->entries[i]);
	if (nw > a->alloc) {
		struct attrib_share *ns = realloc(a->shares, nw * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		a->shares = ns;
		a->alloc = nw;
	}
	weight = calloc(nw ? 2 * nw : 1, sizeof(*weight)); /* [0,nw): weights; [nw,2nw): idle */
	if (!weight)
		return -ENOMEM;

	nw = 0;
	for (size_t i = 0; i < u->n; i++)
		if (attrib_is_workload(in, &u->entries[i])) {
			memset(&a->shares[nw], 0, sizeof(a->shares[nw]));
			a->shares[nw++].entry = i;
		}

	for (int zi = 0; zi < ZONE_COUNT; zi++) {
		enum zone z = (enum zone)zi;
		enum feature f = in->zone_feature[z];
		uint64_t e_uj, idle, dyn, whole = 0, all = 0, given;

		if (!(in->energy->zone_mask & (1u << z)))
			continue;
		if ((unsigned)f >= FEAT_COUNT || !(u->feature_mask & (1u << f)))
			f = FEAT_CPU_TIME;
		out->used_feature[z] = f;

		e_uj = in->energy->uj[z];
		idle = idle_uj_for(in, z, e_uj);
		dyn = e_uj - idle;
		out->node_uj[z][MODE_DYNAMIC] = dyn;
		out->node_uj[z][MODE_IDLE] = idle;

		/* dynamic: by usage share of the node total */
		for (size_t i = 0; i < nw; i++) {
			weight[i] = u->entries[a->shares[i].entry].delta[f];
			whole += weight[i];
		}
		for (size_t i = 0; i < u->n; i++)
			all += u->entries[i].delta[f];
		if (f == FEAT_CPU_TIME && u->node_delta[f] > all)
			all = u->node_delta[f];
		if (all < whole)
			all = whole;
		if (in->reg_mask & (1u << z))
			reg_weights(in, a->shares, nw, z, weight, &all);
		if ((in->ext_mask & (1u << z)) && in->ext_weight[z]) {
			whole = 0;
			for (size_t i = 0; i < nw; i++) {
				weight[i] = in->ext_weight[z][a->shares[i].entry];
				whole += weight[i];
			}
			all = in->ext_total[z] > whole ? in->ext_total[z] : whole;
		}
		given = spread(a->shares, nw, weight, all, dyn, z, MODE_DYNAMIC);
		if (in->test_bias != 0 && isfinite(in->test_bias) && in->test_bias > -1)
			given = apply_test_bias(a->shares, nw, z, in->test_bias, &dyn, given, &idle,
						out);
		out->system_uj[z][MODE_DYNAMIC] = dyn - given;

		/* idle: by policy */
		given = 0;
		if (in->entry_idle_policy) {
			given = idle_per_entry(in, a->shares, nw, weight, all, weight + nw, idle, z);
			out->system_uj[z][MODE_IDLE] = idle - given;
			continue;
		}
		switch (in->idle_policy) {
		case IDLE_NONE:
			break;
		case IDLE_USAGE:
			given = spread(a->shares, nw, weight, all, idle, z, MODE_IDLE);
			break;
		case IDLE_REQUEST:
			if (in->cpu_request) {
				uint64_t sum = 0;
				for (size_t i = 0; i < nw; i++) {
					double r = in->cpu_request[a->shares[i].entry];
					weight[i] = (isfinite(r) && r > 0) ? (uint64_t)(r * 1e6) : 0;
					sum += weight[i];
				}
				if (sum) {
					given = spread(a->shares, nw, weight, sum, idle, z, MODE_IDLE);
					break;
				}
			}
			/* no requests known: share evenly */
			__attribute__((fallthrough));
		case IDLE_EVEN: {
			uint64_t active = 0;
			for (size_t i = 0; i < nw; i++) {
				weight[i] = u->entries[a->shares[i].entry].delta[FEAT_CPU_TIME] > 0;
				active += weight[i];
			}
			given = spread(a->shares, nw, weight, active, idle, z, MODE_IDLE);
			break;
		}
		}
		out->system_uj[z][MODE_IDLE] = idle - given;
	}
	out->shares = a->shares;
	out->n = nw;
	free(weight);
	return rc;
}
