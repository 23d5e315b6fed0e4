/* test_ident.c - cgroup path -> container identity, table-driven, with the path shapes
 * the kubelet (systemd and cgroupfs drivers), containerd, CRI-O, Docker and Podman
 * create on real nodes (v1 paths are the same relative paths under the cpuacct mount). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testmain.h"

#include "agent/cgroup/ident.h"

#define CID "3f1e0c5a9d7b2e4f6a8c0b1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f"
#define CID2 "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"
#define UIDU "8b2f6d4e_1c3a_4f5b_9d7e_0a2c4e6f8b1d" /* systemd driver spelling */
#define UIDD "8b2f6d4e-1c3a-4f5b-9d7e-0a2c4e6f8b1d" /* API / cgroupfs spelling */
#define HUID "6576683a93d91d8e2119df2c2755f2f1"      /* static pod: config hash */

struct icase {
	const char *path;
	int ret;
	enum cg_runtime rt;
	enum cg_qos qos;
	const char *cid;
	const char *uid;
	bool conmon;
};

static const struct icase cases[] = {
	/* containerd, systemd driver (v1 and v2 alike) */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
	  ".slice/cri-containerd-" CID ".scope",
	  0, RT_CONTAINERD, QOS_BURSTABLE, CID, UIDD, false },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU
	  ".slice/cri-containerd-" CID ".scope",
	  0, RT_CONTAINERD, QOS_BESTEFFORT, CID, UIDD, false },
	{ "/kubepods.slice/kubepods-pod" UIDU ".slice/cri-containerd-" CID ".scope", 0,
	  RT_CONTAINERD, QOS_GUARANTEED, CID, UIDD, false },
	/* kind: kubelet nested under kubelet.slice */
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	  "kubelet-kubepods-besteffort-pod" UIDU ".slice/cri-containerd-" CID ".scope",
	  0, RT_CONTAINERD, QOS_BESTEFFORT, CID, UIDD, false },
	/* containerd, cgroupfs driver (k3s) */
	{ "/kubepods/besteffort/pod" UIDD "/" CID, 0, RT_CONTAINERD, QOS_BESTEFFORT, CID, UIDD,
	  false },
	{ "/kubepods/burstable/pod" UIDD "/" CID, 0, RT_CONTAINERD, QOS_BURSTABLE, CID, UIDD,
	  false },
	{ "/kubepods/pod" UIDD "/" CID, 0, RT_CONTAINERD, QOS_GUARANTEED, CID, UIDD, false },
	/* a kubelet node that is itself a docker container (kind with cgroupfs) */
	{ "/docker/" CID2 "/kubepods/burstable/pod" UIDD "/" CID, 0, RT_CONTAINERD,
	  QOS_BURSTABLE, CID, UIDD, false },
	/* CRI-O, systemd driver, and its conmon scope */
	{ "/kubepods.slice/kubepods-pod" UIDU ".slice/crio-" CID ".scope", 0, RT_CRIO,
	  QOS_GUARANTEED, CID, UIDD, false },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
	  ".slice/crio-" CID ".scope",
	  0, RT_CRIO, QOS_BURSTABLE, CID, UIDD, false },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU
	  ".slice/crio-conmon-" CID ".scope",
	  0, RT_CRIO, QOS_BURSTABLE, CID, UIDD, true },
	{ "/system.slice/crio-conmon-" CID ".scope", 0, RT_CRIO, QOS_NONE, CID, "", true },
	/* CRI-O, cgroupfs driver */
	{ "/kubepods/besteffort/pod" UIDD "/crio-" CID, 0, RT_CRIO, QOS_BESTEFFORT, CID, UIDD,
	  false },
	{ "/kubepods/besteffort/pod" UIDD "/crio-conmon-" CID, 0, RT_CRIO, QOS_BESTEFFORT, CID,
	  UIDD, true },
	/* crun on v2 puts the payload one level below the scope */
	{ "/kubepods.slice/kubepods-pod" UIDU ".slice/crio-" CID ".scope/container", 0, RT_CRIO,
	  QOS_GUARANTEED, CID, UIDD, false },
	/* Docker via cri-dockerd (systemd driver) */
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UIDU
	  ".slice/docker-" CID ".scope",
	  0, RT_DOCKER, QOS_BESTEFFORT, CID, UIDD, false },
	/* plain Docker */
	{ "/system.slice/docker-" CID ".scope", 0, RT_DOCKER, QOS_NONE, CID, "", false },
	{ "/docker/" CID, 0, RT_DOCKER, QOS_NONE, CID, "", false },
	/* Podman, systemd and cgroupfs, rootful and rootless, with conmon */
	{ "/machine.slice/libpod-" CID ".scope", 0, RT_PODMAN, QOS_NONE, CID, "", false },
	{ "/machine.slice/libpod-" CID ".scope/container", 0, RT_PODMAN, QOS_NONE, CID, "",
	  false },
	{ "/machine.slice/libpod-conmon-" CID ".scope", 0, RT_PODMAN, QOS_NONE, CID, "", true },
	{ "/machine.slice/machine-libpod_pod_" CID2 ".slice/libpod-" CID ".scope", 0, RT_PODMAN,
	  QOS_NONE, CID, "", false },
	{ "/libpod_parent/libpod-" CID, 0, RT_PODMAN, QOS_NONE, CID, "", false },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope", 0,
	  RT_PODMAN, QOS_NONE, CID, "", false },
	/* pod-level cgroups: no container id */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UIDU ".slice", 0,
	  RT_NONE, QOS_BURSTABLE, "", UIDD, false },
	{ "/kubepods.slice/kubepods-pod" UIDU ".slice", 0, RT_NONE, QOS_GUARANTEED, "", UIDD,
	  false },
	{ "/kubepods/besteffort/pod" UIDD, 0, RT_NONE, QOS_BESTEFFORT, "", UIDD, false },
	{ "/kubepods/pod" UIDD "/", 0, RT_NONE, QOS_GUARANTEED, "", UIDD, false },
	/* static pod: uid is a 32-hex config hash */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" HUID
	  ".slice/cri-containerd-" CID ".scope",
	  0, RT_CONTAINERD, QOS_BURSTABLE, CID, HUID, false },
	{ "/kubepods/burstable/pod" HUID "/" CID, 0, RT_CONTAINERD, QOS_BURSTABLE, CID, HUID,
	  false },
	/* not containers */
	{ "/", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/system.slice/sshd.service", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/system.slice/containerd.service", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/system.slice/docker.service", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/user.slice/user-1000.slice/session-3.scope", -ENOENT, RT_NONE, QOS_NONE, "", "",
	  false },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/dbus.service", -ENOENT,
	  RT_NONE, QOS_NONE, "", "", false },
	{ "/init.scope", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/kubepods.slice", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/kubepods.slice/kubepods-burstable.slice", -ENOENT, RT_NONE, QOS_NONE, "", "",
	  false },
	{ "/kubepods/besteffort", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/system.slice/kubelet.service", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	/* malformed ids are rejected, not returned */
	{ "/system.slice/docker-" CID "0.scope", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/system.slice/docker-3f1e0c5a.scope", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/system.slice/docker-3F1E0C5A9D7B2E4F6A8C0B1D3E5F7A9B2C4D6E8F0A1B3C5D7E9F1A2B4C6D8E0F"
	  ".scope",
	  -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/docker/zz1e0c5a9d7b2e4f6a8c0b1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f", -ENOENT,
	  RT_NONE, QOS_NONE, "", "", false },
	{ "/kubepods.slice/kubepods-pod" UIDU ".slice/cri-containerd-abc.scope", -ENOENT, RT_NONE,
	  QOS_NONE, "", "", false },
	{ "/kubepods/pod" UIDD "/not-a-container", -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	{ "/kubepods/pod8b2f6d4e-1c3a-4f5b-9d7e-0a2c4e6f8b1/" CID, -ENOENT, RT_NONE, QOS_NONE,
	  "", "", false },
	{ "/kubepods/podxb2f6d4e-1c3a-4f5b-9d7e-0a2c4e6f8b1d/" CID, -ENOENT, RT_NONE, QOS_NONE,
	  "", "", false },
	/* systemd spelling with cgroupfs separators and vice versa */
	{ "/kubepods.slice/kubepods-pod" UIDD ".slice", -ENOENT, RT_NONE, QOS_NONE, "", "",
	  false },
	{ "/kubepods/pod" UIDU, -ENOENT, RT_NONE, QOS_NONE, "", "", false },
	/* QoS slice and pod name disagree */
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-burstable-pod" UIDU ".slice",
	  -ENOENT, RT_NONE, QOS_NONE, "", "", false },
};

