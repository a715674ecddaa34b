package alarm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalidPattern is wrapped by every filter pattern syntax error.
var ErrInvalidPattern = errors.New("invalid filter pattern")

// PatternError is a filter pattern syntax error at a byte offset.
type PatternError struct {
	Pattern string
	Offset  int // 0-based byte offset
	Msg     string
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("filter pattern: column %d: %s", e.Offset+1, e.Msg)
}

// Unwrap makes errors.Is(err, ErrInvalidPattern) hold.
func (e *PatternError) Unwrap() error { return ErrInvalidPattern }

// PatternKind is the flavour of a filter pattern.
type PatternKind uint8

// Pattern kinds (CloudWatch Logs filter and pattern syntax).
const (
	PatternAll       PatternKind = iota // "" or " ": every event
	PatternTerms                        // ERROR -DEBUG ?WARN "a phrase"
	PatternDelimited                    // [a, b=1, ...]
	PatternJSON                         // { $.a = 1 && $.b != "x" }
)

// Pattern is a compiled filter pattern. Match is safe for concurrent use.
type Pattern struct {
	Kind PatternKind
	src  string

	terms []term // PatternTerms

	slots    []slot // PatternDelimited
	ellipsis int    // index of "..." in slots, or -1
	byName   map[string]int
	cond     *cond // conditions of all slots AND-ed

	json *jexpr // PatternJSON
}

type term struct {
	text string
	mod  byte // 0, '-' (must not contain) or '?' (any of)
}

type slot struct {
	name string // "" for "..."
	cond *cond
}

