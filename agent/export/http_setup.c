/* http_setup.c - what the HTTP server (http.c) checks before and while it listens:
 * the listen address, a bind probe for a clear error, the descriptor budget, and the
 * TLS certificate/key pair, looked at again for a rotation (http_server_reload_tls,
 * see http.h). Internals are declared in http_impl.h.
 */
#include "http_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

/* Splits "HOST:PORT" / "[V6]:PORT" / ":PORT". host gets the bare address ("" = any). */
int http_parse_listen(const char *listen, char *host, size_t hcap, int *port, int *family,
		      struct wl_err *err)
{
	const char *colon, *h = listen;
	size_t hlen;
	uint64_t p;

	if (!listen || !*listen)
		return err_set(err, EINVAL, "listen address is empty");
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return err_set(err, EINVAL, "listen address '%s': want [IPv6]:PORT",
				       listen);
		h = listen + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
		*family = AF_INET6;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return err_set(err, EINVAL, "listen address '%s': want HOST:PORT", listen);
		if (strchr(listen, ':') != colon)
			return err_set(err, EINVAL,
				       "listen address '%s': put IPv6 addresses in brackets",
				       listen);
		hlen = (size_t)(colon - listen);
		*family = hlen ? AF_INET : AF_INET6;
	}
	if (hlen >= hcap)
		return err_set(err, EINVAL, "listen address '%s': host too long", listen);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (parse_u64(colon + 1, &p) || p > 65535 || strchr(colon + 1, ' '))
		return err_set(err, EINVAL, "listen address '%s': bad port '%s'", listen,
			       colon + 1);
	*port = (int)p;
	if (*host) {
		unsigned char tmp[sizeof(struct in6_addr)];
		if (inet_pton(*family, host, tmp) != 1)
			return err_set(err, EINVAL,
				       "listen address '%s': '%s' is not a numeric %s address",
				       listen, host, *family == AF_INET ? "IPv4" : "IPv6");
	}
	return 0;
}

/* Binds a throwaway socket to learn why a listen would fail (lws only logs it). */
int http_probe_bind(const char *host, int port, int family)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, zero = 0, ret = 0;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (*host)
			inet_pton(AF_INET, host, &sin->sin_addr);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (*host)
			inet_pton(AF_INET6, host, &sin6->sin6_addr);
		sl = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6 && !*host)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The certificate and key load and belong together (checked here for a clear
 * message, and because lws leaks on a failed TLS setup). */
int http_check_tls_files(const char *cert, const char *key, struct wl_err *err)
{
	X509 *x = NULL;
	EVP_PKEY *pk = NULL;
	FILE *f;
	int rc = 0;

	f = fopen(cert, "re");
	if (!f)
		return err_set(err, errno, "cannot read %s: %s", cert, strerror(errno));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return err_set(err, EINVAL, "%s: not a PEM certificate", cert);
	f = fopen(key, "re");
	if (!f) {
		rc = err_set(err, errno, "cannot read %s: %s", key, strerror(errno));
		goto cleanup;
	}
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pk)
		rc = err_set(err, EINVAL, "%s: not a PEM private key (without a passphrase)", key);
	else if (X509_check_private_key(x, pk) != 1)
		rc = err_set(err, EINVAL, "%s is not the private key of the certificate %s", key,
			     cert);
cleanup:
	EVP_PKEY_free(pk);
	X509_free(x);
	return rc;
}

void http_stamp_of(const char *path, struct file_stamp *fs)
{
	struct stat st;

	memset(fs, 0, sizeof(*fs));
	if (stat(path, &st) == 0) { /* follows the symlinks of a Secret volume */
		fs->dev = st.st_dev;
		fs->ino = st.st_ino;
		fs->mtime = st.st_mtim;
		fs->ctime = st.st_ctim;
	}
}

static bool stamp_same(const struct file_stamp *a, const struct file_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
	       a->ctime.tv_nsec == b->ctime.tv_nsec;
}

int http_server_reload_tls(struct http_server *s, struct wl_err *err)
{
	struct file_stamp c, k;

	if (!s || !s->lws || !s->tls_cert)
		return -EINVAL;
	s->tls_checked_ns = mono_ns();
	http_stamp_of(s->tls_cert, &c);
	http_stamp_of(s->tls_key, &k);
	if (stamp_same(&c, &s->tls_stamp[0]) && stamp_same(&k, &s->tls_stamp[1]))
		return 0;
	s->tls_stamp[0] = c;
	s->tls_stamp[1] = k;
	if (http_check_tls_files(s->tls_cert, s->tls_key, err)) {
		s->st.tls_reload_errors++;
		return -EINVAL;
	}
	if (lws_tls_cert_updated(s->lws, s->tls_cert, s->tls_key, NULL, 0, NULL, 0)) {
		s->st.tls_reload_errors++;
		return err_set(err, EIO, "%s, %s: libwebsockets did not take the new pair",
			       s->tls_cert, s->tls_key);
	}
	s->st.tls_reloads++;
	return 1;
}

/* Connections allowed at a time: the configured cap, lowered so that connections,
 * eviction slack and the fixed descriptors stay within RLIMIT_NOFILE / 4. */
unsigned http_effective_cap(unsigned want)
{
	struct rlimit rl;
	uint64_t budget = UINT32_MAX;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		budget = (uint64_t)rl.rlim_cur / HTTP_FD_SHARE;
	if (budget <= HTTP_FIXED_FDS + HTTP_EVICT_SLACK + 1)
		return 1;
	budget -= HTTP_FIXED_FDS + HTTP_EVICT_SLACK;
	return want < budget ? want : (unsigned)budget;
}
