#!/usr/bin/env bash
# oci-image.sh NAME:TAG ROOTFS_DIR OUT.tar - writes a one-layer OCI image archive (an OCI
# image layout in a tar: oci-layout, index.json, blobs/sha256/{layer,config,manifest}) from a
# root filesystem directory, without a Docker daemon. The result imports with
#   ctr -n k8s.io images import OUT.tar
# and is named NAME:TAG normalised the way Kubernetes does (wattlet:dev ->
# docker.io/library/wattlet:dev, a/b:1 -> docker.io/a/b:1).
# Optional environment: ENTRYPOINT and CMD as JSON arrays (default ENTRYPOINT unset,
# CMD ["/bin/sh"] only if ROOTFS has one), IMAGE_ENV as a JSON array of "K=V" strings,
# WORKDIR. The layer is reproducible: sorted names, owner 0:0, mtime 0.
set -euo pipefail

die() { echo "oci-image: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: oci-image.sh NAME:TAG ROOTFS_DIR OUT.tar"
ref=$1 rootfs=$2 out=$3
[ -d "$rootfs" ] || die "rootfs '$rootfs' is not a directory"
case "$ref" in *:*) ;; *) die "'$ref' needs a :TAG";; esac
name=${ref%:*} tag=${ref##*:}
case "$name" in */*:*|*/*) ;; *) name="library/$name";; esac
first=${name%%/*}
case "$first" in *.*|*:*|localhost) full="$name:$tag";; *) full="docker.io/$name:$tag";; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

# The layer: an uncompressed tar of the rootfs (its diff_id equals its digest).
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix \
	--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
	-C "$rootfs" -cf "$work/layer.tar" .
ld=$(sha "$work/layer.tar"); ls=$(size "$work/layer.tar")
mv "$work/layer.tar" "$work/blobs/sha256/$ld"

entry=${ENTRYPOINT:-null}
cmd=${CMD:-null}
if [ "$cmd" = null ] && [ "$entry" = null ] && [ -x "$rootfs/bin/sh" ]; then cmd='["/bin/sh"]'; fi
env=${IMAGE_ENV:-'["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'}
wd=${WORKDIR:-/}

printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":%s,"Entrypoint":%s,"Cmd":%s,"WorkingDir":"%s"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"hack/oci-image.sh"}]}' \
	"$env" "$entry" "$cmd" "$wd" "$ld" > "$work/config.json"
cd_=$(sha "$work/config.json"); cs=$(size "$work/config.json")
mv "$work/config.json" "$work/blobs/sha256/$cd_"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
	"$cd_" "$cs" "$ld" "$ls" > "$work/manifest.json"
md=$(sha "$work/manifest.json"); ms=$(size "$work/manifest.json")
mv "$work/manifest.json" "$work/blobs/sha256/$md"

printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
	"$md" "$ms" "$full" "$tag" > "$work/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$work/oci-layout"

mkdir -p "$(dirname "$out")"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work" -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
echo "oci-image: $full -> $out (manifest sha256:$md, layer $ls bytes)"
