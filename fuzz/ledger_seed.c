/* ledger_seed.c - writes checkpoints with ledger_save() into a directory, as seeds for
 * fuzz_ledger_load whatever the current format is (fuzz/fuzz.mk runs it before
 * fuzzing). Usage: ledger_seed DIR */
#include <stdio.h>
#include <string.h>

#include "agent/ledger/ledger.h"

static int save(struct ledger *l, const char *dir, const char *name)
{
	char path[4096];
	struct wl_err e = { "" };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (ledger_save(l, path, &e) != 0) {
		fprintf(stderr, "ledger_seed: %s\n", e.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *keys[] = { "/kubepods/pod-a/c1", "/system.slice/ssh.service",
				      "/odd key\\with\nnewline" };
	struct ledger *l = ledger_new(600ull * 1000000000ull);
	struct ledger_node *n;
	int rc = 0;

	if (argc != 2 || !l)
		return 2;
	rc |= save(l, argv[1], "seed-empty.ckpt");
	n = ledger_node(l);
	ledger_begin_tick(l);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct ledger_row *r = ledger_row_get(l, keys[i]);
		if (!r)
			return 2;
		r->uj[0][0] = 1000 * (i + 1);
		r->uj[0][1] = 500 * (i + 1);
		r->cpu_ns = 1000000 * (i + 1);
		r->co2e_g = 0.25 * (double)i;
	}
	struct ledger_row *sys = ledger_row_get(l, LEDGER_SYSTEM_KEY);
	if (!sys)
		return 2;
	sys->uj[0][0] = 4000;
	n->uj[0][0] = 10000;
	n->uj[0][1] = 3000;
	n->zone_mask = 1;
	n->learned_idle_w[0] = 12.5;
	ledger_commit_tick(l, 1000000000ull);
	rc |= save(l, argv[1], "seed-rows.ckpt");
	ledger_free(l);
	return rc;
}
