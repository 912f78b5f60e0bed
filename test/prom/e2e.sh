#!/usr/bin/env bash
# A real Prometheus scraping ebpfmon under load, as root. `make prom-e2e` runs it; so does
# .ci/run. Prometheus is the k8s lab's (../shared/labs/k8s, `up.sh prometheus`: its network
# namespace and Prometheus, nothing of Kubernetes), scraping every second.
#
#  1. ebpfmon (the binary make built) runs in the lab netns on 127.0.0.1:9435 with every
#     bundled example; kernel.bpf_stats_enabled is 1 while it runs (restored after)
#  2. Prometheus scrapes it (PROM_EXTRA_TARGETS, job "extra") and loads
#     deploy/prometheus/rules.yml in place of the lab's demo rules
#  3. test/prom/load.py makes events at known rates (execs, syscalls, getaddrinfo, TCP
#     connects on 127.0.0.1 and SYNs to a full listener, write + fsync, DNS queries, gc,
#     SIGTERM exits, page faults) in a fake pod cgroup (kubepods/besteffort/pod<uid>/<id>:
#     the pod decoders, with no API, give the uid and id), and one OOM kill there
#  4. through the HTTP API, at one instant: up is 1, no scrape errors, every example this
#     kernel runs is loaded with every program attached, rate() of the example counters is
#     within [0.5, 3] times the rate generated (plus background where the kernel adds
#     some), histogram_quantile() of the example histograms is positive and below a bound
#  5. promtool check metrics is clean on a real scrape
#  6. every rule evaluates without error, every recording rule returns data, and the alerts
#     pending or firing are exactly those this run must raise (configs and programs the
#     kernel cannot run, the startup load therefore failed, no Kubernetes API)
#  7. the dashboard's queries return data (grafana-dashboard-check.sh, DASH_REQUIRE_DATA=1)
#  8. prints one query result per example
#
#   K8S_LAB=DIR                the lab (default ../shared/labs/k8s from the repository root)
#   PROM_E2E_DASHBOARD=FILE    the dashboard to check (default deploy/grafana/ebpfmon.json)
#   PROM_E2E_UNSUPPORTED="..." examples that may fail to load here (default: vfsstat
#                              unlinklat: no kprobes, fentry EPERM on the CI host)
#   PROM_E2E_LOAD=S            seconds of load (default 45; the assertions need 30)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
# shellcheck source=test/cgroups.sh
. test/cgroups.sh
K8S=${K8S_LAB:-$ROOT/../shared/labs/k8s}
X=$K8S/exec.sh
# The lab scripts find test/labshim/ip first (its header says why).
export PATH="$ROOT/test/labshim:$PATH"
PROM=http://127.0.0.1:${PROM_PORT:-19090}
LAB_RULES=${LAB_STATE:-/var/lib/ebpfmon-labs/k8s}/prometheus/rules.yml
PORT=9435
TARGET=127.0.0.1:$PORT
DASH=${PROM_E2E_DASHBOARD:-deploy/grafana/ebpfmon.json}
UNSUPPORTED=${PROM_E2E_UNSUPPORTED:-vfsstat unlinklat}
LOAD=${PROM_E2E_LOAD:-45}
W=20s # the rate window
# The fake pod: a pod UID and a container id as the kubelet names their cgroups.
POD_UID=e2e0f00d-0000-4000-8000-00000000e2e0
CID=$(printf 'e2e0%.0s' {1..16})
T0=$SECONDS
FAILS=0

say() { printf '[prom-e2e %s +%ss] %s\n' "$(date -u +%T)" $((SECONDS - T0)) "$*" >&2; }
fail() {
	say "FAIL: $*"
	exit 1
}
# check WHAT: a failed assertion that lets the run go on to report the others.
check_fail() {
	say "FAIL: $*"
	FAILS=$((FAILS + 1))
}
trap 'rc=$?; say "FAIL: line $LINENO: \"$BASH_COMMAND\" exited $rc"; exit $rc' ERR

