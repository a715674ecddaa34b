package insights

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
	"unicode"
)

type funcSpec struct {
	min, max int // argument count; max -1 = variadic
	agg      bool
	star     bool // accepts (*)
}

// functions lists every function the parser accepts (lower-cased names).
var functions = map[string]funcSpec{
	// aggregations (stats only)
	"count":          {0, 1, true, true},
	"count_distinct": {1, 1, true, false},
	"sum":            {1, 1, true, false},
	"avg":            {1, 1, true, false},
	"min":            {1, 1, true, false},
	"max":            {1, 1, true, false},
	"pct":            {2, 2, true, false},
	"stddev":         {1, 1, true, false},
	"earliest":       {1, 1, true, false},
	"latest":         {1, 1, true, false},
	"sortsfirst":     {1, 1, true, false},
	"sortslast":      {1, 1, true, false},
	// general
	"ispresent": {1, 1, false, false},
	"coalesce":  {1, -1, false, false},
	// unmask shows data that a data protection policy masks; the store
	// masks nothing, so it is the value itself (spec §9.2 lists it).
	"unmask": {1, 1, false, false},
	// string
	"isempty":     {1, 1, false, false},
	"isblank":     {1, 1, false, false},
	"concat":      {1, -1, false, false},
	"strlen":      {1, 1, false, false},
	"toupper":     {1, 1, false, false},
	"tolower":     {1, 1, false, false},
	"trim":        {1, 1, false, false},
	"ltrim":       {1, 1, false, false},
	"rtrim":       {1, 1, false, false},
	"substr":      {2, 3, false, false},
	"replace":     {3, 3, false, false},
	"strcontains": {2, 2, false, false},
	// numeric
	"abs":      {1, 1, false, false},
	"ceil":     {1, 1, false, false},
	"floor":    {1, 1, false, false},
	"round":    {1, 2, false, false},
	"log":      {1, 1, false, false},
	"sqrt":     {1, 1, false, false},
	"pow":      {2, 2, false, false},
	"greatest": {1, -1, false, false},
	"least":    {1, -1, false, false},
	// datetime
	"bin":        {1, 1, false, false},
	"datefloor":  {2, 2, false, false},
	"dateceil":   {2, 2, false, false},
	"frommillis": {1, 1, false, false},
	"tomillis":   {1, 1, false, false},
	// IP
	"isvalidip":      {1, 1, false, false},
	"isvalidipv4":    {1, 1, false, false},
	"isvalidipv6":    {1, 1, false, false},
	"isipinsubnet":   {2, 2, false, false},
	"isipv4insubnet": {2, 2, false, false},
	"isipv6insubnet": {2, 2, false, false},
}

func checkArity(c *Call) error {
	s := functions[c.Name]
	if c.Star {
		if !s.star || len(c.Args) > 0 {
			return fmt.Errorf("%s() does not accept *", c.Name)
		}
		return nil
	}
	n := len(c.Args)
	if n < s.min || (s.max >= 0 && n > s.max) {
		switch {
		case s.max < 0:
			return fmt.Errorf("%s() takes at least %d argument(s), found %d", c.Name, s.min, n)
		case s.min == s.max:
			return fmt.Errorf("%s() takes %d argument(s), found %d", c.Name, s.min, n)
		}
		return fmt.Errorf("%s() takes %d to %d arguments, found %d", c.Name, s.min, s.max, n)
	}
	switch c.Name {
	case "bin":
		if _, ok := c.Args[0].(*DurationLit); !ok {
			return fmt.Errorf("bin() takes a time period such as 5m or 1h")
		}
	case "datefloor", "dateceil":
		if _, ok := c.Args[1].(*DurationLit); !ok {
			return fmt.Errorf("%s() takes a time period such as 5m or 1h as its second argument", c.Name)
		}
	case "pct":
		n, ok := c.Args[1].(*NumberLit)
		if !ok || n.Float < 0 || n.Float > 100 {
			return fmt.Errorf("pct() takes a percentile from 0 to 100 as its second argument")
		}
	}
	return nil
}

func isAggCall(e Expr) (*Call, bool) {
	c, ok := e.(*Call)
	if !ok || !functions[c.Name].agg {
		return nil, false
	}
	return c, true
}

// walk calls fn on e and its children.
func walk(e Expr, fn func(Expr)) {
	fn(e)
	switch e := e.(type) {
	case *Binary:
		walk(e.L, fn)
		walk(e.R, fn)
	case *Unary:
		walk(e.X, fn)
	case *Call:
		for _, a := range e.Args {
			walk(a, fn)
		}
	case *InExpr:
		walk(e.X, fn)
		for _, a := range e.List {
			walk(a, fn)
		}
	}
}

