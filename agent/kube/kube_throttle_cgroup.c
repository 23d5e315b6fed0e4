/* kube_throttle_cgroup.c - the `cgroup` throttle method: a pod's CPU quota written into its
 * cgroup directly (v1 cpu controller or v2 cpu.max), containers ordered so that v1 never
 * sees a parent quota below a child's; see kube_throttle_impl.h. */
#include "kube_throttle_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube_quantity.h"

/* ---- the cgroup method ------------------------------------------------------------ */

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* pod<uid> (cgroupfs) or *-pod<uid with '_'>.slice (systemd) under dir, descending into
 * kubepods*, burstable and besteffort directories at most depth levels. */
static int find_pod_dir(const char *dir, const char *uid, const char *uid_, int depth, char *out,
			size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char sub[1200], want[96], want_[104];
	int rc = -ENOENT;

	if (!d)
		return -ENOENT;
	snprintf(want, sizeof(want), "pod%s", uid);
	snprintf(want_, sizeof(want_), "-pod%s.slice", uid_);
	while (rc != 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), m = strlen(want_);
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub))
			continue;
		if (strcmp(de->d_name, want) == 0 || (n > m && strcmp(de->d_name + n - m, want_) == 0)) {
			if (is_dir(sub) && snprintf(out, cap, "%s", sub) < (int)cap)
				rc = 0;
		} else if (depth > 0 && is_dir(sub) &&
			   (strncmp(de->d_name, "kubepods", 8) == 0 ||
			    strcmp(de->d_name, "burstable") == 0 || strcmp(de->d_name, "besteffort") == 0)) {
			rc = find_pod_dir(sub, uid, uid_, depth - 1, out, cap);
		}
	}
	closedir(d);
	return rc;
}

int kt_pod_cgroup(const char *root, const char *uid, char *out, size_t cap, bool *v2)
{
	static const char *const v1[] = { "cpu,cpuacct", "cpu" };
	char base[1100], uid_[80];

	if (!root || !uid || !*uid || strlen(uid) >= sizeof(uid_) || strchr(uid, '/'))
		return -EINVAL;
	snprintf(uid_, sizeof(uid_), "%s", uid);
	for (char *p = uid_; *p; p++)
		if (*p == '-')
			*p = '_';
	for (size_t i = 0; i < 2; i++) {
		snprintf(base, sizeof(base), "%s/%s", root, v1[i]);
		if (is_dir(base)) {
			*v2 = false;
			return find_pod_dir(base, uid, uid_, 3, out, cap);
		}
	}
	*v2 = true;
	return find_pod_dir(root, uid, uid_, 3, out, cap);
}

static int read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static int write_small(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC); /* as a shell's > does */
	ssize_t n;
	int rc = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != strlen(val))
		rc = -EIO;
	close(fd);
	return rc;
}

/* The quota of a cgroup dir as "QUOTA PERIOD" (QUOTA "max" when none). */
static int read_quota(const char *dir, bool v2, char *out, size_t cap)
{
	char p[1300], q[64], per[64];
	int rc;

	if (v2) {
		snprintf(p, sizeof(p), "%s/cpu.max", dir);
		return read_small(p, out, cap);
	}
	snprintf(p, sizeof(p), "%s/cpu.cfs_quota_us", dir);
	if ((rc = read_small(p, q, sizeof(q))) != 0)
		return rc;
	snprintf(p, sizeof(p), "%s/cpu.cfs_period_us", dir);
	if ((rc = read_small(p, per, sizeof(per))) != 0)
		return rc;
	snprintf(out, cap, "%.24s %.24s", q[0] == '-' ? "max" : q, per);
	return 0;
}

/* Writes "QUOTA PERIOD" (QUOTA "max": none) to a cgroup dir (v1: the quota only). */
static int write_quota(const char *dir, bool v2, const char *qp)
{
	char p[1300], q[64];

	if (v2) {
		snprintf(p, sizeof(p), "%s/cpu.max", dir);
		return write_small(p, qp);
	}
	snprintf(q, sizeof(q), "%s", qp);
	q[strcspn(q, " ")] = '\0';
	snprintf(p, sizeof(p), "%s/cpu.cfs_quota_us", dir);
	return write_small(p, strcmp(q, "max") == 0 ? "-1" : q);
}

/* quota in us of "QUOTA PERIOD"; -1 for max or garbage. */
static long long quota_us(const char *qp, long long *period)
{
	long long q = -1, per = 100000;
	if (strncmp(qp, "max", 3) == 0)
		sscanf(qp + 3, "%lld", &per);
	else if (sscanf(qp, "%lld %lld", &q, &per) < 1)
		q = -1;
	if (period)
		*period = per > 0 ? per : 100000;
	return q;
}

