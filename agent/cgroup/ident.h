/* ident.h - cgroup path -> container identity (runtime, container id, pod uid, QoS).
 *
 * Pure string parsing, no I/O, no allocation. Understands the paths the kubelet and
 * the container runtimes create, with the systemd and cgroupfs drivers, on v1 and v2:
 *   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_>.slice/cri-containerd-<id>.scope
 *   /kubepods/besteffort/pod<uid>/<id>                        (cgroupfs driver)
 *   /kubepods/pod<uid>/<id>                                   (Guaranteed, cgroupfs)
 *   /kubepods.slice/kubepods-pod<uid_>.slice/crio-<id>.scope  (Guaranteed, systemd)
 *   /system.slice/docker-<id>.scope, /docker/<id>
 *   /machine.slice/libpod-<id>.scope, /libpod_parent/libpod-<id>, user.slice/.../libpod-<id>.scope
 *   crio-conmon-<id>.scope (CRI-O's monitor, runtime crio, is_conmon set)
 * Pod uids written with '_' by the systemd driver are returned with '-'.
 */
#ifndef WATTLET_IDENT_H
#define WATTLET_IDENT_H

#include <stdbool.h>

enum cg_runtime { RT_NONE, RT_CONTAINERD, RT_CRIO, RT_DOCKER, RT_PODMAN };
enum cg_qos { QOS_NONE, QOS_GUARANTEED, QOS_BURSTABLE, QOS_BESTEFFORT };

struct cg_ident {
	enum cg_runtime runtime;
	enum cg_qos qos;          /* QOS_NONE outside Kubernetes */
	char container_id[65];    /* 64 hex chars, or "" for a pod-level cgroup */
	char pod_uid[37];         /* "" outside Kubernetes */
	bool is_conmon;
};

/* 0 when path belongs to a container or pod (fields set), -ENOENT otherwise (out is
 * zeroed: a host/system cgroup), -EINVAL on NULL. */
int cg_ident_parse(const char *path, struct cg_ident *out);
const char *cg_runtime_name(enum cg_runtime r);
const char *cg_qos_name(enum cg_qos q);

#endif
