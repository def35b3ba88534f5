package kubeletconfig

// Config is the part of the v1beta1 KubeletConfiguration the checks read,
// with the same JSON names and kinds (TestConfigFieldsAreSchemaFields).
type Config struct {
	CgroupDriver   string   `json:"cgroupDriver,omitempty"`
	ClusterDNS     []string `json:"clusterDNS,omitempty"`
	ClusterDomain  string   `json:"clusterDomain,omitempty"`
	StaticPodPath  string   `json:"staticPodPath,omitempty"`
	Authentication struct {
		X509 struct {
			ClientCAFile string `json:"clientCAFile,omitempty"`
		} `json:"x509"`
		Webhook struct {
			Enabled *bool `json:"enabled,omitempty"`
		} `json:"webhook"`
		Anonymous struct {
			Enabled *bool `json:"enabled,omitempty"`
		} `json:"anonymous"`
	} `json:"authentication"`
	Authorization struct {
		Mode string `json:"mode,omitempty"`
	} `json:"authorization"`
	RotateCertificates       bool              `json:"rotateCertificates,omitempty"`
	ServerTLSBootstrap       bool              `json:"serverTLSBootstrap,omitempty"`
	TLSCertFile              string            `json:"tlsCertFile,omitempty"`
	TLSPrivateKeyFile        string            `json:"tlsPrivateKeyFile,omitempty"`
	FeatureGates             map[string]bool   `json:"featureGates,omitempty"`
	ContainerRuntimeEndpoint string            `json:"containerRuntimeEndpoint"`
	ResolverConfig           *string           `json:"resolvConf,omitempty"`
	KubeReserved             map[string]string `json:"kubeReserved,omitempty"`
	SystemReserved           map[string]string `json:"systemReserved,omitempty"`
	EvictionHard             map[string]string `json:"evictionHard,omitempty"`
	KubeReservedCgroup       string            `json:"kubeReservedCgroup,omitempty"`
	SystemReservedCgroup     string            `json:"systemReservedCgroup,omitempty"`
	EnforceNodeAllocatable   []string          `json:"enforceNodeAllocatable,omitempty"`
	FailSwapOn               *bool             `json:"failSwapOn,omitempty"`
}
