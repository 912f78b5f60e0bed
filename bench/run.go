package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"syscall"
	"time"
)

// process is a running ebpfmon.
type process struct {
	cmd    *exec.Cmd
	url    string
	log    *bytes.Buffer
	exited chan error
}

// start execs bin with args plus a listen address on port, and waits for
// the first 200 on /metrics; it returns the time that took.
func start(ctx context.Context, bin string, port int, args ...string) (*process, time.Duration, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var log bytes.Buffer
	cmd := exec.Command(bin, append(args, "--web.listen-address="+addr, "--no-config.watch", "--log.level=warn")...)
	cmd.Stdout, cmd.Stderr = &log, &log
	exited := make(chan error, 1)
	p := &process{cmd: cmd, url: "http://" + addr + "/metrics", log: &log, exited: exited}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w (give -ebpfmon, built by make build)", bin, err)
	}
	go func() { exited <- cmd.Wait() }()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(2 * time.Minute)
	for {
		resp, err := client.Get(p.url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, time.Since(begin), nil
			}
		}
		select {
		case err := <-exited:
			return nil, 0, fmt.Errorf("%s exited before serving /metrics: %v\n%s", bin, err, log.Bytes())
		case <-deadline:
			_ = cmd.Process.Kill()
			return nil, 0, fmt.Errorf("%s: no 200 on %s within 2m\n%s", bin, p.url, log.Bytes())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return nil, 0, ctx.Err()
		case <-tick.C:
		}
	}
}

// stop ends the process with SIGTERM (which detaches its programs) and
// waits for it to go, killing it after 30s.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
