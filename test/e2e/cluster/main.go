// Command cluster is the e2e harness's multi-call binary: one build of the official
// k8s.io/kubernetes components (pinned in go.mod) plus an embedded etcd.
//
//	cluster etcd --data-dir DIR --listen-client URL
//	cluster kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy|kubelet|kubectl [flags]
//
// The component is chosen by the first argument, or by the name the binary is invoked as
// (build/e2e/bin/kubectl is a symlink to it), like the old hyperkube.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	_ "time/tzdata" // CronJob time zones, as the upstream mains do

	"github.com/spf13/cobra"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cluster {etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy|kubelet|kubectl} [flags]")
	os.Exit(2)
}

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name == "cluster" || name == "e2e-cluster" {
		if len(args) == 0 {
			usage()
		}
		name, args = args[0], args[1:]
	}
	// cobra reads os.Args[1:] itself; present the component's own argv.
	os.Args = append([]string{name}, args...)

	var command *cobra.Command
	switch name {
	case "etcd":
		os.Exit(runEtcd(args))
	case "kubectl":
		// As upstream's kubectl main: the verbosity before the command is built, so
		// klog works while kubectl reads plugins and .kuberc.
		logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) // nolint:errcheck
		command = kubectlcmd.NewDefaultKubectlCommand()
		if err := cli.RunNoErrOutput(command); err != nil {
			kubectlutil.CheckErr(err)
		}
		os.Exit(0)
	case "kube-apiserver":
		command = apiserver.NewAPIServerCommand()
	case "kube-controller-manager":
		command = controllermanager.NewControllerManagerCommand()
	case "kube-scheduler":
		command = scheduler.NewSchedulerCommand()
	case "kube-proxy":
		command = proxy.NewProxyCommand()
	case "kubelet":
		command = kubelet.NewKubeletCommand(context.Background())
	default:
		fmt.Fprintf(os.Stderr, "cluster: unknown component %q\n", name)
		usage()
	}
	os.Exit(cli.Run(command))
}
