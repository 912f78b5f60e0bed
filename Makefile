# ebpfmon build. `make help` lists the targets.

GO        ?= go
CLANG     ?= clang-19
LLVM_STRIP ?= llvm-strip-19
BPFTOOL   ?= bpftool
GOFMT     ?= gofmt

# Target architecture of the BPF objects (the __TARGET_ARCH_* of bpf_tracing.h).
BPF_ARCH  ?= x86
BTF_FILE  ?= /sys/kernel/btf/vmlinux

BINARY    := ebpfmon
PKG_MAIN  := ./cmd/ebpfmon
VERSION_PKG := github.com/prometheus/common/version

VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILD_USER ?= $(shell id -un 2>/dev/null || echo unknown)@$(shell hostname 2>/dev/null || echo unknown)
BUILD_DATE ?= $(shell date -u +%Y%m%d-%H:%M:%S)

GO_LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) \
	-X $(VERSION_PKG).Revision=$(REVISION) \
	-X $(VERSION_PKG).Branch=$(BRANCH) \
	-X $(VERSION_PKG).BuildUser=$(BUILD_USER) \
	-X $(VERSION_PKG).BuildDate=$(BUILD_DATE)

# make image: an OCI archive whose bytes depend only on the commit (and the Go
# toolchain): the build date is the commit time, no user, host or branch.
IMAGE_DIR   ?= build
IMAGE_NAME  ?= ebpfmon
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_LDFLAGS := -X $(VERSION_PKG).Version=$(VERSION) \
	-X $(VERSION_PKG).Revision=$(REVISION) \
	-X $(VERSION_PKG).BuildDate=$(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y%m%d-%H:%M:%S)

# libbpf's usdt.bpf.h includes <linux/errno.h>, which needs the multiarch asm/.
MULTIARCH ?= $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

# -fdebug-compilation-dir=.: the BTF line info names sources relative to the
# clone, not by absolute path. clang 19 still orders a few BTF forward
# declarations by heap address, which moves with the length of the clone's
# path: same bytes (make image) need a clone path of the same length.
BPF_CFLAGS := -target bpf -O2 -g -mcpu=v3 -D__TARGET_ARCH_$(BPF_ARCH) \
	-I include -I/usr/include/$(MULTIARCH) -Wall -Werror \
	-fdebug-compilation-dir=.

