/* meter.c - meter dispatch and the counter logic every backend shares: wrap,
 * reset and implausible-jump detection, power integration, per-zone error deferral. */
#include "meter_impl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/nametab.h"

const char *const meter_kind_names[METER_KIND_COUNT] = {
	[METER_POWERCAP] = "powercap", [METER_PERF] = "perf", [METER_MSR] = "msr",
	[METER_HWMON] = "hwmon",       [METER_ACPI] = "acpi",
};

const char *meter_kind_name(enum meter_kind k)
{
	return nametab_name(meter_kind_names, METER_KIND_COUNT, k, "unknown");
}

int meter_kind_from_name(const char *name)
{
	return nametab_find(meter_kind_names, METER_KIND_COUNT, name);
}

int meter_add_dom(struct meter *m, const struct meter_dom *d, const char *path)
{
	struct meter_dom *nd;

	if (m->n >= METER_MAX_DOMAINS)
		return -E2BIG;
	if (m->n == m->cap) {
		int ncap = m->cap ? m->cap * 2 : 8;
		struct meter_dom *p = realloc(m->dom, (size_t)ncap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		m->dom = p;
		m->cap = ncap;
	}
	nd = &m->dom[m->n];
	*nd = *d;
	nd->path = NULL;
	if (nd->how != SRC_PERF)
		nd->fd = -1;
	if (path) {
		nd->path = strdup(path);
		if (!nd->path)
			return -ENOMEM;
	}
	nd->have_base = false;
	nd->have_pend = false;
	nd->frac_uj = 0;
	nd->enoent_reads = 0;
	nd->gone = false;
	nd->last_err = 0;
	m->n++;
	return 0;
}

const char *meter_ftype_name(unsigned ftype)
{
	switch (ftype & S_IFMT) {
	case S_IFIFO:
		return "a FIFO";
	case S_IFDIR:
		return "a directory";
	case S_IFLNK:
		return "a symbolic link";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFREG:
		return "a regular file";
	}
	return "not a regular file";
}

/* Opens path without blocking and without following a link in its last component;
 * returns the fd once fstat says its type is accepted (regular, or a character device
 * when dev), else a negative errno with *ftype set. */
static int open_checked(const char *path, bool dev, unsigned *ftype)
{
	struct stat st;
	int fd, err;

	if (ftype)
		*ftype = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		err = -errno;
		if (err == -ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && ftype)
			*ftype = S_IFLNK;
		return err;
	}
	if (fstat(fd, &st) != 0) {
		err = -errno;
		close(fd);
		return err;
	}
	if (S_ISREG(st.st_mode) || (dev && S_ISCHR(st.st_mode)))
		return fd;
	if (ftype)
		*ftype = st.st_mode & S_IFMT;
	close(fd);
	return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

int meter_read_attr(const char *path, char *buf, size_t cap, size_t *len, unsigned *ftype)
{
	int fd, err;

	if (ftype)
		*ftype = 0;
	if (!path || !buf || cap == 0)
		return -EINVAL;
	buf[0] = '\0';
	fd = open_checked(path, false, ftype);
	if (fd < 0)
		return fd;
	err = read_fd(fd, buf, cap, len);
	close(fd);
	return err;
}

int meter_read_attr_str(const char *path, char *buf, size_t cap)
{
	size_t len;
	int err = meter_read_attr(path, buf, cap, &len, NULL);

	if (err)
		return err;
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	return len ? 0 : -EINVAL;
}

int meter_read_attr_u64(const char *path, uint64_t *out, unsigned *ftype)
{
	char buf[64];
	int err = meter_read_attr(path, buf, sizeof(buf), NULL, ftype);

	if (err)
		return err;
	return parse_u64(buf, out);
}

int meter_open_dev(const char *path, unsigned *ftype)
{
	if (!path)
		return -EINVAL;
	return open_checked(path, true, ftype);
}

int meter_msr_read(const char *path, uint64_t off, uint64_t *out, unsigned *ftype)
{
	unsigned char b[8];
	uint64_t v = 0;
	ssize_t n;
	int fd = meter_open_dev(path, ftype);

	if (fd < 0)
		return fd;
	n = pread(fd, b, sizeof(b), (off_t)off);
	if (n < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	close(fd);
	if (n != (ssize_t)sizeof(b))
		return -EIO;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	*out = v;
	return 0;
}

int meter_dom_read_raw(const struct meter_dom *d, uint64_t *raw, unsigned *ftype)
{
	uint64_t v = 0;
	ssize_t n;
	int err;

	if (ftype)
		*ftype = 0;
	switch (d->how) {
	case SRC_FILE:
		return meter_read_attr_u64(d->path, raw, ftype);
	case SRC_MSR:
		err = meter_msr_read(d->path, d->msr_off, &v, ftype);
		if (err)
			return err;
		*raw = v & 0xffffffffull; /* energy status: bits 31:0 */
		return 0;
	case SRC_PERF:
		n = read(d->fd, &v, sizeof(v));
		if (n < 0)
			return -errno;
		if (n != (ssize_t)sizeof(v))
			return -EIO;
		*raw = v;
		return 0;
	}
	return -EINVAL;
}

static double default_max_watts(double w)
{
	return (w > 0 && isfinite(w)) ? w : METER_DEFAULT_MAX_WATTS;
}

static void set_root(char *out, size_t cap, const char *v, const char *def)
{
	snprintf(out, cap, "%s", v && *v ? v : def);
}

static void resolve_cfg(const struct meter_opts *o, struct meter_cfg *c)
{
	memset(c, 0, sizeof(*c));
	set_root(c->sysfs_root, sizeof(c->sysfs_root), o ? o->sysfs_root : NULL, "/sys");
	set_root(c->dev_root, sizeof(c->dev_root), o ? o->dev_root : NULL, "/dev");
	set_root(c->proc_root, sizeof(c->proc_root), o ? o->proc_root : NULL, "/proc");
	if (o && o->powercap_root && *o->powercap_root)
		snprintf(c->powercap_root, sizeof(c->powercap_root), "%s", o->powercap_root);
	else
		snprintf(c->powercap_root, sizeof(c->powercap_root), "%s/class/powercap",
			 c->sysfs_root);
	c->max_watts = default_max_watts(o ? o->max_watts : 0);
	c->clock = o ? o->clock : NULL;
	c->clock_ctx = o ? o->clock_ctx : NULL;
}

void meter_close(struct meter *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->n; i++) {
		free(m->dom[i].path);
		if (m->dom[i].fd >= 0)
			close(m->dom[i].fd);
	}
	free(m->dom);
	free(m);
}

/* The backend of each enum meter_kind. */
static int (*const backend_open[METER_KIND_COUNT])(struct meter *, const struct meter_cfg *,
						   char *, size_t) = {
	[METER_POWERCAP] = meter_powercap_open, [METER_PERF] = meter_perf_open,
	[METER_MSR] = meter_msr_open, [METER_HWMON] = meter_hwmon_open,
	[METER_ACPI] = meter_acpi_open,
};

static int open_kind(enum meter_kind k, const struct meter_cfg *c, struct meter **out,
		     char *reason, size_t cap)
{
	struct meter *m = calloc(1, sizeof(*m));
	int err;

	*out = NULL;
	if (!m) {
		snprintf(reason, cap, "out of memory");
		return -ENOMEM;
	}
	m->kind = k;
	m->max_watts = c->max_watts;
	m->clock = c->clock;
	m->clock_ctx = c->clock_ctx;
	if ((unsigned)k < METER_KIND_COUNT) {
		err = backend_open[k](m, c, reason, cap);
	} else {
		snprintf(reason, cap, "unknown meter kind %d", (int)k);
		err = -EINVAL;
	}
	if (err == 0 && m->n == 0)
		err = -ENODEV;
	if (err) {
		meter_close(m);
		return err;
	}
	*out = m;
	return 0;
}

struct meter *meter_open(const struct meter_opts *opts, struct meter_probe *probe)
{
	static const enum meter_kind def_order[] = { METER_POWERCAP, METER_PERF, METER_MSR,
						      METER_HWMON, METER_ACPI };
	const enum meter_kind *order = def_order;
	int n_order = METER_KIND_COUNT;
	bool seen[METER_KIND_COUNT] = { false };
	struct meter *chosen = NULL;
	struct meter_cfg cfg;

	resolve_cfg(opts, &cfg);
	if (opts && opts->n_order > 0) {
		order = opts->order;
		n_order = opts->n_order > METER_KIND_COUNT ? METER_KIND_COUNT : opts->n_order;
	}
	if (probe) {
		for (int k = 0; k < METER_KIND_COUNT; k++) {
			memset(&probe[k], 0, sizeof(probe[k]));
			probe[k].kind = (enum meter_kind)k;
			snprintf(probe[k].reason, sizeof(probe[k].reason), "not in meter.order");
		}
	}
	for (int i = 0; i < n_order; i++) {
		enum meter_kind k = order[i];
		char reason[sizeof(probe->reason)] = "";
		struct meter *m;

		if ((int)k < 0 || k >= METER_KIND_COUNT || seen[k])
			continue;
		seen[k] = true;
		if (!probe && chosen)
			break;
		open_kind(k, &cfg, &m, reason, sizeof(reason));
		if (probe) {
			probe[k].tried = true;
			probe[k].usable = m != NULL;
			snprintf(probe[k].reason, sizeof(probe[k].reason), "%s", reason);
		}
		if (m && !chosen) {
			chosen = m;
			if (probe)
				probe[k].chosen = true;
		} else {
			meter_close(m);
		}
	}
	return chosen;
}

enum meter_kind meter_get_kind(const struct meter *m)
{
	return m ? m->kind : METER_KIND_COUNT;
}

uint32_t meter_zone_mask(const struct meter *m)
{
	uint32_t mask = 0;
	if (!m)
		return 0;
	for (int i = 0; i < m->n; i++)
		if (!m->dom[i].gone)
			mask |= 1u << m->dom[i].zone;
	return mask;
}

int meter_describe(const struct meter *m, char *buf, size_t cap)
{
	size_t len = 0;
	bool trunc = false;

	if (!buf || cap == 0)
		return -EINVAL;
	buf[0] = '\0';
	if (!m)
		return -EINVAL;
	for (int i = 0; i < m->n && !trunc; i++) {
		const struct meter_dom *d = &m->dom[i];
		int run = 1, n;

		if (d->gone)
			continue;
		/* collapse runs of same-named domains (AMD per-core MSRs, amd_energy cores) */
		while (i + run < m->n && !m->dom[i + run].gone &&
		       strcmp(m->dom[i + run].name, d->name) == 0 && m->dom[i + run].zone == d->zone)
			run++;
		if (run > 1)
			n = snprintf(buf + len, cap - len, "%s%s x%d (%s, ...)", len ? ", " : "",
				     d->name, run, d->src);
		else
			n = snprintf(buf + len, cap - len, "%s%s (%s)", len ? ", " : "", d->name,
				     d->src);
		if (n < 0 || (size_t)n >= cap - len) {
			trunc = true;
			buf[len] = '\0';
			break;
		}
		len += (size_t)n;
		i += run - 1;
	}
	return trunc ? -ENOSPC : 0;
}

void meter_summarize(const struct meter *m, const char *prefix, char *buf, size_t cap)
{
	int count[ZONE_COUNT] = { 0 };
	size_t len;
	int n;

	for (int i = 0; i < m->n; i++)
		count[m->dom[i].zone]++;
	n = snprintf(buf, cap, "%s%d domain%s:", prefix, m->n, m->n == 1 ? "" : "s");
	len = n < 0 ? 0 : ((size_t)n >= cap ? cap - 1 : (size_t)n);
	for (int z = 0; z < ZONE_COUNT && len < cap - 1; z++) {
		if (!count[z])
			continue;
		n = snprintf(buf + len, cap - len, " %s x%d", zone_name((enum zone)z), count[z]);
		if (n < 0)
			break;
		len += (size_t)n >= cap - len ? cap - len - 1 : (size_t)n;
	}
}

/* Outcome of one domain's read. Pass 1 reads every raw value (RES_RAW or RES_ERR), then
 * the timestamp is taken, pass 2 turns raw values into steps, and pass 3 books them (so
 * a zone with an error keeps every one of its baselines and reports 0, and nothing is
 * lost). */
enum dom_res { RES_NONE, RES_ERR, RES_RAW, RES_OK, RES_BASE, RES_RESET };

struct dom_step {
	enum dom_res res;
	double uj;
	uint64_t raw;
};

static double limit_uj(const struct meter *m, uint64_t from_t, uint64_t to_t)
{
	uint64_t dt = to_t > from_t ? to_t - from_t : 0;
	/* W * ns = nJ; /1000 = uJ */
	return m->max_watts * (double)(dt + METER_SLACK_NS) / 1000.0;
}

static void step_counter(const struct meter *m, struct meter_dom *d, uint64_t raw, uint64_t t,
			 struct dom_step *s)
{
	double lim = limit_uj(m, d->base_t, t), uj;

	s->raw = raw;
	if (d->wrap && raw > d->wrap) { /* above the counter's range: garbage */
		s->res = RES_ERR;
		d->last_err = -ERANGE;
		return;
	}
	if (raw >= d->base_raw) {
		uj = (double)(raw - d->base_raw) * d->uj_per_raw;
		if (uj <= lim) {
			s->res = RES_OK;
			s->uj = uj;
			return;
		}
		/* forward jump faster than max_watts: garbage once, a reset if it sticks */
		if (d->have_pend && raw >= d->pend_raw &&
		    (double)(raw - d->pend_raw) * d->uj_per_raw <= limit_uj(m, d->pend_t, t)) {
			s->res = RES_RESET;
			s->uj = (double)(raw - d->pend_raw) * d->uj_per_raw;
			return;
		}
		d->have_pend = true;
		d->pend_raw = raw;
		d->pend_t = t;
		d->last_err = -ERANGE;
		s->res = RES_ERR;
		return;
	}
	/* went backwards: a wrap if the wrap-corrected delta is plausible, else a reset */
	if (d->wrap) {
		uj = (double)(d->wrap - d->base_raw + raw) * d->uj_per_raw;
		if (uj <= lim) {
			s->res = RES_OK;
			s->uj = uj;
			return;
		}
	}
	uj = (double)raw * d->uj_per_raw;
	s->res = RES_RESET;
	s->uj = uj <= lim ? uj : 0; /* energy since the reset, if plausible */
}

static void step_power(const struct meter *m, struct meter_dom *d, uint64_t raw, uint64_t t,
		       struct dom_step *s)
{
	s->raw = raw;
	if ((double)raw > m->max_watts * 1e6) { /* uW above max_watts: garbage */
		s->res = RES_ERR;
		d->last_err = -ERANGE;
		return;
	}
	/* trapezoid: (P0 + P1) / 2 * dt; uW * ns / 1e9 = uJ */
	s->res = RES_OK;
	s->uj = ((double)d->base_raw + (double)raw) / 2.0 * (double)(t - d->base_t) / 1e9;
}

/* Pass 1: one raw read of every live domain, no timestamp yet. */
static void read_domains(struct meter *m, struct dom_step *steps)
{
	for (int i = 0; i < m->n; i++) {
		struct meter_dom *d = &m->dom[i];
		unsigned ftype = 0;
		uint64_t raw;
		int err;

		if (d->gone)
			continue;
		err = meter_dom_read_raw(d, &raw, &ftype);
		if (err) {
			d->last_err = err;
			d->ftype = ftype;
			d->err_now = true;
			if (err == -ENOENT || err == -ENODEV || err == -ENXIO) {
				if (++d->enoent_reads >= METER_VANISH_READS)
					d->gone = true; /* dropped from the next read on */
			} else {
				d->enoent_reads = 0;
			}
			steps[i].res = RES_ERR;
		} else {
			d->enoent_reads = 0;
			d->err_now = false;
			d->ftype = 0;
			steps[i].res = RES_RAW;
			steps[i].raw = raw;
		}
	}
}

/* Passes 2 and 3 with t, the time the raw values of pass 1 describe. */
static int book_domains(struct meter *m, uint64_t t, struct dom_step *steps,
			struct meter_delta *out)
{
	uint32_t err_mask = 0, zmask = 0;
	double acc[ZONE_COUNT] = { 0 };
	int first_err = 0, n_ok = 0;

	out->t_ns = t;
	out->dt_ns = m->started ? t - m->last_t : 0;
	for (int i = 0; i < m->n; i++) {
		struct meter_dom *d = &m->dom[i];

		if (steps[i].res == RES_NONE)
			continue;
		zmask |= 1u << d->zone;
		if (steps[i].res == RES_RAW) {
			uint64_t raw = steps[i].raw;
			if (!d->have_base)
				steps[i].res = RES_BASE;
			else if (d->is_power)
				step_power(m, d, raw, t, &steps[i]);
			else
				step_counter(m, d, raw, t, &steps[i]);
			if (steps[i].res == RES_ERR)
				d->err_now = true; /* implausible value (last_err -ERANGE) */
		}
		if (steps[i].res == RES_ERR) {
			err_mask |= 1u << d->zone;
			if (!first_err)
				first_err = d->last_err ? d->last_err : -EIO;
		} else {
			n_ok++;
		}
	}

	for (int i = 0; i < m->n; i++) {
		struct meter_dom *d = &m->dom[i];
		struct dom_step *s = &steps[i];
		double e;

		if (s->res == RES_NONE || s->res == RES_ERR)
			continue;
		/* a zone with any failed domain keeps all its baselines: reported 0 now,
		 * covered by the next good read. A first baseline is always taken. */
		if ((err_mask & (1u << d->zone)) && s->res != RES_BASE)
			continue;
		if (s->res == RES_RESET)
			out->reset_mask |= 1u << d->zone;
		d->have_base = true;
		d->base_raw = s->raw;
		d->base_t = t;
		d->have_pend = false;
		d->last_err = 0;
		if (s->res == RES_BASE)
			continue;
		e = s->uj + d->frac_uj;
		d->frac_uj = e - floor(e);
		acc[d->zone] += floor(e);
	}

	for (int z = 0; z < ZONE_COUNT; z++)
		if (!(err_mask & (1u << z)))
			out->uj[z] = (uint64_t)acc[z];
	out->zone_mask = zmask;
	out->error_mask = err_mask;
	/* an ACPI power meter reads the platform's input: the GPUs are inside it */
	out->platform_whole = m->kind == METER_ACPI && (zmask & (1u << ZONE_PLATFORM));
	m->started = true;
	m->last_t = t;
	if (n_ok == 0)
		return first_err ? first_err : -ENODEV;
	return 0;
}

/* have_t: t is the caller's; otherwise the clock is read after the domains are. */
static int read_meter(struct meter *m, bool have_t, uint64_t t, struct meter_delta *out)
{
	struct dom_step *steps;
	int rc;

	if (!m || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (have_t && m->started && t < m->last_t)
		return -EINVAL;
	steps = calloc(m->n ? (size_t)m->n : 1, sizeof(*steps));
	if (!steps)
		return -ENOMEM;
	read_domains(m, steps);
	if (!have_t)
		t = m->clock ? m->clock(m->clock_ctx) : mono_ns();
	if (m->started && t < m->last_t)
		rc = -EINVAL; /* an injected clock went back */
	else
		rc = book_domains(m, t, steps, out);
	free(steps);
	return rc;
}

int meter_read_at(struct meter *m, uint64_t t, struct meter_delta *out)
{
	return read_meter(m, true, t, out);
}

int meter_read(struct meter *m, struct meter_delta *out)
{
	return read_meter(m, false, 0, out);
}

static void dom_error_text(const struct meter_dom *d, char *buf, size_t cap)
{
	const char *what = d->path ? d->path : d->src;

	if (d->ftype)
		snprintf(buf, cap, "%s is %s, not %s", what, meter_ftype_name(d->ftype),
			 d->how == SRC_MSR ? "a device file" : "a regular file");
	else if (d->last_err == -ERANGE)
		snprintf(buf, cap, "%s: value out of range or implausible (a step above "
			 "max_watts x interval)", what);
	else if (d->last_err == -EINVAL)
		snprintf(buf, cap, "%s: not a decimal counter value", what);
	else
		snprintf(buf, cap, "%s: %s", what, strerror(d->last_err ? -d->last_err : EIO));
}

int meter_describe_errors(const struct meter *m, uint32_t zone_mask, char *buf, size_t cap)
{
	size_t len = 0;

	if (!buf || cap == 0)
		return -EINVAL;
	buf[0] = '\0';
	if (!m)
		return -EINVAL;
	for (int i = 0; i < m->n; i++) {
		const struct meter_dom *d = &m->dom[i];
		char why[400];
		int n;

		if (!d->err_now || !(zone_mask & (1u << d->zone)))
			continue;
		dom_error_text(d, why, sizeof(why));
		n = snprintf(buf + len, cap - len, "%s%s (%s): %s", len ? "; " : "", d->name, d->src,
			     why);
		if (n < 0 || (size_t)n >= cap - len)
			return -ENOSPC;
		len += (size_t)n;
	}
	return 0;
}

void meter_watch_init(struct meter_watch *w, uint64_t interval_ns, uint64_t now_ns)
{
	if (!w)
		return;
	memset(w, 0, sizeof(*w));
	w->interval_ns = interval_ns;
	w->next_ns = now_ns + interval_ns;
}

struct meter *meter_watch_poll(struct meter_watch *w, const struct meter_opts *opts,
			       uint64_t now_ns, struct meter_probe *probe)
{
	struct meter *m;
	char desc[sizeof(w->seen)];
	int n;

	if (!w || w->interval_ns == 0 || (!w->pending && now_ns < w->next_ns))
		return NULL;
	w->probes++;
	w->next_ns = now_ns + w->interval_ns;
	m = meter_open(opts, probe);
	if (!m) {
		w->pending = false;
		return NULL;
	}
	/* the domain count, then as much of the description as fits */
	n = snprintf(desc, sizeof(desc), "%s %d:", meter_kind_name(m->kind), m->n);
	if (n > 0 && (size_t)n < sizeof(desc))
		meter_describe(m, desc + n, sizeof(desc) - (size_t)n);
	if (w->pending && strcmp(desc, w->seen) == 0) {
		w->pending = false;
		return m;
	}
	/* first sighting, or the set changed since: confirm on the next poll */
	w->pending = true;
	snprintf(w->seen, sizeof(w->seen), "%s", desc);
	meter_close(m);
	return NULL;
}
