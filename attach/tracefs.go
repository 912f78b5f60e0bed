package attach

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// tracefsDirs are where tracefs is looked for, in the kernel's own order.
var tracefsDirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// ensureTracefs mounts tracefs at /sys/kernel/tracing when no tracefs is
// mounted, as tracepoint and kprobe attachment need it.
func ensureTracefs() error {
	for _, dir := range tracefsDirs {
		if _, err := os.Stat(dir + "/events"); err == nil {
			return nil
		}
	}
	if err := unix.Mount("tracefs", tracefsDirs[0], "tracefs", 0, ""); err != nil {
		return fmt.Errorf("tracefs is not mounted and mounting it at %s failed: %w (mount it: mount -t tracefs tracefs %s)", tracefsDirs[0], err, tracefsDirs[0])
	}
	return nil
}
