/* tick.h - one measurement tick as a sequence of stages.
 *
 * tick_run() reads the tick top to bottom:
 *   1. meter    energy since the last read (meter_read), counted into the status;
 *   2. usage    per-cgroup usage over (nearly) the same interval, read right after;
 *               a baseline tick (no interval yet) stops here;
 *   3. model    the PowerModel in use estimates zones the meter lacks (pm_estimate);
 *   4. idle     idle power per zone: configured, model, learned or the class's
 *               (model/idlesel.h);
 *   5. attrib   the attribution input, then attrib_compute();
 *   6. ledger   shares folded into the workload ledger and the per-pod aggregates
 *               (ledger/apply.h);
 *   7. status   tick counters of the agent status (export.h).
 * Between the stages the caller's hooks run (each may be NULL): the daemon logs meter
 * errors and replaces a vanished meter, writes --record, lets Kubernetes switch the
 * PowerModel and fill requests and per-pod policies into the attribution input, and
 * writes the cluster objects after the ledger. Checkpointing and logging stay with the
 * caller (agent/cli/daemon.c), which reads what happened from struct tick_report.
 *
 * Ownership: every object in struct tick_parts is the caller's; nothing is kept between
 * calls. One thread.
 * Return convention: 0 (a full or a baseline tick), or the negative errno of the stage
 * that skipped the tick (usage or attribution; rep->stage says which). No logging.
 */
#ifndef WATTLET_TICK_H
#define WATTLET_TICK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../attrib/attrib.h"
#include "../common/util.h"
#include "../config/config.h"
#include "../export/export.h"
#include "../ledger/ledger.h"
#include "../meter/meter.h"
#include "../model/idle.h"
#include "../model/powermodel.h"
#include "../usage/usage.h"

/* What one tick works on. */
struct tick_parts {
	const struct config *cfg;
	struct meter *meter;          /* NULL: no meter (usage only, or model estimates) */
	bool meter_is_new;            /* its first read is a baseline: no energy this tick */
	struct usage *usage;
	struct attrib *attrib;
	struct ledger *ledger;        /* workloads, keyed by cgroup path */
	struct ledger *pods;          /* per-pod aggregates, keyed by pod uid; may be NULL */
	struct idle_est *const *idle; /* [ZONE_COUNT]; NULL entries for configured zones */
	const double *class_idle;     /* [ZONE_COUNT] idle of the node's hardware class
					 (< 0: none; kube/kube_classidle.h), or NULL */
	long ncpu;                    /* online CPUs, for the node's utilisation */
	uint64_t start_ns;            /* mono_ns() when the tick began (last_tick_seconds) */
	struct agent_status *st;      /* updated: meter counters, idle, features, ticks */
};

struct tick_hooks {
	/* After the meter read (rc: meter_read's result; md->zone_mask is 0 when it failed).
	 * May close the meter: the stages after it never use parts->meter. */
	void (*meter_read)(void *ctx, int rc, const struct meter_delta *md);
	/* After a non-baseline usage read; md: the meter's reading, NULL when not metered. */
	void (*record)(void *ctx, const struct meter_delta *md, const struct usage_sample *us);
	/* The PowerModel for this tick (NULL: the built-in ratio model); may switch it. */
	const struct powermodel *(*model)(void *ctx);
	/* Last changes to the attribution input (Kubernetes requests, per-pod policies; GPU
	 * energy: in->energy may be replaced by a copy valid through the tick, and the
	 * node's zone mask in the ledger is then that energy's). */
	void (*prepare_attrib)(void *ctx, const struct usage_sample *us, struct attrib_input *in);
	/* After both ledgers were committed; dt_s: the tick's energy interval. */
	void (*after_ledger)(void *ctx, double dt_s);
};

enum tick_stage {
	TICK_DONE,           /* a full tick */
	TICK_BASELINE,       /* first read of meter or usage: nothing to attribute */
	TICK_USAGE_FAILED,   /* usage_read failed: tick skipped */
	TICK_ATTRIB_FAILED,  /* attrib_compute failed: tick skipped */
};

struct tick_report {
	enum tick_stage stage;
	int rc;                      /* the failing stage's negative errno, else 0 */
	uint64_t t_ns;               /* the usage sample's time (CLOCK_MONOTONIC) */
	size_t workloads;            /* shares attributed */
	double idle_w[ZONE_COUNT];   /* idle power used per zone */
	int ledger_rc;               /* ledger_apply's result (-ENOMEM: some rows not added) */
	struct wl_err ledger_err;
};

int tick_run(const struct tick_parts *p, const struct tick_hooks *h, void *ctx,
	     struct tick_report *rep);

#endif
