package decoder

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/ebpfmon/ebpfmon/config"
)

// majorMinorDecoder (YAML "majorminor") takes a raw 4-byte device number in
// the kernel's new_encode_dev() layout, the one ebpf_exporter's examples
// build with MKDEV(ma, mi) = (mi & 0xff) | (ma << 8) | ((mi & ~0xff) << 12),
// and outputs the block device name: 8:0 -> "sda". The name comes from
// /sys/dev/block/MAJOR:MINOR/uevent (DEVNAME), else /proc/partitions. An
// unknown device gives "unknown:MAJOR:MINOR", as in ebpf_exporter. Found
// names are cached; unknown ones are looked up again next time.
type majorMinorDecoder struct {
	env   *Env
	mu    sync.Mutex
	names map[uint32]string
}

func newMajorMinor(_ config.Decoder, env *Env) (Decoder, error) {
	return &majorMinorDecoder{env: env, names: map[uint32]string{}}, nil
}

func (d *majorMinorDecoder) Decode(in []byte) ([]byte, error) {
	if len(in) != 4 {
		return nil, fmt.Errorf("want 4 bytes, got %d", len(in))
	}
	dev := binary.NativeEndian.Uint32(in)
	major, minor := (dev&0xfff00)>>8, (dev&0xff)|((dev>>12)&0xfff00)
	d.mu.Lock()
	name, ok := d.names[dev]
	d.mu.Unlock()
	if ok {
		return []byte(name), nil
	}
	name, err := d.lookup(major, minor)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return fmt.Appendf(nil, "unknown:%d:%d", major, minor), nil
	}
	d.mu.Lock()
	d.names[dev] = name
	d.mu.Unlock()
	return []byte(name), nil
}

// lookup returns the device name, "" when neither source knows it.
func (d *majorMinorDecoder) lookup(major, minor uint32) (string, error) {
	uevent := filepath.Join(d.env.sysDevBlock(), fmt.Sprintf("%d:%d", major, minor), "uevent")
	data, err := os.ReadFile(uevent)
	if err == nil {
		if name := ueventDevName(data); name != "" {
			return name, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading %s: %w", uevent, err)
	}
	return partitionName(d.env.partitionsPath(), major, minor)
}

// ueventDevName returns the DEVNAME value of a uevent file.
func ueventDevName(data []byte) string {
	for line := range bytes.Lines(data) {
		if name, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("DEVNAME=")); ok {
			return string(name)
		}
	}
	return ""
}

// partitionName finds a device in /proc/partitions ("major minor #blocks
// name" rows). A missing file is not an error.
func partitionName(path string, major, minor uint32) (string, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer f.Close()
	wantMajor, wantMinor := strconv.FormatUint(uint64(major), 10), strconv.FormatUint(uint64(minor), 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 4 && fields[0] == wantMajor && fields[1] == wantMinor {
			return fields[3], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	return "", nil
}
