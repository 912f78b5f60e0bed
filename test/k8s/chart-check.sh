#!/usr/bin/env bash
# Offline checks of the Helm chart deploy/helm/ebpfmon with `helm template` (no cluster):
# values a careless user gives are refused with a message naming the value, before anything
# reaches the API server or a pod crash-loops; names stay valid; only values reload cannot
# apply change the pod template. test/k8s/e2e.sh runs it; so does `make chart-check`.
#
#   HELM="CMD"   the helm command (default: helm)
#   CHART=DIR    the chart (default: deploy/helm/ebpfmon)
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
read -r -a HELM <<<"${HELM:-helm}"
CHART=${CHART:-deploy/helm/ebpfmon}
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/ebpfmon-chart-check.XXXXXX")
trap 'rm -rf -- "$TMPD"' EXIT
FAILS=0

bad() {
	printf 'chart-check: FAIL: %s\n' "$*" >&2
	FAILS=$((FAILS + 1))
}
# render ARGS...: helm template into $TMPD/out (stdout+stderr); its exit status.
render() { "${HELM[@]}" template r "$CHART" -n ns "$@" >"$TMPD/out" 2>&1; }

# refused WANT ARGS...: rendering fails, and the error says WANT (a fixed string).
refused() {
	local want=$1
	shift
	if render "$@"; then
		bad "helm template $* succeeded; want an error saying: $want"
	elif ! grep -F -- "$want" "$TMPD/out" >/dev/null; then
		bad "helm template $*: error does not say '$want': $(grep -m1 Error "$TMPD/out")"
	fi
}
# accepted ARGS...: rendering succeeds.
accepted() { render "$@" || bad "helm template $* failed: $(grep -m1 Error "$TMPD/out")"; }

