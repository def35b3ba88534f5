module github.com/kubelet-doctor/kubelet-doctor

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0
	github.com/sirupsen/logrus v1.10.2
	golang.org/x/net v0.56.0
	golang.org/x/sys v0.46.0
	k8s.io/node-problem-detector v1.36.0
	sigs.k8s.io/yaml v1.6.0
)

require (
	github.com/spf13/pflag v1.0.10 // indirect
	go.yaml.in/yaml/v2 v2.4.4 // indirect
	golang.org/x/text v0.39.0 // indirect
)
