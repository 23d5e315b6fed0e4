# bench/lib.sh - sourced by the bench scripts that run real agents on the simulated meter
# (bench.sh, ui_bench.sh, metrics_scrape.sh), from the repository root with BUILD and
# WATTLET set.

# bench_init NAME : exits unless root (cgroups, eBPF); sets TMP (a fresh directory) and
# base (NAME's own cgroup directory, under the root the agent reads CPU time from; the
# caller makes it).
bench_init() {
	[ "$(id -u)" -eq 0 ] || { echo "$1: needs root (cgroups, eBPF)"; exit 1; }
	TMP=$(mktemp -d "/tmp/wattlet-$1.XXXXXX")
	local root
	root=$("$WATTLET" probe --listen "" 2>/dev/null | sed -n 's/^  cpu time: \([^ ]*\) .*/\1/p')
	base="$root/wattlet-$1-$$"
}

# bench_cleanup PID... : kills the processes and waits for them, then removes base's
# cgroups and TMP.
bench_cleanup() {
	for p in "$@"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -d "$base" ] && find "$base" -depth -type d -exec rmdir {} \; 2>/dev/null
	rm -rf "$TMP"
}

# start_raplsim : the simulated meter writing $TMP/powercap; sets SIM_PID and waits (5 s at
# most) for its first counter.
start_raplsim() {
	"$BUILD/raplsim" --dir "$TMP/powercap" > /dev/null 2>&1 &
	SIM_PID=$!
	for _ in $(seq 100); do [ -s "$TMP/powercap/intel-rapl:0/energy_uj" ] && break; sleep 0.05; done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
