/* record.c - see record.h. */
#include "record.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rec_writer {
	FILE *f;
};

struct rec_writer *rec_open(const char *path, struct wl_err *err)
{
	struct rec_writer *w;

	if (!path || !path[0]) {
		err_set(err, EINVAL, "record: no file name");
		return NULL;
	}
	w = wl_zalloc(sizeof(*w), "record", err);
	if (!w)
		return NULL;
	w->f = fopen(path, "we");
	if (!w->f) {
		err_set(err, errno, "record: cannot create %s: %s", path, strerror(errno));
		free(w);
		return NULL;
	}
	fprintf(w->f, "%s\n"
		"# written by wattlet run --record; format in docs/models.md\n"
		"# N,t_ns,dt_ns,zone_mask,bad_mask,uj_package,uj_core,uj_uncore,uj_dram,uj_platform,"
		"uj_gpu,feature_mask,cpu_time_ns,instructions,cycles,cache_misses\n"
		"# W,t_ns,cpu_time_ns,instructions,cycles,cache_misses,path\n", REC_MAGIC);
	if (fflush(w->f) != 0) {
		err_set(err, errno, "record: cannot write %s: %s", path, strerror(errno));
		fclose(w->f);
		free(w);
		return NULL;
	}
	return w;
}

void rec_close(struct rec_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);
	free(w);
}

int rec_write(struct rec_writer *w, const struct meter_delta *md, const struct usage_sample *us,
	      struct wl_err *err)
{
	uint64_t node[REC_NFEAT];
	uint32_t zmask = 0, bad = 0;

	if (!w || !w->f || !us)
		return err_set(err, EINVAL, "record: not open");
	for (int f = 0; f < REC_NFEAT; f++) {
		uint64_t sum = 0;
		for (size_t i = 0; i < us->n; i++)
			sum += us->entries[i].delta[f];
		node[f] = us->node_delta[f] > sum ? us->node_delta[f] : sum;
	}
	if (md) {
		zmask = md->zone_mask;
		bad = (md->error_mask | md->reset_mask) & zmask;
	}
	fprintf(w->f, "N,%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%" PRIu32, us->t_ns,
		md ? md->dt_ns : us->dt_ns, zmask, bad);
	for (int z = 0; z < ZONE_COUNT; z++)
		fprintf(w->f, ",%" PRIu64, (md && (zmask & (1u << z))) ? md->uj[z] : 0);
	fprintf(w->f, ",%" PRIu32, us->feature_mask & ((1u << REC_NFEAT) - 1));
	for (int f = 0; f < REC_NFEAT; f++)
		fprintf(w->f, ",%" PRIu64, node[f]);
	fputc('\n', w->f);
	for (size_t i = 0; i < us->n; i++) {
		const struct usage_entry *e = &us->entries[i];
		bool any = false;
		for (int f = 0; f < REC_NFEAT; f++)
			any |= e->delta[f] != 0;
		if (!any || !e->path || strchr(e->path, '\n'))
			continue;
		fprintf(w->f, "W,%" PRIu64, us->t_ns);
		for (int f = 0; f < REC_NFEAT; f++)
			fprintf(w->f, ",%" PRIu64, e->delta[f]);
		fprintf(w->f, ",%s\n", e->path);
	}
	if (fflush(w->f) != 0 || ferror(w->f))
		return err_set(err, EIO, "record: write failed: %s", strerror(errno));
	return 0;
}

/* ---- reading ------------------------------------------------------------------- */

/* Splits up to max comma-separated u64 fields off *s; returns how many, -1 on garbage. */
static int take_u64s(char **s, uint64_t *out, int max)
{
	int n = 0;
	while (n < max) {
		char *end, *p = *s;
		if (*p < '0' || *p > '9')
			return -1;
		errno = 0;
		out[n++] = strtoull(p, &end, 10);
		if (errno)
			return -1;
		if (*end == ',')
			*s = end + 1;
		else if (*end == '\0') {
			*s = end;
			return n;
		} else
			return -1;
	}
	return n;
}

void rec_free(struct recording *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_wl; i++)
		free(r->wl[i].path);
	free(r->wl);
	free(r->ticks);
	free(r);
}

static int grow(void **p, size_t *alloc, size_t need, size_t elem, size_t cap)
{
	size_t n;
	void *q;

	if (need <= *alloc)
		return 0;
	if (need > cap)
		return -E2BIG;
	n = *alloc ? *alloc * 2 : 256;
	if (n > cap)
		n = cap;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*alloc = n;
	return 0;
}

struct recording *rec_load(const char *path, bool with_workloads, struct wl_err *err)
{
	struct recording *r = NULL;
	char *line = malloc(REC_MAX_LINE + 2);
	size_t lineno = 0, t_alloc = 0, w_alloc = 0;
	FILE *f = NULL;
	int rc = 0;

