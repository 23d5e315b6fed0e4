/* powercap.c - RAPL through the powercap sysfs class.
 *
 * <root>/intel-rapl:N is a top zone (name "package-N", "psys", sometimes "dram"),
 * <root>/intel-rapl:N/intel-rapl:N:M a subzone ("core", "uncore", "dram"); the class
 * directory also holds a symlink for every subzone, so both places are looked at and
 * ids are de-duplicated. AMD (kernel 5.8+) uses the same names. intel-rapl-mmio:N is
 * a second window onto the same package counter on client parts: it is used only when
 * no intel-rapl zone of that name exists, so package energy is never counted twice.
 */
#include "meter_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PC_MAX_ZONES 256

struct pc_zone {
	char id[48];    /* "intel-rapl:0:1" */
	bool mmio;
	long a, b;      /* N, M (b = -1 for a top zone) */
	char dir[512];
	char name[32];
	enum zone zone;
};

static int parse_num(const char **p, long *out)
{
	const char *s = *p;
	long v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9') {
		if (v > 100000)
			return -ERANGE;
		v = v * 10 + (*s - '0');
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

/* "intel-rapl:N", "intel-rapl:N:M", "intel-rapl-mmio:N[:M]" */
static int parse_id(const char *name, bool *mmio, long *a, long *b)
{
	const char *p;

	if (strncmp(name, "intel-rapl-mmio:", 16) == 0) {
		*mmio = true;
		p = name + 16;
	} else if (strncmp(name, "intel-rapl:", 11) == 0) {
		*mmio = false;
		p = name + 11;
	} else {
		return -EINVAL;
	}
	if (parse_num(&p, a))
		return -EINVAL;
	*b = -1;
	if (*p == ':') {
		p++;
		if (parse_num(&p, b))
			return -EINVAL;
	}
	return *p == '\0' ? 0 : -EINVAL;
}

static int zone_of_rapl_name(const char *name)
{
	if (strncmp(name, "package-", 8) == 0) {
		uint64_t v;
		return parse_u64(name + 8, &v) == 0 ? ZONE_PACKAGE : -EINVAL;
	}
	if (strcmp(name, "core") == 0)
		return ZONE_CORE;
	if (strcmp(name, "uncore") == 0)
		return ZONE_UNCORE;
	if (strcmp(name, "dram") == 0)
		return ZONE_DRAM;
	if (strcmp(name, "psys") == 0)
		return ZONE_PLATFORM;
	return -EINVAL;
}

struct pc_list {
	struct pc_zone *z;
	int n;
};

static void add_candidate(struct pc_list *l, const char *dir, const char *id)
{
	bool mmio;
	long a, b;

	if (l->n >= PC_MAX_ZONES || parse_id(id, &mmio, &a, &b))
		return;
	for (int i = 0; i < l->n; i++)
		if (strcmp(l->z[i].id, id) == 0)
			return;
	struct pc_zone *z = &l->z[l->n];
	memset(z, 0, sizeof(*z));
	if (fmt_path(z->id, sizeof(z->id), "%s", id) || path_join(z->dir, sizeof(z->dir), dir, id))
		return;
	z->mmio = mmio;
	z->a = a;
	z->b = b;
	l->n++;
}

static void scan_dir(struct pc_list *l, const char *dir, bool top)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		bool mmio;
		long a, b;

		if (parse_id(de->d_name, &mmio, &a, &b))
			continue;
		if (!top && b < 0)
			continue;
		add_candidate(l, dir, de->d_name);
	}
	closedir(d);
}

static int cmp_zone(const void *x, const void *y)
{
	const struct pc_zone *p = x, *q = y;
	if (p->mmio != q->mmio)
		return p->mmio ? 1 : -1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	if (p->b != q->b)
		return p->b < q->b ? -1 : 1;
	return 0;
}

