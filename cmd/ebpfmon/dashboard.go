package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kingpin/v2"

	"github.com/ebpfmon/ebpfmon/config"
	"github.com/ebpfmon/ebpfmon/dashboard"
)

// dashboardCommand is the command that writes a Grafana dashboard.
const dashboardCommand = "dashboard"

// addDashboardCommand adds `ebpfmon dashboard` and its --output flag; it
// reads the configs named by --config.dir, --config.names (or
// --config.names-file) and --config.extra-dir, and --metrics.namespace.
func addDashboardCommand(app *kingpin.Application, f *flags) {
	cmd := app.Command(dashboardCommand, "Write a Grafana dashboard (JSON) for the configs: ebpfmon's health, "+
		"a rate panel per counter, a heatmap and p50/p90/p99 per histogram. Reads only the NAME.yaml files: "+
		"no BPF object, kernel or privilege needed.")
	cmd.Flag("output", "File to write the dashboard to (-: standard output).").Short('o').Default("-").PlaceHolder("FILE").StringVar(&f.dashboardOutput)
}

// runDashboard writes the dashboard of the configs f names to
// --output (or stdout) and returns the exit status: 1 on an error.
func runDashboard(f *flags, stdout io.Writer) int {
	if err := writeDashboard(f, stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ebpfmon dashboard:", err)
		return 1
	}
	return 0
}

func writeDashboard(f *flags, stdout io.Writer) error {
	cfgs, err := dashboardConfigs(f)
	if err != nil {
		return err
	}
	out, err := dashboard.JSON(cfgs, dashboard.Options{Namespace: f.namespace})
	if err != nil {
		return err
	}
	if f.dashboardOutput == "-" {
		_, err = stdout.Write(out)
		return err
	}
	if err := os.WriteFile(f.dashboardOutput, out, 0o644); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}

// dashboardConfigs loads the configs serve would run: --config.names (or
// those of --config.names-file, or every NAME.yaml) of --config.dir, then
// every config of each --config.extra-dir. Every problem is returned at
// once.
func dashboardConfigs(f *flags) ([]*config.Config, error) {
	names, err := f.configNames, error(nil)
	switch {
	case names != nil:
	case f.configNamesFile != "":
		names, err = config.ReadNames(f.configNamesFile)
	default:
		names, err = config.Names(f.configDir)
	}
	if err != nil {
		return nil, fmt.Errorf("--config.dir %s: %w", f.configDir, err)
	}
	cfgs, errs := loadAll(f.configDir, names)
	for _, dir := range f.configExtraDirs {
		extra, err := config.Names(dir)
		if err != nil {
			errs = append(errs, fmt.Errorf("--config.extra-dir %s: %w", dir, err))
			continue
		}
		more, moreErrs := loadAll(dir, extra)
		cfgs, errs = append(cfgs, more...), append(errs, moreErrs...)
	}
	return cfgs, errors.Join(errs...)
}

func loadAll(dir string, names []string) ([]*config.Config, []error) {
	var cfgs []*config.Config
	var errs []error
	for _, name := range names {
		cfg, err := config.Load(dir, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cfgs = append(cfgs, cfg)
	}
	return cfgs, errs
}
