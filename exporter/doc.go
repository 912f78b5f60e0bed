// Package exporter is the collector over every config: it opens each
// config as a lifecycle.Unit and serves them all behind one Gatherer.
//
//	names.go    names ebpfmon and other configs export: refuse clashes
//	            before a config loads
//	exporter.go the Gatherer (every unit's metrics, gathered in
//	            parallel) and the health metrics of every config, failed
//	            ones too (from each unit's Health snapshot); /maps
//	reload.go   Reload: bring the loaded configs in line with the config
//	            directory, opening only what changed (by a hash of
//	            NAME.yaml and NAME.bpf.o), swapping each new unit in once
//	            attached and closing the old one once no gather holds it;
//	            the reload metrics
//	status.go   each config's state (loaded, partial, failed) and last
//	            failure with its stage: config_state, config_error_info
//	            and Status, which /status shows
//	reference.go Reference: every metric ebpfmon exports about itself,
//	            from the same declarations Collect uses (docs/metrics.md)
//
// Loading, attaching and closing one config is package lifecycle's; its
// metrics are built by package series. One unit failing to load, attach or
// read never stops the others.
package exporter
