package demo

import "testing"

func TestBundledLoads(t *testing.T) {
	sc, topo, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Incidents()) < 3 || len(topo.Interfaces) < 8 {
		t.Fatalf("%d incidents, %d interfaces", len(sc.Incidents()), len(topo.Interfaces))
	}
}
