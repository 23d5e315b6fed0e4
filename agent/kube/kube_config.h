/* kube_config.h - where the Kubernetes API is and how to authenticate to it.
 *
 * Two sources:
 *  - in-cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, and the service
 *    account mount (default /var/run/secrets/kubernetes.io/serviceaccount): ca.crt,
 *    token, namespace.
 *  - kubeconfig (running outside a cluster): the named context or current-context,
 *    its cluster (server, certificate-authority / certificate-authority-data) and user
 *    (client-certificate(-data) + client-key(-data), token, tokenFile). Relative paths
 *    are resolved against the kubeconfig's directory. Inline (-data) PEM is base64
 *    decoded and kept in memory; it is handed to curl as blobs (CURLOPT_*_BLOB), never
 *    written to disk.
 *    Rejected with a clear error: exec and auth-provider plugins, username/password,
 *    and insecure-skip-tls-verify: true unless opts.allow_insecure is set (an explicit
 *    opt-out; even then it is reported by kube_config_insecure()).
 *
 * Token rotation: bound service account tokens rotate (kubelet rewrites the file
 * about every 48 minutes of its lifetime). kube_config_token() stat()s the token file
 * on every call and re-reads it when its inode, size or mtime changed, and anyway
 * every opts.token_reread_s seconds (default 60).
 *
 * Threading: a kube_config is used from one thread (the one that owns the HTTP
 * handles). Ownership: the caller owns the config; kube_config_free accepts NULL.
 * Constructors return NULL and fill e on failure. Nothing here logs.
 */
#ifndef WATTLET_KUBE_CONFIG_H
#define WATTLET_KUBE_CONFIG_H

#include <stdbool.h>
#include <curl/curl.h>

#include "../common/util.h"

#define KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config_opts {
	const char *kubeconfig;	 /* explicit kubeconfig path, or NULL */
	const char *context;	 /* kubeconfig context to use; NULL: current-context */
	const char *sa_dir;	 /* NULL: KUBE_SA_DIR */
	unsigned token_reread_s; /* 0: 60 */
	bool allow_insecure;	 /* accept insecure-skip-tls-verify (off by default) */
};

struct kube_config;

/* In-cluster config. Needs KUBERNETES_SERVICE_HOST and _PORT, a readable ca.crt and a
 * non-empty token; namespace defaults to "default" when its file is missing. */
struct kube_config *kube_config_in_cluster(const struct kube_config_opts *o, struct wl_err *e);

/* Config from a kubeconfig file (max 1 MiB). */
struct kube_config *kube_config_from_file(const char *path, const struct kube_config_opts *o,
					  struct wl_err *e);

/* Picks a source: o->kubeconfig if set; else in-cluster if KUBERNETES_SERVICE_HOST is
 * set; else $KUBECONFIG (first entry of a ':' list); else $HOME/.kube/config. */
struct kube_config *kube_config_load(const struct kube_config_opts *o, struct wl_err *e);

void kube_config_free(struct kube_config *c);

/* "https://host:port" without a trailing slash. Valid for the config's lifetime. */
const char *kube_config_server(const struct kube_config *c);
/* Namespace of the context / service account ("default" when unset). */
const char *kube_config_namespace(const struct kube_config *c);
/* true when in-cluster. */
bool kube_config_in_cluster_mode(const struct kube_config *c);
/* true when TLS verification is disabled by the explicit opt-out. */
bool kube_config_insecure(const struct kube_config *c);

/* Bearer token, re-read from its file when it changed (see above). Returns a string
 * owned by c, valid until the next call on c; "" when the config authenticates with a
 * client certificate only. NULL on error (token file vanished or empty) with e set;
 * on a failed re-read after a good one the last good token is returned instead. */
const char *kube_config_token(struct kube_config *c, struct wl_err *e);

/* Sets the TLS options of an easy handle: CA (file or blob), peer and host
 * verification on, client certificate and key when configured. 0 or -errno. */
int kube_config_apply_tls(const struct kube_config *c, CURL *h, struct wl_err *e);

/* Decodes standard base64 (whitespace ignored, '=' padding optional). *out is
 * malloc'ed (caller frees), NUL-terminated for convenience. -EINVAL on bad input,
 * -E2BIG above 4 MiB of input. Exposed for tests. */
int kube_base64_decode(const char *in, unsigned char **out, size_t *outlen);

#endif