# ---- helpers ---------------------------------------------------------------------------------
lcurl() { timeout 20 "$X" curl -fsS --noproxy '*' --max-time 15 "$@"; }
# q EXPR: the instant query's JSON, at TQ when set.
q() { lcurl "$PROM/api/v1/query" --data-urlencode "query=$1" ${TQ:+--data-urlencode "time=$TQ"}; }
# v EXPR: the value of the query's first sample ("" when none).
v() { q "$1" | jq -r '.data.result[0].value[1] // ""'; }
# within WHAT EXPR LO HI: LO <= value <= HI (an empty bound is none; LO "0+" means > 0).
within() {
	local what=$1 expr=$2 lo=$3 hi=$4 val
	val=$(v "$expr") || val=""
	if [ -z "$val" ] || [ "$val" = NaN ]; then
		check_fail "$what: no value ($expr)"
		return
	fi
	if awk -v x="$val" -v lo="$lo" -v hi="$hi" 'BEGIN {
		if (lo == "0+") { if (!(x > 0)) exit 1 } else if (lo != "" && x < lo + 0) exit 1
		if (hi != "" && x > hi + 0) exit 1 }'; then
		printf '  ok   %-34s %12.6g  in [%s, %s]  %s\n' "$what" "$val" "${lo:--}" "${hi:--}" "$expr" >&2
	else
		check_fail "$what: $val not in [${lo:--}, ${hi:--}]: $expr"
	fi
}
# wait_for WHAT SECONDS CMD...
wait_for() {
	local what=$1 n=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 1
	done
	fail "$what: not within ${n}s"
}
has_data() { q "$1" | jq -e '.data.result | length > 0' >/dev/null; }
# lab_up: up.sh prometheus, scraping TARGET too (job "extra"), tried up to 3 times with the
# lab purged in between. The target is given here, before ebpfmon runs, so that the lab is
# started once (prometheus.sh start on a running lab would reconfigure it).
lab_up() {
	local i
	for ((i = 1; ; i++)); do
		PROM_EXTRA_TARGETS=$TARGET timeout 900 "$K8S/up.sh" prometheus >"$TMPD/lab.log" 2>&1 && return 0
		tail -3 "$TMPD/lab.log" >&2
		((i < 3)) || fail "up.sh prometheus failed $i times"
		say "up.sh prometheus failed (try $i of 3); down.sh --purge and again"
		timeout 300 "$K8S/down.sh" --purge >/dev/null 2>&1 || true
	done
}

EBPFMON_PID=
LOAD_PID=
STATS0=
cleanup() {
	local rc=$? i
	trap - ERR
	if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null || true; fi
	if [ -n "$EBPFMON_PID" ]; then
		if ((rc != 0)) && [ -f "${TMPD:-}/ebpfmon.log" ]; then
			say "ebpfmon's log (tail):"
			tail -20 "$TMPD/ebpfmon.log" >&2
		fi
		kill -TERM "$EBPFMON_PID" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do kill -0 "$EBPFMON_PID" 2>/dev/null || break; sleep 0.1; done
	fi
	[ -z "$STATS0" ] || echo "$STATS0" >/proc/sys/kernel/bpf_stats_enabled
	rmcgs
	say "down.sh --purge"
	timeout 300 "$K8S/down.sh" --purge >/dev/null 2>&1 || say "down.sh --purge failed (exit $?)"
	[ -z "${TMPD:-}" ] || rm -rf -- "$TMPD"
	say "total $((SECONDS - T0))s, exit status $rc"
	exit "$rc"
}

# ---- 0. preflight ----------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || fail "run as root (BPF programs load; the lab makes a network namespace)"
for tool in jq promtool timeout awk ip findmnt /usr/bin/python3; do
	command -v "$tool" >/dev/null || fail "$tool not found: run make setup"
done
[ -x "$X" ] || fail "no k8s lab at $K8S (set K8S_LAB)"
[ -x ./ebpfmon ] && [ -f examples/exec.bpf.o ] || fail "no ./ebpfmon or examples/*.bpf.o: run make (make prom-e2e does)"
[ -f "$DASH" ] || fail "no dashboard $DASH (make dashboard writes deploy/grafana/ebpfmon.json; PROM_E2E_DASHBOARD names another)"
if ip netns list 2>/dev/null | grep -w k8slab >/dev/null; then
	fail "a k8s lab is already up on this machine (netns k8slab): only one may run; bring it down with $K8S/down.sh --purge"
