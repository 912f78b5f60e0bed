#!/usr/bin/env bash
# The soak test, as root: `make soak` runs it (SOAK_DURATION=30m by default; CI gives 3m).
#
#  1. picks the examples this kernel runs: every one but those in SOAK_UNSUPPORTED that
#     --config.check --config.strict refuses here (one listed there that loads after all is
#     soaked too; one not listed there must load: ebpfmon runs with --config.strict)
#  2. runs ./ebpfmon (the binary make built) on a copy of them, in a network namespace of its
#     own (xdp/lo is that namespace's lo: the host's single XDP slot on lo stays free for the
#     tests of others), with --web.enable-lifecycle and --debug (on a failure, /maps says what
#     the maps held)
#  3. test/prom/load.py (the load of `make prom-e2e`: execs, syscalls, getaddrinfo, TCP
#     connects and SYN retransmits, fsync, DNS queries, gc, SIGTERM exits, page faults) runs
#     for the whole soak in that namespace and in a fake pod's container cgroup (the pod
#     decoders), and an OOM kill happens there every minute (oomkill, podexec)
#  4. test/soak (the Go command beside this script) scrapes /metrics 10 times a second as
#     Prometheus does, with and without gzip; every minute it rewrites a constant of podnet's
#     YAML (sample_every 1 <-> 2) and reloads, by SIGHUP, POST /-/reload and the directory
#     watch in turn, and waits until podnet's new programs are served; it prints ebpfmon's
#     figures (/proc/PID: VmRSS, VmHWM, fds, threads; its go_goroutines, process_open_fds)
#     at the start, every minute and at the end, and fails on: any HTTP error or non-200, a
#     body that does not parse, a metric family present after the warm-up and missing later
#     (named with its example; podnet's may be missing for 30 s after its reload: new maps), a
#     reload that fails (ebpfmon_config_last_reload_successful 0, reloads_total{result=
#     "failure"} growing, POST /-/reload not 200) or does not reopen podnet within 30 s, a
#     config not loaded or not read, RSS, fd or goroutine growth beyond the bounds below,
#     ebpfmon or the load generator dying
#  5. stops ebpfmon with SIGTERM: it must exit 0 within 30 s
#
# Bounded: the whole run is killed SOAK_DURATION + 10 min after it starts, and cleans up
# (ebpfmon, the load, the network namespace, the cgroups, its files) however it ends.
#
#   SOAK_DURATION=D      30m by default: N, Ns, Nm or Nh (at least 3m: a warm-up and two windows)
#   SOAK_UNSUPPORTED="…" examples that may fail to load here (default: vfsstat unlinklat, as
#                        for prom-e2e: no kprobes, fentry EPERM on the CI host)
#   SOAK_RELOAD_VALUES=A,B  the values podnet's sample_every takes in turn (default 1,2); one
#                        podnet refuses, such as 1,x, makes the first reload fail: the soak must
#                        fail there (how to check that it catches a failed reload)
#   EBPFMON=PATH         the binary to soak (default ./ebpfmon)
#   SOAK_KEEP=1          keep the run's directory (ebpfmon's log, the load's) when it fails
#   EBPFMON_REQUIRE_PRIVILEGED=1  without root: fail instead of skipping
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=test/cgroups.sh
. test/cgroups.sh
GO=${GO:-go}
EBPFMON=${EBPFMON:-./ebpfmon}
DURATION=${SOAK_DURATION:-30m}
UNSUPPORTED=${SOAK_UNSUPPORTED:-vfsstat unlinklat}
PORT=9435
NETNS=ebpfmon-soak-$$
# The fake pod: a pod UID and a container id as the kubelet names their cgroups, this run's own
# (prom-e2e or another soak may run at the same time).
POD_UID=50a50a50-0000-4000-8000-$(printf '%012x' $$)
CID=$(printf '50a0%.0s' {1..16})
OOM_CID=$(printf '50a1%.0s' {1..16})
T0=$SECONDS

