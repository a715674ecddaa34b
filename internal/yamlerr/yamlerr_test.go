package yamlerr

import (
	"bytes"
	"errors"
	"testing"
)

var errTest = errors.New("invalid test document")

type doc struct {
	Name  string `yaml:"name"`
	Items []struct {
		ID   string `yaml:"id"`
		Port int    `yaml:"port"`
	} `yaml:"items"`
}

func TestDecode(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"name: a\nitems:\n  - id: x\n    nope: 1\n", `f.yaml:4:5: unknown field "nope"`},
		{"name: a\nitems:\n  - id: x\n    port: eighty\n", "f.yaml:4:11: "},
		{"name: [a\n", "f.yaml:1:"},
		// Go types are not named.
		{"name: a\nitems:\n  - id: x\n    port: 99999999999999999999\n", "f.yaml:4:11: 99999999999999999999 is out of range: expected an integer"},
		{"name: a\nitems:\n  - id: x\n    port: [80]\n", "f.yaml:4:11: a list given: expected an integer"},
		{"name: a\nitems:\n  - id: x\n    port: eighty\n", "f.yaml:4:11: a string given: expected an integer"},
		// The library reads the first document and ignores the rest.
		{"name: a\n---\nname: b\n", "f.yaml:2:1: a second YAML document: a file holds one, and the rest would be ignored"},
	}
	for _, tc := range cases {
		var d doc
		err := Decode([]byte(tc.yaml), "f.yaml", &d, errTest)
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 || !errors.Is(err, errTest) {
			t.Fatalf("%q: error %v (%T)", tc.yaml, err, err)
		}
		if got := err.Error(); len(got) < len(tc.want) || got[:len(tc.want)] != tc.want {
			t.Errorf("%q: error %q, want prefix %q", tc.yaml, got, tc.want)
		}
	}
	var d doc
	if err := Decode([]byte("name: a\nitems: [{id: x, port: 80}]\n"), "f.yaml", &d, errTest); err != nil || d.Items[0].Port != 80 {
		t.Errorf("valid document: %+v %v", d, err)
	}
	for _, ok := range []string{"---\nname: a\n", "name: a\n---\n", "name: a\n...\n", "---\nname: a\n...\n"} {
		if err := Decode([]byte(ok), "f.yaml", &d, errTest); err != nil || d.Name != "a" {
			t.Errorf("%q: %+v %v", ok, d, err)
		}
	}
}

func TestPosition(t *testing.T) {
	data := []byte("name: a\nitems:\n  - id: x\n    port: 80\n  - id: y\n")
	errs := Errors{
		{Path: "$.items[1].port", Msg: "port is required"}, // missing: its mapping
		{Path: "$.items[0].port", Msg: "port taken"},
		{Path: "$", Msg: "whole document"},
		{Msg: "no place"},
	}
	got := Position(data, "f.yaml", errTest, errs)
	want := []string{"f.yaml: no place", "f.yaml:1:1: whole document", "f.yaml:4:11: port taken", "f.yaml:5:7: port is required"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i, e := range got {
		if e.Error() != want[i] || !errors.Is(e, errTest) {
			t.Errorf("error %d = %q (kind %v), want %q", i, e.Error(), e.Kind, want[i])
		}
	}
	if e := (&Error{Path: "$.a", Msg: "m"}); e.Error() != "$.a: m" || errors.Is(e, errTest) {
		t.Errorf("unpositioned error %q", e.Error())
	}
}

// FuzzPosition checks that no document and no path make Decode or
// Position panic, and that a resolved position lies inside the document.
func FuzzPosition(f *testing.F) {
	f.Add([]byte("name: a\nitems:\n  - id: x\n    port: 80\n"), "$.items[0].port")
	f.Add([]byte("items: [{id: x}, {id: y}]\n"), "$.items[1].port")
	f.Add([]byte("a: &x {b: 1}\nc: *x\n"), "$.c.b")
	f.Add([]byte("- 1\n- 2\n"), "$[1]")
	f.Add([]byte("name: a\n"), "$..name")
	f.Add([]byte("{{{"), "$.a")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		var d doc
		if err := Decode(data, "f.yaml", &d, errTest); err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 || !errors.Is(err, errTest) {
				t.Fatalf("decode error %v (%T)", err, err)
			}
			for _, e := range es {
				if e.Line < 0 || !errors.Is(e, errTest) {
					t.Fatalf("decode error %v (%T)", err, err)
				}
			}
		}
		es := Position(data, "f.yaml", errTest, Errors{{Path: path, Msg: "m"}})
		e := es[0]
		if !errors.Is(e, errTest) || e.File != "f.yaml" {
			t.Fatalf("kind or file not set: %#v", e)
		}
		// YAML breaks lines at \n, \r\n and a lone \r.
		if lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1; e.Line < 0 || e.Line > lines || (e.Line > 0) != (e.Column > 0) {
			t.Fatalf("position %d:%d outside a %d-line document", e.Line, e.Column, lines)
		}
	})
}

// TestCRLFComments: a comment ending in CRLF does not shift later lines.
func TestCRLFComments(t *testing.T) {
	data := []byte("# one\r\n# two\r\nname: a\r\nnope: 1\r\n")
	var d doc
	err := Decode(data, "f.yaml", &d, errTest)
	if err == nil || err.Error() != `f.yaml:4:1: unknown field "nope"` {
		t.Errorf("Decode: %v", err)
	}
	es := Position(data, "f.yaml", errTest, Errors{{Path: "$.name", Msg: "m"}})
	if es[0].Line != 3 || es[0].Column != 7 {
		t.Errorf("Position: %v", es[0])
	}
}

type selfDecoded struct{ v string }

func (s *selfDecoded) UnmarshalYAML(b []byte) error { s.v = string(b); return nil }

type Base struct {
	Region string `yaml:"region"`
}

type wide struct {
	Base  `yaml:",inline"`
	Name  string                     `yaml:"name"`
	Tags  map[string]struct{ V int } `yaml:"tags"`
	Items []struct {
		ID string `yaml:"id"`
	} `yaml:"items"`
	Custom   selfDecoded `yaml:"custom"`
	Untagged int
}

// TestDecodeAllUnknown: the library names one unknown key chosen in map
// order; Decode reports every one, in document order, the same each run.
func TestDecodeAllUnknown(t *testing.T) {
	data := []byte("name: a\nzz: 1\nregion: r\nqq: 2\nuntagged: 3\ntags:\n  k: {v: 1, w: 2}\nitems:\n  - id: x\n    yy: 3\ncustom: {anything: 1}\nxx: 4\n")
	want := `f.yaml:2:1: unknown field "zz"
f.yaml:4:1: unknown field "qq"
f.yaml:7:13: unknown field "w"
f.yaml:10:5: unknown field "yy"
f.yaml:12:1: unknown field "xx"`
	// A second document is refused before any key is checked.
	var w wide
	if err := Decode([]byte("name: a\nzz: 1\n---\nyy: 2\n"), "f.yaml", &w, errTest); err == nil || err.Error() != `f.yaml:3:1: a second YAML document: a file holds one, and the rest would be ignored` {
		t.Errorf("two documents: %v", err)
	}
	for range 20 {
		var w wide
		err := Decode(data, "f.yaml", &w, errTest)
		if err == nil || err.Error() != want || !errors.Is(err, errTest) {
			t.Fatalf("error:\n%v\nwant:\n%s", err, want)
		}
	}
}
