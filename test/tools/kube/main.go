// Command kapi is a busybox-style multi-call binary holding the real
// kube-apiserver, etcd, kubectl, kube-controller-manager and kubelet, so that
// the end-to-end suites (test/e2e/cluster, test/e2e/kubelet) run against an
// unmodified control plane and node agent built from the Go module proxy
// alone. One binary instead of five saves four ~150 MB links; the controller
// manager approves and signs the kubelet's bootstrap CSRs as in a real cluster.
//
// Dispatch is on the base name of argv[0] (for symlinks named kube-apiserver,
// etcd, kubectl, kube-controller-manager or kubelet) or, when called as kapi, on the first argument:
//
//	kapi kube-apiserver --etcd-servers ...
//	kapi etcd --data-dir ...
//	kapi kubectl get nodes
//	kapi kube-controller-manager --controllers csrapproving,csrsigning ...
//	kapi kubelet --config ...
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	etcdmain "go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanagerapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kubeletapp "k8s.io/kubernetes/cmd/kubelet/app"
)

const usage = "usage: kapi <kube-apiserver|etcd|kubectl|kube-controller-manager|kubelet> [args...]"

func main() {
	name := filepath.Base(os.Args[0])
	switch name {
	case "kube-apiserver", "etcd", "kubectl", "kube-controller-manager", "kubelet":
	default:
		if len(os.Args) < 2 {
			fmt.Fprintln(os.Stderr, usage)
			os.Exit(2)
		}
		// Shift so that each tool sees its own name as argv[0], as it would
		// when installed on its own; cobra and etcd both parse os.Args[1:].
		os.Args = os.Args[1:]
		name = os.Args[0]
	}
	switch name {
	case "kube-apiserver":
		os.Exit(cli.Run(apiserverapp.NewAPIServerCommand()))
	case "etcd":
		etcdmain.Main(os.Args)
	case "kubectl":
		// kubectl reports its own errors through CheckErr (exit codes and
		// messages match the upstream binary); RunNoErrOutput avoids printing twice.
		if err := cli.RunNoErrOutput(kubectlcmd.NewDefaultKubectlCommand()); err != nil {
			kubectlutil.CheckErr(err)
		}
	case "kube-controller-manager":
		os.Exit(cli.Run(controllermanagerapp.NewControllerManagerCommand()))
	case "kubelet":
		// As cmd/kubelet/kubelet.go does: the command owns its context.
		os.Exit(cli.Run(kubeletapp.NewKubeletCommand(context.Background())))
	case "-h", "--help", "help":
		fmt.Println(usage)
	default:
		fmt.Fprintf(os.Stderr, "kapi: unknown command %q\n%s\n", name, usage)
		os.Exit(2)
	}
}
