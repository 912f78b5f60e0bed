// Package exporter turns configs into Prometheus metrics. Each config is a
// Unit with its own lifecycle, in data-flow order:
//
//	spec.go       read NAME.bpf.o and check it against the YAML (no kernel)
//	names.go      names ebpfmon and other configs export: refuse clashes
//	globalcount.go counters without labels: one count at key 0 of an array
//	load.go       load maps and programs into the kernel (CO-RE, verifier log)
//	unit.go       attach every program, gather, close
//	metric.go     per map: read raw entries (package bpfmap), then build:
//	              decode keys (cached, decoded again once a minute so that
//	              renames show; failures retried with backoff), add up
//	              equal label sets
//	slots.go      the series of a metric, resolved once per key; what keys
//	              that left had counted is carried, so series never go down
//	histogram.go  bucket layout and cumulative counts (pure)
//	series.go     the exposition (dto) form of counters and histograms
//	exporter.go   all units behind one Gatherer, plus health metrics
//
// One unit failing to load, attach or read never stops the others.
package exporter
