/* gpu.c - see gpu.h. */
#include "gpu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct gpu_pid {
	uint32_t pid;
	char *path;   /* owned; NULL: unmapped */
	size_t len;
	bool suffix;  /* seen from another cgroup namespace: match entries ending with path */
	size_t entry; /* resolved usage entry */
	size_t best;  /* length of the best matching entry path so far */
};

struct gpu_map {
	char proc_root[PATH_MAX];
	bool v2;
	struct gpu_pid *p;
	size_t n, cap;
};

const char *gpu_rule_name(enum gpu_rule r)
{
	switch (r) {
	case GPU_RULE_SM: return "sm-share";
	case GPU_RULE_EVEN: return "even-per-process";
	case GPU_RULE_MIG: return "mig";
	default: return "none";
	}
}

/* true when list (comma-separated, length n) holds the token tok */
static bool has_token(const char *list, size_t n, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = list, *end = list + n;

	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t l = c ? (size_t)(c - p) : (size_t)(end - p);
		if (l == tl && memcmp(p, tok, tl) == 0)
			return true;
		p += l + 1;
	}
	return false;
}

static int take_path(const char *s, size_t n, char *path, size_t cap)
{
	int outside = 0;

	if (n == 0 || s[0] != '/')
		return -EINVAL;
	/* a process outside the reader's cgroup namespace: "/../../rest" */
	while ((n == 3 || (n > 3 && s[3] == '/')) && memcmp(s, "/..", 3) == 0) {
		s += 3;
		n -= 3;
		outside = 1;
	}
	if (outside && n <= 1)
		return -ENOENT; /* an ancestor of the namespace: nothing to match */
	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(path, s, n);
	path[n] = '\0';
	if (strstr(path, "/../") || (n >= 3 && strcmp(path + n - 3, "/..") == 0))
		return -EINVAL;
	/* "/" and a path with a trailing '/' name the same cgroup without it */
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
	return outside;
}

int gpu_cgroup_of_text(const char *text, bool v2, const char *controller, char *path,
		       size_t cap)
{
	const char *line = text;
	int found = -ENOENT;

	if (!text || !path || cap == 0 || (!v2 && (!controller || !*controller)))
		return -EINVAL;
	path[0] = '\0';
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		const char *c1 = memchr(line, ':', len), *c2;

		if (c1) {
			c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - line));
			if (c2) {
				const char *ctl = c1 + 1, *p = c2 + 1;
				size_t ctl_len = (size_t)(c2 - ctl), plen = len - (size_t)(p - line);
				bool want = v2 ? (c1 - line == 1 && line[0] == '0' && ctl_len == 0)
					       : has_token(ctl, ctl_len, controller);
				if (want)
					return take_path(p, plen, path, cap);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return found;
}

struct gpu_map *gpu_map_new(const struct gpu_map_opts *o, struct wl_err *err)
{
	struct gpu_map *m = calloc(1, sizeof(*m));

	if (!m) {
		err_set(err, ENOMEM, "gpu: out of memory");
		return NULL;
	}
	if (fmt_path(m->proc_root, sizeof(m->proc_root), "%s",
		     o && o->proc_root && *o->proc_root ? o->proc_root : "/proc")) {
		err_set(err, ENAMETOOLONG, "gpu: usage.proc_root too long");
		free(m);
		return NULL;
	}
	m->v2 = o && o->v2;
	return m;
}

void gpu_map_begin(struct gpu_map *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->p[i].path);
	m->n = 0;
}

void gpu_map_free(struct gpu_map *m)
{
	if (!m)
		return;
	gpu_map_begin(m);
	free(m->p);
	free(m);
}

/* Reads /proc/<pid>/cgroup (at most 16 KiB; a larger file is malformed for us). */
static int read_cgroup_file(const struct gpu_map *m, uint32_t pid, char *path, size_t cap)
{
	char file[PATH_MAX], buf[16384];
	size_t got = 0;
	int fd, r;

	r = fmt_path(file, sizeof(file), "%s/%u/cgroup", m->proc_root, pid);
	if (r)
		return r;
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	r = read_fd(fd, buf, sizeof(buf), &got);
	close(fd);
	if (r)
		return r;
	if (memchr(buf, '\0', got))
		return -EINVAL;
	r = gpu_cgroup_of_text(buf, m->v2, "cpuacct", path, cap);
	if (r == -ENOENT && !m->v2)
		r = gpu_cgroup_of_text(buf, false, "cpu", path, cap);
	return r;
}

int gpu_map_add(struct gpu_map *m, uint32_t pid)
{
	char path[PATH_MAX];
	struct gpu_pid *g;
	int r;

	if (!m || pid == 0)
		return -EINVAL;
	for (size_t i = 0; i < m->n; i++)
		if (m->p[i].pid == pid)
			return m->p[i].path ? (int)i : -ENOENT;
	if (m->n >= GPU_MAP_MAX_PIDS)
		return -E2BIG;
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 16;
		struct gpu_pid *np = realloc(m->p, nc * sizeof(*np));
		if (!np)
			return -ENOMEM;
		m->p = np;
		m->cap = nc;
	}
	g = &m->p[m->n];
	memset(g, 0, sizeof(*g));
	g->pid = pid;
	g->entry = GPU_NO_ENTRY;
	r = read_cgroup_file(m, pid, path, sizeof(path));
	if (r == 1) {
		g->suffix = true;
		r = 0;
	}
	if (r == 0) {
		g->path = strdup(path);
		if (!g->path)
			r = -ENOMEM;
		else
			g->len = strlen(path);
	}
	m->n++; /* remembered either way: one read per pid per tick */
	return r ? r : (int)(m->n - 1);
}