func hasAgg(e Expr) bool {
	found := false
	walk(e, func(x Expr) {
		if _, ok := isAggCall(x); ok {
			found = true
		}
	})
	return found
}

// check validates the placement of aggregations: stats items must be one
// aggregation each, and aggregations appear nowhere else.
func check(q *Query) error {
	aggCols := map[string]bool{} // aggregations computed by an earlier stats
	for _, c := range q.Commands {
		var exprs []Expr
		switch c := c.(type) {
		case *StatsCmd:
			for _, it := range c.Aggs {
				call, ok := isAggCall(it.Expr)
				if !ok {
					return locate(q, it.Text, fmt.Sprintf("stats needs an aggregation function such as count(*) or sum(bytes), found %s", it.Text))
				}
				for _, a := range call.Args {
					if hasAgg(a) {
						return locate(q, it.Text, "aggregation functions cannot be nested")
					}
				}
			}
			for _, it := range c.By {
				exprs = append(exprs, it.Expr)
			}
		case *FieldsCmd:
			for _, it := range c.Items {
				exprs = append(exprs, it.Expr)
			}
		case *FilterCmd:
			exprs = append(exprs, c.Cond)
		case *SortCmd:
			for _, k := range c.Keys {
				exprs = append(exprs, k.Expr)
			}
		case *ParseCmd:
			if c.Field != nil {
				exprs = append(exprs, c.Field)
			}
		}
		for _, e := range exprs {
			var agg *Call
			walk(e, func(x Expr) {
				if c, ok := isAggCall(x); ok && agg == nil && !aggCols[exprString(c)] {
					agg = c
				}
			})
			if agg != nil {
				line, col := position(q.src, agg.pos)
				return &ParseError{Line: line, Column: col, Offset: agg.pos,
					Msg: fmt.Sprintf("%s() is an aggregation and is only allowed in stats, not in %s", agg.Name, c.Name())}
			}
		}
		if sc, ok := c.(*StatsCmd); ok {
			for _, it := range sc.Aggs {
				aggCols[exprString(it.Expr)] = true
			}
		}
	}
	return nil
}

// locate builds a ParseError at the first occurrence of text in the query.
func locate(q *Query, text, msg string) error {
	off := strings.Index(q.src, text)
	if off < 0 {
		off = 0
	}
	line, col := position(q.src, off)
	return &ParseError{Line: line, Column: col, Offset: off, Msg: msg}
}

