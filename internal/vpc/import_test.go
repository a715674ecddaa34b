package vpc

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestImport converts the describe-* fixtures into YAML (golden
// testdata/import/expected.yaml) that loads and validates.
func TestImport(t *testing.T) {
	doc, warnings, err := ImportFiles([]string{"testdata/import"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := doc.YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/import/expected.yaml"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(got), string(want)); diff != "" {
		t.Errorf("import (-got +want):\n%s", diff)
	}
	wantWarnings := []string{
		"route table rtb-0f2a1b3c4dEXAMPLE: route to ::/0 via eigw-0a1b2c3d4eEXAMPLE is not modelled; skipped",
	}
	if diff := cmp.Diff(warnings, wantWarnings); diff != "" {
		t.Errorf("warnings (-got +want):\n%s", diff)
	}
	topo, err := Load(got, "imported.yaml")
	if err != nil {
		t.Fatalf("imported topology does not load: %v", err)
	}
	if e := topo.Interface("eni-09cc4b2558EXAMPLE"); e == nil || e.Type != "nat_gateway" {
		t.Errorf("NAT interface = %+v", e)
	}
	if e := topo.Interface("eni-0e1f2a3b4cEXAMPLE"); e == nil || e.InstanceID != "" || !e.RequesterManaged || e.Owner != "elb" {
		t.Errorf("ALB interface = %+v", e)
	}
	if e := topo.Interface("eni-0c2d3e4f5aEXAMPLE"); e == nil || e.InstanceOwner != "444455556666" || topo.ShownInstanceID(e) != "" {
		t.Errorf("interface of another account's instance = %+v", e)
	}
	if e := topo.Interface("eni-0d3e4f5a6bEXAMPLE"); e == nil || e.InstanceOwner != "111122223333" || topo.ShownInstanceID(e) != "i-0d3e4f5a6bEXAMPLE" {
		t.Errorf("another account's interface on our instance = %+v", e)
	}
	if topo.Subnet("subnet-0a1b2c3d4e5f00002").RouteTableID != "rtb-09ba434c1bEXAMPLE" {
		t.Error("subnet association lost")
	}
}

func TestImportErrors(t *testing.T) {
	_, _, err := Import([]string{"bad.json"}, map[string][]byte{"bad.json": []byte("{\n  \"Vpcs\": [\n    {\"VpcId\": 7}\n  ]\n}")})
	var es Errors
	if !errors.As(err, &es) || es[0].Line != 3 || !strings.Contains(err.Error(), "bad.json:3:") {
		t.Errorf("type error = %v", err)
	}
	_, _, err = Import([]string{"x.json"}, map[string][]byte{"x.json": []byte("{\"Subnets\": []}")})
	if err == nil || !strings.Contains(err.Error(), "no VPCs") {
		t.Errorf("no VPCs: %v", err)
	}
	if _, _, err := ImportFiles([]string{"testdata/nope"}); err == nil {
		t.Error("missing path accepted")
	}
}
