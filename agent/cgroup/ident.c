/* ident.c - cgroup path -> container identity. Pure string parsing.
 *
 * Kubernetes paths are recognised from their first component that is "kubepods" or
 * ends in "kubepods.slice" (so kind's /kubelet.slice/kubelet-kubepods.slice/... and a
 * node running inside a container, /docker/<id>/kubepods/..., also work). Below it:
 * an optional QoS component, the pod component, then optionally the container
 * component; anything deeper belongs to that container. Any other shape below
 * kubepods is -ENOENT rather than a guess.
 * Outside Kubernetes the first component that is a runtime's container cgroup wins.
 *
 * A bare 64-hex container directory under a pod (cgroupfs driver) carries no runtime
 * name; it is reported as containerd, the runtime that names them that way today
 * (dockershim, which did too, left the kubelet in 1.24).
 */
#include "ident.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "../common/nametab.h"

#define CID_LEN 64
#define UUID_LEN 36
#define HASH_UID_LEN 32 /* static pods: the kubelet's config hash, 32 hex digits */

struct comp {
	const char *s;
	size_t n;
};

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

static bool comp_eq(struct comp c, const char *lit)
{
	size_t n = strlen(lit);
	return c.n == n && memcmp(c.s, lit, n) == 0;
}

static bool has_prefix(const char *s, size_t n, const char *pre)
{
	size_t pn = strlen(pre);
	return n >= pn && memcmp(s, pre, pn) == 0;
}

static bool has_suffix(const char *s, size_t n, const char *suf)
{
	size_t sn = strlen(suf);
	return n >= sn && memcmp(s + n - sn, suf, sn) == 0;
}

/* Pod uid: 32 hex digits, or a UUID 8-4-4-4-12 whose separators are sep. Written to
 * out with '-' separators. */
static bool parse_pod_uid(const char *s, size_t n, char sep, char out[37])
{
	if (n == HASH_UID_LEN) {
		if (!all_hex(s, n))
			return false;
		memcpy(out, s, n);
		out[n] = '\0';
		return true;
	}
	if (n != UUID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash_pos = (i == 8 || i == 13 || i == 18 || i == 23);
		if (dash_pos ? s[i] != sep : !is_lower_hex(s[i]))
			return false;
		out[i] = dash_pos ? '-' : s[i];
	}
	out[n] = '\0';
	return true;
}

struct rt_prefix {
	const char *prefix;
	enum cg_runtime rt;
	bool conmon;
};

/* Longer prefixes first where one is a prefix of another. */
static const struct rt_prefix rt_prefixes[] = {
	{ "cri-containerd-", RT_CONTAINERD, false },
	{ "crio-conmon-", RT_CRIO, true },
	{ "crio-", RT_CRIO, false },
	{ "docker-", RT_DOCKER, false },
	{ "libpod-conmon-", RT_PODMAN, true },
	{ "libpod-", RT_PODMAN, false },
};

/* A runtime-named container cgroup: <prefix><64 hex>[.scope]. */
static bool parse_named_container(struct comp c, struct cg_ident *out)
{
	size_t n = c.n;
	if (has_suffix(c.s, n, ".scope"))
		n -= strlen(".scope");
	for (size_t i = 0; i < sizeof(rt_prefixes) / sizeof(rt_prefixes[0]); i++) {
		const struct rt_prefix *p = &rt_prefixes[i];
		size_t pn = strlen(p->prefix);
		if (!has_prefix(c.s, n, p->prefix))
			continue;
		if (n - pn != CID_LEN || !all_hex(c.s + pn, CID_LEN))
			return false; /* right prefix, malformed id: not a match */
		memcpy(out->container_id, c.s + pn, CID_LEN);
		out->container_id[CID_LEN] = '\0';
		out->runtime = p->rt;
		out->is_conmon = p->conmon;
		return true;
	}
	return false;
}

static bool is_bare_id(struct comp c)
{
	return c.n == CID_LEN && all_hex(c.s, c.n);
}

static void set_bare(struct comp c, enum cg_runtime rt, struct cg_ident *out)
{
	memcpy(out->container_id, c.s, CID_LEN);
	out->container_id[CID_LEN] = '\0';
	out->runtime = rt;
	out->is_conmon = false;
}

static bool is_kubepods_root(struct comp c)
{
	return comp_eq(c, "kubepods") || has_suffix(c.s, c.n, "kubepods.slice");
}

/* systemd QoS slice: <...>kubepods-burstable.slice / <...>kubepods-besteffort.slice */
static enum cg_qos systemd_qos_slice(struct comp c)
{
	if (has_suffix(c.s, c.n, "kubepods-burstable.slice"))
		return QOS_BURSTABLE;
	if (has_suffix(c.s, c.n, "kubepods-besteffort.slice"))
		return QOS_BESTEFFORT;
	return QOS_NONE;
}

