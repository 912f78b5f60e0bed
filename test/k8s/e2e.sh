#!/usr/bin/env bash
# The Helm chart on a real single-node cluster (../shared/labs/k8s: kube-apiserver, kubelet,
# containerd + runc, Prometheus), as root. `make k8s-e2e` runs it; so does .ci/run.
#
#  1. make image; import build/ebpfmon-image.tar into the lab's containerd
#  2. helm lint --strict; deploy/kubernetes/ equals a fresh render (make manifests-check);
#     bad values are refused (make chart-check: test/k8s/chart-check.sh);
#     kubectl apply --dry-run=server of deploy/kubernetes/
#  3. without any one of the capabilities the chart adds, some default config fails to load
#  4. helm install (test/k8s/values-lab.yaml: pull policy Never, the API server's address);
#     the DaemonSet's pod gets Ready, with exactly the capabilities the chart adds
#  5. scrape it from inside the lab: every default config loaded; measure RSS and CPU idle;
#     start a load pod (test/k8s/load-pod.yaml); exec and syscall counters move; measure
#     under load; the lab's Prometheus scrapes it too
#  6. helm upgrade with a custom config (test/k8s/testdata/forks.*) and one example less in
#     config.names: its metric appears and the example is closed without a restart (same
#     pod UID, restartCount and DaemonSet generation); the other counters did not reset
#     and a second custom config (testdata/podexecs.*) whose pod decoders label the load
#     pod's execs with its namespace, pod and container, from the real API server
#  7. helm upgrade with a broken version of it and a broken new config: the running
#     versions keep serving and counting, ebpfmon_config_last_reload_successful is 0
#  8. helm uninstall: none of the pod's BPF programs is left in the kernel
# and prints the figures: image size, RSS/CPU, reload time, a scrape excerpt.
#
#   K8S_LAB=DIR        the lab (default ../shared/labs/k8s from the repository root)
#   E2E_RELOAD_WAIT=S  longest wait for a ConfigMap change to reach the pod (default 240)
#   E2E_MEASURE=S      seconds of each RSS/CPU measurement (default 30)
# Shared helpers (lab up/down, scrape, val, reload_wait, ...): test/k8s/lib.sh.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
NAME=k8s-e2e
# shellcheck source=test/k8s/lib.sh
. test/k8s/lib.sh
MEASURE=${E2E_MEASURE:-30}
DEFAULT_CONFIGS=(biolatency exec oomkill podexec podtcp runqlat syscalls tcpconnlat timers)
# The capabilities the chart adds, and the pod's CapBnd: SYSLOG (34), PERFMON (38), BPF (39).
CAPS=(BPF PERFMON SYSLOG)
WANT_CAPS=000000c400000000
trap 'rc=$?; say "FAIL: line $LINENO: \"$BASH_COMMAND\" exited $rc"; exit $rc' ERR
preflight

# ---- 1. image --------------------------------------------------------------------------------
build_image test/k8s/testdata/forks.bpf.o test/k8s/testdata/podexecs.bpf.o
lab_up

# ---- 2. chart and manifests ------------------------------------------------------------------
hm lint --strict "$CHART" >/dev/null
hm lint --strict "$CHART" -f "$VALUES" >/dev/null
make -s manifests-check HELM="timeout 120 $X helm"
timeout 300 make -s chart-check HELM="timeout 60 $X helm"
# The namespace for real first: the API server refuses objects in a namespace it does not
# have, even in a dry run (a plain apply creates it first, from the same file).
kc create namespace "$NS" >/dev/null
kc apply --dry-run=server -f deploy/kubernetes/ >"$TMPD/dry-run.log" 2>&1 || {
	cat "$TMPD/dry-run.log" >&2
	fail "kubectl apply --dry-run=server -f deploy/kubernetes/"
}
if kc get crd podmonitors.monitoring.coreos.com >/dev/null 2>&1; then
	kc apply --dry-run=server -f deploy/kubernetes/optional/ >/dev/null
else
	say "no PodMonitor CRD in the cluster: deploy/kubernetes/optional/ not applied"
fi
say "lint, manifests check, chart check, server dry run: ok"

