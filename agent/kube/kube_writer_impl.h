/* kube_writer_impl.h - internals shared by the writer's files (not a public interface;
 * the face is kube_writer.h).
 *
 * One struct kube_writer, split by job:
 *  - kube_writer.c        the public calls: offers (deep copy under the mutex, no I/O),
 *                         the pod table, the thread, new/free;
 *  - kube_writer_snap.c   the deep copies of offered snapshots (one allocation each)
 *                         and the change hashes;
 *  - kube_writer_json.c   the request bodies (server-side apply of PodEnergy /
 *                         NodeEnergy metadata+spec and status, Events) and paths;
 *  - kube_writer_send.c   one write each: a request, its outcome, the retry;
 *  - kube_writer_pace.c   what is due when, the token bucket, the cluster write budget
 *                         and kube_writer_run_once();
 *  - kube_writer_stats.c  failure reasons and resources, the error text, the rates,
 *                         kube_writer_stats().
 * Locking: o, field_manager, node_name and http are set by kube_writer_new() and only
 * read after it (http by whoever runs kube_writer_run_once()); every other field of
 * struct kube_writer is guarded by mu. A function marked "lock held" is called and
 * returns with mu held; the send functions drop it around their requests and take it
 * again before they touch the writer (a pointer into the pod table is not valid across
 * that gap: they find their pod again by uid). Nothing here logs; returns are as
 * kube_writer.h says (0 or -errno) unless a comment says otherwise.
 */
#ifndef WATTLET_KUBE_WRITER_IMPL_H
#define WATTLET_KUBE_WRITER_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/worker.h"
#include "kube_backoff.h"
#include "kube_http.h"
#include "kube_writer.h"

#define APPLY_CT "application/apply-patch+yaml"
#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
#define RECENT_EVENTS 64
#define MAX_PATH_LEN 2048

struct strbuf;

/* What was last written to one object's status (a pod's or the node's): what a new
 * snapshot is compared with to decide whether it is worth a write. */
struct kw_written {
	bool ever;	/* status applied at least once */
	uint64_t at_ns; /* when it was last applied */
	double watts, joules;
	uint64_t hash;
};

/* One tracked pod. Heap-allocated so the table can move pointers around while the
 * writer thread works on a snapshot it took out (it finds the pod again by uid). */
struct pslot {
	char uid[72];
	struct kw_pod *pending; /* newest unwritten snapshot (one allocation), or NULL */
	bool created;		/* metadata + spec applied */
	struct kw_written wr;
	uint64_t next_try_ns, skip_until_ns;
	uint64_t meta_hash; /* budget annotation as last applied with metadata (0: none) */
	unsigned iv_s;	    /* interval counted in the budget's demand (0: not yet) */
};

/* One pending kube_writer_offer_status body (one allocation: strings follow). */
struct apply {
	const char *key, *path, *fm, *body;
};

struct cond_state {
	char type[80];
	char status[16];
	uint64_t since_ns;
};

struct recent_event {
	uint64_t key;
	uint64_t at_ns;
};

struct rate_ring {
	uint64_t sec[60];
	uint32_t n[60];
};

struct kube_writer {
	struct kube_writer_opts o;
	char field_manager[64];
	char node_name[254];
	struct kube_http *http;
	struct kube_backoff bo;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct wl_worker wk; /* the thread unless manual; sleeps on cv */
	bool kicked;

	/* pods: open addressing (linear probing, backward-shift deletion) */
	struct pslot **tab;
	size_t tab_cap, n_pods;
	size_t cursor;

	/* node */
	struct kw_node *node_pending;
	char node_key[254];
	bool node_created;
	struct kw_written node_wr;
	uint64_t node_next_try_ns, node_skip_until_ns;
	uint64_t node_w_failures; /* failures_total() when the node was last written */
	struct cond_state conds[KW_MAX_CONDITIONS];
	size_t n_conds;

	/* generic status applies, oldest first */
	struct apply **ap;
	size_t n_ap;

	/* events */
	struct kw_event **evq;
	size_t evq_head, evq_len;
	struct recent_event recent[RECENT_EVENTS];
	size_t recent_next;

	/* rate limit and backoff */
	double tokens;
	uint64_t tokens_at_ns;
	uint64_t backoff_until_ns;
	bool stalled; /* rate_limited already counted for the current wait */

	struct rate_ring writes_ring, req_ring;
	struct kube_writer_stats st;

	/* cluster write budget (kube_budget.h); rate and burst_cap are the bucket's */
	double rate, burst_cap;
	double pod_demand;	     /* sum of 1/interval_s over tracked pods */
	uint64_t nodes_at_ns;	     /* when the count in st.nodes was learned (API) */
	uint64_t nodes_next_ns;	     /* next query */
	uint64_t rng;
	double other_rate;	     /* Events and status applies sent/s: exponentially */
	uint64_t other_at_ns;	     /* weighted, as of other_at_ns (kw_other_add) */
	double otokens;		     /* their own bucket: half the share, depth 1 */
	uint64_t otokens_at_ns;
};

/* Outcome of one request. */
enum res { R_OK, R_NOTFOUND, R_INVALID, R_OTHER4XX, R_RETRY };

/* The writer's failures as the NodeEnergy shows them (status.writeErrors). */
struct werr_view {
	uint64_t total;
	uint64_t at_ns;
	const char *resource, *reason;
	char message[256];
};

