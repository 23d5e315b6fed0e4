/* fuzz_authn_review.c - the API server's answers to the agent's token reviews
 * (kube_authn_parse_tokenreview, kube_authn_parse_sar) and the SubjectAccessReview
 * built from a parsed user (kube_authn_sar_body).
 * Properties: an authenticated review has a non-empty username, and the
 * SubjectAccessReview built for it is JSON carrying that user and the path; a review
 * that is not authenticated (or refused) leaves the user empty. */
#include "fuzz_common.h"

#include <jansson.h>

#include "agent/kube/kube_authn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kube_authn_user u;
	struct wl_err e = { "" };
	bool ok = true, allowed = true;
	int rc = kube_authn_parse_tokenreview((const char *)data, size, &ok, &u, &e);

	if (rc == 0 && ok) {
		struct strbuf sb;
		json_t *doc;

		FZ_CHECK(u.username && *u.username, "authenticated without a username");
		strbuf_init(&sb, 4u << 20);
		FZ_CHECK(kube_authn_sar_body(&sb, &u, "/metrics", "get") == 0,
			 "no SubjectAccessReview for user %s", u.username);
		doc = json_loadb(sb.buf, sb.len, 0, NULL);
		FZ_CHECK(doc != NULL, "SubjectAccessReview is not JSON: %s", sb.buf);
		FZ_CHECK(strcmp(json_string_value(json_object_get(json_object_get(doc, "spec"),
								   "user")), u.username) == 0,
			 "user changed");
		json_decref(doc);
		strbuf_release(&sb);
		kube_authn_user_release(&u);
	} else {
		FZ_CHECK(!ok && !u.username && !u.groups_json, "refused review left a user");
	}
	rc = kube_authn_parse_sar((const char *)data, size, &allowed, &e);
	if (rc != 0)
		FZ_CHECK(!allowed, "a refused SubjectAccessReview allowed");
	return 0;
}