// compileCall turns a non-aggregate function call into an evaluator.
func (c *compiler) compileCall(e *Call) (evalFn, error) {
	args := make([]evalFn, len(e.Args))
	for i, a := range e.Args {
		if _, ok := a.(*DurationLit); ok {
			continue
		}
		f, err := c.compile(a)
		if err != nil {
			return nil, err
		}
		args[i] = f
	}
	num1 := func(fn func(float64) float64) evalFn {
		a := args[0]
		return func(r *row) Value {
			f, ok := a(r).float()
			if !ok {
				return nullValue
			}
			return floatVal(fn(f))
		}
	}
	str1 := func(fn func(string) Value) evalFn {
		a := args[0]
		return func(r *row) Value {
			v := a(r)
			if v.IsNull() {
				return nullValue
			}
			return fn(v.str())
		}
	}
	switch e.Name {
	case "ispresent":
		a := args[0]
		return func(r *row) Value { return boolVal(!a(r).IsNull()) }, nil
	case "coalesce":
		return func(r *row) Value {
			for _, a := range args {
				if v := a(r); !v.IsNull() {
					return v
				}
			}
			return nullValue
		}, nil
	case "isempty":
		a := args[0]
		return func(r *row) Value { v := a(r); return boolVal(v.IsNull() || v.str() == "") }, nil
	case "isblank":
		a := args[0]
		return func(r *row) Value {
			v := a(r)
			return boolVal(v.IsNull() || strings.TrimSpace(v.str()) == "")
		}, nil
	case "concat":
		return func(r *row) Value {
			var b strings.Builder
			for _, a := range args {
				b.WriteString(a(r).str())
			}
			return strVal(b.String())
		}, nil
	case "unmask":
		return args[0], nil
	case "strlen":
		return str1(func(s string) Value { return intVal(int64(len([]rune(s)))) }), nil
	case "toupper":
		return str1(func(s string) Value { return strVal(strings.ToUpper(s)) }), nil
	case "tolower":
		return str1(func(s string) Value { return strVal(strings.ToLower(s)) }), nil
	case "trim":
		return str1(func(s string) Value { return strVal(strings.TrimSpace(s)) }), nil
	case "ltrim":
		return str1(func(s string) Value { return strVal(strings.TrimLeftFunc(s, unicode.IsSpace)) }), nil
	case "rtrim":
		return str1(func(s string) Value { return strVal(strings.TrimRightFunc(s, unicode.IsSpace)) }), nil
	case "substr":
		return func(r *row) Value {
			v := args[0](r)
			if v.IsNull() {
				return nullValue
			}
			rs := []rune(v.str())
			st, ok := args[1](r).float()
			if !ok {
				return nullValue
			}
			start := max(0, min(int(st), len(rs)))
			end := len(rs)
			if len(args) == 3 {
				n, ok := args[2](r).float()
				if !ok {
					return nullValue
				}
				end = min(len(rs), start+max(0, int(n)))
			}
			return strVal(string(rs[start:end]))
		}, nil
	case "replace":
		return func(r *row) Value {
			v := args[0](r)
			if v.IsNull() {
				return nullValue
			}
			return strVal(strings.ReplaceAll(v.str(), args[1](r).str(), args[2](r).str()))
		}, nil
	case "strcontains":
		return func(r *row) Value {
			v := args[0](r)
			if v.IsNull() {
				return nullValue
			}
			if strings.Contains(v.str(), args[1](r).str()) { // AWS returns 1 or 0
				return intVal(1)
			}
			return intVal(0)
		}, nil
	case "abs":
		a := args[0]
		return func(r *row) Value {
			i, f, isInt, ok := a(r).num()
			switch {
			case !ok:
				return nullValue
			case isInt:
				if i < 0 {
					i = -i
				}
				return intVal(i)
			}
			return floatVal(math.Abs(f))
		}, nil
	case "ceil":
		return intOf(args[0], math.Ceil), nil
	case "floor":
		return intOf(args[0], math.Floor), nil
	case "round":
		if len(args) == 1 {
			return intOf(args[0], math.Round), nil
		}
		return func(r *row) Value {
			f, ok := args[0](r).float()
			d, ok2 := args[1](r).float()
			if !ok || !ok2 {
				return nullValue
			}
			p := math.Pow(10, math.Trunc(d))
			return floatVal(math.Round(f*p) / p)
		}, nil
	case "log":
		return num1(math.Log), nil
	case "sqrt":
		return num1(math.Sqrt), nil
	case "pow":
		return func(r *row) Value { return arith('^', args[0](r), args[1](r)) }, nil
	case "greatest", "least":
		want := 1
		if e.Name == "least" {
			want = -1
		}
		return func(r *row) Value {
			best := nullValue
			for _, a := range args {
				v := a(r)
				if v.IsNull() {
					continue
				}
				if best.IsNull() {
					best = v
					continue
				}
				if c, ok := compare(v, best); ok && c == want {
					best = v
				}
			}
			return best
		}, nil
	case "bin":
		d := e.Args[0].(*DurationLit)
		ts := c.field("@timestamp")
		return func(r *row) Value {
			v := ts(r)
			if v.IsNull() {
				return nullValue
			}
			return timeVal(floorTime(v.I, d))
		}, nil
	case "datefloor", "dateceil":
		d := e.Args[1].(*DurationLit)
		a := args[0]
		ceil := e.Name == "dateceil"
		return func(r *row) Value {
			ms, ok := asMillis(a(r))
			if !ok {
				return nullValue
			}
			f := floorTime(ms, d)
			if ceil && f != ms {
				f = addPeriod(f, d)
			}
			return timeVal(f)
		}, nil
	case "frommillis":
		a := args[0]
		return func(r *row) Value {
			i, f, isInt, ok := a(r).num()
			if !ok {
				return nullValue
			}
			if !isInt {
				i = int64(f)
			}
			return timeVal(i)
		}, nil
	case "tomillis":
		a := args[0]
		return func(r *row) Value {
			ms, ok := asMillis(a(r))
			if !ok {
				return nullValue
			}
			return intVal(ms)
		}, nil
	case "isvalidip", "isvalidipv4", "isvalidipv6":
		a := args[0]
		name := e.Name
		return func(r *row) Value {
			v := a(r)
			if v.IsNull() {
				return boolVal(false)
			}
			ip, err := netip.ParseAddr(v.str())
			if err != nil {
				return boolVal(false)
			}
			switch name {
			case "isvalidipv4":
				return boolVal(ip.Is4())
			case "isvalidipv6":
				return boolVal(ip.Is6() && !ip.Is4In6())
			}
			return boolVal(true)
		}, nil
	case "isipinsubnet", "isipv4insubnet", "isipv6insubnet":
		return c.compileSubnet(e, args)
	}
	return nil, fmt.Errorf("function %s() cannot be used here", e.Name)
}

