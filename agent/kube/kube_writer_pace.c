/* kube_writer_pace.c - when the writer writes: what is due (interval, change, refresh
 * floor), the token bucket, the cluster write budget (share, stretch, node count,
 * order of due pods, the Events' and applies' part) and kube_writer_run_once()
 * (kube_writer_impl.h, formulas in kube_budget.h). */
#include "kube_writer_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kube_budget.h"
#include "kube_nodecount.h"

double kw_interval_ns(unsigned iv_s)
{
	return (double)(iv_s ? iv_s : KW_DEFAULT_INTERVAL_S) * 1e9;
}

/* The change in watts that counts: max(min_dwatts, rel_dwatts * |watts written|). */
static double watts_lim(const struct kube_writer *w, double ow)
{
	double lim = w->o.rel_dwatts * fabs(ow);
	return lim < w->o.min_dwatts ? w->o.min_dwatts : lim;
}

/* A snapshot with watts nw, joules nj and hash nh differs enough from what was written. */
static bool changed(const struct kube_writer *w, const struct kw_written *was, double nw,
		    double nj, uint64_t nh)
{
	double ow = was->watts, oj = was->joules;
	double lim = watts_lim(w, ow);
	if (was->hash != nh)
		return true;
	if (!isfinite(nw) != !isfinite(ow))
		return true;
	if (isfinite(nw) && fabs(nw - ow) > lim)
		return true;
	if (isfinite(nj) && isfinite(oj) && nj - oj > w->o.rel_djoules * fabs(oj))
		return true;
	return false;
}

/* A pod written before whose pending snapshot changed since (lock held). */
static bool pod_changed(const struct kube_writer *w, const struct pslot *s)
{
	const struct kw_pod *p = s->pending;
	return s->wr.ever && changed(w, &s->wr, p->watts, p->joules, kw_pod_hash(p));
}

/* Is an object due? next_ns gets the time from now until it may be (lock held). */
static bool due(struct kube_writer *w, uint64_t now, const struct kw_written *was,
		uint64_t next_try, uint64_t *skip_until, double iv, double floor, bool chg,
		uint64_t *next_ns)
{
	double elapsed, refresh;
	if (now < next_try) {
		*next_ns = next_try - now;
		return false;
	}
	if (!was->ever)
		return true;
	elapsed = (double)(now - was->at_ns);
	if (elapsed < iv) {
		*next_ns = (uint64_t)(iv - elapsed);
		return false;
	}
	refresh = floor; /* no budget: refresh_intervals * iv */
	if (chg || elapsed >= refresh)
		return true;
	if (now >= *skip_until) {
		w->st.skipped_unchanged++;
		*skip_until = now + (uint64_t)iv;
	}
	*next_ns = (uint64_t)(refresh - elapsed);
	return false;
}

static void refill(struct kube_writer *w, uint64_t now)
{
	if (now > w->tokens_at_ns) {
		w->tokens += (double)(now - w->tokens_at_ns) / 1e9 * w->rate;
		if (w->tokens > w->burst_cap)
			w->tokens = w->burst_cap;
	}
	w->tokens_at_ns = now;
}

/* Takes `need` tokens, or counts a rate-limited wait and gives the time until they
 * are there (lock held). */
static bool take_tokens(struct kube_writer *w, double need, uint64_t now, uint64_t *next_ns)
{
	if (need > w->burst_cap)
		need = w->burst_cap;
	refill(w, now);
	if (w->tokens + 1e-9 >= need) {
		w->tokens -= need;
		w->stalled = false;
		return true;
	}
	if (!w->stalled)
		w->st.rate_limited++;
	w->stalled = true;
	*next_ns = (uint64_t)((need - w->tokens) / w->rate * 1e9) + 1;
	return false;
}

static void minu(uint64_t *a, uint64_t b)
{
	if (b < *a)
		*a = b;
}

/* ---- the cluster write budget (kube_budget.h) -------------------------------------------- */

const char *kube_writer_nodes_source_name(enum kw_nodes_source src)
{
	static const char *const names[] = { "off", "override", "api", "unknown" };
	return (unsigned)src < sizeof(names) / sizeof(names[0]) ? names[src] : "unknown";
}

double kw_urand01(struct kube_writer *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return (double)(w->rng >> 11) / 9007199254740992.0;
}

/* The rate of Events and status applies, exponentially weighted over
 * tau = max(60 s, 20 / rate) (20 requests' worth: steady at small shares). */
static double other_tau_s(const struct kube_writer *w)
{
	double tau = w->rate > 0 ? 20 / w->rate : 60;
	return tau > 60 ? tau : 60;
}

static double other_rate_at(const struct kube_writer *w, uint64_t now)
{
	double dt = now > w->other_at_ns ? (double)(now - w->other_at_ns) / 1e9 : 0;
	return w->other_rate * exp(-dt / other_tau_s(w));
}

void kw_other_add(struct kube_writer *w, uint64_t now)
{
	w->other_rate = other_rate_at(w, now) + 1 / other_tau_s(w);
	w->other_at_ns = now;
}

