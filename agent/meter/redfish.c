/* redfish.c - see redfish.h. */
#include "redfish.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "../common/worker.h"

#define RF_BODY_CAP (1u << 20) /* a power document is a few KiB */
#define RF_REDISCOVER_AFTER 3  /* failed polls in a row before looking the resource up again */

const char *const rf_err_names[RF_ERR_COUNT] = {
	[RF_ERR_CREDENTIALS] = "credentials", [RF_ERR_CONNECT] = "connect",
	[RF_ERR_TLS] = "tls", [RF_ERR_TIMEOUT] = "timeout", [RF_ERR_AUTH] = "auth",
	[RF_ERR_HTTP] = "http", [RF_ERR_JSON] = "json", [RF_ERR_MISSING] = "missing",
	[RF_ERR_RANGE] = "range", [RF_ERR_NO_SOURCE] = "no_source",
};

enum rf_kind { RF_NONE, RF_ENV, RF_PSUB, RF_POWER };

/* What one poll session owns (the poller thread, or redfish_probe on the caller's). */
struct rf_sess {
	char endpoint[RF_ENDPOINT_MAX];
	char chassis[128];
	char cred_file[4096];
	char ca_file[4096];
	bool insecure;
	uint64_t timeout_ns;
	CURL *curl;
	char *body;
	size_t len;
	bool too_big;
	enum rf_kind kind;
	char path[RF_PATH_MAX];
	char sup[RF_MAX_SUPPLIES][RF_PATH_MAX]; /* RF_PSUB: each supply's Metrics */
	size_t n_sup;
	unsigned fails; /* in a row */
	const atomic_bool *stop; /* aborts a transfer when set */
	/* the latest poll */
	int err;        /* enum rf_err, -1 ok */
	char msg[1400];
	uint64_t t_ns, rtt_ns;
	struct rf_reading rd;
};

struct redfish {
	struct rf_sess s;
	uint64_t interval_ns;
	struct wl_worker wk; /* the poller; sleeps on cv; wk.stop also aborts a transfer */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rf_tl tl;
	struct rf_status st;
};

bool rf_endpoint_ok(const char *e)
{
	const char *host;
	size_t n;

	if (!e || strncmp(e, "https://", 8) != 0)
		return false;
	n = strlen(e);
	if (n >= RF_ENDPOINT_MAX)
		return false;
	host = e + 8;
	if (!*host || *host == '/' || *host == ':')
		return false;
	for (const char *p = host; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch >= 0x7f || ch == '?' || ch == '#' || ch == '@' || ch == '\\')
			return false;
		if (ch == '/' && p[1] != '\0') /* only a trailing slash */
			return false;
	}
	return true;
}

bool rf_chassis_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n >= 128 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* ---- credentials ---------------------------------------------------------------- */

/* The file's first line into buf (wiped by the caller). 0, or the reason. */
static int read_cred(const char *path, char *buf, size_t cap, char *msg, size_t mcap)
{
	FILE *f = fopen(path, "re");
	size_t n;

	buf[0] = '\0';
	if (!f) {
		int e = errno;
		snprintf(msg, mcap, "redfish.credentials_file %s: %s", path, strerror(e));
		return -e;
	}
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0]) {
		snprintf(msg, mcap, "redfish.credentials_file %s: empty (want user:password, or a "
			 "session token)", path);
		return -EINVAL;
	}
	return 0;
}

/* ---- one GET -------------------------------------------------------------------- */

static size_t on_body(char *p, size_t sz, size_t nm, void *ctx)
{
	struct rf_sess *s = ctx;
	size_t n = sz * nm;

	if (s->len + n > RF_BODY_CAP) {
		s->too_big = true;
		return 0;
	}
	memcpy(s->body + s->len, p, n);
	s->len += n;
	s->body[s->len] = '\0';
	return n;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct rf_sess *s = ctx;

	(void)a, (void)b, (void)c, (void)d;
	return s->stop && atomic_load(s->stop) ? 1 : 0;
}

static int fail(struct rf_sess *s, enum rf_err e, int rc, const char *fmt, const char *a,
		const char *b)
{
	s->err = (int)e;
	snprintf(s->msg, sizeof(s->msg), fmt, a, b);
	return rc;
}

static enum rf_err curl_reason(CURLcode cc)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return RF_ERR_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_ENGINE_INITFAILED:
		return RF_ERR_TLS;
	default:
		return RF_ERR_CONNECT;
	}
}

