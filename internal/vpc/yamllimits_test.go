package vpc

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestLoadYAMLLimits: a topology whose aliases expand to billions of
// nodes, or that nests thousands of levels deep, is rejected at the
// position that crosses the limit instead of exhausting memory.
func TestLoadYAMLLimits(t *testing.T) {
	bomb := `account: "123456789012"
region: us-east-1
prefix_lists:
  - id: pl-1
    cidrs:
      - &a ["x","x","x","x","x","x","x","x","x","x"]
      - &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
      - &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
      - &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
      - &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
      - &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
      - &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
      - &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
`
	cases := map[string]string{
		bomb: "t.yaml:11:34: aliases expand to more than 1,000,000 nodes",
		"vpcs: " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + "\n": "t.yaml:1:262: nesting deeper than 256 levels",
	}
	for data, want := range cases {
		_, err := Load([]byte(data), "t.yaml")
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%.40q: error %v, want %q", data, err, want)
		}
	}
}

// TestLoadAnchors: a topology that shares values through anchors, aliases
// and merge keys loads as the one that spells them out.
func TestLoadAnchors(t *testing.T) {
	plain, err := os.ReadFile("testdata/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(plain)
	s = strings.Replace(s, "  - id: vpc-0a1b2c3d4e5f60718\n", "  - id: &vpc vpc-0a1b2c3d4e5f60718\n", 1)
	s = strings.ReplaceAll(s, "    vpc: vpc-0a1b2c3d4e5f60718\n", "    vpc: *vpc\n")
	// The second public subnet takes its route table and ACL from the
	// first through a merge key.
	s = strings.Replace(s, "    route_table: rtb-0e00000000000000a\n    network_acl: acl-0e00000000000000b\n", "    <<: &public\n      route_table: rtb-0e00000000000000a\n      network_acl: acl-0e00000000000000b\n", 1)
	s = strings.Replace(s, "    route_table: rtb-0e00000000000000a\n    network_acl: acl-0e00000000000000b\n", "    <<: *public\n", 1)
	if strings.Count(s, "*vpc") < 10 || !strings.Contains(s, "<<: *public") {
		t.Fatal("the test no longer rewrites three-tier.yaml")
	}
	want, err := DecodeDocument(plain, "three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeDocument([]byte(s), "anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("the document with anchors decodes differently")
	}
	if _, err := Load([]byte(s), "anchors.yaml"); err != nil {
		t.Error(err)
	}
}
