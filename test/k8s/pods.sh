#!/usr/bin/env bash
# Pod-aware metrics on a real single-node cluster (../shared/labs/k8s), as root: the pod
# decoders, peer pods, a pod-selected cgroup_id_map and a constant changed in the ConfigMap.
# `make k8s-pods` runs it; so does .ci/run.
#
#  1. make image and the test objects; the lab up; the image imported
#  2. helm install (test/k8s/values-lab.yaml) running podexec and podtcp (config.names) and
#     two custom configs (below): netport, podnet's object, cannot attach (no NET_ADMIN);
#     helm upgrade adding podnet to config.names: the chart adds NET_ADMIN, the pod rolls,
#     and now every config loads. The custom configs:
#     podsel (test/k8s/testdata/podsel.*: execs counted only in the cgroups its
#     cgroup_id_map selector puts in the map, the pods of namespace A) and netport (a copy
#     of podnet with its own metric names and constants sample_every and port)
#  3. test pods, after ebpfmon runs (the selector must follow pods that come): in namespace B
#     a server (nc on three ports) and a ticker (execs in a loop); in namespace A a ticker, a
#     client that execs CLIENT_EXECS times and sends CLIENT_BYTES bytes to the server's first
#     port once, and a talker sending to the other two ports in a loop
#  4. asserts through /metrics, scraped inside the lab:
#     - podexec: series for exactly these namespaces, pods and containers; the client's
#       exact exec count
#     - podtcp: the client's connect to the server, with the peer pod and port
#     - podnet: the client's bytes to the server's peer pod and port, within the sampling
#       bound; the server's bytes received from the client
#     - podsel: only namespace A's pods counted, though B's ticker execs too
#     - a deleted pod's series stop growing and keep their labels (--kube.pod-grace)
#     - helm upgrade changing netport's constant `port`: what it counts changes, with no
#       restart (same pod UID, restartCount, DaemonSet generation)
#     - the informers' API load: one list and one watch of pods
#  5. prints the figures: a scrape excerpt with pod, namespace, container and peer labels,
#     the informer metrics, timings
#
#   K8S_LAB=DIR        the lab (default ../shared/labs/k8s from the repository root)
#   E2E_RELOAD_WAIT=S  longest wait for a ConfigMap change to reach the pod (default 240)
#   K8S_PODS_HELM_ARGS more helm arguments for the install and upgrade (split on blanks): to
#                      check the test fails with a feature off, e.g.
#                      "--set extraArgs={--kube.pod-grace=1s}" must fail the deleted pod's check
# Parts whose feature is not in this tree yet are reported as SKIPPED; with
# EBPFMON_REQUIRE_PRIVILEGED=1 (set by .ci/run) a skip fails the run.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
NAME=k8s-pods
# shellcheck source=test/k8s/lib.sh
. test/k8s/lib.sh
trap 'rc=$?; say "FAIL: line $LINENO: \"$BASH_COMMAND\" exited $rc"; exit $rc' ERR

NSA=ebpfmon-e2e-a
NSB=ebpfmon-e2e-b
DIAG_NAMESPACES=("$NSA" "$NSB")
P1=7001 P2=7002 P3=7003
CLIENT_EXECS=40
# The client's one transfer: BLOCKS blocks of 1000 bytes to the server's port P1. 100 MB:
# enough packets for netport's sampling bound (below) to mean something.
BLOCKS=100000
CLIENT_BYTES=$((BLOCKS * 1000))
# netport's sampling: 1 in SAMPLE_EVERY packets counted, scaled back by SAMPLE_EVERY.
SAMPLE_EVERY=4
# How long after deleting a pod its series is checked again: past a label refresh (every
# cached key is decoded again once a minute: series/metric.go, refreshEvery).
REFRESH_WAIT=65