func intOf(a evalFn, fn func(float64) float64) evalFn {
	return func(r *row) Value {
		i, f, isInt, ok := a(r).num()
		switch {
		case !ok:
			return nullValue
		case isInt:
			return intVal(i)
		}
		x := fn(f)
		if x >= -9e18 && x <= 9e18 {
			return intVal(int64(x))
		}
		return floatVal(x)
	}
}

func (c *compiler) compileSubnet(e *Call, args []evalFn) (evalFn, error) {
	want4 := e.Name == "isipv4insubnet"
	want6 := e.Name == "isipv6insubnet"
	ok := func(ip netip.Addr, pfx netip.Prefix) bool {
		ip = ip.Unmap()
		if want4 && !ip.Is4() || want6 && !ip.Is6() {
			return false
		}
		return pfx.Contains(ip)
	}
	a := args[0]
	if lit, isLit := e.Args[1].(*StringLit); isLit {
		pfx, err := netip.ParsePrefix(lit.Val)
		if err != nil {
			return nil, &posError{off: e.pos, msg: fmt.Sprintf("%s(): invalid subnet %q", e.Name, lit.Val)}
		}
		pfx = pfx.Masked()
		if want4 && !pfx.Addr().Is4() || want6 && !pfx.Addr().Is6() {
			return nil, &posError{off: e.pos, msg: fmt.Sprintf("%s(): subnet %q is not of that address family", e.Name, lit.Val)}
		}
		return func(r *row) Value {
			v := a(r)
			if v.K != String {
				return boolVal(false)
			}
			ip, err := netip.ParseAddr(v.S)
			return boolVal(err == nil && ok(ip, pfx))
		}, nil
	}
	b := args[1]
	return func(r *row) Value {
		v, s := a(r), b(r)
		if v.IsNull() || s.IsNull() {
			return boolVal(false)
		}
		ip, err := netip.ParseAddr(v.str())
		if err != nil {
			return boolVal(false)
		}
		pfx, err := netip.ParsePrefix(s.str())
		if err != nil {
			return boolVal(false)
		}
		return boolVal(ok(ip, pfx.Masked()))
	}, nil
}

// asMillis reads a time value: a Time, or a number of milliseconds.
func asMillis(v Value) (int64, bool) {
	if v.K == Time {
		return v.I, true
	}
	i, f, isInt, ok := v.num()
	if !ok {
		return 0, false
	}
	if !isInt {
		i = int64(f)
	}
	return i, true
}

func (d *DurationLit) fixedMillis() int64 {
	switch d.Unit {
	case "ms":
		return d.N
	case "s":
		return d.N * 1000
	case "m":
		return d.N * 60_000
	case "h":
		return d.N * 3_600_000
	case "d":
		return d.N * 86_400_000
	case "w":
		return d.N * 7 * 86_400_000
	}
	return 0 // calendar units
}

// floorTime rounds ms down to a multiple of the period (UTC). Fixed periods
// are aligned on the Unix epoch; weeks start on Monday; months, quarters
// and years on calendar boundaries.
func floorTime(ms int64, d *DurationLit) int64 {
	if p := d.fixedMillis(); p > 0 {
		if d.Unit == "w" {
			const monday = 4 * 86_400_000 // 1970-01-05 was a Monday
			return floorDiv(ms-monday, p)*p + monday
		}
		return floorDiv(ms, p) * p
	}
	t := time.UnixMilli(ms).UTC()
	months := int64(t.Year())*12 + int64(t.Month()) - 1
	step := d.N
	switch d.Unit {
	case "q":
		step = d.N * 3
	case "y":
		step = d.N * 12
	}
	months = floorDiv(months, step) * step
	return time.Date(int(months/12), time.Month(months%12+1), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
}

func addPeriod(ms int64, d *DurationLit) int64 {
	if p := d.fixedMillis(); p > 0 {
		return ms + p
	}
	t := time.UnixMilli(ms).UTC()
	switch d.Unit {
	case "mo":
		t = t.AddDate(0, int(d.N), 0)
	case "q":
		t = t.AddDate(0, 3*int(d.N), 0)
	case "y":
		t = t.AddDate(int(d.N), 0, 0)
	}
	return t.UnixMilli()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// posError is a compile error at a known byte offset of the query.
type posError struct {
	off int
	msg string
}

func (e *posError) Error() string { return e.msg }

func exprString(e Expr) string {
	var b strings.Builder
	e.print(&b)
	return b.String()
}
