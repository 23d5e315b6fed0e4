/* msr.c - RAPL through /dev/cpu/N/msr (root with CAP_SYS_RAWIO, msr module loaded).
 *
 * Intel: MSR_RAPL_POWER_UNIT 0x606, package 0x611, pp0/core 0x639, pp1/uncore 0x641,
 * dram 0x619, psys 0x64d. AMD family 17h+ (and Hygon 18h): unit 0xC0010299, core
 * 0xC001029A (one per physical core, summed), package 0xC001029B. Energy unit is
 * 1/2^ESU J, ESU = bits 12:8 of the unit MSR; the counters are 32 bits and wrap.
 * Intel server parts count dram in a fixed 2^-16 J unit, and Sapphire Rapids and
 * later count psys in 1 J units, whatever the unit MSR says.
 * The vendor comes from <proc>/cpuinfo (cpuid when that is unreadable).
 */
#include "meter_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define MSR_INTEL_UNIT 0x606
#define MSR_INTEL_PKG 0x611
#define MSR_INTEL_PP0 0x639
#define MSR_INTEL_PP1 0x641
#define MSR_INTEL_DRAM 0x619
#define MSR_INTEL_PSYS 0x64d
#define MSR_AMD_UNIT 0xC0010299ull
#define MSR_AMD_CORE 0xC001029Aull
#define MSR_AMD_PKG 0xC001029Bull

#define MSR_MAX_CPUS 8192

enum vendor { V_UNKNOWN, V_INTEL, V_AMD, V_HYGON };

struct cpu_id {
	enum vendor vendor;
	unsigned family, model;
	char vendor_str[16];
};

static int read_cpuinfo(const char *proc_root, struct cpu_id *id)
{
	char path[300], *buf, *line, *save = NULL;
	bool have_v = false, have_f = false, have_m = false;
	int err;

	if (fmt_path(path, sizeof(path), "%s/cpuinfo", proc_root))
		return -ENAMETOOLONG;
	buf = malloc(16384);
	if (!buf)
		return -ENOMEM;
	err = meter_read_attr(path, buf, 16384, NULL, NULL);
	if (err && err != -EFBIG) { /* only the first processor block is needed */
		free(buf);
		return err;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(line, ':'), *val;
		size_t klen;
		uint64_t v;

		if (!colon)
			continue;
		klen = (size_t)(colon - line);
		while (klen > 0 && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
			klen--;
		val = colon + 1;
		while (*val == ' ')
			val++;
		if (klen == 9 && strncmp(line, "vendor_id", 9) == 0 && !have_v) {
			snprintf(id->vendor_str, sizeof(id->vendor_str), "%s", val);
			have_v = true;
		} else if (klen == 10 && strncmp(line, "cpu family", 10) == 0 && !have_f) {
			if (parse_u64(val, &v) == 0 && v < 0x1000)
				id->family = (unsigned)v, have_f = true;
		} else if (klen == 5 && strncmp(line, "model", 5) == 0 && !have_m) {
			if (parse_u64(val, &v) == 0 && v < 0x1000)
				id->model = (unsigned)v, have_m = true;
		}
		if (have_v && have_f && have_m)
			break;
	}
	free(buf);
	return have_v && have_f ? 0 : -EINVAL;
}

static int read_cpuid(struct cpu_id *id)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d, fam, model;

	if (!__get_cpuid(0, &a, &b, &c, &d))
		return -ENOTSUP;
	memcpy(id->vendor_str, &b, 4);
	memcpy(id->vendor_str + 4, &d, 4);
	memcpy(id->vendor_str + 8, &c, 4);
	id->vendor_str[12] = '\0';
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return -ENOTSUP;
	fam = (a >> 8) & 0xf;
	model = (a >> 4) & 0xf;
	if (fam == 0xf)
		fam += (a >> 20) & 0xff;
	if (fam == 0x6 || fam >= 0xf)
		model |= ((a >> 16) & 0xf) << 4;
	id->family = fam;
	id->model = model;
	return 0;
#else
	(void)id;
	return -ENOTSUP;
#endif
}

static bool model_in(unsigned model, const unsigned *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == model)
			return true;
	return false;
}

