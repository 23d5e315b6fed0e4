/* hwmon.c - hwmon energy/power channels and the ACPI power meter.
 *
 * <sysfs>/class/hwmon/hwmonN (attributes in hwmonN/ or, for drivers on the old
 * registration API, hwmonN/device/): energyX_input is a microjoule counter,
 * powerX_input / powerX_average is microwatts and is integrated. The zone comes from
 * the device name and the channel label: GPU drivers -> gpu, labels naming a core,
 * socket/package, dram or SoC -> those, everything else -> platform. PMBus-style
 * output channels (label "pout*") are skipped: they would double count "pin".
 * Within one device and zone, energy counters win over power readings.
 *
 * The ACPI power meter (device name "power_meter", power1_average) belongs to the acpi
 * kind only; the hwmon kind skips it, so the two never claim the same device.
 */
#include "meter_impl.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HW_MAX_DEVS 256
#define HW_MAX_CH 64

struct hw_dev {
	long num;
	char base[512];   /* directory holding name and the channel files */
	char name[64];
};

static int cmp_dev(const void *a, const void *b)
{
	const struct hw_dev *x = a, *y = b;
	return (x->num > y->num) - (x->num < y->num);
}

/* Lists hwmonN devices with a readable name, sorted by N. Count or negative errno. */
static int list_devs(const struct meter_cfg *c, struct hw_dev *devs, int max, char *dir,
		     size_t dcap)
{
	DIR *d;
	struct dirent *de;
	int n = 0;

	if (fmt_path(dir, dcap, "%s/class/hwmon", c->sysfs_root))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && n < max) {
		struct hw_dev *h = &devs[n];
		uint64_t num;
		char p[600];

		if (strncmp(de->d_name, "hwmon", 5) || !isdigit((unsigned char)de->d_name[5]) ||
		    parse_u64(de->d_name + 5, &num))
			continue;
		h->num = (long)num;
		if (fmt_path(h->base, sizeof(h->base), "%s/%s", dir, de->d_name))
			continue;
		if (path_join(p, sizeof(p), h->base, "name") == 0 &&
		    meter_read_attr_str(p, h->name, sizeof(h->name)) == 0) {
			n++;
			continue;
		}
		if (fmt_path(h->base, sizeof(h->base), "%s/%s/device", dir, de->d_name) == 0 &&
		    path_join(p, sizeof(p), h->base, "name") == 0 &&
		    meter_read_attr_str(p, h->name, sizeof(h->name)) == 0)
			n++;
	}
	closedir(d);
	qsort(devs, (size_t)n, sizeof(*devs), cmp_dev);
	return n;
}

static bool contains_ci(const char *s, const char *needle)
{
	size_t n = strlen(needle);
	for (; *s; s++)
		if (strncasecmp(s, needle, n) == 0)
			return true;
	return false;
}

static bool is_gpu_driver(const char *name)
{
	static const char *const gpus[] = { "amdgpu", "radeon", "nouveau", "i915", "xe",
					    "nvidia" };
	for (size_t i = 0; i < sizeof(gpus) / sizeof(gpus[0]); i++)
		if (strcmp(name, gpus[i]) == 0)
			return true;
	return false;
}

/* zone for a channel, or -1 to skip it */
static int channel_zone(const char *dev, const char *label)
{
	if (is_gpu_driver(dev))
		return ZONE_GPU;
	if (!label[0])
		return ZONE_PLATFORM;
	if (strncasecmp(label, "pout", 4) == 0)
		return -1;
	if (contains_ci(label, "socket") || contains_ci(label, "package") ||
	    contains_ci(label, "pkg") || strcasecmp(label, "cpu") == 0)
		return ZONE_PACKAGE; /* before "soc": amd_energy's "Esocket0" */
	if (contains_ci(label, "uncore") || contains_ci(label, "soc") || contains_ci(label, "gfx"))
		return ZONE_UNCORE;
	if (contains_ci(label, "core"))
		return ZONE_CORE;
	if (contains_ci(label, "dram") || contains_ci(label, "mem"))
		return ZONE_DRAM;
	if (contains_ci(label, "gpu"))
		return ZONE_GPU;
	return ZONE_PLATFORM;
}

struct hw_chan {
	unsigned idx;
	bool energy;
	char file[40];  /* "energy1_input", "power2_average" */
	char label[32];
	int zone;
};

