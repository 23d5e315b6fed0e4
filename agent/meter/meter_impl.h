/* meter_impl.h - internals shared by the meter backends (not a public interface).
 *
 * A meter is a list of domains. Each domain is one raw source: an energy counter
 * (powercap energy_uj, an MSR, a perf counter, hwmon energyN_input) or a power
 * reading (hwmon powerN_input, ACPI power1_average) that meter.c integrates. The
 * backends (powercap.c, perf.c, msr.c, hwmon.c) only discover domains and say how to
 * read them; wrap, reset, plausibility and integration live in meter.c, once.
 */
#ifndef WATTLET_METER_IMPL_H
#define WATTLET_METER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meter.h"

#define METER_MAX_DOMAINS 1024   /* hard cap (AMD per-core MSR domains on big EPYCs) */
#define METER_VANISH_READS 3     /* consecutive ENOENT/ENODEV reads before a domain is dropped */
#define METER_DEFAULT_MAX_WATTS 2000.0
#define METER_SLACK_NS 1000000ull /* counters update about every 1 ms; allow that much */

enum meter_src {
	SRC_FILE, /* decimal text file (sysfs): re-read each time */
	SRC_MSR,  /* pread 8 bytes at msr_off of path; low 32 bits are the counter */
	SRC_PERF, /* read 8 bytes from an open perf event fd */
};

struct meter_dom {
	enum zone zone;
	char name[32];    /* "package-0", "core", "Ecore012", "pin" */
	char src[80];     /* where it came from: "intel-rapl:0:1", "cpu0 msr 0x611" */
	enum meter_src how;
	char *path;       /* owned; file to read (SRC_FILE, SRC_MSR) */
	int fd;           /* SRC_PERF: open perf fd; -1 otherwise */
	uint64_t msr_off;
	bool is_power;    /* raw is power in microwatts, integrated over time */
	uint64_t wrap;    /* counter modulus in raw units (wraps to 0 after wrap-1 /
	                   * at max_energy_range_uj); 0 = never wraps (64-bit) */
	double uj_per_raw;

	/* state, owned by meter.c */
	bool have_base;
	uint64_t base_raw, base_t;
	bool have_pend;   /* an implausible forward jump seen, not yet accepted */
	uint64_t pend_raw, pend_t;
	double frac_uj;   /* sub-microjoule remainder carried to the next read */
	unsigned enoent_reads;
	bool gone;
	int last_err;
	bool err_now;     /* the latest read of this domain failed */
	unsigned ftype;   /* S_IFMT of a file found not to be a regular file (last_err) */
};

/* Resolved configuration the backends see. */
struct meter_cfg {
	char sysfs_root[256];
	char powercap_root[320];
	char dev_root[256];
	char proc_root[256];
	double max_watts;
	uint64_t (*clock)(void *ctx);
	void *clock_ctx;
};

struct meter {
	enum meter_kind kind;
	double max_watts;
	struct meter_dom *dom;
	int n, cap;
	bool started;
	uint64_t last_t;
	uint64_t (*clock)(void *ctx); /* NULL: mono_ns */
	void *clock_ctx;
};

/* Appends a copy of d (path duplicated; state zeroed). -ENOMEM, -E2BIG at the cap. */
int meter_add_dom(struct meter *m, const struct meter_dom *d, const char *path);

/* Reads one raw value for d (no state change). 0 or negative errno; garbage -> -EINVAL
 * or -ERANGE. *ftype (may be NULL) gets the S_IFMT bits of a file of the wrong type
 * (0 otherwise). */
int meter_dom_read_raw(const struct meter_dom *d, uint64_t *raw, unsigned *ftype);

/* Every file a meter reads, at open and on each tick, goes through these: the file is
 * opened O_RDONLY|O_NONBLOCK|O_CLOEXEC|O_NOFOLLOW (a sysfs attribute is never a link
 * itself; links in the directory part, such as class/powercap/intel-rapl:0, are
 * followed) and read only when fstat says it is a regular file. A FIFO, socket, device
 * or directory put in a counter's place therefore fails at once instead of blocking
 * the agent. Contracts as read_file / read_str_file / read_u64_file in util.h, plus:
 * a file of the wrong type gives -EISDIR (directory), -ELOOP (symbolic link) or
 * -EINVAL (anything else) and its S_IFMT bits in *ftype (may be NULL; 0 otherwise). */
int meter_read_attr(const char *path, char *buf, size_t cap, size_t *len, unsigned *ftype);
int meter_read_attr_str(const char *path, char *buf, size_t cap);
int meter_read_attr_u64(const char *path, uint64_t *out, unsigned *ftype);
/* Opens an MSR device file the same way; a character device or (fixtures) a regular
 * file is accepted. Returns the fd or a negative errno (*ftype as above). */
int meter_open_dev(const char *path, unsigned *ftype);
/* The 64-bit MSR at off of the device file path (opened by meter_open_dev(), *ftype
 * as there), little-endian. -EIO on a short read (the MSR does not exist, or a short
 * fake file), else 0 or a negative errno. */
int meter_msr_read(const char *path, uint64_t off, uint64_t *out, unsigned *ftype);
/* "a FIFO", "a directory", "a symbolic link", ... for S_IFMT bits. */
const char *meter_ftype_name(unsigned ftype);

/* "N domains: package x2, core x2, ..." into buf after prefix. */
void meter_summarize(const struct meter *m, const char *prefix, char *buf, size_t cap);

/* Backends: discover domains into m (kind already set). Return 0 when at least one
 * domain is readable, else a negative errno; reason gets one line either way. */
int meter_powercap_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap);
int meter_perf_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap);
int meter_msr_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap);
int meter_hwmon_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap);
int meter_acpi_open(struct meter *m, const struct meter_cfg *c, char *reason, size_t cap);

/* Helpers exposed for the unit tests. */
/* Parses a perf sysfs event spec ("event=0x02"); only the event term is supported:
 * other terms -> -EOPNOTSUPP, garbage -> -EINVAL. */
int meter_perf_parse_config(const char *spec, uint64_t *config);
/* Parses a cpulist ("0,28" or "0-3,8") into cpus (up to max); returns the count or
 * a negative errno (-EINVAL garbage, -E2BIG too many). */
int meter_parse_cpulist(const char *s, int *cpus, int max);
/* One CPU per package, from <sysfs>/devices/system/cpu/cpuN/topology/physical_package_id.
 * cpus[i] is the lowest CPU of package pkgs[i]; sorted by package. Returns the count
 * or a negative errno. */
int meter_package_cpus(const char *sysfs_root, int *cpus, int *pkgs, int max);
/* Package id of one CPU, or a negative errno. */
int meter_cpu_package(const char *sysfs_root, int cpu);

struct meter_cpu {
	int cpu, pkg, core;
};
/* Every online CPU with topology, sorted by CPU number. Count or negative errno. */
int meter_cpu_topology(const char *sysfs_root, struct meter_cpu *cpus, int max);

#endif
