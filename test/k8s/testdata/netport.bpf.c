// SPDX-License-Identifier: GPL-2.0
// netport: examples/podnet.bpf.c with its maps, so its metrics, renamed, for the custom
// config test/k8s/pods.sh runs beside the bundled podnet (two configs may not serve one
// metric name) with constants of its own: sample_every, and port changed by helm upgrade.
#define pod_network_transmit_bytes_total k8s_e2e_netport_transmit_bytes_total
#define pod_network_transmit_packets_total k8s_e2e_netport_transmit_packets_total
#define pod_network_receive_bytes_total k8s_e2e_netport_receive_bytes_total
#define pod_network_receive_packets_total k8s_e2e_netport_receive_packets_total
#include "../../../examples/podnet.bpf.c"
