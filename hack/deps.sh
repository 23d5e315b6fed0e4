#!/usr/bin/env bash
# Installs, idempotently, every Debian package wattlet's build, run and tests need.
# Checks first; runs apt-get only when something is missing. Safe to run again.
set -euo pipefail

PKGS=(
	# build
	gcc clang llvm make pkg-config libc6-dev
	libclang-rt-dev # libFuzzer and sanitizer runtimes for clang (fuzz/fuzz.mk)
	libyaml-dev libwebsockets-dev libjansson-dev libcurl4-openssl-dev
	libssl-dev # libcrypto: token-review cache keys, TLS file checks (kube_authn, http)
	libbpf-dev bpftool libelf-dev zlib1g-dev libpfm4-dev
	# tests
	libcmocka-dev valgrind stress-ng prometheus curl procps iproute2 python3
	python3-venv # it_redfish: sushy-tools (a real Redfish server) from PyPI into $BUILD/redfish-venv
	containerd runc containernetworking-plugins iptables openssl redis-server busybox-static # e2e
	chromium # it_ui: /ui opened in headless Chromium
)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's prometheus package starts a system service; we run our own instances.
if [ -d /run/systemd/system ]; then
	systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
fi
echo "deps: done"
