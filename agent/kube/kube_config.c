#include "../common/caps.h"
#include "kube_config.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>
#include <jansson.h>

#include "../common/jsonget.h"
#include "../common/strbuf.h"
#include "../common/yamllimit.h"

#define KC_MAX_FILE WL_CAP_TEXT_FILE
#define KC_MAX_TOKEN WL_CAP_TOKEN_FILE
#define KC_MAX_B64 (4 * 1024 * 1024)
#define KC_YAML_DEPTH 64
#define KC_YAML_NODES 100000 /* JSON values a kubeconfig may expand to (aliases included) */

/* A PEM given as a path or as bytes. */
struct pem_src {
	char *path;
	unsigned char *data;
	size_t len;
};

struct kube_config {
	char *server;
	char *ns;
	bool in_cluster;
	bool insecure;
	struct pem_src ca, cert, key;
	char *static_token; /* kubeconfig "token" */
	char *token_path;   /* SA token or kubeconfig tokenFile */
	char *token;	    /* last good token read from token_path */
	struct stat token_st;
	uint64_t token_read_ns;
	unsigned token_reread_s;
};

static void pem_release(struct pem_src *p)
{
	free(p->path);
	free(p->data);
	memset(p, 0, sizeof(*p));
}

/* Frees a secret, clearing it first. */
static void wipe(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void kube_config_free(struct kube_config *c)
{
	if (!c)
		return;
	free(c->server);
	free(c->ns);
	pem_release(&c->ca);
	pem_release(&c->cert);
	pem_release(&c->key);
	wipe(c->static_token);
	free(c->token_path);
	wipe(c->token);
	free(c);
}

static struct kube_config *config_new(const struct kube_config_opts *o)
{
	struct kube_config *c = calloc(1, sizeof(*c));
	if (c)
		c->token_reread_s = o && o->token_reread_s ? o->token_reread_s : 60;
	return c;
}

/* ---- base64 ---------------------------------------------------------------- */

static int b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int kube_base64_decode(const char *in, unsigned char **out, size_t *outlen)
{
	size_t n, o = 0, q = 0, pad = 0;
	unsigned char *buf;
	unsigned acc = 0;

	if (!in || !out || !outlen)
		return -EINVAL;
	n = strlen(in);
	if (n > KC_MAX_B64)
		return -E2BIG;
	buf = malloc(n / 4 * 3 + 4);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];
		int v;
		if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
			continue;
		if (ch == '=') {
			pad++;
			continue;
		}
		v = b64_val(ch);
		if (v < 0 || pad) /* garbage, or data after padding */
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		if (++q == 4) {
			buf[o++] = (unsigned char)(acc >> 16);
			buf[o++] = (unsigned char)(acc >> 8);
			buf[o++] = (unsigned char)acc;
			acc = 0;
			q = 0;
		}
	}
	if (q == 1 || pad > 2)
		goto bad;
	if (q == 2) {
		buf[o++] = (unsigned char)(acc >> 4);
	} else if (q == 3) {
		buf[o++] = (unsigned char)(acc >> 10);
		buf[o++] = (unsigned char)(acc >> 2);
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/* ---- small helpers ----------------------------------------------------------- */


/* Reads a small text file into a malloc'ed, whitespace-trimmed string. */
static int slurp_trimmed(const char *path, size_t cap, char **out, struct wl_err *e)
{
	char *buf = malloc(cap);
	size_t len = 0;
	int err;

	if (!buf)
		return err_set(e, ENOMEM, "out of memory");
	err = read_file(path, buf, cap, &len);
	if (err) {
		free(buf);
		return err_set(e, -err, "%s: %s", path, strerror(-err));
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		buf[--len] = '\0';
	*out = buf;
	return 0;
}

static int check_readable(const char *what, const char *path, struct wl_err *e)
{
	if (access(path, R_OK) != 0)
		return err_set(e, errno, "%s %s: %s", what, path, strerror(errno));
	return 0;
}

/* host may be an IPv6 literal: bracket it. */
static int make_server(struct kube_config *c, const char *host, const char *port,
		       struct wl_err *e)
{
	struct strbuf sb;
	int err;

	strbuf_init(&sb, 1024);
	if (strchr(host, ':') && host[0] != '[')
		err = strbuf_addf(&sb, "https://[%s]:%s", host, port);
	else
		err = strbuf_addf(&sb, "https://%s:%s", host, port);
	if (err) {
		strbuf_release(&sb);
		return err_set(e, -err, "server address too long");
	}
	c->server = sb.buf;
	return 0;
}

/* ---- in-cluster ------------------------------------------------------------- */

struct kube_config *kube_config_in_cluster(const struct kube_config_opts *o, struct wl_err *e)
{
	const char *dir = o && o->sa_dir ? o->sa_dir : KUBE_SA_DIR;
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	struct kube_config *c = config_new(o);
	char path[PATH_MAX];
	char *ns = NULL;
	int err = 0;

	if (!c) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	c->in_cluster = true;
	if (!host || !*host || !port || !*port) {
		err = err_set(e, ENOENT,
			      "not in a cluster: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset");
		goto cleanup;
	}
	err = make_server(c, host, port, e);
	if (err)
		goto cleanup;
	if (path_join(path, sizeof(path), dir, "ca.crt") ||
	    !(c->ca.path = strdup(path))) {
		err = err_set(e, ENAMETOOLONG, "service account dir path too long");
		goto cleanup;
	}
	err = check_readable("service account CA", path, e);
	if (err)
		goto cleanup;
	if (path_join(path, sizeof(path), dir, "token") || !(c->token_path = strdup(path))) {
		err = err_set(e, ENAMETOOLONG, "service account dir path too long");
		goto cleanup;
	}
	if (!kube_config_token(c, e)) {
		err = -EINVAL;
		goto cleanup;
	}
	if (path_join(path, sizeof(path), dir, "namespace") == 0 &&
	    slurp_trimmed(path, 256, &ns, NULL) == 0 && *ns)
		c->ns = ns;
	else
		free(ns);
	if (!c->ns && !(c->ns = strdup("default")))
		err = err_set(e, ENOMEM, "out of memory");
cleanup:
	if (err) {
		kube_config_free(c);
		return NULL;
	}
	return c;
}

/* ---- kubeconfig: YAML -> JSON tree ------------------------------------------ */

/* *budget counts the JSON values still allowed: aliases make one YAML node appear many
 * times (ten aliases a level multiply by ten a level), so the tree built is bounded by
 * this count, not by the text's size. */
static json_t *yaml_to_json(yaml_document_t *doc, yaml_node_t *n, int depth, size_t *budget)
{
	json_t *j = NULL;

	if (!n || depth > KC_YAML_DEPTH || *budget == 0)
		return NULL;
	(*budget)--;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return json_stringn((const char *)n->data.scalar.value, n->data.scalar.length);
	case YAML_SEQUENCE_NODE:
		j = json_array();
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     j && it < n->data.sequence.items.top; it++) {
			json_t *v = yaml_to_json(doc, yaml_document_get_node(doc, *it), depth + 1,
						 budget);
			if (!v || json_array_append_new(j, v)) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case YAML_MAPPING_NODE:
		j = json_object();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
		     j && p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);
			json_t *v;
			if (!k || k->type != YAML_SCALAR_NODE) {
				json_decref(j);
				return NULL;
			}
			v = yaml_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1, budget);
			if (!v || json_object_setn_new(j, (const char *)k->data.scalar.value,
						       k->data.scalar.length, v)) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	default:
		return NULL;
	}
}