fi
CG2=$(findmnt -t cgroup2 -n -o TARGET | head -1)
[ -n "$CG2" ] || fail "no cgroup2 mount"
TMPD=$(mktemp -d /var/tmp/ebpfmon-prom-e2e.XXXXXX) # on a disk: fsync makes block I/O
chmod 755 "$TMPD"
trap cleanup EXIT

# ---- 1. the lab's Prometheus, ebpfmon --------------------------------------------------------
say "up.sh prometheus"
lab_up
# Prometheus only: no API server in this lab run.
if lcurl -k https://127.0.0.1:16443/readyz >/dev/null 2>&1; then fail "up.sh prometheus started an API server"; fi

STATS0=$(cat /proc/sys/kernel/bpf_stats_enabled)
echo 1 >/proc/sys/kernel/bpf_stats_enabled
# A clean environment: no KUBECONFIG (exec.sh sets the lab's), Debian's python3 first on
# PATH (the usdt example attaches to the python3 that PATH names).
"$X" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin ./ebpfmon --config.dir=examples \
	--web.listen-address="$TARGET" >"$TMPD/ebpfmon.log" 2>&1 &
EBPFMON_PID=$!
wait_for "ebpfmon /-/ready" 120 lcurl "http://$TARGET/-/ready"
[ "$(cat "/proc/$EBPFMON_PID/comm")" = ebpfmon ] || fail "process $EBPFMON_PID is $(cat "/proc/$EBPFMON_PID/comm"), not ebpfmon"
say "ebpfmon ready (pid $EBPFMON_PID)"

cp -- deploy/prometheus/rules.yml "$LAB_RULES"
lcurl -X POST "$PROM/-/reload" >/dev/null
wait_for "Prometheus reloaded with deploy/prometheus/rules.yml" 30 \
	has_data 'prometheus_config_last_reload_successful == 1'
wait_for "target $TARGET up" 60 has_data "up{job=\"extra\",instance=\"$TARGET\"} == 1"
lcurl "$PROM/api/v1/rules" | jq -e '[.data.groups[].name] | index("ebpfmon-health") and index("ebpfmon-examples")' >/dev/null ||
	fail "Prometheus has not loaded the rule groups of deploy/prometheus/rules.yml"
say "Prometheus scrapes $TARGET and has the rules"

# ---- 2. load ---------------------------------------------------------------------------------
POD_CG=$CG2/kubepods/besteffort/pod$POD_UID/$CID
mkcg "$POD_CG"
# One OOM kill in the pod: a 32 MiB limit (the v1 memory controller on a hybrid host, else
# the v2 one) and tail buffering /dev/zero's endless line.
if [ -d /sys/fs/cgroup/memory ] && [ "$CG2" != /sys/fs/cgroup ]; then
	MEMCG=/sys/fs/cgroup/memory/ebpfmon-prom-e2e
	mkcg "$MEMCG"
	echo 32M >"$MEMCG/memory.limit_in_bytes"
else
	MEMCG=$POD_CG
	echo 32M >"$MEMCG/memory.max" || fail "cannot limit memory in $POD_CG: enable the memory controller down to it"
fi
# (Its status through a file: the subshell keeps bash's report of the kill quiet.)
(
	timeout 60 sh -c 'echo $$ >"$1/cgroup.procs" && echo $$ >"$2/cgroup.procs" && exec tail /dev/zero' sh "$POD_CG" "$MEMCG"
	echo $? >"$TMPD/oom.rc"
) 2>/dev/null || true
[ "$(cat "$TMPD/oom.rc")" = 137 ] || fail "tail /dev/zero in a 32 MiB cgroup exited $(cat "$TMPD/oom.rc"), not killed (137)"
say "OOM kill done in $POD_CG"

"$X" sh -c 'echo $$ >"$1/cgroup.procs" && exec /usr/bin/python3 "$2" "$3" "$4"' sh \
	"$POD_CG" test/prom/load.py "$LOAD" "$TMPD" >"$TMPD/load.log" 2>&1 &
