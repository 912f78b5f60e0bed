#!/usr/bin/env bash
# Packs the ebpfmon image as an OCI image archive without a container engine:
# tar + gzip + sha256sum + jq. `make image` calls it; the Dockerfile's final
# stage describes the same contents, and test/image checks that they agree.
#
#   scripts/image.sh OUT.tar NAME TAG BINARY EXAMPLES_DIR
#
# The one layer holds:
#   /ebpfmon                      BINARY (static, linux/amd64), 0755
#   /examples/NAME.yaml, .bpf.o   every NAME.yaml in EXAMPLES_DIR with its NAME.bpf.o, 0644
#   /etc/passwd, /etc/group       root (0) and nobody (65534), for tools that map ids to names
#   /tmp                          1777, like distroless (ebpfmon itself writes no files)
# No shell, no CA certificates (ebpfmon makes no TLS connections of its own), no tzdata (logs
# are UTC). The user is 0: Kubernetes gives added capabilities to root only (a non-root
# container gets them in its bounding set, not its effective set), so the DaemonSet runs
# uid 0 with capabilities drop ALL + an explicit add list, and ebpfmon drops what it no
# longer needs once attached (--capabilities.keep=auto).
#
# Same inputs and SOURCE_DATE_EPOCH (default: the commit time) -> the same bytes: fixed
# mtimes, owners and order in the layer, gzip -n, compact jq output.
set -euo pipefail

die() { echo "image.sh: $*" >&2; exit 1; }

(($# == 5)) || die "usage: $0 OUT.tar NAME TAG BINARY EXAMPLES_DIR"
out=$1 name=$2 tag=$3 binary=$4 examples=$5
for tool in tar gzip sha256sum jq; do
	command -v "$tool" >/dev/null || die "$tool not found (make setup installs it)"
done
[[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "tag '$tag' is not a valid image tag"
[[ $tag != latest ]] || die "use a fixed tag, not 'latest'"
[[ -f $binary ]] || die "$binary: no such file (make image builds it)"
[[ -d $examples ]] || die "$examples: no such directory"

epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# containerd and the kubelet know images by their normalised name.
case $name in
*/*/*) ref=$name:$tag ;;
*/*) ref=docker.io/$name:$tag ;;
*) ref=docker.io/library/$name:$tag ;;
esac

umask 022
work=$(mktemp -d "${TMPDIR:-/tmp}/ebpfmon-image.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
root=$work/root
mkdir -p "$root/etc" "$root/examples" "$root/tmp" "$work/oci/blobs/sha256"
chmod 1777 "$root/tmp"
install -m 0755 "$binary" "$root/ebpfmon"
shopt -s nullglob
yamls=("$examples"/*.yaml)
((${#yamls[@]})) || die "no $examples/*.yaml"
for y in "${yamls[@]}"; do
	o=${y%.yaml}.bpf.o
	[[ -f $o ]] || die "$o missing (make examples builds it)"
	install -m 0644 "$y" "$o" "$root/examples/"
done
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"

# blob FILE: moves FILE into blobs/sha256 and prints "DIGEST SIZE".
blob() {
	local d s
	d=$(sha256sum "$1" | cut -d' ' -f1)
	s=$(stat -c %s "$1")
	mv -- "$1" "$work/oci/blobs/sha256/$d"
	echo "sha256:$d $s"
}

tar --format=ustar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
	-C "$root" -cf "$work/layer.tar" ebpfmon etc examples tmp
diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
gzip -n -9 "$work/layer.tar"
read -r layer_digest layer_size < <(blob "$work/layer.tar.gz")

jq -cn --arg created "$created" --arg diff_id "$diff_id" --arg version "$tag" --arg revision "$revision" '{
	created: $created, architecture: "amd64", os: "linux",
	config: {
		User: "0:0",
		ExposedPorts: {"9435/tcp": {}},
		Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
		Entrypoint: ["/ebpfmon"],
		Cmd: ["--config.dir=/examples"],
		WorkingDir: "/",
		Labels: {
			"org.opencontainers.image.title": "ebpfmon",
			"org.opencontainers.image.version": $version,
			"org.opencontainers.image.revision": $revision
		}
	},
	rootfs: {type: "layers", diff_ids: [$diff_id]},
	history: [{created: $created, created_by: "scripts/image.sh"}]
}' >"$work/config.json"
read -r config_digest config_size < <(blob "$work/config.json")

jq -cn --arg cd "$config_digest" --argjson cs "$config_size" --arg ld "$layer_digest" --argjson ls "$layer_size" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
	config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs},
	layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls}]
}' >"$work/manifest.json"
read -r manifest_digest manifest_size < <(blob "$work/manifest.json")

# ref.name is the tag, as the image-layout spec has it; io.containerd.image.name is the
# full name `ctr images import` tags the image with.
jq -cn --arg md "$manifest_digest" --argjson ms "$manifest_size" --arg ref "$ref" --arg tag "$tag" '{
	schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
	manifests: [{
		mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $md, size: $ms,
		platform: {architecture: "amd64", os: "linux"},
		annotations: {"io.containerd.image.name": $ref, "org.opencontainers.image.ref.name": $tag}
	}]
}' >"$work/oci/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"

mkdir -p "$(dirname "$out")"
tar --format=ustar --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
	-C "$work/oci" -cf "$out.part" blobs index.json oci-layout
mv -- "$out.part" "$out"
echo "image.sh: wrote $out ($ref, manifest $manifest_digest, $(stat -c %s "$out") bytes, layer $layer_size bytes gzipped)"
