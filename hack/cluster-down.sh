#!/usr/bin/env bash
# cluster-down.sh [--purge] - stops the e2e cluster that hack/cluster-up.sh started and
# cleans what it made: pod containers and their shims, CNI network namespaces, mounts under
# its state dirs, kubepods cgroups, kube-proxy's iptables chains, the bridge, the kernel
# settings kubelet changed. Cluster state (etcd data, kubelet dir) is removed so the next
# cluster-up starts fresh; imported images and the build stay. --purge removes those too
# (containerd root and the PKI; the Go build caches are kept). Idempotent.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/e2e/cluster/env.sh
PURGE=0
[ "${1:-}" = --purge ] && PURGE=1
[ "$(id -u)" -eq 0 ] || { echo "cluster-down: must run as root" >&2; exit 1; }
log() { echo "[cluster-down] $*"; }

stop() { # stop NAME: TERM the pid in run/NAME.pid, KILL after 10 s
	local f=$E2E_RUN/$1.pid p i
	[ -f "$f" ] || return 0
	p=$(cat "$f")
	if [ -n "$p" ] && kill -0 "$p" 2>/dev/null && grep -q -- "$1 " <<<"$(tr '\0' ' ' < "/proc/$p/cmdline")"; then
		kill -TERM "$p" 2>/dev/null
		for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$p" 2>/dev/null; then
			log "$1 (pid $p) ignored TERM; KILL"
			kill -KILL "$p" 2>/dev/null
			sleep 0.2
		fi
		log "$1 stopped (pid $p)"
	fi
	rm -f "$f"
}

stop kubelet
stop kube-proxy

# Pod containers: kill and delete every task and container in containerd's k8s.io namespace,
# after noting the network namespaces of the sandboxes.
CTR=(ctr --address "$E2E_CONTAINERD_SOCK" -n k8s.io)
netns=()
if [ -S "$E2E_CONTAINERD_SOCK" ] && "${CTR[@]}" version >/dev/null 2>&1; then
	ids=$("${CTR[@]}" containers ls -q 2>/dev/null)
	for id in $ids; do
		ns=$("${CTR[@]}" containers info "$id" 2>/dev/null | grep -o '"/var/run/netns/cni-[0-9a-f-]*"' | tr -d '"' | head -n1)
		[ -n "$ns" ] && netns+=("$ns")
		"${CTR[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1
	done
	for id in $ids; do
		for i in $(seq 1 30); do "${CTR[@]}" tasks delete "$id" >/dev/null 2>&1 && break
			grep -q "^$id " <<<"$("${CTR[@]}" tasks ls 2>/dev/null)" || break; sleep 0.2; done
		"${CTR[@]}" containers delete "$id" >/dev/null 2>&1
	done
	[ -n "$ids" ] && log "removed $(echo "$ids" | wc -w) containers"
fi
stop containerd
# Shims whose tasks could not be deleted: only those started for our socket (matched by pid).
for d in /proc/[0-9]*; do
	cmd=$(tr '\0' ' ' < "$d/cmdline" 2>/dev/null) || continue
	case "$cmd" in *containerd-shim*"-address $E2E_CONTAINERD_SOCK "*)
		log "killing leftover shim ${d#/proc/}"; kill -KILL "${d#/proc/}" 2>/dev/null;;
	esac
done
for ns in "${netns[@]}"; do
	[ -e "$ns" ] || continue
	umount "$ns" 2>/dev/null; rm -f "$ns" && log "removed netns $ns"
done

stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd

# Mounts under our state dirs (projected volumes, rootfs overlays, shm), deepest first.
for prefix in "$E2E_STATE" "$E2E_RSTATE"; do
	awk -v p="$prefix/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null && log "unmounted $m"
	done
done

# kubepods cgroups (cgroupfs driver) in every v1 hierarchy and the unified one, deepest first.
for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
	[ -d "$root" ] || continue
	find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
	[ -d "$root" ] && log "could not remove $root (processes left?)" || log "removed $root"
done

# iptables chains kube-proxy and kubelet made (KUBE-*): drop every rule and chain naming
# KUBE- from each table (`kube-proxy --cleanup` also wants ipset, which is not installed).
for ipt in iptables ip6tables; do
	command -v "$ipt-save" >/dev/null || continue
	if grep -q 'KUBE-' <<<"$("$ipt-save" 2>/dev/null)"; then
		"$ipt-save" | grep -v -- 'KUBE-' | "$ipt-restore" && log "removed KUBE-* $ipt chains"
	fi
done
if ip link show "$E2E_BRIDGE" >/dev/null 2>&1; then
	ip link delete "$E2E_BRIDGE" && log "removed bridge $E2E_BRIDGE"
fi

# Kernel settings kubelet changed.
if [ -f "$E2E_RUN/sysctl.orig" ]; then
	while IFS= read -r kv; do sysctl -q -w "$kv" >/dev/null 2>&1; done < "$E2E_RUN/sysctl.orig"
	rm -f "$E2E_RUN/sysctl.orig"
	log "restored kernel settings"
fi

# State: fresh cluster next time; images (containerd root) kept unless --purge.
if grep -q . <<<"$(awk -v p="$E2E_STATE/" 'index($5, p) == 1' /proc/self/mountinfo)"; then
	log "mounts remain under $E2E_STATE; not deleting state"; exit 1
fi
rm -rf --one-file-system "$E2E_STATE/etcd" "$E2E_STATE/kubelet" "$E2E_STATE/cni-ipam" "$E2E_RSTATE"
if [ $PURGE = 1 ]; then
	rm -rf --one-file-system "$E2E_STATE" "$E2E_PKI" "$E2E_IMAGES"
	log "purged state, pki and images"
fi
log "down"