/* Collects the energy/power channels of one device. */
static int scan_channels(const struct hw_dev *h, bool acpi, struct hw_chan *ch, int max)
{
	DIR *d = opendir(h->base);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		unsigned idx;
		char kind[8], suffix[16], extra;
		bool energy;

		if (sscanf(de->d_name, "%7[a-z]%u_%15[a-z]%c", kind, &idx, suffix, &extra) != 3)
			continue;
		if (acpi) {
			if (strcmp(kind, "power") || strcmp(suffix, "average"))
				continue;
			energy = false;
		} else if (strcmp(kind, "energy") == 0 && strcmp(suffix, "input") == 0) {
			energy = true;
		} else if (strcmp(kind, "power") == 0 &&
			   (strcmp(suffix, "input") == 0 || strcmp(suffix, "average") == 0)) {
			energy = false;
		} else {
			continue;
		}
		/* one power channel per index: _input wins over _average */
		int j;
		for (j = 0; j < n; j++)
			if (ch[j].idx == idx && ch[j].energy == energy)
				break;
		if (j < n) {
			if (!energy && strcmp(suffix, "input") == 0)
				snprintf(ch[j].file, sizeof(ch[j].file), "%.39s", de->d_name);
			continue;
		}
		if (n >= max)
			break;
		memset(&ch[n], 0, sizeof(ch[n]));
		ch[n].idx = idx;
		ch[n].energy = energy;
		snprintf(ch[n].file, sizeof(ch[n].file), "%.39s", de->d_name);
		n++;
	}
	closedir(d);
	for (int i = 0; i < n; i++) {
		char p[600];
		if (fmt_path(p, sizeof(p), "%s/%s%u_label", h->base, ch[i].energy ? "energy" : "power",
			     ch[i].idx) ||
		    meter_read_attr_str(p, ch[i].label, sizeof(ch[i].label)))
			ch[i].label[0] = '\0';
		ch[i].zone = acpi ? ZONE_PLATFORM : channel_zone(h->name, ch[i].label);
	}
	/* stable order: by index, energy first */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && (ch[j - 1].idx > ch[j].idx ||
					  (ch[j - 1].idx == ch[j].idx && !ch[j - 1].energy)); j--) {
			struct hw_chan t = ch[j];
			ch[j] = ch[j - 1];
			ch[j - 1] = t;
		}
	return n;
}

static int open_common(struct meter *m, const struct meter_cfg *c, bool acpi, char *reason,
		       size_t cap)
{
	struct hw_dev *devs;
	struct hw_chan ch[HW_MAX_CH];
	char dir[400];
	int n, err = 0, n_unread = 0, first_unread_err = 0, n_meters = 0;
	char first_unread[96] = "";

	devs = calloc(HW_MAX_DEVS, sizeof(*devs));
	if (!devs) {
		snprintf(reason, cap, "out of memory");
		return -ENOMEM;
	}
	n = list_devs(c, devs, HW_MAX_DEVS, dir, sizeof(dir));
	if (n < 0) {
		snprintf(reason, cap, "no %s (%s)", dir, strerror(-n));
		err = n;
		goto cleanup;
	}
	for (int i = 0; i < n; i++) {
		struct hw_dev *h = &devs[i];
		bool is_pm = strcmp(h->name, "power_meter") == 0;
		int nc;

		if (is_pm != acpi)
			continue; /* acpi takes power_meter devices, hwmon everything else */
		if (acpi && n_meters > 0) {
			n_meters++; /* several ACPI meters may nest: only the first is used */
			continue;
		}
		nc = scan_channels(h, acpi, ch, HW_MAX_CH);
		if (nc <= 0)
			continue;
		if (acpi)
			n_meters++;
		for (int k = 0; k < nc; k++) {
			struct meter_dom d = { 0 };
			char p[600];
			uint64_t v;
			int e;

			if (ch[k].zone < 0)
				continue;
			if (!ch[k].energy) { /* a counter in the same zone wins */
				bool have_energy = false;
				for (int j = 0; j < nc; j++)
					if (ch[j].energy && ch[j].zone == ch[k].zone)
						have_energy = true;
				if (have_energy)
					continue;
			}
			if (path_join(p, sizeof(p), h->base, ch[k].file))
				continue;
			e = meter_read_attr_u64(p, &v, NULL);
			if (e) {
				if (!n_unread++) {
					first_unread_err = e;
					snprintf(first_unread, sizeof(first_unread), "hwmon%ld/%s",
						 h->num, ch[k].file);
				}
				continue;
			}
			d.zone = (enum zone)ch[k].zone;
			if (ch[k].label[0])
				snprintf(d.name, sizeof(d.name), "%s", ch[k].label);
			else
				snprintf(d.name, sizeof(d.name), "%s%u", ch[k].energy ? "energy" : "power",
					 ch[k].idx);
			snprintf(d.src, sizeof(d.src), "hwmon%ld %.24s %s", h->num, h->name,
				 ch[k].file);
			d.how = SRC_FILE;
			d.is_power = !ch[k].energy;
			d.uj_per_raw = 1.0;
			d.wrap = 0;
			e = meter_add_dom(m, &d, p);
			if (e) {
				snprintf(reason, cap, "cannot add hwmon domain: %s", strerror(-e));
				err = e;
				goto cleanup;
			}
		}
	}
	if (m->n == 0) {
		if (n_unread)
			snprintf(reason, cap, "%s channel%s unreadable (%s: %s)",
				 acpi ? "ACPI power_meter" : "hwmon energy/power",
				 n_unread == 1 ? "" : "s", first_unread, strerror(-first_unread_err));
		else if (acpi)
			snprintf(reason, cap, "no hwmon device named power_meter with power1_average "
				 "(%d hwmon devices; acpi_power_meter not loaded or no ACPI meter)", n);
		else
			snprintf(reason, cap, "no hwmon device with energy/power channels "
				 "(%d devices checked, power_meter left to acpi)", n);
		err = n_unread ? first_unread_err : -ENODEV;
		goto cleanup;
	}
	if (acpi) {
		char pre[64];
		snprintf(pre, sizeof(pre), "ACPI power_meter (%d meter%s, first used) ", n_meters,
			 n_meters == 1 ? "" : "s");
		meter_summarize(m, pre, reason, cap);
	} else {
		meter_summarize(m, "hwmon ", reason, cap);
	}
cleanup:
	free(devs);
	return err;
}

int meter_hwmon_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap)
{
	return open_common(m, c, false, reason, cap);
}

int meter_acpi_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap)
{
	return open_common(m, c, true, reason, cap);
}
