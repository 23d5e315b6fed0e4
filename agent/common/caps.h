/* caps.h - every size cap on what the agent reads, buffers or sends, named in one place.
 *
 * Each cap bounds memory against bad or hostile input (a huge file, an endless response, a
 * runaway watch line). Modules keep their own short names for readability, but define them
 * from these, so a reader can see and change all the bounds here. Values are bytes.
 * Anything over a cap is refused with an error naming it; nothing is silently truncated
 * unless the module's header says so.
 */
#ifndef WATTLET_COMMON_CAPS_H
#define WATTLET_COMMON_CAPS_H

#include <stddef.h>

/* Files a person writes: the config, a kubeconfig, a PowerModel file; also /proc/cpuinfo. */
#define WL_CAP_TEXT_FILE ((size_t)1 << 20)
/* A service-account token or credentials file. */
#define WL_CAP_TOKEN_FILE ((size_t)64 << 10)
/* One Kubernetes object sent or read by name (status patch, NodeClassIdle, TokenReview). */
#define WL_CAP_API_OBJECT ((size_t)1 << 20)
/* An answer of the API server to a status write (the object it returns, with managed fields). */
#define WL_CAP_API_ANSWER ((size_t)4 << 20)
/* Any other API or kubelet response body (a page of a list; kubelet /pods). */
#define WL_CAP_API_BODY ((size_t)64 << 20)
/* One line of a watch stream (one event: an object, however large the API server allows). */
#define WL_CAP_WATCH_LINE ((size_t)16 << 20)
/* The body of an error answer kept for the message. */
#define WL_CAP_ERROR_BODY ((size_t)64 << 10)
/* One response of the agent's own HTTP server (/metrics, /api/v1/workloads), and what
 * `wattlet top` and `validate` accept from it. */
#define WL_CAP_HTTP_BODY ((size_t)64 << 20)
/* A ledger checkpoint, written or read. */
#define WL_CAP_CHECKPOINT ((size_t)256 << 20)
/* A reusable scratch buffer (one JSON report, one status document). */
#define WL_CAP_SCRATCH ((size_t)1 << 20)
/* Memory for one walk of the cgroup tree (names of every cgroup on the host). */
#define WL_CAP_CGROUP_WALK ((size_t)64 << 20)

#endif