LOAD_PID=$!
wait_for "load.py ready" 30 test -f "$TMPD/ready"
LOAD_T0=$(date +%s)
say "load for ${LOAD}s (test/prom/load.py; TCP server on 127.0.0.1:$(cat "$TMPD/ready"))"
# Rates at one instant, 30 s in: the 20 s windows hold load only.
sleep 30
TQ=$(date +%s)
kill -0 "$LOAD_PID" || {
	cat "$TMPD/load.log" >&2
	fail "load.py ended early"
}

# ---- 3. target health, configs, programs -----------------------------------------------------
say "target health"
within "up" "min_over_time(up{job=\"extra\"}[30s])" 1 1
within "samples scraped" "min_over_time(scrape_samples_scraped{job=\"extra\"}[30s])" 100 ""
within "scrape errors (Prometheus)" "sum(increase(prometheus_target_scrapes_sample_duplicate_timestamp_total[1m]))
 + sum(increase(prometheus_target_scrapes_sample_out_of_order_total[1m]))
 + sum(increase(prometheus_target_scrapes_sample_out_of_bounds_total[1m]))
 + sum(increase(prometheus_target_scrapes_exceeded_sample_limit_total[1m]))
 + sum(increase(prometheus_target_scrapes_exceeded_body_size_limit_total[1m]))" 0 0
TGT=$(lcurl "$PROM/api/v1/targets" | jq -c --arg t "$TARGET" '.data.activeTargets[] | select(.labels.instance == $t)')
[ "$(jq -r .health <<<"$TGT")" = up ] && [ "$(jq -r .lastError <<<"$TGT")" = "" ] ||
	check_fail "target $TARGET: health $(jq -r .health <<<"$TGT"), lastError '$(jq -r .lastError <<<"$TGT")'"

