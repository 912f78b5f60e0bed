package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ebpfmon/ebpfmon/internal/testenv"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// testVersion is the VERSION the tests build with, so that a dirty tree or
// a new tag between two builds does not change the bytes.
const testVersion = "0.0.0-imagetest"

const (
	mtIndex    = "application/vnd.oci.image.index.v1+json"
	mtManifest = "application/vnd.oci.image.manifest.v1+json"
	mtConfig   = "application/vnd.oci.image.config.v1+json"
	mtLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// buildImage runs `make image` into a fresh directory and returns the
// archive's path.
func buildImage(tb testing.TB) string {
	tb.Helper()
	for _, tool := range []string{"make", "git", "tar", "gzip", "sha256sum", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(tb, "%s not installed (make setup installs it)", tool)
		}
	}
	dir := tb.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "-C", repoRoot, "image", "IMAGE_DIR="+dir, "VERSION="+testVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("make image: %v\n%s", err, out)
	}
	return filepath.Join(dir, "ebpfmon-image.tar")
}

// TestImageReproducible builds the image twice from the same tree and
// wants the same bytes.
func TestImageReproducible(t *testing.T) {
	a, b := buildImage(t), buildImage(t)
	ha, hb := fileSHA256(t, a), fileSHA256(t, b)
	if ha != hb {
		t.Fatalf("two builds of the same commit differ: %s vs %s", ha, hb)
	}
	t.Logf("sha256 %s, %d bytes", ha, fileSize(t, a))
}

// TestImage builds the image once and checks its structure, its agreement
// with the Dockerfile, and that containerd imports it.
func TestImage(t *testing.T) {
	archive := buildImage(t)
	img := readImage(t, archive)
	t.Logf("%s: %d bytes, layer %d bytes gzipped, %d files", archive, fileSize(t, archive), img.layerSize, len(img.files))

	t.Run("structure", func(t *testing.T) { checkStructure(t, img) })
	t.Run("dockerfile", func(t *testing.T) { checkDockerfile(t, img) })
	t.Run("ctr import", func(t *testing.T) { checkCtrImport(t, archive) })
}

