package flow

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// ErrSyntax is the sentinel wrapped by every record decoding error.
var ErrSyntax = errors.New("malformed flow log record")

// SyntaxError tells where a record line is wrong. Line is filled in by
// stream readers (0 when decoding a lone line); Column is the 1-based byte
// column of the offending token.
type SyntaxError struct {
	File   string
	Line   int
	Column int
	Field  string // field name expected at that position, if any
	Token  string
	Msg    string
}

func (e *SyntaxError) Error() string {
	pos := ""
	switch {
	case e.File != "" && e.Line > 0:
		pos = fmt.Sprintf("%s:%d:%d: ", e.File, e.Line, e.Column)
	case e.Line > 0:
		pos = fmt.Sprintf("line %d:%d: ", e.Line, e.Column)
	default:
		pos = fmt.Sprintf("column %d: ", e.Column)
	}
	if e.Field != "" {
		return fmt.Sprintf("%sfield %s: %s (got %s)", pos, e.Field, e.Msg, QuoteToken(e.Token))
	}
	return pos + e.Msg
}

// maxQuoted bounds how much of an input token an error message repeats: a
// multi-megabyte token would otherwise be echoed whole on stderr.
const maxQuoted = 64

// QuoteToken quotes s as %q does, cut to its first 64 bytes (at a rune
// boundary) with an ellipsis and the full length when it is longer.
func QuoteToken[T string | []byte](s T) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(string(s))
	}
	cut := maxQuoted
	for cut > maxQuoted-utf8.UTFMax && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(string(s[:cut])), len(s))
}

// Unwrap makes errors.Is(err, ErrSyntax) hold.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// AppendText appends the record as one space-separated line (no newline) in
// the order of format f, writing "-" for every field that is not present.
// It does not allocate when dst has room.
func AppendText(dst []byte, f Format, r *Record) []byte {
	for i, id := range f.fields {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendField(dst, id, r)
	}
	return dst
}

// Text returns the record as one line in format f.
func Text(f Format, r *Record) string { return string(AppendText(nil, f, r)) }

func appendField(dst []byte, id FieldID, r *Record) []byte {
	if !r.Has(id) {
		return append(dst, '-')
	}
	switch fields[id].Kind {
	case KindInt32, KindInt64:
		v, _ := r.Int(id)
		return strconv.AppendInt(dst, v, 10)
	case KindAddr:
		a, _ := r.Addr(id)
		return a.AppendTo(dst)
	case KindAction:
		return append(dst, r.Action.String()...)
	case KindLogStatus:
		return append(dst, r.LogStatus.String()...)
	}
	s := r.String(id)
	if s == "" {
		return append(dst, '-')
	}
	return append(dst, s...)
}

// Decoder decodes record lines of one format. It interns repeated string
// values (account ids, interface ids, …) so that decoding a typical stream
// does not allocate per line. A Decoder is not safe for concurrent use.
type Decoder struct {
	format   Format
	intern   map[string]string
	comments bool
}

// maxInterned bounds the intern table so that a stream of unique values
// cannot grow it without limit.
const maxInterned = 1 << 16

// NewDecoder returns a decoder for lines in format f.
func NewDecoder(f Format) *Decoder {
	return &Decoder{format: f, intern: make(map[string]string)}
}

// Format returns the decoder's format.
func (d *Decoder) Format() Format { return d.format }

// AllowComments makes a token that starts with '#' end the record: it and
// everything after it on the line are ignored, as in the annotated examples
// of AWS's documentation (spec §7.6, §7.9). AWS itself never writes comments,
// so by default (strict) such a token is an error.
func (d *Decoder) AllowComments(allow bool) { d.comments = allow }

// str returns b as an interned string; ok is false when b holds a control
// character (only checked for values not seen before: interned values were
// checked when they were added).
func (d *Decoder) str(b []byte) (s string, ok bool) {
	if s, ok := d.intern[string(b)]; ok {
		return s, true
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return "", false
		}
	}
	s = string(b)
	if len(d.intern) >= maxInterned {
		// Keep the table useful for long streams of mostly repeated values.
		clear(d.intern)
	}
	d.intern[s] = s
	return s, true
}

