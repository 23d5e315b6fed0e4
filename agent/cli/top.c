/* top.c - `wattlet top` (see top.h). CLI code: it prints. */
#include "../common/caps.h"
#include "top.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../common/apiclient.h"
#include "../common/jsonget.h"
#include "../common/util.h"
#include "top_group.h"

#define TOP_BODY_CAP WL_CAP_HTTP_BODY
#define TOP_URL_MAX 2048
#define TOP_DEFAULT_URL "http://127.0.0.1:9102"

struct top_opts {
	char url[TOP_URL_MAX];
	double interval_s;
	long rows;
	bool once;
	bool wide;
	enum top_group group;
};

static void top_usage(FILE *f)
{
	fputs("usage: wattlet top [--url URL] [--interval DURATION] [-n ROWS] [--once]\n"
	      "                   [--group-by pod|namespace|owner] [--wide]\n"
	      "  --url URL          agent address (default " TOP_DEFAULT_URL ")\n"
	      "  --interval D       refresh period: 2s, 500ms, 1m (default 2s)\n"
	      "  -n ROWS            rows to show (default: fit the terminal)\n"
	      "  --once             print one frame and exit\n"
	      "  -g, --group-by G   sum rows per pod (namespace/pod), per namespace, or per\n"
	      "                     owner (namespace/Kind/name: Deployment, StatefulSet,\n"
	      "                     DaemonSet, Job, Pod for a bare pod); none (default): one row\n"
	      "                     per workload, named namespace/pod/container where the\n"
	      "                     agent knows it, else by its cgroup path\n"
	      "  -w, --wide         also show each row's owner and its whole cgroup path\n",
	      f);
}