# ---- the bounds --------------------------------------------------------------------------------
# Growth from the first minute after the warm-up to the last minute of the run, lowest reading
# to lowest reading (one a second, the seconds of a reload and 5 s after left out): the lowest
# is where the garbage collector, the scrapes in flight and a reload's old version have let go,
# so a leak raises it and a peak does not. Measured here (2 CPUs shared with other builds and
# tests; see the README's Soak paragraph for the runs):
#
# RSS: in four 3-minute runs the lowest RSS moved +0.5 to +7.2 MiB (56 to 92 MiB read at the
# minute marks, VmHWM up to 163 MiB); over 30 minutes +9.3 MiB (58 to 99 MiB at
# the minute marks, VmHWM 107 MiB; 14,829 scrapes, 30 reloads). It swings with the samples
# per scrape (2,200 to 7,500, 21,000 with two soaks at once: kernel stacks, ports), the garbage
# collector's pacing and the 4 scrapes in flight. 24 MiB is 2.5 times the largest growth
# measured, and a leak of 4 KiB per scrape (39 MiB over the 9,900 scrapes of a 30-minute soak at
# 5.5/s) or 1 MiB per reload (29 MiB) crosses it; in a 3-minute run only a larger leak does.
MAX_RSS_GROWTH_MIB=${SOAK_MAX_RSS_GROWTH_MIB:-24}
# fds: between reloads ebpfmon holds a fixed set (maps, programs, links, perf and ring buffers,
# the listener, inotify, the scrape connections); measured +0 or +1 (a connection of the soak's
# opened after the first minute: its scrapes in flight vary from 1 to 4, the reloads add one).
# A build leaking one fd in 20 scrapes gave +35 in 3 minutes; 8 leaves room for the soak's own
# connections (4 + 1) and catches one fd leaked per reload in 10 minutes.
MAX_FD_GROWTH=${SOAK_MAX_FD_GROWTH:-8}
# goroutines: a fixed set between reloads (the server, the watch, perf and ring buffer readers,
# one per open connection); measured +0 to +2, from the same connections. 8 as for fds.
MAX_GOROUTINE_GROWTH=${SOAK_MAX_GOROUTINE_GROWTH:-8}

say() { printf '[soak %s +%ss] %s\n' "$(date -u +%T)" $((SECONDS - T0)) "$*" >&2; }
fail() {
	say "FAIL: $*"
	exit 1
}
trap 'rc=$?; say "FAIL: line $LINENO: \"$BASH_COMMAND\" exited $rc"; exit $rc' ERR

# seconds_of D: D (N, Ns, Nm, Nh) in seconds.
seconds_of() {
	[[ $1 =~ ^([0-9]+)([smh]?)$ ]] || return 1
	local n=${BASH_REMATCH[1]}
	case ${BASH_REMATCH[2]} in
	m) n=$((n * 60)) ;;
	h) n=$((n * 3600)) ;;
	esac
	echo "$n"
}
# in_ns CMD...: CMD in the soak's network namespace (only the network namespace changes).
in_ns() { nsenter --net="/run/netns/$NETNS" -- "$@"; }
ncurl() { in_ns curl -fsS --noproxy '*' --max-time 10 "$@"; }
# wait_for WHAT SECONDS CMD...
wait_for() {
	local what=$1 n=$2 i
	shift 2
	for ((i = 0; i < n * 4; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	fail "$what: not within ${n}s"
}
# alive PID: the process exists and is not a zombie.
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) } # the state, after the command name in parentheses
	[ "${st:0:1}" != Z ]
}

# ---- 0. preflight ------------------------------------------------------------------------------
SECS=$(seconds_of "$DURATION") || fail "SOAK_DURATION=$DURATION: want N, Ns, Nm or Nh, such as 3m"
((SECS >= 180)) || fail "SOAK_DURATION=$DURATION: at least 3m (a 20 s warm-up and two 1-minute windows)"
if [ "$(id -u)" != 0 ]; then
	[ "${EBPFMON_REQUIRE_PRIVILEGED:-}" != 1 ] || fail "run as root (EBPFMON_REQUIRE_PRIVILEGED=1: no skip): BPF programs load, a network namespace is made"
	say "SKIP: needs root (BPF programs load, a network namespace is made)"
	exit 0
