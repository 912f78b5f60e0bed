package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// trigger is how a reload is asked for.
type trigger string

const (
	bySIGHUP trigger = "SIGHUP"
	byPOST   trigger = "POST /-/reload"
	byWatch  trigger = "--config.watch"
)

// triggerOf is the trigger of the n-th reload: each in turn.
func triggerOf(n int) trigger {
	return [...]trigger{bySIGHUP, byPOST, byWatch}[n%3]
}

// reloader changes one constant of one config and has ebpfmon reload it.
type reloader struct {
	dir, config, constant string
	values                [2]string // the constant's values, in turn
	pid                   int
	reloadURL             string
	client                *http.Client
	scrape                func(context.Context) (families, error)
	timeout               time.Duration
}

// reload is the n-th reload (from 0): the constant rewritten, the reload
// triggered, and waited for until ebpfmon serves the config's new
// programs. A failed reload, a reload that does not reopen the config,
// or one that takes longer than r.timeout is an error.
func (r *reloader) reload(ctx context.Context, n int) (trigger, time.Duration, error) {
	how := triggerOf(n)
	before, err := r.scrape(ctx)
	if err != nil {
		return how, 0, err
	}
	ids0 := programIDs(before, r.config)
	ok0, _ := before.value("ebpfmon_config_reloads_total", map[string]string{"result": "success"})
	failed0, _ := before.value("ebpfmon_config_reloads_total", map[string]string{"result": "failure"})
	if err := r.rewrite(r.values[(n+1)%2]); err != nil {
		return how, 0, err
	}
	t0 := time.Now()
	if err := r.trigger(ctx, how); err != nil {
		return how, 0, err
	}
	for {
		fams, err := r.scrape(ctx)
		if err != nil {
			return how, 0, err
		}
		ok, _ := fams.value("ebpfmon_config_reloads_total", map[string]string{"result": "success"})
		failed, _ := fams.value("ebpfmon_config_reloads_total", map[string]string{"result": "failure"})
		if failed > failed0 {
			return how, 0, fmt.Errorf("reload %d (%s): ebpfmon_config_reloads_total{result=\"failure\"} went from %.0f to %.0f: see ebpfmon's log", n+1, how, failed0, failed)
		}
		ids := programIDs(fams, r.config)
		if ok > ok0 && len(ids) > 0 && !slices.Equal(ids, ids0) && allAttached(fams, r.config) {
			return how, time.Since(t0), nil
		}
		if time.Since(t0) > r.timeout {
			return how, 0, fmt.Errorf("reload %d (%s) of config %s not done within %s: reloads_total{result=\"success\"} %.0f -> %.0f, program ids %v -> %v",
				n+1, how, r.config, r.timeout, ok0, ok, ids0, ids)
		}
		select {
		case <-ctx.Done():
			return how, 0, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// rewrite sets the constant in the config's YAML to value, replacing the
// file in one rename (as an editor or a ConfigMap update does).
func (r *reloader) rewrite(value string) error {
	path := filepath.Join(r.dir, r.config+".yaml")
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	text, err := setConstant(old, r.constant, value)
	if err != nil {
		return fmt.Errorf("reload: %s: %w", path, err)
	}
	tmp := path + ".soak-tmp"
	if err := os.WriteFile(tmp, text, 0o644); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	return nil
}

// setConstant returns yaml with the constant name, in the top-level
// constants: section, set to value. It must be there once.
func setConstant(yaml []byte, name, value string) ([]byte, error) {
	lines := strings.Split(string(yaml), "\n")
	in, found := false, 0
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case strings.HasPrefix(line, "constants:"):
			in = true
			continue
		case line != "" && trimmed == line && line[0] != '#':
			in = false // the next top-level key
		}
		key, _, ok := strings.Cut(trimmed, ":")
		if in && ok && trimmed != line && key == name {
			lines[i] = line[:len(line)-len(trimmed)] + name + ": " + value
			found++
		}
	}
	if found != 1 {
		return nil, fmt.Errorf("constant %s found %d times in the constants: section, want once", name, found)
	}
	return []byte(strings.Join(lines, "\n")), nil
}

// trigger asks ebpfmon for a reload.
func (r *reloader) trigger(ctx context.Context, how trigger) error {
	switch how {
	case bySIGHUP:
		if err := syscall.Kill(r.pid, syscall.SIGHUP); err != nil {
			return fmt.Errorf("reload: SIGHUP to %d: %w", r.pid, err)
		}
	case byPOST:
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.reloadURL, nil)
		if err != nil {
			return fmt.Errorf("reload: %w", err)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			return fmt.Errorf("reload: POST %s: %w", r.reloadURL, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("reload: POST %s: HTTP %s:\n%s", r.reloadURL, resp.Status, body)
		}
		if !changed(string(body), r.config) {
			return fmt.Errorf("reload: POST %s: config %s not among the changed ones:\n%s", r.reloadURL, r.config, body)
		}
	case byWatch:
		// The rename is the change the watch sees.
	}
	return nil
}

// changed tells whether the "changed:" line of a /-/reload answer names
// config.
func changed(body, config string) bool {
	for line := range strings.SplitSeq(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "changed:"); ok {
			return slices.Contains(strings.Fields(rest), config)
		}
	}
	return false
}

// programIDs are the ids of the config's loaded programs, sorted.
func programIDs(fams families, config string) []string {
	var ids []string
	fams.each("ebpfmon_ebpf_program_info", func(l map[string]string, _ float64) {
		if l["config"] == config {
			ids = append(ids, l["id"])
		}
	})
	slices.Sort(ids)
	return ids
}

// allAttached tells whether every program of the config is attached.
func allAttached(fams families, config string) bool {
	n := 0
	all := true
	fams.each("ebpfmon_ebpf_program_attached", func(l map[string]string, v float64) {
		if l["config"] == config {
			n++
			all = all && v == 1
		}
	})
	return n > 0 && all
}
