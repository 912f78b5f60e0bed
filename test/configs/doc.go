// Package configs tests `make configs DIR=path` (scripts/configs.sh): a
// directory of NAME.bpf.c and NAME.yaml files written by the test is
// compiled with the project's headers and flags and checked by the real
// ebpfmon --config.check, from the repository and from an installed
// layout (PREFIX/bin/ebpfmon, PREFIX/share/ebpfmon/include). A file that
// does not compile is reported by name while the others still build, and a
// YAML that does not match its object fails the check naming the field.
package configs
