/* yamllimit.h - limits for untrusted YAML read with libyaml: nesting depth and
 * duplicate mapping keys.
 *
 * Nesting: libyaml's scanner walks its whole stack of possible simple keys on every
 * token, so a document nested N levels deep costs O(N^2) in yaml_parser_load()
 * (measured: 16k flow levels 0.9 s, 200k levels > 20 s). ylim_check() runs the
 * event parser over the text first and stops at the first collection nested deeper
 * than the limit; the parser emits events at most about 1 KiB (libyaml's simple-key
 * window) behind its input, so a document nested too deep is refused after reading
 * only its first levels, whatever its length.
 *
 * Duplicate keys: YAML forbids two equal keys in one mapping; libyaml does not check.
 * ylim_mapping_dup() finds them in O(n log n) per mapping (sorting, not pairwise), and
 * ylim_document_dup() in every mapping of a loaded document, each node visited once
 * (so aliases cannot multiply the work). Scalar keys are compared by their bytes;
 * non-scalar keys are ignored here (callers reject them by their own rules).
 *
 * Return convention: 0 or a negative errno; the functions that find something return
 * 1 with the marks/nodes filled. No allocation survives a call. Nothing here logs.
 */
#ifndef WATTLET_YAMLLIMIT_H
#define WATTLET_YAMLLIMIT_H

#include <stddef.h>

#include <yaml.h>

#define YLIM_DEPTH_MAX 64    /* nesting levels (mappings + sequences) allowed */
#define YLIM_ANCHORS_MAX 256 /* anchors (&name) allowed in one text */

enum { YLIM_OK, YLIM_TOO_DEEP, YLIM_TOO_MANY_ANCHORS };

/* Parses every document of text (len bytes) as events, before any tree is built.
 * Returns YLIM_OK when within the limits, and also on a syntax error (the real load
 * reports it, and reaches it at no greater cost); YLIM_TOO_DEEP with *mark (may be
 * NULL) at the start of the first collection nested deeper than YLIM_DEPTH_MAX;
 * YLIM_TOO_MANY_ANCHORS at the anchored node past YLIM_ANCHORS_MAX (libyaml resolves
 * every alias by a linear search of the anchors: 20k anchors and aliases took 1.7 s);
 * -ENOMEM. */
int ylim_check(const char *text, size_t len, yaml_mark_t *mark);
/* "nested deeper than 64 levels", "more than 256 anchors" for the codes above. */
const char *ylim_reason(int code);

/* Duplicate scalar keys of one mapping node. Returns 0 when there are none; 1 with
 * *dup the key whose earlier copy comes first in the text (the second occurrence) and
 * *first that earlier copy; -EINVAL when map is not a mapping; -ENOMEM. */
int ylim_mapping_dup(yaml_document_t *doc, yaml_node_t *map, yaml_node_t **dup,
		     yaml_node_t **first);

/* ylim_mapping_dup() over every mapping node of doc; on 1, *dup is the duplicate that
 * comes first in the text. */
int ylim_document_dup(yaml_document_t *doc, yaml_node_t **dup, yaml_node_t **first);

#endif
