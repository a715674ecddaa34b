package yamlerr

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// unknownFields lists every mapping key of data that no field of t takes,
// in document order. The YAML library stops at one unknown key, chosen in
// map order, so the same file could name a different key on each run;
// this walk makes the report stable and complete. Types that decode
// themselves (UnmarshalYAML, UnmarshalText, UnmarshalJSON) and interface
// values are not looked into.
func unknownFields(data []byte, t reflect.Type) []*Error {
	file, err := parseFile(data)
	if err != nil {
		return nil
	}
	// The library decodes the first document only.
	var out []*Error
	if len(file.Docs) > 0 {
		walkUnknown(file.Docs[0].Body, t, &out)
	}
	return out
}

var selfDecoding = []reflect.Type{
	reflect.TypeFor[yaml.BytesUnmarshaler](),
	reflect.TypeFor[yaml.BytesUnmarshalerContext](),
	reflect.TypeFor[yaml.InterfaceUnmarshaler](),
	reflect.TypeFor[yaml.InterfaceUnmarshalerContext](),
	reflect.TypeFor[yaml.NodeUnmarshaler](),
	reflect.TypeFor[yaml.NodeUnmarshalerContext](),
	reflect.TypeFor[encoding.TextUnmarshaler](),
	reflect.TypeFor[json.Unmarshaler](),
}

func decodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	for _, i := range selfDecoding {
		if t.Implements(i) || pt.Implements(i) {
			return true
		}
	}
	return false
}

func walkUnknown(n ast.Node, t reflect.Type, out *[]*Error) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || t == nil || decodesItself(t) {
		return
	}
	for {
		switch v := n.(type) {
		case *ast.TagNode:
			n = v.Value
			continue
		case *ast.AnchorNode:
			n = v.Value
			continue
		}
		break
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := map[string]reflect.Type{}
		structFields(t, fields)
		for _, mv := range mappingValues(n) {
			if mv.Key == nil || mv.Key.IsMergeKey() {
				continue
			}
			key := keyString(mv.Key)
			ft, ok := fields[key]
			if !ok {
				e := &Error{Msg: `unknown field "` + key + `"`}
				if tk := mv.Key.GetToken(); tk != nil && tk.Position != nil {
					e.Line, e.Column = tk.Position.Line, tk.Position.Column
				}
				*out = append(*out, e)
				continue
			}
			walkUnknown(mv.Value, ft, out)
		}
	case reflect.Map:
		for _, mv := range mappingValues(n) {
			walkUnknown(mv.Value, t.Elem(), out)
		}
	case reflect.Slice, reflect.Array:
		if seq, ok := n.(*ast.SequenceNode); ok {
			for _, e := range seq.Values {
				walkUnknown(e, t.Elem(), out)
			}
		}
	}
}

// structFields maps the YAML key of each field of t to its type, the way
// the library names them: the yaml tag, else the json tag, else the
// lower-cased field name; inline fields contribute their own fields.
func structFields(t reflect.Type, fields map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" {
			tag = f.Tag.Get("json")
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",inline,") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				structFields(ft, fields)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
}

func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch v := n.(type) {
	case *ast.MappingNode:
		return v.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{v}
	}
	return nil
}

func keyString(k ast.MapKeyNode) string {
	if s, ok := k.(*ast.StringNode); ok {
		return s.Value
	}
	if tk := k.GetToken(); tk != nil {
		return tk.Value
	}
	return k.String()
}
