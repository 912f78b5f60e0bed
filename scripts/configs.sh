#!/usr/bin/env bash
# configs.sh DIR: build and check your own configs. Compiles every
# NAME.bpf.c in DIR into NAME.bpf.o beside it, with the flags and headers
# the bundled examples are built with (vmlinux.h, maps.bpf.h, events.bpf.h,
# libbpf's), reporting each file that does not compile and going on with
# the others; then runs `ebpfmon --config.check` on the configs that
# compiled (loads and attaches each, as root) and reports each config's
# result. Exits 0 only if every file compiled and every config passed.
# `make configs DIR=path` runs it from the repository; an installed copy
# finds the installed headers.
#
#   INCLUDE=dir      the directory with vmlinux.h and maps.bpf.h (default: the
#                    first that has both of ../include next to this script,
#                    include/ or ../share/ebpfmon/include next to it, and
#                    ../share/ebpfmon/include next to the ebpfmon binary)
#   EBPFMON=path     the ebpfmon binary (default: ../ebpfmon or ebpfmon next to
#                    this script, else ebpfmon on PATH)
#   EBPFMON_FLAGS    more ebpfmon flags for the check, such as --btf.path=FILE
#   CHECK=0          compile only
#   CLANG, LLVM_STRIP, BPF_ARCH (x86, arm64 ...), MULTIARCH (x86_64-linux-gnu ...)
#   CFLAGS           more compiler flags, such as -DDEBUG
set -uo pipefail

