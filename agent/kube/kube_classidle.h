/* kube_classidle.h - idle power shared by the nodes of one hardware class.
 *
 * A node that is busy from its first second cannot learn its own idle power (idle.h
 * falls back to a low percentile of loaded samples: far too high). Nodes of the same
 * hardware draw the same idle power, so an agent whose local estimate is confident
 * publishes it to one cluster-scoped NodeClassIdle object per class, and an agent whose
 * estimate is not confident reads the class's value from there (idle source "class",
 * model/idlesel.h).
 *
 * The class key (ci_class_key): the node label node.kubernetes.io/instance-type when
 * present ("it-<type>"), else "hw-<16 hex>" = a hash of the CPU model, sockets, logical
 * CPUs and RAM (GiB, rounded) read from /proc (ci_hw_read); model.idle_class overrides
 * it. The key is the object's name (a DNS subdomain: lower-case, [a-z0-9.-], <= 63).
 *
 * The object (crds/nodeclassidles.wattlet.dev.yaml):
 *   metadata.name: <class key>
 *   spec.hardware: "<cpu model>; <sockets> sockets; <cpus> cpus; <mem> GiB" (set on create)
 *   status.nodes:  map node name -> { time (RFC 3339), meter (kind),
 *                  zones: map zone -> { watts, samples, source, span, rmse } }
 * at most CI_MAX_NODES entries (the CRD's maxProperties). Each node writes only its own
 * key with a JSON merge patch (RFC 7386) on the status subresource, so writers of
 * different nodes never conflict and no read-modify-write is needed (a 404 creates the
 * object, then patches); a full map makes a new node evict the stalest
 * entry if it is older than max_age, else it does not publish (the class has enough).
 * Reader (ci_merge): per zone, the median of the fresh (time within max_age) confident
 * entries (source learned-fit or learned-low, samples >= CI_MIN_SAMPLES, finite watts
 * >= 0) of the same meter kind.
 *
 * The sync (kube_classidle_new): a thread of its own with its own kube_http handle,
 * so the measurement loop never waits: GET the object by name at start and every
 * refresh_ms (+-20 % jitter), PATCH this node's entry when the local estimate first
 * becomes confident and then at most once per publish_ms (1 h). Never a list or a watch.
 * API cost per node: <= 1 write per publish_ms and 1 GET (<= CI_MAX_NODES entries,
 * ~25 KiB) per refresh_ms.
 *
 * Ownership: kube_classidle_new() takes a kube_config that it owns from then on (a
 * config is single-threaded) and returns an object freed with kube_classidle_free()
 * (NULL-safe; joins the thread). Strings are copied.
 * Return convention: 0 or negative errno with err filled; constructors NULL + err.
 * Nothing here logs: the caller reads kube_classidle_stats() and logs changes.
 */
#ifndef WATTLET_KUBE_CLASSIDLE_H
#define WATTLET_KUBE_CLASSIDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/util.h"
#include "../common/zone.h"
#include "kube_config.h"

#define CI_KEY_MAX 64          /* class key / object name, NUL included */
#define CI_MAX_NODES 32        /* entries per class object (the CRD's maxProperties) */
#define CI_MIN_SAMPLES 60      /* samples behind an entry the reader trusts */
#define CI_NODE_MAX 254        /* node name, NUL included */

/* This node's hardware, as far as idle power depends on it. */
struct ci_hw {
	char cpu_model[128];
	unsigned sockets, cpus;
	unsigned mem_gib;
};

/* Reads /proc/cpuinfo and /proc/meminfo under proc_root. -errno when neither yields
 * a CPU count. */
int ci_hw_read(const char *proc_root, struct ci_hw *hw, struct wl_err *e);

/* The class key into out (cap >= CI_KEY_MAX): override when non-empty (sanitised;
 * -EINVAL when nothing of it is left), else "it-<instance_type>" when instance_type
 * is non-empty, else "hw-<hash of hw>". */