static void test_table(void **state)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);
	(void)state;
	assert_true(n >= 30);
	for (size_t i = 0; i < n; i++) {
		const struct icase *c = &cases[i];
		struct cg_ident id;
		int r;
		memset(&id, 0xa5, sizeof(id)); /* must be overwritten on every path */
		r = cg_ident_parse(c->path, &id);
		if (r != c->ret)
			fail_msg("case %zu %s: ret %d, want %d", i, c->path, r, c->ret);
		if (id.runtime != c->rt || id.qos != c->qos || id.is_conmon != c->conmon ||
		    strcmp(id.container_id, c->cid) != 0 || strcmp(id.pod_uid, c->uid) != 0)
			fail_msg("case %zu %s: got rt=%s qos=%s cid=%.65s uid=%.37s conmon=%d", i,
				 c->path, cg_runtime_name(id.runtime), cg_qos_name(id.qos),
				 id.container_id, id.pod_uid, id.is_conmon);
	}
}

static void test_null_and_names(void **state)
{
	struct cg_ident id;
	(void)state;
	assert_int_equal(cg_ident_parse(NULL, &id), -EINVAL);
	assert_int_equal(cg_ident_parse("/", NULL), -EINVAL);
	assert_string_equal(cg_runtime_name(RT_CRIO), "cri-o");
	assert_string_equal(cg_runtime_name(RT_CONTAINERD), "containerd");
	assert_string_equal(cg_qos_name(QOS_BESTEFFORT), "besteffort");
	assert_string_equal(cg_qos_name(QOS_GUARANTEED), "guaranteed");
}

