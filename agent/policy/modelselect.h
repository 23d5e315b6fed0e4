/* modelselect.h - the cluster's PowerModels (from list + watch) and which one this node
 * uses (docs/api.md "Selection on a node").
 *
 * Each PowerModel object (JSON as the API server returns it, managedFields and all) is
 * read into powermodel.h's pm_spec_in and validated by pm_from_spec - the same checks
 * as a PowerModel YAML file - plus the JSON types, unknown fields under spec, and
 * spec.nodeSelector (kube_selector). Invalid models are kept with their error so the
 * daemon can report a ModelValid=False condition and an Event.
 *
 * model_select(): among the models whose nodeSelector matches the node's labels
 * (absent or {} matches every node), the highest spec.priority wins; ties go to the
 * most selector terms (matchLabels entries + matchExpressions), then to the
 * alphabetically first name. None matching: the built-in ratio model (model NULL,
 * name "builtin-ratio"). An invalid model takes part in the selection when its
 * nodeSelector and priority can be read (priority outside 0..1000 counts as clamped);
 * an invalid model whose selector can not be read selects no node.
 * When the winner is invalid, the set answers with the model it last returned as valid
 * (a copy, so an invalid update of that same model does not touch it), or the built-in
 * model when it had none, with invalid=true and a reason naming the model and the
 * error. Returning the built-in model because nothing matches counts as "applied", so a
 * later invalid winner falls back to built-in, not to a model no longer selected.
 *
 * Ownership: the set copies what it needs from the JSON. Pointers in a model_choice are
 * valid until the next call on the set that modifies it (upsert/remove/end_sync/select/
 * free). Not thread-safe. Return convention: 0 or negative errno, reason in wl_err.
 * Nothing here logs.
 */
#ifndef WATTLET_MODELSELECT_H
#define WATTLET_MODELSELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "../common/util.h"
#include "../model/powermodel.h"

#define MS_BUILTIN_NAME "builtin-ratio"
#define MS_SET_MAX 4096 /* models kept; more are refused with -ENOSPC */

/* One PowerModel object -> validated model. 0, or -EINVAL with the field named in e. */
int model_from_json(const json_t *obj, struct powermodel *out, struct wl_err *e);

struct model_set;

struct model_entry_info {
	const char *name, *uid;
	int64_t generation;            /* metadata.generation, 0 when absent */
	bool valid;
	const struct powermodel *model; /* the parsed model when valid, else NULL */
	const char *error;              /* "" when valid */
};

struct model_choice {
	const struct powermodel *model; /* NULL = built-in ratio model */
	const char *name;               /* model->name or MS_BUILTIN_NAME */
	const char *selected;           /* the PowerModel that won the selection, "" none */
	bool invalid;                   /* selected is invalid; model is the fallback */
	bool changed;                   /* model differs from the previous select's */
	char reason[WL_ERR_MAX];        /* why this model (for logs, conditions, Events) */
};

struct model_set *model_set_new(void);
void model_set_free(struct model_set *s);

/* Adds or replaces (by metadata.uid, else metadata.name) a PowerModel. 0 when valid;
 * -EINVAL when invalid (kept, with the error, when its name is readable); -ENOSPC,
 * -ENOMEM. */
int model_set_upsert(struct model_set *s, const json_t *obj, struct wl_err *e);
/* Removes the model with obj's uid (else name). -ENOENT unknown, -EINVAL no id. */
int model_set_remove(struct model_set *s, const json_t *obj);
/* Relist: as kube_pods' begin/end sync. */
void model_set_begin_sync(struct model_set *s);
void model_set_end_sync(struct model_set *s);

size_t model_set_count(const struct model_set *s);
int model_set_at(const struct model_set *s, size_t i, struct model_entry_info *out);

/* Selects the model for a node with node_labels (metadata.labels object, NULL = no
 * labels). 0, or -EINVAL on NULL arguments. */
int model_select(struct model_set *s, const json_t *node_labels, struct model_choice *out);

#endif
