package insights

import (
	"math"
	"slices"
	"strings"
)

type aggKind uint8

const (
	aggCountStar aggKind = iota
	aggCount
	aggCountDistinct
	aggSum
	aggAvg
	aggMin
	aggMax
	aggPct
	aggStddev
	aggEarliest
	aggLatest
	aggSortsFirst
	aggSortsLast
)

var aggKinds = map[string]aggKind{
	"count": aggCount, "count_distinct": aggCountDistinct, "sum": aggSum, "avg": aggAvg,
	"min": aggMin, "max": aggMax, "pct": aggPct, "stddev": aggStddev, "earliest": aggEarliest,
	"latest": aggLatest, "sortsfirst": aggSortsFirst, "sortslast": aggSortsLast,
}

type aggSpec struct {
	kind aggKind
	arg  evalFn
	ts   evalFn // @timestamp, for earliest/latest
	p    float64
	buf  []byte
}

// aggState is one aggregation's running state in one group.
type aggState struct {
	n   int64
	i   int64
	f   float64 // float sum; running mean for stddev
	m2  float64
	t   int64
	isF bool
	has bool
	v   Value // best numeric (min/max) or chosen value
	x   *aggExtra
}

// aggExtra holds the state only some aggregations need.
type aggExtra struct {
	sv   Value // best non-numeric fallback (min/max)
	vals []float64
	set  map[string]struct{}
}

func (st *aggState) extra() *aggExtra {
	if st.x == nil {
		st.x = &aggExtra{}
	}
	return st.x
}

func (c *compiler) compileAgg(call *Call) (*aggSpec, error) {
	k := aggKinds[call.Name]
	if call.Name == "count" && (call.Star || len(call.Args) == 0) {
		return &aggSpec{kind: aggCountStar}, nil
	}
	a := &aggSpec{kind: k}
	arg, err := c.compile(call.Args[0])
	if err != nil {
		return nil, err
	}
	a.arg = arg
	switch k {
	case aggPct:
		a.p = call.Args[1].(*NumberLit).Float
	case aggEarliest, aggLatest:
		a.ts = c.field("@timestamp")
	}
	return a, nil
}

func cloneValue(v Value) Value {
	if v.K == String {
		v.S = strings.Clone(v.S)
	}
	return v
}

func (a *aggSpec) add(st *aggState, r *row) {
	if a.kind == aggCountStar {
		st.n++
		return
	}
	v := a.arg(r)
	if v.IsNull() {
		return
	}
	switch a.kind {
	case aggCount:
		st.n++
	case aggCountDistinct:
		x := st.extra()
		if x.set == nil {
			x.set = map[string]struct{}{}
		}
		a.buf = appendKey(a.buf[:0], v)
		if _, ok := x.set[string(a.buf)]; !ok {
			x.set[string(a.buf)] = struct{}{}
		}
	case aggSum:
		i, f, isInt, ok := v.num()
		if !ok {
			return
		}
		st.n++
		if isInt && !st.isF {
			st.i += i
			return
		}
		if !st.isF {
			st.isF, st.f = true, float64(st.i)
		}
		st.f += f
	case aggAvg:
		if f, ok := v.float(); ok {
			st.n++
			st.f += f
		}
	case aggStddev:
		if f, ok := v.float(); ok {
			st.n++
			d := f - st.f
			st.f += d / float64(st.n)
			st.m2 += d * (f - st.f)
		}
	case aggPct:
		if f, ok := v.float(); ok {
			x := st.extra()
			x.vals = append(x.vals, f)
		}
	case aggMin, aggMax:
		want := -1
		if a.kind == aggMax {
			want = 1
		}
		if _, _, _, ok := v.num(); ok {
			if !st.has {
				st.v, st.has = cloneValue(v), true
			} else if c, _ := compare(v, st.v); c == want {
				st.v = cloneValue(v)
			}
			return
		}
		x := st.extra()
		if x.sv.IsNull() {
			x.sv = cloneValue(v)
		} else if c, _ := compare(v, x.sv); c == want {
			x.sv = cloneValue(v)
		}
	case aggSortsFirst, aggSortsLast:
		want := -1
		if a.kind == aggSortsLast {
			want = 1
		}
		if !st.has || sortCompare(v, st.v) == want {
			st.v, st.has = cloneValue(v), true
		}
	case aggEarliest, aggLatest:
		t, ok := asMillis(a.ts(r))
		if !ok {
			return
		}
		if !st.has || (a.kind == aggEarliest && t < st.t) || (a.kind == aggLatest && t >= st.t) {
			st.v, st.t, st.has = cloneValue(v), t, true
		}
	}
}

func (a *aggSpec) result(st *aggState) Value {
	switch a.kind {
	case aggCountStar, aggCount:
		return intVal(st.n)
	case aggCountDistinct:
		if st.x == nil {
			return intVal(0)
		}
		return intVal(int64(len(st.x.set)))
	case aggSum:
		if st.n == 0 {
			return nullValue
		}
		if st.isF {
			return floatVal(st.f)
		}
		return intVal(st.i)
	case aggAvg:
		if st.n == 0 {
			return nullValue
		}
		return floatVal(st.f / float64(st.n))
	case aggStddev:
		if st.n == 0 {
			return nullValue
		}
		if st.n == 1 {
			return intVal(0)
		}
		return floatVal(math.Sqrt(st.m2 / float64(st.n-1)))
	case aggPct:
		if st.x == nil || len(st.x.vals) == 0 {
			return nullValue
		}
		vals := st.x.vals
		slices.Sort(vals)
		// nearest rank
		k := int(math.Ceil(a.p/100*float64(len(vals)))) - 1
		k = max(0, min(k, len(vals)-1))
		return numberValue(vals[k])
	case aggMin, aggMax:
		if st.has {
			return st.v
		}
		if st.x != nil && st.x.sv.K != kUnset {
			return st.x.sv
		}
		return nullValue
	}
	if st.has {
		return st.v
	}
	return nullValue
}

// numberValue returns an integral float as an Int.
func numberValue(f float64) Value {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return intVal(int64(f))
	}
	return floatVal(f)
}

// appendKey encodes v into a group key. Numbers that are equal encode the
// same whether they came as ints or numeric strings is NOT attempted: a
// group key keeps the value's own type.
func appendKey(b []byte, v Value) []byte {
	b = append(b, byte(v.K))
	switch v.K {
	case Int, Time, Bool:
		u := uint64(v.I)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24), byte(u>>32), byte(u>>40), byte(u>>48), byte(u>>56))
	case Float:
		u := math.Float64bits(v.F)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24), byte(u>>32), byte(u>>40), byte(u>>48), byte(u>>56))
	case String:
		n := len(v.S)
		b = append(b, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
		b = append(b, v.S...)
	}
	return b
}