# ---- 3. least privilege: each capability the chart adds is needed ----------------------------
# A throw-away release without one of them, on another port: some default config must fail.
for drop in "${CAPS[@]}"; do
	keep=$(printf '%s\n' "${CAPS[@]}" | grep -vx "$drop" | paste -sd, -)
	hm install capcheck "$CHART" -n "$NS" -f "$VALUES" --set "image.repository=$REPO,image.tag=$TAG" \
		--set fullnameOverride=ebpfmon-capcheck,service.port=9436 --set "securityContext.capabilities.add={$keep}" \
		--wait --timeout 120s >/dev/null
	kc -n "$NS" rollout status ds/ebpfmon-capcheck --timeout=120s >/dev/null
	kc -n "$NS" wait --for=condition=Ready pod -l app.kubernetes.io/instance=capcheck --timeout=120s >/dev/null
	C=$(scrape /metrics 9436)
	failed=$(awk '/^ebpfmon_config_loaded\{/ && $2 == 0 { sub(/.*config="/, ""); sub(/".*/, ""); printf "%s ", $0 }' <<<"$C")
	[ -n "$failed" ] || fail "without $drop (add: $keep) every default config loads: the chart need not add $drop"
	say "without $drop: ${failed% } fail to load"
	hm uninstall capcheck -n "$NS" --wait --timeout 120s >/dev/null
	kc -n "$NS" wait --for=delete pod -l app.kubernetes.io/instance=capcheck --timeout=120s >/dev/null 2>&1 || true
done

# ---- 4. install ------------------------------------------------------------------------------
say "helm install $REL (image $REPO:$TAG)"
hm install "$REL" "$CHART" -n "$NS" --create-namespace -f "$VALUES" \
	--set "image.repository=$REPO,image.tag=$TAG" --wait --timeout 240s >/dev/null
pod_facts
PJ=$(pod_json)
say "pod $POD Ready (uid $UID0, restarts $RESTARTS0, container ${CID:0:12})"

ebpfmon_pid
MEMCG=/sys/fs/cgroup/memory${CG#/sys/fs/cgroup/unified}
caps=$(awk '/^CapBnd:/ { print $2 }' "/proc/$PID/status")
[ "$caps" = "$WANT_CAPS" ] || fail "ebpfmon's CapBnd is $caps, want $WANT_CAPS (${CAPS[*]})"
[ "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$PID/status")" = 1 ] || fail "no_new_privs not set (allowPrivilegeEscalation: false)"
jq -e '.spec.containers[0].securityContext | .privileged == false and .readOnlyRootFilesystem == true' <<<"$PJ" >/dev/null ||
	fail "the container is privileged or has a writable root filesystem"
say "ebpfmon is PID $PID: CapBnd $caps (${CAPS[*]}), no_new_privs"

# ---- 5. scrape, measure, load ----------------------------------------------------------------
[ "$(scrape /-/healthy >/dev/null && echo ok)" = ok ] || fail "/-/healthy"
[ "$(scrape /-/ready >/dev/null && echo ok)" = ok ] || fail "/-/ready"
M=$(scrape)
for c in "${DEFAULT_CONFIGS[@]}"; do
	[ "$(val "$M" ebpfmon_config_loaded "config=\"$c\"")" = 1 ] || fail "config $c not loaded: $(grep "config=\"$c\"" <<<"$M" | head -3)"
done
[ "$(val "$M" ebpfmon_config_last_reload_successful)" = 1 ] || fail "ebpfmon_config_last_reload_successful is not 1 after startup"
say "every default config loaded: ${DEFAULT_CONFIGS[*]}"

CLK=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }
memcg_kib() { echo $(($(cat "$MEMCG/memory.usage_in_bytes") / 1024)); }
# measure NAME: CPU (% of one core) and RSS over $MEASURE seconds -> figures in FIG_*.
measure() {
	local t0 t1 w0 rss
	t0=$(ticks) w0=$(date +%s%N)
	sleep "$MEASURE"
	t1=$(ticks) rss=$(rss_kib)
	local ms=$((($(date +%s%N) - w0) / 1000000))
	printf -v "FIG_CPU_$1" '%s' "$(awk -v d=$((t1 - t0)) -v hz="$CLK" -v ms="$ms" 'BEGIN { printf "%.2f%%", 100 * d / hz / (ms / 1000) }')"
	printf -v "FIG_RSS_$1" '%s' "$((rss / 1024)) MiB"
	printf -v "FIG_MEMCG_$1" '%s' "$(($(memcg_kib) / 1024)) MiB"
}
# peaks: the highest RSS (VmHWM) and memory cgroup usage since the container started.
peaks() {
	echo "RSS $(($(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status") / 1024)) MiB, memory cgroup $(($(cat "$MEMCG/memory.max_usage_in_bytes") / 1048576)) MiB"
}
say "measuring idle ($MEASURE s, nothing scraping)"
measure idle
say "idle: CPU $FIG_CPU_idle, RSS $FIG_RSS_idle, memory cgroup $FIG_MEMCG_idle"
FIG_PEAK_start=$(peaks)

