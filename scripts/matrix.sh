#!/usr/bin/env bash
# matrix.sh: run ebpfmon's kernel-facing tests inside Debian's 5.10, 6.1 and
# 6.12 kernels (the kernel lab, ../shared/labs/kernel), one VM per kernel and
# test package, and print a markdown table kernel x package. Exits non-zero
# if any run fails. As root; `make matrix` runs it, and so does .ci/run
# after `make setup test`.
#
# Everything runs from static binaries built here: the guest is a busybox
# initramfs with no Go toolchain, no clang and no glibc. The e2e tests take
# the prebuilt ebpfmon and examples from EBPFMON_BIN / EBPFMON_EXAMPLES, and
# EBPFMON_LAB=1 tells them they run in the lab (e2e/lab_test.go: labLimits).
#
#   MATRIX_KERNELS   kernels to run (default "5.10 6.1 6.12")
#   MATRIX_PACKAGES  packages to run (default "attach bpfmap series lifecycle exporter e2e")
#   MATRIX_VERBOSE=1 print every run's whole output, not only the failures
#   MATRIX_LAB       run-in-kernel.sh (default ../shared/labs/kernel/, from
#                    the repository root)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KL=${MATRIX_LAB:-$ROOT/../shared/labs/kernel/run-in-kernel.sh}
[ -x "$KL" ] || { echo "matrix: no kernel lab at $KL" >&2; exit 2; }
KERNELS=${MATRIX_KERNELS:-"5.10 6.1 6.12"}
PACKAGES=${MATRIX_PACKAGES:-"attach bpfmap series lifecycle exporter e2e"}
export PATH=/usr/local/go/bin:$PATH

# What runs of each package in the guest (-test.run, -test.skip), and why
# the rest does not. Tests not selected here need the host: a toolchain
# (clang, gcc), glibc programs or a disk.
declare -A RUN SKIP WHY MODULES
RUN[attach]='^(TestAttachFires|TestAttachMissingHooks)$'
SKIP[attach]='^TestAttachFires$/^u(ret)?probe$'
WHY[attach]="the kernel tests; the uprobe cases fire when a glibc program calls malloc, and the guest has none"
RUN[bpfmap]='.'
RUN[series]='.'
SKIP[series]='^TestHistogramHelpersKernel$'
WHY[series]="all but the test that compiles include/maps.bpf.h's helpers with clang, which the guest lacks"
RUN[lifecycle]='.'
SKIP[lifecycle]='^(TestConstantsLoad.*|TestPins|TestPinsBadInput)$'
WHY[lifecycle]="all but the constants and pinned-map tests, which compile their objects with clang, which the guest lacks"
RUN[exporter]='.'
SKIP[exporter]='^(TestPinsReplacedOnReload|TestStages|TestStagesOldVersionRuns)$'
WHY[exporter]="all but the pinned-map and failure-stage tests, which compile their objects with clang, which the guest lacks"
RUN[e2e]='^(TestSupportTable|TestEveryExampleChecks|TestExamples)$'
# The guest has no disk: null_blk's /dev/nullb0 takes biolatency's block
# requests (e2e/trigger_test.go: blockTarget).
MODULES[e2e]=null_blk
WHY[e2e]="the examples (labLimits in e2e/lab_test.go lists those whose events the guest cannot generate); the other tests compile BPF with clang or need glibc programs and a disk"

say() { echo "matrix: $*" >&2; }

# --- the lab: qemu and the kernels (idempotent, cached) ---
need=()
for p in qemu-system-x86 cpio lz4 zstd xz-utils; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi
for k in $KERNELS; do
	"$KL" "$k" --fetch >/dev/null
done

# --- static binaries ---
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ebpfmon-matrix.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT
start=$SECONDS
make -C "$ROOT" --no-print-directory examples >/dev/null
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$WORK/ebpfmon" ./cmd/ebpfmon)
for p in $PACKAGES; do
	(cd "$ROOT" && CGO_ENABLED=0 go test -c -o "$WORK/$p.test" "./$p")