/* "2s", "500ms", "1m", "1.5" (seconds) -> seconds; -EINVAL if not in (0, 3600]. */
static int parse_interval(const char *s, double *out)
{
	char num[32];
	size_t n = strspn(s, "0123456789.");
	const char *unit = s + n;
	double v, mult;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n);
	num[n] = '\0';
	if (parse_double(num, &v))
		return -EINVAL;
	if (*unit == '\0' || strcmp(unit, "s") == 0)
		mult = 1;
	else if (strcmp(unit, "ms") == 0)
		mult = 0.001;
	else if (strcmp(unit, "m") == 0)
		mult = 60;
	else
		return -EINVAL;
	v *= mult;
	if (!(v > 0) || v > 3600)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct top_opts *o)
{
	static const struct option longopts[] = {
		{"url", required_argument, NULL, 'u'},
		{"interval", required_argument, NULL, 'i'},
		{"rows", required_argument, NULL, 'n'},
		{"once", no_argument, NULL, '1'},
		{"group-by", required_argument, NULL, 'g'},
		{"wide", no_argument, NULL, 'w'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	snprintf(o->url, sizeof(o->url), "%s", TOP_DEFAULT_URL);
	o->interval_s = 2;
	o->rows = 0;
	o->once = false;
	o->wide = false;
	o->group = TOP_GROUP_NONE;
	optind = 1;
	while ((c = getopt_long(argc, argv, "u:i:n:g:wh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (strlen(optarg) >= sizeof(o->url) - 32 ||
			    (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))) {
				fprintf(stderr, "wattlet top: --url wants http://HOST:PORT, got '%s'\n",
					optarg);
				return 2;
			}
			snprintf(o->url, sizeof(o->url), "%s", optarg);
			break;
		case 'i':
			if (parse_interval(optarg, &o->interval_s)) {
				fprintf(stderr,
					"wattlet top: bad --interval '%s' (want e.g. 2s, 500ms)\n",
					optarg);
				return 2;
			}
			break;
		case 'n': {
			uint64_t v;
			if (parse_u64(optarg, &v) || v == 0 || v > 100000) {
				fprintf(stderr, "wattlet top: bad -n '%s' (want 1..100000)\n", optarg);
				return 2;
			}
			o->rows = (long)v;
			break;
		}
		case '1':
			o->once = true;
			break;
		case 'g':
			if (top_group_parse(optarg, &o->group)) {
				fprintf(stderr,
					"wattlet top: bad --group-by '%s' (want pod, namespace, owner "
					"or none)\n",
					optarg);
				return 2;
			}
			break;
		case 'w':
			o->wide = true;
			break;
		case 'h':
			top_usage(stdout);
			return 1;
		default:
			top_usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wattlet top: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	return 0;
}

/* Waits for a reply about as long as a frame lasts, within 3..30 s. */
static long fetch_timeout_ms(double interval_s)
{
	long ms = (long)(interval_s * 1000);

	return ms < 3000 ? 3000 : ms > 30000 ? 30000 : ms;
}

static int term_rows(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return 0;
}

static int term_cols(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 160;
}

/* Energy with a unit that keeps 4 significant-ish digits. */
static void fmt_joules(double j, char *out, size_t cap)
{
	if (j >= 1e9)
		snprintf(out, cap, "%.2fGJ", j / 1e9);
	else if (j >= 1e6)
		snprintf(out, cap, "%.2fMJ", j / 1e6);
	else if (j >= 1e4)
		snprintf(out, cap, "%.2fkJ", j / 1e3);
	else
		snprintf(out, cap, "%.2fJ", j);
}

/* The name column's title per grouping. */
static const char *const GROUP_TITLE[] = { "WORKLOAD", "POD", "NAMESPACE", "OWNER" };

/* Renders one frame from the parsed document. -1 if it is not a wattlet reply. */
static int render(const json_t *doc, const struct top_opts *o, bool clear, char *err,
		  size_t errcap)
{
	const json_t *node = json_object_get(doc, "node");
	const json_t *agent = json_object_get(doc, "agent");
	const json_t *wls = json_object_get(doc, "workloads");
	const json_t *zones, *zv;
	const char *zk;
	long rows = o->rows;
	int cols = term_cols(), namew, ownw = 5, widew = 8;
	size_t i, nw;
	struct top_row *rv;
	char tbuf[32], jbuf[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!json_is_object(node) || !json_is_object(agent) || !json_is_array(wls)) {
		snprintf(err, errcap, "reply from %.300s is not a wattlet workloads document",
			 o->url);
		return -1;
	}
	if (rows <= 0) {
		int tr = term_rows();
		rows = tr > 8 ? tr - 6 : 20;
	}
	localtime_r(&now, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);

	if (clear)
		fputs("\033[H\033[2J", stdout);
	printf("wattlet top - node %s  meter %s  usage %s  ticks %.0f  workloads %.0f live / "
	       "%.0f  %s%s\n",
	       jg_str_or(node, "name", "")[0] ? jg_str_or(node, "name", "") : "?",
	       jg_str_or(agent, "meter", ""), jg_str_or(agent, "usage_source", ""),
	       jg_num_or(agent, "ticks", 0), jg_num_or(agent, "workloads_live", 0),
	       jg_num_or(agent, "workloads_total", 0), tbuf,
	       json_is_true(json_object_get(agent, "ready")) ? "" : "  (not ready)");
	/* said loudly: zeros are not 0 W */
	if (strcmp(jg_str_or(agent, "energy_source", ""), "none") == 0)
		printf("NO ENERGY SOURCE on this node: no meter in use and no PowerModel with "
		       "estimated zones; energy below is 0 because nothing measures it "
		       "(wattlet probe says why; apply a PowerModel with estimated zones)\n");
	printf("node %.2f W (dynamic %.2f + idle %.2f):", jg_num_or(node, "watts", 0),
	       jg_num_or(node, "watts_dynamic", 0), jg_num_or(node, "watts_idle", 0));
	zones = json_object_get(node, "zones");
	json_object_foreach((json_t *)zones, zk, zv)
	{
		const json_t *d = json_object_get(zv, "dynamic"), *id = json_object_get(zv, "idle");
		printf("  %s %.2f W", zk, jg_num_or(d, "watts", 0) + jg_num_or(id, "watts", 0));
	}
	printf("\n");
	json_object_foreach((json_t *)zones, zk, zv) /* said plainly: a guess, not a measure */
		if (strcmp(jg_str_or(zv, "idle_source", ""), "fallback") == 0)
			printf("IDLE IS A GUESS for %s: %.2f W (source fallback: this node was never "
			       "quiet, so dynamic energy is understated). Set model.idle_watts.%s, or "
			       "let the node idle for a minute, or (Kubernetes) let a node of the same "
			       "hardware publish its NodeClassIdle (docs/models.md)\n",
			       zk, jg_num_or(zv, "idle_watts", 0), zk);
	printf("\n");

	if (top_rows_build(wls, o->group, &rv, &nw)) {
		snprintf(err, errcap, "out of memory");
		return -1;
	}
	if (o->group == TOP_GROUP_NONE) {
		namew = cols - 62;
		printf("%9s %9s %9s %11s %7s %-9s ", "WATTS", "DYN W", "IDLE W", "ENERGY", "CPU",
		       "KIND");
	} else {
		namew = cols - 60;
		printf("%9s %9s %9s %11s %7s %7s ", "WATTS", "DYN W", "IDLE W", "ENERGY", "CPU",
		       "ROWS");
	}
	if (namew < 20)
		namew = 20;
	/* wide: owner and name columns as wide as their longest shown value, then the
	 * whole cgroup path */
	for (i = 0; o->wide && i < nw && (long)i < rows; i++) {
		if ((int)strlen(rv[i].owner) > ownw)
			ownw = (int)strlen(rv[i].owner);
		if ((int)strlen(rv[i].name) > widew)
			widew = (int)strlen(rv[i].name);
	}
	if (o->wide && o->group == TOP_GROUP_NONE)
		printf("%-*s %-*s %s\n", ownw, "OWNER", widew, "WORKLOAD", "CGROUP");
	else
		puts(GROUP_TITLE[o->group]);
	for (i = 0; i < nw && (long)i < rows; i++) {
		const struct top_row *r = &rv[i];
		size_t len = strlen(r->name);

		fmt_joules(r->joules, jbuf, sizeof(jbuf));
		printf("%9.2f %9.2f %9.2f %11s %7.2f ", r->watts, r->watts_dynamic, r->watts_idle,
		       jbuf, r->cpu_cores);
		if (o->group == TOP_GROUP_NONE)
			printf("%-9s ", r->kind);
		else
			printf("%7zu ", r->members);
		if (o->wide && o->group == TOP_GROUP_NONE)
			printf("%-*s %-*s %s", ownw, r->owner[0] ? r->owner : "-", widew, r->name,
			       r->key);
		else if ((int)len > namew) /* long names: keep the tail, which says most */
			printf("...%s", r->name + len - (size_t)(namew - 3));
		else
			fputs(r->name, stdout);
		puts(r->terminated ? " (terminated)" : "");
	}
	if (nw > i)
		printf("... %zu more\n", nw - i);
	top_rows_free(rv, nw);
	fflush(stdout);
	return 0;
}

static void sleep_s(double s)
{
	struct timespec ts = {.tv_sec = (time_t)s,
			      .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int top_main(int argc, char **argv)
{
	struct top_opts o;
	struct wl_err err = { "" };
	struct api_client *c = NULL;
	int rc, frames = 0, ret = 1;

	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "wattlet top: cannot initialise libcurl\n");
		return 1;
	}
	c = api_client_new(o.url, TOP_BODY_CAP, &err);
	if (!c) {
		fprintf(stderr, "wattlet top: %s\n", err.msg);
		goto cleanup;
	}
	for (;;) {
		json_t *doc = NULL;
		json_error_t jerr;
		const char *body;
		size_t len;

		rc = api_client_get(c, fetch_timeout_ms(o.interval_s), &body, &len, &err);
		if (rc == 0) {
			doc = json_loadb(body, len, 0, &jerr);
			if (!doc) {
				snprintf(err.msg, sizeof(err.msg), "reply from %s is not JSON: %s "
					 "(line %d)", api_client_url(c), jerr.text, jerr.line);
				rc = -1;
			} else {
				rc = render(doc, &o, !o.once, err.msg, sizeof(err.msg));
				json_decref(doc);
			}
		}
		if (rc) {
			/* first frame: fail clearly; later: keep trying (agent restarts) */
			fprintf(stderr, "wattlet top: %s\n", err.msg);
			if (o.once || frames == 0)
				goto cleanup;
		} else {
			frames++;
		}
		if (o.once)
			break;
		sleep_s(o.interval_s);
	}
	ret = 0;

cleanup:
	api_client_free(c);
	curl_global_cleanup();
	return ret;
}
