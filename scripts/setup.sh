#!/usr/bin/env bash
# Installs what building and testing ebpfmon need on Debian/Ubuntu, as root.
# Idempotent: packages already present are not fetched again.
set -euo pipefail

packages=(
	clang-19 llvm-19  # BPF compiler (pinned) and llvm-strip
	libbpf-dev        # bpf_helpers.h & co for examples
	bpftool           # make vmlinux, debugging
	linux-libc-dev    # linux/bpf.h for the BPF objects the e2e tests compile
	gcc libc6-dev     # go test -race needs cgo
	make pci.ids      # pci_* decoders read the system pci.ids
	systemtap-sdt-dev # sys/sdt.h for the USDT test programs
	python3-minimal   # the usdt example's target (python's gc__start probe)
	iproute2 util-linux # ip; setpriv (test/systemd, e2e: run as another user with given capabilities)
	systemd           # systemd-analyze: make units-check (verify, security, syscall-filter)
	strace            # test/systemd: ebpfmon's system calls against the unit's sandbox
	jq                # make image writes the OCI index, manifest and config
	containerd        # ctr: test/image imports the image into a throw-away containerd
	prometheus curl   # promtool: go test ./dashboard, make rules-check; test/prom (the k8s lab's Prometheus)
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# No service starts at install (prometheus, containerd): the tests start their own. A
	# temporary policy-rc.d refuses them, unless the machine has one already.
	own_policy=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# ebpfmon make setup: temporary\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		own_policy=1
	fi
	rc=0
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
	if ((own_policy)); then rm -f /usr/sbin/policy-rc.d; fi
	((rc == 0)) || exit "$rc"
fi

export PATH=/usr/local/go/bin:$PATH
command -v go >/dev/null || { echo "setup: Go not found (expected in /usr/local/go)" >&2; exit 1; }
go mod download
