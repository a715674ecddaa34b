package insights

import (
	"strconv"
	"strings"
)

// Query is a parsed Logs Insights query: commands joined by pipes.
type Query struct {
	Commands []Command
	src      string
	pos      []int // byte offset of each command
}

// Source returns the text the query was parsed from.
func (q *Query) Source() string { return q.src }

// String prints the query in canonical form; parsing the result gives a
// query that prints identically.
func (q *Query) String() string {
	var b strings.Builder
	for i, c := range q.Commands {
		if i > 0 {
			b.WriteString(" | ")
		}
		c.print(&b)
	}
	return b.String()
}

// Command is one pipeline stage.
type Command interface {
	print(b *strings.Builder)
	Name() string
}

// Item is an expression with an optional alias (`expr as name`). Text is
// the expression as written, which names the result column when there is
// no alias.
type Item struct {
	Expr  Expr
	Alias string
	Text  string
}

// Name is the column name the item produces.
func (it Item) Name() string {
	if it.Alias != "" {
		return it.Alias
	}
	if f, ok := it.Expr.(*FieldRef); ok {
		return f.Name
	}
	return it.Text
}

// FieldsCmd is `fields expr [as name], …`.
type FieldsCmd struct{ Items []Item }

// DisplayCmd is `display field, …`.
type DisplayCmd struct{ Fields []string }

// FilterCmd is `filter condition`.
type FilterCmd struct{ Cond Expr }

// StatsCmd is `stats agg [as name], … [by expr [as name], …]`.
type StatsCmd struct {
	Aggs []Item
	By   []Item
}

// SortKey is one `sort` key.
type SortKey struct {
	Expr Expr
	Desc bool
}

// SortCmd is `sort expr [asc|desc], …`.
type SortCmd struct{ Keys []SortKey }

// LimitCmd is `limit n`.
type LimitCmd struct{ N int }

// ParseCmd is `parse [field] "glob" as a, b` or `parse [field] /regex/`.
type ParseCmd struct {
	Field   Expr // nil means @message
	Pattern string
	Regex   bool
	As      []string // glob captures; regex captures come from named groups
}

// DedupCmd is `dedup field, …`.
type DedupCmd struct{ Fields []string }

func (*FieldsCmd) Name() string  { return "fields" }
func (*DisplayCmd) Name() string { return "display" }
func (*FilterCmd) Name() string  { return "filter" }
func (*StatsCmd) Name() string   { return "stats" }
func (*SortCmd) Name() string    { return "sort" }
func (*LimitCmd) Name() string   { return "limit" }
func (*ParseCmd) Name() string   { return "parse" }
func (*DedupCmd) Name() string   { return "dedup" }

func printItems(b *strings.Builder, items []Item) {
	for i, it := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		it.Expr.print(b)
		if it.Alias != "" {
			b.WriteString(" as ")
			printName(b, it.Alias)
		}
	}
}

func printNames(b *strings.Builder, names []string) {
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		printName(b, n)
	}
}

func (c *FieldsCmd) print(b *strings.Builder) {
	b.WriteString("fields ")
	printItems(b, c.Items)
}

func (c *DisplayCmd) print(b *strings.Builder) {
	b.WriteString("display ")
	printNames(b, c.Fields)
}

func (c *FilterCmd) print(b *strings.Builder) {
	b.WriteString("filter ")
	c.Cond.print(b)
}

func (c *StatsCmd) print(b *strings.Builder) {
	b.WriteString("stats ")
	printItems(b, c.Aggs)
	if len(c.By) > 0 {
		b.WriteString(" by ")
		printItems(b, c.By)
	}
}

func (c *SortCmd) print(b *strings.Builder) {
	b.WriteString("sort ")
	for i, k := range c.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		k.Expr.print(b)
		if k.Desc {
			b.WriteString(" desc")
		} else {
			b.WriteString(" asc")
		}
	}
}

func (c *LimitCmd) print(b *strings.Builder) {
	b.WriteString("limit ")
	b.WriteString(strconv.Itoa(c.N))
}

func (c *ParseCmd) print(b *strings.Builder) {
	b.WriteString("parse ")
	if c.Field != nil {
		c.Field.print(b)
		b.WriteByte(' ')
	}
	if c.Regex {
		printRegex(b, c.Pattern)
		return
	}
	quoteString(b, c.Pattern)
	b.WriteString(" as ")
	printNames(b, c.As)
}