int meter_powercap_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap)
{
	struct pc_list l = { 0 };
	int n_top, n_eacces = 0, n_bad = 0, n_dup = 0, n_unknown = 0, n_nowrap = 0;
	int err = 0, first_bad_err = 0;
	unsigned first_bad_ft = 0;
	char first_bad[48] = "", first_eacces[48] = "";

	if (!path_exists(c->powercap_root)) {
		snprintf(reason, cap, "%s does not exist (no powercap/RAPL driver: VM, or "
			 "intel_rapl_msr not loaded)", c->powercap_root);
		return -ENOENT;
	}
	l.z = calloc(PC_MAX_ZONES, sizeof(*l.z));
	if (!l.z) {
		snprintf(reason, cap, "out of memory");
		return -ENOMEM;
	}
	scan_dir(&l, c->powercap_root, true);
	n_top = l.n;
	for (int i = 0; i < n_top; i++)
		if (l.z[i].b < 0)
			scan_dir(&l, l.z[i].dir, false);
	if (l.n == 0) {
		snprintf(reason, cap, "no intel-rapl zones under %s (CPU without RAPL, or VM)",
			 c->powercap_root);
		err = -ENODEV;
		goto cleanup;
	}
	qsort(l.z, (size_t)l.n, sizeof(*l.z), cmp_zone);

	for (int i = 0; i < l.n; i++) {
		struct pc_zone *z = &l.z[i];
		char p[600];
		int zv;

		if (path_join(p, sizeof(p), z->dir, "name") ||
		    meter_read_attr_str(p, z->name, sizeof(z->name))) {
			n_bad++;
			z->name[0] = '\0';
			continue;
		}
		zv = zone_of_rapl_name(z->name);
		if (zv < 0) {
			n_unknown++;
			z->name[0] = '\0';
			continue;
		}
		z->zone = (enum zone)zv;
	}

	for (int i = 0; i < l.n; i++) {
		struct pc_zone *z = &l.z[i];
		struct meter_dom d = { 0 };
		char p[600];
		uint64_t v;
		unsigned ft = 0;
		int e;

		if (!z->name[0])
			continue;
		if (z->mmio) {
			bool dup = false;
			for (int j = 0; j < l.n; j++)
				if (!l.z[j].mmio && strcmp(l.z[j].name, z->name) == 0)
					dup = true;
			if (dup) {
				n_dup++;
				continue;
			}
		}
		if (path_join(p, sizeof(p), z->dir, "energy_uj"))
			continue;
		e = meter_read_attr_u64(p, &v, &ft);
		if (e == -EACCES || e == -EPERM) {
			if (!n_eacces++)
				snprintf(first_eacces, sizeof(first_eacces), "%s", z->id);
			continue;
		}
		if (e) {
			if (!n_bad++) {
				snprintf(first_bad, sizeof(first_bad), "%s", z->id);
				first_bad_err = e;
				first_bad_ft = ft;
			}
			continue;
		}
		d.zone = z->zone;
		snprintf(d.name, sizeof(d.name), "%s", z->name);
		snprintf(d.src, sizeof(d.src), "%s", z->id);
		d.how = SRC_FILE;
		d.fd = -1;
		d.uj_per_raw = 1.0;
		{
			char rp[600];
			if (path_join(rp, sizeof(rp), z->dir, "max_energy_range_uj") ||
			    meter_read_attr_u64(rp, &d.wrap, NULL) || d.wrap == 0) {
				d.wrap = 0; /* unknown range: any step back counts as a reset */
				n_nowrap++;
			}
		}
		e = meter_add_dom(m, &d, p);
		if (e) {
			snprintf(reason, cap, "cannot add domain %s: %s", z->id, strerror(-e));
			err = e;
			goto cleanup;
		}
	}

	if (m->n == 0) {
		if (n_eacces) {
			snprintf(reason, cap, "%d RAPL zone%s found but %s/energy_uj is not readable "
				 "(EACCES): root-only since CVE-2020-8694; run as root",
				 n_eacces, n_eacces == 1 ? "" : "s", first_eacces);
			err = -EACCES;
		} else if (n_bad) {
			snprintf(reason, cap, "%d RAPL zone%s found, none readable (%s: %s%s)", n_bad,
				 n_bad == 1 ? "" : "s", first_bad[0] ? first_bad : "name",
				 first_bad_ft ? "energy_uj is " : "",
				 first_bad_ft ? meter_ftype_name(first_bad_ft)
					      : first_bad_err ? strerror(-first_bad_err) : "no name");
			err = first_bad_err ? first_bad_err : -EIO;
		} else {
			snprintf(reason, cap, "%d intel-rapl entr%s, none with a known zone name",
				 l.n, l.n == 1 ? "y" : "ies");
			err = -ENODEV;
		}
		goto cleanup;
	}
	{
		char sum[160];
		size_t len;
		meter_summarize(m, "intel-rapl ", sum, sizeof(sum));
		len = strlen(sum);
		if (n_eacces || n_bad || n_dup || n_unknown || n_nowrap)
			snprintf(sum + len, sizeof(sum) - len,
				 "; skipped %d unreadable, %d mmio dup, %d unknown%s",
				 n_eacces + n_bad, n_dup, n_unknown,
				 n_nowrap ? ", some without max_energy_range_uj" : "");
		snprintf(reason, cap, "%s", sum);
	}
cleanup:
	free(l.z);
	return err;
}