kc delete pod ebpfmon-e2e-load --ignore-not-found --wait=true >/dev/null
kc apply -f test/k8s/load-pod.yaml >/dev/null
kc wait --for=condition=Ready pod/ebpfmon-e2e-load --timeout=120s >/dev/null
LOAD_UID=$(kc get pod ebpfmon-e2e-load -o jsonpath='{.metadata.uid}')
LOADRE="pod$LOAD_UID"
# Prometheus scrapes the pod every second from now on (part of the load).
PROM_EXTRA_TARGETS=127.0.0.1:$PORT lab 3 timeout 120 "$K8S/prometheus.sh" start || fail "prometheus.sh start failed"

M1=$(scrape)
say "measuring under load ($MEASURE s: the load pod, Prometheus scraping every 1 s)"
measure load
M2=$(scrape)
say "load: CPU $FIG_CPU_load, RSS $FIG_RSS_load, memory cgroup $FIG_MEMCG_load"
e1=$(val "$M1" ebpfmon_execs_by_cgroup_total "$LOADRE") e2=$(val "$M2" ebpfmon_execs_by_cgroup_total "$LOADRE")
[ -n "$e2" ] && gt "$e2" "${e1:-0}" || fail "execs of the load pod's cgroup did not move: '$e1' -> '$e2'"
r1=$(val "$M1" ebpfmon_syscalls_total 'syscall="read"') r2=$(val "$M2" ebpfmon_syscalls_total 'syscall="read"')
gt "$((r2 - r1))" $((MEASURE * 20000)) || fail "read syscalls moved by $((r2 - r1)) in ${MEASURE}s, want more than $((MEASURE * 20000)) (dd in the load pod)"
say "counters move: load pod's execs $e1 -> $e2, read syscalls +$((r2 - r1))"

