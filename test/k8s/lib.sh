# Shell helpers shared by the cluster tests test/k8s/e2e.sh and test/k8s/pods.sh (sourced,
# not run). The caller sets, before sourcing:
#   ROOT  the repository root (the working directory)
#   NAME  the log prefix (k8s-e2e, k8s-pods)
# and gets K8S (the lab), X (its exec.sh), NS, REL, DS, PORT, CHART, VALUES, RELOAD_WAIT, T0.
# TMPD is made by preflight; POD, UID0, RESTARTS0, GEN0 by pod_facts.
#
#   K8S_LAB=DIR        the lab (default ../shared/labs/k8s from the repository root)
#   E2E_RELOAD_WAIT=S  longest wait for a ConfigMap change to reach the pod (default 240)

K8S=${K8S_LAB:-$ROOT/../shared/labs/k8s}
X=$K8S/exec.sh
# The lab scripts find test/labshim/ip first (its header says why).
export PATH="$ROOT/test/labshim:$PATH"
NS=ebpfmon
REL=ebpfmon
DS=ebpfmon
PORT=9435
CHART=deploy/helm/ebpfmon
VALUES=test/k8s/values-lab.yaml
RELOAD_WAIT=${E2E_RELOAD_WAIT:-240}
T0=$SECONDS
# Namespaces whose pods cleanup describes when a run fails (besides the release's).
DIAG_NAMESPACES=()

say() { printf '[%s %s +%ss] %s\n' "$NAME" "$(date -u +%T)" $((SECONDS - T0)) "$*" >&2; }
fail() {
	say "FAIL: $*"
	exit 1
}

# lab N CMD...: a lab script, tried up to N times. A failed start is retried once before the
# whole lab is purged (lab_up). The lab's own `ip -o addr show | grep -q` race under pipefail is
# closed by test/labshim/ip; these scripts never pipe into grep -q for that reason.
lab() {
	local n=$1 i
	shift
	for ((i = 1; ; i++)); do
		"$@" >"$TMPD/lab.log" 2>&1 && return 0
		tail -3 "$TMPD/lab.log" >&2
		((i < n)) || return 1
		say "$* failed (try $i of $n); again"
		sleep 1
	done
}

# Every command that talks to the cluster runs inside the lab netns, bounded in time.
kc() { timeout 120 "$X" kubectl "$@"; }
hm() { timeout 300 "$X" helm "$@"; }
# scrape [PATH [PORT]]: GET from the pod on the node's (the lab netns') 127.0.0.1.
scrape() { timeout 20 "$X" curl -fsS --noproxy '*' --max-time 15 "http://127.0.0.1:${2:-$PORT}${1:-/metrics}"; }

# val TEXT NAME [LABELS-REGEX]: the sum of the samples of NAME whose labels match the regex
# ("" when there is none).
val() {
	awk -v name="$2" -v re="${3:-}" '
		$1 !~ /^#/ {
			n = $1; l = ""
			i = index(n, "{")
			if (i) { l = substr(n, i); n = substr(n, 1, i - 1) }
			if (n == name && (re == "" || l ~ re)) { s += $NF; found = 1 }
		}
		END { if (found) printf "%.0f\n", s }' <<<"$1"
}
# gt A B: A > B, both integers (possibly beyond 2^63: compared as decimals by awk).
gt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'; }

# cleanup: the EXIT trap once the lab is up: diagnostics when the run failed, then the lab
# down with its state purged.
cleanup() {
	local rc=$? ns
	trap - ERR
	if ((rc != 0)) && timeout 10 "$X" kubectl get --raw /readyz >/dev/null 2>&1; then
		say "diagnostics (exit status $rc):"
		timeout 30 "$X" kubectl get pods -A -o wide >&2 || true
		timeout 30 "$X" kubectl -n "$NS" describe pods -l app.kubernetes.io/instance="$REL" 2>&1 | tail -40 >&2 || true
		timeout 30 "$X" kubectl -n "$NS" logs -l app.kubernetes.io/instance="$REL" --tail=40 >&2 || true
		for ns in "${DIAG_NAMESPACES[@]}"; do
			timeout 30 "$X" kubectl -n "$ns" describe pods 2>&1 | grep -E '^(Name|Status|  *(State|Reason|Exit Code|Restart Count)):' >&2 || true
		done
	fi
	say "down.sh --purge"
	timeout 300 "$K8S/down.sh" --purge >/dev/null 2>&1 || say "down.sh --purge failed (exit $?)"
	[ -z "${TMPD:-}" ] || rm -rf -- "$TMPD"
	say "total $((SECONDS - T0))s, exit status $rc"
	exit "$rc"
}

# preflight: root, the tools, the lab present and not up; makes TMPD.
preflight() {
	[ "$(id -u)" = 0 ] || fail "run as root (the lab runs kubelet and containerd; BPF programs load)"
	# From make setup; curl comes with the lab (its install.sh, run by up.sh).
	local tool
	for tool in jq bpftool timeout base64 awk ip; do
		command -v "$tool" >/dev/null || fail "$tool not found: run make setup"
	done
	[ -x "$X" ] || fail "no k8s lab at $K8S (set K8S_LAB)"
	if ip netns list 2>/dev/null | grep -w k8slab >/dev/null; then
		fail "a k8s lab is already up on this machine (netns k8slab): only one may run; bring it down with $K8S/down.sh --purge"
	fi
	TMPD=$(mktemp -d "${TMPDIR:-/tmp}/ebpfmon-$NAME.XXXXXX")
}

