#!/usr/bin/env bash
# image.sh IMAGE OUT.tar [BUILD_DIR] - builds one of the e2e/agent images as an OCI archive
# (hack/oci-image.sh) from host binaries plus the shared libraries ldd says they need.
#   pause   wattlet-e2e/pause:1    static hack/pause.c
#   stress  wattlet-e2e/stress:1   Debian's stress-ng
#   redis   wattlet-e2e/redis:1    Debian's redis-server and redis-benchmark, busybox sh
#   tools   wattlet-e2e/tools:1    Debian's static busybox (sh, wget, nc, ...) for probes in pods
#   wattlet wattlet:dev            BUILD_DIR/wattlet + BUILD_DIR/raplsim (default BUILD_DIR=build)
# The Dockerfile at the repo root builds the same content for users with a Docker daemon.
set -euo pipefail

die() { echo "image: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: image.sh {pause|stress|redis|tools|wattlet} OUT.tar [BUILD_DIR]"
img=$1 out=$2 bdir=${3:-build}
here=$(cd "$(dirname "$0")" && pwd)
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT

# copy_with_libs BIN DEST_DIR: the binary plus every library (and the loader) it links.
copy_with_libs() {
	local bin=$1 dest=$2 lib
	[ -x "$bin" ] || die "missing executable $bin"
	install -D -m 0755 "$bin" "$root$dest/$(basename "$bin")"
	# ldd lines: "libx.so.1 => /lib/x86_64-linux-gnu/libx.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
	for lib in $(ldd "$bin" 2>/dev/null | awk '/=> \//{print $3} /^[ \t]*\//{print $1}'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

base_fs() {
	mkdir -p "$root"/{etc,tmp,proc,sys,dev,run,var/run}
	chmod 1777 "$root/tmp"
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' > "$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
	printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
	# Debian's /lib64 etc. are symlinks in usrmerge; keep the layout ldd reports.
	if [ -L /lib64 ]; then ln -s usr/lib64 "$root/lib64"; mkdir -p "$root/usr/lib64"; fi
	if [ -L /lib ]; then ln -s usr/lib "$root/lib"; mkdir -p "$root/usr/lib"; fi
}

case "$img" in
pause)
	mkdir -p "$root"
	gcc -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -O2 -static \
		-o "$root/pause" "$here/pause.c"
	ENTRYPOINT='["/pause"]' "$here/oci-image.sh" wattlet-e2e/pause:1 "$root" "$out"
	;;
stress)
	base_fs
	copy_with_libs "$(command -v stress-ng || echo /usr/bin/stress-ng)" /usr/bin
	ENTRYPOINT='["/usr/bin/stress-ng"]' "$here/oci-image.sh" wattlet-e2e/stress:1 "$root" "$out"
	;;
redis)
	base_fs
	copy_with_libs /usr/bin/redis-server /usr/bin
	copy_with_libs /usr/bin/redis-benchmark /usr/bin
	install -D -m 0755 /bin/busybox "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	ln -s busybox "$root/bin/sleep"
	mkdir -p "$root/data"
	WORKDIR=/data ENTRYPOINT='["/usr/bin/redis-server"]' \
		CMD='["--protected-mode","no","--save","","--appendonly","no"]' \
		"$here/oci-image.sh" wattlet-e2e/redis:1 "$root" "$out"
	;;
tools)
	base_fs
	install -D -m 0755 /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
	done
	ENTRYPOINT='["/bin/sh"]' "$here/oci-image.sh" wattlet-e2e/tools:1 "$root" "$out"
	;;
wattlet)
	base_fs
	copy_with_libs "$bdir/wattlet" /usr/local/bin
	copy_with_libs "$bdir/raplsim" /usr/local/bin
	# libcurl's default CA bundle path, for kubeconfig use outside the cluster's CA mount.
	[ -f /etc/ssl/certs/ca-certificates.crt ] &&
		install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
	mkdir -p "$root/etc/wattlet" "$root/var/lib/wattlet"
	ENTRYPOINT='["/usr/local/bin/wattlet"]' CMD='["run"]' \
		"$here/oci-image.sh" wattlet:dev "$root" "$out"
	;;
*) die "unknown image '$img'";;
esac
