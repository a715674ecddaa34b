package troubleshoot

import (
	"errors"
	"os"
	"testing"

	"vpcflow/internal/vpc"
)

// FuzzPatch feeds arbitrary YAML to ParsePatch and applies every patch it
// accepts to the incidents topology. It checks that a rejected patch is an
// ErrPatch, that applying fails only with a typed error (ErrPatch or the
// topology's ErrInvalid, ErrNotFound, ErrDuplicate), never a panic, and
// that a patched topology still exports to YAML that loads.
func FuzzPatch(f *testing.F) {
	f.Add([]byte(whatIfPatch))
	f.Add([]byte("security_groups:\n  - id: sg-1\n    authorise_ingress: []\n"))
	f.Add([]byte("network_acls: [{id: acl-0000000000000app, egress: [{rule: 170, protocol: icmp, icmp_type: 0, icmp_code: -1, cidr: 203.0.113.0/24, action: allow}], delete_ingress: [100, 100]}]"))
	f.Add([]byte("security_groups: [{id: sg-00000000000000web, authorize_egress: [{protocol: all, prefix_list: pl-nope}], revoke_egress: [{protocol: '-1', cidr: 0.0.0.0/0}]}]"))
	data, err := os.ReadFile("testdata/incidents.yaml")
	if err != nil {
		f.Fatal(err)
	}
	doc, err := vpc.DecodeDocument(data, "incidents.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := ParsePatch(src, "p.yaml")
		if err != nil {
			if !errors.Is(err, ErrPatch) {
				t.Fatalf("parse error %v is not ErrPatch", err)
			}
			return
		}
		topo, errs := vpc.FromDocument(doc)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if err := p.Apply(topo); err != nil {
			if !errors.Is(err, ErrPatch) && !errors.Is(err, vpc.ErrInvalid) && !errors.Is(err, vpc.ErrNotFound) && !errors.Is(err, vpc.ErrDuplicate) {
				t.Fatalf("apply error %v is not typed", err)
			}
			return
		}
		y, err := topo.Document().YAML()
		if err != nil {
			t.Fatalf("patched topology does not export: %v", err)
		}
		if _, err := vpc.Load(y, "patched.yaml"); err != nil {
			t.Fatalf("patched topology does not load: %v\n%s", err, y)
		}
	})
}

// FuzzExpectation checks that ParseExpectation never panics and that an
// accepted expectation spells itself back to the same expectation.
func FuzzExpectation(f *testing.F) {
	for _, s := range []string{"10.0.10.15->10.0.20.25:5432/tcp", "*->[2001:db8::1]:443/6", "->10.0.0.1", "10.0.0.1->10.0.0.2/icmp",
		"10.0.0.1->10.0.0.2:0/all", "x->y", "10.0.0.1->10.0.0.2:99999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, err := ParseExpectation(s)
		if err != nil {
			return
		}
		again, err := ParseExpectation(x.String())
		if err != nil || again != x {
			t.Fatalf("%q parses to %+v, spelt %q, which parses to %+v, %v", s, x, x.String(), again, err)
		}
	})
}