# ---- what this tree has ------------------------------------------------------------------------
SKIPPED=()
skip() {
	say "SKIPPED: $*"
	SKIPPED+=("$*")
}
have_example() { [ -f "examples/$1.bpf.c" ] && [ -f "examples/$1.yaml" ]; }
# The cgroup_id_map selector form (config.CgroupIDMap.Selector).
have_selector() { grep -q 'yaml:"selector' config/*.go; }
NAMES=(podexec)
have_example podtcp && NAMES+=(podtcp)
have_example podnet && NAMES+=(podnet)
OBJECTS=()
have_selector && OBJECTS+=(test/k8s/testdata/podsel.bpf.o)
have_example podnet && OBJECTS+=(test/k8s/testdata/netport.bpf.o)

preflight
build_image "${OBJECTS[@]}"
lab_up

# ---- 2. install --------------------------------------------------------------------------------
# netport_yaml PORT: podnet.yaml with netport's metric names (those of its object:
# testdata/netport.bpf.c renames the maps) and its constants.
netport_yaml() {
	sed -E -e 's/^( *- name: )pod_network_/\1k8s_e2e_netport_/' \
		-e "s/^(  sample_every:) .*/\1 $SAMPLE_EVERY/" -e "s/^(  port:) .*/\1 $1/" examples/podnet.yaml
}
CUSTOM=()
if have_selector; then
	base64 -w0 test/k8s/testdata/podsel.bpf.o >"$TMPD/podsel.b64"
	CUSTOM+=(--set-file config.custom.podsel.yaml=test/k8s/testdata/podsel.yaml
		--set-file config.custom.podsel.object="$TMPD/podsel.b64")
fi
# netport_values PORT: the netport custom config's values, counting port PORT (0: all).
netport_values() {
	have_example podnet || return 0
	base64 -w0 test/k8s/testdata/netport.bpf.o >"$TMPD/netport.b64"
	netport_yaml "$1" >"$TMPD/netport-$1.yaml"
	grep -x "  sample_every: $SAMPLE_EVERY" "$TMPD/netport-$1.yaml" >/dev/null && grep -x "  port: $1" "$TMPD/netport-$1.yaml" >/dev/null ||
		fail "examples/podnet.yaml has no constants section with sample_every and port to set"
	printf '%s\n' --set-file "config.custom.netport.yaml=$TMPD/netport-$1.yaml" \
		--set-file "config.custom.netport.object=$TMPD/netport.b64"
}
mapfile -t NETPORT0 < <(netport_values 0)
read -r -a EXTRA <<<"${K8S_PODS_HELM_ARGS:-}"
# attached CONFIG: "A of N": A of CONFIG's N programs attached (ebpfmon_ebpf_program_attached
# in the scrape M).
attached() {
	grep "^ebpfmon_ebpf_program_attached{config=\"$1\"," <<<"$M" | awk '{ a += $2; n++ } END { printf "%d of %d", a, n }'
}
# up NAMES...: the helm arguments for config.names NAMES.
up() {
	local csv
	csv=$(IFS=,; echo "$*")
	UP=(-n "$NS" -f "$VALUES" --set "image.repository=$REPO,image.tag=$TAG" --set "config.names={$csv}" --wait --timeout 240s "${EXTRA[@]}")
}
if have_example podnet; then
	# Without podnet in config.names the chart adds no NET_ADMIN, and netport (podnet's
	# object) cannot attach: NET_ADMIN is needed. Adding podnet then rolls the pod.
	mapfile -t without < <(printf '%s\n' "${NAMES[@]}" | grep -vx podnet)
	up "${without[@]}"
	say "helm install $REL: config.names ${without[*]}; custom: $( ((${#CUSTOM[@]})) && echo -n 'podsel ')netport (no NET_ADMIN)"
	hm install "$REL" "$CHART" --create-namespace "${UP[@]}" "${CUSTOM[@]}" "${NETPORT0[@]}" >/dev/null
	pod_facts
	M=$(scrape)
	[ "$(attached netport)" = "0 of 2" ] || fail "netport's programs (podnet's object) without NET_ADMIN: $(attached netport) attached, want 0 of 2: the chart need not add NET_ADMIN"
	kc -n "$NS" logs "$POD" | grep '"config":"netport"' | grep -i 'cap_net_admin' >/dev/null ||
		fail "netport failed without NET_ADMIN, but not for lack of it: $(kc -n "$NS" logs "$POD" | grep '"config":"netport"' | tail -2)"
	OLD=$POD
	up "${NAMES[@]}"
	say "without NET_ADMIN netport cannot attach (cap_net_admin); helm upgrade: podnet in config.names"
	t=$SECONDS
	hm upgrade "$REL" "$CHART" "${UP[@]}" "${CUSTOM[@]}" "${NETPORT0[@]}" >/dev/null
	kc -n "$NS" wait --for=delete "pod/$OLD" --timeout=120s >/dev/null 2>&1 || true
	pod_facts
	[ "$POD" != "$OLD" ] || fail "podnet into config.names did not roll the pod (NET_ADMIN is in the pod template)"
	INSTALL_HOW="helm upgrade adding podnet (pod rolled: $OLD -> $POD)"
