package vpc

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad checks that no input makes the loader panic, that every failure
// is an ErrInvalid with positions inside the input, and that every accepted
// topology answers its own lookups.
func FuzzLoad(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "testdata/bad/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		topo, err := Load(data, "fuzz.yaml")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error is not ErrInvalid: %v", err)
			}
			var es Errors
			if errors.As(err, &es) {
				for _, e := range es {
					if e.Line < 0 || e.Column < 0 {
						t.Fatalf("bad position in %v", e)
					}
				}
			}
			return
		}
		for _, e := range topo.Interfaces {
			if got := topo.InterfaceByPrivateIP(e.PrimaryIP); got != e {
				t.Fatalf("InterfaceByPrivateIP(%s) = %v, want %s", e.PrimaryIP, got, e.ID)
			}
			if topo.Subnet(e.SubnetID) == nil {
				t.Fatalf("interface %s has no subnet", e.ID)
			}
		}
		for _, s := range topo.Subnets {
			if topo.RouteTable(s.RouteTableID) == nil || topo.NetworkACL(s.NetworkACLID) == nil {
				t.Fatalf("subnet %s lacks route table or NACL", s.ID)
			}
		}
	})
}
