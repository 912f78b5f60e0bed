package image

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction: its keyword (upper case),
// its --flags and the rest of the line.
type instruction struct {
	cmd   string
	flags map[string]string
	args  string
	line  int
}

// stage is one FROM ... [AS name] and the instructions up to the next FROM.
type stage struct {
	base, name string
	instrs     []instruction
}

// knownInstructions are the keywords of the Dockerfile reference; anything
// else is a typo the daemon would refuse.
var knownInstructions = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true,
	"EXPOSE": true, "FROM": true, "HEALTHCHECK": true, "LABEL": true, "MAINTAINER": true,
	"ONBUILD": true, "RUN": true, "SHELL": true, "STOPSIGNAL": true, "USER": true,
	"VOLUME": true, "WORKDIR": true,
}

// parseDockerfile splits src into stages: comments and blank lines dropped,
// backslash continuations joined, every instruction known.
func parseDockerfile(src string) ([]stage, error) {
	var stages []stage
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(lines[i])
			if strings.HasPrefix(next, "#") {
				next = ""
			}
			line = strings.TrimSpace(strings.TrimSuffix(line, `\`)) + " " + next
		}
		cmd, rest, _ := strings.Cut(line, " ")
		cmd = strings.ToUpper(cmd)
		if !knownInstructions[cmd] {
			return nil, fmt.Errorf("line %d: unknown instruction %q", start, cmd)
		}
		in := instruction{cmd: cmd, flags: map[string]string{}, line: start}
		rest = strings.TrimSpace(rest)
		for strings.HasPrefix(rest, "--") {
			var flag string
			flag, rest, _ = strings.Cut(rest, " ")
			k, v, _ := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
			in.flags[k] = v
			rest = strings.TrimSpace(rest)
		}
		in.args = rest
		if cmd == "FROM" {
			f := strings.Fields(rest)
			st := stage{base: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			} else if len(f) != 1 {
				return nil, fmt.Errorf("line %d: FROM %q: want IMAGE [AS NAME]", start, rest)
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if cmd == "ARG" {
				continue
			}
			return nil, fmt.Errorf("line %d: %s before the first FROM", start, cmd)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return stages, nil
}

// finalImage is what a Dockerfile's last stage sets.
type finalImage struct {
	entrypoint, cmd []string
	exposed         []string // "9435/tcp"
	user            string
	copies          []copyInstr
}

// copyInstr is one COPY of the final stage: sources in stage from ("" for
// the build context) to dest.
type copyInstr struct {
	from string
	srcs []string
	dest string
}

func finalStage(stages []stage) (finalImage, error) {
	var img finalImage
	last := stages[len(stages)-1]
	for _, in := range last.instrs {
		switch in.cmd {
		case "ENTRYPOINT", "CMD":
			var v []string
			if err := json.Unmarshal([]byte(in.args), &v); err != nil {
				return img, fmt.Errorf("line %d: %s must be the exec (JSON) form: %w", in.line, in.cmd, err)
			}
			if in.cmd == "ENTRYPOINT" {
				img.entrypoint = v
			} else {
				img.cmd = v
			}
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				img.exposed = append(img.exposed, p)
			}
		case "USER":
			img.user = in.args
		case "COPY":
			f := strings.Fields(in.args)
			if len(f) < 2 {
				return img, fmt.Errorf("line %d: COPY needs a source and a destination", in.line)
			}
			img.copies = append(img.copies, copyInstr{from: in.flags["from"], srcs: f[:len(f)-1], dest: f[len(f)-1]})
		case "ADD", "RUN", "VOLUME", "SHELL", "ONBUILD":
			return img, fmt.Errorf("line %d: %s in the final stage: the image is files copied in, nothing run", in.line, in.cmd)
		}
	}
	return img, nil
}

// stageByName returns the stage called name.
func stageByName(stages []stage, name string) (stage, bool) {
	for _, s := range stages {
		if s.name == name {
			return s, true
		}
	}
	return stage{}, false
}

// contextPath maps an absolute path inside stage s to the build-context
// path a `COPY SRC DEST` (no --from) of that stage put there: for WORKDIR
// /src and `COPY examples/ examples/`, /src/examples/x.yaml -> examples/x.yaml.
// ok is false when no such COPY covers p (a file the stage built).
func contextPath(s stage, p string) (string, bool) {
	workdir := "/"
	best, bestLen := "", -1
	for _, in := range s.instrs {
		switch in.cmd {
		case "WORKDIR":
			workdir = path.Join(workdir, in.args)
		case "COPY":
			if in.flags["from"] != "" {
				continue
			}
			f := strings.Fields(in.args)
			dest := path.Join(workdir, f[len(f)-1])
			for _, src := range f[:len(f)-1] {
				// A directory source copies its contents into dest; a
				// file source lands in dest (a directory when it ends in /).
				ctx := path.Clean(src)
				target := dest
				if !strings.HasSuffix(src, "/") && src != "." && strings.HasSuffix(f[len(f)-1], "/") {
					target = path.Join(dest, path.Base(src))
				}
				if (p == target || strings.HasPrefix(p, target+"/") || target == "/") && len(target) > bestLen {
					rel := strings.TrimPrefix(strings.TrimPrefix(p, target), "/")
					best, bestLen = path.Join(ctx, rel), len(target)
				}
			}
		}
	}
	return best, bestLen >= 0
}

func TestParseDockerfile(t *testing.T) {
	const src = `# comment
ARG X=1
FROM debian:bookworm AS bpf
WORKDIR /src
COPY include/ include/
COPY examples/ examples/
RUN make \
    examples
FROM golang AS go
WORKDIR /src
COPY . .
RUN go build -o /bin/x ./cmd/x
FROM scratch
COPY --from=go /bin/x /x
COPY --from=bpf /src/examples/*.yaml /examples/
EXPOSE 9435 53/udp
USER 0:0
ENTRYPOINT ["/x"]
CMD ["--a=b"]
`
	stages, err := parseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 3 || stages[0].name != "bpf" || stages[2].base != "scratch" {
		t.Fatalf("stages %+v", stages)
	}
	if got := stages[0].instrs[3].args; got != "make examples" {
		t.Errorf("continuation: %q", got)
	}
	img, err := finalStage(stages)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%q %q %q %q", img.entrypoint, img.cmd, img.exposed, img.user); got != `["/x"] ["--a=b"] ["9435/tcp" "53/udp"] "0:0"` {
		t.Errorf("final stage %+v", img)
	}
	if len(img.copies) != 2 || img.copies[0].from != "go" || img.copies[1].dest != "/examples/" {
		t.Errorf("copies %+v", img.copies)
	}
	for _, tc := range []struct {
		stage, path, want string
		ok                bool
	}{
		{"bpf", "/src/examples/a.yaml", "examples/a.yaml", true},
		{"bpf", "/src/include/vmlinux.h", "include/vmlinux.h", true},
		{"bpf", "/src/other", "", false},
		{"go", "/src/go.mod", "go.mod", true},
		{"go", "/bin/x", "", false},
	} {
		s, _ := stageByName(stages, tc.stage)
		got, ok := contextPath(s, tc.path)
		if got != tc.want || ok != tc.ok {
			t.Errorf("contextPath(%s, %s) = %q, %v; want %q, %v", tc.stage, tc.path, got, ok, tc.want, tc.ok)
		}
	}

	for _, bad := range []string{
		"RUN true",
		"FROM a\nCOPPY x y",
		"FROM a\nENTRYPOINT /x",
		"FROM a\nRUN rm -rf /",
	} {
		stages, err := parseDockerfile(bad)
		if err == nil {
			_, err = finalStage(stages)
		}
		if err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
