/* main.c - the wattlet command line: run, probe, top, config, version, help. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../cgroup/cgroup.h"
#include "../config/config.h"
#include "../kube/kube_classidle.h"
#include "../meter/meter.h"
#include "../usage/usage.h"
#include "daemon.h"
#include "gpu_stage.h"
#include "redfish_stage.h"
#include "log.h"
#include "model_cmd.h"
#include "top.h"
#include "cli_config.h"
#include "validate_cli.h"

static void usage_text(FILE *f)
{
	fputs("wattlet - per-workload energy measurement for Linux nodes and Kubernetes\n"
	      "\n"
	      "Usage: wattlet COMMAND [OPTIONS]\n"
	      "\n"
	      "Commands:\n"
	      "  run       run the agent: read meters, attribute energy to cgroups, serve\n"
	      "            /metrics, /healthz, /readyz, /api/v1/workloads and the live\n"
	      "            page /ui\n"
	      "  probe     show the meters, cgroup layout, eBPF and hardware-counter support\n"
	      "            found on this host, which are used, and why the others are not\n"
	      "  top       live view of the busiest workloads of a running agent\n"
	      "            (wattlet top --help for its options)\n"
	      "  config    print the effective configuration (defaults + file + flags) as YAML\n"
	      "  version   print the version\n"
	      "  validate  check a running agent against an independent meter sampler: node\n"
	      "            power, and per-workload power as instances are added step by step\n"
	      "            (wattlet validate --help)\n"
	      "  model     fit a PowerModel to a recording, or check one (wattlet model --help)\n"
	      "\n"
	      "Options for run, probe and config:\n"
	      "  -c, --config FILE        YAML configuration (default " CLI_DEFAULT_CONFIG
	      " if it exists)\n"
	      "      --set KEY=VALUE      set any configuration key, e.g. --set ledger.retention=1h\n"
	      "                           (repeatable; applied after the file)\n"
	      "      --listen ADDR        same as --set listen=ADDR (\"\" disables HTTP)\n"
	      "      --tick DURATION      same as --set tick=DURATION\n"
	      "      --powercap-root DIR  same as --set meter.powercap_root=DIR\n"
	      "      --meter-order LIST   same as --set meter.order=LIST (e.g. powercap,hwmon)\n"
	      "      --usage-source SRC   same as --set usage.source=SRC (auto, ebpf, cgroup)\n"
	      "      --checkpoint PATH    same as --set ledger.checkpoint=PATH (\"\" disables)\n"
	      "      --idle-policy P      same as --set attribution.idle_policy=P\n"
	      "      --kepler-compat      same as --set metrics.kepler_compat=true\n"
	      "  -v, --log-level LEVEL    same as --set log.level=LEVEL (error, warn, info, debug)\n"
	      "      --duration DURATION  run: stop after DURATION (default: until SIGTERM)\n"
	      "      --node-name NAME     run: node name in metrics (default: hostname)\n"
	      "      --record FILE        run: write per-tick energy and usage for `wattlet model fit`\n"
	      "      --model FILE         same as --set model.file=FILE (a PowerModel YAML)\n"
	      "  -h, --help               this help\n"
	      "\n"
	      "Configuration keys, defaults and metrics: see README.md, docs/config.md and\n"
	      "docs/metrics.md. Exit status: 0 ok, 1 runtime failure, 2 bad usage or config.\n",
	      f);
}

struct cli {
	struct config cfg;
	struct daemon_opts dopts;
};

enum {
	OPT_SET = 256,
	OPT_LISTEN,
	OPT_TICK,
	OPT_POWERCAP,
	OPT_METER_ORDER,
	OPT_USAGE_SOURCE,
	OPT_CHECKPOINT,
	OPT_IDLE_POLICY,
	OPT_KEPLER,
	OPT_DURATION,
	OPT_NODE_NAME,
	OPT_RECORD,
	OPT_MODEL,
};

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "set", required_argument, NULL, OPT_SET },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "tick", required_argument, NULL, OPT_TICK },
	{ "powercap-root", required_argument, NULL, OPT_POWERCAP },
	{ "meter-order", required_argument, NULL, OPT_METER_ORDER },
	{ "usage-source", required_argument, NULL, OPT_USAGE_SOURCE },
	{ "checkpoint", required_argument, NULL, OPT_CHECKPOINT },
	{ "idle-policy", required_argument, NULL, OPT_IDLE_POLICY },
	{ "kepler-compat", no_argument, NULL, OPT_KEPLER },
	{ "log-level", required_argument, NULL, 'v' },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "node-name", required_argument, NULL, OPT_NODE_NAME },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int set_key(struct config *c, const char *key, const char *value)
{
	return cli_config_set(c, "wattlet", key, value);
}

/* Two passes: the config file first (wherever -c appears), then flags in order. */
static int parse_options(struct cli *cli, int argc, char **argv)
{
	const char *config_path = NULL;
	int opt;

	config_defaults(&cli->cfg);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:v:h", long_opts, NULL)) != -1) {
		if (opt == 'c')
			config_path = optarg;
		else if (opt == 'h') {
			usage_text(stdout);
			exit(0);
		} else if (opt == '?') {
			fprintf(stderr, "wattlet: unknown or incomplete option '%s' (see wattlet --help)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wattlet: unexpected argument '%s' (see wattlet --help)\n", argv[optind]);
		return -1;
	}
	if (cli_config_load(&cli->cfg, "wattlet", config_path))
		return -1;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:v:h", long_opts, NULL)) != -1) {
		int rc = 0;
		switch (opt) {
		case OPT_SET: rc = cli_config_set_arg(&cli->cfg, "wattlet", optarg); break;
		case OPT_LISTEN: rc = set_key(&cli->cfg, "listen", optarg); break;
		case OPT_TICK: rc = set_key(&cli->cfg, "tick", optarg); break;
		case OPT_POWERCAP: rc = set_key(&cli->cfg, "meter.powercap_root", optarg); break;
		case OPT_METER_ORDER: rc = set_key(&cli->cfg, "meter.order", optarg); break;
		case OPT_USAGE_SOURCE: rc = set_key(&cli->cfg, "usage.source", optarg); break;
		case OPT_CHECKPOINT: rc = set_key(&cli->cfg, "ledger.checkpoint", optarg); break;
		case OPT_IDLE_POLICY: rc = set_key(&cli->cfg, "attribution.idle_policy", optarg); break;
		case OPT_KEPLER: rc = set_key(&cli->cfg, "metrics.kepler_compat", "true"); break;
		case 'v': rc = set_key(&cli->cfg, "log.level", optarg); break;
		case OPT_DURATION:
			if (parse_duration_ms(optarg, &cli->dopts.duration_ms) != 0 ||
			    cli->dopts.duration_ms == 0) {
				fprintf(stderr, "wattlet: --duration: '%s' is not a positive duration "
						"(e.g. 30s, 5m)\n", optarg);
				return -1;
			}
			break;
		case OPT_NODE_NAME: cli->dopts.node_name = optarg; break;
		case OPT_RECORD: cli->dopts.record_path = optarg; break;
		case OPT_MODEL: rc = set_key(&cli->cfg, "model.file", optarg); break;
		default: break;
		}
		if (rc)
			return -1;
	}
	if (cli_config_validate(&cli->cfg, "wattlet"))
		return -1;
	log_set_level(cli->cfg.log_level);
	return 0;
}

