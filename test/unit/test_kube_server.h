/* test_kube_server.h - shared by test_kube_{http,watch,kubelet}.c: makes a throwaway
 * CA (and a second, unrelated one) with openssl, a server certificate for
 * localhost/127.0.0.1 signed by the first, and starts test/fixtures/kube/tls_server.py
 * with it. Synchronisation with the server is its port line on a pipe (no sleeps).
 * Files: <dir>/ca.crt, other-ca.crt, client.crt/.key (signed by ca), sa/{ca.crt,token,
 * namespace}, kubeconfig (server + certificate-authority path + token "t0k3n"). */
#ifndef TEST_KUBE_SERVER_H
#define TEST_KUBE_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "agent/common/util.h"
#include "agent/kube/kube_http.h"

struct tsrv {
	char dir[256];
	int port;
	pid_t pid;
	char url[64];
};

static const char *tsrv_fixdir(void)
{
	const char *d = getenv("WATTLET_FIXTURES");
	return d && *d ? d : "test/fixtures";
}

static int tsrv_sh(const char *dir, const char *cmd)
{
	char buf[2048];
	snprintf(buf, sizeof(buf), "cd '%s' && ( %s ) >/dev/null 2>&1", dir, cmd);
	return system(buf);
}

static int tsrv_write(const char *dir, const char *name, const char *text)
{
	char p[512];
	FILE *f;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return 0;
}

/* 0 started; 1 tools missing (caller skips); -1 failure. */
static int tsrv_start(struct tsrv *s)
{
	char script[512], cert[300], key[300], fix[300], line[32], kc[1024];
	int pfd[2];
	FILE *f;

	memset(s, 0, sizeof(*s));
	if (system("command -v openssl >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1"))
		return 1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/wattlet-kube-XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	if (tsrv_sh(s->dir,
		    "EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';"
		    "openssl req -x509 $EC -days 2 -subj /CN=wattlet-test-ca -keyout ca.key -out ca.crt &&"
		    "openssl req -x509 $EC -days 2 -subj /CN=other-ca -keyout other-ca.key -out other-ca.crt &&"
		    "openssl req $EC -subj /CN=localhost -keyout srv.key -out srv.csr &&"
		    "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ext.cnf &&"
		    "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
		    "-extfile ext.cnf -out srv.crt &&"
		    "openssl req $EC -subj /CN=wattlet-client -keyout client.key -out client.csr &&"
		    "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
		    "-days 2 -out client.crt &&"
		    "mkdir sa && cp ca.crt sa/ca.crt && printf 'sa-token-1\\n' > sa/token &&"
		    "printf 'wattlet' > sa/namespace"))
		return -1;
	snprintf(script, sizeof(script), "%s/kube/tls_server.py", tsrv_fixdir());
	snprintf(cert, sizeof(cert), "%s/srv.crt", s->dir);
	snprintf(key, sizeof(key), "%s/srv.key", s->dir);
	snprintf(fix, sizeof(fix), "%s/kube", tsrv_fixdir());
	if (pipe(pfd))
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execlp("python3", "python3", script, cert, key, fix, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	if (!f || !fgets(line, sizeof(line), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	s->port = atoi(line);
	if (s->port <= 0)
		return -1;
	snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%d", s->port);
	snprintf(kc, sizeof(kc),
		 "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
		 "clusters:\n- name: local\n  cluster:\n    server: %s\n"
		 "    certificate-authority: ca.crt\n"
		 "- name: wrong\n  cluster:\n    server: %s\n"
		 "    certificate-authority: other-ca.crt\n"
		 "contexts:\n- name: test\n  context: {cluster: local, user: u, namespace: ns1}\n"
		 "- name: wrongca\n  context: {cluster: wrong, user: u}\n"
		 "users:\n- name: u\n  user:\n    token: t0k3n\n",
		 s->url, s->url);
	return tsrv_write(s->dir, "kubeconfig", kc);
}

static void tsrv_stop(struct tsrv *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->dir[0] && strncmp(s->dir, "/tmp/wattlet-kube-", 18) == 0) {
		char cmd[320];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd)) {
			/* leftover temp dir: harmless */
		}
	}
}

static struct kube_config *tsrv_config(struct tsrv *s, const char *context)
{
	char p[300];
	struct kube_config_opts o = { 0 };
	struct wl_err e = { { 0 } };
	struct kube_config *c;
	snprintf(p, sizeof(p), "%s/kubeconfig", s->dir);
	o.context = context;
	c = kube_config_from_file(p, &o, &e);
	if (!c)
		fprintf(stderr, "kubeconfig: %s\n", e.msg);
	return c;
}

/* The cmocka group fixture every server test file uses: one server per group (S),
 * started by tsrv_group_setup, stopped by tsrv_group_teardown; NEED_SERVER() skips a
 * test, saying why, when openssl or python3 is missing. */
static struct tsrv S;
static bool have_server;

static int tsrv_group_setup(void **st)
{
	int rc = tsrv_start(&S);
	(void)st;
	have_server = rc == 0;
	if (rc < 0) {
		tsrv_stop(&S);
		return -1;
	}
	return 0;
}

static int tsrv_group_teardown(void **st)
{
	(void)st;
	tsrv_stop(&S);
	return 0;
}

/* A test's own request to the server (its own config and handle), the answer parsed
 * (asserted to be JSON); tsrv_reset() POSTs /__reset. For the cmocka tests that
 * include this after cmocka.h. */
__attribute__((unused)) static json_t *srv_call(const char *method, const char *path,
						const char *body)
{
	struct kube_config *c = tsrv_config(&S, NULL);
	struct kube_http *h;
	struct kube_resp r;
	struct wl_err e = { { 0 } };
	json_t *j = NULL;
	assert_non_null(c);
	h = kube_http_new(c, NULL, &e);
	assert_non_null(h);
	if (kube_http_request(h, method, path, body, NULL, &r, &e) == 0 && r.body)
		j = json_loads(r.body, 0, NULL);
	kube_resp_release(&r);
	kube_http_free(h);
	kube_config_free(c);
	assert_non_null(j);
	return j;
}

__attribute__((unused)) static void srv_reset(void)
{
	json_decref(srv_call("POST", "/__reset", "{}"));
}

#define NEED_SERVER()                                                                      \
	do {                                                                               \
		if (!have_server) {                                                        \
			printf("skipped: openssl or python3 missing\n");                   \
			skip();                                                            \
		}                                                                          \
	} while (0)

#endif
