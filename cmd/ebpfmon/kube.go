package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/ebpfmon/ebpfmon/decoder"
	"github.com/ebpfmon/ebpfmon/kube"
)

// kubeFlags configure the pod decoders' access to the Kubernetes API.
type kubeFlags struct {
	node, kubeconfig string
	grace            time.Duration
	services         bool
}

// addKubeFlags declares the --kube.* flags.
func addKubeFlags(app *kingpin.Application, f *kubeFlags) {
	app.Flag("kube.node-name", "Node whose pods the pod, pod_namespace, container and peer_pod decoders watch "+
		"(one watch, spec.nodeName=NODE): in a DaemonSet, set "+kube.NodeNameEnv+" from the downward API (fieldRef spec.nodeName). "+
		"The API is only used once a config uses one of these decoders; without API access they fall back to the pod UID "+
		"and container id from the cgroup path (and peers to \"external\"), and log that once.").
		Envar(kube.NodeNameEnv).PlaceHolder("NODE").StringVar(&f.node)
	app.Flag("kube.kubeconfig", "Kubeconfig file for API access from outside the cluster (a host run); "+
		"default: the in-cluster config of the pod's service account.").PlaceHolder("FILE").StringVar(&f.kubeconfig)
	app.Flag("kube.pod-grace", "How long a deleted pod (its cgroup id, its IP, and a deleted service's ClusterIP) keeps resolving, "+
		"so that the last counts of its series keep their labels (the cgroup decoder keeps a removed cgroup's path as long); 0: not at all.").
		Default(kube.DefaultGrace.String()).SetValue(durationValue("kube.pod-grace", &f.grace))
	app.Flag("kube.services", "Also watch services, cluster-wide, so that peer_pod names ClusterIPs \"namespace/service\" "+
		"(needs list and watch on services); --no-kube.services: only pods, ClusterIPs are unknown peers.").
		Default("true").BoolVar(&f.services)
}

// validate checks the --kube.* values.
func (f *kubeFlags) validate() error {
	if f.grace < 0 {
		return fmt.Errorf("--kube.pod-grace %s: want a duration >= 0 such as 5m", f.grace)
	}
	return nil
}

// envOption returns the decoder.Env option that makes the pod decoders'
// Resolver, when the first of them is built, with informers that run until
// ctx ends. It reads --kube.kubeconfig now, so that a bad file is reported
// at start; that makes no API request.
func (f *kubeFlags) envOption(ctx context.Context, logger *slog.Logger) (decoder.Option, error) {
	opts := kube.Options{Node: f.node, Grace: f.grace, Services: f.services, Logger: logger.With("component", "kube")}
	if f.grace == 0 {
		opts.Grace = -1 // kube's "none"; its 0 is the default
	}
	if f.kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kube.kubeconfig: %w", err)
		}
		opts.Config = cfg
	}
	// client-go logs through klog: route it to our logger, one format.
	klog.SetSlogLogger(logger.With("component", "client-go"))
	return decoder.WithKube(ctx, opts), nil
}

// cgroupGraceOption returns the decoder.Env option that keeps removed
// cgroups resolving for --kube.pod-grace: the pod decoders see a pod only
// through its cgroup's path.
func (f *kubeFlags) cgroupGraceOption() decoder.Option { return decoder.WithCgroupGrace(f.grace) }