/* GETs endpoint + path into s->body. On success the reading's time is the middle of the
 * request's time on the wire. */
static int get(struct rf_sess *s, const char *path)
{
	char url[RF_ENDPOINT_MAX + RF_PATH_MAX + 8], cred[1024], hdr[1100], emsg[CURL_ERROR_SIZE];
	struct curl_slist *hl = NULL, *h2;
	curl_off_t pre = 0, start = 0;
	long code = 0;
	uint64_t t0;
	CURLcode cc;
	int rc = 0;

	snprintf(url, sizeof(url), "%s%s", s->endpoint, path);
	rc = read_cred(s->cred_file, cred, sizeof(cred), s->msg, sizeof(s->msg));
	if (rc) {
		s->err = RF_ERR_CREDENTIALS;
		goto cleanup;
	}
	s->len = 0;
	s->body[0] = '\0';
	s->too_big = false;
	emsg[0] = '\0';
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, emsg);
	hl = curl_slist_append(NULL, "Accept: application/json");
	if (!hl) {
		rc = fail(s, RF_ERR_CONNECT, -ENOMEM, "%s%s", "out of memory", "");
		goto cleanup;
	}
	if (strchr(cred, ':')) {
		char *colon = strchr(cred, ':');
		*colon = '\0';
		curl_easy_setopt(s->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(s->curl, CURLOPT_USERNAME, cred);
		curl_easy_setopt(s->curl, CURLOPT_PASSWORD, colon + 1);
	} else {
		snprintf(hdr, sizeof(hdr), "X-Auth-Token: %s", cred);
		h2 = curl_slist_append(hl, hdr);
		explicit_bzero(hdr, sizeof(hdr));
		if (!h2) {
			rc = fail(s, RF_ERR_CONNECT, -ENOMEM, "%s%s", "out of memory", "");
			goto cleanup;
		}
		hl = h2;
		curl_easy_setopt(s->curl, CURLOPT_USERNAME, NULL);
		curl_easy_setopt(s->curl, CURLOPT_PASSWORD, NULL);
	}
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hl);
	t0 = mono_ns();
	cc = curl_easy_perform(s->curl);
	/* curl keeps copies of the strings set: wipe them there too */
	curl_easy_setopt(s->curl, CURLOPT_USERNAME, NULL);
	curl_easy_setopt(s->curl, CURLOPT_PASSWORD, NULL);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	if (cc != CURLE_OK) {
		if (s->too_big)
			rc = fail(s, RF_ERR_JSON, -E2BIG, "GET %s: answer larger than 1 MiB%s", url, "");
		else
			rc = fail(s, curl_reason(cc), -EIO, "GET %s: %s", url,
				  emsg[0] ? emsg : curl_easy_strerror(cc));
		goto cleanup;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(s->curl, CURLINFO_PRETRANSFER_TIME_T, &pre);
	curl_easy_getinfo(s->curl, CURLINFO_STARTTRANSFER_TIME_T, &start);
	if (start < pre)
		start = pre;
	s->t_ns = t0 + (uint64_t)(pre + start) * 1000 / 2;
	s->rtt_ns = (uint64_t)(start - pre) * 1000;
	if (code == 401 || code == 403) {
		char c[16];
		snprintf(c, sizeof(c), "%ld", code);
		rc = fail(s, RF_ERR_AUTH, -EACCES, "GET %s: HTTP %s (credentials refused: check "
			  "redfish.credentials_file)", url, c);
	} else if (code != 200) {
		char c[16];
		snprintf(c, sizeof(c), "%ld", code);
		rc = fail(s, RF_ERR_HTTP, -EPROTO, "GET %s: HTTP %s", url, c);
	}
cleanup:
	explicit_bzero(cred, sizeof(cred));
	curl_slist_free_all(hl);
	return rc;
}

/* ---- the resource --------------------------------------------------------------- */

static int parse_fail(struct rf_sess *s, int rc, const struct wl_err *e, const char *path)
{
	s->err = rc == -EBADMSG ? RF_ERR_JSON : rc == -ENOENT ? RF_ERR_MISSING : RF_ERR_RANGE;
	snprintf(s->msg, sizeof(s->msg), "%s%s: %s", s->endpoint, path, e->msg);
	return rc;
}

/* PowerSubsystem: the sum of the supplies' input power, read one after the other; the
 * reading's time is the middle of the first and the last answer. A supply that fails
 * fails the poll (a part of the platform is not left out silently). */