ALL=$(ls examples/*.yaml | xargs -n1 basename | sed 's/\.yaml$//' | sort)
LOADED=$(q 'ebpfmon_config_loaded == 1' | jq -r '.data.result[].metric.config' | sort)
NOT_LOADED=$(comm -23 <(echo "$ALL") <(echo "$LOADED"))
for c in $NOT_LOADED; do
	grep -qw -- "$c" <<<"$UNSUPPORTED" || check_fail "example $c did not load (PROM_E2E_UNSUPPORTED: $UNSUPPORTED); ebpfmon's log: $(grep -m1 "$c" "$TMPD/ebpfmon.log")"
done
# Programs not attached outside the configs this kernel may not run (vfsstat loads here,
# but its kprobes cannot attach).
UNSUP_RE=$(tr ' ' '|' <<<"$UNSUPPORTED")
within "programs not attached" "count(ebpfmon_ebpf_program_attached{config!~\"$UNSUP_RE\"} == 0) or vector(0)" 0 0
NOT_ATTACHED=$(q 'ebpfmon_ebpf_program_attached == 0' | jq -r '.data.result[].metric | "\(.config)/\(.program)"' | sort)
within "programs attached" 'count(ebpfmon_ebpf_program_attached == 1)' 20 ""
within "configs scraped with errors" 'count(ebpfmon_scrape_success == 0) or vector(0)' 0 0
within "decoder errors" 'sum(ebpfmon_decoder_errors_total) or vector(0)' 0 0
within "events lost" 'sum(ebpfmon_events_lost_total) or vector(0)' 0 0
within "BPF run time per event (s)" 'max(instance:ebpfmon_ebpf_program_run_time_seconds:per_run_rate5m)' 0+ 0.001
say "$(wc -w <<<"$LOADED") of $(wc -w <<<"$ALL") examples loaded; not: $(echo $NOT_LOADED); programs not attached: $(echo $NOT_ATTACHED)"

# ---- 4. rates and quantiles ------------------------------------------------------------------
# The rates load.py generates (its RATES); N in [0.5, 3] x N, with room for background where
# the kernel or the machine adds events of the same kind.
say "rates ([$W] at $(date -u -d "@$TQ" +%T)) and quantiles"
r() { printf 'sum(rate(%s[%s]))' "$1" "$W"; }
# p Q HISTOGRAM [MATCHERS]: the Q quantile of the histogram over the window.
p() { printf 'histogram_quantile(%s, sum by (le) (rate(%s_bucket{%s}[%s])))' "$1" "$2" "${3:-}" "$W"; }
POD="pod=\"$POD_UID\""
within "exec: execs of true" "$(r 'ebpfmon_execs_total{comm="true"}')" 10 60
within "procevents: exec events of true" "$(r 'ebpfmon_exec_events_total{comm="true"}')" 10 60
within "procevents: SIGTERM exits" "$(r 'ebpfmon_signal_exits_total{signal="SIGTERM"}')" 1 6
within "podexec: execs in the pod" "$(r "ebpfmon_pod_execs_total{$POD}")" 11 66 # true + sleep
within "syscalls: getpriority" "$(r 'ebpfmon_syscalls_total{syscall="getpriority"}')" 300 1800
within "syscalls: getpriority ESRCH" "$(r 'ebpfmon_syscall_errors_total{syscall="getpriority",errno="ESRCH"}')" 50 300
within "getaddrinfo: calls" "$(r 'ebpfmon_getaddrinfo_calls_total')" 35 210 # + 1 per connect
within "usdt: python gc, generation 2" "$(r 'ebpfmon_python_gc_collections_total{generation="2"}')" 5 30
within "xdp: DNS queries" "$(r 'ebpfmon_dns_queries_total{qname=~"ebpfmon-e2e[.]example[.]org[.]?"}')" 5 30
within "xdp: packets on lo" "$(r 'ebpfmon_xdp_packets_total{interface="lo"}')" 50 ""   # ~8 per connect
within "kfree_skb: drops" "$(r 'ebpfmon_kfree_skb_total')" 5 ""                       # the DNS queries at least
within "tcpstates: established (both ends)" "$(r 'ebpfmon_tcp_established_total{peer="127.0.0.1"}')" 20 120
within "tcpstates: transitions" "$(r 'ebpfmon_tcp_state_transitions_total')" 50 ""
within "podtcp: connects from the pod" "$(r "ebpfmon_pod_tcp_connects_total{$POD}")" 10 60
within "podtcp: SYN retransmits from the pod" "$(r "ebpfmon_pod_tcp_retransmits_total{$POD}")" 0.5 6
within "podnet: bytes sent by the pod" "$(r "ebpfmon_pod_network_transmit_bytes_total{$POD}")" 40960 ""
within "timers: timers armed" "$(r 'ebpfmon_timer_starts_total')" 0+ ""
within "softirqs" "$(r 'ebpfmon_softirqs_total')" 0+ ""
within "cpuclock: samples (99 Hz per CPU)" "$(r 'ebpfmon_cpu_samples_total')" 0+ $((3 * 99 * $(nproc)))
# 33 MiB touched page by page, 10 times a second (4 KiB pages: THP is not "always" here).
within "pagefaults: user faults" "$(r 'ebpfmon_page_faults_total{mode="user"}')" 42240 303440 # + 50k/s background
within "biolatency: writes" "$(r 'ebpfmon_bio_latency_seconds_count{operation="write"}')" 2.5 ""
within "blockpci: requests" "$(r 'ebpfmon_block_requests_by_pci_device_total')" 2.5 ""
within "oomkill: kills in the pod's cgroup" "sum(ebpfmon_oom_kills_total{cgroup=\"${POD_CG#"$CG2"}\"})" 1 1
within "podexec: OOM kills in the pod" "sum(ebpfmon_pod_oom_kills_total{$POD})" 1 1
within "biolatency p50 (s)" "$(p 0.5 ebpfmon_bio_latency_seconds 'operation="write"')" 0+ 1
within "runqlat p50 (s)" "$(p 0.5 ebpfmon_run_queue_latency_seconds)" 0+ 0.1
within "runqlat p99 (s)" "$(p 0.99 ebpfmon_run_queue_latency_seconds)" 0+ 1
within "tcpconnlat p50 (s)" "$(p 0.5 ebpfmon_tcp_connect_latency_seconds)" 0+ 0.1
within "podtcp connect latency p50 (s)" "$(p 0.5 ebpfmon_pod_tcp_connect_latency_seconds "$POD")" 0+ 0.1
within "getaddrinfo latency p50 (s)" "$(p 0.5 ebpfmon_getaddrinfo_latency_seconds)" 0+ 0.1
within "softirq duration p50 (s)" "$(p 0.5 ebpfmon_softirq_duration_seconds)" 0+ 0.01
within "bio size p50 (bytes)" "$(p 0.5 ebpfmon_bio_size_bytes 'operation="write"')" 0+ ""

# ---- 5. promtool check metrics on a real scrape ----------------------------------------------
lcurl "http://$TARGET/metrics" >"$TMPD/scrape.txt"
# No exceptions: every line promtool prints is a problem.
if ! promtool check metrics <"$TMPD/scrape.txt" >"$TMPD/promtool.log" 2>&1; then
	check_fail "promtool check metrics on a scrape of $(grep -vc '^#' "$TMPD/scrape.txt") samples: $(head -20 "$TMPD/promtool.log")"
else
	say "promtool check metrics: clean ($(grep -vc '^#' "$TMPD/scrape.txt") samples, $(grep -c '^# TYPE' "$TMPD/scrape.txt") families)"
fi

# ---- 6. rules --------------------------------------------------------------------------------
say "rules"
RULES=$(lcurl "$PROM/api/v1/rules")
BAD=$(jq -r '.data.groups[] | select(.name | startswith("ebpfmon-")) | .rules[] | select(.health != "ok") | "\(.name // .alert): \(.health) \(.lastError)"' <<<"$RULES")
[ -z "$BAD" ] || check_fail "rules evaluated with errors: $BAD"
NRULES=$(jq '[.data.groups[] | select(.name | startswith("ebpfmon-")) | .rules[]] | length' <<<"$RULES")
[ "$NRULES" = "$(grep -cE '^ *- (alert|record):' deploy/prometheus/rules.yml)" ] || check_fail "Prometheus has $NRULES of the rules"
TQ1=$TQ
unset TQ # recording rules and alerts: now
for rec in $(jq -r '.data.groups[] | select(.name == "ebpfmon-examples") | .rules[].name' <<<"$RULES" | sort -u); do
	n=$(q "$rec" | jq '.data.result | length')
	if [ "$n" -gt 0 ]; then printf '  ok   %-80s %s series\n' "$rec" "$n" >&2; else check_fail "recording rule $rec: no data"; fi
done
# The alerts this run must raise, pending (each has a for: longer than the run): the
# configs this kernel cannot run, the reload (the startup load) that therefore failed,
# no Kubernetes API for the pod decoders (no API server in this lab run). No other.
WANT=$(
	for c in $NOT_LOADED; do echo "EbpfmonConfigNotLoaded config=$c"; done
	for c in $NOT_ATTACHED; do echo "EbpfmonProgramNotAttached config=${c%%/*} program=${c#*/}"; done
	[ -z "$NOT_LOADED" ] || echo "EbpfmonReloadFailed config="
	echo "EbpfmonKubeAPIUnavailable config="
)
GOT=$(lcurl "$PROM/api/v1/alerts" | jq -r '.data.alerts[] | select(.labels.alertname | startswith("Ebpfmon")) | "\(.labels.alertname) config=\(.labels.config // "")\(if .labels.program then " program=\(.labels.program)" else "" end)"')
if [ "$(sort <<<"$WANT")" = "$(sort <<<"$GOT")" ]; then
	say "alerts pending: $(echo "$GOT" | paste -sd, - | sed 's/,/, /g')"
