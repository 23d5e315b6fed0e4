/* validate.c - the `wattlet validate` command line (printing lives here; the work is
 * in agent/validate). */
#include "../common/caps.h"
#include "validate_cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cgroup/cgroup.h"
#include "../config/config.h"
#include "../kube/kube_config.h"
#include "../validate/validate.h"
#include "cli_config.h"

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_REFUSED = 3, EXIT_ERROR = 4 };

/* Set by SIGINT/SIGTERM; the run stops at its next poll and cleans up. */
static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fputs("usage: wattlet validate node [OPTIONS]\n"
	      "       wattlet validate workload [OPTIONS] -- CMD [ARGS...]\n"
	      "       wattlet validate workload [OPTIONS] --deployment NS/NAME\n"
	      "\n"
	      "Checks a running agent against an independent sampler that reads the same energy\n"
	      "meter itself (same meter options as the agent: -c/--set/--powercap-root).\n"
	      "  node      N windows of D seconds; the agent's node power vs the sampler's, per zone\n"
	      "  workload  baseline (no workload), then K steps each starting one more instance of\n"
	      "            CMD in its own new cgroup; per step the node power delta (sampler) vs\n"
	      "            the dynamic power the agent gave the new instance (the talk's table);\n"
	      "            with --deployment, each step is one more replica of a Deployment\n"
	      "            (scaled to 0 for the baseline, restored afterwards)\n"
	      "\n"
	      "Options:\n"
	      "      --url URL               the agent (default http://127.0.0.1:9102)\n"
	      "      --samples N             windows per phase (default 5; 2..1000)\n"
	      "      --duration D            window length (default 5s; rounded to agent ticks)\n"
	      "      --settle D              workload: wait after starting an instance (default 3s)\n"
	      "      --steps K               workload: instances to add (default 3; 1..16)\n"
	      "      --zone Z                workload: zone judged (default package)\n"
	      "      --node-threshold PCT    node: allowed |deviation| (default 1)\n"
	      "      --workload-threshold PCT  workload: allowed |deviation| (default 5)\n"
	      "      --max-noise F           refuse to judge when the baseline's 95 % CI half-width\n"
	      "                              is above F x the smallest step (default 0.10)\n"
	      "      --min-step W            refuse to judge when a step is below W watts (0.05)\n"
	      "      --max-other-bias F      refuse to judge when the CPU used outside the\n"
	      "                              instances changes between phases or within one by\n"
	      "                              more than F x the workload threshold x the step's\n"
	      "                              own CPU (default 0.5: 0.0075 cores for a 0.3-core\n"
	      "                              step at 5 %); 1000 turns the rule off\n"
	      "      --attempts N            workload: when refused as too noisy, measure again,\n"
	      "                              up to N runs in all (default 1; 1..10)\n"
	      "      --deployment NS/NAME    workload: scale this Deployment 0, 1, .., K\n"
	      "      --kubeconfig FILE       API access for --deployment (default: in-cluster,\n"
	      "                              $KUBECONFIG, ~/.kube/config)\n"
	      "      --node NAME             the node sampled here (default kubernetes.node_name,\n"
	      "                              $NODE_NAME, the hostname); new pods elsewhere fail\n"
	      "      --ready-timeout D       wait at most D for pods at each step (default 180s)\n"
	      "      --json FILE             also write the report there (\"-\": stdout)\n"
	      "      --no-state              do not update validate.result_file\n"
	      "  -q, --quiet                 no progress lines\n"
	      "  -c, --config FILE           agent configuration (default " CLI_DEFAULT_CONFIG
	      " if it exists)\n"
	      "      --set KEY=VALUE         any configuration key (meter.*, cgroup.*, validate.*)\n"
	      "      --powercap-root DIR     same as --set meter.powercap_root=DIR\n"
	      "      --meter-order LIST      same as --set meter.order=LIST\n"
	      "  -h, --help                  this help\n"
	      "Exit status: 0 passed, 1 failed, 2 bad usage, 3 refused to judge (too noisy, or\n"
	      "the CPU used outside the instances changed),\n"
	      "4 could not run. See docs/validation.md.\n",
	      f);
}