q() { timeout 20 "$X" curl -fsS --noproxy '*' --max-time 15 "http://127.0.0.1:19090/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }
for _ in $(seq 1 30); do
	[ "$(q 'ebpfmon_config_loaded{job="extra",config="exec"}')" = 1 ] && break
	sleep 1
done
[ "$(q 'up{job="extra"}')" = 1 ] || fail "Prometheus: target 127.0.0.1:$PORT not up"
[ "$(q 'ebpfmon_config_loaded{job="extra",config="exec"}')" = 1 ] || fail "Prometheus did not scrape ebpfmon_config_loaded"
PROM_EXECS=$(q "sum(ebpfmon_execs_by_cgroup_total{job=\"extra\",cgroup=~\".*$LOADRE.*\"})")
[ -n "$PROM_EXECS" ] && gt "$PROM_EXECS" 0 || fail "Prometheus has no execs of the load pod"
say "Prometheus scraped it: execs of the load pod $PROM_EXECS"

# no_reset BEFORE AFTER WHAT: the counters of the old configs kept counting.
no_reset() {
	local n re b a
	for n in ebpfmon_execs_by_cgroup_total:"$LOADRE" ebpfmon_syscalls_total:'syscall="read"' ebpfmon_timer_starts_total:; do
		re=${n#*:} n=${n%%:*}
		b=$(val "$1" "$n" "$re") a=$(val "$2" "$n" "$re")
		[ -n "$b" ] && [ -n "$a" ] && gt "$a" "$b" || fail "$3: $n{$re} went from '$b' to '$a' (reset or stopped)"
	done
}

# ---- 6. upgrade: one more config, reloaded in place --------------------------------------------
base64 -w0 test/k8s/testdata/forks.bpf.o >"$TMPD/forks.b64"
base64 -w0 test/k8s/testdata/podexecs.bpf.o >"$TMPD/podexecs.b64"
# oomkill leaves config.names in the same upgrade: the names file is reloaded too.
UP=(-n "$NS" -f "$VALUES" --set "image.repository=$REPO,image.tag=$TAG" --wait --timeout 120s
	--set 'config.names={biolatency,exec,podexec,podtcp,runqlat,syscalls,tcpconnlat,timers}')
B=$(scrape)
say "helm upgrade: config.custom.forks in, oomkill out of config.names"
hm upgrade "$REL" "$CHART" "${UP[@]}" \
	--set-file config.custom.forks.yaml=test/k8s/testdata/forks.yaml \
	--set-file config.custom.forks.object="$TMPD/forks.b64" \
	--set-file config.custom.podexecs.yaml=test/k8s/testdata/podexecs.yaml \
	--set-file config.custom.podexecs.object="$TMPD/podexecs.b64" >/dev/null
has_forks() { [ -n "$(val "$M" ebpfmon_k8s_e2e_forks_total)" ]; }
reload_wait "ebpfmon_k8s_e2e_forks_total" has_forks
ADD_SEEN=$WAITED ADD_RELOAD=$(last_reload_ms)
same_pod "after adding a config"
[ "$(val "$M" ebpfmon_config_loaded 'config="forks"')" = 1 ] || fail "forks not loaded"
[ -z "$(val "$M" ebpfmon_config_loaded 'config="oomkill"')" ] || fail "oomkill, out of config.names, still loaded"
[ "$(val "$M" ebpfmon_config_last_reload_successful)" = 1 ] || fail "the reload adding forks did not succeed"
F1=$(val "$M" ebpfmon_k8s_e2e_forks_total)
# The pod decoders, through the real API server: the load pod's execs by namespace, pod and
# container (labels in name order), and no series for cgroups of no pod (not_pod: skip).
LOADPOD='container="load",namespace="default",pod="ebpfmon-e2e-load"'
has_pod_execs() { [ -n "$(val "$M" ebpfmon_k8s_e2e_pod_execs_total "$LOADPOD")" ]; }
reload_wait "ebpfmon_k8s_e2e_pod_execs_total{$LOADPOD}" has_pod_execs
[ "$(val "$M" ebpfmon_kube_api_available)" = 1 ] || fail "ebpfmon_kube_api_available is not 1: $(grep kube_api <<<"$M" || true)"
grep '^ebpfmon_k8s_e2e_pod_execs_total{' <<<"$M" | grep -v 'pod="[^"]' >/dev/null && fail "a pod_execs series without a pod: $(grep '^ebpfmon_k8s_e2e_pod_execs_total{' <<<"$M" | grep -v 'pod="[^"]' | head -3)"
POD_EXECS_LINE=$(grep "^ebpfmon_k8s_e2e_pod_execs_total{.*$LOADPOD" <<<"$M" | head -1)
say "pod decoders: $POD_EXECS_LINE"
sleep 3
A=$(scrape)
no_reset "$B" "$A" "after adding a config"
F2=$(val "$A" ebpfmon_k8s_e2e_forks_total)
gt "$F2" "$F1" || fail "forks do not count: $F1 -> $F2"
say "forks served and oomkill closed ${ADD_SEEN}s after helm upgrade (reload $ADD_RELOAD), same pod, no counter reset; forks $F1 -> $F2"

# ---- 7. upgrade: broken configs ----------------------------------------------------------------
head -c 1000 test/k8s/testdata/forks.bpf.o | base64 -w0 >"$TMPD/truncated.b64"
B=$A
say "helm upgrade: forks with a truncated object, a new config naming a map its object lacks"
hm upgrade "$REL" "$CHART" "${UP[@]}" \
	--set-file config.custom.forks.yaml=test/k8s/testdata/forks.yaml \
	--set-file config.custom.forks.object="$TMPD/truncated.b64" \
	--set-file config.custom.broken.yaml=test/k8s/testdata/broken.yaml \
	--set-file config.custom.broken.object="$TMPD/forks.b64" \
	--set-file config.custom.podexecs.yaml=test/k8s/testdata/podexecs.yaml \
	--set-file config.custom.podexecs.object="$TMPD/podexecs.b64" >/dev/null
reload_failed() { [ "$(val "$M" ebpfmon_config_last_reload_successful)" = 0 ]; }
reload_wait "ebpfmon_config_last_reload_successful 0" reload_failed
BAD_SEEN=$WAITED BAD_RELOAD=$(last_reload_ms)
same_pod "after the broken configs"
[ "$(val "$M" ebpfmon_config_loaded 'config="forks"')" = 1 ] || fail "the running forks was closed by its broken version"
[ "$(val "$M" ebpfmon_config_last_load_successful 'config="forks"')" = 0 ] || fail "forks' broken version not reported (last_load_successful)"
[ "$(val "$M" ebpfmon_config_loaded 'config="broken"')" != 1 ] || fail "broken reported loaded"
[ -z "$(val "$M" ebpfmon_k8s_e2e_missing_total)" ] || fail "broken's metric is served"
sleep 3
A=$(scrape)
no_reset "$B" "$A" "after the broken configs"
F3=$(val "$A" ebpfmon_k8s_e2e_forks_total)
gt "$F3" "$F2" || fail "the running forks stopped counting: $F2 -> $F3"
scrape /-/ready >/dev/null || fail "/-/ready after a failed reload"
kc -n "$NS" logs "$POD" | grep "reload failed" >/dev/null || fail "no 'reload failed' in the log"
say "broken configs reported ${BAD_SEEN}s after helm upgrade (reload $BAD_RELOAD): last_reload_successful 0, forks keeps counting ($F2 -> $F3)"
EXCERPT=$({
	grep -E '^ebpfmon_(config_(loaded|last_load_successful)\{config="(exec|forks)"|config_last_reload_success|config_reloads_total|k8s_e2e_forks_total|k8s_e2e_pod_execs_total|kube_api_available|syscalls_total\{syscall="read"\})' <<<"$A"
	grep -F "$LOADRE" <<<"$A" | grep '^ebpfmon_execs_by_cgroup_total'
} || true)

# ---- 8. uninstall: programs detached ---------------------------------------------------------
# The pod's programs: the prog_id of every BPF fd ebpfmon holds (/proc/PID/fdinfo; Debian's
# bpftool is built without the skeletons `bpftool prog show` needs to list pids), which must
# be those ebpfmon_ebpf_program_info reports and be loaded (bpftool prog show).
FIG_PEAK_end=$(peaks)
mapfile -t PROGS < <(grep -h '^prog_id:' /proc/"$PID"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -nu)
mapfile -t METRIC_PROGS < <(grep '^ebpfmon_ebpf_program_info{' <<<"$A" | sed -E 's/.*[{,]id="([0-9]+)".*/\1/' | sort -nu)
((${#PROGS[@]} >= 16)) || fail "only ${#PROGS[@]} BPF programs held by PID $PID before the uninstall, want 16 (14 of the default configs but oomkill, 1 of forks, 1 of podexecs)"
[ "${PROGS[*]}" = "${METRIC_PROGS[*]}" ] || fail "programs held by PID $PID (${PROGS[*]}) are not those ebpfmon_ebpf_program_info lists (${METRIC_PROGS[*]})"
ids=$(bpftool prog show -j | jq '.[].id')
mapfile -t live <<<"$ids"
for id in "${PROGS[@]}"; do
	printf '%s\n' "${live[@]}" | grep -x "$id" >/dev/null || fail "program $id of PID $PID not in bpftool prog show"
done
kc delete pod ebpfmon-e2e-load --wait=true --timeout=60s >/dev/null
say "helm uninstall ($((${#PROGS[@]})) programs held by PID $PID: ${PROGS[*]})"
hm uninstall "$REL" -n "$NS" --wait --timeout 120s >/dev/null
kc -n "$NS" wait --for=delete "pod/$POD" --timeout=120s >/dev/null 2>&1 || true
left=()
for _ in $(seq 1 30); do
	# Not mapfile < <(...): a failing bpftool would give an empty list, "nothing left".
	ids=$(bpftool prog show -j | jq '.[].id')
	mapfile -t live <<<"$ids"
	left=()
	for id in "${PROGS[@]}"; do
		printf '%s\n' "${live[@]}" | grep -x "$id" >/dev/null && left+=("$id")
	done
	((${#left[@]} == 0)) && ! kill -0 "$PID" 2>/dev/null && break
	sleep 1
done
((${#left[@]} == 0)) || fail "programs still loaded after helm uninstall: ${left[*]}"
! kill -0 "$PID" 2>/dev/null || fail "ebpfmon (PID $PID) still runs after helm uninstall"
kc delete namespace "$NS" --wait=true --timeout=120s >/dev/null
say "uninstalled: all ${#PROGS[@]} programs gone"

cat >&2 <<EOF

==== figures (k8s lab, $(uname -r), $(nproc) cores) ====
image             $REF: $IMAGE_BYTES bytes ($(awk -v b="$IMAGE_BYTES" 'BEGIN { printf "%.1f MiB", b / 1048576 }'))
idle  (${MEASURE}s)      CPU $FIG_CPU_idle of a core, RSS $FIG_RSS_idle, memory cgroup $FIG_MEMCG_idle
load  (${MEASURE}s)      CPU $FIG_CPU_load of a core, RSS $FIG_RSS_load, memory cgroup $FIG_MEMCG_load
peak              after startup: $FIG_PEAK_start; at the end: $FIG_PEAK_end
add a config      reload $ADD_RELOAD; metric served ${ADD_SEEN}s after helm upgrade returned
broken configs    reload $BAD_RELOAD; failure reported ${BAD_SEEN}s after helm upgrade returned
scrape excerpt (the DaemonSet pod, after the broken upgrade):
$EXCERPT
EOF
say "OK"