static void print_cpu_model(void)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "re");
	struct utsname u;

	if (uname(&u) == 0)
		printf("  kernel:   %s %s (%s)\n", u.sysname, u.release, u.machine);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');
			if (v) {
				v[strcspn(v, "\n")] = '\0';
				printf("  cpu:      %s, %ld online CPUs\n", v + 2, sysconf(_SC_NPROCESSORS_ONLN));
			}
			break;
		}
	}
	fclose(f);
}

/* Where idle power will come from, said plainly, and the hardware class key. */
static void idle_probe_print(const struct config *c)
{
	struct wl_err err = { "" };
	struct ci_hw hw;
	char key[CI_KEY_MAX];
	int n = 0;

	printf("idle power\n");
	for (int z = 0; z < ZONE_COUNT; z++)
		if (c->idle_watts[z] >= 0) {
			printf("  %-9s configured %.2f W (model.idle_watts.%s)\n", zone_name(z),
			       c->idle_watts[z], zone_name(z));
			n++;
		}
	printf("  %s: learned while running from (power, utilisation): a fit over a spread of\n"
	       "     load or the power at low load. A node that is never quiet gets a \"fallback\"\n"
	       "     (too high: dynamic energy understated) unless a PowerModel gives idle,\n"
	       "     model.idle_watts is set, or in Kubernetes a node of the same hardware class\n"
	       "     published its idle (NodeClassIdle, source \"class\"; docs/models.md)\n",
	       n ? "other zones" : "all zones");
	if (strcmp(c->idle_class, "off") == 0)
		printf("  class:    off (model.idle_class: off)\n");
	else if (ci_hw_read(c->proc_root, &hw, &err) != 0)
		printf("  class:    unknown: %s\n", err.msg);
	else if (ci_class_key(&hw, NULL, c->idle_class, key, sizeof(key), &err) != 0)
		printf("  class:    %s\n", err.msg);
	else
		printf("  class:    %s (%s; %u sockets, %u cpus, %u GiB)%s\n", key, hw.cpu_model,
		       hw.sockets, hw.cpus, hw.mem_gib,
		       c->idle_class[0] ? " from model.idle_class"
				       : "; in Kubernetes the node's instance-type label wins");
}

