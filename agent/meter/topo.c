/* topo.c - CPU topology and cpulist helpers for the perf and msr meters. */
#include "meter_impl.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_int_file(const char *path, int *out)
{
	int64_t v;
	char buf[32];
	int err = meter_read_attr(path, buf, sizeof(buf), NULL, NULL);

	if (err)
		return err;
	err = parse_i64(buf, &v);
	if (err)
		return err;
	if (v < 0 || v > 1000000)
		return -ERANGE;
	*out = (int)v;
	return 0;
}

int meter_cpu_package(const char *sysfs_root, int cpu)
{
	char p[512];
	int pkg, err;

	err = fmt_path(p, sizeof(p), "%s/devices/system/cpu/cpu%d/topology/physical_package_id",
		       sysfs_root, cpu);
	if (err)
		return err;
	err = read_int_file(p, &pkg);
	return err ? err : pkg;
}

static int cmp_cpu(const void *a, const void *b)
{
	const struct meter_cpu *x = a, *y = b;
	return (x->cpu > y->cpu) - (x->cpu < y->cpu);
}

int meter_cpu_topology(const char *sysfs_root, struct meter_cpu *cpus, int max)
{
	char dir[512];
	DIR *d;
	struct dirent *de;
	int n = 0, err;

	err = fmt_path(dir, sizeof(dir), "%s/devices/system/cpu", sysfs_root);
	if (err)
		return err;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint64_t cpu;
		char p[640];
		int pkg, core;

		if (strncmp(de->d_name, "cpu", 3) || de->d_name[3] < '0' || de->d_name[3] > '9' ||
		    parse_u64(de->d_name + 3, &cpu) || cpu > 1000000)
			continue;
		/* offline CPUs have no topology directory */
		if (fmt_path(p, sizeof(p), "%s/%s/topology/physical_package_id", dir, de->d_name) ||
		    read_int_file(p, &pkg))
			continue;
		if (fmt_path(p, sizeof(p), "%s/%s/topology/core_id", dir, de->d_name) ||
		    read_int_file(p, &core))
			core = (int)cpu;
		if (n >= max) {
			closedir(d);
			return -E2BIG;
		}
		cpus[n].cpu = (int)cpu;
		cpus[n].pkg = pkg;
		cpus[n].core = core;
		n++;
	}
	closedir(d);
	if (n == 0)
		return -ENOENT;
	qsort(cpus, (size_t)n, sizeof(*cpus), cmp_cpu);
	return n;
}

int meter_package_cpus(const char *sysfs_root, int *cpus, int *pkgs, int max)
{
	struct meter_cpu *all;
	int n, k = 0;

	all = calloc(8192, sizeof(*all));
	if (!all)
		return -ENOMEM;
	n = meter_cpu_topology(sysfs_root, all, 8192);
	for (int i = 0; i < n; i++) {
		int j;
		for (j = 0; j < k && pkgs[j] != all[i].pkg; j++)
			;
		if (j < k)
			continue; /* sorted by cpu: the first seen is the lowest */
		if (k >= max) {
			k = -E2BIG;
			break;
		}
		cpus[k] = all[i].cpu;
		pkgs[k] = all[i].pkg;
		k++;
	}
	free(all);
	if (n < 0)
		return n;
	/* sort by package (insertion sort: few packages) */
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && pkgs[j - 1] > pkgs[j]; j--) {
			int t = pkgs[j]; pkgs[j] = pkgs[j - 1]; pkgs[j - 1] = t;
			t = cpus[j]; cpus[j] = cpus[j - 1]; cpus[j - 1] = t;
		}
	return k;
}

int meter_parse_cpulist(const char *s, int *cpus, int max)
{
	int n = 0;
	const char *p = s;

	if (!s)
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n')
		return -EINVAL;
	for (;;) {
		char *end;
		long a, b;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		a = strtol(p, &end, 10);
		p = end;
		b = a;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			b = strtol(p, &end, 10);
			p = end;
		}
		if (a > b || b > 1000000)
			return -EINVAL;
		for (long c = a; c <= b; c++) {
			if (n >= max)
				return -E2BIG;
			cpus[n++] = (int)c;
		}
		if (*p == ',') {
			p++;
			continue;
		}
		while (*p == ' ' || *p == '\n' || *p == '\t')
			p++;
		return *p == '\0' ? n : -EINVAL;
	}
}