# names_ok ARGS...: every object name is a DNS label of at most 63 characters (the
# ConfigMap's <fullname>-configs included).
names_ok() {
	local n
	accepted "$@" || return 0
	while read -r n; do
		[[ $n =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] || bad "helm template $*: object name '$n' is not a DNS label of at most 63 characters"
	done < <(awk '/^metadata:/ { m = 1; next } m && /^  name:/ { print $2; m = 0 } /^[^ ]/ { m = 0 }' "$TMPD/out")
}

# podspec ARGS...: the rendered DaemonSet (its pod template and checksum) on stdout.
podspec() { "${HELM[@]}" template r "$CHART" -n ns --show-only templates/daemonset.yaml "$@"; }

printf 'a: 1\n' >"$TMPD/y.yaml"
head -c 1100000 /dev/zero | base64 -w0 >"$TMPD/big.b64"
head -c 1000 /dev/zero | base64 -w0 >"$TMPD/small.b64"
CUSTOM=(--set-file config.custom.mine.yaml="$TMPD/y.yaml" --set-file config.custom.mine.object="$TMPD/small.b64")

# ---- refused values, each with a message naming it ------------------------------------------
refused 'config.names: "exec" given twice' --set 'config.names={exec,syscalls,exec}'
refused 'config.names: "a b" is not a config name' --set 'config.names={a b}'
refused 'config.custom.mine: unknown key objct' "${CUSTOM[@]}" --set config.custom.mine.objct=AAAA
refused 'config.custom.mine.object: missing' --set-file config.custom.mine.yaml="$TMPD/y.yaml"
refused 'config.custom.mine.object: not base64' --set-file config.custom.mine.yaml="$TMPD/y.yaml" --set config.custom.mine.object='#!not'
refused 'config.custom.exec: also in config.names' --set-file config.custom.exec.yaml="$TMPD/y.yaml" --set config.custom.exec.object=AAAA
refused 'more than a ConfigMap holds (1 MiB' --set-file config.custom.mine.yaml="$TMPD/y.yaml" --set-file config.custom.mine.object="$TMPD/big.b64"
for flag in config.dir config.names config.names-file web.listen-address log.format; do
	refused "the chart gives --$flag itself" --set "extraArgs={--$flag=x}"
	refused "the chart gives --$flag itself" --set "extraArgs={--$flag,x}"
done
refused 'image.tag: "latest" is not allowed' --set image.tag=latest
refused 'image.repository: empty' --set image.repository=
refused 'image.digest: "sha256:abc" is not a digest' --set image.digest=sha256:abc

# ---- accepted values -----------------------------------------------------------------------
# `--set config.names={}` gives [""]: no example, not an error.
accepted --set 'config.names={}'
grep -A2 'examples.names:' "$TMPD/out" | tail -1 | grep -v '^    [A-Za-z0-9_]' >/dev/null ||
	bad "config.names={} still names a config: $(grep -A2 'examples.names:' "$TMPD/out")"
accepted --set 'extraArgs={--web.enable-lifecycle,--config.extra-dir=/mine,--metrics.namespace=x}'
accepted "${CUSTOM[@]}" --set 'config.names={}' --set image.digest=sha256:"$(printf '%064d' 0)"
accepted --set hostNetwork=false --set rbac.create=false --set serviceAccount.create=false --set podMonitor.enabled=true --set namespace.create=true

# ---- names: DNS labels of at most 63 characters --------------------------------------------
names_ok
names_ok --set fullnameOverride="$(printf 'a%.0s' {1..70})"
names_ok --set fullnameOverride="abc$(printf -- '-%.0s' {1..60})x"
names_ok --set fullnameOverride=x- --set podMonitor.enabled=true
names_ok --set nameOverride="$(printf 'n%.0s' {1..70})"
"${HELM[@]}" template "r$(printf -- '-%.0s' {1..50})x" "$CHART" -n ns >"$TMPD/out" 2>&1 || bad "a 52-character release name: $(grep -m1 Error "$TMPD/out")"

# ---- the pod template: configs never change it, the image and args do --------------------------
podspec >"$TMPD/base.yaml"
podspec "${CUSTOM[@]}" --set 'config.names={exec}' >"$TMPD/configs.yaml"
cmp -s "$TMPD/base.yaml" "$TMPD/configs.yaml" || bad "a config change changes the DaemonSet (it would roll the pods): $(diff "$TMPD/base.yaml" "$TMPD/configs.yaml" | head -5)"
for v in image.tag=9.9.9 'extraArgs={--web.enable-lifecycle}' service.port=9500 resources.limits.memory=1Gi; do
	podspec --set "$v" | grep 'checksum/runtime' >"$TMPD/sum"
	grep 'checksum/runtime' "$TMPD/base.yaml" | cmp -s - "$TMPD/sum" && bad "--set $v does not change checksum/runtime (the pods would not roll)"
done

# ---- capabilities: NET_ADMIN comes with podnet in config.names, once, with its reason ----------
# caps ARGS...: the capabilities the rendered DaemonSet adds, one line, in order.
caps() { podspec "$@" | awk '/^ *add:$/ { a = 1; next } a && /^ *- / { printf "%s ", $2; next } a && !/^ *#/ { a = 0 }'; }
reason() { podspec "$@" | grep -B1 -- '- NET_ADMIN$' | head -1 | sed 's/^ *# *//' || true; }
check_caps() {
	local want=$1 got
	shift
	got=$(caps "$@")
	[ "$got" = "$want" ] || bad "helm template $*: capabilities added '$got', want '$want'"
}
check_caps 'BPF PERFMON SYSLOG '
check_caps 'BPF PERFMON SYSLOG ' --set 'config.names={exec,podexec,podtcp}'
check_caps 'BPF PERFMON SYSLOG NET_ADMIN ' --set 'config.names={exec,podnet}'
check_caps 'BPF NET_ADMIN ' --set 'config.names={podnet}' --set 'securityContext.capabilities.add={BPF,NET_ADMIN}'
check_caps 'BPF cap_net_admin ' --set 'config.names={podnet}' --set 'securityContext.capabilities.add={BPF,cap_net_admin}'
check_caps 'NET_ADMIN ' --set 'config.names={podnet}' --set 'securityContext.capabilities.add=null'
check_caps 'BPF PERFMON SYSLOG ' "${CUSTOM[@]}" --set 'config.names={exec}'
r=$(reason --set 'config.names={podnet}')
[[ $r == *cgroup_skb* ]] || bad "NET_ADMIN added for podnet without its reason (cgroup_skb) beside it: '$r'"
# podnet in or out changes the pod template (a capability): the pods roll, as values.yaml says.
podspec --set 'config.names={exec,podnet}' | cmp -s "$TMPD/base.yaml" - && bad "podnet in config.names does not change the pod template (no NET_ADMIN)"

# ---- lint ----------------------------------------------------------------------------------
"${HELM[@]}" lint --strict "$CHART" >"$TMPD/out" 2>&1 || bad "helm lint --strict: $(tail -5 "$TMPD/out")"
"${HELM[@]}" lint --strict "$CHART" "${CUSTOM[@]}" --set podMonitor.enabled=true >"$TMPD/out" 2>&1 ||
	bad "helm lint --strict with a custom config and the PodMonitor: $(tail -5 "$TMPD/out")"

((FAILS == 0)) || {
	echo "chart-check: $FAILS failures" >&2
	exit 1
}
echo "chart-check: ok" >&2