// Decode parses one line (without its newline; a trailing '\r' is ignored)
// into r, which is reset first. Fields are separated by one or more spaces
// or tabs. Errors are *SyntaxError with the column of the bad token.
func (d *Decoder) Decode(line []byte, r *Record) error {
	r.Reset()
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	want := len(d.format.fields)
	i, n := 0, 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			break
		}
		start := i
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			i++
		}
		if line[start] == '#' && (d.comments || n >= want) {
			if d.comments {
				break
			}
			return &SyntaxError{Column: start + 1, Token: string(line[start:]),
				Msg: "trailing comment is not part of a flow log record"}
		}
		if n >= want {
			return extraToken(want, line[start:i], start+1)
		}
		if err := d.decodeField(d.format.fields[n], line[start:i], r); err != nil {
			err.Column = start + 1
			return err
		}
		n++
	}
	if n < want {
		return &SyntaxError{Column: len(line) + 1, Field: d.format.fields[n].String(),
			Msg: fmt.Sprintf("expected %d fields, found %d", want, n)}
	}
	return nil
}

// extraToken is the error for a token past the last field, out of line to
// keep Decode's hot loop small.
//
//go:noinline
func extraToken(want int, tok []byte, col int) *SyntaxError {
	return &SyntaxError{Column: col, Token: string(tok),
		Msg: fmt.Sprintf("expected %d fields, found more (extra token %s)", want, QuoteToken(tok))}
}

func (d *Decoder) decodeField(id FieldID, tok []byte, r *Record) *SyntaxError {
	if len(tok) == 1 && tok[0] == '-' {
		if id == FieldLogStatus || id == FieldVersion {
			return fieldErr(id, tok, "value is required, '-' is not allowed")
		}
		return nil
	}
	switch fields[id].Kind {
	case KindInt32, KindInt64:
		v, ok := parseUint(tok)
		if !ok {
			return decodeLongUint(id, tok, r)
		}
		if max := intMax(id); v > max {
			return fieldErr(id, tok, fmt.Sprintf("value out of range 0-%d", max))
		}
		if id == FieldTrafficPath && (v < 1 || v > 8) {
			return fieldErr(id, tok, "expected a traffic-path from 1 to 8")
		}
		r.SetInt(id, int64(v))
	case KindAddr:
		a, ok := parseAddr(tok)
		if !ok {
			return fieldErr(id, tok, "expected an IPv4 or IPv6 address")
		}
		r.SetAddr(id, a)
	case KindAction:
		switch string(tok) {
		case "ACCEPT":
			r.SetAction(ActionAccept)
		case "REJECT":
			r.SetAction(ActionReject)
		default:
			return fieldErr(id, tok, "expected ACCEPT, REJECT or -")
		}
	case KindLogStatus:
		switch string(tok) {
		case "OK":
			r.SetLogStatus(StatusOK)
		case "NODATA":
			r.SetLogStatus(StatusNoData)
		case "SKIPDATA":
			r.SetLogStatus(StatusSkipData)
		default:
			return fieldErr(id, tok, "expected OK, NODATA or SKIPDATA")
		}
	default:
		if err := validateEnum(id, tok); err != nil {
			return err
		}
		if id == FieldFlowDirection {
			if string(tok) == "egress" {
				r.SetDirection(Egress)
			} else {
				r.SetDirection(Ingress)
			}
			return nil
		}
		s, ok := d.str(tok)
		if !ok {
			return fieldErr(id, tok, "unexpected control character")
		}
		r.SetString(id, s)
	}
	return nil
}

// DecodeToken parses one field value (as it appears in a text record, "-"
// for absent) into r without resetting r. Readers of other encodings
// (Parquet, JSON) use it so that every value is validated the same way.
func (d *Decoder) DecodeToken(id FieldID, tok []byte, r *Record) error {
	if id >= NumFields {
		return &SyntaxError{Token: string(tok), Msg: fmt.Sprintf("unknown field id %d", id)}
	}
	if len(tok) == 0 {
		return fieldErr(id, tok, "empty value")
	}
	if err := d.decodeField(id, tok, r); err != nil {
		return err
	}
	return nil
}

