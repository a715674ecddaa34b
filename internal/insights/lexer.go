package insights

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokString
	tokNumber
	tokDuration
	tokRegex
	tokPipe
	tokComma
	tokLParen
	tokRParen
	tokLBrack
	tokRBrack
	tokEq      // =
	tokNe      // !=
	tokLt      // <
	tokLe      // <=
	tokGt      // >
	tokGe      // >=
	tokMatch   // =~
	tokPlus    // +
	tokMinus   // -
	tokStar    // *
	tokSlash   // /
	tokPercent // %
	tokCaret   // ^
)

var tokNames = [...]string{
	tokEOF: "end of query", tokIdent: "identifier", tokString: "string", tokNumber: "number",
	tokDuration: "duration", tokRegex: "regular expression", tokPipe: "'|'", tokComma: "','",
	tokLParen: "'('", tokRParen: "')'", tokLBrack: "'['", tokRBrack: "']'", tokEq: "'='",
	tokNe: "'!='", tokLt: "'<'", tokLe: "'<='", tokGt: "'>'", tokGe: "'>='", tokMatch: "'=~'",
	tokPlus: "'+'", tokMinus: "'-'", tokStar: "'*'", tokSlash: "'/'", tokPercent: "'%'", tokCaret: "'^'",
}

func (k tokKind) String() string { return tokNames[k] }

// token is one lexeme. For identifiers and strings, val is the decoded
// text (backticks and quotes removed, escapes resolved); raw is the source.
type token struct {
	kind   tokKind
	val    string
	pos    int  // byte offset of the first character
	end    int  // byte offset after the last character
	quoted bool // identifier written in backticks
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokString:
		return fmt.Sprintf("string %q", t.val)
	case tokIdent:
		return fmt.Sprintf("%q", t.val)
	case tokNumber, tokDuration:
		return t.val
	}
	return t.kind.String()
}

// lexer produces tokens on demand; the parser asks for a regex literal
// explicitly where an operand may start with '/'.
type lexer struct {
	src string
	pos int
}

// position converts a byte offset into a 1-based line and column (columns
// count characters).
func position(src string, off int) (line, col int) {
	if off > len(src) {
		off = len(src)
	}
	line = 1 + strings.Count(src[:off], "\n")
	ls := strings.LastIndexByte(src[:off], '\n') + 1
	col = 1 + utf8.RuneCountInString(src[ls:off])
	return line, col
}

func (lx *lexer) errAt(off int, format string, args ...any) *ParseError {
	line, col := position(lx.src, off)
	return &ParseError{Line: line, Column: col, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '@' || c >= 0x80
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '.'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (lx *lexer) skipSpace() {
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			lx.pos++
		case c == '#':
			for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
				lx.pos++
			}
		default:
			return
		}
	}
}

// durationUnits maps the unit spellings Logs Insights accepts after a
// number in bin() and the date functions to the engine's: "ms msec
// millisecond, s sec second, m min minute, h hr hour, d day, w week, mo
// mon month, q qtr quarter, y yr year", each also with a trailing s (hrs,
// mins), case aside.
var durationUnits = map[string]string{
	"ms": "ms", "msec": "ms", "millisecond": "ms",
	"s": "s", "sec": "s", "second": "s",
	"m": "m", "min": "m", "minute": "m",
	"h": "h", "hr": "h", "hour": "h",
	"d": "d", "day": "d",
	"w": "w", "week": "w",
	"mo": "mo", "mon": "mo", "month": "mo",
	"q": "q", "qtr": "q", "quarter": "q",
	"y": "y", "yr": "y", "year": "y",
}

// durationUnit is the engine's unit for a spelling, if it is one.
func durationUnit(spelt string) (string, bool) {
	u := strings.ToLower(spelt)
	if c, ok := durationUnits[u]; ok {
		return c, true
	}
	// A plural: "hrs", "mins", but "ms" is milliseconds, found above.
	if len(u) > 2 && strings.HasSuffix(u, "s") {
		c, ok := durationUnits[u[:len(u)-1]]
		return c, ok
	}
	return "", false
}