fi
for tool in "$GO" ip nsenter curl jq findmnt timeout awk /usr/bin/python3; do
	command -v "$tool" >/dev/null || fail "$tool not found: run make setup"
done
[ -x "$EBPFMON" ] && [ -f examples/exec.bpf.o ] || fail "no $EBPFMON or examples/*.bpf.o: run make (make soak does)"
CG2=$(findmnt -t cgroup2 -n -o TARGET | head -1)
[ -n "$CG2" ] || fail "no cgroup2 mount"

TMPD=$(mktemp -d /var/tmp/ebpfmon-soak.XXXXXX) # on a disk: load.py's fsync makes block I/O
chmod 755 "$TMPD"
EBPFMON_PID= LOAD_PID= OOM_PID= SOAK_PID= WATCHDOG_PID= NETNS_MADE= MEMCG=
# stop PID: SIGTERM, then SIGKILL after 10 s; reaped.
stop() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do alive "$1" || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
# diagnose: on a failure, while ebpfmon runs, what its maps hold (/maps, --debug): per map its
# entries and those not exported, with why (a map with entries but no series is a decoding
# matter, an empty one a hook or load matter), and the load generator's state.
diagnose() {
	[ -n "$EBPFMON_PID" ] && alive "$EBPFMON_PID" || return 0
	ncurl "http://127.0.0.1:$PORT/maps" >"$TMPD/maps.json" 2>/dev/null || return 0
	say "ebpfmon's maps now (/maps): entries, not exported"
	jq -r '.[] | "  \(.config)/\(.map): \(.entries | length) entries, \([.entries[] | select(.error)] | length) not exported \([.entries[].error // empty] | unique | .[:2] | join("; "))"' \
		"$TMPD/maps.json" >&2 || true
	[ -z "$LOAD_PID" ] || say "load.py: $(grep -h State "/proc/$LOAD_PID/status" 2>/dev/null || echo gone); its log: $(tail -3 "$TMPD/load.log" 2>/dev/null | tr '\n' ' ')"
}
cleanup() {
	local rc=$? i
	trap - ERR
	((rc == 0)) || diagnose
	for p in "$SOAK_PID" "$OOM_PID" "$LOAD_PID"; do [ -z "$p" ] || stop "$p"; done
	if [ -n "$EBPFMON_PID" ]; then
		stop "$EBPFMON_PID"
	fi
	if ((rc != 0)) && [ -f "$TMPD/ebpfmon.log" ]; then
		say "ebpfmon's log (tail):"
		tail -15 "$TMPD/ebpfmon.log" >&2
	fi
	rmcgs
	[ -z "$NETNS_MADE" ] || ip netns del "$NETNS" || say "cannot delete network namespace $NETNS"
	if ((rc != 0)) && [ "${SOAK_KEEP:-}" = 1 ]; then
		say "kept $TMPD"
	else
		rm -rf -- "$TMPD"
	fi
	[ -z "$WATCHDOG_PID" ] || kill -TERM "$WATCHDOG_PID" 2>/dev/null || true
	say "total $((SECONDS - T0))s, exit status $rc"
	exit "$rc"
}
trap cleanup EXIT
trap 'say "FAIL: interrupted"; exit 130' INT
trap 'say "FAIL: terminated (the hard timeout, or a signal)"; exit 143' TERM
# The hard timeout: SIGTERM to this script (whose cleanup stops what it started).
LIMIT=$((SECS + 600))
(
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	sleep "$LIMIT" &
	s=$!
	wait "$s"
	echo "[soak] hard timeout: ${LIMIT}s" >&2
	kill -TERM $$
) &
WATCHDOG_PID=$!