static json_t *load_yaml(const char *path, struct wl_err *e)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	char *buf = malloc(KC_MAX_FILE);
	size_t len = 0;
	json_t *root = NULL;
	yaml_mark_t mark = { 0 };
	size_t budget = KC_YAML_NODES;
	int err, lim;

	if (!buf) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	err = read_file(path, buf, KC_MAX_FILE, &len);
	if (err) {
		err_set(e, -err, "kubeconfig %s: %s", path, strerror(-err));
		free(buf);
		return NULL;
	}
	if (!yaml_parser_initialize(&parser)) {
		err_set(e, ENOMEM, "out of memory");
		free(buf);
		return NULL;
	}
	lim = ylim_check(buf, len, &mark);
	if (lim < 0 || lim > YLIM_OK) {
		err_set(e, lim < 0 ? -lim : EINVAL, "kubeconfig %s: line %zu column %zu: %s", path,
			mark.line + 1, mark.column + 1, lim < 0 ? strerror(-lim) : ylim_reason(lim));
		goto out_parser;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		err_set(e, EINVAL, "kubeconfig %s: YAML error at line %zu: %s", path,
			parser.problem_mark.line + 1, parser.problem ? parser.problem : "?");
		goto out_parser;
	}
	root = yaml_to_json(&doc, yaml_document_get_root_node(&doc), 0, &budget);
	if (!root || !json_is_object(root)) {
		err_set(e, EINVAL, "kubeconfig %s: not a YAML mapping (or nested too deep, or "
			"aliases expand to more than %d values)", path, KC_YAML_NODES);
		json_decref(root);
		root = NULL;
	}
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	free(buf);
	return root;
}