else
	up "${NAMES[@]}"
	say "helm install $REL: config.names ${NAMES[*]}"
	t=$SECONDS
	hm install "$REL" "$CHART" --create-namespace "${UP[@]}" "${CUSTOM[@]}" >/dev/null
	pod_facts
	INSTALL_HOW="helm install"
fi
ebpfmon_pid
FIG_INSTALL=$((SECONDS - t))
say "pod $POD Ready ${FIG_INSTALL}s after $INSTALL_HOW (uid $UID0), ebpfmon PID $PID"

# The capabilities: the chart's three, and NET_ADMIN (12) with podnet in config.names.
caps=$(awk '/^CapBnd:/ { print $2 }' "/proc/$PID/status")
want=000000c400000000
have_example podnet && want=000000c400001000
[ "$caps" = "$want" ] || fail "ebpfmon's CapBnd is $caps, want $want (BPF, PERFMON, SYSLOG$(have_example podnet && echo ', NET_ADMIN for podnet'))"
M=$(scrape)
for c in "${NAMES[@]}" $(have_selector && echo podsel) $(have_example podnet && echo netport); do
	a=$(attached "$c")
	[ "$(val "$M" ebpfmon_config_loaded "config=\"$c\"")" = 1 ] && [ "${a%% *}" = "${a##* }" ] && [ "${a%% *}" != 0 ] ||
		fail "config $c not loaded, or not every program attached ($a): $(grep "config=\"$c\"" <<<"$M" | head -3; kc -n "$NS" logs "$POD" | grep -F "\"$c\"" | tail -3)"
done
[ "$(val "$M" ebpfmon_kube_api_available)" = 1 ] || fail "ebpfmon_kube_api_available is not 1: $(grep kube_api <<<"$M" || true)"
say "CapBnd $caps; loaded: ${NAMES[*]} $(have_selector && echo podsel) $(have_example podnet && echo netport)"
have_example podtcp || skip "podtcp: examples/podtcp.* not in this tree"
have_example podnet || skip "podnet and the constant change: examples/podnet.* not in this tree"
have_selector || skip "podsel: no cgroup_id_map selector in config/ yet"

# ---- 3. test pods ------------------------------------------------------------------------------
# pod NS NAME SCRIPT: a busybox pod on the pod network running SCRIPT (sh -c), Burstable.
pod() {
	jq -n --arg ns "$1" --arg name "$2" --arg script "$3" '{
		apiVersion: "v1", kind: "Pod",
		metadata: {namespace: $ns, name: $name, labels: {"app.kubernetes.io/name": ("ebpfmon-e2e-" + $name)}},
		spec: {
			terminationGracePeriodSeconds: 1,
			containers: [{
				name: $name, image: "ebpfmon-lab.local/busybox:1.35", imagePullPolicy: "Never",
				command: ["/bin/busybox", "sh", "-c", $script],
				resources: {requests: {cpu: "10m", memory: "8Mi"}, limits: {memory: "32Mi"}}
			}]
		}
	}' | kc apply -f - >/dev/null
}
# A loop of execs: 5 a second until the pod is deleted.
TICK='while :; do /bin/busybox true; /bin/busybox sleep 0.2; done'
say "test pods in $NSA and $NSB"
t=$SECONDS
kc create namespace "$NSA" >/dev/null
kc create namespace "$NSB" >/dev/null
# nc -ll -e: a process per connection, which counts what it received and answers it.
pod "$NSB" server "for p in $P1 $P2 $P3; do /bin/busybox nc -ll -p \$p -e /bin/busybox wc -c & done; wait"
pod "$NSB" ticker "$TICK"
pod "$NSA" ticker "$TICK"
kc -n "$NSB" wait --for=condition=Ready pod/server pod/ticker --timeout=120s >/dev/null
kc -n "$NSA" wait --for=condition=Ready pod/ticker --timeout=120s >/dev/null
SERVER_IP=$(kc -n "$NSB" get pod server -o jsonpath='{.status.podIP}')
[ -n "$SERVER_IP" ] || fail "the server pod has no IP"
# The client: exactly CLIENT_EXECS + 4 execs (sh, the loop's, dd, nc, the final sleep), one
# connect to the server's P1, CLIENT_BYTES bytes sent; it logs what the server counted.
pod "$NSA" client "i=0
while [ \$i -lt $CLIENT_EXECS ]; do /bin/busybox true; i=\$((i + 1)); done
n=\$(/bin/busybox dd if=/dev/zero bs=1000 count=$BLOCKS 2>/dev/null | /bin/busybox nc $SERVER_IP $P1)
echo \"sent $CLIENT_BYTES received \$n\"
exec /bin/busybox sleep 100000"
# The talker: 10 kB to P2 and 10 kB to P3 every half second.
pod "$NSA" talker "while :; do for p in $P2 $P3; do /bin/busybox dd if=/dev/zero bs=1000 count=10 2>/dev/null | /bin/busybox nc $SERVER_IP \$p >/dev/null; done; /bin/busybox sleep 0.5; done"
kc -n "$NSA" wait --for=condition=Ready pod/client pod/talker --timeout=120s >/dev/null
for _ in $(seq 1 60); do
	LOG=$(kc -n "$NSA" logs client 2>/dev/null || true)
	[ -n "$LOG" ] && break
	sleep 1