done
say "built in $((SECONDS - start)) s"

# Files the guest needs beyond the binaries: the examples (objects, YAML,
# README for TestSupportTable), pci.ids for blockpci's decoders, and
# libc.so.6 and python3, only so that getaddrinfo's uprobes and the usdt
# example's probe have files to attach to.
COPY=(--copy "$ROOT/examples" --copy "$WORK/ebpfmon")
for f in /usr/share/misc/pci.ids /usr/lib/x86_64-linux-gnu/libc.so.6 /usr/bin/python3; do
	[ -e "$f" ] && COPY+=(--copy "$f")
done
ENV=(--env EBPFMON_REQUIRE_PRIVILEGED=1 --env EBPFMON_LAB=1
	--env "EBPFMON_BIN=$WORK/ebpfmon" --env "EBPFMON_EXAMPLES=$ROOT/examples")

# --- runs: one VM per kernel and package ---
declare -A RESULT
failed=0
total=$SECONDS
for k in $KERNELS; do
	for p in $PACKAGES; do
		args=(-test.v -test.timeout 10m -test.run "${RUN[$p]}")
		[ -n "${SKIP[$p]:-}" ] && args+=(-test.skip "${SKIP[$p]}")
		extra=(--copy "$WORK/$p.test")
		[ -n "${MODULES[$p]:-}" ] && extra+=(--modules "${MODULES[$p]}")
		[ -d "$ROOT/$p/testdata" ] && extra+=(--copy "$ROOT/$p/testdata")
		log=$WORK/$k-$p.log
		t0=$SECONDS
		# The guest starts in the package directory (relative testdata and
		# ../examples work); its cgroup2 root gets the memory controller
		# for oomkill's limited cgroup.
		set +e
		(cd "$ROOT/$p" && "$KL" "$k" --timeout 1200 "${COPY[@]}" "${extra[@]}" "${ENV[@]}" -- \
			sh -c 'echo +memory >/sys/fs/cgroup/cgroup.subtree_control; exec "$@"' sh "$WORK/$p.test" "${args[@]}") >"$log" 2>&1
		rc=$?
		set -e
		secs=$((SECONDS - t0))
		skips=$(grep -c -- '--- SKIP' "$log" || true)
		if [ $rc -eq 0 ]; then
			RESULT[$k/$p]="pass ($secs s)"
			[ "$skips" -gt 0 ] && RESULT[$k/$p]="pass ($secs s, $skips declared skips)"
		else
			RESULT[$k/$p]="**FAIL** (exit $rc, $secs s)"
			failed=1
		fi
		say "$k $p: ${RESULT[$k/$p]}"
		if [ $rc -ne 0 ] || [ "${MATRIX_VERBOSE:-}" = 1 ]; then
			echo "----- $k $p: exit $rc -----"
			if [ "${MATRIX_VERBOSE:-}" = 1 ]; then cat "$log"; else grep -v 'level=DEBUG' "$log" | tail -n 150; fi
			echo "-----"
		fi
		# The tests' own reasons for what they skipped ("declared in ...").
		grep -h 'declared in' "$log" | sort -u | sed "s/^ */matrix: $k $p skipped: /" >&2 || true
	done
done

# --- the table ---
echo
printf '| kernel |'
for p in $PACKAGES; do printf ' %s |' "$p"; done
printf '\n|---|'
for p in $PACKAGES; do printf -- '---|'; done
echo
for k in $KERNELS; do
	printf '| %s |' "$k"
	for p in $PACKAGES; do printf ' %s |' "${RESULT[$k/$p]}"; done
	echo
done
echo
for p in $PACKAGES; do
	echo "- $p: -test.run '${RUN[$p]}'${SKIP[$p]:+ -test.skip '${SKIP[$p]}'}${WHY[$p]:+: ${WHY[$p]}}"
done
echo
echo "matrix: $(echo $KERNELS | wc -w) kernels x $(echo $PACKAGES | wc -w) packages in $((SECONDS - total)) s (build not included)"
exit $failed
