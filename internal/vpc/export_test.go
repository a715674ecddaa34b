package vpc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDocumentRoundTrip: Load → Document → YAML → Load gives the same
// document again.
func TestDocumentRoundTrip(t *testing.T) {
	for _, f := range []string{"testdata/three-tier.yaml", "testdata/import/expected.yaml"} {
		t.Run(f, func(t *testing.T) {
			topo, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			doc := topo.Document()
			b, err := doc.YAML()
			if err != nil {
				t.Fatal(err)
			}
			topo2, err := Load(b, "roundtrip.yaml")
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if diff := cmp.Diff(topo2.Document(), doc); diff != "" {
				t.Errorf("round trip (-got +want):\n%s", diff)
			}
		})
	}
}
