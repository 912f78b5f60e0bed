package main

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/ebpfmon/ebpfmon/exporter"
	"github.com/ebpfmon/ebpfmon/internal/sdnotify"
)

// notifier tells systemd (Type=notify, $NOTIFY_SOCKET) when ebpfmon is
// ready, reloading and stopping; outside systemd it does nothing. A
// notification that fails is logged, never fatal: the service manager
// then times the start out, which says more than an exit would.
//
// A reload's RELOADING=1 and READY=1 come in pairs, one reload at a time
// (systemd takes the first READY=1 as the end of every reload), and
// nothing but STATUS= follows STOPPING=1.
type notifier struct {
	sd       *sdnotify.Notifier
	logger   *slog.Logger
	reloadMu sync.Mutex // held from RELOADING=1 to its READY=1
	mu       sync.Mutex // guards stopped
	stopped  bool
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

// ready sends READY=1 with the configs' status, once every config is
// loaded and the listener serves.
func (n *notifier) ready(exp *exporter.Exporter) {
	n.unlessStopped("READY=1", func() error { return n.sd.Ready(configStatus(exp)) })
}

// reload runs reload between RELOADING=1 and READY=1 with the configs'
// status; reloads asked for at once run one after the other.
func (n *notifier) reload(trigger string, exp *exporter.Exporter, reload func()) {
	n.reloadMu.Lock()
	defer n.reloadMu.Unlock()
	n.unlessStopped("RELOADING=1", func() error { return n.sd.Reloading("reloading configs (" + trigger + ")") })
	reload()
	n.ready(exp)
}

// stopping sends STOPPING=1 as the shutdown begins.
func (n *notifier) stopping() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.stopped = true
	n.log("STOPPING=1", n.sd.Stopping("stopping: detaching programs"))
}

// unlessStopped sends a state with send, unless STOPPING=1 was sent: a
// reload that ends during the shutdown must not say ready again.
func (n *notifier) unlessStopped(state string, send func() error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.stopped {
		n.log(state, send())
	}
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
