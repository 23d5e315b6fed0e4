/* fixture_prom.h - the fixture the unit tests that render /metrics (test_export,
 * test_metrics_lean) render from, and checks on Prometheus text exposition.
 *
 * Header-only (each unit test is one .c file linked with the library); include it after
 * <cmocka.h>. The text is the caller's and is only read; failures fail the test through
 * cmocka. prom_promtool_check() writes the text to a temporary file of its own under /tmp
 * and removes it again.
 */
#ifndef WATTLET_TEST_FIXTURE_PROM_H
#define WATTLET_TEST_FIXTURE_PROM_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/export/export.h"

/* What a /metrics test renders: the ledger l (one hour's retention), the pod ledger
 * pods (NULL unless the test makes one), the agent status st and the output buffer out
 * (capped at 16 MiB). All owned by the fixture: prom_fixture_teardown() frees them. */
struct prom_fixture {
	struct ledger *l, *pods;
	struct agent_status st;
	struct strbuf out;
};

/* A zeroed fixture with an empty ledger and output buffer; the test fills in the rest. */
static inline struct prom_fixture *prom_fixture_new(void)
{
	struct prom_fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->l = ledger_new(3600ull * 1000000000ull);
	assert_non_null(f->l);
	strbuf_init(&f->out, 16u << 20);
	return f;
}

/* cmocka teardown of a setup that left a prom_fixture_new() in *state. */
static inline int prom_fixture_teardown(void **state)
{
	struct prom_fixture *f = *state;

	strbuf_release(&f->out);
	ledger_free(f->l);
	ledger_free(f->pods);
	free(f);
	return 0;
}

/* The agent status both /metrics tests render with: version 0.1.0, node node-1, meter
 * powercap, usage source ebpf, cgroup mode cgroup_mode (a static string), ready. */
static inline void prom_status_init(struct agent_status *st, const char *cgroup_mode)
{
	st->version = "0.1.0";
	st->node_name = "node-1";
	st->meter = "powercap";
	st->usage_source = "ebpf";
	st->cgroup_mode = cgroup_mode;
	st->ready = true;
}

/* Fails unless line stands in text as a whole line. */
static inline void prom_assert_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	fail_msg("missing line: %s", line);
}

/* How many samples (lines that are not comments) contain needle. */
static inline size_t prom_count_samples(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		if (l[0] != '#') {
			const char *p = strstr(l, needle);
			if (p && p < l + len)
				n++;
		}
		l += len + (e ? 1 : 0);
	}
	return n;
}

static inline int prom_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fails when two samples share name and labels (the text before the last space). */
static inline void prom_assert_no_duplicates(const char *text)
{
	char *copy = strdup(text), *save = NULL, *line;
	char **series = NULL;
	size_t n = 0, cap = 0;

	assert_non_null(copy);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp;
		if (line[0] == '#')
			continue;
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		*sp = '\0';
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			series = realloc(series, cap * sizeof(*series));
			assert_non_null(series);
		}
		series[n++] = line;
	}
	qsort(series, n, sizeof(*series), prom_cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(series[i - 1], series[i]) == 0)
			fail_msg("duplicate series %s", series[i]);
	free(series);
	free(copy);
}

/* Runs `promtool check metrics` on text and fails on any complaint. Returns false (after
 * saying so) when promtool is not installed, true when it checked; the caller chooses
 * whether a missing promtool skips its test. */
static inline bool prom_promtool_check(const char *text)
{
	char path[] = "/tmp/wattlet-metrics-XXXXXX", cmd[256], outp[64], buf[4096] = "";
	int fd, rc;
	FILE *fp;
	size_t n;

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		print_message("promtool not installed: skipping the promtool check\n");
		return false;
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(outp, sizeof(outp), "%s.out", path);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s 2>&1", path, outp);
	rc = system(cmd);
	fp = fopen(outp, "r");
	if (fp) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		buf[n] = '\0';
		fclose(fp);
	}
	unlink(path);
	unlink(outp);
	if (rc != 0 || buf[0])
		fail_msg("promtool check metrics (rc %d): %s", rc, buf);
	return true;
}

#endif
