package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fixture under testdata/diagnose is written by
// `go test ./internal/troubleshoot -run TestAllIncidents -update`: every
// incident of internal/troubleshoot/testdata/incidents.yaml, seeded into
// the dataplane, as one S3 object with a header line.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

const (
	fixtureData = "testdata/diagnose/flowlogs"
	fixtureTopo = "testdata/diagnose/topology.yaml"
)

func TestDiagnoseCommand(t *testing.T) {
	out, err := runCLI(t, "diagnose", "--data", fixtureData, "--topology", fixtureTopo)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "vpcflow: warning: ") {
		t.Errorf("read warnings on a sound fixture:\n%s", out)
	}
	// A newline after a gzip object's last member: read whole, with a
	// warning.
	trailing := t.TempDir()
	err = filepath.WalkDir(fixtureData, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".gz") {
			b = append(b, '\n')
		}
		return os.WriteFile(filepath.Join(trailing, d.Name()), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if tout, err := runCLI(t, "diagnose", "--data", trailing, "--topology", fixtureTopo); err != nil || !strings.Contains(tout, "vpcflow: warning: ") ||
		!strings.Contains(tout, "port scan by 203.0.113.66: 1 sources, 39 conversations") {
		t.Errorf("trailing newline: %v\n%s", err, tout)
	}
	for _, want := range []string{
		"decided by: nacl acl-0000000000000pub egress rule * deny",
		"decided by: sg sg-000000000000000db ingress deny: no ingress rule allows tcp/3306 from 10.0.10.15",
		"aws ec2 authorize-security-group-ingress --group-id sg-000000000000000db",
		"port scan by 203.0.113.66: 1 sources, 39 conversations",
		"syn-no-synack", "connection-refused", "nat-gateway-other-az", "asymmetric-return-path",
		"port-scan", "brute-force",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Flow logs only: the seed rules, no rule names.
	out, err = runCLI(t, "diagnose", "--data", fixtureData, "--eni", "eni-0000000000000web1", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Topology bool
		Blocked  []struct {
			Interface string `json:"interface_id"`
			SeedRule  int    `json:"seed_rule"`
			Suspect   string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if rep.Topology || len(rep.Blocked) == 0 {
		t.Fatalf("report: %+v", rep)
	}
	for _, b := range rep.Blocked {
		if b.Interface != "eni-0000000000000web1" {
			t.Errorf("--eni not applied: %+v", b)
		}
	}
	// Sidecar fields.
	out, err = runCLI(t, "diagnose", "--data", fixtureData, "--topology", fixtureTopo, "-o", "annotated", "--since", "1h")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "vpcflow-decision-layer vpcflow-decision-rule\n") || !strings.Contains(out, " sg sg-000000000000000db/ingress/no-rule\n") {
		t.Errorf("annotated output:\n%s", out)
	}
	// The sidecar fields as opt-in tokens of a chosen format.
	out, err = runCLI(t, "diagnose", "--data", fixtureData, "--topology", fixtureTopo, "-o", "annotated",
		"--format", "${interface-id} ${dstport} ${action} ${vpcflow-decision-layer} ${vpcflow-decision-rule}")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "interface-id dstport action vpcflow-decision-layer vpcflow-decision-rule\n") ||
		!strings.Contains(out, "\neni-00000000000000db1 3306 REJECT sg sg-000000000000000db/ingress/no-rule\n") {
		t.Errorf("annotated output with --format:\n%.2000s", out)
	}
	for _, bad := range [][]string{{"-o", "annotated", "--format", "${nope}"}, {"--format", "${srcaddr}"}} {
		if _, err := runCLI(t, append([]string{"diagnose", "--data", fixtureData}, bad...)...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	// Expectations.
	out, err = runCLI(t, "diagnose", "--data", fixtureData, "--topology", fixtureTopo, "--expect", "10.0.30.5->203.0.113.70:443/tcp")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "no-records") || !strings.Contains(out, "missing-route") {
		t.Errorf("expectation not reported:\n%s", out)
	}
	for _, bad := range [][]string{
		{"diagnose"},
		{"diagnose", "--data", fixtureData, "-o", "xml"},
		{"diagnose", "--data", fixtureData, "--since", "yesterday"},
		{"diagnose", "--data", fixtureData, "--expect", "nope"},
		{"diagnose", "--data", "testdata/does-not-exist"},
	} {
		if _, err := runCLI(t, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestWhatIfCommand(t *testing.T) {
	patch := filepath.Join(t.TempDir(), "patch.yaml")
	if err := os.WriteFile(patch, []byte(`
security_groups:
  - id: sg-00000000000000web
    revoke_ingress:
      - {protocol: tcp, ports: 22, cidr: 0.0.0.0/0}
network_acls:
  - id: acl-0000000000000pub
    egress:
      - {rule: 130, protocol: icmp, icmp_type: 0, icmp_code: -1, cidr: 0.0.0.0/0, action: allow}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "whatif", "--data", fixtureData, "--topology", fixtureTopo, "--patch", patch)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Accepted, would be REJECTED: 2", "203.0.113.77 -> 10.0.0.10 tcp/22", "Rejected, would be ACCEPTED: 1", "icmp on eni-0000000000000web1 (response-out"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "whatif", "--data", fixtureData, "--topology", fixtureTopo, "--least-privilege")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "least_privilege_security_groups:") || !strings.Contains(out, "sg-00000000000000web") {
		t.Errorf("least privilege:\n%s", out)
	}
	if _, err := runCLI(t, "whatif", "--data", fixtureData, "--topology", fixtureTopo); err == nil {
		t.Error("no --patch nor --least-privilege: no error")
	}
}

// TestDiagnosePatchFeedsWhatif: the patch of a fix in `diagnose -o json`
// is what `whatif --patch` reads (the rules' keys are the topology's).
func TestDiagnosePatchFeedsWhatif(t *testing.T) {
	out, err := runCLI(t, "diagnose", "--data", fixtureData, "--topology", fixtureTopo, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Problems []struct {
			Fix *struct {
				Patch json.RawMessage `json:"patch"`
			} `json:"fix"`
		} `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	tried := 0
	for _, p := range rep.Problems {
		if p.Fix == nil || len(p.Fix.Patch) == 0 {
			continue
		}
		if strings.Contains(string(p.Fix.Patch), `"Rule"`) || strings.Contains(string(p.Fix.Patch), `"Protocol"`) {
			t.Errorf("patch with Go field names: %s", p.Fix.Patch)
		}
		patch := filepath.Join(t.TempDir(), "patch.json")
		os.WriteFile(patch, p.Fix.Patch, 0o644)
		if wout, err := runCLI(t, "whatif", "--data", fixtureData, "--topology", fixtureTopo, "--patch", patch); err != nil {
			t.Errorf("whatif --patch %s: %v\n%s", p.Fix.Patch, err, wout)
		}
		tried++
	}
	if tried < 2 {
		t.Errorf("only %d fixes with a patch in the fixture's diagnosis", tried)
	}
}