	if (!line) {
		err_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		rc = err_set(err, ENOMEM, "out of memory");
		goto cleanup;
	}
	f = fopen(path, "re");
	if (!f) {
		rc = err_set(err, errno, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	while (fgets(line, REC_MAX_LINE + 2, f)) {
		size_t len = strlen(line);
		char *s = line;
		uint64_t v[16];

		lineno++;
		if (len > REC_MAX_LINE || (len && line[len - 1] != '\n' && !feof(f))) {
			rc = err_set(err, EINVAL, "%s:%zu: line longer than %d bytes", path, lineno, REC_MAX_LINE);
			goto cleanup;
		}
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (lineno == 1) {
			if (strcmp(line, REC_MAGIC) != 0) {
				rc = err_set(err, EINVAL, "%s:1: not a wattlet recording (expected '%s' as the "
					     "first line; written by wattlet run --record)", path, REC_MAGIC);
				goto cleanup;
			}
			continue;
		}
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(s, "N,", 2) == 0) {
			struct rec_tick *t;
			s += 2;
			if (take_u64s(&s, v, 15) != 15 || *s) {
				rc = err_set(err, EINVAL, "%s:%zu: N line: expected 15 unsigned integers", path, lineno);
				goto cleanup;
			}
			if (r->n_ticks && v[0] < r->ticks[r->n_ticks - 1].t_ns) {
				rc = err_set(err, EINVAL, "%s:%zu: time goes backwards (ticks must be in time order)",
					     path, lineno);
				goto cleanup;
			}
			rc = grow((void **)&r->ticks, &t_alloc, r->n_ticks + 1, sizeof(*r->ticks), REC_MAX_TICKS);
			if (rc) {
				err_set(err, -rc, "%s:%zu: %s", path, lineno,
					rc == -E2BIG ? "more ticks than the limit of 2000000" : "out of memory");
				goto cleanup;
			}
			t = &r->ticks[r->n_ticks++];
			memset(t, 0, sizeof(*t));
			t->t_ns = v[0];
			t->dt_ns = v[1];
			t->zone_mask = (uint32_t)v[2] & ((1u << ZONE_COUNT) - 1);
			t->bad_mask = (uint32_t)v[3];
			for (int z = 0; z < ZONE_COUNT; z++)
				t->uj[z] = v[4 + z];
			t->feature_mask = (uint32_t)v[10];
			for (int ft = 0; ft < REC_NFEAT; ft++)
				t->node[ft] = v[11 + ft];
			t->first_wl = r->n_wl;
		} else if (strncmp(s, "W,", 2) == 0) {
			struct rec_workload *w;
			s += 2;
			if (!r->n_ticks) {
				rc = err_set(err, EINVAL, "%s:%zu: W line before any N line", path, lineno);
				goto cleanup;
			}
			if (take_u64s(&s, v, 5) != 5 || s[-1] != ',' || s[0] != '/') {
				rc = err_set(err, EINVAL, "%s:%zu: W line: expected t_ns, 4 unsigned integers and a "
					     "cgroup path", path, lineno);
				goto cleanup;
			}
			if (v[0] != r->ticks[r->n_ticks - 1].t_ns) {
				rc = err_set(err, EINVAL, "%s:%zu: W line's t_ns differs from its tick's", path, lineno);
				goto cleanup;
			}
			if (!with_workloads)
				continue;
			rc = grow((void **)&r->wl, &w_alloc, r->n_wl + 1, sizeof(*r->wl), REC_MAX_WORKLOAD_ROWS);
			if (rc) {
				err_set(err, -rc, "%s:%zu: %s", path, lineno,
					rc == -E2BIG ? "too many workload rows" : "out of memory");
				goto cleanup;
			}
			w = &r->wl[r->n_wl];
			for (int ft = 0; ft < REC_NFEAT; ft++)
				w->delta[ft] = v[1 + ft];
			w->path = strdup(s);
			if (!w->path) {
				rc = err_set(err, ENOMEM, "out of memory");
				goto cleanup;
			}
			r->n_wl++;
			r->ticks[r->n_ticks - 1].n_wl++;
		} else {
			rc = err_set(err, EINVAL, "%s:%zu: unknown line type (expected N, W or #)", path, lineno);
			goto cleanup;
		}
	}
	if (ferror(f)) {
		rc = err_set(err, EIO, "%s: read error", path);
		goto cleanup;
	}
	if (lineno == 0)
		rc = err_set(err, EINVAL, "%s: empty file (not a wattlet recording)", path);
cleanup:
	if (f)
		fclose(f);
	free(line);
	if (rc) {
		rec_free(r);
		return NULL;
	}
	return r;
}
