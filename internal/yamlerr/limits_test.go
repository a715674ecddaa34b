package yamlerr

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// aliasBomb is eight levels of anchors, each a list of ten aliases of the
// one before: 434 bytes that expand to 10^8 strings (16 s and 3.9 GB
// before the limit).
const aliasBomb = `name: a
items:
  - id: &a ["x","x","x","x","x","x","x","x","x","x"]
  - id: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
  - id: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
  - id: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
  - id: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
  - id: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
  - id: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
  - id: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
`

// decodeAlloc decodes data into an any and returns the error and the bytes
// allocated meanwhile.
func decodeAlloc(data []byte) (error, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var v any
	err := Decode(data, "f.yaml", &v, errTest)
	runtime.ReadMemStats(&after)
	return err, after.TotalAlloc - before.TotalAlloc
}

// TestLimits: documents that would take the library gigabytes are
// rejected at the position that crosses the limit, in little memory.
func TestLimits(t *testing.T) {
	const depthMsg = "nesting deeper than 256 levels (flow collections and indented blocks)"
	var indented strings.Builder
	for i := range 300 {
		fmt.Fprintf(&indented, "%sk%d:\n", strings.Repeat(" ", i), i)
	}
	cases := []struct {
		name, yaml, want string
		maxAlloc         uint64
	}{
		// 50,000 brackets: 2.5 s and 3.9 GB before.
		{"flow sequences", "name: " + strings.Repeat("[", 50000) + strings.Repeat("]", 50000) + "\n", "f.yaml:1:262: " + depthMsg, 64 << 10},
		{"flow mappings", "name: " + strings.Repeat("{a: ", 20000) + "1" + strings.Repeat("}", 20000) + "\n", "f.yaml:1:1027: " + depthMsg, 64 << 10},
		{"block sequences", "- " + strings.Repeat("- ", 20000) + "x\n", "f.yaml:1:513: " + depthMsg, 64 << 10},
		{"misplaced block sequences", "name: " + strings.Repeat("- ", 20000) + "x\n", "f.yaml:1:517: " + depthMsg, 64 << 10},
		{"indented mappings", indented.String(), "f.yaml:257:257: " + depthMsg, 64 << 10},
		{"alias bomb", aliasBomb, "f.yaml:8:34: aliases expand to more than 1,000,000 nodes", 1 << 20},
		// The bomb may sit in any document of the file: the library
		// resolves every document's anchors.
		{"alias bomb in a later document", "name: a\n---\n" + aliasBomb, "f.yaml:10:34: aliases expand to more than 1,000,000 nodes", 1 << 20},
		{"merge keys", "a: &a {" + strings.Repeat("k: 1, ", 1) + "}\n" + mergeBomb(), "f.yaml:7:83: aliases expand to more than 1,000,000 nodes", 4 << 20},
	}
	for _, tc := range cases {
		err, alloc := decodeAlloc([]byte(tc.yaml))
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 || !errors.Is(err, errTest) {
			t.Fatalf("%s: error %v (%T)", tc.name, err, err)
		}
		if got := err.Error(); !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: error %q, want %q", tc.name, got, tc.want)
		}
		if alloc > tc.maxAlloc {
			t.Errorf("%s: allocated %d bytes, want at most %d", tc.name, alloc, tc.maxAlloc)
		}
	}
}

// mergeBomb nests merge keys: each level merges ten copies of the last.
func mergeBomb() string {
	var b strings.Builder
	b.WriteString("l0: &l0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{<<: {k: *l%d}}", i-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestDepthNotFooled: brackets in quoted scalars, comments, block scalars
// and plain text do not count, and nesting up to the limit decodes.
func TestDepthNotFooled(t *testing.T) {
	open := strings.Repeat("[", 300)
	docs := []string{
		"name: \"" + open + "\"\n",
		"name: '" + open + " it''s'\n",
		"name: \"" + open + "\n  " + open + " \\\" " + open + "\"\n",
		"name: a # " + open + "\n# " + open + "\n",
		"name: |\n  " + open + "\n  \"unclosed\n\n  " + open + "\nitems: []\n",
		"name: >-\n  " + open + "\nitems: []\n",
		"name: see " + open + " for more\n",
		"name: a" + open + "\n",
		"name: " + strings.Repeat("[", 255) + strings.Repeat("]", 255) + "\n",
		"name: &x !!seq " + strings.Repeat("[", 255) + strings.Repeat("]", 255) + "\n",
	}
	for _, d := range docs {
		if e := scanDepth([]byte(d)); e != nil {
			t.Errorf("%.60q: text scan: %v", d, e)
		}
		if e := tokenDepth([]byte(d)); e != nil {
			t.Errorf("%.60q: tokens: %v", d, e)
		}
		var v any
		if err := Decode([]byte(d), "f.yaml", &v, errTest); err != nil && strings.Contains(err.Error(), "nesting") {
			t.Errorf("%.60q: %v", d, err)
		}
	}
}

// TestDepthTokens: a document whose quotes the text scan misreads (a
// continuation line of a plain scalar that starts with a quote) is still
// rejected, on the library's tokens.
func TestDepthTokens(t *testing.T) {
	d := []byte("name: a\n  'b\nitems: " + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + "\n")
	if e := scanDepth(d); e != nil {
		t.Fatalf("the text scan now reads the quote right (%v): find another example", e)
	}
	var v any
	err := Decode(d, "f.yaml", &v, errTest)
	if err == nil || !strings.HasPrefix(err.Error(), "f.yaml:3:263: nesting deeper than 256 levels") {
		t.Errorf("error %v", err)
	}
}

// TestAliases: ordinary anchors, aliases and merge keys still decode.
func TestAliases(t *testing.T) {
	data := []byte(`name: &n a
items:
  - &item {id: x, port: 80}
  - *item
  - <<: *item
  - {id: *n, port: 81}
`)
	var d doc
	if err := Decode(data, "f.yaml", &d, errTest); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(d)
	if want := "{a [{x 80} {x 80} {x 80} {a 81}]}"; got != want {
		t.Errorf("decoded %s, want %s", got, want)
	}
	// 10^6 nodes through aliases is the limit, not beyond.
	var b strings.Builder
	b.WriteString("a: &a [" + strings.Repeat("1, ", 999) + "1]\nb: [")
	for i := range 998 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*a")
	}
	b.WriteString("]\n")
	var v any
	if err := Decode([]byte(b.String()), "f.yaml", &v, errTest); err != nil {
		t.Errorf("998 aliases of 1,000 items: %v", err)
	}
}