# build_image TARGETS...: make image and TARGETS (the test objects); sets IMAGE_TAR, REF, REPO,
# TAG and IMAGE_BYTES.
build_image() {
	say "make image"
	timeout 600 make -s image "$@" >"$TMPD/make.log" 2>&1 || {
		cat "$TMPD/make.log" >&2
		fail "make image failed"
	}
	IMAGE_TAR=build/ebpfmon-image.tar
	REF=$(tar -xOf "$IMAGE_TAR" index.json | jq -er '.manifests[0].annotations["io.containerd.image.name"]')
	REPO=${REF%:*} TAG=${REF##*:}
	IMAGE_BYTES=$(stat -c %s "$IMAGE_TAR")
	say "image $REF, $IMAGE_BYTES bytes"
}

# lab_up: the lab up (one retry after a purge), the EXIT trap set to cleanup, the image
# imported into its containerd. Sets FIG_LAB_UP (seconds).
lab_up() {
	trap cleanup EXIT
	say "up.sh (installs what is missing first)"
	local t0=$SECONDS i
	# Up to three tries, each failed one purged.
	for ((i = 1; ; i++)); do
		lab 1 timeout 1800 "$K8S/up.sh" && break
		((i < 3)) || {
			tail -30 "$TMPD/lab.log" >&2
			fail "up.sh failed $i times"
		}
		say "up.sh failed (try $i of 3); down.sh --purge and again"
		timeout 300 "$K8S/down.sh" --purge >/dev/null 2>&1 || true
	done
	FIG_LAB_UP=$((SECONDS - t0))
	say "lab up in ${FIG_LAB_UP}s"
	command -v curl >/dev/null || fail "curl not found after the lab's install"
	timeout 120 "$X" ctr images import "$IMAGE_TAR" >/dev/null
	timeout 30 "$X" ctr images ls -q | grep -xF "$REF" >/dev/null || fail "$REF not in containerd after the import"
}

# pod_facts: the release's pod once Ready: POD, UID0, RESTARTS0, CID (container id), GEN0.
pod_facts() {
	kc -n "$NS" rollout status "ds/$DS" --timeout=120s >/dev/null
	kc -n "$NS" wait --for=condition=Ready pod -l app.kubernetes.io/instance="$REL" --timeout=120s >/dev/null
	POD=$(kc -n "$NS" get pods -l app.kubernetes.io/instance="$REL" -o jsonpath='{.items[0].metadata.name}')
	local pj
	pj=$(pod_json)
	UID0=$(jq -r .metadata.uid <<<"$pj")
	RESTARTS0=$(jq -r '.status.containerStatuses[0].restartCount' <<<"$pj")
	CID=$(jq -r '.status.containerStatuses[0].containerID' <<<"$pj")
	CID=${CID#containerd://}
	GEN0=$(kc -n "$NS" get ds "$DS" -o jsonpath='{.metadata.generation}')
	[ "$(jq -r '.status.conditions[] | select(.type == "Ready") | .status' <<<"$pj")" = True ] || fail "pod $POD not Ready"
}
pod_json() { kc -n "$NS" get pod "$POD" -o json; }

# ebpfmon_pid: the ebpfmon process of container CID, found by its cgroup (the host's PIDs:
# other ebpfmon processes may run on this machine); sets PID and CG.
ebpfmon_pid() {
	CG=$(find /sys/fs/cgroup/unified/kubepods -maxdepth 4 -type d -name "$CID" -print -quit)
	[ -n "$CG" ] || fail "no cgroup for container $CID under /sys/fs/cgroup/unified/kubepods"
	PID=$(head -1 "$CG/cgroup.procs")
	[ "$(cat "/proc/$PID/comm")" = ebpfmon ] || fail "process $PID in $CG is $(cat "/proc/$PID/comm"), not ebpfmon"
}

# reload_wait WHAT CONDITION-FUNCTION: polls the scrape into M until the condition holds;
# sets WAITED.
reload_wait() {
	local t0=$SECONDS
	while ((SECONDS - t0 < RELOAD_WAIT)); do
		M=$(scrape) && "$2" && {
			WAITED=$((SECONDS - t0))
			return 0
		}
		sleep 2
	done
	fail "$1: not seen within ${RELOAD_WAIT}s (the kubelet refreshes a mounted ConfigMap about once a minute)"
}
# last_reload_ms: the duration of the last reload ebpfmon logged ("reload done" or failed).
last_reload_ms() {
	kc -n "$NS" logs "$POD" | jq -Rr 'fromjson? | select((.msg // "") | test("^reload")) | select(.duration != null) | .duration' |
		tail -1 | awk '{ if ($1 ~ /^[0-9]+$/) printf "%.1f ms", $1 / 1e6; else print $1 }'
}
# same_pod WHAT: no restart, no new pod, no new pod template.
same_pod() {
	local pj
	pj=$(pod_json)
	[ "$(jq -r .metadata.uid <<<"$pj")" = "$UID0" ] || fail "$1: the pod was replaced"
	[ "$(jq -r '.status.containerStatuses[0].restartCount' <<<"$pj")" = "$RESTARTS0" ] || fail "$1: the container restarted"
	[ "$(kc -n "$NS" get ds "$DS" -o jsonpath='{.metadata.generation}')" = "$GEN0" ] || fail "$1: the DaemonSet's pod template changed"
}
