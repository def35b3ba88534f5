module github.com/kubelet-doctor/kubelet-doctor

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/sirupsen/logrus v1.10.2
	golang.org/x/sys v0.46.0
	k8s.io/node-problem-detector v1.36.0
)

require github.com/spf13/pflag v1.0.10 // indirect