/* ---- kube_writer.c ---- */

/* The writer's clock: opts.now_ns, else mono_ns(). */
uint64_t kw_now(const struct kube_writer *w);
/* The pod tracked under uid, or NULL; *idx (may be NULL) its slot (lock held). */
struct pslot *kw_tab_find(const struct kube_writer *w, const char *uid, size_t *idx);

/* ---- kube_writer_snap.c ---- */

/* FNV-1a of s (NULL hashes as "\x01") plus a separator, continuing from h. */
uint64_t kw_fnv(uint64_t h, const char *s);
uint64_t kw_fnv_u64(uint64_t h, uint64_t v);
/* Copies s (NULL: "") into dst, cut to cap - 1 bytes, always terminated. */
void kw_copy_str(char *dst, size_t cap, const char *s);
/* Deep copies in one allocation each (the caller frees it with free()), with lists
 * cut to the KW_MAX_* caps; kw_pod_dup() sets *cut to the containers left out. NULL:
 * out of memory. */
struct kw_pod *kw_pod_dup(const struct kw_pod *s, size_t *cut);
struct kw_node *kw_node_dup(const struct kw_node *s);
struct kw_event *kw_event_dup(const struct kw_event *s);
/* The budget annotation as a hash; 0 for none. */
uint64_t kw_annot_hash(const struct kw_pod *p);
/* Hashes of what a write carries besides the numbers (text fields, zones, containers,
 * meters, conditions): a change forces a write. */
uint64_t kw_pod_hash(const struct kw_pod *p);
uint64_t kw_node_hash(const struct kw_node *n);

/* ---- kube_writer_json.c ---- */

/* s is neither NULL nor "". */
bool kw_nonempty(const char *s);
/* Apply bodies (malloc'd JSON text, the caller frees; NULL: not writable or out of
 * memory). which 0: metadata + spec, 1: status (with status.owner and status.display),
 * 2: status without those (CRDs older than them). omitted (may be NULL) counts values
 * left out (not finite, negative, outside a CRD enum). refresh_s / max_refresh_s:
 * status.refreshIntervalSeconds / maxRefreshIntervalSeconds (<= 0: left out). we (may
 * be NULL): status.writeErrors. */
char *kw_pod_json(const struct kw_pod *p, int which, uint64_t *omitted, double refresh_s,
		  double max_refresh_s);
char *kw_node_json(const struct kw_node *n, int which, const struct werr_view *we,
		   uint64_t *omitted);
/* A core/v1 Event about ev, reported by node (may be "") in namespace ns. */
char *kw_event_json(const struct kw_event *ev, const char *node, const char *ns);
/* Appends the server-side apply query ?fieldManager=<fm, escaped>&force=true to sb;
 * 0 or the strbuf's error (sticky, strbuf.h). */
int kw_apply_query(struct strbuf *sb, const char *fm);
/* The server-side apply path of a wattlet.dev object (ns NULL: cluster scoped),
 * /status with status, ?fieldManager=fm&force=true. 0 or -ENAMETOOLONG (cap). */
int kw_object_path(char *out, size_t cap, const char *ns, const char *plural,
		   const char *name, bool status, const char *fm);

/* ---- kube_writer_send.c: one write each (lock held on entry and exit, dropped around
 * the requests); kw_write_pod/_node return the number of requests sent,
 * kw_send_event/_apply 1 (the item taken off its queue) ---- */

/* The pod's pending snapshot (taken; s may be gone from the table on return). */
int kw_write_pod(struct kube_writer *w, struct pslot *s, uint64_t now);
/* node_pending (taken). */
int kw_write_node(struct kube_writer *w, uint64_t now);
/* The oldest queued Event (dropped when it fails). */
int kw_send_event(struct kube_writer *w, uint64_t now);
/* The oldest pending status apply (kept first for a retry after a transport error or
 * 5xx). */
int kw_send_apply(struct kube_writer *w, uint64_t now);

/* ---- kube_writer_pace.c ---- */

/* The next of the writer's pseudo-random numbers in [0, 1) (xorshift on w->rng, seeded
 * from the node name and the start time: agents started together differ). */
double kw_urand01(struct kube_writer *w);
/* A pod's interval in ns (0: KW_DEFAULT_INTERVAL_S). */
double kw_interval_ns(unsigned iv_s);
/* Counts one Event or status apply sent in the rate set aside for them. */
void kw_other_add(struct kube_writer *w, uint64_t now);
/* Share, stretch and the bucket from the budget, the node count and the demand now
 * (lock held). Budget off: nothing changes. */
void kw_budget_update(struct kube_writer *w, uint64_t now);

/* ---- kube_writer_stats.c ---- */

/* Counts one request or write in a ring of the last 60 s. */
void kw_ring_add(struct rate_ring *r, uint64_t now_ns);
/* st.last_error = "what: msg" (lock held). */
void kw_set_err_locked(struct kube_writer *w, const char *what, const char *msg);
/* All failures, every resource and reason (lock held). */
uint64_t kw_failures_total(const struct kube_writer *w);
/* The failures as status.writeErrors shows them (lock held). */
void kw_werr_snapshot(const struct kube_writer *w, struct werr_view *v);

#endif
