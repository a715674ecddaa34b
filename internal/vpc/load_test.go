package vpc

import (
	"testing"
)

func TestLoadThreeTier(t *testing.T) {
	topo, err := LoadFile("testdata/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(topo.Interfaces); got != 9 {
		t.Errorf("interfaces = %d, want 9", got)
	}
}