func (lx *lexer) next() (token, error) {
	lx.skipSpace()
	start := lx.pos
	if lx.pos >= len(lx.src) {
		return token{kind: tokEOF, pos: start, end: start}, nil
	}
	c := lx.src[lx.pos]
	single := func(k tokKind) (token, error) {
		lx.pos++
		return token{kind: k, pos: start, end: lx.pos}, nil
	}
	double := func(k tokKind) (token, error) {
		lx.pos += 2
		return token{kind: k, pos: start, end: lx.pos}, nil
	}
	peek := byte(0)
	if lx.pos+1 < len(lx.src) {
		peek = lx.src[lx.pos+1]
	}
	switch c {
	case '|':
		return single(tokPipe)
	case ',':
		return single(tokComma)
	case '(':
		return single(tokLParen)
	case ')':
		return single(tokRParen)
	case '[':
		return single(tokLBrack)
	case ']':
		return single(tokRBrack)
	case '+':
		return single(tokPlus)
	case '-':
		return single(tokMinus)
	case '*':
		return single(tokStar)
	case '/':
		return single(tokSlash)
	case '%':
		return single(tokPercent)
	case '^':
		return single(tokCaret)
	case '=':
		if peek == '~' {
			return double(tokMatch)
		}
		if peek == '=' { // tolerate ==
			return double(tokEq)
		}
		return single(tokEq)
	case '!':
		if peek == '=' {
			return double(tokNe)
		}
		return token{}, lx.errAt(start, "unexpected character '!' (did you mean '!=')")
	case '<':
		if peek == '=' {
			return double(tokLe)
		}
		return single(tokLt)
	case '>':
		if peek == '=' {
			return double(tokGe)
		}
		return single(tokGt)
	case '"', '\'':
		return lx.lexString(c)
	case '`':
		end := strings.IndexByte(lx.src[lx.pos+1:], '`')
		if end < 0 {
			return token{}, lx.errAt(start, "unterminated backquoted field name")
		}
		name := lx.src[lx.pos+1 : lx.pos+1+end]
		if name == "" {
			return token{}, lx.errAt(start, "empty backquoted field name")
		}
		lx.pos += end + 2
		return token{kind: tokIdent, val: name, pos: start, end: lx.pos, quoted: true}, nil
	}
	if isDigit(c) || c == '.' && isDigit(peek) {
		return lx.lexNumber()
	}
	if isIdentStart(c) {
		for lx.pos < len(lx.src) && isIdentChar(lx.src[lx.pos]) {
			lx.pos++
		}
		return token{kind: tokIdent, val: lx.src[start:lx.pos], pos: start, end: lx.pos}, nil
	}
	r, _ := utf8.DecodeRuneInString(lx.src[lx.pos:])
	return token{}, lx.errAt(start, "unexpected character %q", r)
}

func (lx *lexer) lexNumber() (token, error) {
	start := lx.pos
	for lx.pos < len(lx.src) && isDigit(lx.src[lx.pos]) {
		lx.pos++
	}
	if lx.pos < len(lx.src) && lx.src[lx.pos] == '.' {
		lx.pos++
		for lx.pos < len(lx.src) && isDigit(lx.src[lx.pos]) {
			lx.pos++
		}
	}
	if lx.pos < len(lx.src) && (lx.src[lx.pos] == 'e' || lx.src[lx.pos] == 'E') {
		j := lx.pos + 1
		if j < len(lx.src) && (lx.src[j] == '+' || lx.src[j] == '-') {
			j++
		}
		if j < len(lx.src) && isDigit(lx.src[j]) {
			for j < len(lx.src) && isDigit(lx.src[j]) {
				j++
			}
			lx.pos = j
		}
	}
	num := lx.src[start:lx.pos]
	if lx.pos < len(lx.src) && isIdentStart(lx.src[lx.pos]) {
		us := lx.pos
		for lx.pos < len(lx.src) && isIdentChar(lx.src[lx.pos]) {
			lx.pos++
		}
		if u, ok := durationUnit(lx.src[us:lx.pos]); ok && !strings.ContainsAny(num, ".eE") {
			return token{kind: tokDuration, val: num + u, pos: start, end: lx.pos}, nil
		}
		return token{}, lx.errAt(start, "invalid number or duration %q (units: ms, s, m, h, d, w, mo, q, y, or msec, sec, min, hr, day, week, mon, qtr, yr, also in full and plural)", lx.src[start:lx.pos])
	}
	return token{kind: tokNumber, val: num, pos: start, end: lx.pos}, nil
}

func (lx *lexer) lexString(q byte) (token, error) {
	start := lx.pos
	lx.pos++
	var b strings.Builder
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch c {
		case q:
			lx.pos++
			return token{kind: tokString, val: b.String(), pos: start, end: lx.pos}, nil
		case '\\':
			if lx.pos+1 >= len(lx.src) {
				return token{}, lx.errAt(start, "unterminated string")
			}
			e := lx.src[lx.pos+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '"', '\'':
				b.WriteByte(e)
			default: // keep unknown escapes verbatim (regex-like strings)
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			lx.pos += 2
		default:
			b.WriteByte(c)
			lx.pos++
		}
	}
	return token{}, lx.errAt(start, "unterminated string")
}

// regexFrom lexes a regex literal whose opening '/' is at off. The body runs
// to the next unescaped '/'; "\/" stands for a slash. An optional
// trailing flag set is not part of Logs Insights syntax (use (?i)).
func (lx *lexer) regexFrom(off int) (token, error) {
	lx.pos = off + 1
	var b strings.Builder
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch c {
		case '/':
			lx.pos++
			return token{kind: tokRegex, val: b.String(), pos: off, end: lx.pos}, nil
		case '\\':
			if lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == '/' {
				b.WriteByte('/')
				lx.pos += 2
				continue
			}
			b.WriteByte('\\')
			if lx.pos+1 < len(lx.src) {
				b.WriteByte(lx.src[lx.pos+1])
			}
			lx.pos += 2
		default:
			b.WriteByte(c)
			lx.pos++
		}
	}
	return token{}, lx.errAt(off, "unterminated regular expression")
}
