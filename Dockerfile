# ebpfmon image: the static binary and the bundled examples, nothing else.
# Capabilities (CAP_BPF, CAP_PERFMON, ...) are granted by whoever runs it
# (the DaemonSet), not baked in.

# Examples: compiled with the pinned clang, from the committed vmlinux.h.
FROM debian:bookworm AS bpf
RUN apt-get update && apt-get install -y --no-install-recommends clang-19 llvm-19 libbpf-dev linux-libc-dev make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY include/ include/
COPY examples/ examples/
RUN make examples

# Binary: pure Go, CGO_ENABLED=0.
FROM golang:1.26-bookworm AS go
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=unknown
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-X github.com/prometheus/common/version.Version=${VERSION}" \
    -o /ebpfmon ./cmd/ebpfmon

# `make image` packs the same contents without Docker (scripts/image.sh);
# test/image checks that the two agree.
FROM gcr.io/distroless/static-debian12
COPY --from=go /ebpfmon /ebpfmon
COPY --from=bpf /src/examples/*.yaml /src/examples/*.bpf.o /examples/
EXPOSE 9435
# root, with no capabilities of its own: Kubernetes adds capabilities to the
# effective set of uid 0 only, so the DaemonSet drops ALL and adds each one.
USER 0:0
ENTRYPOINT ["/ebpfmon"]
CMD ["--config.dir=/examples"]