done
[ "$LOG" = "sent $CLIENT_BYTES received $CLIENT_BYTES" ] || fail "the client's transfer: '$LOG', want 'sent $CLIENT_BYTES received $CLIENT_BYTES'"
FIG_PODS=$((SECONDS - t))
say "pods Ready and the client's transfer done ${FIG_PODS}s after the first apply (server $SERVER_IP)"
sleep 3

# ---- 4. assertions -----------------------------------------------------------------------------
M=$(scrape)
# triples METRIC: the namespace/pod/container of METRIC's series in NSA and NSB, sorted,
# containers named (not the pause containers: no container in the pod's status, so their
# label is the container id).
triples() {
	grep "^$1{" <<<"$M" | grep -E "namespace=\"($NSA|$NSB)\"" |
		sed -E 's/.*container="([^"]*)".*namespace="([^"]*)".*pod="([^"]*)".*/\2\/\3\/\1/' |
		grep -vE '/[0-9a-f]{64}$' | sort -u | paste -sd' ' - || true
}
WANT_TRIPLES="$NSA/client/client $NSA/talker/talker $NSA/ticker/ticker $NSB/server/server $NSB/ticker/ticker"
got=$(triples ebpfmon_pod_execs_total)
[ "$got" = "$WANT_TRIPLES" ] || fail "podexec's series in the test namespaces: '$got', want '$WANT_TRIPLES'"
CLIENT="container=\"client\",namespace=\"$NSA\",pod=\"client\""
n=$(val "$M" ebpfmon_pod_execs_total "$CLIENT")
[ "$n" = $((CLIENT_EXECS + 4)) ] || fail "podexec: the client's execs are '$n', want $((CLIENT_EXECS + 4))"
say "podexec: series of exactly $WANT_TRIPLES; the client's execs $n"

PEER="$NSB/server"
# The client's flow to the server's P1 (labels in name order).
CLIENT_PEER_P1="container=\"client\",namespace=\"$NSA\",peer=\"$PEER\",pod=\"client\",port=\"$P1\""
if have_example podtcp; then
	n=$(val "$M" ebpfmon_pod_tcp_connects_total "$CLIENT_PEER_P1")
	[ "$n" = 1 ] || fail "podtcp: the client's connects to $PEER port $P1: '$n', want 1: $(grep '^ebpfmon_pod_tcp_connects_total' <<<"$M" | grep -F "$NSA" | head -5)"
	l=$(val "$M" ebpfmon_pod_tcp_connect_latency_seconds_count "$CLIENT")
	[ "$l" = 1 ] || fail "podtcp: the client's connect latencies: '$l', want 1"
	say "podtcp: the client's connect to $PEER:$P1 counted once, its latency once"
fi

