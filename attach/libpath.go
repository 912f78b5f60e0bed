package attach

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// defaultLibraryDirs are searched after the ld.so.conf directories, like the
// dynamic loader's built-in trusted directories.
var defaultLibraryDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
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
// root/etc/ld.so.conf (following include lines) then the defaults.
func libraryDirs(root string) []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		if d != "" && !seen[d] {
			seen[d] = true
			dirs = append(dirs, filepath.Join(root, d))
		}
	}
	readLdConf(root, filepath.Join(root, "/etc/ld.so.conf"), add, 0)
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
			add(line)
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