/* The same relative path is found under the v1 cpuacct hierarchy, so a v1 path with
 * a mount-prefixed form still names the same container when the caller strips the
 * hierarchy root; long and pathological inputs do not crash. */
static void test_pathological(void **state)
{
	static char big[8192];
	struct cg_ident id;
	(void)state;
	memset(big, '/', sizeof(big) - 1);
	assert_int_equal(cg_ident_parse(big, &id), -ENOENT);
	for (size_t i = 0; i + 2 < sizeof(big); i += 2) {
		big[i] = '/';
		big[i + 1] = 'a';
	}
	assert_int_equal(cg_ident_parse(big, &id), -ENOENT);
	assert_int_equal(cg_ident_parse("//kubepods//pod" UIDD "//" CID "//", &id), 0);
	assert_string_equal(id.container_id, CID);
	assert_int_equal(cg_ident_parse("/kubepods/pod" UIDD "/" CID "/sub/deeper", &id), 0);
	assert_string_equal(id.container_id, CID);
	assert_int_equal(cg_ident_parse("/kubepods/pod", &id), -ENOENT);
	assert_int_equal(cg_ident_parse("/kubepods.slice/kubepods-pod.slice", &id), -ENOENT);
	assert_int_equal(cg_ident_parse("/system.slice/docker-.scope", &id), -ENOENT);
	assert_int_equal(cg_ident_parse("/system.slice/.scope", &id), -ENOENT);
}

WL_TEST_MAIN(
	cmocka_unit_test(test_table),
	cmocka_unit_test(test_null_and_names),
	cmocka_unit_test(test_pathological))