/* Finds {name: <name>, <field>: {...}} in root[list]. */
static json_t *named_entry(json_t *root, const char *list, const char *name, const char *field)
{
	json_t *arr = json_object_get(root, list), *it;
	size_t i;

	json_array_foreach(arr, i, it) {
		const char *n = json_string_value(json_object_get(it, "name"));
		if (n && strcmp(n, name) == 0) {
			json_t *f = json_object_get(it, field);
			return json_is_object(f) ? f : NULL;
		}
	}
	return NULL;
}

/* Resolves p against dir unless absolute. */
static int resolve_path(const char *dir, const char *p, char **out, struct wl_err *e)
{
	char buf[PATH_MAX];

	if (p[0] == '/') {
		*out = strdup(p);
	} else {
		if (path_join(buf, sizeof(buf), dir, p))
			return err_set(e, ENAMETOOLONG, "path too long: %s", p);
		*out = strdup(buf);
	}
	return *out ? 0 : err_set(e, ENOMEM, "out of memory");
}

/* PEM from "<key>-data" (base64) or "<key>" (path). 0 also when neither is set. */
static int load_pem(json_t *obj, const char *key, const char *dir, struct pem_src *out,
		    struct wl_err *e)
{
	char dkey[128];
	const char *data, *path;
	int err;

	snprintf(dkey, sizeof(dkey), "%s-data", key);
	data = jg_nonempty(obj, dkey);
	path = jg_nonempty(obj, key);
	if (data) {
		err = kube_base64_decode(data, &out->data, &out->len);
		if (err)
			return err_set(e, -err, "%s: not valid base64", dkey);
		if (out->len == 0)
			return err_set(e, EINVAL, "%s: empty", dkey);
		return 0;
	}
	if (path) {
		err = resolve_path(dir, path, &out->path, e);
		if (err)
			return err;
		return check_readable(key, out->path, e);
	}
	return 0;
}

struct kube_config *kube_config_from_file(const char *path, const struct kube_config_opts *o,
					  struct wl_err *e)
{
	struct kube_config *c = config_new(o);
	json_t *root = NULL, *ctx, *cluster, *user;
	const char *ctx_name, *cluster_name, *user_name, *server, *s;
	char dirbuf[PATH_MAX], *dir;
	struct wl_err sub = { { 0 } };
	int err = 0;