func validateEnum(id FieldID, tok []byte) *SyntaxError {
	s := string(tok) // comparisons against constants do not allocate
	switch id {
	case FieldType:
		if s != "IPv4" && s != "IPv6" && s != "EFA" {
			return fieldErr(id, tok, "expected IPv4, IPv6 or EFA")
		}
	case FieldFlowDirection:
		if s != "ingress" && s != "egress" {
			return fieldErr(id, tok, "expected ingress or egress")
		}
	case FieldSublocationType:
		if s != "wavelength" && s != "outpost" && s != "localzone" {
			return fieldErr(id, tok, "expected wavelength, outpost or localzone")
		}
	case FieldPktSrcAWSService, FieldPktDstAWSService:
		for _, c := range tok {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return fieldErr(id, tok, "expected an ip-ranges service code such as S3 or AMAZON")
			}
		}
	case FieldRejectReason:
		if s != "BPA" && s != "EC" {
			return fieldErr(id, tok, "expected BPA, EC or -")
		}
	}
	return nil
}

func intMax(id FieldID) uint64 {
	switch id {
	case FieldSrcPort, FieldDstPort:
		return 65535
	case FieldProtocol, FieldTCPFlags:
		return 255
	case FieldEncryptionStatus:
		return 3
	}
	if fields[id].Kind == KindInt32 {
		return 1<<31 - 1
	}
	return 1<<63 - 1
}

// parseAddr parses an IPv4 address (dotted decimal, no leading zeros, as
// netip) or an IPv6 address without zone, without allocating.
func parseAddr(b []byte) (netip.Addr, bool) {
	if bytes.IndexByte(b, ':') >= 0 {
		// IPv6 (possibly with an embedded IPv4 tail). The string aliases b
		// only for the duration of the call: a parsed Addr keeps no
		// reference to it, and the error is dropped.
		a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(b), len(b)))
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Addr{}, false
		}
		return a, true
	}
	var ip [4]byte
	octet, digits, dots := 0, 0, 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && octet == 0 {
				return netip.Addr{}, false // leading zero
			}
			octet = octet*10 + int(c-'0')
			digits++
			if octet > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || dots == 3 {
				return netip.Addr{}, false
			}
			ip[dots] = byte(octet)
			dots++
			octet, digits = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if dots != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(octet)
	return netip.AddrFrom4(ip), true
}

// parseUint parses up to 19 digits, which cannot overflow a uint64.
// Longer tokens go to parseLongUint.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// decodeLongUint decodes an integer token parseUint refused, off the hot
// path: leading zeros do not count (as in shorter tokens), more than 19
// digits are out of any field's range, anything else is not a number.
//
//go:noinline
func decodeLongUint(id FieldID, tok []byte, r *Record) *SyntaxError {
	b := tok
	for len(b) > 1 && b[0] == '0' {
		b = b[1:]
	}
	v, ok := parseUint(b)
	if !ok {
		for _, c := range b {
			if c < '0' || c > '9' {
				return fieldErr(id, tok, "expected a non-negative integer")
			}
		}
		if len(b) == 0 {
			return fieldErr(id, tok, "expected a non-negative integer")
		}
		v = math.MaxUint64 // out of range below
	}
	if max := intMax(id); v > max {
		return fieldErr(id, tok, fmt.Sprintf("value out of range 0-%d", max))
	}
	if id == FieldTrafficPath && (v < 1 || v > 8) {
		return fieldErr(id, tok, "expected a traffic-path from 1 to 8")
	}
	r.SetInt(id, int64(v))
	return nil
}

func fieldErr(id FieldID, tok []byte, msg string) *SyntaxError {
	return &SyntaxError{Field: id.String(), Token: string(tok), Msg: msg}
}

// DecodeLine decodes one line in format f into a new record.
func DecodeLine(f Format, line string) (Record, error) {
	var r Record
	err := NewDecoder(f).Decode([]byte(line), &r)
	return r, err
}
