package flow

import "unicode/utf8"

// AppendCSV appends the record as one CSV row (RFC 4180, no newline) in the
// order of format f. A field that is not present ("-" in text) is an empty
// cell. Values are quoted only when they hold a comma, quote or line break,
// which AWS values never do. It does not allocate when dst has room.
func AppendCSV(dst []byte, f Format, r *Record) []byte {
	for i, id := range f.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		if !r.Has(id) {
			continue
		}
		switch fields[id].Kind {
		case KindString:
			dst = appendCSVString(dst, r.String(id))
		default:
			dst = appendField(dst, id, r)
		}
	}
	return dst
}

func appendCSVString(dst []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// CSVHeader returns the CSV header row of format f (no newline): the AWS
// field names, comma-separated.
func CSVHeader(f Format) string {
	b := make([]byte, 0, 16*len(f.fields))
	for i, id := range f.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, fields[id].Name...)
	}
	return string(b)
}

// AppendJSON appends the record as one JSON object (no newline) with the
// fields of format f in order, keyed by their AWS names ("account-id",
// "pkt-srcaddr", …). Integer fields are JSON numbers, every other field a
// string, and a field that is not present is null. account-id stays a
// string: it may have leading zeros or be "unknown". It does not allocate
// when dst has room.
func AppendJSON(dst []byte, f Format, r *Record) []byte {
	dst = append(dst, '{')
	for i, id := range f.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, fields[id].Name...)
		dst = append(dst, '"', ':')
		if !r.Has(id) {
			dst = append(dst, "null"...)
			continue
		}
		switch fields[id].Kind {
		case KindInt32, KindInt64:
			dst = appendField(dst, id, r)
		case KindString:
			if s := r.String(id); s != "" {
				dst = appendJSONString(dst, s)
			} else { // present but empty renders as "-" in text
				dst = append(dst, "null"...)
			}
		default: // addresses and enumerations never need escaping
			dst = append(dst, '"')
			dst = appendField(dst, id, r)
			dst = append(dst, '"')
		}
	}
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// Value returns field id of r as a Go value: int64 for integer fields,
// string for every other field, and nil when the field is not present.
func (r *Record) Value(id FieldID) any {
	if id >= NumFields || !r.Has(id) {
		return nil
	}
	switch fields[id].Kind {
	case KindInt32, KindInt64:
		v, _ := r.Int(id)
		return v
	case KindString:
		if s := r.String(id); s != "" {
			return s
		}
		return nil
	}
	return string(appendField(nil, id, r))
}

// AppendValue appends the text form of field id ("-" when not present).
func AppendValue(dst []byte, id FieldID, r *Record) []byte {
	if id >= NumFields {
		return append(dst, '-')
	}
	return appendField(dst, id, r)
}
