/* kube_nodecount.c - node count from GET /api/v1/nodes?limit=1 (kube_nodecount.h). */
#include "kube_nodecount.h"

#include <errno.h>
#include <string.h>
#include <jansson.h>

long kube_nodecount_parse(const char *body, size_t len, struct wl_err *e)
{
	json_error_t je;
	json_t *root = NULL, *items, *meta, *rem, *cont;
	const char *kind;
	long n = -EINVAL;

	if (!body || !len) {
		err_set(e, EINVAL, "node list: empty answer");
		goto cleanup;
	}
	root = json_loadb(body, len, 0, &je);
	if (!json_is_object(root)) {
		err_set(e, EINVAL, "node list: not a JSON object (%s)", root ? "" : je.text);
		goto cleanup;
	}
	kind = json_string_value(json_object_get(root, "kind"));
	items = json_object_get(root, "items");
	if ((kind && strcmp(kind, "NodeList") != 0) || !json_is_array(items)) {
		err_set(e, EINVAL, "node list: expected a NodeList with items, got %s",
			kind ? kind : "an object without kind");
		goto cleanup;
	}
	meta = json_object_get(root, "metadata");
	rem = json_object_get(meta, "remainingItemCount");
	cont = json_object_get(meta, "continue");
	if (rem && (!json_is_integer(rem) || json_integer_value(rem) < 0 ||
		    json_integer_value(rem) > 100000000)) {
		err_set(e, EINVAL, "node list: metadata.remainingItemCount is not a count");
		goto cleanup;
	}
	if (!rem && json_string_length(cont) > 0) {
		n = -ENODATA;
		err_set(e, ENODATA, "node list: more nodes exist but the API server did not say "
				    "how many (no metadata.remainingItemCount)");
		goto cleanup;
	}
	n = (long)json_array_size(items) + (rem ? (long)json_integer_value(rem) : 0);
cleanup:
	json_decref(root);
	return n;
}