# ---- 1. the examples this kernel runs ----------------------------------------------------------
say "building the soak command"
"$GO" build -o "$TMPD/soak" ./test/soak
ALL=$(ls examples/*.yaml | xargs -n1 basename | sed 's/\.yaml$//' | sort)
SKIPPED=()
for c in $UNSUPPORTED; do
	grep -qx -- "$c" <<<"$ALL" || fail "SOAK_UNSUPPORTED names $c, which is no example"
	if timeout 120 "$EBPFMON" --config.check --config.strict --config.dir=examples --config.names="$c" >"$TMPD/check-$c.log" 2>&1; then
		say "$c loads here after all (SOAK_UNSUPPORTED): soaked too"
	else
		SKIPPED+=("$c")
		say "not soaked, as this kernel cannot run it: $c: $(grep -m1 -o 'err=.*' "$TMPD/check-$c.log" | cut -c1-200)"
	fi
done
CONFIGS=$(comm -23 <(echo "$ALL") <(printf '%s\n' "${SKIPPED[@]}" | sort) | paste -sd, -)
mkdir "$TMPD/configs"
for c in ${CONFIGS//,/ }; do cp "examples/$c.yaml" "examples/$c.bpf.o" "$TMPD/configs/"; done
say "soaking $(wc -w <<<"${CONFIGS//,/ }") examples: $CONFIGS"

# ---- 2. the network namespace, the pod's cgroups, ebpfmon --------------------------------------
ip netns add "$NETNS"
NETNS_MADE=1
in_ns ip link set lo up
POD_DIR=$CG2/kubepods/besteffort/pod$POD_UID
POD_CG=$POD_DIR/$CID
mkcg "$POD_CG"
# The OOM kills: a 32 MiB limit in the v1 memory controller on a hybrid host (the killed process
# is in the pod's container cgroup of v2 too), else in a second container of the pod.
if [ -d /sys/fs/cgroup/memory ] && [ "$CG2" != /sys/fs/cgroup ]; then
	OOM_CG=$POD_CG
	MEMCG=/sys/fs/cgroup/memory/ebpfmon-soak-$$
	mkcg "$MEMCG"
	echo 32M >"$MEMCG/memory.limit_in_bytes"
else
	OOM_CG=$POD_DIR/$OOM_CID
	mkcg "$OOM_CG"
	d=$CG2
	for part in kubepods besteffort "pod$POD_UID"; do
		grep -qw memory "$d/cgroup.subtree_control" || echo +memory >"$d/cgroup.subtree_control" ||
			fail "cannot enable the memory controller in $d (for a memory limit in $OOM_CG)"
		d=$d/$part
	done
	echo 32M >"$OOM_CG/memory.max" || fail "cannot limit memory in $OOM_CG"
fi
# oom_kill: one process killed in OOM_CG (tail buffers /dev/zero's endless line); its status.
oom_kill() {
	(timeout 60 sh -c 'echo $$ >"$1/cgroup.procs" && { [ -z "$2" ] || echo $$ >"$2/cgroup.procs"; } && exec tail /dev/zero' \
		sh "$OOM_CG" "$MEMCG" 2>/dev/null) 2>/dev/null && echo 0 || echo $?
}

say "starting ebpfmon in network namespace $NETNS"
# A clean environment: no KUBECONFIG (the pod decoders resolve from cgroup paths alone), Debian's
# python3 first on PATH (the usdt example attaches to the python3 that PATH names).
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin nsenter --net="/run/netns/$NETNS" -- "$EBPFMON" \
	--config.dir="$TMPD/configs" --config.strict --web.enable-lifecycle --debug \
	--web.listen-address="127.0.0.1:$PORT" >"$TMPD/ebpfmon.log" 2>&1 &
EBPFMON_PID=$!
for ((i = 0; i < 480; i++)); do
	ncurl "http://127.0.0.1:$PORT/-/ready" >/dev/null 2>&1 && break
	alive "$EBPFMON_PID" || fail "ebpfmon exited at startup (--config.strict: an example that should load here did not; if this kernel cannot run it, add it to SOAK_UNSUPPORTED): $(grep -m1 -E 'level=(ERROR|WARN)' "$TMPD/ebpfmon.log")"
	sleep 0.25
done
ncurl "http://127.0.0.1:$PORT/-/ready" >/dev/null || fail "ebpfmon not ready within 120s"
[ "$(cat "/proc/$EBPFMON_PID/comm")" = ebpfmon ] || fail "process $EBPFMON_PID is $(cat "/proc/$EBPFMON_PID/comm"), not ebpfmon"
NOT_ATTACHED=$(ncurl "http://127.0.0.1:$PORT/metrics" | awk '/^ebpfmon_ebpf_program_attached\{/ && $NF != 1 {print $1}')
[ -z "$NOT_ATTACHED" ] || fail "programs not attached: $NOT_ATTACHED"
say "ebpfmon ready (pid $EBPFMON_PID), every program attached"

# ---- 3. load -----------------------------------------------------------------------------------
rc=$(oom_kill)
[ "$rc" = 137 ] || fail "tail /dev/zero in a 32 MiB cgroup exited $rc, not killed (137)"
mkdir "$TMPD/load"
nsenter --net="/run/netns/$NETNS" -- sh -c 'echo $$ >"$1/cgroup.procs" && exec /usr/bin/python3 "$2" "$3" "$4"' sh \
	"$POD_CG" test/prom/load.py $((SECS + 120)) "$TMPD/load" >"$TMPD/load.log" 2>&1 &
LOAD_PID=$!
wait_for "load.py ready" 30 test -f "$TMPD/load/ready"
(
	s=
	trap 'kill "$s" 2>/dev/null; exit 0' TERM
	while :; do
		sleep 60 &
		s=$!
		wait "$s"
		echo "OOM kill: exit status $(oom_kill)" >>"$TMPD/oom.log"
	done
) &
OOM_PID=$!
say "load: test/prom/load.py (pid $LOAD_PID) in $POD_CG, an OOM kill a minute"

# ---- 4. the soak -------------------------------------------------------------------------------
nsenter --net="/run/netns/$NETNS" -- "$TMPD/soak" -pid "$EBPFMON_PID" -load-pid "$LOAD_PID" -duration "${SECS}s" \
	-config-dir "$TMPD/configs" -configs "$CONFIGS" \
	-url "http://127.0.0.1:$PORT/metrics" -reload-url "http://127.0.0.1:$PORT/-/reload" \
	-max-rss-growth "$MAX_RSS_GROWTH_MIB" -max-fd-growth "$MAX_FD_GROWTH" \
	-max-goroutine-growth "$MAX_GOROUTINE_GROWTH" -reload-values "${SOAK_RELOAD_VALUES:-1,2}" &
SOAK_PID=$!
rc=0
wait "$SOAK_PID" || rc=$?
SOAK_PID=
((rc == 0)) || fail "the soak failed (exit status $rc): see above"

# ---- 5. stop -----------------------------------------------------------------------------------
OOMS=$(grep -c 'exit status 137' "$TMPD/oom.log" 2>/dev/null || true)
kill -TERM "$EBPFMON_PID"
for ((i = 0; i < 300; i++)); do alive "$EBPFMON_PID" || break; sleep 0.1; done
alive "$EBPFMON_PID" && fail "ebpfmon still running 30 s after SIGTERM"
rc=0
wait "$EBPFMON_PID" || rc=$?
EBPFMON_PID=
((rc == 0)) || fail "ebpfmon exited $rc after SIGTERM, want 0"
! grep -E 'panic|fatal error|DATA RACE' "$TMPD/ebpfmon.log" >&2 || fail "ebpfmon's log has the lines above"
say "ebpfmon stopped cleanly; $((OOMS + 1)) OOM kills; $(grep -c 'level=ERROR' "$TMPD/ebpfmon.log" || true) errors in its log"
say "PASS"
