#!/usr/bin/env bash
# Per-event cost of the eBPF sched_switch program: bench/bpf_bench.sh [BUILD] [SECONDS] [REPS]
# Builds $BUILD/bpf_bench against $BUILD/libwattlet.a and runs it (root needed).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-5}
reps=${3:-3}
if [ "$(id -u)" -ne 0 ]; then echo "bpf_bench: skipped (needs root)"; exit 0; fi
if [ ! -r /sys/kernel/btf/vmlinux ]; then echo "bpf_bench: skipped (no kernel BTF)"; exit 0; fi
make -s BUILD="$build" "$build/libwattlet.a"
libs=$(make -s BUILD="$build" -pn 2>/dev/null | sed -n 's/^LDLIBS *:\{0,1\}= *//p' | tail -1)
${CC:-gcc} -O2 -g -std=c11 -D_GNU_SOURCE -I. -I"$build" -o "$build/bpf_bench" bench/bpf_bench.c \
	"$build/libwattlet.a" ${libs:--lbpf -lelf -lz -lpfm -lm -lyaml -lwebsockets -lcurl -ljansson}
"$build/bpf_bench" "$secs" "$reps"