static int read_supplies(struct rf_sess *s)
{
	struct wl_err e = { "" };
	struct rf_reading sum = { .have_kwh = true }, one;
	uint64_t t_first = 0, rtt = 0;
	int rc;

	for (size_t i = 0; i < s->n_sup; i++) {
		rc = get(s, s->sup[i]);
		if (rc)
			return rc;
		rc = rf_parse_supply_metrics(s->body, s->len, &one, &e);
		if (rc)
			return parse_fail(s, rc, &e, s->sup[i]);
		if (i == 0)
			t_first = s->t_ns;
		rtt = s->rtt_ns > rtt ? s->rtt_ns : rtt;
		sum.watts += one.watts;
		sum.have_kwh = sum.have_kwh && one.have_kwh;
		sum.kwh += one.kwh;
	}
	if (sum.watts > RF_MAX_WATTS)
		return fail(s, RF_ERR_RANGE, -ERANGE, "%s: the supplies' input power adds up to "
			    "more than 100 kW%s", s->path, "");
	s->rd = sum;
	s->t_ns = t_first + (s->t_ns - t_first) / 2;
	s->rtt_ns = rtt;
	return 0;
}

/* Finds the supplies of PowerSubsystem path and their Metrics. */
static int find_supplies(struct rf_sess *s, const char *path)
{
	char (*paths)[RF_PATH_MAX] = s->sup, col[RF_PATH_MAX];
	struct wl_err e = { "" };
	size_t n = 0;
	int rc;

	s->n_sup = 0;
	rc = get(s, path);
	if (rc)
		return rc;
	rc = rf_parse_power_subsystem(s->body, s->len, col, sizeof(col), &e);
	if (rc)
		return parse_fail(s, rc, &e, path);
	rc = get(s, col);
	if (rc)
		return rc;
	rc = rf_parse_members(s->body, s->len, paths, RF_MAX_SUPPLIES, &n, &e);
	if (rc)
		return parse_fail(s, rc == -E2BIG ? -ERANGE : rc, &e, col);
	for (size_t i = 0; i < n; i++) { /* each supply's path becomes its Metrics' path */
		char sp[RF_PATH_MAX];
		snprintf(sp, sizeof(sp), "%s", paths[i]);
		rc = get(s, sp);
		if (rc)
			return rc;
		rc = rf_parse_supply(s->body, s->len, paths[i], RF_PATH_MAX, &e);
		if (rc)
			return parse_fail(s, rc, &e, sp);
	}
	s->n_sup = n;
	return 0;
}

static int read_resource(struct rf_sess *s)
{
	struct wl_err e = { "" };
	int rc;

	if (s->kind == RF_PSUB)
		return read_supplies(s);
	rc = get(s, s->path);
	if (rc)
		return rc;
	rc = s->kind == RF_ENV ? rf_parse_env_metrics(s->body, s->len, &s->rd, &e)
			       : rf_parse_power(s->body, s->len, &s->rd, &e);
	return rc ? parse_fail(s, rc, &e, s->path) : 0;
}

/* Finds the chassis and its power resource, and reads it once. */
static int discover(struct rf_sess *s)
{
	struct rf_chassis_links l;
	struct wl_err e = { "" };
	char cpath[RF_PATH_MAX];
	int rc;

	s->kind = RF_NONE;
	s->path[0] = '\0';
	if (s->chassis[0]) {
		snprintf(cpath, sizeof(cpath), "/redfish/v1/Chassis/%s", s->chassis);
	} else {
		rc = get(s, "/redfish/v1/Chassis");
		if (rc)
			return rc;
		rc = rf_parse_members_first(s->body, s->len, cpath, sizeof(cpath), &e);
		if (rc)
			return parse_fail(s, rc, &e, "/redfish/v1/Chassis");
	}
	rc = get(s, cpath);
	if (rc)
		return rc;
	rc = rf_parse_chassis(s->body, s->len, &l, &e);
	if (rc == -ENOENT)
		return fail(s, RF_ERR_NO_SOURCE, rc, "%s: %s", cpath, e.msg);
	if (rc)
		return parse_fail(s, rc, &e, cpath);
	if (l.env[0]) {
		s->kind = RF_ENV;
		snprintf(s->path, sizeof(s->path), "%s", l.env);
		rc = read_resource(s);
		if (rc != -ENOENT || (!l.psub[0] && !l.power[0]))
			return rc; /* a reading, or no other resource to try */
	}
	if (l.psub[0]) {
		snprintf(s->path, sizeof(s->path), "%s", l.psub);
		rc = find_supplies(s, l.psub);
		if (rc == 0) {
			s->kind = RF_PSUB;
			rc = read_resource(s);
		}
		if (rc == 0 || !l.power[0])
			return rc;
	}
	s->kind = RF_POWER;
	snprintf(s->path, sizeof(s->path), "%s", l.power);
	return read_resource(s);
}