int ci_class_key(const struct ci_hw *hw, const char *instance_type, const char *override,
		 char *out, size_t cap, struct wl_err *e);

/* One zone of one node's entry. */
struct ci_zone {
	double watts;
	uint64_t samples;
	char source[24]; /* idle_source_name() of the estimate: learned-fit / learned-low */
	double span;     /* utilisation span of the fit (0 for learned-low) */
	double rmse;     /* fit residual, W (0 for learned-low) */
};

struct ci_entry {
	char node[CI_NODE_MAX];
	int64_t time_s;  /* CLOCK_REALTIME seconds; 0: unparseable */
	char meter[16];
	uint32_t zone_mask;
	struct ci_zone zone[ZONE_COUNT];
};

/* Parses a NodeClassIdle object (JSON). Entries beyond cap are counted in *n_total
 * but not stored; malformed entries are skipped (counted in *n_bad, may be NULL).
 * -EINVAL when the body is not a JSON object. */
int ci_parse(const char *json, size_t len, struct ci_entry *out, size_t cap, size_t *n,
	     size_t *n_total, size_t *n_bad, struct wl_err *e);

/* Per zone the median of fresh confident entries of meter kind `meter`:
 * w[z] (< 0: none) and used[z] (entries behind it). */
void ci_merge(const struct ci_entry *ent, size_t n, const char *meter, int64_t now_s,
	      int64_t max_age_s, double w[ZONE_COUNT], unsigned used[ZONE_COUNT]);

/* Whether `node` may publish into an object holding `ent` (n parsed of `total`
 * entries): 0 yes (*evict: NULL, or the node whose entry to remove in the same patch:
 * the stalest, when the object is full, this node has no entry and that one is older
 * than max_age_s); 1 no (full of fresh entries). *evict points into ent. */
int ci_evict_pick(const struct ci_entry *ent, size_t n, size_t total, const char *node,
		  int64_t now_s, int64_t max_age_s, const char **evict);

/* The merge-patch body for this node's entry (malloc'ed, caller frees), with
 * `evict` (may be NULL) set to null in the same patch. NULL on ENOMEM. */
char *ci_patch_body(const struct ci_entry *mine, const char *evict);
/* The full object for a create (POST). NULL on ENOMEM. */
char *ci_create_body(const char *key, const struct ci_hw *hw, const struct ci_entry *mine);

/* The sync thread. */
struct ci_opts {
	const char *node;        /* this node's name */
	const char *key;         /* class key (ci_class_key) */
	const struct ci_hw *hw;  /* for spec.hardware on create */
	uint64_t refresh_ms;     /* 0: 300000 */
	uint64_t publish_ms;     /* 0: 3600000 */
	int64_t max_age_s;       /* 0: 7 days */
};

struct ci_stats {
	uint64_t gets, get_failures, publishes, publish_failures, evictions, full;
	bool found;          /* the last GET found the object */
	size_t entries;      /* in it */
	char last_error[WL_ERR_MAX];
	uint64_t errors;     /* failures so far (gets + publishes) */
};

struct kube_classidle;

struct kube_classidle *kube_classidle_new(struct kube_config *kc, const struct ci_opts *o,
					  struct wl_err *e);
void kube_classidle_free(struct kube_classidle *ci);

/* This node's confident local estimate (zone_mask 0: none; node, time filled here).
 * Copies it; the thread publishes when due. No I/O. */
void kube_classidle_offer(struct kube_classidle *ci, const struct ci_entry *local);

/* The class's idle per zone (< 0: none) as of the last successful GET, for meter kind
 * `meter`, with `used` entries behind each. No I/O. */
void kube_classidle_value(struct kube_classidle *ci, const char *meter, double w[ZONE_COUNT],
			  unsigned used[ZONE_COUNT]);

void kube_classidle_stats(struct kube_classidle *ci, struct ci_stats *out);

#endif
