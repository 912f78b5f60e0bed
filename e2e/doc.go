// Package e2e holds end-to-end tests: they build the ebpfmon binary, run it
// as root on the bundled examples against the real kernel, generate real
// events and assert on what /metrics serves over HTTP.
package e2e
