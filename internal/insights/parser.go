package insights

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// MaxLimit is the largest `limit` Logs Insights accepts; DefaultLimit is
// the number of rows returned when a query has no `limit` (spec §9.2).
const (
	MaxLimit     = 10000
	DefaultLimit = 1000
)

// maxDepth bounds expression nesting so that hostile input cannot exhaust
// the stack.
const maxDepth = 200

type parser struct {
	lx    lexer
	tok   token
	prevE int // end offset of the previous token
	depth int
}

// Parse parses a Logs Insights query. Errors are *ParseError pointing at
// the offending token.
func Parse(src string) (*Query, error) {
	p := &parser{lx: lexer{src: src}}
	q, err := p.parseQuery()
	if err != nil {
		return nil, err
	}
	q.src = src
	if err := check(q); err != nil {
		return nil, err
	}
	return q, nil
}

func (p *parser) advance() error {
	p.prevE = p.tok.end
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errTok(t token, format string, args ...any) *ParseError {
	return p.lx.errAt(t.pos, format, args...)
}

func (p *parser) expected(what string) *ParseError {
	return p.errTok(p.tok, "expected %s, found %s", what, p.tok.describe())
}

func (p *parser) expect(k tokKind) (token, error) {
	if p.tok.kind != k {
		return token{}, p.expected(k.String())
	}
	t := p.tok
	return t, p.advance()
}

// isKw reports whether the current token is the unquoted keyword kw.
func (p *parser) isKw(kw string) bool {
	return p.tok.kind == tokIdent && !p.tok.quoted && strings.EqualFold(p.tok.val, kw)
}

func (p *parser) parseQuery() (*Query, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	q := &Query{}
	if p.tok.kind == tokEOF {
		return nil, p.errTok(p.tok, "empty query")
	}
	deduped := false
	for {
		pos := p.tok.pos
		cmdTok := p.tok
		c, err := p.parseCommand()
		if err != nil {
			return nil, err
		}
		// "The only query command that you can use in a query after the
		// dedup command is limit."
		if _, isLimit := c.(*LimitCmd); deduped && !isLimit {
			return nil, p.errTok(cmdTok, "only limit may follow dedup, found %s", strings.ToLower(cmdTok.val))
		}
		if _, ok := c.(*DedupCmd); ok {
			deduped = true
		}
		q.Commands = append(q.Commands, c)
		q.pos = append(q.pos, pos)
		switch p.tok.kind {
		case tokEOF:
			return q, nil
		case tokPipe:
			if err := p.advance(); err != nil {
				return nil, err
			}
		default:
			return nil, p.expected("'|' or end of query")
		}
	}
}

var commandNames = "fields, filter, stats, sort, limit, parse, display or dedup"

func (p *parser) parseCommand() (Command, error) {
	if p.tok.kind != tokIdent || p.tok.quoted {
		return nil, p.expected("a command (" + commandNames + ")")
	}
	name := strings.ToLower(p.tok.val)
	cmdTok := p.tok
	switch name {
	case "fields", "filter", "stats", "sort", "limit", "parse", "display", "dedup":
	default:
		return nil, p.errTok(cmdTok, "unknown command %q (want %s)", p.tok.val, commandNames)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	switch name {
	case "fields":
		items, err := p.parseItems(false)
		if err != nil {
			return nil, err
		}
		return &FieldsCmd{Items: items}, nil
	case "display":
		names, err := p.parseNames()
		if err != nil {
			return nil, err
		}
		return &DisplayCmd{Fields: names}, nil
	case "dedup":
		names, err := p.parseNames()
		if err != nil {
			return nil, err
		}
		return &DedupCmd{Fields: names}, nil
	case "filter":
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		return &FilterCmd{Cond: e}, nil
	case "stats":
		aggs, err := p.parseItems(true)
		if err != nil {
			return nil, err
		}
		c := &StatsCmd{Aggs: aggs}
		if p.isKw("by") {
			if err := p.advance(); err != nil {
				return nil, err
			}
			if c.By, err = p.parseItems(false); err != nil {
				return nil, err
			}
		}
		return c, nil
	case "sort":
		c := &SortCmd{}
		for {
			e, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			k := SortKey{Expr: e}
			if p.isKw("desc") {
				k.Desc = true
				err = p.advance()
			} else if p.isKw("asc") {
				err = p.advance()
			}
			if err != nil {
				return nil, err
			}
			c.Keys = append(c.Keys, k)
			if p.tok.kind != tokComma {
				return c, nil
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
	case "limit":
		t := p.tok
		if t.kind != tokNumber {
			return nil, p.expected("a row count")
		}
		n, err := strconv.Atoi(t.val)
		if err != nil || n < 1 || n > MaxLimit {
			return nil, p.errTok(t, "limit must be an integer from 1 to %d, found %s", MaxLimit, t.val)
		}
		return &LimitCmd{N: n}, p.advance()
	case "parse":
		return p.parseParse()
	}
	panic("unreachable")
}

func (p *parser) parseParse() (Command, error) {
	c := &ParseCmd{}
	if p.tok.kind != tokString && p.tok.kind != tokSlash {
		e, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		c.Field = e
	}
	switch p.tok.kind {
	case tokString:
		c.Pattern = p.tok.val
		globTok := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		stars := strings.Count(c.Pattern, "*")
		if stars == 0 {
			return nil, p.errTok(globTok, "parse pattern has no '*' to capture")
		}
		if !p.isKw("as") {
			return nil, p.expected("'as' and the names of the captured fields")
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		asTok := p.tok
		names, err := p.parseNames()
		if err != nil {
			return nil, err
		}
		if len(names) != stars {
			return nil, p.errTok(asTok, "parse pattern has %d '*' but %d field names follow 'as'", stars, len(names))
		}
		c.As = names
		return c, nil
	case tokSlash:
		t, err := p.lx.regexFrom(p.tok.pos)
		if err != nil {
			return nil, err
		}
		re, err := compileRegex(t.val)
		if err != nil {
			return nil, p.errTok(t, "invalid regular expression: %v", err)
		}
		named := 0
		for _, n := range re.SubexpNames() {
			if n != "" {
				named++
			}
		}
		if named == 0 {
			return nil, p.errTok(t, "parse regular expression has no named group (?<name>…)")
		}
		c.Pattern, c.Regex = t.val, true
		p.tok = t
		return c, p.advance()
	}
	return nil, p.expected("a glob string or /regular expression/")
}

// compileRegex compiles a Logs Insights regex (Go's RE2 accepts the
// (?<name>…) group syntax).
func compileRegex(src string) (*regexp.Regexp, error) {
	return regexp.Compile(src)
}

// parseItems parses `expr [as name], …`. In stats, the expressions are
// aggregations (checked later).
func (p *parser) parseItems(aggs bool) ([]Item, error) {
	var items []Item
	for {
		start := p.tok.pos
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		// the column name is the text as written, on one line
		it := Item{Expr: e, Text: strings.Join(strings.Fields(p.lx.src[start:p.prevE]), " ")}
		if p.isKw("as") {
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind != tokIdent || (!p.tok.quoted && isKeyword(p.tok.val)) {
				return nil, p.expected("a field name after 'as'")
			}
			it.Alias = p.tok.val
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
		items = append(items, it)
		if p.tok.kind != tokComma {
			return items, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseNames() ([]string, error) {
	var names []string
	for {
		if p.tok.kind != tokIdent || (!p.tok.quoted && isKeyword(p.tok.val)) {
			return nil, p.expected("a field name")
		}
		names = append(names, p.tok.val)
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokComma {
			return names, nil
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errTok(p.tok, "expression nested too deeply")
	}
	return nil
}

func (p *parser) parseExpr() (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	return p.parseOr()
}

func (p *parser) parseOr() (Expr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKw("or") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: "or", L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseAnd() (Expr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isKw("and") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: "and", L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseNot() (Expr, error) {
	if p.isKw("not") {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &Unary{Op: "not", X: x}, nil
	}
	return p.parseCmp()
}

var cmpOps = map[tokKind]string{tokEq: "=", tokNe: "!=", tokLt: "<", tokLe: "<=", tokGt: ">", tokGe: ">="}

func (p *parser) parseCmp() (Expr, error) {
	l, err := p.parseAdd()
	if err != nil {
		return nil, err
	}
	if op, ok := cmpOps[p.tok.kind]; ok {
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parseAdd()
		if err != nil {
			return nil, err
		}
		return &Binary{Op: op, L: l, R: r}, nil
	}
	not := false
	if p.isKw("not") {
		not = true
		if err := p.advance(); err != nil {
			return nil, err
		}
		if !p.isKw("like") && !p.isKw("in") {
			return nil, p.expected("'like' or 'in' after 'not'")
		}
	}
	switch {
	case p.tok.kind == tokMatch:
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parsePattern()
		if err != nil {
			return nil, err
		}
		return &Binary{Op: "=~", L: l, R: r}, nil
	case p.isKw("like"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parsePattern()
		if err != nil {
			return nil, err
		}
		op := "like"
		if not {
			op = "not like"
		}
		return &Binary{Op: op, L: l, R: r}, nil
	case p.isKw("in"):
		if err := p.advance(); err != nil {
			return nil, err
		}
		if _, err := p.expect(tokLBrack); err != nil {
			return nil, err
		}
		in := &InExpr{X: l, Not: not}
		if p.tok.kind != tokRBrack {
			for {
				e, err := p.parseExpr()
				if err != nil {
					return nil, err
				}
				in.List = append(in.List, e)
				if p.tok.kind != tokComma {
					break
				}
				if err := p.advance(); err != nil {
					return nil, err
				}
			}
		}
		if _, err := p.expect(tokRBrack); err != nil {
			return nil, err
		}
		return in, nil
	}
	return l, nil
}

// parsePattern parses the right side of like / =~: a string or a regex.
func (p *parser) parsePattern() (Expr, error) {
	switch p.tok.kind {
	case tokString, tokSlash:
		return p.parsePrimary()
	}
	return nil, p.expected("a string or /regular expression/")
}

func (p *parser) parseAdd() (Expr, error) {
	l, err := p.parseMul()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokPlus || p.tok.kind == tokMinus {
		op := "+"
		if p.tok.kind == tokMinus {
			op = "-"
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parseMul()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: op, L: l, R: r}
	}
	return l, nil
}

func (p *parser) parseMul() (Expr, error) {
	l, err := p.parsePow()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokStar || p.tok.kind == tokSlash || p.tok.kind == tokPercent {
		op := map[tokKind]string{tokStar: "*", tokSlash: "/", tokPercent: "%"}[p.tok.kind]
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parsePow()
		if err != nil {
			return nil, err
		}
		l = &Binary{Op: op, L: l, R: r}
	}
	return l, nil
}

func (p *parser) parsePow() (Expr, error) {
	l, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	if p.tok.kind == tokCaret {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.parsePow() // right-associative
		if err != nil {
			return nil, err
		}
		return &Binary{Op: "^", L: l, R: r}, nil
	}
	return l, nil
}

func (p *parser) parseUnary() (Expr, error) {
	if p.tok.kind == tokMinus || p.tok.kind == tokPlus {
		if err := p.enter(); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		neg := p.tok.kind == tokMinus
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		if !neg {
			return x, nil
		}
		return &Unary{Op: "-", X: x}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (Expr, error) {
	t := p.tok
	switch t.kind {
	case tokNumber:
		n := &NumberLit{Text: t.val}
		if i, err := strconv.ParseInt(t.val, 10, 64); err == nil {
			n.IsInt, n.Int, n.Float = true, i, float64(i)
		} else {
			f, err := strconv.ParseFloat(t.val, 64)
			if err != nil || math.IsInf(f, 0) {
				return nil, p.errTok(t, "invalid number %s", t.val)
			}
			n.Float = f
		}
		return n, p.advance()
	case tokDuration:
		d, err := parseDuration(t.val)
		if err != nil {
			return nil, p.errTok(t, "%v", err)
		}
		return d, p.advance()
	case tokString:
		return &StringLit{Val: t.val}, p.advance()
	case tokSlash:
		rt, err := p.lx.regexFrom(t.pos)
		if err != nil {
			return nil, err
		}
		if _, err := compileRegex(rt.val); err != nil {
			return nil, p.errTok(rt, "invalid regular expression: %v", err)
		}
		p.tok = rt
		return &RegexLit{Src: rt.val}, p.advance()
	case tokLParen:
		if err := p.advance(); err != nil {
			return nil, err
		}
		e, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen); err != nil {
			return nil, err
		}
		return e, nil
	case tokIdent:
		if !t.quoted && isKeyword(t.val) {
			return nil, p.errTok(t, "unexpected keyword %q, expected a field, value or function", t.val)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokLParen || t.quoted {
			return &FieldRef{Name: t.val}, nil
		}
		return p.parseCall(t)
	}
	return nil, p.expected("a field, value or function")
}

func (p *parser) parseCall(name token) (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	lname := strings.ToLower(name.val)
	if _, ok := functions[lname]; !ok {
		return nil, p.errTok(name, "unknown function %q", name.val)
	}
	if err := p.advance(); err != nil { // (
		return nil, err
	}
	c := &Call{Name: lname, pos: name.pos}
	if p.tok.kind == tokStar {
		c.Star = true
		if err := p.advance(); err != nil {
			return nil, err
		}
	} else if p.tok.kind != tokRParen {
		for {
			e, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			c.Args = append(c.Args, e)
			if p.tok.kind != tokComma {
				break
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
		}
	}
	if _, err := p.expect(tokRParen); err != nil {
		return nil, err
	}
	if err := checkArity(c); err != nil {
		return nil, p.errTok(name, "%v", err)
	}
	return c, nil
}

func parseDuration(s string) (*DurationLit, error) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n <= 0 || n > 1e9 {
		return nil, fmt.Errorf("invalid duration %s", s)
	}
	return &DurationLit{N: n, Unit: s[i:]}, nil
}