int gpu_map_resolve(struct gpu_map *m, const struct usage_sample *us)
{
	if (!m || !us)
		return -EINVAL;
	for (size_t k = 0; k < m->n; k++) {
		m->p[k].entry = GPU_NO_ENTRY;
		m->p[k].best = 0;
	}
	if (m->n == 0)
		return 0;
	for (size_t i = 0; i < us->n; i++) {
		const char *ep = us->entries[i].path;
		size_t el;
		if (!ep || ep[0] != '/')
			continue;
		el = strlen(ep);
		for (size_t k = 0; k < m->n; k++) {
			struct gpu_pid *g = &m->p[k];
			bool match;
			if (g->suffix) { /* the entry whose path ends with it, the shortest such */
				if (el >= g->len && memcmp(ep + el - g->len, g->path, g->len) == 0 &&
				    (g->entry == GPU_NO_ENTRY || el < g->best)) {
					g->entry = i;
					g->best = el;
				}
				continue;
			}
			if (!g->path || el > g->len || (g->entry != GPU_NO_ENTRY && el <= g->best))
				continue;
			/* the cgroup itself, or an ancestor ("/" is everyone's) */
			if (el == 1)
				match = true;
			else
				match = memcmp(g->path, ep, el) == 0 &&
					(g->path[el] == '\0' || g->path[el] == '/');
			if (match) {
				g->entry = i;
				g->best = el;
			}
		}
	}
	return 0;
}

size_t gpu_map_entry(const struct gpu_map *m, int handle)
{
	if (!m || handle < 0 || (size_t)handle >= m->n)
		return GPU_NO_ENTRY;
	return m->p[handle].entry;
}

/* floor(total * part / whole); whole > 0, part <= whole */
static uint64_t part_of(uint64_t total, uint64_t part, uint64_t whole)
{
	return (uint64_t)(((unsigned __int128)total * part) / whole);
}

static uint64_t give(uint64_t *w, size_t n_entries, size_t entry, uint64_t v)
{
	if (entry == GPU_NO_ENTRY || entry >= n_entries)
		return 0; /* unmapped: stays with system */
	w[entry] += v;
	return v;
}

static uint64_t split_mig(const struct gpu_split_in *in, uint64_t dyn, uint64_t *w, size_t ne)
{
	uint64_t denom = 0, sum_sms = 0, given = 0;
	bool by_sms;

	for (size_t m = 0; m < in->n_mig; m++)
		sum_sms += in->mig_sms ? in->mig_sms[m] : 0;
	by_sms = sum_sms > 0;
	denom = by_sms ? (in->total_sms > sum_sms ? in->total_sms : sum_sms) : in->n_mig;
	if (denom == 0)
		return 0;
	for (size_t m = 0; m < in->n_mig; m++) {
		uint64_t part = part_of(dyn, by_sms ? in->mig_sms[m] : 1, denom), nproc = 0;
		for (size_t i = 0; i < in->n; i++)
			nproc += in->procs[i].mig == (int)m && in->procs[i].running;
		if (!nproc)
			continue;
		for (size_t i = 0; i < in->n; i++)
			if (in->procs[i].mig == (int)m && in->procs[i].running)
				given += give(w, ne, in->procs[i].entry, part_of(part, 1, nproc));
	}
	return given;
}

uint64_t gpu_split(const struct gpu_split_in *in, uint64_t dyn, uint64_t *w, size_t n_entries,
		   enum gpu_rule *rule)
{
	uint64_t sm = 0, running = 0, given = 0;

	if (rule)
		*rule = GPU_RULE_NONE;
	if (!in || !w || (in->n && !in->procs))
		return 0;
	if (in->mig_mode) {
		if (rule)
			*rule = GPU_RULE_MIG;
		return split_mig(in, dyn, w, n_entries);
	}
	for (size_t i = 0; i < in->n; i++) {
		sm += in->procs[i].sm;
		running += in->procs[i].running;
	}
	if (in->have_sm && sm > 0) {
		if (rule)
			*rule = GPU_RULE_SM;
		for (size_t i = 0; i < in->n; i++)
			if (in->procs[i].sm)
				given += give(w, n_entries, in->procs[i].entry,
					      part_of(dyn, in->procs[i].sm, sm));
		return given;
	}
	if (running == 0)
		return 0;
	if (rule)
		*rule = GPU_RULE_EVEN;
	for (size_t i = 0; i < in->n; i++)
		if (in->procs[i].running)
			given += give(w, n_entries, in->procs[i].entry, part_of(dyn, 1, running));
	return given;
}
