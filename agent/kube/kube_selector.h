/* kube_selector.h - metav1.LabelSelector matching (PowerModel nodeSelector,
 * EnergyPolicy podSelector).
 *
 * A selector is parsed once from its JSON form and then matched against label maps
 * (JSON objects of string -> string, as in metadata.labels). Semantics follow
 * Kubernetes: all terms are ANDed; matchLabels k=v; matchExpressions with operators
 *   In (key present and value in values), NotIn (key absent, or value not in values),
 *   Exists (key present), DoesNotExist (key absent).
 * In/NotIn need a non-empty values list, Exists/DoesNotExist an empty one.
 * An empty selector ({}) and an absent one (NULL / JSON null) both match everything,
 * as docs/api.md specifies for nodeSelector and podSelector.
 *
 * Ownership: kube_selector_parse copies what it needs; the caller keeps the JSON.
 * kube_selector_free accepts NULL. No I/O, no logging.
 */
#ifndef WATTLET_KUBE_SELECTOR_H
#define WATTLET_KUBE_SELECTOR_H

#include <stdbool.h>
#include <jansson.h>

#include "../common/util.h"

struct kube_selector;

/* NULL on an invalid selector (reason in e: unknown operator, values present for
 * Exists, wrong JSON types, more than 256 terms, ...) or on allocation failure. */
struct kube_selector *kube_selector_parse(const json_t *sel, struct wl_err *e);
void kube_selector_free(struct kube_selector *s);

/* labels: a JSON object of strings, or NULL for "no labels". Non-string label values
 * never match a value (but count as present for Exists/DoesNotExist). */
bool kube_selector_matches(const struct kube_selector *s, const json_t *labels);

/* Number of terms (matchLabels entries + matchExpressions): the "most specific
 * selector" tie-break of PowerModel selection. */
int kube_selector_terms(const struct kube_selector *s);

#endif
