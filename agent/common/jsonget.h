/* jsonget.h - the one set of getters for a member of a JSON object (jansson).
 *
 * Two kinds, by how a document is trusted:
 *   - strict (jg_str, jg_str_copy, jg_num): custom resources and other input that is
 *     checked. `field` names the value in the error ("spec.zones[0].zone"); a wrong type
 *     is an error, never a default. An absent member and JSON null are the same: absent.
 *   - lenient (jg_str_or, jg_nonempty, jg_num_or): replies read for display or best
 *     effort (the agent's own JSON API, the kubelet's pods, a kubeconfig's optional
 *     fields): a member that is absent or of another type gives the default.
 * o may be NULL or not an object (every member is then absent).
 *
 * Ownership: returned strings are borrowed from the document and valid while it is.
 * Return convention (strict): 0 and the value set; -ENOENT when absent (nothing set
 * except that jg_str sets *out NULL); -EINVAL with e filled when of the wrong type, a
 * string holds a NUL byte, a copy would not fit cap (cap - 1 characters at most) or a
 * number is not finite. No state, no logging; any thread.
 */
#ifndef WATTLET_JSONGET_H
#define WATTLET_JSONGET_H

#include <stddef.h>

#include <jansson.h>

#include "util.h"

/* A string member, borrowed. */
int jg_str(const json_t *o, const char *key, const char *field, const char **out,
	   struct wl_err *e);

/* A string member copied into out (cap bytes, NUL-terminated). */
int jg_str_copy(const json_t *o, const char *key, const char *field, char *out, size_t cap,
		struct wl_err *e);

/* A finite number member (integer or real). */
int jg_num(const json_t *o, const char *key, const char *field, double *out, struct wl_err *e);

/* The string member, or dflt when absent or not a string. */
const char *jg_str_or(const json_t *o, const char *key, const char *dflt);

/* The string member when it is a non-empty string, else NULL. */
const char *jg_nonempty(const json_t *o, const char *key);

/* The number member (integer or real), or dflt when absent, not a number or not finite. */
double jg_num_or(const json_t *o, const char *key, double dflt);

#endif
