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
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
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
// A document nested more than 256 levels deep, or whose aliases expand to
// more than 1,000,000 nodes, is refused before the library decodes it.
func Decode(data []byte, name string, v any, kind error) (err error) {
	// The YAML library is third-party code; a panic on hostile input must
	// still become an error, never crash the caller.
	defer func() {
		if r := recover(); r != nil {
			err = Errors{{File: name, Msg: fmt.Sprintf("malformed YAML: %v", r), Kind: kind}}
		}
	}()
	data = crlf(data)
	if e := checkLimits(data); e != nil {
		e.File, e.Kind = name, kind
		return Errors{e}
	}
	if err := yaml.UnmarshalWithOptions(data, v, yaml.Strict()); err != nil {
		e := &Error{File: name, Kind: kind}
		var ye yaml.Error
		if errors.As(err, &ye) {
			e.Msg = readable(ye.GetMessage())
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

// unmarshalMsg is the library's message for a value of the wrong type,
// which names Go types.
var unmarshalMsg = regexp.MustCompile(`^cannot unmarshal (.*) into Go (?:value|struct field \S+) of type (\S+)\s*(\( overflow \))?`)

// goKinds says in YAML terms what a Go type expects.
var goKinds = map[string]string{
	"string": "a string", "bool": "true or false", "float64": "a number", "float32": "a number",
	"int": "an integer", "int64": "an integer", "int32": "an integer", "int16": "an integer", "int8": "an integer",
	"uint": "a non-negative integer", "uint64": "a non-negative integer", "uint32": "a non-negative integer",
	"uint16": "a non-negative integer", "uint8": "a non-negative integer",
}

// readable rewrites the library's Go-typed messages for a user: "cannot
// unmarshal -1 into Go value of type uint64 ( overflow )" becomes "-1 is
// out of range: expected a non-negative integer".
func readable(msg string) string {
	m := unmarshalMsg.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	want, ok := goKinds[m[2]]
	if !ok {
		return msg
	}
	got := m[1]
	switch kind, isKind := goKinds[got]; {
	case isKind:
		got = kind
	case strings.HasPrefix(got, "[]"):
		got = "a list"
	case strings.HasPrefix(got, "map["):
		got = "a mapping"
	}
	if m[3] != "" {
		return fmt.Sprintf("%s is out of range: expected %s", got, want)
	}
	return fmt.Sprintf("%s given: expected %s", got, want)
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
	// The library's parser takes time and memory that grow with the
	// square of the nesting depth.
	if e := scanDepth(data); e != nil {
		return nil, e
	}
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

// Limits on what a document may make the YAML library do. Its parser takes
// time and memory that grow with the square of the nesting depth (50,000
// brackets: 4 GB), and its decoder copies an anchor's value at every alias,
// so a few hundred bytes of nested aliases expand to billions of nodes.
const (
	// maxDepth bounds nesting: flow collections ([ and {) and block
	// levels (mapping keys and sequence entries) together.
	maxDepth = 256
	// maxAliasNodes bounds the nodes that aliases expand to, over the
	// whole file.
	maxAliasNodes = 1_000_000
)

// checkLimits rejects a document that nests deeper than maxDepth or whose
// aliases expand to more than maxAliasNodes, before the library decodes
// it, and a file of more than one document, whose later ones the library
// would ignore without a word. A document the parser rejects is left for
// the decoder to report.
func checkLimits(data []byte) *Error {
	if e := scanDepth(data); e != nil {
		return e
	}
	if e := tokenDepth(data); e != nil {
		return e
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil
	}
	x := expansion{anchors: map[string]int{}}
	for _, d := range f.Docs {
		// The library resolves anchors across every document of the
		// file, not only the one it decodes.
		if _, e := x.size(d); e != nil {
			return e
		}
	}
	for _, d := range f.Docs[min(1, len(f.Docs)):] {
		if d.Body == nil {
			continue // a trailing --- or ...
		}
		tk := d.Start
		if tk == nil {
			tk = d.Body.GetToken()
		}
		return positioned(tk, "a second YAML document: a file holds one, and the rest would be ignored")
	}
	return nil
}

func depthError(line, col int) *Error {
	return &Error{Line: line, Column: col, Msg: fmt.Sprintf("nesting deeper than %d levels (flow collections and indented blocks)", maxDepth)}
}

// nesting tracks the open flow collections and the stack of block levels.
type nesting struct {
	flow  int
	block []blockLevel // outermost first; never longer than maxDepth+1
}

type blockLevel struct {
	col int
	seq bool
}

// enterBlock records a mapping key or sequence entry at column col (from
// 0), closing the deeper or sibling levels first; false when too deep. A
// sequence may sit at its parent key's column ("key:\n- a"), one level
// below it.
func (n *nesting) enterBlock(col int, seq bool) bool {
	for len(n.block) > 0 {
		top := n.block[len(n.block)-1]
		if top.col < col || top.col == col && seq && !top.seq {
			break
		}
		n.block = n.block[:len(n.block)-1]
	}
	n.block = append(n.block, blockLevel{col, seq})
	return n.flow+len(n.block) <= maxDepth
}

func (n *nesting) open() bool {
	n.flow++
	return n.flow+len(n.block) <= maxDepth
}

func (n *nesting) close() {
	if n.flow > 0 {
		n.flow--
	}
}

// scanDepth is a linear pass over the raw text, in constant memory, that
// rejects nesting deeper than maxDepth at the first bracket or block
// indicator beyond it, before the library parses anything. Its rules,
// which approximate YAML's (an input they misjudge is caught by
// tokenDepth):
//   - nesting is the open flow collections plus the block levels: a
//     mapping key (text then ": ") or a "- " / "? " entry opens a level
//     at its column, closing those at deeper columns;
//   - [ and { open a collection inside another one or at the start of a
//     node (after indentation, "- ", "? ", ": ", ",", an anchor or a
//     tag); elsewhere in block context they are text, as in "see [1]";
//   - a quote at the start of a node opens a quoted scalar, which ends at
//     its closing quote (a doubled ' or a backslash escapes one) even
//     lines later; brackets in it do not count;
//   - # after a blank or at the start of a line begins a comment that runs
//     to the end of the line;
//   - after a | or > header, the lines indented more than the header's
//     line (and blank lines) are a block scalar and do not count.
//
// So only text such as a plain scalar with hundreds of unclosed [ at the
// start of its words could be rejected wrongly.
func scanDepth(data []byte) *Error {
	var (
		n         nesting
		line      = 1
		bol       = 0    // offset of the line's first byte
		lineStart = true // at bol, before the indentation
		node      = true // at the start of a node
		nodeCol   = 0    // column where the current block node began
		indent    = 0    // the line's indentation
		scalar    = -1   // in a block scalar: its lines are indented more than this
	)
	blank := func(k int) bool {
		return k >= len(data) || data[k] == ' ' || data[k] == '\t' || data[k] == '\n' || data[k] == '\r'
	}
	eol := func(k int) int {
		for k < len(data) && data[k] != '\n' && data[k] != '\r' {
			k++
		}
		return k
	}
	errAt := func(k int) *Error { return depthError(line, utf8.RuneCount(data[bol:k])+1) }
	for k := 0; k < len(data); {
		if lineStart {
			lineStart, bol = false, k
			s := k
			for s < len(data) && (data[s] == ' ' || data[s] == '\t') {
				s++
			}
			empty := s >= len(data) || data[s] == '\n' || data[s] == '\r'
			if scalar >= 0 && (empty || s-bol > scalar) {
				k = eol(s)
				continue
			}
			scalar = -1
			if empty || data[s] == '#' {
				k = eol(s)
				continue
			}
			k, indent = s, s-bol
			if n.flow > 0 {
				continue
			}
			node = true
			if k-bol == 0 && len(data)-k >= 3 && string(data[k:k+3]) == "---" && blank(k+3) {
				k += 3 // a document start; its content may follow
			}
			// Block sequence entries and explicit keys: "- - a", "? b".
			for k < len(data) && (data[k] == '-' || data[k] == '?') && blank(k+1) {
				if !n.enterBlock(k-bol, data[k] == '-') {
					return errAt(k)
				}
				k++
				for k < len(data) && (data[k] == ' ' || data[k] == '\t') {
					k++
				}
			}
			continue
		}
		c := data[k]
		if c == '\n' || c == '\r' {
			line++
			lineStart = true
			k++
			continue
		}
		if c == ' ' || c == '\t' {
			k++
			continue
		}
		if c == '#' && (k == bol || data[k-1] == ' ' || data[k-1] == '\t') {
			k = eol(k)
			continue
		}
		start := node
		if start && n.flow == 0 {
			nodeCol = k - bol
		}
		node = false
		switch c {
		case '\'', '"':
			if !start {
				break
			}
			for k++; k < len(data); k++ {
				b := data[k]
				if b == '\\' && c == '"' && k+1 < len(data) && data[k+1] != '\n' && data[k+1] != '\r' {
					k++
					continue
				}
				if b == c {
					if c == '\'' && k+1 < len(data) && data[k+1] == '\'' {
						k++
						continue
					}
					break
				}
				if b == '\n' || b == '\r' {
					line++
					bol = k + 1
				}
			}
		case '[', '{':
			if start || n.flow > 0 {
				if !n.open() {
					return errAt(k)
				}
				node = true
			}
		case ']', '}':
			n.close()
		case ',':
			node = n.flow > 0
		case ':':
			if n.flow > 0 {
				node = true
			} else if blank(k + 1) {
				if !n.enterBlock(nodeCol, false) {
					// At the key, unless it began on an earlier line.
					return errAt(min(bol+nodeCol, k))
				}
				node = true
			}
		case '-', '?':
			// "key: - a" is an error, but the parser nests it first.
			if start && n.flow == 0 && blank(k+1) {
				if !n.enterBlock(k-bol, c == '-') {
					return errAt(k)
				}
				node = true
			}
		case '&', '!':
			if start {
				// An anchor or a tag: the node follows it.
				for k < len(data) && !blank(k) {
					k++
				}
				node = true
				continue
			}
		case '|', '>':
			if start && n.flow == 0 && blockHeader(data[k+1:eol(k)]) {
				scalar = indent
				k = eol(k)
				continue
			}
		}
		k++
	}
	return nil
}

// blockHeader reports whether rest, the text after | or > to the end of
// the line, completes a block scalar header: indicators, then blanks and
// an optional comment.
func blockHeader(rest []byte) bool {
	i := 0
	for i < len(rest) && (rest[i] == '-' || rest[i] == '+' || rest[i] >= '0' && rest[i] <= '9') {
		i++
	}
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
	}
	return i == len(rest) || rest[i] == '#' && i > 0 && (rest[i-1] == ' ' || rest[i-1] == '\t')
}

// tokenDepth measures nesting on the library's own tokens, which quote
// and comment exactly as its parser will: a document that scanDepth's
// rules misjudge is still rejected before the parser sees it. The tokens
// cost memory linear in the input.
func tokenDepth(data []byte) *Error {
	var n nesting
	var prev *token.Token // the last token that is not a comment
	for _, tk := range lexer.Tokenize(string(data)) {
		if tk == nil || tk.Position == nil || tk.Type == token.CommentType {
			continue
		}
		at, ok := tk, true
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			ok = n.open()
		case token.SequenceEndType, token.MappingEndType:
			n.close()
		case token.SequenceEntryType, token.MappingKeyType:
			if n.flow == 0 {
				ok = n.enterBlock(tk.Position.Column-1, tk.Type == token.SequenceEntryType)
			}
		case token.MappingValueType:
			if n.flow == 0 && prev != nil && prev.Position != nil {
				at = prev // the key
				ok = n.enterBlock(prev.Position.Column-1, false)
			}
		}
		if !ok {
			return depthError(at.Position.Line, at.Position.Column)
		}
		prev = tk
	}
	return nil
}

// expansion counts the nodes of a document with every alias expanded, as
// the library's decoder will build them, without expanding anything: an
// alias counts as its anchor's size, computed once.
type expansion struct {
	anchors map[string]int // size of each anchor defined so far; -1 while its own value is walked
	aliased int            // nodes that the aliases walked so far expand to
}

func (x *expansion) size(n ast.Node) (int, *Error) {
	switch v := n.(type) {
	case nil:
		return 0, nil
	case *ast.DocumentNode:
		if v == nil {
			return 0, nil
		}
		return x.size(v.Body)
	case *ast.AliasNode:
		if v == nil || v.Value == nil {
			return 1, nil
		}
		tk := v.GetToken()
		s, ok := x.anchors[aliasName(v.Value)]
		if !ok || s < 0 {
			// Unknown (the decoder reports it) or inside its own anchor
			// (the decoder makes it null).
			return 1, nil
		}
		x.aliased += s
		if x.aliased > maxAliasNodes {
			return 0, positioned(tk, "aliases expand to more than 1,000,000 nodes")
		}
		return s, nil
	case *ast.AnchorNode:
		if v == nil || v.Name == nil {
			return 1, nil
		}
		name := aliasName(v.Name)
		x.anchors[name] = -1
		s, e := x.size(v.Value)
		x.anchors[name] = s
		return s, e
	case *ast.TagNode:
		if v == nil {
			return 1, nil
		}
		return x.size(v.Value)
	case *ast.MappingNode:
		if v == nil {
			return 1, nil
		}
		total := 1
		for _, mv := range v.Values {
			s, e := x.size(mv)
			if e != nil {
				return 0, e
			}
			total += s
		}
		return total, nil
	case *ast.MappingValueNode:
		if v == nil {
			return 1, nil
		}
		var k ast.Node
		if v.Key != nil {
			k = v.Key
		}
		ks, e := x.size(k)
		if e != nil {
			return 0, e
		}
		vs, e := x.size(v.Value)
		return 1 + ks + vs, e
	case *ast.MappingKeyNode:
		if v == nil {
			return 1, nil
		}
		s, e := x.size(v.Value)
		return 1 + s, e
	case *ast.SequenceNode:
		if v == nil {
			return 1, nil
		}
		total := 1
		for _, c := range v.Values {
			s, e := x.size(c)
			if e != nil {
				return 0, e
			}
			total += s
		}
		return total, nil
	}
	return 1, nil // a scalar
}

// aliasName is the name an anchor or alias node carries, as the decoder
// reads it.
func aliasName(n ast.Node) string {
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return n.String()
}

func positioned(tk *token.Token, msg string) *Error {
	e := &Error{Msg: msg}
	if tk != nil && tk.Position != nil {
		e.Line, e.Column = tk.Position.Line, tk.Position.Column
	}
	return e
}