/* One poll: the reading into s->rd / s->t_ns, or s->err and s->msg. */
static int poll_once(struct rf_sess *s)
{
	int rc;

	s->err = -1;
	s->msg[0] = '\0';
	if (s->kind == RF_NONE || s->fails >= RF_REDISCOVER_AFTER) {
		s->fails = 0;
		rc = discover(s);
	} else {
		rc = read_resource(s);
	}
	if (rc)
		s->fails++;
	else
		s->fails = 0;
	return rc;
}

static void sess_free(struct rf_sess *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s->body);
	s->curl = NULL;
	s->body = NULL;
}

static int sess_init(struct rf_sess *s, const struct rf_opts *o, const atomic_bool *stop,
		     struct wl_err *err)
{
	char cred[1024], msg[320];
	long tmo;
	int rc;

	memset(s, 0, sizeof(*s));
	s->err = -1;
	s->stop = stop;
	if (!o || !rf_endpoint_ok(o->endpoint))
		return err_set(err, EINVAL, "redfish.endpoint \"%s\" is not https://HOST[:PORT]",
			       o && o->endpoint ? o->endpoint : "");
	if (o->chassis && o->chassis[0] && !rf_chassis_id_ok(o->chassis))
		return err_set(err, EINVAL, "redfish.chassis \"%s\" is not a chassis Id (letters, "
			       "digits, '.', '_', '-')", o->chassis);
	if (!o->cred_file || !o->cred_file[0])
		return err_set(err, EINVAL, "redfish.credentials_file is required with "
			       "redfish.endpoint");
	if (o->interval_ns == 0 || o->timeout_ns == 0 || o->stale_ns == 0)
		return err_set(err, EINVAL, "redfish: interval, timeout and stale_after must be > 0");
	rc = read_cred(o->cred_file, cred, sizeof(cred), msg, sizeof(msg));
	explicit_bzero(cred, sizeof(cred));
	if (rc)
		return err_set(err, -rc, "%s", msg);
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", o->endpoint);
	if (s->endpoint[strlen(s->endpoint) - 1] == '/')
		s->endpoint[strlen(s->endpoint) - 1] = '\0';
	snprintf(s->chassis, sizeof(s->chassis), "%s", o->chassis ? o->chassis : "");
	snprintf(s->cred_file, sizeof(s->cred_file), "%s", o->cred_file);
	snprintf(s->ca_file, sizeof(s->ca_file), "%s", o->ca_file ? o->ca_file : "");
	s->insecure = o->insecure;
	s->timeout_ns = o->timeout_ns;
	s->body = malloc(RF_BODY_CAP + 1);
	s->curl = curl_easy_init();
	if (!s->body || !s->curl) {
		sess_free(s);
		return err_set(err, ENOMEM, "redfish: out of memory (libcurl)");
	}
	tmo = (long)(o->timeout_ns / 1000000);
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, tmo > 0 ? tmo : 1L);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, tmo > 0 ? tmo : 1L);
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(s->curl, CURLOPT_XFERINFODATA, s);
	if (s->ca_file[0])
		curl_easy_setopt(s->curl, CURLOPT_CAINFO, s->ca_file);
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYPEER, s->insecure ? 0L : 1L);
	curl_easy_setopt(s->curl, CURLOPT_SSL_VERIFYHOST, s->insecure ? 0L : 2L);
	return 0;
}

/* Status of the poll just done (the lock held). */
static void note_poll(struct rf_status *st, const struct rf_sess *s, int rc)
{
	st->polls++;
	st->kind = s->kind == RF_ENV ? "EnvironmentMetrics" : s->kind == RF_PSUB ? "PowerSubsystem" :
		   s->kind == RF_POWER ? "Power" : "";
	snprintf(st->resource, sizeof(st->resource), "%s", s->kind != RF_NONE ? s->path : "");
	if (rc == 0) {
		st->polls_ok++;
		st->last_err = -1;
		st->last_msg[0] = '\0';
		st->last_ok_ns = s->t_ns;
		st->last_watts = s->rd.watts;
		st->last_has_kwh = s->rd.have_kwh;
		st->last_rtt_ns = s->rtt_ns;
		return;
	}
	if (s->err >= 0 && s->err < RF_ERR_COUNT)
		st->errors[s->err]++;
	st->last_err = s->err;
	snprintf(st->last_msg, sizeof(st->last_msg), "%s", s->msg);
}