else
	check_fail "alerts: want $(sort <<<"$WANT" | paste -sd, -), got $(sort <<<"$GOT" | paste -sd, -)"
fi

# ---- 7. the dashboard's queries --------------------------------------------------------------
say "dashboard $DASH"
if DASH_REQUIRE_DATA=1 timeout 300 "$K8S/grafana-dashboard-check.sh" "$DASH" "$PROM" >"$TMPD/dash.log" 2>&1; then
	say "dashboard: $(grep -c '^ok ' "$TMPD/dash.log") queries return data"
else
	grep -E '^(FAIL|note)' "$TMPD/dash.log" >&2 || tail -5 "$TMPD/dash.log" >&2
	check_fail "grafana-dashboard-check.sh $DASH: $(grep -c '^FAIL' "$TMPD/dash.log") problems"
fi

# ---- 8. one query result per example ---------------------------------------------------------
TQ=$TQ1
say "one query per example, from Prometheus, at $(date -u -d "@$TQ" +%T) (under load)"
rendered() { # CONFIG EXPR
	local out
	out=$(q "$2" | jq -r '.data.result[0] | if . == null then "(no data)" else "\(.metric | to_entries | map("\(.key)=\"\(.value)\"") | join(",") | "{\(.)}") \(.value[1])" end')
	printf '%-11s %s\n    => %s\n' "$1" "$2" "$out"
}
while IFS='|' read -r c e; do
	grep -qx -- "$c" <<<"$LOADED" || { printf '%-11s (not loaded on this kernel)\n' "$c"; continue; }
	grep -q "^$c/" <<<"$NOT_ATTACHED" && { printf '%-11s (loaded, its programs not attached on this kernel)\n' "$c"; continue; }
	rendered "$c" "$e"