func (c *DedupCmd) print(b *strings.Builder) {
	b.WriteString("dedup ")
	printNames(b, c.Fields)
}

// Expr is an expression node.
type Expr interface {
	print(b *strings.Builder)
}

// FieldRef names a field (`srcAddr`, `@timestamp`, “ `foo-bar` “).
type FieldRef struct{ Name string }

// StringLit is a quoted string.
type StringLit struct{ Val string }

// NumberLit is a numeric literal.
type NumberLit struct {
	Text  string
	IsInt bool
	Int   int64
	Float float64
}

// DurationLit is a time period such as 5m or 1h, used by bin() and the
// date functions. Unit is one of ms s m h d w mo q y.
type DurationLit struct {
	N    int64
	Unit string
}

// RegexLit is /regex/.
type RegexLit struct{ Src string }

// Binary is a binary operation: arithmetic (+ - * / % ^), comparison
// (= != < <= > >=), `and`, `or`, `like`, `not like`, `=~`.
type Binary struct {
	Op   string
	L, R Expr
}

// Unary is `not x` or `-x`.
type Unary struct {
	Op string
	X  Expr
}

// Call is a function call; Star marks count(*).
type Call struct {
	Name string // lower-cased
	Args []Expr
	Star bool
	pos  int // byte offset of the name in the source
}

// InExpr is `x in [a, b]` or `x not in [a, b]`.
type InExpr struct {
	X    Expr
	List []Expr
	Not  bool
}

func (e *FieldRef) print(b *strings.Builder)  { printName(b, e.Name) }
func (e *StringLit) print(b *strings.Builder) { quoteString(b, e.Val) }
func (e *NumberLit) print(b *strings.Builder) { b.WriteString(e.Text) }
func (e *DurationLit) print(b *strings.Builder) {
	b.WriteString(strconv.FormatInt(e.N, 10))
	b.WriteString(e.Unit)
}
func (e *RegexLit) print(b *strings.Builder) { printRegex(b, e.Src) }

func (e *Binary) print(b *strings.Builder) {
	b.WriteByte('(')
	e.L.print(b)
	b.WriteByte(' ')
	b.WriteString(e.Op)
	b.WriteByte(' ')
	e.R.print(b)
	b.WriteByte(')')
}

func (e *Unary) print(b *strings.Builder) {
	b.WriteByte('(')
	b.WriteString(e.Op)
	if e.Op == "not" {
		b.WriteByte(' ')
	}
	e.X.print(b)
	b.WriteByte(')')
}

func (e *Call) print(b *strings.Builder) {
	b.WriteString(e.Name)
	b.WriteByte('(')
	if e.Star {
		b.WriteByte('*')
	}
	for i, a := range e.Args {
		if i > 0 {
			b.WriteString(", ")
		}
		a.print(b)
	}
	b.WriteByte(')')
}

func (e *InExpr) print(b *strings.Builder) {
	b.WriteByte('(')
	e.X.print(b)
	if e.Not {
		b.WriteString(" not in [")
	} else {
		b.WriteString(" in [")
	}
	for i, a := range e.List {
		if i > 0 {
			b.WriteString(", ")
		}
		a.print(b)
	}
	b.WriteString("])")
}

func printRegex(b *strings.Builder, src string) {
	b.WriteByte('/')
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\\' && i+1 < len(src) {
			b.WriteByte(c)
			b.WriteByte(src[i+1])
			i++
			continue
		}
		if c == '/' {
			b.WriteString(`\/`)
			continue
		}
		b.WriteByte(c)
	}
	b.WriteByte('/')
}

// printName writes a field name, in backquotes unless it is a plain
// identifier that is not a keyword.
func printName(b *strings.Builder, name string) {
	if isPlainName(name) {
		b.WriteString(name)
		return
	}
	b.WriteByte('`')
	b.WriteString(name)
	b.WriteByte('`')
}

func isPlainName(name string) bool {
	if name == "" || !isIdentStart(name[0]) || isKeyword(name) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if !isIdentChar(name[i]) {
			return false
		}
	}
	return true
}

var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "like": true, "in": true, "as": true,
	"by": true, "asc": true, "desc": true,
}

func isKeyword(s string) bool {
	if len(s) > 4 {
		return false
	}
	return keywords[strings.ToLower(s)]
}

// quoteString writes s in double quotes with the escapes the lexer reads.
func quoteString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