enum {
	O_URL = 256, O_SAMPLES, O_DURATION, O_SETTLE, O_STEPS, O_ZONE, O_NODE_THR, O_WL_THR,
	O_NOISE, O_MIN_STEP, O_JSON, O_NO_STATE, O_SET, O_POWERCAP, O_METER_ORDER,
	O_DEPLOY, O_KUBECONFIG, O_NODE, O_READY, O_ATTEMPTS, O_OTHER_BIAS,
};

static const struct option opts[] = {
	{ "url", required_argument, NULL, O_URL },
	{ "samples", required_argument, NULL, O_SAMPLES },
	{ "duration", required_argument, NULL, O_DURATION },
	{ "settle", required_argument, NULL, O_SETTLE },
	{ "steps", required_argument, NULL, O_STEPS },
	{ "zone", required_argument, NULL, O_ZONE },
	{ "node-threshold", required_argument, NULL, O_NODE_THR },
	{ "workload-threshold", required_argument, NULL, O_WL_THR },
	{ "max-noise", required_argument, NULL, O_NOISE },
	{ "min-step", required_argument, NULL, O_MIN_STEP },
	{ "max-other-bias", required_argument, NULL, O_OTHER_BIAS },
	{ "json", required_argument, NULL, O_JSON },
	{ "deployment", required_argument, NULL, O_DEPLOY },
	{ "attempts", required_argument, NULL, O_ATTEMPTS },
	{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
	{ "node", required_argument, NULL, O_NODE },
	{ "ready-timeout", required_argument, NULL, O_READY },
	{ "no-state", no_argument, NULL, O_NO_STATE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "config", required_argument, NULL, 'c' },
	{ "set", required_argument, NULL, O_SET },
	{ "powercap-root", required_argument, NULL, O_POWERCAP },
	{ "meter-order", required_argument, NULL, O_METER_ORDER },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct vcli {
	struct config cfg;
	struct validate_opts vo;
	const char *json_path;
	bool no_state, quiet, workload;
	char **cmd;
	const char *deployment;  /* NS/NAME */
	const char *kubeconfig;
	const char *node;
	uint64_t ready_ms;
	int attempts;            /* workload: measure again while refused, up to this many */
};

static int num_arg(const char *flag, const char *s, double lo, double hi, double *out)
{
	if (parse_double(s, out) != 0 || *out < lo || *out > hi) {
		fprintf(stderr, "wattlet validate: %s: '%s' is not a number in %g..%g\n", flag, s, lo,
			hi);
		return -1;
	}
	return 0;
}

static int set_key(struct config *c, const char *key, const char *value)
{
	return cli_config_set(c, "wattlet validate", key, value);
}

static int parse(struct vcli *v, int argc, char **argv)
{
	const char *config_path = NULL;
	double d;
	uint64_t ms;
	int opt, rc;

	config_defaults(&v->cfg);
	validate_opts_default(&v->vo);
	v->attempts = 1;
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			usage(stdout);
			exit(0);
		}
		usage(stderr);
		return -1;
	}
	if (strcmp(argv[1], "node") == 0)
		v->workload = false;
	else if (strcmp(argv[1], "workload") == 0)
		v->workload = true;
	else {
		fprintf(stderr, "wattlet validate: unknown kind '%s' (node or workload)\n", argv[1]);
		return -1;
	}
	argc--;
	argv++;
	/* pass 1: the config file */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+qc:h", opts, NULL)) != -1) {
		if (opt == 'c')
			config_path = optarg;
		else if (opt == O_DEPLOY)
			v->deployment = optarg;
		else if (opt == 'h') {
			usage(stdout);
			exit(0);
		} else if (opt == '?') {
			fprintf(stderr, "wattlet validate: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		if (!v->workload || strcmp(argv[optind - 1], "--") != 0) {
			fprintf(stderr, "wattlet validate: unexpected argument '%s'%s\n", argv[optind],
				v->workload ? " (put the command after --)" : "");
			return -1;
		}
		v->cmd = argv + optind;
	}
	if (v->workload && !v->cmd && !v->deployment) {
		fprintf(stderr, "wattlet validate workload: no command and no --deployment (wattlet "
				"validate workload [OPTIONS] -- CMD [ARGS...], or --deployment NS/NAME)\n");
		return -1;
	}
	if (v->deployment && (!v->workload || v->cmd)) {
		fprintf(stderr, "wattlet validate: --deployment is for `validate workload`, without "
				"a command\n");
		return -1;
	}
	if (cli_config_load(&v->cfg, "wattlet validate", config_path))
		return -1;
	/* pass 2: everything else, in order */
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+qc:h", opts, NULL)) != -1) {
		rc = 0;
		switch (opt) {
		case O_URL: v->vo.url = optarg; break;
		case O_SAMPLES:
			rc = num_arg("--samples", optarg, 2, VALIDATE_MAX_SAMPLES, &d);
			v->vo.samples = (size_t)d;
			break;
		case O_STEPS:
			rc = num_arg("--steps", optarg, 1, VALIDATE_MAX_STEPS, &d);
			v->vo.steps = (int)d;
			break;
		case O_DURATION:
		case O_SETTLE:
			if (parse_duration_ms(optarg, &ms) != 0 || (opt == O_DURATION && ms < 100)) {
				fprintf(stderr, "wattlet validate: %s: '%s' is not a duration (e.g. 5s%s)\n",
					opt == O_DURATION ? "--duration" : "--settle", optarg,
					opt == O_DURATION ? ", at least 100ms" : "");
				rc = -1;
			} else if (opt == O_DURATION) {
				v->vo.sample_ms = ms;
			} else {
				v->vo.settle_ms = ms;
			}
			break;
		case O_ZONE: {
			int z = zone_from_name(optarg);
			if (z < 0) {
				fprintf(stderr, "wattlet validate: --zone: unknown zone '%s'\n", optarg);
				rc = -1;
			} else {
				v->vo.zone = (enum zone)z;
			}
			break;
		}
		case O_NODE_THR: rc = num_arg("--node-threshold", optarg, 0, 1000, &v->vo.thr.node_pct); break;
		case O_WL_THR: rc = num_arg("--workload-threshold", optarg, 0, 1000, &v->vo.thr.workload_pct); break;
		case O_NOISE: rc = num_arg("--max-noise", optarg, 0, 100, &v->vo.thr.max_noise); break;
		case O_MIN_STEP: rc = num_arg("--min-step", optarg, 0, 100000, &v->vo.thr.min_step_w); break;
		case O_OTHER_BIAS: rc = num_arg("--max-other-bias", optarg, 0, 1000, &v->vo.thr.max_other_bias); break;
		case O_JSON: v->json_path = optarg; break;
		case O_DEPLOY: v->deployment = optarg; break;
		case O_ATTEMPTS:
			rc = num_arg("--attempts", optarg, 1, 10, &d);
			v->attempts = (int)d;
			break;
		case O_KUBECONFIG: v->kubeconfig = optarg; break;
		case O_NODE: v->node = optarg; break;
		case O_READY:
			if (parse_duration_ms(optarg, &ms) != 0 || ms < 1000) {
				fprintf(stderr, "wattlet validate: --ready-timeout: '%s' is not a duration "
						"of at least 1s\n", optarg);
				rc = -1;
			} else {
				v->ready_ms = ms;
			}
			break;
		case O_NO_STATE: v->no_state = true; break;
		case 'q': v->quiet = true; break;
		case O_SET: rc = cli_config_set_arg(&v->cfg, "wattlet validate", optarg); break;
		case O_POWERCAP: rc = set_key(&v->cfg, "meter.powercap_root", optarg); break;
		case O_METER_ORDER: rc = set_key(&v->cfg, "meter.order", optarg); break;
		default: break;
		}
		if (rc)
			return -1;
	}
	if (cli_config_validate(&v->cfg, "wattlet validate"))
		return -1;
	memcpy(v->vo.meter.order, v->cfg.meter_order, sizeof(v->vo.meter.order));
	v->vo.meter.n_order = v->cfg.meter_n_order;
	v->vo.meter.sysfs_root = v->cfg.sysfs_root;
	v->vo.meter.powercap_root = v->cfg.powercap_root[0] ? v->cfg.powercap_root : NULL;
	v->vo.meter.dev_root = v->cfg.dev_root;
	v->vo.meter.max_watts = v->cfg.meter_max_watts;
	v->vo.meter.proc_root = v->cfg.proc_root;
	return 0;
}

