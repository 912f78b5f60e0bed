package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// DefaultMountInfo is the mount table FindRoot reads by default.
const DefaultMountInfo = "/proc/self/mountinfo"

// ErrNoCgroupMount is returned when the mount table has no cgroup mount.
var ErrNoCgroupMount = errors.New("cgroup: no cgroup2 or cgroup v1 mount found")

// Root is a mounted cgroup hierarchy.
type Root struct {
	// Path is the mount point, e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified.
	Path string
	// Version is 2 for cgroup2, 1 for a v1 fallback.
	Version int
}

// FindRoot reads a mountinfo file (usually [DefaultMountInfo]) and returns
// the cgroup2 mount, or else a v1 fallback as described in the package doc.
func FindRoot(mountinfo string) (Root, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return Root{}, fmt.Errorf("cgroup: %w", err)
	}
	defer f.Close()
	root, err := parseMountInfo(f)
	if err != nil {
		return Root{}, fmt.Errorf("%w (reading %s)", err, mountinfo)
	}
	return root, nil
}

func parseMountInfo(r io.Reader) (Root, error) {
	var v1, v1systemd string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		mountPoint, fsType, superOpts, ok := splitMountInfoLine(sc.Text())
		if !ok {
			continue
		}
		switch fsType {
		case "cgroup2":
			return Root{Path: mountPoint, Version: 2}, nil
		case "cgroup":
			if v1 == "" {
				v1 = mountPoint
			}
			if v1systemd == "" && hasOption(superOpts, "name=systemd") {
				v1systemd = mountPoint
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Root{}, fmt.Errorf("cgroup: %w", err)
	}
	switch {
	case v1systemd != "":
		return Root{Path: v1systemd, Version: 1}, nil
	case v1 != "":
		return Root{Path: v1, Version: 1}, nil
	}
	return Root{}, ErrNoCgroupMount
}

// splitMountInfoLine returns the mount point, filesystem type and super
// options of one mountinfo line (see proc(5)).
func splitMountInfoLine(line string) (mountPoint, fsType, superOpts string, ok bool) {
	pre, post, found := strings.Cut(line, " - ")
	if !found {
		return "", "", "", false
	}
	preFields, postFields := strings.Fields(pre), strings.Fields(post)
	if len(preFields) < 5 || len(postFields) < 1 {
		return "", "", "", false
	}
	if len(postFields) >= 3 {
		superOpts = postFields[2]
	}
	return unescapeOctal(preFields[4]), postFields[0], superOpts, true
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// unescapeOctal undoes the \ooo escapes the kernel uses for spaces, tabs,
// newlines and backslashes in mount points.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
