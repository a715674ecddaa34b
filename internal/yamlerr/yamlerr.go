// Package yamlerr decodes YAML documents strictly and reports every problem
// as an error with its file, line and column, so that each loader of a YAML
// file (topologies, scenarios) tells the user where to look, the same way.
package yamlerr

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Error is one problem in a YAML document, with its position. Line and
// Column are 1-based; they are 0 when the problem has no place in the
// source (for example a document built in code or imported from JSON).
type Error struct {
	File         string
	Line, Column int
	Path         string // YAML path such as $.subnets[2].cidr
	Msg          string
	// Kind is the sentinel errors.Is matches: the ErrInvalid of the
	// package that loads the document.
	Kind error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "%d:%d: ", e.Line, e.Column)
	} else if e.File != "" {
		b.WriteByte(' ')
	}
	if e.Path != "" && e.Line == 0 {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes errors.Is(err, e.Kind) true.
func (e *Error) Is(target error) bool { return e.Kind != nil && target == e.Kind }

// Errors is a list of problems, sorted by position.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes every error to errors.Is / errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Decode decodes data into v strictly: an unknown key, a syntax error or a
// value of the wrong type is an Errors of one *Error at the position the
// YAML library reports, of kind kind. name is the file name in messages.
func Decode(data []byte, name string, v any, kind error) (err error) {
	// The YAML library is third-party code; a panic on hostile input must
	// still become an error, never crash the caller.
	defer func() {
		if r := recover(); r != nil {
			err = Errors{{File: name, Msg: fmt.Sprintf("malformed YAML: %v", r), Kind: kind}}
		}
	}()
	data = crlf(data)
	if err := yaml.UnmarshalWithOptions(data, v, yaml.Strict()); err != nil {
		e := &Error{File: name, Kind: kind}
		var ye yaml.Error
		if errors.As(err, &ye) {
			e.Msg = ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				e.Line, e.Column = tk.Position.Line, tk.Position.Column
			}
		} else {
			e.Msg, _, _ = strings.Cut(err.Error(), "\n")
		}
		if strings.HasPrefix(e.Msg, "unknown field ") {
			if all := allUnknown(data, reflect.TypeOf(v), e); all != nil {
				for _, u := range all {
					u.File, u.Kind = name, kind
				}
				return all
			}
		}
		return Errors{e}
	}
	return nil
}

// allUnknown returns every unknown key of the document when the library's
// one (reported) is among them, so that the walk and the library agree;
// nil otherwise.
func allUnknown(data []byte, t reflect.Type, reported *Error) Errors {
	all := unknownFields(data, t)
	for _, u := range all {
		if u.Msg == reported.Msg && u.Line == reported.Line && u.Column == reported.Column {
			return all
		}
	}
	return nil
}

// Position sets the file name and kind of every error, resolves each
// error's Path to a line and column in data, and sorts the errors by
// position. A path that names nothing in the document (a missing key) is
// reported where its nearest existing parent is, the document itself at
// 1:1.
func Position(data []byte, name string, kind error, errs Errors) Errors {
	file, perr := parseFile(crlf(data))
	for _, e := range errs {
		e.File = name
		if e.Kind == nil {
			e.Kind = kind
		}
		if perr == nil && e.Path != "" {
			e.Line, e.Column = locate(file, e.Path)
		}
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return errs
}

// crlf turns CRLF line breaks into LF, which YAML reads the same: the
// library counts a comment's CRLF as two lines, so every later position
// would be off.
func crlf(data []byte) []byte {
	if !bytes.Contains(data, []byte("\r\n")) {
		return data
	}
	return bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
}

func parseFile(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("malformed YAML: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

// locate finds the line and column of a YAML path, falling back to the
// nearest existing parent, and to 1:1 for the document itself.
func locate(file *ast.File, path string) (int, int) {
	for path != "" && path != "$" {
		if line, col, ok := find(file, path); ok {
			return line, col
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 1, 1
}

// find resolves one path. The library panics on some malformed paths
// ("$[0"); such a path names nothing.
func find(file *ast.File, path string) (line, col int, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	p, err := yaml.PathString(path)
	if err != nil {
		return 0, 0, false
	}
	node, err := p.FilterFile(file)
	if err != nil || node == nil {
		return 0, 0, false
	}
	if tk := node.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line, tk.Position.Column, true
	}
	return 0, 0, false
}