/* Share, stretch and the bucket from the budget, the node count and the demand now
 * (lock held). Budget off: nothing changes (rate_per_s, burst, stretch 1). */
void kw_budget_update(struct kube_writer *w, uint64_t now)
{
	double share, demand, other;

	if (!w->st.budget)
		return;
	if (w->st.nodes_source == KW_NODES_API && now - w->nodes_at_ns > KB_STALE_S * NS_PER_S) {
		w->st.nodes = 0; /* every refresh failed for a long time: not known any more */
		w->st.nodes_source = KW_NODES_UNKNOWN;
	}
	share = kube_budget_share(w->o.cluster_budget_per_s, w->o.node_ceiling_per_s,
				  w->st.nodes);
	if (share > w->o.rate_per_s)
		share = w->o.rate_per_s;
	demand = w->pod_demand + (w->node_key[0] ? 1.0 / w->o.node_interval_s : 0);
	/* Events and status applies are not stretched: what they used over the last
	 * minute (at most half the share, see other_ok) is set aside */
	other = other_rate_at(w, now);
	if (other > share / 2)
		other = share / 2;
	if (share != w->rate) {
		refill(w, now); /* tokens so far at the old rate */
		w->rate = share;
		w->burst_cap = kube_budget_burst(share, w->o.burst);
		if (w->tokens > w->burst_cap)
			w->tokens = w->burst_cap;
	}
	w->st.share_per_s = share;
	w->st.demand_per_s = demand;
	w->st.other_per_s = other;
	w->st.stretch = kube_budget_stretch(demand, share - other);
}

/* Asks the API server for the node count (lock held on entry and exit, dropped around
 * the request). A failure keeps a count learned before (until KB_STALE_S). */
static void query_nodes(struct kube_writer *w)
{
	struct wl_err e = { { 0 } };
	struct kube_resp resp;
	long n = -EIO;
	uint64_t now;
	int rc;

	w->nodes_next_ns = UINT64_MAX; /* in flight */
	pthread_mutex_unlock(&w->mu);
	rc = kube_http_request(w->http, "GET", KUBE_NODECOUNT_PATH, NULL, NULL, &resp, &e);
	if (!rc) {
		if (kube_resp_check(&resp, &e) == 0)
			n = kube_nodecount_parse(resp.body, resp.len, &e);
		kube_resp_release(&resp);
	}
	pthread_mutex_lock(&w->mu);
	now = kw_now(w);
	w->st.nodes_queries++;
	if (n >= 0) {
		w->st.nodes = n > 0 ? (unsigned)n : 1; /* we run on one at least */
		w->st.nodes_source = KW_NODES_API;
		w->nodes_at_ns = now;
		w->st.nodes_error[0] = '\0';
	} else {
		w->st.nodes_query_failures++;
		snprintf(w->st.nodes_error, sizeof(w->st.nodes_error), "%s: %.160s",
			 KUBE_NODECOUNT_PATH, e.msg[0] ? e.msg : "failed");
		if (w->st.nodes_source != KW_NODES_API) {
			w->st.nodes = 0;
			w->st.nodes_source = KW_NODES_UNKNOWN;
		}
	}
	w->nodes_next_ns = kube_budget_next_query_ns(now, n >= 0, kw_urand01(w));
}

/* How much a pod changed since its last write, in units of its thresholds (> 1:
 * changed()); a text field counts as 1e9. Orders due pods under a budget. */
static double change_score(const struct kube_writer *w, const struct pslot *s,
			   const struct kw_pod *p)
{
	double lim = watts_lim(w, s->wr.watts), sc = 0, dj;
	if (s->wr.hash != kw_pod_hash(p) || !isfinite(p->watts) != !isfinite(s->wr.watts))
		return 1e9;
	if (isfinite(p->watts))
		sc = fabs(p->watts - s->wr.watts) / lim;
	dj = p->joules - s->wr.joules;
	if (isfinite(dj) && dj > 0) {
		double jl = w->o.rel_djoules * fabs(s->wr.joules);
		double js = jl > 0 ? dj / jl : 1e9;
		if (js > sc)
			sc = js;
	}
	return sc < 1e9 ? sc : 1e9;
}

/* Under a budget: the pod to write next (lock held). First one never written (a new
 * pod's first write comes promptly), then the one longest past its floor (no pod is
 * starved), then the most changed of those due. NULL: none due (next_ns: when). */
static struct pslot *best_due_pod(struct kube_writer *w, uint64_t now, uint64_t *next_ns)
{
	struct pslot *best = NULL;
	int best_cls = 0;
	double best_v = 0;