// ParsePattern compiles a CloudWatch Logs filter pattern.
func ParsePattern(s string) (*Pattern, error) {
	p := &Pattern{src: s, ellipsis: -1}
	t := strings.TrimSpace(s)
	lead := len(s) - len(strings.TrimLeft(s, " \t"))
	switch {
	case t == "" || t == `""` || t == `" "`:
		p.Kind = PatternAll
		return p, nil
	case t[0] == '[':
		p.Kind = PatternDelimited
		ps := &parser{src: s, pos: lead}
		if err := ps.delimited(p); err != nil {
			return nil, err
		}
		return p, nil
	case t[0] == '{':
		p.Kind = PatternJSON
		ps := &parser{src: s, pos: lead}
		e, err := ps.jsonPattern()
		if err != nil {
			return nil, err
		}
		p.json = e
		return p, nil
	}
	p.Kind = PatternTerms
	ps := &parser{src: s, pos: lead}
	if err := ps.terms(p); err != nil {
		return nil, err
	}
	return p, nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Fields returns the names of a space-delimited pattern's fields, in order
// ("" for an ellipsis or the unnamed field of a trailing comma).
func (p *Pattern) Fields() []string {
	out := make([]string, len(p.slots))
	for i, s := range p.slots {
		out[i] = s.name
	}
	return out
}

// ---- parser ----

type parser struct {
	src string
	pos int
}

func (ps *parser) errf(off int, format string, args ...any) error {
	return &PatternError{Pattern: ps.src, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (ps *parser) skipSpace() {
	for ps.pos < len(ps.src) && (ps.src[ps.pos] == ' ' || ps.src[ps.pos] == '\t' || ps.src[ps.pos] == '\n' || ps.src[ps.pos] == '\r') {
		ps.pos++
	}
}

func (ps *parser) peek() byte {
	if ps.pos < len(ps.src) {
		return ps.src[ps.pos]
	}
	return 0
}

func (ps *parser) eat(s string) bool {
	if strings.HasPrefix(ps.src[ps.pos:], s) {
		ps.pos += len(s)
		return true
	}
	return false
}

// quoted reads a "..." string with \" and \\ escapes; pos is at the quote.
func (ps *parser) quoted() (string, error) {
	start := ps.pos
	ps.pos++
	var b strings.Builder
	for ps.pos < len(ps.src) {
		c := ps.src[ps.pos]
		switch c {
		case '\\':
			if ps.pos+1 < len(ps.src) {
				b.WriteByte(ps.src[ps.pos+1])
				ps.pos += 2
				continue
			}
			ps.pos++
		case '"':
			ps.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
			ps.pos++
		}
	}
	return "", ps.errf(start, "unterminated quoted string")
}

func (ps *parser) terms(p *Pattern) error {
	for {
		ps.skipSpace()
		if ps.pos >= len(ps.src) {
			break
		}
		var mod byte
		if c := ps.peek(); c == '-' || c == '?' {
			mod = c
			ps.pos++
		}
		start := ps.pos
		var text string
		if ps.peek() == '"' {
			s, err := ps.quoted()
			if err != nil {
				return err
			}
			text = s
		} else {
			for ps.pos < len(ps.src) && ps.src[ps.pos] != ' ' && ps.src[ps.pos] != '\t' && ps.src[ps.pos] != '"' {
				ps.pos++
			}
			text = ps.src[start:ps.pos]
		}
		if text == "" {
			return ps.errf(start, "empty term")
		}
		p.terms = append(p.terms, term{text: text, mod: mod})
	}
	if len(p.terms) == 0 {
		p.Kind = PatternAll
	}
	return nil
}

// ---- space-delimited ----

func isIdent(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '$' || c == '@' ||
		c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func (ps *parser) ident() (string, error) {
	ps.skipSpace()
	start := ps.pos
	for ps.pos < len(ps.src) && isIdent(ps.src[ps.pos]) {
		ps.pos++
	}
	if start == ps.pos {
		if ps.pos >= len(ps.src) {
			return "", ps.errf(ps.pos, "expected a field name, found end of pattern")
		}
		return "", ps.errf(ps.pos, "expected a field name, found %q", ps.src[ps.pos])
	}
	return ps.src[start:ps.pos], nil
}

func (ps *parser) delimited(p *Pattern) error {
	ps.pos++ // [
	p.byName = map[string]int{}
	var all []*cond
	for {
		ps.skipSpace()
		start := ps.pos
		if ps.peek() == ']' && len(p.slots) > 0 {
			// A trailing comma, as in AWS's "[..., status_code=4*,]",
			// ends the list with one more, unnamed field.
			p.slots = append(p.slots, slot{})
		} else if ps.eat("...") {
			if p.ellipsis >= 0 {
				return ps.errf(start, "only one ellipsis (...) is supported")
			}
			p.ellipsis = len(p.slots)
			p.slots = append(p.slots, slot{})
		} else {
			name, err := ps.ident()
			if err != nil {
				return err
			}
			if _, dup := p.byName[name]; dup {
				return ps.errf(start, "field %q is named twice", name)
			}
			p.byName[name] = len(p.slots)
			p.slots = append(p.slots, slot{name: name})
			ps.skipSpace()
			if c := ps.peek(); c != ',' && c != ']' {
				c, err := ps.slotCond(name)
				if err != nil {
					return err
				}
				p.slots[len(p.slots)-1].cond = c
				all = append(all, c)
			}
		}
		ps.skipSpace()
		switch ps.peek() {
		case ',':
			ps.pos++
			continue
		case ']':
			ps.pos++
			ps.skipSpace()
			if ps.pos < len(ps.src) {
				return ps.errf(ps.pos, "unexpected %q after the closing bracket", ps.src[ps.pos:])
			}
			// Conditions may name fields declared later in the list.
			for _, c := range all {
				if err := c.resolve(p.byName, ps); err != nil {
					return err
				}
			}
			return nil
		case 0:
			return ps.errf(ps.pos, "expected ',' or ']', found end of pattern")
		default:
			return ps.errf(ps.pos, "expected ',' or ']', found %q", ps.src[ps.pos])
		}
	}
}

// cond is a boolean tree of comparisons.
type cond struct {
	op          byte // '&', '|' or 0 for a comparison
	left, right *cond
	cmp         comparison
}

type comparison struct {
	field  string
	fpos   int // offset of the field name, for errors
	slot   int
	path   []pathStep // JSON selectors
	op     string     // = != < <= > >= IS NOTEXISTS
	isNum  bool
	num    float64
	str    string
	glob   bool
	edge   bool // JSON: only a leading or trailing * is a wildcard
	quoted bool
	is     string // TRUE FALSE NULL for IS
}

func (c *cond) resolve(byName map[string]int, ps *parser) error {
	if c == nil {
		return nil
	}
	if c.op != 0 {
		if err := c.left.resolve(byName, ps); err != nil {
			return err
		}
		return c.right.resolve(byName, ps)
	}
	i, ok := byName[c.cmp.field]
	if !ok {
		return ps.errf(c.cmp.fpos, "condition on %q, which is not a field of the pattern", c.cmp.field)
	}
	c.cmp.slot = i
	return nil
}

// slotCond parses the condition after a field name: `op value` and then
// `&& name op value` / `|| name op value` chains (&& binds tighter).
func (ps *parser) slotCond(name string) (*cond, error) {
	first := true
	return ps.orChain(func() (*cond, error) {
		ps.skipSpace()
		fpos := ps.pos
		field := name
		if !first {
			f, err := ps.ident()
			if err != nil {
				return nil, err
			}
			field = f
		} else {
			fpos = ps.pos
		}
		first = false
		c := &cond{cmp: comparison{field: field, fpos: fpos}}
		if err := ps.operatorValue(&c.cmp, false); err != nil {
			return nil, err
		}
		return c, nil
	})
}

func (ps *parser) orChain(leaf func() (*cond, error)) (*cond, error) {
	and := func() (*cond, error) {
		l, err := leaf()
		if err != nil {
			return nil, err
		}
		for {
			ps.skipSpace()
			if !ps.eat("&&") {
				return l, nil
			}
			r, err := leaf()
			if err != nil {
				return nil, err
			}
			l = &cond{op: '&', left: l, right: r}
		}
	}
	l, err := and()
	if err != nil {
		return nil, err
	}
	for {
		ps.skipSpace()
		if !ps.eat("||") {
			return l, nil
		}
		r, err := and()
		if err != nil {
			return nil, err
		}
		l = &cond{op: '|', left: l, right: r}
	}
}

var operators = []string{"!=", "<=", ">=", "=", "<", ">"}

func (ps *parser) operatorValue(c *comparison, jsonMode bool) error {
	ps.skipSpace()
	opPos := ps.pos
	for _, op := range operators {
		if ps.eat(op) {
			c.op = op
			break
		}
	}
	if c.op == "" {
		if ps.pos >= len(ps.src) {
			return ps.errf(opPos, "expected a comparison operator (=, !=, <, <=, >, >=), found end of pattern")
		}
		return ps.errf(opPos, "expected a comparison operator (=, !=, <, <=, >, >=), found %q", ps.src[ps.pos])
	}
	ps.skipSpace()
	vpos := ps.pos
	if ps.peek() == '"' {
		s, err := ps.quoted()
		if err != nil {
			return err
		}
		c.str, c.quoted = s, true
	} else {
		for ps.pos < len(ps.src) {
			ch := ps.src[ps.pos]
			if ch == ' ' || ch == '\t' || ch == ',' || ch == ']' || ch == '}' || ch == ')' || ch == '"' ||
				strings.HasPrefix(ps.src[ps.pos:], "&&") || strings.HasPrefix(ps.src[ps.pos:], "||") {
				break
			}
			ps.pos++
		}
		c.str = ps.src[vpos:ps.pos]
		if c.str == "" {
			return ps.errf(vpos, "expected a value after %s", c.op)
		}
		if f, err := strconv.ParseFloat(c.str, 64); err == nil && !strings.ContainsAny(c.str, "xXnN_") {
			c.isNum, c.num = true, f
		}
	}
	c.glob = strings.Contains(c.str, "*")
	c.edge = jsonMode
	if c.op != "=" && c.op != "!=" && !c.isNum {
		return ps.errf(vpos, "operator %s needs a number, found %q", c.op, c.str)
	}
	return nil
}

// ---- JSON patterns ----

type pathStep struct {
	key   string
	index int // -1 for a member
}

type jexpr = cond

func (ps *parser) jsonPattern() (*jexpr, error) {
	ps.pos++ // {
	e, err := ps.jsonOr()
	if err != nil {
		return nil, err
	}
	ps.skipSpace()
	if !ps.eat("}") {
		if ps.pos >= len(ps.src) {
			return nil, ps.errf(ps.pos, "expected '}', found end of pattern")
		}
		return nil, ps.errf(ps.pos, "expected '}', found %q", ps.src[ps.pos])
	}
	ps.skipSpace()
	if ps.pos < len(ps.src) {
		return nil, ps.errf(ps.pos, "unexpected %q after the closing brace", ps.src[ps.pos:])
	}
	return e, nil
}

func (ps *parser) jsonOr() (*jexpr, error) {
	return ps.orChain(ps.jsonUnary)
}

func (ps *parser) jsonUnary() (*jexpr, error) {
	ps.skipSpace()
	if ps.eat("(") {
		e, err := ps.jsonOr()
		if err != nil {
			return nil, err
		}
		ps.skipSpace()
		if !ps.eat(")") {
			return nil, ps.errf(ps.pos, "expected ')'")
		}
		return e, nil
	}
	start := ps.pos
	path, err := ps.selector()
	if err != nil {
		return nil, err
	}
	c := &cond{cmp: comparison{field: ps.src[start:ps.pos], fpos: start, path: path}}
	ps.skipSpace()
	rest := ps.src[ps.pos:]
	switch {
	case strings.HasPrefix(rest, "IS "):
		ps.pos += 3
		ps.skipSpace()
		for _, w := range []string{"TRUE", "FALSE", "NULL"} {
			if ps.eat(w) {
				c.cmp.op, c.cmp.is = "IS", w
				return c, nil
			}
		}
		return nil, ps.errf(ps.pos, "expected TRUE, FALSE or NULL after IS")
	case strings.HasPrefix(rest, "NOT EXISTS"):
		ps.pos += len("NOT EXISTS")
		c.cmp.op = "NOTEXISTS"
		return c, nil
	}
	if err := ps.operatorValue(&c.cmp, true); err != nil {
		return nil, err
	}
	return c, nil
}

// selector parses $.a.b[0].c.
func (ps *parser) selector() ([]pathStep, error) {
	ps.skipSpace()
	start := ps.pos
	if !ps.eat("$") {
		return nil, ps.errf(start, "expected a selector starting with $.")
	}
	var steps []pathStep
	for {
		switch ps.peek() {
		case '.':
			ps.pos++
			s := ps.pos
			for ps.pos < len(ps.src) && (isIdent(ps.src[ps.pos]) && ps.src[ps.pos] != '.' && ps.src[ps.pos] != '$' || ps.src[ps.pos] == ':') {
				ps.pos++
			}
			if s == ps.pos {
				return nil, ps.errf(s, "expected a member name after '.'")
			}
			steps = append(steps, pathStep{key: ps.src[s:ps.pos], index: -1})
		case '[':
			ps.pos++
			s := ps.pos
			for ps.pos < len(ps.src) && ps.src[ps.pos] >= '0' && ps.src[ps.pos] <= '9' {
				ps.pos++
			}
			n, err := strconv.Atoi(ps.src[s:ps.pos])
			if err != nil || !ps.eat("]") {
				return nil, ps.errf(s, "expected an array index like [0]")
			}
			steps = append(steps, pathStep{index: n})
		default:
			if len(steps) == 0 {
				return nil, ps.errf(start, "expected a selector like $.field")
			}
			return steps, nil
		}
	}
}

// ---- matching ----

// Match reports whether msg matches. For space-delimited patterns, vals
// receives the token of every field (nil entries are reused); it may be
// nil when the caller needs no values.
func (p *Pattern) Match(msg string) bool {
	ok, _ := p.match(msg, nil, nil)
	return ok
}

// Extracted holds what a matching event yields for $field references.
type Extracted struct {
	p    *Pattern
	toks []string
	doc  any
}

// Get returns the value of "$name" (delimited) or "$.path" (JSON).
func (x *Extracted) Get(ref string) (string, bool) {
	if x == nil || x.p == nil {
		return "", false
	}
	switch x.p.Kind {
	case PatternDelimited:
		name := strings.TrimPrefix(ref, "$")
		i, ok := x.p.byName[name]
		if !ok {
			return "", false
		}
		return x.slotValue(i)
	case PatternJSON:
		ps := &parser{src: ref}
		path, err := ps.selector()
		if err != nil {
			return "", false
		}
		v, ok := lookup(x.doc, path)
		if !ok || v == nil {
			return "", false
		}
		return scalarString(v), true
	}
	return "", false
}

func (x *Extracted) slotValue(i int) (string, bool) {
	p := x.p
	n := len(x.toks)
	if p.ellipsis < 0 || i < p.ellipsis {
		if i < n {
			return x.toks[i], true
		}
		return "", false
	}
	j := n - (len(p.slots) - i)
	if j >= 0 && j < n {
		return x.toks[j], true
	}
	return "", false
}

// MatchExtract matches msg and returns the extracted values. toks is
// scratch space that may be reused between calls.
func (p *Pattern) MatchExtract(msg string, toks []string) (bool, Extracted) {
	x := Extracted{p: p}
	ok, x2 := p.match(msg, toks, &x)
	return ok, x2
}

func (p *Pattern) match(msg string, toks []string, x *Extracted) (bool, Extracted) {
	var out Extracted
	if x != nil {
		out = *x
	}
	switch p.Kind {
	case PatternAll:
		return true, out
	case PatternTerms:
		any, needAny := false, false
		for _, t := range p.terms {
			has := strings.Contains(msg, t.text)
			switch t.mod {
			case 0:
				if !has {
					return false, out
				}
			case '-':
				if has {
					return false, out
				}
			case '?':
				needAny = true
				any = any || has
			}
		}
		return !needAny || any, out
	case PatternDelimited:
		toks = tokenize(msg, toks[:0])
		need := len(p.slots)
		if p.ellipsis >= 0 {
			if len(toks) < need-1 {
				return false, out
			}
		} else if len(toks) != need {
			return false, out
		}
		out.p, out.toks = p, toks
		for i := range p.slots {
			if c := p.slots[i].cond; c != nil && !c.evalSlots(&out) {
				return false, out
			}
		}
		return true, out
	case PatternJSON:
		var doc any
		if err := json.Unmarshal([]byte(msg), &doc); err != nil {
			return false, out
		}
		out.p, out.doc = p, doc
		return p.json.evalJSON(doc), out
	}
	return false, out
}

// tokenize splits a space-delimited event: "quoted" and [bracketed] runs
// are single fields (without their delimiters).
func tokenize(msg string, toks []string) []string {
	i := 0
	for {
		for i < len(msg) && (msg[i] == ' ' || msg[i] == '\t') {
			i++
		}
		if i >= len(msg) {
			return toks
		}
		switch msg[i] {
		case '"', '[':
			closer := byte('"')
			if msg[i] == '[' {
				closer = ']'
			}
			j := strings.IndexByte(msg[i+1:], closer)
			if j < 0 {
				toks = append(toks, msg[i+1:])
				return toks
			}
			toks = append(toks, msg[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(msg) && msg[j] != ' ' && msg[j] != '\t' {
				j++
			}
			toks = append(toks, msg[i:j])
			i = j
		}
	}
}

func (c *cond) evalSlots(x *Extracted) bool {
	switch c.op {
	case '&':
		return c.left.evalSlots(x) && c.right.evalSlots(x)
	case '|':
		return c.left.evalSlots(x) || c.right.evalSlots(x)
	}
	v, ok := x.slotValue(c.cmp.slot)
	if !ok {
		return false
	}
	return c.cmp.compare(v, true)
}

// compare applies a comparison to a field value.
func (c *comparison) compare(v string, present bool) bool {
	if c.isNum && !c.quoted {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return c.op == "!="
		}
		switch c.op {
		case "=":
			return f == c.num
		case "!=":
			return f != c.num
		case "<":
			return f < c.num
		case "<=":
			return f <= c.num
		case ">":
			return f > c.num
		case ">=":
			return f >= c.num
		}
		return false
	}
	eq := v == c.str
	switch {
	case c.glob && c.edge:
		eq = edgeMatch(c.str, v)
	case c.glob:
		eq = globMatch(c.str, v)
	}
	if c.op == "!=" {
		return !eq
	}
	return eq
}

// globMatch matches s against a pattern where * is any run of characters.
func globMatch(pat, s string) bool {
	parts := strings.Split(pat, "*")
	if len(parts) == 1 {
		return pat == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, last)
}

// edgeMatch is a JSON pattern's string match: a * at the start or end
// matches any text before or after the rest; one inside is literal (AWS:
// "Ev*ent will only match the actual string Ev*ent").
func edgeMatch(pat, s string) bool {
	if pat == "*" {
		return true
	}
	lead, trail := strings.HasPrefix(pat, "*"), strings.HasSuffix(pat, "*")
	core := pat
	if lead {
		core = core[1:]
	}
	if trail {
		core = core[:len(core)-1]
	}
	switch {
	case lead && trail:
		return strings.Contains(s, core)
	case lead:
		return strings.HasSuffix(s, core)
	case trail:
		return strings.HasPrefix(s, core)
	}
	return s == core
}

func lookup(doc any, path []pathStep) (any, bool) {
	cur := doc
	for _, st := range path {
		if st.index >= 0 {
			a, ok := cur.([]any)
			if !ok || st.index >= len(a) {
				return nil, false
			}
			cur = a[st.index]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[st.key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (c *cond) evalJSON(doc any) bool {
	switch c.op {
	case '&':
		return c.left.evalJSON(doc) && c.right.evalJSON(doc)
	case '|':
		return c.left.evalJSON(doc) || c.right.evalJSON(doc)
	}
	v, ok := lookup(doc, c.cmp.path)
	switch c.cmp.op {
	case "NOTEXISTS":
		return !ok
	case "IS":
		switch c.cmp.is {
		case "NULL":
			return ok && v == nil
		case "TRUE":
			b, isB := v.(bool)
			return ok && isB && b
		case "FALSE":
			b, isB := v.(bool)
			return ok && isB && !b
		}
		return false
	}
	if !ok {
		return false
	}
	switch x := v.(type) {
	case float64:
		if c.cmp.isNum {
			return c.cmp.compare(strconv.FormatFloat(x, 'f', -1, 64), true)
		}
		return c.cmp.compare(strconv.FormatFloat(x, 'f', -1, 64), true)
	case string:
		if c.cmp.isNum && !c.cmp.quoted {
			// AWS compares a string member with a number as no match.
			return false
		}
		return c.cmp.compare(x, true)
	case bool:
		return c.cmp.compare(strconv.FormatBool(x), true)
	case nil:
		return c.cmp.compare("null", true)
	}
	return false
}