static void on_progress(void *ctx, const char *msg)
{
	(void)ctx;
	printf("  %s\n", msg);
	fflush(stdout);
}

static void zone_list(uint32_t mask, char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (int z = 0; z < ZONE_COUNT; z++)
		if ((mask & (1u << z)) && len + 16 < cap)
			len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? " " : "",
						zone_name((enum zone)z));
	if (!buf[0])
		snprintf(buf, cap, "(none)");
}

static void print_checks(const struct validate_checks *c)
{
	char zones[128];

	zone_list(c->zone_mask, zones, sizeof(zones));
	printf("correctness checks\n");
	printf("  cpu:      %s (%s), %s, %ld online CPUs, %s\n", c->cpu_model, c->cpu_vendor,
	       c->arch, c->cpus, c->kernel);
	printf("  meter:    %s: %s%s\n", c->meter[0] ? c->meter : "none", c->meter_detail,
	       c->simulated ? "  [SIMULATED meter, not hardware]" : "");
	printf("  zones:    %s\n", zones);
	printf("  sanity:   %s: %s (%llu windows)\n", c->sane ? "ok" : "PROBLEM", c->notes,
	       (unsigned long long)c->windows);
}

static void print_node(const struct validate_report *r)
{
	printf("node power: agent vs independent sampler (%zu x %.3g s windows)\n", r->samples,
	       r->sample_s);
	printf("  %-9s %-24s %-24s %11s  %s\n", "zone", "sampler W (mean +- CI95)",
	       "wattlet W (mean +- CI95)", "deviation", "result");
	for (int z = 0; z < ZONE_COUNT; z++) {
		const struct vzone_result *zr = &r->zones[z];
		char a[32], b[32];
		if (!(r->zone_mask & (1u << z)))
			continue;
		snprintf(a, sizeof(a), "%.4f +- %.4f", zr->sampler_w.mean, zr->sampler_w.ci95);
		snprintf(b, sizeof(b), "%.4f +- %.4f", zr->agent_w.mean, zr->agent_w.ci95);
		printf("  %-9s %-24s %-24s %+10.3f%%  %s\n", zone_name((enum zone)z), a, b,
		       zr->deviation_pct, zr->pass ? "pass" : "FAIL");
	}
}