	for (size_t i = 0; i < w->tab_cap; i++) {
		struct pslot *s = w->tab[i];
		const struct kw_pod *p;
		uint64_t nx = UINT64_MAX;
		double iv, fl, v;
		int cls;
		bool chg;

		if (!s || !s->pending)
			continue;
		p = s->pending;
		iv = kw_interval_ns(p->interval_s);
		fl = kube_budget_floor(iv, w->st.stretch, w->o.refresh_intervals);
		chg = pod_changed(w, s);
		if (!due(w, now, &s->wr, s->next_try_ns, &s->skip_until_ns, iv * w->st.stretch, fl,
			 chg, &nx)) {
			minu(next_ns, nx);
			continue;
		}
		if (!s->wr.ever) {
			cls = 3;
			v = 0;
		} else if ((double)(now - s->wr.at_ns) >= fl) {
			cls = 2;
			v = (double)(now - s->wr.at_ns) - fl;
		} else { /* due because it changed */
			cls = 1;
			v = change_score(w, s, p);
		}
		if (!best || cls > best_cls || (cls == best_cls && v > best_v)) {
			best = s;
			best_cls = cls;
			best_v = v;
		}
	}
	return best;
}

/* Under a budget, Events and status applies get at most half the share while a
 * PodEnergy waits (a bucket of their own at s/2, depth 1); when no pod is due they may
 * use the rest. Without a budget: always (lock held). */
static bool other_ok(struct kube_writer *w, uint64_t now)
{
	uint64_t nx = UINT64_MAX;

	if (!w->st.budget)
		return true;
	if (now > w->otokens_at_ns) {
		w->otokens += (double)(now - w->otokens_at_ns) / 1e9 * w->rate / 2;
		if (w->otokens > 1)
			w->otokens = 1;
	}
	w->otokens_at_ns = now;
	if (w->otokens >= 1)
		return true;
	return best_due_pod(w, now, &nx) == NULL;
}

static void other_used(struct kube_writer *w)
{
	if (w->st.budget)
		w->otokens = w->otokens >= 1 ? w->otokens - 1 : 0;
}

/* Finds one due pod starting at the cursor (lock held). */
static struct pslot *next_due_pod(struct kube_writer *w, uint64_t now, uint64_t *next_ns,
				  size_t *scanned)
{
	for (; *scanned < w->tab_cap; (*scanned)++) {
		struct pslot *s = w->tab[w->cursor];
		size_t here = w->cursor;
		uint64_t nx = UINT64_MAX;
		w->cursor = (w->cursor + 1) & (w->tab_cap - 1);
		if (!s || !s->pending)
			continue;
		{
			bool chg = pod_changed(w, s);
			double iv = kw_interval_ns(s->pending->interval_s);
			if (due(w, now, &s->wr, s->next_try_ns, &s->skip_until_ns, iv,
				iv * w->o.refresh_intervals, chg, &nx)) {
				w->cursor = here; /* come back here if it must wait for tokens */
				return s;
			}
		}
		minu(next_ns, nx);
	}
	return NULL;
}

int kube_writer_run_once(struct kube_writer *w, uint64_t *next_ms)
{
	uint64_t next_ns = UINT64_MAX, now;
	size_t scanned = 0;
	int sent = 0;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	if (w->st.budget && w->http && w->st.nodes_source != KW_NODES_OVERRIDE &&
	    kw_now(w) >= w->nodes_next_ns && !w->wk.stop)
		query_nodes(w);
	while (!w->wk.stop) {
		struct pslot *s;
		now = kw_now(w);
		kw_budget_update(w, now);
		if (w->backoff_until_ns > now) {
			next_ns = w->backoff_until_ns - now;
			break;
		}
		if (w->evq_len && other_ok(w, now)) {
			if (!take_tokens(w, 1, now, &next_ns))
				break;
			other_used(w);
			sent += kw_send_event(w, now);
			continue;
		}
		if (w->node_pending) {
			uint64_t nx = UINT64_MAX;
			const struct kw_node *n = w->node_pending;
			/* new write failures are news for status.writeErrors */
			bool chg = w->node_wr.ever &&
				   (changed(w, &w->node_wr, n->watts, n->joules, kw_node_hash(n)) ||
				    kw_failures_total(w) != w->node_w_failures);
			double niv = (double)w->o.node_interval_s * 1e9;
			if (due(w, now, &w->node_wr, w->node_next_try_ns, &w->node_skip_until_ns,
				niv * w->st.stretch,
				kube_budget_floor(niv, w->st.stretch, w->o.refresh_intervals), chg,
				&nx)) {
				if (!take_tokens(w, w->node_created ? 1 : 2, now, &next_ns))
					break;
				sent += kw_write_node(w, now);
				continue;
			}
			minu(&next_ns, nx);
		}
		if (w->n_ap && other_ok(w, now)) {
			if (!take_tokens(w, 1, now, &next_ns))
				break;
			other_used(w);
			sent += kw_send_apply(w, now);
			continue;
		}
		s = w->st.budget ? best_due_pod(w, now, &next_ns)
				 : next_due_pod(w, now, &next_ns, &scanned);
		if (!s)
			break;
		if (!take_tokens(w, s->created && s->meta_hash == kw_annot_hash(s->pending) ? 1 : 2,
				 now, &next_ns))
			break;
		sent += kw_write_pod(w, s, now);
	}
	pthread_mutex_unlock(&w->mu);
	if (next_ms)
		*next_ms = next_ns == UINT64_MAX ? UINT64_MAX : (next_ns + NS_PER_MS - 1) / NS_PER_MS;
	return sent;
}
