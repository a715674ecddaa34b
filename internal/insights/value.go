package insights

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a Value.
type Kind uint8

// Value kinds. Null is a missing field (the zero Value is an internal
// "unset" marker that behaves as Null); Time is Unix milliseconds shown as
// "2006-01-02 15:04:05.000" (UTC), as GetQueryResults shows @timestamp.
const (
	kUnset Kind = iota // internal: slot not written, fall back to the event
	Null
	Int
	Float
	String
	Time
	Bool
)

// Value is a field or expression value. Strings taken from a log event
// share the event's memory.
type Value struct {
	K Kind
	I int64 // Int, Time (ms), Bool (0/1)
	F float64
	S string
}

var nullValue = Value{K: Null}

func intVal(i int64) Value     { return Value{K: Int, I: i} }
func floatVal(f float64) Value { return Value{K: Float, F: f} }
func strVal(s string) Value    { return Value{K: String, S: s} }
func timeVal(ms int64) Value   { return Value{K: Time, I: ms} }
func boolVal(b bool) Value {
	if b {
		return Value{K: Bool, I: 1}
	}
	return Value{K: Bool}
}

// TimeLayout is how time values print in results.
const TimeLayout = "2006-01-02 15:04:05.000"

// String renders the value as GetQueryResults would.
func (v Value) String() string {
	switch v.K {
	case Int:
		return strconv.FormatInt(v.I, 10)
	case Float:
		return formatFloat(v.F)
	case String:
		return v.S
	case Time:
		return time.UnixMilli(v.I).UTC().Format(TimeLayout)
	case Bool:
		if v.I != 0 {
			return "true"
		}
		return "false"
	}
	return ""
}

func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// num returns the value as a number: ints stay exact, numeric strings are
// converted. ok is false for null and non-numeric values.
func (v Value) num() (i int64, f float64, isInt, ok bool) {
	switch v.K {
	case Int, Time, Bool:
		return v.I, float64(v.I), true, true
	case Float:
		return 0, v.F, false, true
	case String:
		return parseNum(v.S)
	}
	return 0, 0, false, false
}

func parseNum(s string) (i int64, f float64, isInt, ok bool) {
	if s == "" {
		return 0, 0, false, false
	}
	if n, ok := parseIntFast(s); ok {
		return n, float64(n), true, true
	}
	c := s[0]
	if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.') {
		return 0, 0, false, false
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, 0, false, false
	}
	return 0, x, false, true
}

func parseIntFast(s string) (int64, bool) {
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func (v Value) float() (float64, bool) {
	_, f, _, ok := v.num()
	return f, ok
}

func (v Value) truthy() bool {
	switch v.K {
	case Bool, Int, Time:
		return v.I != 0
	case Float:
		return v.F != 0
	case String:
		return v.S != ""
	}
	return false
}

// str returns the value as text for string functions.
func (v Value) str() string {
	if v.K == String {
		return v.S
	}
	return v.String()
}

// isNumber reports whether v is a number value in the sense of the sort
// order: a number, or a string made only of digits.
func (v Value) isNumber() bool {
	switch v.K {
	case Int, Float, Time:
		return true
	case String:
		if v.S == "" {
			return false
		}
		_, _, _, ok := parseNum(v.S)
		return ok
	}
	return false
}

// equal compares for `=` / `in`: numerically when both sides are numbers
// (or numeric strings against a number), else as text.
func equal(a, b Value) bool {
	if a.K <= Null || b.K <= Null {
		return false
	}
	if a.K == String && b.K == String {
		return a.S == b.S
	}
	if a.K == Bool || b.K == Bool {
		return a.truthy() == b.truthy()
	}
	ai, af, aInt, aok := a.num()
	bi, bf, bInt, bok := b.num()
	if aok && bok {
		if aInt && bInt {
			return ai == bi
		}
		return af == bf
	}
	return a.str() == b.str()
}

// compare orders two non-null values for < <= > >=: numerically if both
// are numeric, else as text. ok is false when either is null.
func compare(a, b Value) (int, bool) {
	if a.K <= Null || b.K <= Null {
		return 0, false
	}
	if a.K == String && b.K == String {
		an, bn := a.isNumber(), b.isNumber()
		if !an || !bn {
			return strings.Compare(a.S, b.S), true
		}
	}
	ai, af, aInt, aok := a.num()
	bi, bf, bInt, bok := b.num()
	if aok && bok {
		if aInt && bInt {
			return cmpInt(ai, bi), true
		}
		return cmpFloat(af, bf), true
	}
	return strings.Compare(a.str(), b.str()), true
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortCompare is the `sort` order (spec: natural sort): nulls last in
// either direction (handled by the caller), non-number values before
// number values, numbers by value, other text in natural order (runs of
// digits compare by length, then value).
func sortCompare(a, b Value) int {
	an, bn := a.isNumber(), b.isNumber()
	switch {
	case an && bn:
		ai, af, aInt, _ := a.num()
		bi, bf, bInt, _ := b.num()
		if aInt && bInt {
			return cmpInt(ai, bi)
		}
		return cmpFloat(af, bf)
	case an:
		return 1
	case bn:
		return -1
	}
	return naturalCompare(a.str(), b.str())
}

func naturalCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			da, db := a[si:i], b[sj:j]
			if len(da) != len(db) {
				return cmpInt(int64(len(da)), int64(len(db)))
			}
			if c := strings.Compare(da, db); c != 0 {
				return c
			}
			continue
		}
		if ca != cb {
			return cmpInt(int64(ca), int64(cb))
		}
		i++
		j++
	}
	return cmpInt(int64(len(a)-i), int64(len(b)-j))
}

// arith applies + - * / % ^ with Logs Insights semantics: integer results
// stay exact for + - * %; division and powers are floating point.
func arith(op byte, a, b Value) Value {
	ai, af, aInt, aok := a.num()
	bi, bf, bInt, bok := b.num()
	if !aok || !bok {
		return nullValue
	}
	if aInt && bInt {
		switch op {
		case '+':
			return intVal(ai + bi)
		case '-':
			return intVal(ai - bi)
		case '*':
			return intVal(ai * bi)
		case '%':
			if bi == 0 {
				return nullValue
			}
			return intVal(ai % bi)
		}
	}
	switch op {
	case '+':
		return floatVal(af + bf)
	case '-':
		return floatVal(af - bf)
	case '*':
		return floatVal(af * bf)
	case '/':
		if bf == 0 {
			return nullValue
		}
		return normFloat(af / bf)
	case '%':
		if bf == 0 {
			return nullValue
		}
		return floatVal(math.Mod(af, bf))
	case '^':
		return normFloat(math.Pow(af, bf))
	}
	return nullValue
}

// normFloat keeps integral quotients as floats (they print without a
// fraction anyway).
func normFloat(f float64) Value { return floatVal(f) }

// IsNull reports whether v is missing.
func (v Value) IsNull() bool { return v.K <= Null }