/* ---- the poller ----------------------------------------------------------------- */

static void *poller(void *arg)
{
	struct redfish *r = arg;
	uint64_t next = mono_ns();

	for (;;) {
		int rc = poll_once(&r->s);
		pthread_mutex_lock(&r->mu);
		if (rc == 0) {
			struct rf_point p = { .t_ns = r->s.t_ns, .watts = r->s.rd.watts,
					      .have_kwh = r->s.rd.have_kwh, .kwh = r->s.rd.kwh };
			if (rf_tl_add(&r->tl, &p) != 0) {
				rc = -ERANGE;
				r->s.err = RF_ERR_RANGE;
				snprintf(r->s.msg, sizeof(r->s.msg), "reading %g W at a time not after "
					 "the previous one: dropped", p.watts);
			}
		}
		note_poll(&r->st, &r->s, rc);
		next += r->interval_ns;
		uint64_t now = mono_ns();
		if (next < now) /* the poll took longer than the interval: poll again now */
			next = now;
		while (!atomic_load(&r->wk.stop) && mono_ns() < next) {
			struct timespec ts = { (time_t)(next / 1000000000ull),
					       (long)(next % 1000000000ull) };
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		}
		bool stop = atomic_load(&r->wk.stop);
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
	}
	return NULL;
}

struct redfish *redfish_open(const struct rf_opts *o, struct wl_err *err)
{
	struct redfish *r;
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		err_set(err, ENOMEM, "redfish: libcurl initialisation failed");
		return NULL;
	}
	r = wl_zalloc(sizeof(*r), "redfish", err);
	if (!r) {
		curl_global_cleanup();
		return NULL;
	}
	if (sess_init(&r->s, o, &r->wk.stop, err) != 0) {
		free(r);
		curl_global_cleanup();
		return NULL;
	}
	r->interval_ns = o->interval_ns;
	rf_tl_init(&r->tl, o->stale_ns, o->use_kwh);
	r->st.last_err = -1;
	r->st.kind = "";
	pthread_mutex_init(&r->mu, NULL);
	wl_cond_init_monotonic(&r->cv);
	rc = wl_worker_start(&r->wk, poller, r);
	if (rc) {
		err_set(err, -rc, "redfish: cannot start the poller thread: %s", strerror(-rc));
		redfish_close(r);
		return NULL;
	}
	return r;
}

void redfish_close(struct redfish *r)
{
	if (!r)
		return;
	wl_worker_stop(&r->wk, &r->mu, &r->cv);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	sess_free(&r->s);
	free(r);
	curl_global_cleanup();
}

void redfish_take(struct redfish *r, uint64_t now_ns, struct rf_take *t, struct rf_status *st)
{
	uint64_t lag;

	pthread_mutex_lock(&r->mu);
	lag = r->interval_ns + 2 * r->st.last_rtt_ns;
	if (lag > r->tl.stale_ns)
		lag = r->tl.stale_ns;
	rf_tl_take(&r->tl, now_ns, now_ns > lag ? now_ns - lag : 0, t);
	if (st)
		*st = r->st;
	pthread_mutex_unlock(&r->mu);
}

int redfish_probe(const struct rf_opts *o, struct rf_reading *rd, struct rf_status *st)
{
	struct rf_sess s;
	struct wl_err err = { "" };
	int rc;

	memset(st, 0, sizeof(*st));
	memset(rd, 0, sizeof(*rd));
	st->last_err = -1;
	st->kind = "";
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		st->last_err = RF_ERR_CONNECT;
		snprintf(st->last_msg, sizeof(st->last_msg), "libcurl initialisation failed");
		return -ENOMEM;
	}
	rc = sess_init(&s, o, NULL, &err);
	if (rc) {
		st->last_err = rc == -EINVAL ? RF_ERR_NO_SOURCE : RF_ERR_CREDENTIALS;
		snprintf(st->last_msg, sizeof(st->last_msg), "%s", err.msg);
		curl_global_cleanup();
		return rc;
	}
	rc = poll_once(&s);
	note_poll(st, &s, rc);
	*rd = s.rd;
	sess_free(&s);
	curl_global_cleanup();
	return rc;
}
