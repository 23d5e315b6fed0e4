/* kube_nodecount.h - the cluster's node count from one cheap list request.
 *
 * GET KUBE_NODECOUNT_PATH asks the API server for at most one Node. It answers with
 * that item and, as more exist, metadata.continue and metadata.remainingItemCount
 * (the number of items after this page; the API server computes it for lists
 * without label or field selectors). The count is len(items) + remainingItemCount.
 * The request is served by etcd with a limit of 1 (no resourceVersion: a consistent
 * read): one object on the wire, whatever the cluster's size. RBAC: nodes list.
 * Pure parsing, nothing logs; the caller does the request.
 */
#ifndef WATTLET_KUBE_NODECOUNT_H
#define WATTLET_KUBE_NODECOUNT_H

#include <stddef.h>

#include "../common/util.h"

#define KUBE_NODECOUNT_PATH "/api/v1/nodes?limit=1"

/* Parses the answer (len bytes of JSON, not necessarily terminated). Returns the
 * node count (>= 0) or -errno with e filled: -EINVAL (not JSON, not a list, items not
 * an array, remainingItemCount not a non-negative integer), -ENODATA (more nodes exist,
 * metadata.continue is set, but the server did not say how many). */
long kube_nodecount_parse(const char *body, size_t len, struct wl_err *e);

#endif
