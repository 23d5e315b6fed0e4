/* metrics_bench.c - /metrics and /api/v1/workloads render cost at scale.
 *
 *   metrics_bench [WORKLOADS] [RENDERS]     (default 1000 workloads, 200 renders)
 *
 * Builds a ledger with WORKLOADS container rows (package, core, dram measured; a pod
 * uid for every 4 containers; 10 % terminated) and renders it RENDERS times into one
 * reused strbuf, native and with the Kepler-compatible names. Prints ms per render
 * and bytes. Target: <= 10 ms per native render at 1000 workloads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/export/export.h"

static double now_ms(void)
{
	return (double)mono_ns() / 1e6;
}

static struct ledger *build(unsigned n)
{
	struct ledger *l = ledger_new(3600ull * 1000000000ull);
	struct ledger_node *node;
	char key[512];

	if (!l)
		return NULL;
	node = ledger_node(l);
	node->zone_mask = (1u << ZONE_PACKAGE) | (1u << ZONE_CORE) | (1u << ZONE_DRAM);
	ledger_begin_tick(l);
	for (unsigned i = 0; i < n; i++) {
		struct ledger_row *r;
		snprintf(key, sizeof(key),
			 "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
			 "%08x_1111_2222_3333_444455556666.slice/cri-containerd-"
			 "%064x.scope",
			 i / 4, i);
		r = ledger_row_get(l, key);
		if (!r)
			return NULL;
		for (int z = 0; z < ZONE_COUNT; z++)
			for (int m = 0; m < MODE_COUNT; m++) {
				r->uj[z][m] = 123456789ull * (i + 1) + (uint64_t)z;
				r->watts[z][m] = 0.001 * (i % 997) + z;
			}
		r->cpu_ns = 987654321ull * i;
		r->cpu_cores = 0.01 * (i % 100);
	}
	ledger_row_get(l, LEDGER_SYSTEM_KEY);
	ledger_commit_tick(l, 1000000000ull);
	ledger_begin_tick(l);
	for (unsigned i = 0; i < ledger_count(l); i++)
		if (i % 10)
			ledger_row_get(l, ledger_row_at(l, i)->key);
	ledger_commit_tick(l, 2000000000ull);
	return l;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
	unsigned renders = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 200;
	struct agent_status st;
	struct strbuf sb;
	struct ledger *l;
	const char *names[3] = {"metrics", "metrics+kepler", "json"};

	if (n == 0 || renders == 0) {
		fprintf(stderr, "usage: metrics_bench [WORKLOADS] [RENDERS]\n");
		return 2;
	}
	l = build(n);
	if (!l) {
		fprintf(stderr, "metrics_bench: cannot build ledger\n");
		return 1;
	}
	memset(&st, 0, sizeof(st));
	st.version = "bench";
	st.node_name = "bench-node";
	st.meter = "powercap";
	st.usage_source = "ebpf";
	st.cgroup_mode = "v2";
	st.ready = true;
	strbuf_init(&sb, 256u << 20);

	for (int kind = 0; kind < 3; kind++) {
		double t0, best = 1e30, total = 0;
		int rc = 0;
		for (unsigned i = 0; i < renders && !rc; i++) {
			double dt;
			strbuf_reset(&sb);
			t0 = now_ms();
			rc = kind == 2 ? export_json_workloads(l, &st, &sb)
				       : export_metrics(l, &st, kind == 1, &sb);
			dt = now_ms() - t0;
			total += dt;
			if (dt < best)
				best = dt;
		}
		if (rc) {
			fprintf(stderr, "metrics_bench: %s render failed: %d\n", names[kind], rc);
			return 1;
		}
		printf("%-15s workloads=%u renders=%u mean=%.3f ms best=%.3f ms bytes=%zu\n",
		       names[kind], n, renders, total / renders, best, sb.len);
	}
	strbuf_release(&sb);
	ledger_free(l);
	return 0;
}
