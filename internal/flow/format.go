package flow

import (
	"errors"
	"fmt"
	"strings"
)

// ErrFormat is the sentinel wrapped by every format-string error.
var ErrFormat = errors.New("invalid flow log format")

// FormatError tells where a custom format string or header line is wrong.
type FormatError struct {
	Offset int    // byte offset into the format string
	Field  string // offending token, if any
	Msg    string
}

func (e *FormatError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("log format: offset %d: %s: %s", e.Offset, e.Msg, QuoteToken(e.Field))
	}
	return fmt.Sprintf("log format: offset %d: %s", e.Offset, e.Msg)
}

// Unwrap makes errors.Is(err, ErrFormat) hold.
func (e *FormatError) Unwrap() error { return ErrFormat }

// Format is an ordered list of fields: the LogFormat of a flow log.
type Format struct {
	fields  []FieldID
	version int32
	index   [NumFields]int8 // position of each field, -1 when absent
}

// NewFormat builds a format from field ids. It rejects an empty list and
// duplicates.
func NewFormat(ids ...FieldID) (Format, error) {
	if len(ids) == 0 {
		return Format{}, &FormatError{Msg: "at least one field is required"}
	}
	var f Format
	for i := range f.index {
		f.index[i] = -1
	}
	for i, id := range ids {
		if id >= NumFields {
			return Format{}, &FormatError{Msg: fmt.Sprintf("unknown field id %d", id)}
		}
		if f.index[id] >= 0 {
			return Format{}, &FormatError{Field: id.String(), Msg: "duplicate field"}
		}
		f.index[id] = int8(i)
		if v := int32(fields[id].Version); v > f.version {
			f.version = v
		}
	}
	f.fields = append([]FieldID(nil), ids...)
	return f, nil
}

// MustFormat is NewFormat for constants and tests; it panics on error.
func MustFormat(ids ...FieldID) Format {
	f, err := NewFormat(ids...)
	if err != nil {
		panic(err)
	}
	return f
}

// DefaultFormat is the version 2 fields in AWS's order (spec §2.1).
var DefaultFormat = MustFormat(
	FieldVersion, FieldAccountID, FieldInterfaceID, FieldSrcAddr, FieldDstAddr,
	FieldSrcPort, FieldDstPort, FieldProtocol, FieldPackets, FieldBytes,
	FieldStart, FieldEnd, FieldAction, FieldLogStatus,
)

// ParseFormat parses an AWS LogFormat string: `${field}` tokens separated by
// single spaces. An empty string means the default format, as in
// CreateFlowLogs. Unknown fields, duplicates, literal text and other
// separators are errors naming the byte offset. The vpcflow extension
// tokens (${vpcflow-decision-layer}, ${vpcflow-decision-rule}) are
// accepted: AWS would reject them, callers that must be strict check
// Field.Extension.
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return DefaultFormat, nil
	}
	var ids []FieldID
	seen := map[FieldID]bool{}
	i := 0
	for i < len(s) {
		if len(ids) > 0 {
			if s[i] != ' ' {
				return Format{}, &FormatError{Offset: i, Msg: "expected a single space between fields"}
			}
			i++
			if i == len(s) {
				return Format{}, &FormatError{Offset: i - 1, Msg: "trailing space after the last field"}
			}
		}
		if !strings.HasPrefix(s[i:], "${") {
			return Format{}, &FormatError{Offset: i, Field: tokenAt(s, i), Msg: "expected ${field}"}
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return Format{}, &FormatError{Offset: i, Field: s[i:], Msg: "unterminated ${"}
		}
		name := s[i+2 : i+end]
		id, ok := LookupField(name)
		if !ok {
			return Format{}, &FormatError{Offset: i, Field: name, Msg: "unknown field"}
		}
		if seen[id] {
			return Format{}, &FormatError{Offset: i, Field: name, Msg: "duplicate field"}
		}
		seen[id] = true
		ids = append(ids, id)
		i += end + 1
	}
	return NewFormat(ids...)
}

// ParseHeader parses the header line of an S3 text object: field names
// without ${}, separated by spaces, in any order.
func ParseHeader(line string) (Format, error) {
	var ids []FieldID
	seen := map[FieldID]bool{}
	off := 0
	for off < len(line) {
		if line[off] == ' ' || line[off] == '\t' || line[off] == '\r' {
			off++
			continue
		}
		end := off
		for end < len(line) && line[end] != ' ' && line[end] != '\t' && line[end] != '\r' {
			end++
		}
		name := line[off:end]
		id, ok := LookupField(name)
		if !ok {
			return Format{}, &FormatError{Offset: off, Field: name, Msg: "unknown field in header"}
		}
		if seen[id] {
			return Format{}, &FormatError{Offset: off, Field: name, Msg: "duplicate field in header"}
		}
		seen[id] = true
		ids = append(ids, id)
		off = end
	}
	return NewFormat(ids...)
}

func tokenAt(s string, i int) string {
	end := strings.IndexByte(s[i:], ' ')
	if end < 0 {
		return s[i:]
	}
	return s[i : i+end]
}

// Fields returns the format's fields in order. The slice must not be modified.
func (f Format) Fields() []FieldID { return f.fields }

// Len is the number of fields.
func (f Format) Len() int { return len(f.fields) }

// Version is the highest version among the format's AWS fields: the value
// of every record's `version` field (spec §1.1, fact 1). Extension fields
// have no version and do not count.
func (f Format) Version() int32 { return f.version }

// Index returns the position of id in the format, or -1.
func (f Format) Index(id FieldID) int {
	if id >= NumFields || f.fields == nil {
		return -1
	}
	return int(f.index[id])
}

// Contains reports whether the format includes id.
func (f Format) Contains(id FieldID) bool { return f.Index(id) >= 0 }

// IsZero reports whether f is the zero Format (no fields).
func (f Format) IsZero() bool { return len(f.fields) == 0 }

// Equal reports whether two formats list the same fields in the same order.
func (f Format) Equal(g Format) bool {
	if len(f.fields) != len(g.fields) {
		return false
	}
	for i := range f.fields {
		if f.fields[i] != g.fields[i] {
			return false
		}
	}
	return true
}

// String spells the format out as `${field} ${field} …`, as DescribeFlowLogs
// does even for the default format (spec §2.1).
func (f Format) String() string {
	var b strings.Builder
	for i, id := range f.fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("${")
		b.WriteString(id.String())
		b.WriteByte('}')
	}
	return b.String()
}

// Header is the first line of an S3 text object: the field names separated
// by spaces (spec §5.1).
func (f Format) Header() string {
	var b strings.Builder
	for i, id := range f.fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(id.String())
	}
	return b.String()
}
