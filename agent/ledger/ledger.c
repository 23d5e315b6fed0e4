/* ledger.c - see ledger.h. Rows live in a pointer array (stable iteration order by
 * creation) indexed by an open-addressing hash of the key. */
#include "../common/caps.h"
#include "ledger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/strbuf.h"

#define CKPT_MAGIC_V1 "wattlet-ledger 1"
#define CKPT_MAGIC "wattlet-ledger 2"
#define CKPT_MAX_BYTES WL_CAP_CHECKPOINT
#define CKPT_SUM_LEN 18 /* " #" + 16 hex digits ending every record of version 2 */
#define KEY_MAX 4096

struct ledger {
	struct ledger_row **rows;
	size_t n, alloc;
	uint32_t *index; /* slot -> row index + 1; 0 = empty */
	size_t index_cap; /* power of two, >= 2 * n */
	uint64_t retention_ns;
	uint32_t gen;
	bool rows_share_node; /* load checks sum(rows) <= node (ledger_set_rows_share_node) */
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
	l->rows_share_node = true;
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
	free(r->owner_kind);
	free(r->owner_name);
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

int ledger_row_set_owner(struct ledger_row *r, const char *kind, const char *name)
{
	bool known = kind && *kind && name && *name;
	int rc = set_name(&r->owner_kind, known ? kind : NULL);
	if (!rc)
		rc = set_name(&r->owner_name, known ? name : NULL);
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

void ledger_set_rows_share_node(struct ledger *l, bool on)
{
	l->rows_share_node = on;
}

static int add_uj_array(struct strbuf *sb, const uint64_t uj[ZONE_COUNT][MODE_COUNT])
{
	int err = 0;
	for (int z = 0; z < ZONE_COUNT && !err; z++)
		for (int m = 0; m < MODE_COUNT && !err; m++)
			err = strbuf_addf(sb, " %" PRIu64, uj[z][m]);
	return err;
}

/* Keys are written last in their record with '\\' and '\n' escaped. */
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

/* Ends the record that starts at sb->buf[start] with " #<16 hex digits of its FNV-1a>". */
static int end_record(struct strbuf *sb, size_t start)
{
	return strbuf_addf(sb, " #%016" PRIx64 "\n", mem_hash(sb->buf + start, sb->len - start));
}

/* Format 2: the magic line, then one record per line, each ending in its checksum:
 *   node <ticks> <uj x ZONE_COUNT*MODE_COUNT>       always line 2
 *   idle <learned idle W x ZONE_COUNT>               always line 3
 *   row <cpu_ns> <uj x ZONE_COUNT*MODE_COUNT> <co2e g> <escaped key>
 *   end <row count>                                  last */
static int build(const struct ledger *l, struct strbuf *sb)
{
	size_t start;
	int rc = strbuf_adds(sb, CKPT_MAGIC "\n");

	start = sb->len;
	if (!rc)
		rc = strbuf_addf(sb, "node %" PRIu64, l->node.ticks);
	if (!rc)
		rc = add_uj_array(sb, l->node.uj);
	if (!rc)
		rc = end_record(sb, start);
	start = sb->len;
	if (!rc)
		rc = strbuf_adds(sb, "idle");
	for (int z = 0; z < ZONE_COUNT && !rc; z++)
		rc = strbuf_addf(sb, " %.6f", l->node.learned_idle_w[z]);
	if (!rc)
		rc = end_record(sb, start);
	for (size_t i = 0; i < l->n && !rc; i++) {
		const struct ledger_row *r = l->rows[i];
		start = sb->len;
		rc = strbuf_addf(sb, "row %" PRIu64, r->cpu_ns);
		if (!rc)
			rc = add_uj_array(sb, r->uj);
		if (!rc)
			/* a subnormal amount is written as 0: strtod calls it a range error on load */
			rc = strbuf_addf(sb, " %.17g ", isnormal(r->co2e_g) ? r->co2e_g : 0.0);
		if (!rc)
			rc = add_key(sb, r->key);
		if (!rc)
			rc = end_record(sb, start);
	}
	start = sb->len;
	if (!rc)
		rc = strbuf_addf(sb, "end %zu", l->n);
	if (!rc)
		rc = end_record(sb, start);
	return rc;
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

/* Opens the directory path lives in (following links in the directory part, which the
 * operator configured) and points *base at the last component. fd or -errno. */
static int open_parent(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd;

	*base = slash ? slash + 1 : path;
	if (!**base || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0)
		return -EISDIR;
	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

uint64_t (*ledger_test_tmp_random)(void);

static uint64_t tmp_random(void)
{
	static _Atomic uint64_t counter;
	uint64_t r;

	if (ledger_test_tmp_random)
		return ledger_test_tmp_random();
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	/* no entropy yet (early boot): a guessable name is still safe, O_EXCL refuses
	 * any existing name and the next try picks another */
	return mono_ns() ^ ((uint64_t)getpid() << 32) ^ (++counter * 0x9e3779b97f4a7c15ull);
}

/* Creates a new temporary file ".<base>.tmp-<random>" in dfd: O_CREAT|O_EXCL never
 * opens an existing file or follows a symlink at the name (O_NOFOLLOW as well). */
static int create_tmp(int dfd, const char *base, char *name, size_t cap)
{
	for (int i = 0; i < 16; i++) {
		int fd;
		if (fmt_path(name, cap, ".%.200s.tmp-%016" PRIx64, base, tmp_random()))
			return -ENAMETOOLONG;
		fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Removes the temporary files a crash left between create and rename: regular files
 * named ".<base>.tmp-" and 16 hex digits, exactly what create_tmp() makes for this
 * path (so another path's, e.g. "<path>.pods", are not touched). Returns how many. */
static size_t remove_stale_tmps(const char *path)
{
	char prefix[256];
	const char *base;
	struct dirent *de;
	size_t n = 0, pl;
	int dfd = open_parent(path, &base);
	DIR *d;

	if (dfd < 0)
		return 0;
	if (fmt_path(prefix, sizeof(prefix), ".%.200s.tmp-", base)) {
		close(dfd);
		return 0;
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	pl = strlen(prefix);
	while ((de = readdir(d))) {
		const char *h = de->d_name + pl;
		struct stat st;
		if (strncmp(de->d_name, prefix, pl) != 0 || strlen(h) != 16 ||
		    strspn(h, "0123456789abcdef") != 16)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int ledger_save(const struct ledger *l, const char *path, struct wl_err *err)
{
	struct strbuf sb;
	char tmp[256];
	const char *base;
	int dfd = -1, fd = -1, rc;
	bool created = false;

	strbuf_init(&sb, CKPT_MAX_BYTES);
	rc = build(l, &sb);
	if (rc) {
		rc = err_set(err, -rc, "checkpoint: cannot build (%s)", strerror(-rc));
		goto cleanup;
	}
	dfd = open_parent(path, &base);
	if (dfd < 0) {
		rc = err_set(err, -dfd, "checkpoint: cannot create %s: %s", path, strerror(-dfd));
		dfd = -1;
		goto cleanup;
	}
	fd = create_tmp(dfd, base, tmp, sizeof(tmp));
	if (fd < 0) {
		rc = err_set(err, -fd, "checkpoint: cannot create a temporary file next to %s: %s",
			     path, strerror(-fd));
		fd = -1;
		goto cleanup;
	}
	created = true;
	rc = write_all(fd, sb.buf, sb.len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	fd = -1;
	if (rc) {
		rc = err_set(err, -rc, "checkpoint: cannot write %s (next to %s): %s", tmp, path,
			     strerror(-rc));
		goto cleanup;
	}
	/* rename replaces whatever has the name path - a symlink there is replaced, not
	 * followed - and a reader sees the old file or the new one */
	if (renameat(dfd, tmp, dfd, base) < 0) {
		rc = err_set(err, errno, "checkpoint: cannot rename %s to %s: %s", tmp, path,
			     strerror(errno));
		goto cleanup;
	}
	created = false;
	/* the rename is durable once the directory is synced */
	if (fsync(dfd) < 0 && errno != EINVAL)
		rc = err_set(err, errno, "checkpoint: %s written, but its directory cannot be synced: %s",
			     path, strerror(errno));
cleanup:
	if (created)
		unlinkat(dfd, tmp, 0);
	if (dfd >= 0)
		close(dfd);
	strbuf_release(&sb);
	return rc;
}

/* --- load ------------------------------------------------------------------ */

struct load_ctx {
	const char *path;
	struct ledger *t;            /* scratch ledger the file is parsed into */
	struct wl_err e;             /* what was wrong (fatal or partial) */
	unsigned version;
	struct ledger_row *last;     /* version 1: the row a co2e record applies to */
	bool have_node, have_idle, have_end;
	uint64_t end_n;
	size_t damaged;              /* version 2 records failing their checksum */
	unsigned first_damaged;      /* line of the first */
};

static int bad(struct load_ctx *c, unsigned lineno, const char *what)
{
	return err_set(&c->e, EINVAL, "checkpoint %s: parse error at line %u: %s", c->path,
		       lineno, what);
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

static int parse_row(struct load_ctx *c, char *cur, unsigned lineno)
{
	uint64_t cpu_ns, uj[ZONE_COUNT][MODE_COUNT];
	double co2e = 0;
	char *tok = strsep(&cur, " ");
	struct ledger_row *r;

	if (!tok || parse_u64(tok, &cpu_ns) || parse_uj_fields(&cur, uj))
		return bad(c, lineno, "bad row record");
	if (c->version >= 2) {
		tok = strsep(&cur, " ");
		if (!tok || parse_double(tok, &co2e) || co2e < 0)
			return bad(c, lineno, "bad co2e in row record");
	}
	if (!cur || !*cur)
		return bad(c, lineno, "row record without a key");
	unescape_key(cur);
	if (strlen(cur) >= KEY_MAX)
		return bad(c, lineno, "row key too long");
	if (ledger_find(c->t, cur))
		return bad(c, lineno, "duplicate row");
	r = row_insert(c->t, cur);
	if (!r)
		return err_set(&c->e, ENOMEM, "checkpoint %s:%u: cannot add row", c->path, lineno);
	r->cpu_ns = cpu_ns;
	r->co2e_g = co2e;
	memcpy(r->uj, uj, sizeof(uj));
	c->last = r;
	return 0;
}

/* One record without its checksum. 0 or negative errno with c->e set. */
static int parse_record(struct load_ctx *c, char *line, unsigned lineno)
{
	char *cur = line;
	char *kw = strsep(&cur, " ");

	if (c->have_end)
		return bad(c, lineno, "data after the end record");
	if (strcmp(kw, "node") == 0) {
		char *tok = strsep(&cur, " ");
		if (c->have_node)
			return bad(c, lineno, "second node record");
		if (!tok || parse_u64(tok, &c->t->node.ticks) ||
		    parse_uj_fields(&cur, c->t->node.uj) || cur)
			return bad(c, lineno, "bad node record");
		c->have_node = true;
	} else if (strcmp(kw, "idle") == 0) {
		for (int z = 0; z < ZONE_COUNT; z++) {
			char *tok = strsep(&cur, " ");
			double w;
			if (!tok || parse_double(tok, &w) || w < -1)
				return bad(c, lineno, "bad idle record");
			c->t->node.learned_idle_w[z] = w;
		}
		if (cur)
			return bad(c, lineno, "bad idle record");
		c->have_idle = true;
	} else if (strcmp(kw, "row") == 0) {
		return parse_row(c, cur, lineno);
	} else if (strcmp(kw, "co2e") == 0 && c->version == 1) {
		/* version 1: optional, applies to the row just before it */
		double g;
		if (!c->last || !cur || parse_double(cur, &g) || g < 0)
			return bad(c, lineno, "bad co2e record");
		c->last->co2e_g = g;
	} else if (strcmp(kw, "end") == 0) {
		if (!cur || parse_u64(cur, &c->end_n))
			return bad(c, lineno, "bad end record");
		if (c->version == 1 && c->end_n != c->t->n)
			return bad(c, lineno, "row count mismatch");
		c->have_end = true;
	} else {
		return bad(c, lineno, "unknown record");
	}
	return 0;
}

/* Version 2: checks and strips " #<hex>" from a record of len bytes. */
static bool record_sum_ok(char *line, size_t len)
{
	uint64_t want = 0;

	if (len < CKPT_SUM_LEN + 1 || line[len - CKPT_SUM_LEN] != ' ' ||
	    line[len - CKPT_SUM_LEN + 1] != '#' || memchr(line, '\0', len))
		return false;
	for (size_t i = len - 16; i < len; i++) {
		char ch = line[i];
		unsigned v;
		if (ch >= '0' && ch <= '9')
			v = (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v = (unsigned)(ch - 'a' + 10);
		else
			return false;
		want = want << 4 | v;
	}
	if (mem_hash(line, len - CKPT_SUM_LEN) != want)
		return false;
	line[len - CKPT_SUM_LEN] = '\0';
	return true;
}

/* The invariant of a ledger whose rows are shares of the node (attrib.h: per zone and
 * mode, sum(workloads) + system == node each tick): rows only grow with the node, and
 * rows that expired took their totals with them, so sum(rows) <= node for every zone
 * and mode. 0, or -EINVAL with c->e saying where it fails. */
static int check_rows_within_node(struct load_ctx *c)
{
	const struct ledger *t = c->t;

	for (int z = 0; z < ZONE_COUNT; z++)
		for (int m = 0; m < MODE_COUNT; m++) {
			uint64_t sum = 0;
			bool over = false;
			for (size_t i = 0; i < t->n && !over; i++)
				over = __builtin_add_overflow(sum, t->rows[i]->uj[z][m], &sum);
			if (over || sum > t->node.uj[z][m])
				return err_set(&c->e, EINVAL,
					       "checkpoint %s: rows exceed node in zone %s, mode %s "
					       "(rows %s%" PRIu64 " uJ > node %" PRIu64 " uJ)",
					       c->path, zone_name((enum zone)z), mode_name((enum mode)m),
					       over ? "overflow at " : "", sum, t->node.uj[z][m]);
		}
	return 0;
}

static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	return "not a regular file";
}

/* Opens path for reading: never through a symlink, never blocking (a FIFO), only a
 * regular file of at most CKPT_MAX_BYTES. fd or negative errno with e set; *aside:
 * the object should be moved out of the way (a symlink, an oversized file). */
static int open_checkpoint(const char *path, off_t *size, bool *aside, struct wl_err *e)
{
	struct stat lst, st;
	int fd;

	*aside = false;
	if (lstat(path, &lst) < 0)
		return err_set(e, errno, "checkpoint %s: %s", path, strerror(errno));
	if (S_ISLNK(lst.st_mode)) {
		*aside = true;
		return err_set(e, ELOOP, "checkpoint %s: is a symbolic link (not followed)", path);
	}
	if (!S_ISREG(lst.st_mode))
		return err_set(e, S_ISDIR(lst.st_mode) ? EISDIR : EINVAL,
			       "checkpoint %s: is %s, not a regular file", path, file_kind(lst.st_mode));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) { /* unreadable (EACCES, EIO, ...): kept aside, never overwritten */
		*aside = errno != ENOENT;
		return err_set(e, errno, "checkpoint %s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != lst.st_dev ||
	    st.st_ino != lst.st_ino) {
		close(fd);
		return err_set(e, EAGAIN, "checkpoint %s: replaced while being opened", path);
	}
	if (st.st_size > (off_t)CKPT_MAX_BYTES) {
		close(fd);
		*aside = true;
		return err_set(e, EFBIG, "checkpoint %s: too large (%lld bytes, limit %zu)", path,
			       (long long)st.st_size, CKPT_MAX_BYTES);
	}
	*size = st.st_size;
	return fd;
}

/* Reads the size bytes fstat reported (NUL-terminated); a file that grew meanwhile is
 * refused rather than read without bound. */
static int read_checkpoint(int fd, off_t size, char **out, size_t *len)
{
	size_t cap = (size_t)size + 1, n = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int rc = -errno;
			free(buf);
			return rc;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == cap) {
		free(buf);
		return -EAGAIN;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* Moves path (whatever it is; rename never follows a symlink at either name) to
 * <path>.bad-<unix time>[.N] without replacing anything there. 0 or negative errno. */
static int set_aside(const char *path, char *out, size_t cap)
{
	long long now = (long long)time(NULL);
	int rc = -EEXIST;

	for (int i = 0; i < 100; i++) {
		struct stat st;
		rc = i ? fmt_path(out, cap, "%s.bad-%lld.%d", path, now, i)
		       : fmt_path(out, cap, "%s.bad-%lld", path, now);
		if (rc)
			break;
		if (renameat2(AT_FDCWD, path, AT_FDCWD, out, RENAME_NOREPLACE) == 0)
			return 0;
		rc = -errno;
		if (errno == EEXIST)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			break;
		/* a file system without RENAME_NOREPLACE: look first */
		if (lstat(out, &st) == 0) {
			rc = -EEXIST;
			continue;
		}
		if (errno == ENOENT && rename(path, out) == 0)
			return 0;
		rc = -errno;
		break;
	}
	out[0] = '\0';
	return rc;
}

/* Says what a partly damaged version 2 file lost, into c->e. */
static void describe_partial(struct load_ctx *c)
{
	char what[160] = "", lost[96];

	if (c->damaged)
		snprintf(what, sizeof(what), "%zu record(s) fail their checksum (first at line %u)%s",
			 c->damaged, c->first_damaged, c->have_end ? "" : ", ");
	if (!c->have_end)
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
			 "no intact end record (truncated?)");
	if (c->have_end)
		snprintf(lost, sizeof(lost), "%" PRIu64 " row(s) lost", c->end_n - c->t->n);
	else
		snprintf(lost, sizeof(lost), "an unknown number of rows lost");
	err_set(&c->e, EBADMSG, "checkpoint %s: %s: restored the node totals and %zu intact row(s), %s%s",
		c->path, what, c->t->n, lost,
		c->have_idle ? "" : ", learned idle not restored");
}

int ledger_load(struct ledger *l, const char *path, struct ledger_load_info *info,
		struct wl_err *err)
{
	struct ledger_load_info scratch;
	struct load_ctx c = { .path = path };
	char *buf = NULL;
	size_t len = 0, pos = 0;
	off_t size = 0;
	unsigned lineno = 0;
	bool aside = false, partial = false;
	int fd, rc;

	if (!info)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	info->stale_tmps_removed = remove_stale_tmps(path);
	c.t = ledger_new(l->retention_ns);
	if (!c.t)
		return err_set(err, ENOMEM, "checkpoint %s: out of memory", path);
	fd = open_checkpoint(path, &size, &aside, &c.e);
	if (fd < 0) {
		rc = fd;
		goto cleanup;
	}
	rc = read_checkpoint(fd, size, &buf, &len);
	close(fd);
	if (rc == -EAGAIN) {
		err_set(&c.e, EAGAIN, "checkpoint %s: grew while being read", path);
		goto cleanup;
	}
	if (rc) { /* kept aside, so the next checkpoint does not overwrite what it holds */
		aside = true;
		err_set(&c.e, -rc, "checkpoint %s: cannot read: %s", path, strerror(-rc));
		goto cleanup;
	}
	aside = true; /* from here on, a file that is not restored whole is moved aside */
	while (pos < len) {
		char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;

		pos += ll + 1;
		line[ll] = '\0';
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, CKPT_MAGIC) == 0 && strlen(line) == ll) {
				c.version = 2;
			} else if (strcmp(line, CKPT_MAGIC_V1) == 0 && strlen(line) == ll) {
				c.version = 1;
			} else {
				rc = err_set(&c.e, EINVAL, "checkpoint %s: not a wattlet ledger this agent "
					     "can read (line 1 is not \"" CKPT_MAGIC "\" or \""
					     CKPT_MAGIC_V1 "\")", path);
				goto cleanup;
			}
			info->version = c.version;
			continue;
		}
		if (c.version == 1) {
			/* no checksums: any damage refuses the whole file */
			rc = memchr(line, '\0', ll) ? bad(&c, lineno, "NUL byte")
						    : parse_record(&c, line, lineno);
			if (rc)
				goto cleanup;
			continue;
		}
		if (!record_sum_ok(line, ll)) {
			if (lineno == 2) {
				rc = err_set(&c.e, EINVAL, "checkpoint %s: checksum mismatch in the node "
					     "record (line 2)", path);
				goto cleanup;
			}
			if (!c.damaged++)
				c.first_damaged = lineno;
			continue;
		}
		/* an intact record that does not parse was written that way: refuse it all */
		if (lineno == 2 && strncmp(line, "node ", 5) != 0)
			rc = bad(&c, lineno, "line 2 is not the node record");
		else
			rc = parse_record(&c, line, lineno);
		if (rc)
			goto cleanup;
	}
	if (lineno == 0) {
		rc = err_set(&c.e, EINVAL, "checkpoint %s: empty file (not a wattlet ledger)", path);
		goto cleanup;
	}
	if (!c.have_node) {
		rc = err_set(&c.e, EINVAL, "checkpoint %s: truncated (no node record)", path);
		goto cleanup;
	}
	if (c.version == 1 && !c.have_end) {
		rc = err_set(&c.e, EINVAL, "checkpoint %s: truncated (no end record)", path);
		goto cleanup;
	}
	if (c.have_end && c.end_n < c.t->n) {
		rc = err_set(&c.e, EINVAL, "checkpoint %s: row count mismatch (end record says %"
			     PRIu64 ", the file has %zu)", path, c.end_n, c.t->n);
		goto cleanup;
	}
	if (l->rows_share_node && (rc = check_rows_within_node(&c)))
		goto cleanup;
	partial = c.damaged || !c.have_end || c.end_n > c.t->n || !c.have_idle;
	if (partial) {
		describe_partial(&c);
		info->rows_dropped = c.have_end ? (size_t)(c.end_n - c.t->n) : 0;
		info->rows_lost_unknown = !c.have_end;
		info->idle_dropped = !c.have_idle;
		rc = -EBADMSG;
	} else {
		aside = false;
	}
	/* swap the parsed content in */
	{
		struct ledger swap = *l;
		*l = *c.t;
		l->retention_ns = swap.retention_ns;
		l->rows_share_node = swap.rows_share_node;
		l->gen = swap.gen + 1;
		*c.t = swap;
	}
	for (size_t i = 0; i < l->n; i++)
		l->rows[i]->last_seen_ns = 0;
	info->rows = l->n;
cleanup:
	if (rc && aside) {
		int arc = set_aside(path, info->set_aside, sizeof(info->set_aside));
		if (arc)
			err_set(err, -rc, "%s; %s, and the file could not be moved aside: %s", c.e.msg,
				rc == -EBADMSG ? "the rest was restored" : "nothing restored",
				strerror(-arc));
		else
			err_set(err, -rc, "%s; %sfile kept as %s", c.e.msg,
				rc == -EBADMSG ? "" : "nothing restored, ", info->set_aside);
	} else if (rc) {
		err_set(err, -rc, "%s", c.e.msg);
	}
	free(buf);
	ledger_free(c.t);
	return rc;
}