EXAMPLE_SRCS := $(wildcard examples/*.bpf.c)
EXAMPLE_OBJS := $(EXAMPLE_SRCS:.bpf.c=.bpf.o)
BPF_HEADERS  := $(wildcard include/*.h)

.DEFAULT_GOAL := all

.PHONY: all
all: build examples ## Build the binary and the example BPF objects

.PHONY: build
build: ## Build ./ebpfmon (static, CGO_ENABLED=0, version from git)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(GO_LDFLAGS)" -o ./$(BINARY) $(PKG_MAIN)

.PHONY: examples
examples: $(EXAMPLE_OBJS) ## Compile examples/*.bpf.c into examples/*.bpf.o (BTF kept, DWARF stripped)

# DWARF is only for humans; .BTF and .BTF.ext carry the CO-RE relocations and
# map key/value types, and --strip-debug leaves them alone.
examples/%.bpf.o: examples/%.bpf.c $(BPF_HEADERS)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) --strip-debug $@

# make configs DIR=path: your own configs, built and checked like the examples
# (scripts/configs.sh). EBPFMON=path checks with that binary instead of
# building ./ebpfmon; CHECK=0 only compiles.
EBPFMON ?=

.PHONY: configs
configs: ## Compile every NAME.bpf.c in DIR=path into NAME.bpf.o, then --config.check those configs (as root; CHECK=0: compile only)
	@test -n "$(DIR)" || { echo "make configs: give DIR=path, a directory of NAME.bpf.c and NAME.yaml files"; exit 2; }
	@test -n "$(EBPFMON)" || test "$(CHECK)" = 0 || $(MAKE) -s build
	CLANG="$(CLANG)" LLVM_STRIP="$(LLVM_STRIP)" BPF_ARCH="$(BPF_ARCH)" MULTIARCH="$(MULTIARCH)" \
		EBPFMON="$(or $(EBPFMON),./$(BINARY))" CHECK="$(CHECK)" bash scripts/configs.sh "$(DIR)"

# make install: the binary, the systemd units, the examples (NAME.yaml and
# NAME.bpf.o) and the BPF headers (to build your own configs), and a default
# $(SYSCONFDIR)/ebpfmon/ that is never overwritten. The units and the default
# flags name /usr/local and /etc: rewritten to PREFIX and SYSCONFDIR.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
DESTDIR    ?=
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SHAREDIR   := $(PREFIX)/share/ebpfmon
SYSTEMD_SRC := deploy/systemd
# The units' and defaults' paths, rewritten in one pass: /etc/ebpfmon is
# marked first, so that a PREFIX holding /etc/ebpfmon is not rewritten twice.
INSTALL_SED = sed -e 's|/etc/ebpfmon|@SYSCONFDIR@/ebpfmon|g' -e 's|/usr/local|$(PREFIX)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'
# install_text SRC DEST MODE: SRC with its paths rewritten.
define install_text
	$(INSTALL_SED) $(1) > $(2).tmp
	chmod $(3) $(2).tmp && mv $(2).tmp $(2)
endef

.PHONY: install
install: build examples ## Install under DESTDIR/PREFIX (/usr/local): bin/ebpfmon, bin/ebpfmon-configs (make configs, installed), lib/systemd/system/ebpfmon.{service,socket}, share/ebpfmon/{examples,include}; a default SYSCONFDIR/ebpfmon/ (/etc) kept if there
	@for v in "PREFIX=$(PREFIX)" "SYSCONFDIR=$(SYSCONFDIR)" "DESTDIR=$(DESTDIR)"; do \
		case "$${v#*=}" in \
		*[!A-Za-z0-9/._+-]*) echo "make install: $$v: use only letters, digits and / . _ + - (the paths go into the units' ExecStart and into shell commands)"; exit 2;; \
		esac; \
	done
	@case "$(PREFIX):$(SYSCONFDIR)" in /*:/*) ;; *) echo "make install: PREFIX=$(PREFIX) and SYSCONFDIR=$(SYSCONFDIR) must be absolute paths"; exit 2;; esac
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SHAREDIR)/examples $(DESTDIR)$(SHAREDIR)/include $(DESTDIR)$(SYSCONFDIR)/ebpfmon/configs
	install -m 0755 $(BINARY) $(DESTDIR)$(PREFIX)/bin/$(BINARY)
	install -m 0644 $(EXAMPLE_SRCS:.bpf.c=.yaml) $(EXAMPLE_OBJS) examples/README.md $(DESTDIR)$(SHAREDIR)/examples/
	install -m 0644 $(BPF_HEADERS) $(DESTDIR)$(SHAREDIR)/include/
	install -m 0755 scripts/configs.sh $(DESTDIR)$(SHAREDIR)/configs.sh
	ln -sfn ../share/ebpfmon/configs.sh $(DESTDIR)$(PREFIX)/bin/ebpfmon-configs
	$(call install_text,$(SYSTEMD_SRC)/ebpfmon.service,$(DESTDIR)$(UNITDIR)/ebpfmon.service,0644)
	$(call install_text,$(SYSTEMD_SRC)/ebpfmon.socket,$(DESTDIR)$(UNITDIR)/ebpfmon.socket,0644)
	@for f in ebpfmon.env examples.names; do \
		dest=$(DESTDIR)$(SYSCONFDIR)/ebpfmon/$$f; \
		if [ -e "$$dest" ]; then echo "install: keeping $$dest"; continue; fi; \
		$(INSTALL_SED) $(SYSTEMD_SRC)/$$f > "$$dest.tmp" && \
		chmod 0644 "$$dest.tmp" && mv "$$dest.tmp" "$$dest"; \
	done

.PHONY: units-check
units-check: ## systemd-analyze verify and security on the units, installed under a temporary PREFIX (PID 1 need not be systemd)
	$(GO) test -count=1 -run 'TestUnits' ./test/systemd

.PHONY: image
image: examples ## Build build/ebpfmon-image.tar: the Dockerfile's image as an OCI archive, tagged ebpfmon:VERSION, same bytes per commit (no Docker)
	@mkdir -p $(IMAGE_DIR)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 GOAMD64=v1 $(GO) build -trimpath -ldflags "$(IMAGE_LDFLAGS)" -o $(IMAGE_DIR)/ebpfmon $(PKG_MAIN)
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) bash scripts/image.sh $(IMAGE_DIR)/ebpfmon-image.tar $(IMAGE_NAME) $(VERSION) $(IMAGE_DIR)/ebpfmon examples

.PHONY: setup
setup: ## Install build and test dependencies (Debian/Ubuntu, as root; idempotent)
	bash scripts/setup.sh

.PHONY: run
run: all ## Build, then serve every bundled example on :9435 (as root)
	./$(BINARY) --config.dir=examples

.PHONY: test
test: fmt-check vet examples rules-check ## The whole test suite, with -race (privileged tests skip unless root; EBPFMON_REQUIRE_PRIVILEGED=1 makes skips fail)
	@# -p 1: packages share kernel hooks (one XDP program per interface on lo);
	@# -count=1: kernel-backed results are never taken from the test cache.
	CGO_ENABLED=1 $(GO) test -race -count=1 -p 1 -timeout 30m ./...

.PHONY: matrix
matrix: ## Run the kernel tests in Debian's 5.10, 6.1 and 6.12 under qemu (../shared/labs/kernel; as root)
	bash scripts/matrix.sh

# Kubernetes: deploy/kubernetes/ is the chart rendered with its default values (release
# and namespace ebpfmon, plus the Namespace itself, for a plain kubectl apply); the
# PodMonitor is apart in deploy/kubernetes/optional/ (it needs prometheus-operator's CRD).
HELM      ?= helm
CHART     := deploy/helm/ebpfmon
MANIFESTS := deploy/kubernetes
MANIFESTS_HEADER := \# Generated by `make manifests` from $(CHART) (default values); do not edit.

# render_manifests DIR: writes DIR/ebpfmon.yaml and DIR/optional/podmonitor.yaml.
define render_manifests
	@mkdir -p $(1)/optional
	{ echo '$(MANIFESTS_HEADER)'; $(HELM) template ebpfmon $(CHART) --namespace ebpfmon --set namespace.create=true; } > $(1)/ebpfmon.yaml
	{ echo '$(MANIFESTS_HEADER) Needs the PodMonitor CRD.'; $(HELM) template ebpfmon $(CHART) --namespace ebpfmon --set podMonitor.enabled=true --show-only templates/podmonitor.yaml; } > $(1)/optional/podmonitor.yaml
endef

.PHONY: manifests
manifests: ## Render deploy/kubernetes/ from the Helm chart's defaults (HELM=path/to/helm)
	$(call render_manifests,$(MANIFESTS))

.PHONY: manifests-check
manifests-check: ## Fail if deploy/kubernetes/ differs from a fresh `make manifests`
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(MAKE) -s manifests MANIFESTS="$$tmp" HELM="$(HELM)" && \
	diff -ru $(MANIFESTS) "$$tmp" || { echo "deploy/kubernetes/ is stale: run make manifests"; exit 1; }

.PHONY: chart-check
chart-check: ## Check the Helm chart offline (helm template): bad values refused with a clear error, names, checksum (HELM=path/to/helm)
	HELM="$(HELM)" bash test/k8s/chart-check.sh

# The custom configs test/k8s/e2e.sh and pods.sh give the pod, built like the examples.
test/k8s/testdata/%.bpf.o: test/k8s/testdata/%.bpf.c $(BPF_HEADERS)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(LLVM_STRIP) --strip-debug $@

# netport is examples/podnet.bpf.c under other map names (test/k8s/pods.sh).
test/k8s/testdata/netport.bpf.o: examples/podnet.bpf.c

.PHONY: k8s-e2e
k8s-e2e: ## The Helm chart on a real cluster (../shared/labs/k8s, installed if missing; as root): make image, install, scrape, reload in place, uninstall
	bash test/k8s/e2e.sh

.PHONY: k8s-pods
k8s-pods: ## Pod-aware metrics on a real cluster (../shared/labs/k8s; as root): podexec, podtcp, podnet, a pod selector, a constant changed in the ConfigMap
	bash test/k8s/pods.sh

# The committed Grafana dashboard covers the chart's default configs (config.names in
# its values.yaml: what a Kubernetes install runs); dashboard/committed_test.go checks
# deploy/grafana/ebpfmon.json is what this writes.
DASHBOARD      := deploy/grafana/ebpfmon.json
DASHBOARD_NAMES ?= $(shell awk '/^config:/ {c = 1; next} c && /^  names:/ {n = 1; next} n && /^    - / {print $$2; next} n {exit}' $(CHART)/values.yaml | paste -sd, -)

.PHONY: dashboard
dashboard: ## Regenerate deploy/grafana/ebpfmon.json: `ebpfmon dashboard` for the examples in the chart's default config.names
	@mkdir -p $(dir $(DASHBOARD))
	$(GO) run $(PKG_MAIN) dashboard --config.dir=examples --config.names=$(DASHBOARD_NAMES) --output=$(DASHBOARD)

# make soak: test/soak/soak.sh says what it runs and checks, and why its bounds are what they are.
SOAK_DURATION ?= 30m

.PHONY: soak
soak: all ## Soak ebpfmon for SOAK_DURATION (30m; CI: 3m) as root: every example this kernel runs, under load, 10 scrapes/s, a reload a minute; fails on an HTTP error, a lost metric family, a failed reload, RSS/fd/goroutine growth
	SOAK_DURATION="$(SOAK_DURATION)" GO="$(GO)" bash test/soak/soak.sh

PROMTOOL  ?= promtool

.PHONY: rules-check
rules-check: ## promtool check rules and test rules on deploy/prometheus/ (each alert firing and not firing)
	$(PROMTOOL) check rules deploy/prometheus/rules.yml
	cd deploy/prometheus && $(PROMTOOL) test rules rules_test.yml

.PHONY: prom-e2e
prom-e2e: all ## A real Prometheus (../shared/labs/k8s) scraping ebpfmon under load: rates, quantiles, promtool check metrics, the rules, the dashboard queries (as root)
	bash test/prom/e2e.sh

# make bench: the Go benchmarks, then bench/ (go run ./bench, see bench/doc.go):
# the real binary on maps of BENCH_KEYS keys, BENCH_SCRAPES scrapes per
# encoding, the table written to bench/RESULTS.md. BENCH_GO=0 skips the Go
# benchmarks.
BENCH_KEYS    ?= 1000,10000,100000,1000000
BENCH_SCRAPES ?= 20
BENCH_GO      ?= 1
comma         := ,
BENCH_NS      := $(subst $(comma), ,$(BENCH_KEYS))
BENCH_OBJS    := $(foreach n,$(BENCH_NS),bench/build/counters_$(n).bpf.o bench/build/histograms_$(n).bpf.o)

# One object per map size N: max_entries is sized for N keys.
bench/build/counters_%.bpf.o: bench/bpf/counters.bpf.c bench/bpf/fill.bpf.h $(BPF_HEADERS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -DMAX_ENTRIES=$* -c $< -o $@
	$(LLVM_STRIP) --strip-debug $@

bench/build/histograms_%.bpf.o: bench/bpf/histograms.bpf.c bench/bpf/fill.bpf.h $(BPF_HEADERS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -DMAX_ENTRIES=$* -c $< -o $@
	$(LLVM_STRIP) --strip-debug $@

.PHONY: bench
bench: build examples $(BENCH_OBJS) ## Run the Go benchmarks, then bench/ on the real binary (BENCH_KEYS, BENCH_SCRAPES; as root): writes bench/RESULTS.md
	@if [ "$(BENCH_GO)" != 0 ]; then $(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./...; fi
	$(GO) run ./bench -ebpfmon=./$(BINARY) -keys=$(BENCH_KEYS) -scrapes=$(BENCH_SCRAPES) -out=bench/RESULTS.md

# make fuzz: every Go fuzz target for FUZZTIME each (scripts/fuzz.sh);
# FUZZ=regexp picks targets. A crasher fails the run; Go keeps it in
# PKG/testdata/fuzz/FuzzName/, where plain `go test` replays it: commit it.
FUZZTIME ?= 20s
FUZZ     ?=

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME (20s) each and print its executions; fails on a crasher (FUZZ=regexp picks targets)
	GO="$(GO)" FUZZTIME="$(FUZZTIME)" FUZZ="$(FUZZ)" bash scripts/fuzz.sh

.PHONY: config-check
config-check: examples ## Load and attach every example this kernel supports; the others must fail as declared (needs root)
	$(GO) test -count=1 -run 'TestEveryExampleChecks|TestSupportTable' ./e2e

.PHONY: vet
vet: ## go vet
	$(GO) vet ./...

.PHONY: fmt-check
fmt-check: ## Fail if any Go file is not gofmt-clean
	@out="$$($(GOFMT) -l .)"; \
	if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi

.PHONY: metrics-doc
metrics-doc: ## Regenerate docs/metrics.md, the reference of ebpfmon's own metrics, from the exporter's descriptors
	$(GO) run ./internal/metricsdoc -o docs/metrics.md

.PHONY: vmlinux
vmlinux: ## Regenerate include/vmlinux.h from $(BTF_FILE)
	$(BPFTOOL) btf dump file $(BTF_FILE) format c > include/vmlinux.h.tmp
	mv include/vmlinux.h.tmp include/vmlinux.h

.PHONY: generate-check
generate-check: vmlinux ## Regenerate committed artifacts and fail if git diff is not clean
	@git diff --exit-code --stat -- include/vmlinux.h || { \
		echo "include/vmlinux.h differs from a regeneration from $(BTF_FILE) (kernel $$(uname -r), $$($(BPFTOOL) version | head -1))."; \
		echo "It is generated from the Linux 6.18 BTF; on another kernel or bpftool the output differs by design:"; \
		echo "run with BTF_FILE=<6.18 vmlinux BTF>, or commit the regenerated file if the change is intended."; \
		exit 1; }

.PHONY: clean
clean: ## Remove the binary, the compiled examples and build/
	rm -f ./$(BINARY) $(EXAMPLE_OBJS)
	rm -rf build bench/build

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