if have_example podnet; then
	# podnet counts IP bytes (headers in) of each packet as the socket sends or receives it
	# (a TSO/GSO or GRO packet once, at its full length). Every packet: the payload plus at
	# most 60 bytes of IPv4 and TCP headers (20 + 20 + 12 of timestamps, and room) per packet.
	tx=$CLIENT_PEER_P1
	rx="container=\"server\",namespace=\"$NSB\",peer=\"$NSA/client\",pod=\"server\",port=\"$P1\""
	headers_ok() { awk -v n="$1" -v p="$2" -v b="$CLIENT_BYTES" 'BEGIN { exit !(p > 0 && n > b && n <= b + 60 * p) }'; }
	for dir in "transmit:$tx:the client sent" "receive:$rx:the server received"; do
		IFS=: read -r d re what <<<"$dir"
		n=$(val "$M" "ebpfmon_pod_network_${d}_bytes_total" "$re") p=$(val "$M" "ebpfmon_pod_network_${d}_packets_total" "$re")
		headers_ok "${n:-0}" "${p:-0}" || fail "podnet (every packet): $what '$n' bytes in '$p' packets on $P1, want $CLIENT_BYTES plus up to 60 per packet"
		say "podnet: $what $n IP bytes in $p packets on $P1 (payload $CLIENT_BYTES)"
	done
	XB=$(val "$M" ebpfmon_pod_network_transmit_bytes_total "$tx") XP=$(val "$M" ebpfmon_pod_network_transmit_packets_total "$tx")
	# netport counts 1 packet in N (random) as N packets of N times its size: unbiased, with a
	# variance of (N - 1) * (sum of the squared sizes), at most (N - 1) * 65,600 * XB (a packet
	# is at most 64 KiB of GSO and its headers). The bound: 5 such standard deviations.
	S=$(val "$M" ebpfmon_k8s_e2e_netport_transmit_bytes_total "$tx")
	bound=$(awk -v n="$SAMPLE_EVERY" -v x="$XB" 'BEGIN { printf "%.0f", 5 * sqrt((n - 1) * 65600 * x) }')
	awk -v s="${S:-0}" -v x="$XB" -v d="$bound" 'BEGIN { exit !(s >= x - d && s <= x + d) }' ||
		fail "netport (1 packet in $SAMPLE_EVERY): the client sent '$S' bytes on $P1, want $XB +- $bound (5 standard deviations at most)"
	FIG_SAMPLED="1 packet in $SAMPLE_EVERY: $S bytes, $(val "$M" ebpfmon_k8s_e2e_netport_transmit_packets_total "$tx") packets; every packet: $XB bytes, $XP packets; $(awk -v s="$S" -v x="$XB" 'BEGIN { printf "%+.2f%%", 100 * (s - x) / x }') (bound +-$(awk -v d="$bound" -v x="$XB" 'BEGIN { printf "%.0f%%", 100 * d / x }'))"
	say "netport: $FIG_SAMPLED"
fi

if have_selector; then
	got=$(triples ebpfmon_k8s_e2e_podsel_execs_total)
	want="$NSA/client/client $NSA/talker/talker $NSA/ticker/ticker"
	# The client's first execs may come before the selector has put its cgroup in the map:
	# its series is allowed to be missing, no other.
	[ "$got" = "$want" ] || [ "$got" = "$NSA/talker/talker $NSA/ticker/ticker" ] ||
		fail "podsel (selector: namespace $NSA): series of '$got', want '$want' ($NSA/client/client optional)"
	b=$(val "$M" ebpfmon_pod_execs_total "container=\"ticker\",namespace=\"$NSB\"")
	gt "${b:-0}" 0 || fail "the ticker of $NSB did not exec: podsel's check proves nothing"
	say "podsel: counts $got only; $NSB's ticker exec'd $b times, not counted"
fi

# A deleted pod: its series stop growing and keep their labels. Checked again at the end,
# past a label refresh (series/metric.go decodes every cached key again once a minute).
TICKA="container=\"ticker\",namespace=\"$NSA\",pod=\"ticker\""
kc -n "$NSA" delete pod ticker --wait=true --timeout=60s >/dev/null
DELETED_AT=$SECONDS
M=$(scrape)
D1=$(val "$M" ebpfmon_pod_execs_total "$TICKA")
[ -n "$D1" ] || fail "the deleted ticker's podexec series lost its labels at once (--kube.pod-grace)"
say "deleted $NSA/ticker: podexec series at $D1 with its labels; checked again in ${REFRESH_WAIT}s"

