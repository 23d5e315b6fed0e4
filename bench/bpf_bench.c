/* bpf_bench.c - cost of the sched_switch program per event.
 * Loads the eBPF usage source, enables kernel.bpf_stats_enabled, runs a switch-heavy
 * load (stress-ng --switch 2, else a pipe ping-pong) and prints run_time_ns/run_cnt
 * of the sched_switch program from bpf_prog_info. Needs root.
 * Usage: bpf_bench [seconds]
 */
#include <bpf/bpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/cgroup/cgroup.h"
#include "agent/usage/usage_impl.h"

static int prog_stats(unsigned long long *ns, unsigned long long *cnt, char *name, size_t cap)
{
	for (int fd = 3; fd < 4096; fd++) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    (strcmp(info.name, "btf_switch") == 0 || strcmp(info.name, "raw_switch") == 0)) {
			*ns = info.run_time_ns;
			*cnt = info.run_cnt;
			snprintf(name, cap, "%s", info.name);
			return 0;
		}
	}
	return -1;
}

static void pingpong(int secs)
{
	int a[2], b[2];
	char c = 0;
	pid_t p;

	if (pipe(a) || pipe(b))
		exit(1);
	p = fork();
	if (p == 0) {
		while (read(a[0], &c, 1) == 1 && write(b[1], &c, 1) == 1)
			;
		_exit(0);
	}
	alarm((unsigned)secs);
	signal(SIGALRM, SIG_DFL);
	for (;;)
		if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
			break;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 5;
	struct cg_layout l;
	struct wl_err err = { "" };
	struct usage_opts o = { .layout = &l };
	struct usage_probe probe;
	void *src;
	unsigned long long ns0, cnt0, ns1, cnt1;
	char name[32], cmd[128];
	const char *load;
	FILE *f;

	if (!usage_bpf_ops || cg_layout_detect("/sys/fs/cgroup", CG_PREF_AUTO, &l, &err) < 0) {
		fprintf(stderr, "bpf_bench: %s\n", err.msg[0] ? err.msg : "no eBPF source");
		return 1;
	}
	src = usage_bpf_ops->open(&o, &probe, &err);
	if (!src) {
		fprintf(stderr, "bpf_bench: %s\n", err.msg);
		return 1;
	}
	f = fopen("/proc/sys/kernel/bpf_stats_enabled", "w");
	if (!f || fputs("1\n", f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "bpf_bench: cannot enable kernel.bpf_stats_enabled\n");
		return 1;
	}
	if (prog_stats(&ns0, &cnt0, name, sizeof(name)) < 0) {
		fprintf(stderr, "bpf_bench: sched_switch program not found\n");
		return 1;
	}
	if (system("command -v stress-ng >/dev/null 2>&1") == 0) {
		load = "stress-ng --switch 2";
		snprintf(cmd, sizeof(cmd), "stress-ng --switch 2 --timeout %ds >/dev/null 2>&1", secs);
		if (system(cmd) != 0)
			fprintf(stderr, "bpf_bench: stress-ng failed\n");
	} else {
		load = "pipe ping-pong";
		pid_t p = fork();
		if (p == 0) {
			pingpong(secs);
			_exit(0);
		}
		waitpid(p, NULL, 0);
	}
	prog_stats(&ns1, &cnt1, name, sizeof(name));
	f = fopen("/proc/sys/kernel/bpf_stats_enabled", "w");
	if (f) {
		fputs("0\n", f);
		fclose(f);
	}
	printf("%-12s %-22s %8s %12s %14s %10s\n", "program", "load", "seconds", "events",
	       "events/s", "ns/event");
	printf("%-12s %-22s %8d %12llu %14.0f %10.1f\n", name, load, secs, cnt1 - cnt0,
	       (double)(cnt1 - cnt0) / secs,
	       cnt1 > cnt0 ? (double)(ns1 - ns0) / (double)(cnt1 - cnt0) : 0.0);
	usage_bpf_ops->close(src);
	return 0;
}