static void print_workload(const struct validate_report *r)
{
	printf("workload power, zone %s: node power delta (sampler) vs wattlet's dynamic power of "
	       "the new instance\n", zone_name(r->zone));
	printf("  baseline: %.3f W +- %.3f W (95 %% CI, %zu x %.3g s)", r->baseline_w.mean,
	       r->baseline_w.ci95, r->baseline_w.n, r->sample_s);
	if (r->other_known)
		printf("; other CPU %.3f cores, drift %+.3f", r->baseline_other.cores.mean,
		       r->baseline_other.drift);
	printf("\n  %-4s %-10s %-20s %-20s %-20s %-26s %s\n", "step", "node W", "sampler delta W",
	       "wattlet workload W", "deviation (CI95)", "other CPU (change/limit)", "result");
	for (int i = 0; i < r->n_steps; i++) {
		const struct vstep_result *s = &r->steps[i];
		char a[32], b[32], d[40], o[64];
		if (s->node_w.n == 0)
			continue;
		snprintf(a, sizeof(a), "%.3f +- %.3f", s->delta_w, s->delta_ci95);
		snprintf(b, sizeof(b), "%.3f +- %.3f", s->wattlet_w.mean, s->wattlet_w.ci95);
		snprintf(d, sizeof(d), "%+.2f%% +- %.2f", s->deviation_pct, s->deviation_ci95);
		if (r->other_known)
			snprintf(o, sizeof(o), "%.3f (%+.3f/%.4f)", s->other.cores.mean,
				 s->other_change, s->other_limit);
		else
			snprintf(o, sizeof(o), "unknown");
		printf("  %d->%-2d %-10.3f %-20s %-20s %-20s %-26s %s\n", s->step - 1, s->step,
		       s->node_w.mean, a, b, d, o,
		       r->verdict == VERDICT_REFUSED ? "-" : s->pass ? "pass" : "FAIL");
	}
	printf("  (other CPU: cores used outside the instances; refused when a change or a drift "
	       "exceeds the limit)\n");
}