# A constant changed in the ConfigMap: netport counts port P3 only.
if have_example podnet; then
	B2=$(val "$M" ebpfmon_k8s_e2e_netport_transmit_bytes_total "port=\"$P2\"")
	gt "${B2:-0}" 0 || fail "netport (port 0: all) does not count the talker's bytes to $P2"
	mapfile -t NETPORT3 < <(netport_values "$P3")
	say "helm upgrade: netport's constants.port 0 -> $P3"
	hm upgrade "$REL" "$CHART" "${UP[@]}" "${CUSTOM[@]}" "${NETPORT3[@]}" >/dev/null
	only_p3() {
		[ -z "$(val "$M" ebpfmon_k8s_e2e_netport_transmit_bytes_total "port=\"$P2\"")" ] &&
			gt "$(val "$M" ebpfmon_k8s_e2e_netport_transmit_bytes_total "port=\"$P3\"")" 0
	}
	reload_wait "netport counting port $P3 only" only_p3
	FIG_CONST=$WAITED FIG_CONST_RELOAD=$(last_reload_ms)
	same_pod "after changing netport's constant"
	say "netport counts port $P3 only ${FIG_CONST}s after helm upgrade (reload $FIG_CONST_RELOAD), same pod"
fi

# The deleted pod, past a label refresh: same value, same labels.
left=$((REFRESH_WAIT - (SECONDS - DELETED_AT)))
((left <= 0)) || sleep "$left"
M=$(scrape)
d2=$(val "$M" ebpfmon_pod_execs_total "$TICKA")
[ "$d2" = "$D1" ] || fail "the deleted ticker's podexec series, $((SECONDS - DELETED_AT))s after the deletion: '$d2', want $D1 with its labels (--kube.pod-grace 5m): $(grep '^ebpfmon_pod_execs_total' <<<"$M" | grep -vF 'namespace="e' | tail -3)"
say "deleted $NSA/ticker: podexec series still $D1 with its labels $((SECONDS - DELETED_AT))s after the deletion"

# The informers' API load: one list and one watch of this node's pods for every config.
say "informer API load:"
grep -E '^ebpfmon_kube_(api_requests_total|api_request_errors_total|watch_events_total|cached_pods)' <<<"$M" >&2 || true
lists=$(val "$M" ebpfmon_kube_api_requests_total 'resource="pods",verb="list"')
watches=$(val "$M" ebpfmon_kube_api_requests_total 'resource="pods",verb="watch"')
# A watch the API server ends (after 5 to 10 minutes) is started again: one more per 5 min.
uptime=$(awk -v hz="$(getconf CLK_TCK)" -v start="$(awk '{ print $22 }' "/proc/$PID/stat")" '{ printf "%d", $1 - start / hz }' /proc/uptime)
[ "$lists" = 1 ] || fail "pods listed '$lists' times, want 1 (one informer shared by every config)"
[ -n "$watches" ] && ((watches >= 1 && watches <= 1 + uptime / 300)) || fail "pods watched '$watches' times in ${uptime}s, want 1 (one more per 5 min)"

# The excerpt: the client's series and the server's from the client (no histogram buckets),
# the tickers' (pods of both namespaces), each metric's first such lines.
EXCERPT=$(grep -E "^ebpfmon_(pod_|k8s_e2e_)[a-z_]*\{" <<<"$M" | grep -vE '_bucket\{|container="[0-9a-f]{64}"' |
	grep -E "pod=\"client\"|peer=\"$NSA/client\"|pod=\"ticker\"" | awk '{ split($1, n, "{") } c[n[1]]++ < 3' | sort || true)
cat >&2 <<EOF

==== figures (k8s lab, $(uname -r), $(nproc) cores) ====
lab up            ${FIG_LAB_UP}s
install           pod Ready ${FIG_INSTALL}s after $INSTALL_HOW
test pods         Ready and the client's transfer done in ${FIG_PODS}s
sampling          ${FIG_SAMPLED:-?}
constant change   ${FIG_CONST:-?}s after helm upgrade until counted (reload ${FIG_CONST_RELOAD:-?})
informer          pods: $lists list(s), $watches watch(es) in ${uptime}s
scrape excerpt:
$EXCERPT
EOF
if ((${#SKIPPED[@]})); then
	say "SKIPPED ${#SKIPPED[@]} part(s): $(printf '%s; ' "${SKIPPED[@]}")"
	[ "${EBPFMON_REQUIRE_PRIVILEGED:-}" != 1 ] || fail "EBPFMON_REQUIRE_PRIVILEGED=1: skipped parts fail the run"
fi
say "OK"
