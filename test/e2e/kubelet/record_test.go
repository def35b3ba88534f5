package kubelet_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The recording format, replayed by test/replay without a kubelet:
//
//	# kubelet-doctor recording of the real kubelet (test/e2e/kubelet)
//	# kubelet: v1.36.3
//	# scenario: ca-mismatch
//	# true: KubeletCATrustProblem            (conditions that must be True)
//	# pending: KubeletRegistrationProblem    (wrongly True today; see the suite)
//	# now: 45.000000                         (seconds after the first entry)
//	# boot-grace: 20s
//	OFFSET<TAB>KIND<TAB>PID<TAB>MESSAGE
//
// OFFSET is seconds after the first entry (µs precision), KIND kubelet or
// systemd, MESSAGE escaped with \\, \t, \n and \r. The scenario's temporary
// directory is replaced by /srv/kd-e2e so that recordings do not depend on
// where the suite ran.
type recording struct {
	version, scenario string
	want, pending     []string
	start, now        time.Time
	grace             time.Duration
	entries           []record
}

const recordedBase = "/srv/kd-e2e"

var escaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

func (r *recording) encode(base string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# kubelet-doctor recording of the real kubelet (test/e2e/kubelet)\n")
	fmt.Fprintf(&b, "# kubelet: %s\n# scenario: %s\n", r.version, r.scenario)
	fmt.Fprintf(&b, "# true: %s\n# pending: %s\n", strings.Join(r.want, ","), strings.Join(r.pending, ","))
	fmt.Fprintf(&b, "# now: %.6f\n# boot-grace: %s\n", r.now.Sub(r.start).Seconds(), r.grace)
	for _, e := range r.entries {
		msg := strings.ReplaceAll(e.msg, base, recordedBase)
		fmt.Fprintf(&b, "%.6f\t%s\t%d\t%s\n", e.at.Sub(r.start).Seconds(), e.kind, e.pid, escaper.Replace(msg))
	}
	return b.String()
}

// save writes the recording to testdata/VERSION/SCENARIO.tsv.
func (r *recording) save(base string) (string, error) {
	dir := filepath.Join("testdata", r.version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, r.scenario+".tsv")
	return path, os.WriteFile(path, []byte(r.encode(base)), 0o644)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