done <<EOF2
biolatency|histogram_quantile(0.5, sum by (device, operation, le) (rate(ebpfmon_bio_latency_seconds_bucket{operation="write"}[30s])))
blockpci|sum by (vendor, device) (rate(ebpfmon_block_requests_by_pci_device_total[30s]))
cpuclock|topk(1, sum by (mode) (rate(ebpfmon_cpu_samples_total[30s])))
exec|sum by (comm) (rate(ebpfmon_execs_total{comm="true"}[30s]))
getaddrinfo|histogram_quantile(0.5, sum by (result, le) (rate(ebpfmon_getaddrinfo_latency_seconds_bucket[30s])))
kfree_skb|topk(1, sum by (reason, protocol) (rate(ebpfmon_kfree_skb_total[30s])))
oomkill|sum by (cgroup) (ebpfmon_oom_kills_total{cgroup="${POD_CG#"$CG2"}"})
pagefaults|sum by (mode) (rate(ebpfmon_page_faults_total{mode="user"}[30s]))
podexec|sum by (namespace, pod, container) (rate(ebpfmon_pod_execs_total{pod="$POD_UID"}[30s]))
podnet|sum by (pod, peer) (rate(ebpfmon_pod_network_transmit_bytes_total{pod="$POD_UID"}[30s]))
podtcp|histogram_quantile(0.99, sum by (pod, le) (rate(ebpfmon_pod_tcp_connect_latency_seconds_bucket{pod="$POD_UID"}[30s])))
procevents|sum by (signal) (rate(ebpfmon_signal_exits_total{signal="SIGTERM"}[30s]))
runqlat|histogram_quantile(0.99, sum by (le) (rate(ebpfmon_run_queue_latency_seconds_bucket[30s])))
softirqs|histogram_quantile(0.5, sum by (vector, le) (rate(ebpfmon_softirq_duration_seconds_bucket{vector="net_rx"}[30s])))
syscalls|sum by (syscall, errno) (rate(ebpfmon_syscall_errors_total{syscall="getpriority"}[30s]))
tcpconnlat|histogram_quantile(0.5, sum by (family, le) (rate(ebpfmon_tcp_connect_latency_seconds_bucket[30s])))
tcpstates|sum by (direction) (rate(ebpfmon_tcp_established_total{peer="127.0.0.1",direction="passive"}[30s]))
timers|topk(1, sum by (function) (rate(ebpfmon_timer_starts_total{function=~"tcp_.*"}[30s])))
unlinklat|sum(rate(ebpfmon_unlink_latency_seconds_count[30s]))
usdt|sum by (generation) (rate(ebpfmon_python_gc_collections_total{generation="2"}[30s]))
vfsstat|sum(rate(ebpfmon_vfs_calls_total[30s]))
xdp|sum by (qname) (rate(ebpfmon_dns_queries_total[30s]))
EOF2

wait "$LOAD_PID" || check_fail "load.py failed: $(tail -3 "$TMPD/load.log")"
LOAD_PID=
say "load.py: $(tr '\n' ' ' <"$TMPD/done")"
((FAILS == 0)) || fail "$FAILS checks failed"
say "PASS"