usage() { echo "usage: $0 DIR (a directory of NAME.bpf.c and NAME.yaml files)" >&2; exit 2; }
[ $# -eq 1 ] || usage
DIR=$1
[ -d "$DIR" ] || { echo "configs: $DIR is not a directory: give the directory holding NAME.bpf.c and NAME.yaml" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLANG=${CLANG:-clang-19}
LLVM_STRIP=${LLVM_STRIP:-llvm-strip-19}
BPF_ARCH=${BPF_ARCH:-x86}
MULTIARCH=${MULTIARCH:-$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)}
# The Makefile's BPF_CFLAGS, the include directories aside
# (test/configs checks the two agree).
BPF_CFLAGS=(-target bpf -O2 -g -mcpu=v3 "-D__TARGET_ARCH_$BPF_ARCH" -Wall -Werror -fdebug-compilation-dir=.)

# has_headers DIR: DIR has the headers a config includes.
has_headers() { [ -f "$1/vmlinux.h" ] && [ -f "$1/maps.bpf.h" ]; }

find_include() {
	if [ -n "${INCLUDE:-}" ]; then
		has_headers "$INCLUDE" || { echo "configs: INCLUDE=$INCLUDE has no vmlinux.h and maps.bpf.h" >&2; return 1; }
		echo "$INCLUDE"
		return
	fi
	local bin candidates=("$HERE/../include" "$HERE/include" "$HERE/../share/ebpfmon/include")
	if bin=$(command -v "${EBPFMON:-ebpfmon}" 2>/dev/null); then
		bin=$(readlink -f "$bin")
		candidates+=("$(dirname "$bin")/../share/ebpfmon/include")
	fi
	for d in "${candidates[@]}"; do
		has_headers "$d" && { (cd "$d" && pwd); return; }
	done
	echo "configs: no vmlinux.h and maps.bpf.h in ${candidates[*]}: run from the repository, install ebpfmon (make install), or set INCLUDE=dir" >&2
	return 1
}

find_ebpfmon() {
	if [ -n "${EBPFMON:-}" ]; then
		command -v "$EBPFMON" 2>/dev/null || { echo "configs: EBPFMON=$EBPFMON not found" >&2; return 1; }
		return
	fi
	for b in "$HERE/../ebpfmon" "$HERE/ebpfmon"; do
		[ -f "$b" ] && [ -x "$b" ] && { echo "$b"; return; }
	done
	command -v ebpfmon 2>/dev/null || { echo "configs: no ebpfmon binary: make build, install it, or set EBPFMON=path" >&2; return 1; }
}

INC=$(find_include) || exit 2
command -v "$CLANG" >/dev/null || { echo "configs: $CLANG not found: install clang-19 (make setup) or set CLANG=" >&2; exit 2; }
command -v "$LLVM_STRIP" >/dev/null || LLVM_STRIP=
echo "configs: headers from $INC"

shopt -s nullglob
srcs=("$DIR"/*.bpf.c)
yamls=("$DIR"/*.yaml)
((${#srcs[@]} + ${#yamls[@]})) || { echo "configs: no NAME.bpf.c or NAME.yaml in $DIR" >&2; exit 2; }

failed=0
built=()
# Compiling: each file on its own; a file that fails is reported with the
# compiler's messages (which name it) and the others go on.
for src in "${srcs[@]}"; do
	name=$(basename "$src" .bpf.c)
	obj="$DIR/$name.bpf.o"
	# shellcheck disable=SC2086 # CFLAGS is a list of flags
	if ! out=$("$CLANG" "${BPF_CFLAGS[@]}" -I "$INC" "-I/usr/include/$MULTIARCH" ${CFLAGS:-} -c "$src" -o "$obj" 2>&1); then
		rm -f "$obj"
		echo "compile $src: FAILED"
		printf '%s\n' "$out" | sed 's/^/    /'
		failed=1
		continue
	fi
	[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /'
	if [ -n "$LLVM_STRIP" ]; then
		# DWARF is for humans; the BTF the loader needs stays.
		"$LLVM_STRIP" --strip-debug "$obj" || { echo "compile $src: FAILED: $LLVM_STRIP --strip-debug $obj"; failed=1; continue; }
	fi
	echo "compile $src: ok ($obj)"
	if ! [[ $name =~ ^[A-Za-z0-9_.-]+$ ]]; then
		# --config.names splits at commas and the log quotes odd names.
		echo "check $name: FAILED: name it with letters, digits, '_', '-' and '.' only"
		failed=1
	elif [ -f "$DIR/$name.yaml" ]; then
		built+=("$name")
	else
		echo "check $name: FAILED: no $DIR/$name.yaml: write the metrics of $name.bpf.c's maps there (see README, Your own metric)"
		failed=1
	fi
done

# A NAME.yaml without NAME.bpf.c: ebpfmon would load it too, so it is
# checked with the NAME.bpf.o it finds, or reported.
for yaml in "${yamls[@]}"; do
	name=$(basename "$yaml" .yaml)
	[ -f "$DIR/$name.bpf.c" ] && continue
	if ! [[ $name =~ ^[A-Za-z0-9_.-]+$ ]]; then
		echo "check $name: FAILED: name it with letters, digits, '_', '-' and '.' only"
		failed=1
	elif [ -f "$DIR/$name.bpf.o" ]; then
		echo "compile $name: no $DIR/$name.bpf.c, checking the $name.bpf.o there as it is"
		built+=("$name")
	else
		echo "check $name: FAILED: no $DIR/$name.bpf.c (nor $name.bpf.o) for $yaml: add the program, or remove the YAML (ebpfmon would fail to load it)"
		failed=1
	fi
done

if [ "${CHECK:-1}" = 0 ] || ((${#built[@]} == 0)); then
	exit "$failed"
fi

BIN=$(find_ebpfmon) || exit 2
names=$(IFS=,; echo "${built[*]}")
echo "configs: $BIN --config.dir=$DIR --config.names=$names --config.check ${EBPFMON_FLAGS:-}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086 # EBPFMON_FLAGS is a list of flags
"$BIN" --config.dir="$DIR" --config.names="$names" --config.check --log.format=logfmt ${EBPFMON_FLAGS:-} 2>"$log"
rc=$?
sed 's/^/    /' "$log"
# Each config's result, from ebpfmon's log: "config loaded" or "config
# failed" with the reason (logfmt: config=NAME err="...").
for name in "${built[@]}"; do
	re=${name//./\\.}
	# A config can fail after it loaded (its metric names clash with
	# another's): failures first.
	if line=$(grep -m1 -E "msg=\"config failed\" config=$re " "$log"); then
		err=${line#*err=\"}
		err=${err%\"}
		err=${err//\\\"/\"} # logfmt escapes the quotes inside
		echo "check $name: FAILED: ${err//\\n/$'\n      '}"
		failed=1
	elif grep -qE "msg=\"config loaded\" config=$re( |\$)" "$log"; then
		echo "check $name: ok"
	else
		echo "check $name: FAILED: ebpfmon exited with $rc before checking it (see its log above)"
		failed=1
	fi
done
((rc == 0)) || failed=1
exit "$failed"
