/* bpf_bench.c - cost of the sched_switch program per event.
 * Loads the eBPF usage source, turns on BPF run-time statistics (BPF_ENABLE_STATS:
 * on only while this process holds the fd, the previous state comes back when it is
 * closed, also if the bench dies), runs a switch-heavy load (stress-ng --switch 2,
 * else a pipe ping-pong) and prints run_time_ns/run_cnt of the sched_switch program
 * over each load window, REPS times, and the median - with per-process (tgid)
 * accounting off and on (the default). Needs root.
 * Usage: bpf_bench [seconds [reps]]
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

#define MAX_REPS 32

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

static const char *run_load(int secs)
{
	char cmd[128];
	pid_t p;

	if (system("command -v stress-ng >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof(cmd), "stress-ng --switch 2 --timeout %ds >/dev/null 2>&1", secs);
		if (system(cmd) != 0)
			fprintf(stderr, "bpf_bench: stress-ng failed\n");
		return "stress-ng --switch 2";
	}
	p = fork();
	if (p == 0) {
		pingpong(secs);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	return "pipe ping-pong";
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One configuration: open, REPS load windows, close. Returns the median ns/event
 * (negative on failure). */
static double run_mode(struct cg_layout *l, bool per_process, int secs, int reps)
{
	struct wl_err err = { "" };
	struct usage_opts o = { .layout = l, .ebpf_per_process_off = !per_process };
	struct usage_probe probe;
	double r[MAX_REPS];
	void *src;
	int stats_fd;

	src = usage_bpf_ops->open(&o, &probe, &err);
	if (!src) {
		fprintf(stderr, "bpf_bench: %s\n", err.msg);
		return -1;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (stats_fd < 0) {
		fprintf(stderr, "bpf_bench: cannot enable BPF run-time stats\n");
		usage_bpf_ops->close(src);
		return -1;
	}
	for (int i = 0; i < reps; i++) {
		unsigned long long ns0, cnt0, ns1, cnt1;
		char name[32];
		const char *load;

		if (prog_stats(&ns0, &cnt0, name, sizeof(name)) < 0) {
			fprintf(stderr, "bpf_bench: sched_switch program not found\n");
			reps = i;
			break;
		}
		load = run_load(secs);
		prog_stats(&ns1, &cnt1, name, sizeof(name));
		r[i] = cnt1 > cnt0 ? (double)(ns1 - ns0) / (double)(cnt1 - cnt0) : 0.0;
		printf("%-12s %-12s %-22s %8d %12llu %12.0f %10.1f\n", name,
		       per_process ? "on" : "off", load, secs, cnt1 - cnt0,
		       (double)(cnt1 - cnt0) / secs, r[i]);
	}
	close(stats_fd); /* statistics back to how they were */
	usage_bpf_ops->close(src);
	if (reps <= 0)
		return -1;
	qsort(r, (size_t)reps, sizeof(r[0]), cmp_dbl);
	return r[reps / 2];
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 5;
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	struct cg_layout l;
	struct wl_err err = { "" };
	double off, on;

	if (secs < 1)
		secs = 1;
	if (reps < 1 || reps > MAX_REPS)
		reps = 3;
	if (!usage_bpf_ops || cg_layout_detect("/sys/fs/cgroup", CG_PREF_AUTO, &l, &err) < 0) {
		fprintf(stderr, "bpf_bench: %s\n", err.msg[0] ? err.msg : "no eBPF source");
		return 1;
	}
	printf("%-12s %-12s %-22s %8s %12s %12s %10s\n", "program", "per_process", "load",
	       "seconds", "events", "events/s", "ns/event");
	off = run_mode(&l, false, secs, reps);
	on = run_mode(&l, true, secs, reps);
	if (off < 0 || on < 0)
		return 1;
	printf("median ns/event: per_process off %.1f, on %.1f (cost of per-process %+.1f)\n",
	       off, on, on - off);
	return 0;
}