static int write_json(const char *path, const struct validate_report *r)
{
	struct strbuf sb;
	FILE *f;
	int rc;

	strbuf_init(&sb, WL_CAP_SCRATCH);
	rc = validate_report_json(r, &sb);
	if (rc) {
		fprintf(stderr, "wattlet validate: cannot render the report: %s\n", strerror(-rc));
		strbuf_release(&sb);
		return -1;
	}
	if (strcmp(path, "-") == 0) {
		fputs(sb.buf, stdout);
		strbuf_release(&sb);
		return 0;
	}
	f = fopen(path, "we");
	if (!f || fputs(sb.buf, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "wattlet validate: cannot write %s: %s\n", path, strerror(errno));
		strbuf_release(&sb);
		return -1;
	}
	strbuf_release(&sb);
	return 0;
}

/* The workload target: --deployment (Kubernetes) or the command in cgroups. desc gets
 * what is scaled, for the report. Prints the plan. */
static int open_target(struct vcli *v, struct vtarget *t, struct kube_config **kc, char *desc,
		       size_t cap, struct wl_err *err)
{
	if (v->deployment) {
		struct kube_config_opts ko = { .kubeconfig = v->kubeconfig ? v->kubeconfig :
							     v->cfg.kubeconfig[0] ? v->cfg.kubeconfig : NULL };
		struct vtarget_kube_opts to = { 0 };
		char ns[256], node[256] = "";
		const char *slash = strchr(v->deployment, '/');
		int rc;

		if (!slash || slash == v->deployment || (size_t)(slash - v->deployment) >= sizeof(ns))
			return err_set(err, EINVAL, "--deployment wants NAMESPACE/NAME, got '%s'",
				       v->deployment);
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - v->deployment), v->deployment);
		if (v->node)
			snprintf(node, sizeof(node), "%s", v->node);
		else if (v->cfg.node_name[0])
			snprintf(node, sizeof(node), "%s", v->cfg.node_name);
		else if (getenv("NODE_NAME") && *getenv("NODE_NAME"))
			snprintf(node, sizeof(node), "%s", getenv("NODE_NAME"));
		else if (gethostname(node, sizeof(node) - 1) != 0)
			node[0] = '\0';
		*kc = kube_config_load(&ko, err);
		if (!*kc)
			return -EINVAL;
		to.kc = *kc;
		to.ns = ns;
		to.name = slash + 1;
		to.node = node;
		to.ready_timeout_ms = v->ready_ms;
		to.stop = &stop_flag;
		rc = vtarget_kube_new(t, &to, err);
		if (rc)
			return rc;
		snprintf(desc, cap, "deployment %s", v->deployment);
		printf("wattlet validate workload: agent %s; deployment %s scaled 0 -> %d on node "
		       "%s (API server %s)\n", v->vo.url, v->deployment, v->vo.steps,
		       node[0] ? node : "(any)", kube_config_server(*kc));
		return 0;
	}
	{
		struct cg_layout layout;
		char relbase[64];
		size_t len = 0;
		int rc;

		rc = cg_layout_detect(v->cfg.cgroup_root, v->cfg.cgroup_hierarchy, &layout, err);
		if (rc)
			return rc;
		snprintf(relbase, sizeof(relbase), "/wattlet-validate-%d", (int)getpid());
		rc = vtarget_cgroup_new(t, layout.cpu_root, relbase, (const char *const *)v->cmd, err);
		if (rc)
			return rc;
		desc[0] = '\0';
		for (char **a = v->cmd; *a && len + 2 < cap; a++)
			len += (size_t)snprintf(desc + len, cap - len, "%s%s", len ? " " : "", *a);
		printf("wattlet validate workload: agent %s; %d step(s) of `%s` in cgroups under "
		       "%s%s\n", v->vo.url, v->vo.steps, desc, layout.cpu_root, relbase);
		return 0;
	}
}