/* Finds the pod cgroup (dir, *v2) and, when rec has no "cgroup" yet, adds the pod's own
 * quota and (v1) its children's: "cgroup": {"pod": "Q P", "children": {name: "Q P"}}. */
int kt_cgroup_record(const char *cgroot, struct kt_result *r, json_t *rec, char *dir, size_t dcap,
		     bool *v2p)
{
	char cur[64], val[64], sub[1300];
	json_t *cg = json_object_get(rec, "cgroup");
	bool v2;
	int rc;

	rc = kt_pod_cgroup(cgroot, r->uid, dir, dcap, &v2);
	*v2p = v2;
	if (rc) {
		snprintf(r->error, sizeof(r->error), "pod cgroup of %s not found under %.200s", r->uid,
			 cgroot);
		return rc;
	}
	if (!cg) {
		json_t *ch = json_object();
		DIR *d;
		struct dirent *de;
		if ((rc = read_quota(dir, v2, cur, sizeof(cur))) != 0) {
			snprintf(r->error, sizeof(r->error), "reading %.200s: %s", dir, strerror(-rc));
			json_decref(ch);
			return rc;
		}
		cg = json_pack("{s:s, s:o}", "pod", cur, "children", ch);
		if (!cg || json_object_set_new(rec, "cgroup", cg) != 0)
			return -ENOMEM;
		d = v2 ? NULL : opendir(dir);
		while (d && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' ||
			    snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub) ||
			    !is_dir(sub) || read_quota(sub, false, val, sizeof(val)) != 0)
				continue;
			json_object_set_new(ch, de->d_name, json_string(val));
		}
		if (d)
			closedir(d);
	}
	return 0;
}

/* Sets (limit_mcpu > 0) or restores (the recorded values) the pod cgroup's quota (dir
 * from cgroup_record). On cgroup v1 a child's quota may not exceed its parent's:
 * children above the new quota are lowered first, raised after the pod. */
int kt_cgroup_apply(struct kt_result *r, const json_t *rec, const char *dir, bool v2,
		    uint32_t limit_mcpu)
{
	char cur[64], val[64], sub[1300];
	const json_t *cg = json_object_get(rec, "cgroup");
	const char *orig;
	long long per, q;
	int rc;

	orig = json_string_value(json_object_get(cg, "pod"));
	if (!orig)
		return -EINVAL;
	q = quota_us(orig, &per);
	r->orig_mcpu = q >= 0 ? (uint32_t)(q * 1000 / per) : 0; /* the pod's own, as a limit */
	if (limit_mcpu) {
		long long nq = (long long)limit_mcpu * per / 1000, curq = -1;
		const char *k;
		json_t *v;
		bool lowering;
		if (nq < 1000)
			nq = 1000; /* the kernel's minimum: 1 ms */
		snprintf(val, sizeof(val), "%lld %lld", nq, per);
		if (read_quota(dir, v2, cur, sizeof(cur)) == 0)
			curq = quota_us(cur, NULL);
		/* v1: a parent never below a child: lowering children first, raising after */
		lowering = curq < 0 || nq < curq;
		rc = lowering ? 0 : write_quota(dir, v2, val);
		json_object_foreach(json_object_get(cg, "children"), k, v) {
			const char *cv = json_string_value(v);
			long long cq = cv ? quota_us(cv, NULL) : -1;
			if (cq < 0 || strchr(k, '/'))
				continue; /* unlimited children follow the parent */
			snprintf(sub, sizeof(sub), "%s/%s", dir, k);
			write_quota(sub, v2, cq > nq ? val : cv); /* a container gone: ignored */
		}
		if (!rc && lowering)
			rc = write_quota(dir, v2, val);
	} else {
		const char *k;
		json_t *v;
		rc = write_quota(dir, v2, orig);
		json_object_foreach(json_object_get(cg, "children"), k, v) {
			snprintf(sub, sizeof(sub), "%s/%s", dir, k);
			if (!strchr(k, '/') && json_string_value(v) && is_dir(sub))
				write_quota(sub, v2, json_string_value(v));
		}
	}
	if (rc) {
		snprintf(r->error, sizeof(r->error), "writing the CPU quota of %.200s: %s%s", dir,
			 strerror(-rc),
			 rc == -EROFS ? " (the cgroup tree is mounted read-only: chart value "
					"throttle.cgroupWrite)" : "");
		return rc;
	}
	r->path = KT_PATH_CGROUP;
	return 0;
}
