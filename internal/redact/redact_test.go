package redact

import (
	"strings"
	"testing"
)

// canary is a secret no output may contain; every form below plants it.
const canary = "C4N4RYs3cr3tVALUE"

// forms are the reviewed list: one line per secret form String removes,
// with the canary (or a secret built around it) planted in it. The second
// field is what must be left of the line around the secret, to show the
// redaction keeps the context a reader needs.
var forms = []struct {
	name   string
	line   string
	secret string // what must not survive (default canary)
	keep   string // a part that must survive
}{
	{"bootstrap token anywhere", "stat /etc/kubernetes/c4n4ry.0123456789abcdef.conf: no such file", "c4n4ry.0123456789abcdef", "no such file"},
	{"bootstrap token as --token value", "kubeadm join --token c4n4ry.0123456789abcdef 10.0.0.1:6443", "c4n4ry.0123456789abcdef", "10.0.0.1:6443"},
	{"bearer token", `Authorization: Bearer ` + canary + ` rejected`, "", "rejected"},
	{"bearer anywhere", `invalid bearer ` + canary, "", "invalid"},
	{"Authorization: Basic", `header Authorization: Basic ` + canary + `== sent`, "", "sent"},
	{"authorization JSON header", `{"Authorization":"Basic ` + canary + `"}`, "", "Authorization"},
	{"aws_secret_access_key=", `aws_secret_access_key=` + canary, "", "aws_secret_access_key"},
	{"AWS_SECRET_ACCESS_KEY env", `AWS_SECRET_ACCESS_KEY="` + canary + `" set`, "", "set"},
	{"AWS access key id", `using key AKIAC4N4RYC4N4RY1234 for ecr`, "AKIAC4N4RYC4N4RY1234", "for ecr"},
	{"AWS temporary key id", `ASIAC4N4RYC4N4RY1234`, "ASIAC4N4RYC4N4RY1234", ""},
	{"JSON password", `{"user":"admin","password":"` + canary + `"}`, "", `"user":"admin"`},
	{"JSON password with spaces and escapes", `{"password": "a b \" ` + canary + `"}`, "", ""},
	{"JSON secret", `{"secret": "` + canary + `"}`, "", ""},
	{"JSON token", `{"token":"` + canary + `"}`, "", ""},
	{"klog-escaped JSON password", `err="body: {\"password\":\"` + canary + `\"}"`, "", "body"},
	{"YAML password", "password: " + canary, "", "password"},
	{"YAML token (kubeconfig)", "    token: " + canary, "", ""},
	{"YAML client-key-data", "    client-key-data: " + canary + "==", "", "client-key-data"},
	{"key=value token", "https://x/?token=" + canary + "&a=b", "", "&a=b"},
	{"access_token=", "access_token=" + canary + " expires_in=3600", "", "expires_in=3600"},
	{"client_secret with colon", "client_secret:" + canary, "", ""},
	{"client_secret with spaced equals", "client_secret = " + canary, "", ""},
	{"api_key", "api_key=" + canary, "", ""},
	{"apiKey JSON", `{"apiKey": "` + canary + `"}`, "", ""},
	{"private_key", "private_key=" + canary, "", ""},
	{"secret_key", "SECRET_KEY: '" + canary + " x'", "", ""},
	{"session token header", "X-Amz-Security-Token: " + canary, "", ""},
	{"password= in a command line", "mount -o username=u,password=" + canary + " //srv/share", "", "//srv/share"},
	{"--password flag", "--password " + canary, "", ""},
	{"--client-secret= flag", "--client-secret=" + canary, "", ""},
	{"JWT anywhere", "token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDNE40UllzM2NyM3QifQ.c2lnQzRONFJZ rejected", "eyJzdWIiOiJDNE40UllzM2NyM3QifQ", "rejected"},
	{"JWT after token=", "token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDNE40UllzM2NyM3QifQ.c2ln", "eyJzdWIiOiJDNE40UllzM2NyM3QifQ", ""},
	{"JWT header only (cut)", "sent eyJhbGciOiJSUzI1NiIsImtpZCI6IkM0TjRSWSJ9", "eyJhbGciOiJSUzI1NiIsImtpZCI6IkM0TjRSWSJ9", "sent"},
	{"base64 PEM (client-key-data value)", "data LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCkM0TjRSWQ== end", "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCkM0TjRSWQ==", "end"},
	{"PEM block", "key -----BEGIN PRIVATE KEY-----\n" + canary + "\n-----END PRIVATE KEY----- done", "", "done"},
	{"PEM block cut", "key -----BEGIN RSA PRIVATE KEY-----\\n" + canary, "", "key"},
	{"URL password", "https://admin:" + canary + "@10.0.0.10:6443/api", "", "10.0.0.10:6443/api"},
	{"URL password with @", "https://admin:p@ss" + canary + "@10.0.0.10:6443/api", "", "10.0.0.10:6443/api"},
	{"URL password with / and :", "https://admin:a/b:" + canary + "@registry.local/v2", "", "registry.local/v2"},
	{"URL token as user", "https://" + canary + "@github.com/org/repo", "", "github.com/org/repo"},
	{"URL in klog quotes", `err="Get \"https://u:` + canary + `@h:6443/x\": EOF"`, "", "EOF"},
}

