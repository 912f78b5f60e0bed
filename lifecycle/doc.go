// Package lifecycle owns the life of one config in the kernel: a Unit.
// Open runs its stages in order, and the first that fails closes what the
// earlier ones opened:
//
//  1. spec.go        read NAME.bpf.o and check it against the YAML (no
//     kernel): maps, key layouts, kaddrs constants, the constants' types
//     and values, cgroup_id_map, program sections
//  2. unit.go        build the config's metrics (package series) and their
//     decoders, still without the kernel
//  3. kaddrs.go      set the kaddr_SYMBOL constants from /proc/kallsyms;
//     constants.go   set the constants from the YAML (volatile const
//     globals: integers, bool, enums, char arrays)
//  4. load.go        load maps and programs into the kernel (CO-RE, verifier
//     log); pin.go   against the config's pinned maps (--bpf.pin-path),
//     pinning those that had no compatible pin
//  5. unit.go        bind the metrics to the loaded maps; start the event
//     counters' readers
//  6. cgroupidmap.go fill the cgroup_id_map filter map and keep it current
//     (cgroupidmap_pods.go: the pods a selector selects, from package kube)
//  7. unit.go        attach every program (package attach); a program that
//     fails to attach does not fail the unit (AttachErrors)
//
// Then Gather reads the unit's maps at each scrape, Health and DebugMaps
// tell the collector (package exporter) how it goes, and Close undoes the
// stages in reverse.
//
// Coming stages have their place in this order: cardinality caps are limits given to the
// metrics when they are built (2). A hot reload of one config (package exporter's Reload)
// opens a new Unit and closes the old one once the new one is attached,
// so a failed reload leaves the old one running.
package lifecycle