static int cmd_probe(const struct config *c)
{
	struct meter_probe probe[METER_KIND_COUNT];
	struct meter_opts mo = { 0 };
	struct meter *m;
	struct cg_layout layout;
	struct wl_err err = { "" };
	struct usage_probe up = { 0 };
	struct usage_opts uo = { 0 };
	struct usage *u = NULL;
	char desc[1024];
	int rc = 0;

	printf("wattlet %s probe\n", WATTLET_VERSION);
	printf("host\n");
	print_cpu_model();

	printf("meters (in preference order; first usable is used)\n");
	memcpy(mo.order, c->meter_order, sizeof(mo.order));
	mo.n_order = c->meter_n_order;
	mo.sysfs_root = c->sysfs_root;
	mo.powercap_root = c->powercap_root[0] ? c->powercap_root : NULL;
	mo.dev_root = c->dev_root;
	mo.max_watts = c->meter_max_watts;
	memset(probe, 0, sizeof(probe));
	m = meter_open(&mo, probe);
	for (int i = 0; i < c->meter_n_order; i++) {
		for (int k = 0; k < METER_KIND_COUNT; k++) {
			const struct meter_probe *p = &probe[k];
			if (!p->tried || p->kind != c->meter_order[i])
				continue;
			printf("  %-9s %s  %s\n", meter_kind_name(p->kind),
			       p->chosen ? "IN USE " : p->usable ? "usable " : "absent ", p->reason);
		}
	}
	if (m) {
		meter_describe(m, desc, sizeof(desc));
		printf("  zones:    %s\n", desc);
	} else {
		printf("  => no energy meter: the agent would export usage only. Where this host has no\n"
		       "     RAPL (VMs, these CI machines), run the simulated meter (build/raplsim) and\n"
		       "     set meter.powercap_root to its directory, or configure a model.\n");
	}
	model_probe_print(c->model_file, m != NULL);
	meter_close(m);
	idle_probe_print(c);
	gpu_stage_probe_print(c); /* NVIDIA GPUs (zone gpu), or why there are none */
	redfish_stage_probe_print(c); /* the BMC (zone platform), or why it is not used */

	printf("cgroups\n");
	if (cg_layout_detect(c->cgroup_root, c->cgroup_hierarchy, &layout, &err) != 0) {
		printf("  error:    %s\n", err.msg);
		return 1;
	}
	printf("  layout:   %s (root %s)\n", cg_mode_name(layout.mode), layout.root);
	printf("  cpu time: %s (%s)\n", layout.cpu_root, layout.cpu_is_v2 ? "cgroup v2 cpu.stat" : "cgroup v1 cpuacct");
	if (layout.unified_root[0])
		printf("  unified:  %s\n", layout.unified_root);

	printf("usage\n");
	uo.layout = &layout;
	uo.source = c->usage_source;
	uo.max_cgroups = c->max_cgroups;
	uo.proc_root = c->proc_root;
	for (int z = 0; z < ZONE_COUNT; z++) /* opened as the agent would: zones using it */
		if (c->zone_feature[z] == FEAT_TASK_CLOCK)
			uo.counter_features |= 1u << FEAT_TASK_CLOCK;
	u = usage_open(&uo, &up, &err);
	if (!u) {
		printf("  error:    %s\n", err.msg);
		rc = 1;
	} else {
		printf("  in use:   %s\n", usage_source_name(up.in_use));
	}
	printf("  ebpf:     %s: %s\n", up.ebpf_ok ? "available" : "not used", up.ebpf_reason);
	printf("  pmu:      %s: %s\n", up.pmu_ok ? "available" : "absent", up.pmu_reason);
	printf("  counters: %s: %s\n", up.task_clock_ok ? "in use" : "not used", up.task_clock_reason);
	if (u) /* cgroups created and removed between two ticks */
		printf("  removed:  %s: %s\n", up.removed_ok ? "charged" : "to system",
		       up.removed_reason);
	printf("  features: dynamic energy of each zone is shared by\n");
	for (int z = 0; z < ZONE_COUNT; z++) {
		enum feature f = c->zone_feature[z];
		if (f == FEAT_CPU_TIME || (f == FEAT_TASK_CLOCK ? up.task_clock_ok : up.pmu_ok))
			printf("            %-9s %s\n", zone_name(z), feature_name(f));
		else
			printf("            %-9s cpu_time (configured %s needs %s)\n", zone_name(z),
			       feature_name(f), f == FEAT_TASK_CLOCK ? "the task-clock counter, see "
			       "counters above" : "hardware counters");
	}
	usage_close(u);
	return rc;
}