func TestCanariesNeverSurvive(t *testing.T) {
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			secret := f.secret
			if secret == "" {
				secret = canary
			}
			if !strings.Contains(f.line, secret) {
				t.Fatalf("bad table row: %q does not contain %q", f.line, secret)
			}
			got := String(f.line)
			if strings.Contains(got, secret) {
				t.Fatalf("String(%q) = %q: secret survived", f.line, got)
			}
			if !strings.Contains(got, f.keep) {
				t.Fatalf("String(%q) = %q: lost %q", f.line, got, f.keep)
			}
		})
	}
}

// TestLeavesDiagnosticsAlone: lines that hold no secret come back as they
// are, so that causes stay readable and stable.
func TestLeavesDiagnosticsAlone(t *testing.T) {
	for _, line := range []string{
		"nothing secret: 10.0.0.10:6443",
		`"Unable to register node with API server" err="Post \"https://10.0.0.10:6443/api/v1/nodes\": x509: certificate signed by unknown authority"`,
		`MountVolume.SetUp failed for volume "cfg" : secret "kube-proxy" not found`,
		`failed to run Kubelet: unable to load bootstrap kubeconfig: stat /etc/kubernetes/bootstrap-kubelet.conf: no such file or directory`,
		`--tls-private-key-file=/var/lib/kubelet/pki/kubelet.key`,
		`"Failed to pull image" image="registry.k8s.io/pause@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097"`,
		`token_file=/var/run/secrets/token`,
	} {
		if got := String(line); got != line {
			t.Errorf("String(%q) = %q, want it unchanged", line, got)
		}
	}
}

// FuzzRedact plants each form's secret between fuzzed text: the secret never
// survives, whatever surrounds it.
func FuzzRedact(f *testing.F) {
	for i := range forms {
		f.Add(uint8(i), "err=\"", "\" node=worker-1")
		f.Add(uint8(i), "", "")
	}
	f.Add(uint8(0), "password=\"", "\"")
	f.Add(uint8(3), "-----BEGIN", "\\")
	f.Fuzz(func(t *testing.T, i uint8, prefix, suffix string) {
		form := forms[int(i)%len(forms)]
		secret := form.secret
		if secret == "" {
			secret = canary
		}
		line := prefix + " " + form.line + " " + suffix
		got := String(line)
		if strings.Contains(got, secret) && !strings.Contains(prefix+suffix, secret) {
			t.Fatalf("form %q: String(%q) = %q: secret survived", form.name, line, got)
		}
	})
}