// ociImage is an archive read back: its outer files, the parsed documents
// and the layer's entries.
type ociImage struct {
	outer     map[string][]byte
	outerHdrs []*tar.Header
	index     index
	manifest  manifest
	config    config
	layerSize int64
	diffID    string
	files     []layerFile // in archive order
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type config struct {
	Created      time.Time `json:"created"`
	Architecture string    `json:"architecture"`
	OS           string    `json:"os"`
	Config       struct {
		User         string              `json:"User"`
		ExposedPorts map[string]struct{} `json:"ExposedPorts"`
		Env          []string            `json:"Env"`
		Entrypoint   []string            `json:"Entrypoint"`
		Cmd          []string            `json:"Cmd"`
		WorkingDir   string              `json:"WorkingDir"`
		Labels       map[string]string   `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

type layerFile struct {
	hdr  *tar.Header
	data []byte
}

// readImage reads the archive and follows index.json to the layer,
// failing on anything it cannot follow.
func readImage(t *testing.T, archive string) *ociImage {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img := &ociImage{outer: map[string][]byte{}}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		img.outerHdrs = append(img.outerHdrs, h)
		if h.Typeflag == tar.TypeReg {
			if img.outer[h.Name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	decode(t, img.outer, "index.json", &img.index)
	if len(img.index.Manifests) != 1 {
		t.Fatalf("index.json: %d manifests, want 1", len(img.index.Manifests))
	}
	decode(t, img.outer, blobPath(img.index.Manifests[0].Digest), &img.manifest)
	decode(t, img.outer, blobPath(img.manifest.Config.Digest), &img.config)
	if len(img.manifest.Layers) != 1 {
		t.Fatalf("manifest: %d layers, want 1", len(img.manifest.Layers))
	}
	gz, ok := img.outer[blobPath(img.manifest.Layers[0].Digest)]
	if !ok {
		t.Fatalf("layer blob %s missing", img.manifest.Layers[0].Digest)
	}
	img.layerSize = int64(len(gz))
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("layer: %v", err)
	}
	img.diffID = digestOf(raw)
	lr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("layer: %v", err)
		}
		data, err := io.ReadAll(lr)
		if err != nil {
			t.Fatal(err)
		}
		img.files = append(img.files, layerFile{h, data})
	}
	return img
}

func decode(t *testing.T, files map[string][]byte, name string, v any) {
	t.Helper()
	raw, ok := files[name]
	if !ok {
		t.Fatalf("%s missing from the archive", name)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func blobPath(digest string) string {
	return "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// commitTime is the time SOURCE_DATE_EPOCH defaults to: the commit's.
func commitTime(t *testing.T) time.Time {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot, "log", "-1", "--format=%ct").Output()
	if err != nil {
		t.Fatalf("git log: %v", err)
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(sec, 0).UTC()
}

func checkStructure(t *testing.T, img *ociImage) {
	if got := string(img.outer["oci-layout"]); strings.TrimSpace(got) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", got)
	}
	if img.index.SchemaVersion != 2 || img.index.MediaType != mtIndex {
		t.Errorf("index.json: schemaVersion %d, mediaType %q; want 2, %s", img.index.SchemaVersion, img.index.MediaType, mtIndex)
	}
	m := img.index.Manifests[0]
	if m.MediaType != mtManifest {
		t.Errorf("index.json manifest mediaType %q, want %s", m.MediaType, mtManifest)
	}
	if m.Platform == nil || *m.Platform != (platform{"amd64", "linux"}) {
		t.Errorf("index.json platform %+v, want linux/amd64", m.Platform)
	}
	if got := m.Annotations["org.opencontainers.image.ref.name"]; got != testVersion {
		t.Errorf("org.opencontainers.image.ref.name = %q, want %q", got, testVersion)
	}
	if got, want := m.Annotations["io.containerd.image.name"], "docker.io/library/ebpfmon:"+testVersion; got != want {
		t.Errorf("io.containerd.image.name = %q, want %q (what the kubelet looks up for ebpfmon:%s)", got, want, testVersion)
	}
	if img.manifest.SchemaVersion != 2 || img.manifest.MediaType != mtManifest {
		t.Errorf("manifest: schemaVersion %d, mediaType %q", img.manifest.SchemaVersion, img.manifest.MediaType)
	}
	if img.manifest.Config.MediaType != mtConfig {
		t.Errorf("config mediaType %q, want %s", img.manifest.Config.MediaType, mtConfig)
	}
	if img.manifest.Layers[0].MediaType != mtLayer {
		t.Errorf("layer mediaType %q, want %s", img.manifest.Layers[0].MediaType, mtLayer)
	}

	// Every descriptor names a blob with that digest and size, and
	// blobs/ holds nothing else.
	want := map[string]bool{}
	for _, d := range []descriptor{m, img.manifest.Config, img.manifest.Layers[0]} {
		want[blobPath(d.Digest)] = true
		b, ok := img.outer[blobPath(d.Digest)]
		if !ok {
			t.Errorf("%s: blob missing", d.Digest)
			continue
		}
		if got := digestOf(b); got != d.Digest {
			t.Errorf("blob %s has digest %s", d.Digest, got)
		}
		if int64(len(b)) != d.Size {
			t.Errorf("blob %s: %d bytes, descriptor says %d", d.Digest, len(b), d.Size)
		}
	}
	for name := range img.outer {
		if strings.HasPrefix(name, "blobs/") && !want[name] {
			t.Errorf("%s: blob no descriptor refers to", name)
		}
		if !strings.HasPrefix(name, "blobs/") && name != "index.json" && name != "oci-layout" {
			t.Errorf("%s: not part of an OCI image layout", name)
		}
	}

	c := img.config
	if c.OS != "linux" || c.Architecture != "amd64" {
		t.Errorf("config platform %s/%s, want linux/amd64", c.OS, c.Architecture)
	}
	created := commitTime(t)
	if !c.Created.Equal(created) {
		t.Errorf("config created %s, want the commit time %s", c.Created, created)
	}
	if c.RootFS.Type != "layers" || !slices.Equal(c.RootFS.DiffIDs, []string{img.diffID}) {
		t.Errorf("rootfs %+v, want layers [%s] (sha256 of the uncompressed layer)", c.RootFS, img.diffID)
	}
	if got := c.Config.Labels["org.opencontainers.image.version"]; got != testVersion {
		t.Errorf("label org.opencontainers.image.version = %q, want %q", got, testVersion)
	}

	// Fixed owners, times and order: what makes the layer reproducible.
	for _, hdrs := range [][]*tar.Header{img.outerHdrs, layerHeaders(img.files)} {
		var names []string
		for _, h := range hdrs {
			if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
				t.Errorf("%s: owner %d:%d (%q:%q), want 0:0, numeric", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
			}
			if !h.ModTime.Equal(created) {
				t.Errorf("%s: mtime %s, want %s", h.Name, h.ModTime.UTC(), created)
			}
			names = append(names, h.Name)
		}
		if !sort.StringsAreSorted(names) {
			t.Errorf("entries not sorted by name: %v", names)
		}
	}
}

func layerHeaders(files []layerFile) []*tar.Header {
	hs := make([]*tar.Header, len(files))
	for i, f := range files {
		hs[i] = f.hdr
	}
	return hs
}

// checkDockerfile compares the image with the Dockerfile's final stage:
// entrypoint, command, ports and user in the config; in the layer, what its
// COPY lines bring (the binary, each example's YAML and object), plus the
// few files the distroless base provides that matter, and nothing else.
func checkDockerfile(t *testing.T, img *ociImage) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseDockerfile(string(src))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	final, err := finalStage(stages)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	c := img.config.Config
	if !slices.Equal(c.Entrypoint, final.entrypoint) {
		t.Errorf("Entrypoint: image %q, Dockerfile %q", c.Entrypoint, final.entrypoint)
	}
	if !slices.Equal(c.Cmd, final.cmd) {
		t.Errorf("Cmd: image %q, Dockerfile %q", c.Cmd, final.cmd)
	}
	var ports []string
	for p := range c.ExposedPorts {
		ports = append(ports, p)
	}
	sort.Strings(ports)
	sort.Strings(final.exposed)
	if !slices.Equal(ports, final.exposed) {
		t.Errorf("ExposedPorts: image %q, Dockerfile %q", ports, final.exposed)
	}
	if c.User != final.user {
		t.Errorf("User: image %q, Dockerfile USER %q", c.User, final.user)
	}

	// What the COPY lines put where: a repository file (content known) or
	// a file a stage built (only its name).
	wantFiles := map[string]string{} // image path -> repository path, "" if built
	for _, cp := range final.copies {
		from, ok := stageByName(stages, cp.from)
		if !ok {
			t.Fatalf("COPY --from=%s: no such stage", cp.from)
		}
		for _, s := range cp.srcs {
			ctxPath, inContext := contextPath(from, s)
			if !inContext {
				if strings.ContainsAny(s, "*?[") {
					t.Fatalf("COPY --from=%s %s: a glob over built files", cp.from, s)
				}
				wantFiles[imagePath(cp.dest, s, len(cp.srcs))] = ""
				checkBuiltBinary(t, img, from, s, imagePath(cp.dest, s, len(cp.srcs)))
				continue
			}
			matches, err := filepath.Glob(filepath.Join(repoRoot, ctxPath))
			if err != nil || len(matches) == 0 {
				t.Fatalf("COPY --from=%s %s: nothing matches %s in the repository (make examples?)", cp.from, s, ctxPath)
			}
			for _, m := range matches {
				wantFiles[imagePath(cp.dest, m, len(cp.srcs))] = m
			}
		}
	}

	// The example set: every examples/NAME.yaml with its NAME.bpf.o, and
	// no object without its YAML.
	yamls, _ := filepath.Glob(filepath.Join(repoRoot, "examples", "*.yaml"))
	objs, _ := filepath.Glob(filepath.Join(repoRoot, "examples", "*.bpf.o"))
	for _, y := range yamls {
		if _, err := os.Stat(strings.TrimSuffix(y, ".yaml") + ".bpf.o"); err != nil {
			t.Errorf("%s has no object: %v", y, err)
		}
	}
	for _, o := range objs {
		if _, err := os.Stat(strings.TrimSuffix(o, ".bpf.o") + ".yaml"); err != nil {
			t.Errorf("%s has no YAML (a stale object? make clean examples): %v", o, err)
		}
	}
	if len(yamls) == 0 {
		t.Fatal("no examples/*.yaml")
	}

	got := map[string]layerFile{}
	for _, f := range img.files {
		if f.hdr.Typeflag == tar.TypeReg {
			got["/"+path.Clean(f.hdr.Name)] = f
		}
	}
	for p, repoFile := range wantFiles {
		f, ok := got[p]
		if !ok {
			t.Errorf("%s: in the Dockerfile, not in the image", p)
			continue
		}
		if repoFile == "" {
			continue
		}
		want, err := os.ReadFile(repoFile)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.data, want) {
			t.Errorf("%s differs from %s", p, repoFile)
		}
		if f.hdr.Mode != 0o644 {
			t.Errorf("%s: mode %o, want 644", p, f.hdr.Mode)
		}
	}
	for p := range got {
		if _, ok := wantFiles[p]; !ok && !baseFiles[p] {
			t.Errorf("%s: in the image, not in the Dockerfile's final stage nor a base file", p)
		}
	}
	checkBase(t, img)
}

// baseFiles are what the image carries in place of distroless/static:
// names for uid 0 and 65534. Directories are checked by checkBase.
var baseFiles = map[string]bool{"/etc/passwd": true, "/etc/group": true}

// checkBase checks the stand-ins for distroless/static: /etc/passwd and
// /etc/group with root and nobody, /tmp with mode 1777, and only the
// directories the files need.
func checkBase(t *testing.T, img *ociImage) {
	dirs := map[string]int64{}
	for _, f := range img.files {
		name := "/" + path.Clean(f.hdr.Name)
		switch f.hdr.Typeflag {
		case tar.TypeDir:
			dirs[name] = f.hdr.Mode
		case tar.TypeReg:
		default:
			t.Errorf("%s: type %q, want only files and directories", name, f.hdr.Typeflag)
		}
		switch name {
		case "/etc/passwd":
			for _, want := range []string{"root:x:0:0:", "nobody:x:65534:65534:"} {
				if !bytes.Contains(f.data, []byte("\n"+want)) && !bytes.HasPrefix(f.data, []byte(want)) {
					t.Errorf("/etc/passwd lacks %q:\n%s", want, f.data)
				}
			}
		case "/etc/group":
			for _, want := range []string{"root:x:0:", "nogroup:x:65534:"} {
				if !bytes.Contains(f.data, []byte(want)) {
					t.Errorf("/etc/group lacks %q:\n%s", want, f.data)
				}
			}
		}
	}
	want := map[string]int64{"/etc": 0o755, "/examples": 0o755, "/tmp": 0o1777}
	if fmtModes(dirs) != fmtModes(want) {
		t.Errorf("directories %s, want %s", fmtModes(dirs), fmtModes(want))
	}
}

// fmtModes prints path -> mode, sorted, modes in octal.
func fmtModes(m map[string]int64) string {
	var parts []string
	for p, mode := range m {
		parts = append(parts, fmt.Sprintf("%s:%o", p, mode))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// imagePath is where COPY puts src: in dest when dest is a directory (ends
// in / or several sources), else at dest.
func imagePath(dest, src string, nsrcs int) string {
	if strings.HasSuffix(dest, "/") || nsrcs > 1 {
		return path.Join(dest, filepath.Base(src))
	}
	return dest
}

// checkBuiltBinary checks the file at p, which stage s built at src: the
// stage's RUN lines must have built it (`-o SRC`), and it must be a static
// linux/amd64 executable of this module's cmd/ebpfmon, mode 0755.
func checkBuiltBinary(t *testing.T, img *ociImage, s stage, src, p string) {
	t.Helper()
	built := ""
	for _, in := range s.instrs {
		if in.cmd == "RUN" && strings.Contains(in.args, "-o "+src+" ") {
			built = in.args
		}
	}
	if built == "" {
		t.Errorf("stage %s: no RUN builds %s (-o %s)", s.name, src, src)
	}
	for _, f := range img.files {
		if "/"+path.Clean(f.hdr.Name) != p {
			continue
		}
		if f.hdr.Mode != 0o755 {
			t.Errorf("%s: mode %o, want 755", p, f.hdr.Mode)
		}
		e, err := elf.NewFile(bytes.NewReader(f.data))
		if err != nil {
			t.Fatalf("%s: not an ELF file: %v", p, err)
		}
		if e.Machine != elf.EM_X86_64 || e.Type != elf.ET_EXEC {
			t.Errorf("%s: machine %v, type %v; want EM_X86_64 ET_EXEC", p, e.Machine, e.Type)
		}
		for _, prog := range e.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked (PT_INTERP), want static (CGO_ENABLED=0)", p)
			}
		}
		bi, err := buildinfo.Read(bytes.NewReader(f.data))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := "github.com/ebpfmon/ebpfmon/cmd/ebpfmon"; bi.Path != want {
			t.Errorf("%s: built from %s, want %s", p, bi.Path, want)
		}
		if !strings.Contains(built, "./"+strings.TrimPrefix(bi.Path, bi.Main.Path+"/")) {
			t.Errorf("%s: Dockerfile builds it with %q, not from %s", p, built, bi.Path)
		}
		return
	}
	t.Errorf("%s: not in the image", p)
}

// checkCtrImport starts a containerd of its own in a temporary root (no
// CRI plugin, its own socket) and imports the archive with ctr.
func checkCtrImport(t *testing.T, archive string) {
	testenv.Root(t)
	var bins [2]string
	for i, name := range []string{"containerd", "ctr"} {
		p, err := exec.LookPath(name)
		if err != nil {
			testenv.Unavailable(t, "%s not installed (Debian containerd; make setup installs it)", name)
		}
		bins[i] = p
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "containerd.sock")
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %q
[ttrpc]
  address = %q
[metrics]
  address = ""
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, sock+".ttrpc")
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	daemon := exec.Command(bins[0], "--config", filepath.Join(dir, "config.toml"))
	daemon.Stdout, daemon.Stderr = logFile, logFile
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = daemon.Process.Kill()
		_ = daemon.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("containerd did not come up in 15s:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}

	ctr := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, bins[1], append([]string{"--address", sock, "--namespace", "ebpfmon-test"}, args...)...).CombinedOutput()
		if err != nil {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("ctr %s: %v\n%s\ncontainerd log:\n%s", strings.Join(args, " "), err, out, log)
		}
		return string(out)
	}
	ref := "docker.io/library/ebpfmon:" + testVersion
	t.Log(strings.TrimSpace(ctr("images", "import", archive)))
	if got := strings.Fields(ctr("images", "ls", "--quiet")); !slices.Equal(got, []string{ref}) {
		t.Errorf("after import: images %q, want [%s]", got, ref)
	}
	// check: every blob present and the layer unpacked into a snapshot.
	if out := ctr("images", "check"); !strings.Contains(out, "complete (2/2)") || !strings.Contains(out, "true") {
		t.Errorf("ctr images check:\n%s", out)
	}
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fileSize(t *testing.T, p string) int64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