static int cmd_config(const struct config *c)
{
	char buf[16384];
	if (config_dump(c, buf, sizeof(buf)) != 0) {
		fprintf(stderr, "wattlet: cannot render the configuration\n");
		return 1;
	}
	fputs(buf, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli;
	const char *cmd;

	memset(&cli, 0, sizeof(cli));
	if (argc < 2) {
		usage_text(stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage_text(stdout);
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("wattlet %s (%s)\n", WATTLET_VERSION, WATTLET_GIT_REV);
		return 0;
	}
	if (strcmp(cmd, "model") == 0)
		return model_main(argc - 1, argv + 1);
	if (strcmp(cmd, "top") == 0)
		return top_main(argc - 1, argv + 1);
	if (strcmp(cmd, "validate") == 0)
		return validate_main(argc - 1, argv + 1);
	if (strcmp(cmd, "run") && strcmp(cmd, "probe") && strcmp(cmd, "config")) {
		fprintf(stderr, "wattlet: unknown command '%s' (see wattlet --help)\n", cmd);
		return 2;
	}
	if (parse_options(&cli, argc - 1, argv + 1) != 0)
		return 2;
	if (strcmp(cmd, "probe") == 0)
		return cmd_probe(&cli.cfg);
	if (strcmp(cmd, "config") == 0)
		return cmd_config(&cli.cfg);
	return daemon_run(&cli.cfg, &cli.dopts);
}
