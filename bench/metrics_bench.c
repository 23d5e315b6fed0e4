/* metrics_bench.c - /metrics and /api/v1/workloads render cost at scale.
 *
 *   metrics_bench [WORKLOADS] [RENDERS] [no-owners]  (default 1000 workloads, 200 renders)
 *
 * Builds a ledger with WORKLOADS container rows (package, core, dram measured; a pod
 * uid for every 4 containers; Kubernetes names of typical length, and each pod's owner,
 * a Deployment, unless "no-owners" is given; 10 % terminated)
 * plus their pod aggregates, and renders it RENDERS times into one reused strbuf: the
 * default (lean) series, full detail, detail with the Kepler-compatible names, and
 * JSON. Prints ms per render, bytes, gzip bytes and ms (metrics_gzip, once per
 * rendering), the cost of serving a scrape from the metrics cache (a copy), and
 * series per container. Targets (issues 11, 18): <= 1 MB and <= 5 series per
 * container by default at 1000 workloads; serving <= 5 ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/export/export.h"
#include "agent/export/metrics_cache.h"

static double now_ms(void)
{
	return (double)mono_ns() / 1e6;
}

/* container ids look random, as runtimes make them */
static unsigned long long mix(unsigned long long x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static int with_owners = 1;

static struct ledger *build_pods(const struct ledger *l)
{
	struct ledger *p = ledger_new(3600ull * 1000000000ull);

	if (!p)
		return NULL;
	ledger_set_rows_share_node(p, false);
	ledger_begin_tick(p);
	for (size_t i = 0; i < ledger_count(l); i++) {
		const struct ledger_row *w = ledger_row_at(l, i);
		struct ledger_row *r;
		if (!w->ident.pod_uid[0])
			continue;
		r = ledger_row_get(p, w->ident.pod_uid);
		if (!r)
			return NULL;
		for (int z = 0; z < ZONE_COUNT; z++)
			for (int m = 0; m < MODE_COUNT; m++) {
				r->uj[z][m] += w->uj[z][m];
				r->watts[z][m] += w->watts[z][m];
			}
		r->cpu_ns += w->cpu_ns;
		ledger_row_set_names(r, w->ns, w->pod, NULL);
		ledger_row_set_owner(r, w->owner_kind, w->owner_name);
	}
	ledger_commit_tick(p, 2000000000ull);
	return p;
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
			 "%016llx%016llx%016llx%016llx.scope",
			 i / 4, mix(4 * i), mix(4 * i + 1), mix(4 * i + 2), mix(4 * i + 3));
		r = ledger_row_get(l, key);
		if (!r)
			return NULL;
		{ /* names as the kubelet gives them: a Deployment's pod, its containers */
			char ns[64], pod[128], ctr[64];
			snprintf(ns, sizeof(ns), "team-%02u", i / 100);
			snprintf(pod, sizeof(pod), "service-%03u-7d9f8b6c5d-%05u", i / 40, i / 4);
			snprintf(ctr, sizeof(ctr), "%s", (const char *[]){ "app", "istio-proxy",
									  "log-shipper", "init" }[i % 4]);
			ledger_row_set_names(r, ns, pod, ctr);
			snprintf(pod, sizeof(pod), "service-%03u", i / 40);
			if (with_owners)
				ledger_row_set_owner(r, "Deployment", pod);
		}
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

static size_t per_container(const char *text, const char *id)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, id)) != NULL; p++)
		n++;
	return n;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
	unsigned renders = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 200;
	struct agent_status st;
	struct strbuf sb, body;
	struct ledger *l, *pods;
	static const char *const names[4] = { "default (lean)", "detail", "detail+kepler",
					      "json" };
	char *gz = NULL;
	size_t gz_alloc = 0, gz_len = 0, lean_bytes = 0;
	double lean_serve_ms = 0;
	char needle[2][96];

	with_owners = !(argc > 3 && strcmp(argv[3], "no-owners") == 0);
	if (n == 0 || renders == 0) {
		fprintf(stderr, "usage: metrics_bench [WORKLOADS] [RENDERS] [no-owners]\n");
		return 2;
	}
	l = build(n);
	pods = l ? build_pods(l) : NULL;
	if (!l || !pods) {
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
	st.pods = pods;
	strbuf_init(&sb, 256u << 20);
	strbuf_init(&body, 256u << 20);

	/* one container's series: by its lean id, by its container_id label in detail */
	snprintf(needle[0], sizeof(needle[0]), "workload=\"%.12s\"",
		 ledger_row_at(l, 0)->ident.container_id);
	snprintf(needle[1], sizeof(needle[1]), "container_id=\"%s\"",
		 ledger_row_at(l, 0)->ident.container_id);
	printf("metrics render, %u container workloads in %zu pods, Kubernetes names, "
	       "zones package/core/dram, %u renders each:\n", n, ledger_count(pods), renders);
	printf("%-15s %10s %10s %10s %10s %12s %10s %14s\n", "", "render ms", "best ms", "KiB",
	       "gzip KiB", "gzip ms (l1)", "serve ms", "series/contr.");
	for (int kind = 0; kind < 4; kind++) {
		struct export_metrics_opts o = { .detail = kind >= 1, .kepler_compat = kind == 2 };
		double t0, best = 1e30, total = 0, gz_ms = 0, serve_ms = 0;
		int rc = 0;
		for (unsigned i = 0; i < renders && !rc; i++) {
			double dt;
			strbuf_reset(&sb);
			t0 = now_ms();
			rc = kind == 3 ? export_json_workloads(l, &st, &sb)
				       : export_metrics_render(l, &st, &o, &sb);
			dt = now_ms() - t0;
			total += dt;
			if (dt < best)
				best = dt;
		}
		if (rc) {
			fprintf(stderr, "metrics_bench: %s render failed: %d\n", names[kind], rc);
			return 1;
		}
		for (unsigned i = 0; i < 20 && !rc; i++) {
			t0 = now_ms();
			rc = metrics_gzip(sb.buf, sb.len, METRICS_GZIP_LEVEL, &gz, &gz_alloc, &gz_len);
			gz_ms += (now_ms() - t0) / 20;
		}
		if (kind < 3) { /* a scrape served from the cache: a copy of the rendering */
			struct metrics_cache_opts co = { .render = o, .tick_ns = 1000000000ull };
			struct wl_err err = { "" };
			struct metrics_cache *c = metrics_cache_new(&co, &err);
			const char *enc;
			if (!c || metrics_cache_serve(c, l, &st, false, 1, &body, &enc)) {
				fprintf(stderr, "metrics_bench: cache failed\n");
				return 1;
			}
			for (unsigned i = 0; i < renders; i++) {
				strbuf_reset(&body);
				t0 = now_ms();
				rc |= metrics_cache_serve(c, l, &st, false, 2 + i, &body, &enc);
				serve_ms += (now_ms() - t0) / renders;
			}
			metrics_cache_free(c);
		}
		printf("%-15s %10.3f %10.3f %10.1f %10.1f %12.3f %10.3f %14zu\n", names[kind],
		       total / renders, best, sb.len / 1024.0, gz_len / 1024.0, gz_ms,
		       kind < 3 ? serve_ms : 0.0,
		       kind < 3 ? per_container(sb.buf, needle[kind > 0]) : 0);
		if (kind == 0) {
			lean_bytes = sb.len;
			lean_serve_ms = serve_ms;
		}
	}
	printf("target check (default, %u workloads): /metrics %.3f MB / 1 MB = %.2fx, served "
	       "from the cache in %.3f ms / 5 ms = %.2fx (in-process copy; via curl: bench.sh)\n",
	       n, lean_bytes / 1e6, lean_bytes / 1e6, lean_serve_ms, lean_serve_ms / 5);
	free(gz);
	strbuf_release(&sb);
	strbuf_release(&body);
	ledger_free(pods);
	ledger_free(l);
	return 0;
}