	if (!c) {
		err_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (!path || strlen(path) >= sizeof(dirbuf)) {
		err = err_set(e, EINVAL, "kubeconfig path missing or too long");
		goto cleanup;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	dir = dirname(dirbuf);
	root = load_yaml(path, e);
	if (!root) {
		err = -EINVAL;
		goto cleanup;
	}
	ctx_name = o && o->context ? o->context : jg_nonempty(root, "current-context");
	if (!ctx_name) {
		err = err_set(e, EINVAL, "kubeconfig %s: no current-context and no context given",
			      path);
		goto cleanup;
	}
	ctx = named_entry(root, "contexts", ctx_name, "context");
	if (!ctx) {
		err = err_set(e, ENOENT, "kubeconfig %s: context \"%s\" not found", path, ctx_name);
		goto cleanup;
	}
	cluster_name = jg_nonempty(ctx, "cluster");
	cluster = cluster_name ? named_entry(root, "clusters", cluster_name, "cluster") : NULL;
	if (!cluster) {
		err = err_set(e, ENOENT, "kubeconfig %s: cluster \"%s\" of context \"%s\" not found",
			      path, cluster_name ? cluster_name : "", ctx_name);
		goto cleanup;
	}
	server = jg_nonempty(cluster, "server");
	if (!server || strncmp(server, "https://", 8) != 0) {
		err = err_set(e, EINVAL, "kubeconfig %s: cluster \"%s\": server must be an https:// URL",
			      path, cluster_name);
		goto cleanup;
	}
	c->server = strdup(server);
	if (!c->server) {
		err = err_set(e, ENOMEM, "out of memory");
		goto cleanup;
	}
	while (strlen(c->server) > 8 && c->server[strlen(c->server) - 1] == '/')
		c->server[strlen(c->server) - 1] = '\0';
	s = jg_nonempty(cluster, "insecure-skip-tls-verify");
	if (s && strcmp(s, "false") != 0) {
		if (!o || !o->allow_insecure) {
			err = err_set(e, EPERM,
				      "kubeconfig %s: cluster \"%s\" sets insecure-skip-tls-verify; "
				      "refused (TLS is always verified unless the explicit "
				      "allow-insecure opt-out is set)",
				      path, cluster_name);
			goto cleanup;
		}
		c->insecure = true;
	}
	err = load_pem(cluster, "certificate-authority", dir, &c->ca, &sub);
	if (err) {
		err = err_set(e, -err, "kubeconfig %s: cluster \"%s\": %s", path, cluster_name, sub.msg);
		goto cleanup;
	}

	user_name = jg_nonempty(ctx, "user");
	user = user_name ? named_entry(root, "users", user_name, "user") : NULL;
	if (user_name && !user) {
		err = err_set(e, ENOENT, "kubeconfig %s: user \"%s\" not found", path, user_name);
		goto cleanup;
	}
	if (user) {
		if (json_object_get(user, "exec")) {
			err = err_set(e, ENOTSUP,
				      "kubeconfig %s: user \"%s\": exec credential plugins are not "
				      "supported; use a token, tokenFile or client certificate",
				      path, user_name);
			goto cleanup;
		}
		if (json_object_get(user, "auth-provider")) {
			err = err_set(e, ENOTSUP,
				      "kubeconfig %s: user \"%s\": auth-provider is not supported",
				      path, user_name);
			goto cleanup;
		}
		if (json_object_get(user, "username") || json_object_get(user, "password")) {
			err = err_set(e, ENOTSUP,
				      "kubeconfig %s: user \"%s\": basic auth is not supported", path,
				      user_name);
			goto cleanup;
		}
		err = load_pem(user, "client-certificate", dir, &c->cert, &sub);
		if (!err)
			err = load_pem(user, "client-key", dir, &c->key, &sub);
		if (err) {
			err = err_set(e, -err, "kubeconfig %s: user \"%s\": %s", path, user_name,
				      sub.msg);
			goto cleanup;
		}
		if ((c->cert.path || c->cert.data) != (c->key.path || c->key.data)) {
			err = err_set(e, EINVAL,
				      "kubeconfig %s: user \"%s\": client certificate and key must "
				      "be given together",
				      path, user_name);
			goto cleanup;
		}
		if ((s = jg_nonempty(user, "token")) && !(c->static_token = strdup(s))) {
			err = err_set(e, ENOMEM, "out of memory");
			goto cleanup;
		}
		if (!c->static_token && (s = jg_nonempty(user, "tokenFile"))) {
			err = resolve_path(dir, s, &c->token_path, e);
			if (err)
				goto cleanup;
			if (!kube_config_token(c, &sub)) {
				err = err_set(e, EINVAL, "kubeconfig %s: user \"%s\": tokenFile: %s",
					      path, user_name, sub.msg);
				goto cleanup;
			}
		}
	}
	s = jg_nonempty(ctx, "namespace");
	c->ns = strdup(s ? s : "default");
	if (!c->ns)
		err = err_set(e, ENOMEM, "out of memory");
cleanup:
	json_decref(root);
	if (err) {
		kube_config_free(c);
		return NULL;
	}
	return c;
}

struct kube_config *kube_config_load(const struct kube_config_opts *o, struct wl_err *e)
{
	const char *kc = getenv("KUBECONFIG"), *home = getenv("HOME");
	char path[PATH_MAX];

	if (o && o->kubeconfig)
		return kube_config_from_file(o->kubeconfig, o, e);
	if (getenv("KUBERNETES_SERVICE_HOST"))
		return kube_config_in_cluster(o, e);
	if (kc && *kc) {
		const char *colon = strchr(kc, ':');
		size_t n = colon ? (size_t)(colon - kc) : strlen(kc);
		if (n >= sizeof(path)) {
			err_set(e, ENAMETOOLONG, "KUBECONFIG path too long");
			return NULL;
		}
		memcpy(path, kc, n);
		path[n] = '\0';
		return kube_config_from_file(path, o, e);
	}
	if (!home || fmt_path(path, sizeof(path), "%s/.kube/config", home)) {
		err_set(e, ENOENT, "no kubeconfig: not in a cluster, KUBECONFIG and HOME unset");
		return NULL;
	}
	return kube_config_from_file(path, o, e);
}

/* ---- accessors -------------------------------------------------------------- */

const char *kube_config_server(const struct kube_config *c)
{
	return c ? c->server : NULL;
}

const char *kube_config_namespace(const struct kube_config *c)
{
	return c && c->ns ? c->ns : "default";
}

bool kube_config_in_cluster_mode(const struct kube_config *c)
{
	return c && c->in_cluster;
}

bool kube_config_insecure(const struct kube_config *c)
{
	return c && c->insecure;
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

const char *kube_config_token(struct kube_config *c, struct wl_err *e)
{
	struct stat st;
	uint64_t now = mono_ns();
	char *tok = NULL;
	int err;

	if (!c) {
		err_set(e, EINVAL, "no config");
		return NULL;
	}
	if (c->static_token)
		return c->static_token;
	if (!c->token_path)
		return "";
	if (stat(c->token_path, &st) != 0) {
		err_set(e, errno, "token %s: %s", c->token_path, strerror(errno));
		return c->token;
	}
	if (c->token && same_file_state(&st, &c->token_st) &&
	    now - c->token_read_ns < (uint64_t)c->token_reread_s * 1000000000ull)
		return c->token;
	err = slurp_trimmed(c->token_path, KC_MAX_TOKEN, &tok, e);
	if (err)
		return c->token;
	if (!*tok || strpbrk(tok, "\r\n")) {
		err_set(e, EINVAL, "token %s: empty or spans several lines", c->token_path);
		free(tok);
		return c->token;
	}
	wipe(c->token);
	c->token = tok;
	c->token_st = st;
	c->token_read_ns = now;
	return c->token;
}

static int set_blob(CURL *h, CURLoption opt, const struct pem_src *p)
{
	struct curl_blob b = { .data = p->data, .len = p->len, .flags = CURL_BLOB_COPY };
	return curl_easy_setopt(h, opt, &b) == CURLE_OK ? 0 : -EINVAL;
}

int kube_config_apply_tls(const struct kube_config *c, CURL *h, struct wl_err *e)
{
	int err = 0;

	if (!c || !h)
		return err_set(e, EINVAL, "no config or handle");
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
	if (c->ca.data)
		err = set_blob(h, CURLOPT_CAINFO_BLOB, &c->ca);
	else if (c->ca.path)
		err = curl_easy_setopt(h, CURLOPT_CAINFO, c->ca.path) == CURLE_OK ? 0 : -EINVAL;
	if (!err && c->cert.data)
		err = set_blob(h, CURLOPT_SSLCERT_BLOB, &c->cert);
	else if (!err && c->cert.path)
		err = curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert.path) == CURLE_OK ? 0 : -EINVAL;
	if (!err && c->key.data)
		err = set_blob(h, CURLOPT_SSLKEY_BLOB, &c->key);
	else if (!err && c->key.path)
		err = curl_easy_setopt(h, CURLOPT_SSLKEY, c->key.path) == CURLE_OK ? 0 : -EINVAL;
	if (!err && (c->cert.data || c->cert.path))
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	if (err)
		return err_set(e, EINVAL, "curl rejected the TLS settings (needs libcurl >= 7.77 "
					  "with OpenSSL for in-memory certificates)");
	return 0;
}