/* Intel family 6 server parts whose DRAM domain counts in 2^-16 J. */
static const unsigned dram_fixed_models[] = {
	0x3F, /* Haswell-X */ 0x4F, /* Broadwell-X */ 0x56, /* Broadwell-D */
	0x55, /* Skylake/Cascade/Cooper Lake-X */ 0x6A, 0x6C, /* Ice Lake-X/D */
	0x8F, /* Sapphire Rapids-X */ 0xCF, /* Emerald Rapids-X */
	0xAD, 0xAE, /* Granite Rapids */ 0x57, 0x85, /* Xeon Phi */
};
/* Intel parts whose psys domain counts in 1 J. */
static const unsigned psys_joule_models[] = { 0x8F, 0xCF, 0xAD, 0xAE };

static int add_msr_dom(struct meter *m, const char *path, int cpu, uint64_t off, enum zone z,
		       const char *name, double uj_per_raw)
{
	struct meter_dom d = { 0 };

	d.zone = z;
	snprintf(d.name, sizeof(d.name), "%s", name);
	snprintf(d.src, sizeof(d.src), "cpu%d msr 0x%llx", cpu, (unsigned long long)off);
	d.how = SRC_MSR;
	d.msr_off = off;
	d.wrap = 1ull << 32;
	d.uj_per_raw = uj_per_raw;
	return meter_add_dom(m, &d, path);
}

static void msr_path(const struct meter_cfg *c, int cpu, char *out, size_t cap)
{
	if (fmt_path(out, cap, "%s/cpu/%d/msr", c->dev_root, cpu))
		out[0] = '\0';
}

