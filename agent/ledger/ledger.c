/* ledger.c - see ledger.h. Rows live in a pointer array (stable iteration order by
 * creation) indexed by an open-addressing hash of the key. */
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/strbuf.h"

#define CKPT_MAGIC "wattlet-ledger 1"
#define CKPT_MAX_BYTES (256u << 20)
#define KEY_MAX 4096

struct ledger {
	struct ledger_row **rows;
	size_t n, alloc;
	uint32_t *index; /* slot -> row index + 1; 0 = empty */
	size_t index_cap; /* power of two, >= 2 * n */
	uint64_t retention_ns;
	uint32_t gen;
	struct ledger_node node;
};


/* Refills idx (cap slots, zeroed here) from the row array. */
static void index_fill(const struct ledger *l, uint32_t *idx, size_t cap)
{
	memset(idx, 0, cap * sizeof(*idx));
	for (size_t i = 0; i < l->n; i++) {
		size_t slot = str_hash(l->rows[i]->key) & (cap - 1);
		while (idx[slot])
			slot = (slot + 1) & (cap - 1);
		idx[slot] = (uint32_t)(i + 1);
	}
}

static int index_rebuild(struct ledger *l, size_t cap)
{
	uint32_t *idx = malloc(cap * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	index_fill(l, idx, cap);
	free(l->index);
	l->index = idx;
	l->index_cap = cap;
	return 0;
}

static long index_find(const struct ledger *l, const char *key, size_t *slot_out)
{
	size_t slot = str_hash(key) & (l->index_cap - 1);
	while (l->index[slot]) {
		size_t i = l->index[slot] - 1;
		if (strcmp(l->rows[i]->key, key) == 0) {
			if (slot_out)
				*slot_out = slot;
			return (long)i;
		}
		slot = (slot + 1) & (l->index_cap - 1);
	}
	if (slot_out)
		*slot_out = slot;
	return -1;
}

struct ledger *ledger_new(uint64_t retention_ns)
{
	struct ledger *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->retention_ns = retention_ns;
	for (int z = 0; z < ZONE_COUNT; z++)
		l->node.learned_idle_w[z] = -1;
	if (index_rebuild(l, 64)) {
		free(l);
		return NULL;
	}
	return l;
}

static void row_free(struct ledger_row *r)
{
	if (!r)
		return;
	free(r->key);
	free(r->ns);
	free(r->pod);
	free(r->container);
	free(r);
}

/* Replaces *slot with a copy of v unless equal; 0 or -ENOMEM. */
static int set_name(char **slot, const char *v)
{
	char *copy = NULL;

	if ((!v && !*slot) || (v && *slot && strcmp(v, *slot) == 0))
		return 0;
	if (v && !(copy = strdup(v)))
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

int ledger_row_set_names(struct ledger_row *r, const char *ns, const char *pod,
			 const char *container)
{
	int rc = set_name(&r->ns, ns);
	if (!rc)
		rc = set_name(&r->pod, pod);
	if (!rc)
		rc = set_name(&r->container, container);
	return rc;
}

void ledger_free(struct ledger *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		row_free(l->rows[i]);
	free(l->rows);
	free(l->index);
	free(l);
}

static struct ledger_row *row_insert(struct ledger *l, const char *key)
{
	struct ledger_row *r;
	size_t slot;

	if (strlen(key) >= KEY_MAX || l->n >= UINT32_MAX - 1)
		return NULL;
	if (2 * (l->n + 1) > l->index_cap && index_rebuild(l, l->index_cap * 2))
		return NULL;
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 64;
		struct ledger_row **nr = realloc(l->rows, na * sizeof(*nr));
		if (!nr)
			return NULL;
		l->rows = nr;
		l->alloc = na;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->key = strdup(key);
	if (!r->key) {
		free(r);
		return NULL;
	}
	r->is_system = strcmp(key, LEDGER_SYSTEM_KEY) == 0;
	if (!r->is_system)
		cg_ident_parse(key, &r->ident);
	r->terminated = true;
	index_find(l, key, &slot);
	l->rows[l->n] = r;
	l->index[slot] = (uint32_t)(l->n + 1);
	l->n++;
	return r;
}

struct ledger_row *ledger_row_get(struct ledger *l, const char *key)
{
	long i = index_find(l, key, NULL);
	struct ledger_row *r = i >= 0 ? l->rows[i] : row_insert(l, key);
	if (!r)
		return NULL;
	r->gen = l->gen;
	r->terminated = false;
	return r;
}

const struct ledger_row *ledger_find(const struct ledger *l, const char *key)
{
	long i = index_find(l, key, NULL);
	return i >= 0 ? l->rows[i] : NULL;
}

void ledger_begin_tick(struct ledger *l)
{
	l->gen++;
}

void ledger_commit_tick(struct ledger *l, uint64_t now_ns)
{
	for (size_t i = 0; i < l->n; i++) {
		struct ledger_row *r = l->rows[i];
		if (r->gen == l->gen && !r->terminated) {
			r->last_seen_ns = now_ns;
			continue;
		}
		if (!r->terminated)
			r->terminated = true;
		memset(r->watts, 0, sizeof(r->watts));
		r->cpu_cores = 0;
	}
	l->node.ticks++;
	l->node.last_tick_ns = now_ns;
}

size_t ledger_expire(struct ledger *l, uint64_t now_ns)
{
	size_t kept = 0, dropped = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct ledger_row *r = l->rows[i];
		if (r->terminated && !r->is_system && now_ns >= r->last_seen_ns &&
		    now_ns - r->last_seen_ns > l->retention_ns) {
			row_free(r);
			dropped++;
			continue;
		}
		l->rows[kept++] = r;
	}
	l->n = kept;
	if (dropped)
		index_fill(l, l->index, l->index_cap);
	return dropped;
}

struct ledger_node *ledger_node(struct ledger *l)
{
	return &l->node;
}

const struct ledger_node *ledger_node_c(const struct ledger *l)
{
	return &l->node;
}

size_t ledger_count(const struct ledger *l)
{
	return l->n;
}

const struct ledger_row *ledger_row_at(const struct ledger *l, size_t i)
{
	return i < l->n ? l->rows[i] : NULL;
}

/* --- checkpoint ------------------------------------------------------------ */

static int add_uj_array(struct strbuf *sb, const uint64_t uj[ZONE_COUNT][MODE_COUNT])
{
	int err = 0;
	for (int z = 0; z < ZONE_COUNT && !err; z++)
		for (int m = 0; m < MODE_COUNT && !err; m++)
			err = strbuf_addf(sb, " %" PRIu64, uj[z][m]);
	return err;
}

/* Keys are written last on their line with '\\' and '\n' escaped. */
static int add_key(struct strbuf *sb, const char *key)
{
	int err = 0;
	for (; *key && !err; key++) {
		if (*key == '\\')
			err = strbuf_adds(sb, "\\\\");
		else if (*key == '\n')
			err = strbuf_adds(sb, "\\n");
		else
			err = strbuf_add(sb, key, 1);
	}
	return err;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ledger_save(const struct ledger *l, const char *path, struct wl_err *err)
{
	struct strbuf sb;
	char tmp[4096 + 8];
	int fd = -1, rc;

	if (fmt_path(tmp, sizeof(tmp), "%s.tmp", path))
		return err_set(err, ENAMETOOLONG, "checkpoint path too long: %s", path);
	strbuf_init(&sb, CKPT_MAX_BYTES);
	rc = strbuf_addf(&sb, CKPT_MAGIC "\nnode %" PRIu64, l->node.ticks);
	if (!rc)
		rc = add_uj_array(&sb, l->node.uj);
	if (!rc)
		rc = strbuf_adds(&sb, "\nidle");
	for (int z = 0; z < ZONE_COUNT && !rc; z++)
		rc = strbuf_addf(&sb, " %.6f", l->node.learned_idle_w[z]);
	for (size_t i = 0; i < l->n && !rc; i++) {
		const struct ledger_row *r = l->rows[i];
		rc = strbuf_addf(&sb, "\nrow %" PRIu64, r->cpu_ns);
		if (!rc)
			rc = add_uj_array(&sb, r->uj);
		if (!rc)
			rc = strbuf_adds(&sb, " ");
		if (!rc)
			rc = add_key(&sb, r->key);
		if (!rc && r->co2e_g > 0)
			rc = strbuf_addf(&sb, "\nco2e %.17g", r->co2e_g);
	}
	if (!rc)
		rc = strbuf_addf(&sb, "\nend %zu\n", l->n);
	if (rc) {
		rc = err_set(err, -rc, "checkpoint: cannot build (%s)", strerror(-rc));
		goto cleanup;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = err_set(err, errno, "checkpoint: cannot create %s: %s", tmp, strerror(errno));
		goto cleanup;
	}
	rc = write_all(fd, sb.buf, sb.len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	fd = -1;
	if (rc) {
		rc = err_set(err, -rc, "checkpoint: cannot write %s: %s", tmp, strerror(-rc));
		unlink(tmp);
		goto cleanup;
	}
	if (rename(tmp, path) < 0) {
		rc = err_set(err, errno, "checkpoint: cannot rename %s to %s: %s", tmp, path,
			     strerror(errno));
		unlink(tmp);
		goto cleanup;
	}
cleanup:
	strbuf_release(&sb);
	return rc;
}

static int parse_uj_fields(char **cursor, uint64_t uj[ZONE_COUNT][MODE_COUNT])
{
	for (int z = 0; z < ZONE_COUNT; z++)
		for (int m = 0; m < MODE_COUNT; m++) {
			char *tok = strsep(cursor, " ");
			if (!tok || parse_u64(tok, &uj[z][m]))
				return -EINVAL;
		}
	return 0;
}

static void unescape_key(char *s)
{
	char *w = s;
	for (; *s; s++) {
		if (*s == '\\' && s[1] == 'n') {
			*w++ = '\n';
			s++;
		} else if (*s == '\\' && s[1] == '\\') {
			*w++ = '\\';
			s++;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Parses into a scratch ledger first, so a corrupt file changes nothing. */
int ledger_load(struct ledger *l, const char *path, struct wl_err *err)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int rc = 0;
	bool have_node = false, have_end = false;
	struct ledger_row *last = NULL;
	struct ledger *tmp = ledger_new(l->retention_ns);

	if (!tmp)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f) {
		rc = -errno;
		err_set(err, errno, "checkpoint %s: %s", path, strerror(errno));
		goto cleanup;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *cur;
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		cur = line;
		if (lineno == 1) {
			if (strcmp(line, CKPT_MAGIC) != 0) {
				rc = err_set(err, EINVAL, "checkpoint %s: not a wattlet ledger (version?)", path);
				goto cleanup;
			}
			continue;
		}
		if (have_end) {
			rc = err_set(err, EINVAL, "checkpoint %s:%u: data after end", path, lineno);
			goto cleanup;
		}
		char *kw = strsep(&cur, " ");
		if (strcmp(kw, "node") == 0) {
			char *tok = strsep(&cur, " ");
			if (!tok || parse_u64(tok, &tmp->node.ticks) ||
			    parse_uj_fields(&cur, tmp->node.uj) || cur) {
				rc = err_set(err, EINVAL, "checkpoint %s:%u: bad node line", path, lineno);
				goto cleanup;
			}
			have_node = true;
		} else if (strcmp(kw, "idle") == 0) {
			for (int z = 0; z < ZONE_COUNT; z++) {
				char *tok = strsep(&cur, " ");
				if (!tok || parse_double(tok, &tmp->node.learned_idle_w[z])) {
					rc = err_set(err, EINVAL, "checkpoint %s:%u: bad idle line", path, lineno);
					goto cleanup;
				}
			}
		} else if (strcmp(kw, "row") == 0) {
			uint64_t cpu_ns, uj[ZONE_COUNT][MODE_COUNT];
			char *tok = strsep(&cur, " ");
			struct ledger_row *r;
			if (!tok || parse_u64(tok, &cpu_ns) || parse_uj_fields(&cur, uj) || !cur ||
			    !*cur) {
				rc = err_set(err, EINVAL, "checkpoint %s:%u: bad row line", path, lineno);
				goto cleanup;
			}
			unescape_key(cur);
			if (ledger_find(tmp, cur)) {
				rc = err_set(err, EINVAL, "checkpoint %s:%u: duplicate row", path, lineno);
				goto cleanup;
			}
			r = row_insert(tmp, cur);
			if (!r) {
				rc = err_set(err, ENOMEM, "checkpoint %s:%u: cannot add row", path, lineno);
				goto cleanup;
			}
			r->cpu_ns = cpu_ns;
			memcpy(r->uj, uj, sizeof(uj));
			last = r;
		} else if (strcmp(kw, "co2e") == 0) {
			/* optional, applies to the row just before it */
			double g;
			if (!last || !cur || parse_double(cur, &g) || g < 0) {
				rc = err_set(err, EINVAL, "checkpoint %s:%u: bad co2e line", path, lineno);
				goto cleanup;
			}
			last->co2e_g = g;
		} else if (strcmp(kw, "end") == 0) {
			uint64_t n;
			if (!cur || parse_u64(cur, &n) || n != tmp->n) {
				rc = err_set(err, EINVAL, "checkpoint %s:%u: row count mismatch", path, lineno);
				goto cleanup;
			}
			have_end = true;
		} else {
			rc = err_set(err, EINVAL, "checkpoint %s:%u: unknown record '%s'", path, lineno, kw);
			goto cleanup;
		}
	}
	if (!have_node || !have_end) {
		rc = err_set(err, EINVAL, "checkpoint %s: truncated (no %s)", path,
			     have_node ? "end marker" : "node record");
		goto cleanup;
	}
	/* swap the parsed content in */
	{
		struct ledger swap = *l;
		*l = *tmp;
		l->retention_ns = swap.retention_ns;
		l->gen = swap.gen + 1;
		*tmp = swap;
	}
	for (size_t i = 0; i < l->n; i++)
		l->rows[i]->last_seen_ns = 0;
cleanup:
	free(line);
	if (f)
		fclose(f);
	ledger_free(tmp);
	return rc;
}
