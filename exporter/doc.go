// Package exporter turns configs into Prometheus metrics. Each config is a
// Unit with its own lifecycle, in data-flow order:
//
//	spec.go       read NAME.bpf.o and check it against the YAML (no kernel)
//	load.go       load maps and programs into the kernel (CO-RE, verifier log)
//	unit.go       attach every program, collect, close
//	metric.go     per map: read raw entries (package bpfmap), decode labels
//	counter.go    sum entries into counter series
//	histogram.go  assemble cumulative histogram buckets (pure)
//	exporter.go   the prometheus.Collector over all units, with health metrics
//
// One unit failing to load, attach or read never stops the others.
package exporter