/* Pod component: cgroupfs "pod<uid>" or systemd "<...>kubepods[-<qos>]-pod<uid_>.slice".
 * *qos gets the QoS a systemd name encodes (QOS_NONE for cgroupfs). */
static bool parse_pod_comp(struct comp c, char uid[37], enum cg_qos *qos)
{
	static const char *const forms[] = { "kubepods-pod", "kubepods-burstable-pod",
					     "kubepods-besteffort-pod" };
	static const enum cg_qos form_qos[] = { QOS_GUARANTEED, QOS_BURSTABLE, QOS_BESTEFFORT };
	const char *s = c.s;
	size_t n = c.n;

	*qos = QOS_NONE;
	if (has_prefix(s, n, "pod") && !has_suffix(s, n, ".slice"))
		return parse_pod_uid(s + 3, n - 3, '-', uid);
	if (!has_suffix(s, n, ".slice"))
		return false;
	n -= strlen(".slice");
	for (size_t i = 0; i < 3; i++) {
		const char *hit = NULL;
		size_t fl = strlen(forms[i]);
		/* the form must be the name itself or follow a '-' (kind: kubelet-kubepods-...) */
		for (size_t off = 0; off + fl <= n; off++) {
			if ((off == 0 || s[off - 1] == '-') && memcmp(s + off, forms[i], fl) == 0) {
				hit = s + off;
				break;
			}
		}
		if (!hit)
			continue;
		if (!parse_pod_uid(hit + fl, n - (size_t)(hit + fl - s), '_', uid))
			return false;
		*qos = form_qos[i];
		return true;
	}
	return false;
}

static size_t split(const char *path, struct comp *comps, size_t max)
{
	size_t n = 0;
	const char *p = path;
	while (*p && n < max) {
		const char *e;
		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		comps[n++] = (struct comp){ p, (size_t)(e - p) };
		p = e;
	}
	return n;
}

#define MAX_COMPS 64

static int parse_kube(const struct comp *c, size_t n, size_t k, struct cg_ident *out)
{
	enum cg_qos qos = QOS_NONE, pod_qos;
	size_t i = k + 1;

	/* optional QoS component */
	if (i < n) {
		if (comp_eq(c[i], "burstable")) {
			qos = QOS_BURSTABLE;
			i++;
		} else if (comp_eq(c[i], "besteffort")) {
			qos = QOS_BESTEFFORT;
			i++;
		} else if (systemd_qos_slice(c[i]) != QOS_NONE) {
			qos = systemd_qos_slice(c[i]);
			i++;
		}
	}
	if (i >= n || !parse_pod_comp(c[i], out->pod_uid, &pod_qos))
		return -ENOENT;
	if (pod_qos != QOS_NONE) {
		if (qos != QOS_NONE && qos != pod_qos)
			return -ENOENT; /* slice and pod name disagree: not a kubelet path */
		qos = pod_qos;
	} else if (qos == QOS_NONE) {
		qos = QOS_GUARANTEED; /* cgroupfs: the pod sits directly under kubepods */
	}
	out->qos = qos;
	i++;
	if (i >= n)
		return 0; /* pod-level cgroup */
	if (parse_named_container(c[i], out))
		return 0;
	if (is_bare_id(c[i])) {
		set_bare(c[i], RT_CONTAINERD, out);
		return 0;
	}
	return -ENOENT;
}

int cg_ident_parse(const char *path, struct cg_ident *out)
{
	struct comp c[MAX_COMPS];
	size_t n;
	int r = -ENOENT;

	if (!path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	n = split(path, c, MAX_COMPS);

	for (size_t k = 0; k < n; k++) {
		if (is_kubepods_root(c[k])) {
			r = parse_kube(c, n, k, out);
			goto done;
		}
	}
	for (size_t k = 0; k < n; k++) {
		if (parse_named_container(c[k], out)) {
			r = 0;
			goto done;
		}
		if (k > 0 && comp_eq(c[k - 1], "docker") && is_bare_id(c[k])) {
			set_bare(c[k], RT_DOCKER, out);
			r = 0;
			goto done;
		}
	}
done:
	if (r)
		memset(out, 0, sizeof(*out));
	return r;
}

const char *cg_runtime_name(enum cg_runtime r)
{
	static const char *const names[] = {
		[RT_NONE] = "none", [RT_CONTAINERD] = "containerd", [RT_CRIO] = "cri-o",
		[RT_DOCKER] = "docker", [RT_PODMAN] = "podman",
	};
	return nametab_name(names, NAMETAB_LEN(names), r, "unknown");
}

const char *cg_qos_name(enum cg_qos q)
{
	static const char *const names[] = {
		[QOS_NONE] = "none", [QOS_GUARANTEED] = "guaranteed",
		[QOS_BURSTABLE] = "burstable", [QOS_BESTEFFORT] = "besteffort",
	};
	return nametab_name(names, NAMETAB_LEN(names), q, "unknown");
}
