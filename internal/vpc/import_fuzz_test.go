package vpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzImport feeds arbitrary JSON to Import as one `aws ec2 describe-*`
// output. It checks that
//   - a rejected input is an ErrInvalid whose line and column, when set,
//     lie inside the input;
//   - an imported document marshals to YAML that decodes to the same
//     document;
//   - loading that YAML never panics and fails only with ErrInvalid (the
//     import does not validate what AWS would never return).
func FuzzImport(f *testing.F) {
	files, _ := filepath.Glob("testdata/import/*.json")
	all := map[string]json.RawMessage{}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			f.Fatal(err)
		}
		for k, v := range m {
			all[k] = v
		}
	}
	merged, _ := json.Marshal(all)
	f.Add(merged)
	f.Add([]byte("{\n  \"Vpcs\": [\n    {\"VpcId\": 7}\n  ]\n}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, _, err := Import([]string{"d.json"}, map[string][]byte{"d.json": data})
		if err != nil {
			var es Errors
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &es) {
				t.Fatalf("error %v (%T) is not ErrInvalid", err, err)
			}
			for _, e := range es {
				if e.Line < 0 || e.Line > bytes.Count(data, []byte("\n"))+1 || (e.Line > 0) != (e.Column > 0) {
					t.Fatalf("position %d:%d outside the input: %v", e.Line, e.Column, e)
				}
			}
			return
		}
		y, err := doc.YAML()
		if err != nil {
			t.Fatalf("imported document does not marshal: %v", err)
		}
		again, err := DecodeDocument(y, "imported.yaml")
		if err != nil {
			t.Fatalf("imported YAML does not decode: %v\n%s", err, y)
		}
		if diff := cmp.Diff(doc, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("YAML round trip changed the document (-imported +decoded):\n%s\n%s", diff, y)
		}
		if _, err := Load(y, "imported.yaml"); err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("load error %v is not ErrInvalid", err)
		}
	})
}