int meter_msr_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap)
{
	struct cpu_id id = { 0 };
	struct meter_cpu *cpus = NULL;
	int n, err = 0, n_pkg = 0;
	uint64_t unit_msr, unit;
	char path[400], prefix[64];

	if (read_cpuinfo(c->proc_root, &id) && read_cpuid(&id)) {
		snprintf(reason, cap, "cannot identify the CPU (%s/cpuinfo unreadable, no cpuid)",
			 c->proc_root);
		return -ENODEV;
	}
	if (strcmp(id.vendor_str, "GenuineIntel") == 0)
		id.vendor = V_INTEL;
	else if (strcmp(id.vendor_str, "AuthenticAMD") == 0)
		id.vendor = V_AMD;
	else if (strcmp(id.vendor_str, "HygonGenuine") == 0)
		id.vendor = V_HYGON;
	if (id.vendor == V_UNKNOWN) {
		snprintf(reason, cap, "CPU vendor '%s' has no known RAPL MSRs", id.vendor_str);
		return -ENODEV;
	}
	if (id.vendor == V_INTEL && id.family != 6) {
		snprintf(reason, cap, "Intel family %u: RAPL MSR layout unknown", id.family);
		return -ENODEV;
	}
	if (id.vendor != V_INTEL && id.family < 0x17) {
		snprintf(reason, cap, "AMD family 0x%x has no RAPL MSRs (needs family 17h+)",
			 id.family);
		return -ENODEV;
	}
	unit_msr = id.vendor == V_INTEL ? MSR_INTEL_UNIT : MSR_AMD_UNIT;

	cpus = calloc(MSR_MAX_CPUS, sizeof(*cpus));
	if (!cpus) {
		snprintf(reason, cap, "out of memory");
		return -ENOMEM;
	}
	n = meter_cpu_topology(c->sysfs_root, cpus, MSR_MAX_CPUS);
	if (n <= 0) {
		snprintf(reason, cap, "cannot read CPU topology under %s/devices/system/cpu: %s",
			 c->sysfs_root, strerror(n < 0 ? -n : ENOENT));
		err = n < 0 ? n : -ENOENT;
		goto cleanup;
	}
	msr_path(c, cpus[0].cpu, path, sizeof(path));
	err = meter_msr_read(path, unit_msr, &unit, NULL);
	if (err) {
		if (err == -ENOENT)
			snprintf(reason, cap, "no %s: load the msr module (modprobe msr)", path);
		else if (err == -EACCES || err == -EPERM)
			snprintf(reason, cap, "%s: %s: needs root with CAP_SYS_RAWIO", path,
				 strerror(-err));
		else
			snprintf(reason, cap, "MSR 0x%llx on cpu%d unreadable (%s): no RAPL, or "
				 "hidden by a hypervisor", (unsigned long long)unit_msr,
				 cpus[0].cpu, strerror(-err));
		goto cleanup;
	}

	for (int i = 0; i < n; i++) {
		struct meter_cpu *cp = &cpus[i];
		bool lead = true;
		double uj;
		char name[32];

		for (int j = 0; j < i; j++)
			if (cpus[j].pkg == cp->pkg)
				lead = false;
		msr_path(c, cp->cpu, path, sizeof(path));
		if (!lead) {
			/* AMD core energy is per physical core: lowest CPU of each core */
			bool first_of_core = true;
			if (id.vendor == V_INTEL)
				continue;
			for (int j = 0; j < i; j++)
				if (cpus[j].pkg == cp->pkg && cpus[j].core == cp->core)
					first_of_core = false;
			if (first_of_core && meter_msr_read(path, MSR_AMD_UNIT, &unit, NULL) == 0) {
				uj = 1e6 / (double)(1ull << ((unit >> 8) & 0x1f));
				err = add_msr_dom(m, path, cp->cpu, MSR_AMD_CORE, ZONE_CORE, "core", uj);
				if (err)
					goto add_failed;
			}
			continue;
		}
		if (meter_msr_read(path, unit_msr, &unit, NULL))
			continue; /* this package's lead CPU unreadable: skip the package */
		uj = 1e6 / (double)(1ull << ((unit >> 8) & 0x1f));
		snprintf(name, sizeof(name), "package-%d", cp->pkg);
		n_pkg++;
		if (id.vendor == V_INTEL) {
			static const struct {
				uint32_t msr;
				enum zone z;
				const char *name;
			} doms[] = {
				{ MSR_INTEL_PP0, ZONE_CORE, "core" },
				{ MSR_INTEL_PP1, ZONE_UNCORE, "uncore" },
				{ MSR_INTEL_DRAM, ZONE_DRAM, "dram" },
				{ MSR_INTEL_PSYS, ZONE_PLATFORM, "psys" },
			};
			err = add_msr_dom(m, path, cp->cpu, MSR_INTEL_PKG, ZONE_PACKAGE, name, uj);
			if (err)
				goto add_failed;
			for (size_t k = 0; k < sizeof(doms) / sizeof(doms[0]); k++) {
				uint64_t v;
				double u = uj;

				if (doms[k].z == ZONE_PLATFORM && n_pkg > 1)
					continue; /* platform-wide: once */
				/* not implemented: #GP (EIO) or reads 0 */
				if (meter_msr_read(path, doms[k].msr, &v, NULL) ||
				    (v & 0xffffffffull) == 0)
					continue;
				if (doms[k].z == ZONE_DRAM &&
				    model_in(id.model, dram_fixed_models,
					     sizeof(dram_fixed_models) / sizeof(unsigned)))
					u = 1e6 / 65536.0;
				if (doms[k].z == ZONE_PLATFORM &&
				    model_in(id.model, psys_joule_models,
					     sizeof(psys_joule_models) / sizeof(unsigned)))
					u = 1e6;
				err = add_msr_dom(m, path, cp->cpu, doms[k].msr, doms[k].z,
						  doms[k].name, u);
				if (err)
					goto add_failed;
			}
		} else {
			err = add_msr_dom(m, path, cp->cpu, MSR_AMD_PKG, ZONE_PACKAGE, name, uj);
			if (err)
				goto add_failed;
			err = add_msr_dom(m, path, cp->cpu, MSR_AMD_CORE, ZONE_CORE, "core", uj);
			if (err)
				goto add_failed;
		}
	}
	if (m->n == 0) {
		snprintf(reason, cap, "no package's RAPL MSRs readable");
		err = -ENODEV;
		goto cleanup;
	}
	snprintf(prefix, sizeof(prefix), "%s fam 0x%x model 0x%x, %d pkg, ",
		 id.vendor == V_INTEL ? "Intel" : "AMD", id.family, id.model, n_pkg);
	meter_summarize(m, prefix, reason, cap);
	err = 0;
	goto cleanup;
add_failed:
	snprintf(reason, cap, "cannot add MSR domain: %s", strerror(-err));
cleanup:
	free(cpus);
	return err;
}