int validate_main(int argc, char **argv)
{
	struct vcli *v = calloc(1, sizeof(*v));
	struct validate_report *r = calloc(1, sizeof(*r));
	struct wl_err err = { "" };
	struct vtarget t = { 0 };
	struct kube_config *kc = NULL;
	struct sigaction sa = { 0 };
	int rc, status = EXIT_ERROR;

	if (!v || !r) {
		fprintf(stderr, "wattlet validate: out of memory\n");
		free(v);
		free(r);
		return EXIT_ERROR;
	}
	if (parse(v, argc, argv) != 0) {
		status = EXIT_USAGE;
		goto cleanup;
	}
	sa.sa_handler = on_stop; /* no SA_RESTART: sleeps end early */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	v->vo.stop = &stop_flag;
	if (!v->quiet) {
		v->vo.progress = on_progress;
		setvbuf(stdout, NULL, _IOLBF, 0);
	}

	if (!v->workload) {
		printf("wattlet validate node: agent %s\n", v->vo.url);
		rc = validate_node(&v->vo, r, &err);
	} else {
		char cmd[sizeof(r->command)];
		for (int attempt = 1;; attempt++) {
			if (open_target(v, &t, &kc, cmd, sizeof(cmd), &err) != 0) {
				fprintf(stderr, "wattlet validate: %s\n", err.msg);
				goto cleanup;
			}
			rc = validate_workload(&v->vo, &t, r, &err);
			memcpy(r->command, cmd, sizeof(cmd)); /* the run resets the report */
			r->attempt = attempt;
			vtarget_close(&t); /* always: kills the instances / restores the replicas */
			kube_config_free(kc);
			kc = NULL;
			if (rc || r->verdict != VERDICT_REFUSED || attempt >= v->attempts || stop_flag)
				break;
			printf("attempt %d of %d: %s\n  measuring again\n", attempt, v->attempts,
			       r->reason);
		}
	}
	print_checks(&r->checks);
	if (rc == 0) {
		if (!v->workload)
			print_node(r);
		else
			print_workload(r);
	}
	printf("verdict: %s: %s\n", r->verdict == VERDICT_REFUSED ? "REFUSED" :
	       r->verdict == VERDICT_PASS ? "PASS" : r->verdict == VERDICT_FAIL ? "FAIL" : "ERROR",
	       r->reason);
	if (v->json_path && write_json(v->json_path, r) != 0)
		rc = rc ? rc : -EIO;
	if (rc == 0 && !v->no_state && v->cfg.validate_result_file[0]) {
		if (validate_state_store(v->cfg.validate_result_file, r, &err) != 0)
			fprintf(stderr, "wattlet validate: warning: result not stored: %s\n", err.msg);
		else
			printf("result stored in %s (exported by the agent as wattlet_validation_*)\n",
			       v->cfg.validate_result_file);
	}
	if (rc != 0) {
		fprintf(stderr, "wattlet validate: %s\n", err.msg[0] ? err.msg : strerror(-rc));
		status = EXIT_ERROR;
	} else {
		status = r->verdict == VERDICT_PASS ? EXIT_PASS :
			 r->verdict == VERDICT_FAIL ? EXIT_FAIL :
			 r->verdict == VERDICT_REFUSED ? EXIT_REFUSED : EXIT_ERROR;
	}
cleanup:
	vtarget_close(&t);
	kube_config_free(kc);
	free(v);
	free(r);
	return status;
}
