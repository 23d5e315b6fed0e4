#!/usr/bin/env bash
# Writes the kernel type header the eBPF programs compile against: vmlinux.sh OUT
#
# Order of sources:
#   1. $WATTLET_VMLINUX_H            a vmlinux.h you provide (cross builds, CI images)
#   2. $VMLINUX_BTF or /sys/kernel/btf/vmlinux, dumped with `bpftool btf dump ... format c`
#   3. hack/vmlinux/vmlinux_<arch>.h a checked-in header (none is shipped today)
# A host without kernel BTF (CONFIG_DEBUG_INFO_BTF=n) cannot *run* the CO-RE programs
# either; build there with option 1 or 3, and the agent falls back to cgroup stats.
set -euo pipefail
out=${1:?usage: vmlinux.sh OUT}
btf=${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
bpftool=${BPFTOOL:-bpftool}
arch=$(uname -m)
mkdir -p "$(dirname "$out")"

if [ -n "${WATTLET_VMLINUX_H:-}" ]; then
	cp "$WATTLET_VMLINUX_H" "$out.tmp" && mv "$out.tmp" "$out"
	exit 0
fi
if [ -r "$btf" ] && command -v "$bpftool" >/dev/null 2>&1; then
	"$bpftool" btf dump file "$btf" format c > "$out.tmp"
	mv "$out.tmp" "$out"
	exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
if [ -r "$here/vmlinux/vmlinux_$arch.h" ]; then
	cp "$here/vmlinux/vmlinux_$arch.h" "$out.tmp" && mv "$out.tmp" "$out"
	exit 0
fi
echo "vmlinux.sh: no kernel BTF at $btf (or no bpftool) and no fallback header." >&2
echo "vmlinux.sh: set WATTLET_VMLINUX_H=/path/to/vmlinux.h, or put one at" >&2
echo "vmlinux.sh: hack/vmlinux/vmlinux_$arch.h, or build on a kernel with CONFIG_DEBUG_INFO_BTF=y." >&2
exit 1
