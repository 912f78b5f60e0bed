package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/ebpfmon/ebpfmon/exporter"
	"github.com/ebpfmon/ebpfmon/internal/sdnotify"
)

// notifier tells systemd (Type=notify, $NOTIFY_SOCKET) when ebpfmon is
// ready, reloading and stopping; outside systemd it does nothing. A
// notification that fails is logged, never fatal: the service manager
// then times the start out, which says more than an exit would.
type notifier struct {
	sd     *sdnotify.Notifier
	logger *slog.Logger
}

// newNotifier reads $NOTIFY_SOCKET; a value it cannot use is logged and
// ignored.
func newNotifier(logger *slog.Logger) *notifier {
	sd, err := sdnotify.FromEnv()
	if err != nil {
		logger.Warn("not notifying systemd", "err", err)
	}
	return &notifier{sd: sd, logger: logger}
}

func (n *notifier) log(what string, err error) {
	if err != nil {
		n.logger.Warn("notifying systemd", "state", what, "err", err)
	}
}

// ready sends READY=1 with the configs' status: at start, once every
// config is loaded and the listener serves, and at the end of a reload.
func (n *notifier) ready(exp *exporter.Exporter) {
	n.log("READY=1", n.sd.Ready(configStatus(exp)))
}

// reloading sends RELOADING=1 before a reload.
func (n *notifier) reloading(trigger string) {
	n.log("RELOADING=1", n.sd.Reloading("reloading configs ("+trigger+")"))
}

// stopping sends STOPPING=1 as the shutdown begins.
func (n *notifier) stopping() {
	n.log("STOPPING=1", n.sd.Stopping("stopping: detaching programs"))
}

// status sends a STATUS= line.
func (n *notifier) status(s string) {
	n.log("STATUS", n.sd.Status(s))
}

// configStatus is the STATUS= line systemctl status shows: "N configs
// loaded, M failed", then the failed ones' names.
func configStatus(exp *exporter.Exporter) string {
	failed := exp.Failed()
	s := fmt.Sprintf("%d configs loaded, %d failed", len(exp.Units()), len(failed))
	if len(failed) > 0 {
		s += ": " + strings.Join(failed, ", ") + " (see the log)"
	}
	return s
}
