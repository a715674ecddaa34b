package insights

import (
	"fmt"
	"regexp"
	"strings"

	"vpcflow/internal/flow"
)

// evalFn evaluates a compiled expression against a row.
type evalFn func(r *row) Value

type symSrc uint8

const (
	srcComputed  symSrc = iota // only set by fields / parse / stats
	srcToken                   // a discovered flow log field
	srcTimestamp               // @timestamp
	srcIngestion               // @ingestionTime
	srcMessage                 // @message
	srcLogStream               // @logStream
	srcLog                     // @log
)

type symbol struct {
	name    string
	src     symSrc
	tok     int  // token index for srcToken
	numeric bool // srcToken: typed as a number when it parses
}

// compiler resolves field names to row slots and expressions to closures.
type compiler struct {
	syms       []symbol
	byName     map[string]int
	discovered map[string]symbol
	ntok       int
	accountTok int               // token index of account-id, -1 if not in the format
	aggCols    map[string]string // printed aggregation → column, after stats
}

// DiscoveredName is the Logs Insights name of a flow log field (spec §9.2:
// camelCase, `start` → startTime, `end` → endTime).
func DiscoveredName(id flow.FieldID) string {
	switch id {
	case flow.FieldSrcAddr:
		return "srcAddr"
	case flow.FieldDstAddr:
		return "dstAddr"
	case flow.FieldSrcPort:
		return "srcPort"
	case flow.FieldDstPort:
		return "dstPort"
	case flow.FieldStart:
		return "startTime"
	case flow.FieldEnd:
		return "endTime"
	case flow.FieldPktSrcAddr:
		return "pktSrcAddr"
	case flow.FieldPktDstAddr:
		return "pktDstAddr"
	case flow.FieldPktSrcAWSService:
		return "pktSrcAwsService"
	case flow.FieldPktDstAWSService:
		return "pktDstAwsService"
	}
	parts := strings.Split(id.String(), "-")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

func newCompiler(f flow.Format) *compiler {
	c := &compiler{byName: map[string]int{}, discovered: map[string]symbol{}, aggCols: map[string]string{}, ntok: f.Len(), accountTok: f.Index(flow.FieldAccountID)}
	for i, id := range f.Fields() {
		k := id.Info().Kind
		c.discovered[DiscoveredName(id)] = symbol{src: srcToken, tok: i, numeric: k == flow.KindInt32 || k == flow.KindInt64}
	}
	for name, src := range map[string]symSrc{"@timestamp": srcTimestamp, "@ingestionTime": srcIngestion,
		"@message": srcMessage, "@logStream": srcLogStream, "@log": srcLog} {
		c.discovered[name] = symbol{src: src}
	}
	return c
}

// slot returns the row slot of a field name, creating it on first use.
func (c *compiler) slot(name string) int {
	if i, ok := c.byName[name]; ok {
		return i
	}
	s, ok := c.discovered[name]
	if !ok {
		s = symbol{src: srcComputed}
	}
	s.name = name
	c.syms = append(c.syms, s)
	c.byName[name] = len(c.syms) - 1
	return len(c.syms) - 1
}

func (c *compiler) field(name string) evalFn {
	i := c.slot(name)
	return func(r *row) Value { return r.get(i) }
}

func constFn(v Value) evalFn { return func(*row) Value { return v } }

func (c *compiler) compile(e Expr) (evalFn, error) {
	switch e := e.(type) {
	case *FieldRef:
		return c.field(e.Name), nil
	case *StringLit:
		return constFn(strVal(e.Val)), nil
	case *NumberLit:
		if e.IsInt {
			return constFn(intVal(e.Int)), nil
		}
		return constFn(floatVal(e.Float)), nil
	case *DurationLit:
		if ms := e.fixedMillis(); ms > 0 {
			return constFn(intVal(ms)), nil
		}
		return nil, fmt.Errorf("calendar period %d%s can only be used in bin(), datefloor() and dateceil()", e.N, e.Unit)
	case *RegexLit:
		return nil, fmt.Errorf("a regular expression can only follow like or =~")
	case *Unary:
		x, err := c.compile(e.X)
		if err != nil {
			return nil, err
		}
		if e.Op == "not" {
			return func(r *row) Value {
				v := x(r)
				if v.IsNull() {
					return v // not unknown is unknown
				}
				return boolVal(!v.truthy())
			}, nil
		}
		zero := intVal(0)
		return func(r *row) Value { return arith('-', zero, x(r)) }, nil
	case *InExpr:
		return c.compileIn(e)
	case *Call:
		if functions[e.Name].agg {
			// a column of an earlier stats, such as count(*) in
			// `stats count(*) by x | sort count(*) desc`
			if name, ok := c.aggCols[exprString(e)]; ok {
				return c.field(name), nil
			}
			return nil, fmt.Errorf("%s() is an aggregation and can only be used in stats", e.Name)
		}
		return c.compileCall(e)
	case *Binary:
		return c.compileBinary(e)
	}
	return nil, fmt.Errorf("unsupported expression %T", e)
}

func (c *compiler) compileBinary(e *Binary) (evalFn, error) {
	l, err := c.compile(e.L)
	if err != nil {
		return nil, err
	}
	switch e.Op {
	case "like", "not like", "=~":
		return c.compileMatch(e, l)
	}
	r, err := c.compile(e.R)
	if err != nil {
		return nil, err
	}
	switch e.Op {
	// A comparison with a missing value ("-" in a numeric field) is
	// unknown (null), and and/or/not keep it so (three-valued logic): a
	// filter keeps only what is true, so `x != 1` and `not x = 1` select
	// the same events.
	case "and":
		return func(x *row) Value {
			a, b := l(x), r(x)
			switch {
			case !a.IsNull() && !a.truthy(), !b.IsNull() && !b.truthy():
				return boolVal(false)
			case a.IsNull() || b.IsNull():
				return Value{}
			}
			return boolVal(true)
		}, nil
	case "or":
		return func(x *row) Value {
			a, b := l(x), r(x)
			switch {
			case a.truthy() || b.truthy():
				return boolVal(true)
			case a.IsNull() || b.IsNull():
				return Value{}
			}
			return boolVal(false)
		}, nil
	case "=":
		if s, ok := e.R.(*StringLit); ok {
			lit, rv := s.Val, strVal(s.Val)
			return func(x *row) Value {
				v := l(x)
				if v.K == String {
					return boolVal(v.S == lit)
				}
				if v.IsNull() {
					return Value{}
				}
				return boolVal(equal(v, rv))
			}, nil
		}
		return func(x *row) Value {
			a, b := l(x), r(x)
			if a.IsNull() || b.IsNull() {
				return Value{}
			}
			return boolVal(equal(a, b))
		}, nil
	case "!=":
		return func(x *row) Value {
			a, b := l(x), r(x)
			if a.IsNull() || b.IsNull() {
				return Value{}
			}
			return boolVal(!equal(a, b))
		}, nil
	case "<", "<=", ">", ">=":
		op := e.Op
		return func(x *row) Value {
			a, b := l(x), r(x)
			if a.IsNull() || b.IsNull() {
				return Value{}
			}
			cmp, ok := compare(a, b)
			if !ok {
				return boolVal(false)
			}
			switch op {
			case "<":
				return boolVal(cmp < 0)
			case "<=":
				return boolVal(cmp <= 0)
			case ">":
				return boolVal(cmp > 0)
			}
			return boolVal(cmp >= 0)
		}, nil
	case "+", "-", "*", "/", "%", "^":
		op := e.Op[0]
		return func(x *row) Value { return arith(op, l(x), r(x)) }, nil
	}
	return nil, fmt.Errorf("unknown operator %s", e.Op)
}

func (c *compiler) compileMatch(e *Binary, l evalFn) (evalFn, error) {
	neg := e.Op == "not like"
	var match func(string) bool
	switch p := e.R.(type) {
	case *RegexLit:
		re, err := regexp.Compile(p.Src)
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression /%s/: %v", p.Src, err)
		}
		match = re.MatchString
	case *StringLit:
		if e.Op == "=~" {
			re, err := regexp.Compile(p.Val)
			if err != nil {
				return nil, fmt.Errorf("invalid regular expression %q: %v", p.Val, err)
			}
			match = re.MatchString
		} else {
			lit := p.Val
			match = func(s string) bool { return strings.Contains(s, lit) }
		}
	default:
		return nil, fmt.Errorf("%s needs a string or /regular expression/", e.Op)
	}
	return func(x *row) Value {
		v := l(x)
		if v.IsNull() {
			return boolVal(false)
		}
		return boolVal(match(v.str()) != neg)
	}, nil
}

func (c *compiler) compileIn(e *InExpr) (evalFn, error) {
	x, err := c.compile(e.X)
	if err != nil {
		return nil, err
	}
	list := make([]evalFn, len(e.List))
	allStr := true
	set := map[string]bool{}
	for i, it := range e.List {
		if list[i], err = c.compile(it); err != nil {
			return nil, err
		}
		if s, ok := it.(*StringLit); ok {
			set[s.Val] = true
		} else {
			allStr = false
		}
	}
	neg := e.Not
	if allStr {
		return func(r *row) Value {
			v := x(r)
			if v.IsNull() {
				return Value{} // unknown, in or not in
			}
			return boolVal(set[v.str()] != neg)
		}, nil
	}
	return func(r *row) Value {
		v := x(r)
		if v.IsNull() {
			return Value{}
		}
		for _, f := range list {
			if equal(v, f(r)) {
				return boolVal(!neg)
			}
		}
		return boolVal(neg)
	}, nil
}
