package attach

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// defaultLibraryDirs are searched after the ld.so.conf directories, like the
// dynamic loader's built-in trusted directories.
var defaultLibraryDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// defaultBinDirs are searched for bare program names after $PATH: a
// container's programs are where its image put them, whatever ebpfmon's
// own $PATH says.
var defaultBinDirs = []string{
	"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
}

// resolveBinary finds the file a uprobe or USDT PATH names, as seen from
// root (empty: the host's /):
//
//   - an absolute path is taken inside root, its symlinks resolved inside
//     root too (a container's /usr/bin/python3 -> python3.11 stays in the
//     container);
//   - a relative path holding a slash is used as given;
//   - a bare name is looked up like a shell runs a program ($PATH, then
//     the usual bin directories), then like the dynamic loader finds a
//     library (ld.so.conf, then the usual lib directories). Files that are
//     not ELF (scripts, e.g. pyenv's python3 shim) are passed over.
func resolveBinary(name, root string) (string, error) {
	switch {
	case filepath.IsAbs(name):
		return inRoot(root, name)
	case strings.Contains(name, "/"):
		return name, nil
	}
	var skipped []string // not ELF: scripts, such as pyenv's python3 shim
	bins := programDirs(os.Getenv("PATH"))
	for _, dir := range bins {
		if p, ok := regularFile(root, filepath.Join(dir, name), true); ok {
			if isELF(p) {
				return p, nil
			}
			skipped = append(skipped, p)
		}
	}
	libs := ldDirs(root)
	for _, dir := range libs {
		if p, ok := regularFile(root, filepath.Join(dir, name), false); ok && isELF(p) {
			return p, nil
		}
	}
	where := ""
	if root != "" && root != "/" {
		where = " under " + root
	}
	also := ""
	if len(skipped) > 0 {
		also = fmt.Sprintf("; skipped %s: not ELF", strings.Join(skipped, ", "))
	}
	return "", fmt.Errorf("%q not found%s: no ELF program of that name in %s, no library in %s%s (give an absolute path instead)",
		name, where, strings.Join(bins, ":"), strings.Join(libs, ":"), also)
}

// isELF says whether the file at p starts with the ELF magic.
func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var magic [4]byte
	_, err = io.ReadFull(f, magic[:])
	return err == nil && string(magic[:]) == elf.ELFMAG
}

// programDirs lists the absolute directories of path (a $PATH value), then
// the defaults it lacks.
func programDirs(path string) []string {
	var dirs []string
	seen := map[string]bool{}
	for _, d := range append(filepath.SplitList(path), defaultBinDirs...) {
		d = filepath.Clean(d)
		if filepath.IsAbs(d) && !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// regularFile resolves p inside root and says whether it is a regular
// file (and executable, if exec).
func regularFile(root, p string, exec bool) (string, bool) {
	full, err := inRoot(root, p)
	if err != nil {
		return "", false
	}
	st, err := os.Stat(full)
	if err != nil || !st.Mode().IsRegular() || (exec && st.Mode().Perm()&0o111 == 0) {
		return "", false
	}
	return full, true
}

// maxSymlinks bounds symlink resolution, like the kernel's 40.
const maxSymlinks = 40

// inRoot returns root joined with the absolute path p, after resolving the
// symlinks along p as if root were /: an absolute link target starts again
// at root, and ".." never climbs above it. Missing components end the
// resolution (opening the result reports them). An empty root, or /,
// leaves p for the kernel to resolve.
func inRoot(root, p string) (string, error) {
	if root == "" || root == "/" {
		return filepath.Clean(p), nil
	}
	var (
		done  = "/" // resolved so far, relative to root
		todo  = strings.Split(strings.TrimPrefix(filepath.Clean("/"+p), "/"), "/")
		links = 0
	)
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			done = filepath.Dir(done)
			continue
		}
		next := filepath.Join(done, c)
		target, err := os.Readlink(filepath.Join(root, next))
		if errors.Is(err, syscall.EINVAL) { // not a symlink
			done = next
			continue
		}
		if err != nil { // missing or unreadable: keep the rest as written
			return filepath.Join(append([]string{root, next}, todo...)...), nil
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links under %s", p, root)
		}
		if filepath.IsAbs(target) {
			done = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return filepath.Join(root, done), nil
}

// resolveLibrary turns a bare library name such as libc.so.6 into a path,
// searching dirs in order. A name holding a slash is returned unchanged.
func resolveLibrary(name string, dirs []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("library %q not found in %s (give an absolute path instead)", name, strings.Join(dirs, ":"))
}

// libraryDirs lists the directories the dynamic loader searches, from
// root/etc/ld.so.conf (following include lines) then the defaults, joined
// to root.
func libraryDirs(root string) []string {
	dirs := ldDirs(root)
	for i, d := range dirs {
		dirs[i] = filepath.Join(root, d)
	}
	return dirs
}

// ldDirs is libraryDirs as seen inside root.
func ldDirs(root string) []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if d != "" && !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	conf, err := inRoot(root, "/etc/ld.so.conf")
	if err == nil {
		readLdConf(root, conf, add, 0)
	}
	for _, d := range defaultLibraryDirs {
		add(d)
	}
	return dirs
}

// readLdConf reads one ld.so.conf file; depth bounds include loops.
func readLdConf(root, path string, add func(string), depth int) {
	f, err := os.Open(path)
	if err != nil || depth > 8 {
		return
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line, _, _ := strings.Cut(s.Text(), "#")
		line = strings.TrimSpace(line)
		pattern, isInclude := strings.CutPrefix(line, "include ")
		if !isInclude {
			if line != "" {
				add(filepath.Clean(line))
			}
			continue
		}
		pattern = strings.TrimSpace(pattern)
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(filepath.Dir(path), pattern)
		} else {
			pattern = filepath.Join(root, pattern)
		}
		matches, _ := filepath.Glob(pattern)
		for _, m := range matches {
			readLdConf(root, m, add, depth+1)
		}
	}
}
