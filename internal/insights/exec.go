package insights

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/logstore"
)

// Source is where queries read log events: the CloudWatch-like log store
// or anything else that can scan events. fn may be called with the same
// *Event pointer for every event; the engine copies what it keeps.
type Source interface {
	Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error
}

// Options select the events a query runs over and how they are read.
type Options struct {
	LogGroups  []string
	LogStreams []string
	// Start is inclusive, End exclusive; zero means unbounded.
	Start, End time.Time
	// Format is the flow log format of the messages, which decides the
	// discovered fields; the zero Format means flow.DefaultFormat.
	Format flow.Format
	// AccountID is the account in @log ("account:log-group"); empty means
	// the account-id of each record.
	AccountID string
}

// Result is the answer of a query, shaped like GetQueryResults.
type Result struct {
	Fields     []string        `json:"fields"`
	Rows       [][]ResultField `json:"results"`
	Statistics Statistics      `json:"statistics"`
}

// ResultField is one (field, value) pair of a result row. Fields whose
// value is null are left out of the row, as AWS does.
type ResultField struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

// Statistics are the scan counters GetQueryResults reports.
type Statistics struct {
	RecordsMatched int64 `json:"recordsMatched"`
	RecordsScanned int64 `json:"recordsScanned"`
	BytesScanned   int64 `json:"bytesScanned"`
}

// Get returns the value of field in a result row and whether it is there.
func Get(row []ResultField, field string) (string, bool) {
	for _, f := range row {
		if f.Field == field {
			return f.Value, true
		}
	}
	return "", false
}

// errStop ends a scan early once a limit is reached.
var errStop = errors.New("insights: enough rows")

// Execute parses and runs a query.
func Execute(ctx context.Context, src Source, query string, opt Options) (*Result, error) {
	q, err := Parse(query)
	if err != nil {
		return nil, err
	}
	return Run(ctx, src, q, opt)
}

// Run executes a parsed query over the events src yields for opt. It
// streams: only groups, the rows kept by sort/limit and dedup keys are
// held in memory.
func Run(ctx context.Context, src Source, q *Query, opt Options) (*Result, error) {
	p, err := plan(q, opt)
	if err != nil {
		return nil, err
	}
	lq := logstore.Query{LogGroups: opt.LogGroups, LogStreams: opt.LogStreams}
	if !opt.Start.IsZero() {
		lq.Start = opt.Start.UnixMilli()
	}
	if !opt.End.IsZero() {
		lq.End = opt.End.UnixMilli()
	}
	r := p.newRow()
	var n int64
	st := &p.stats
	err = src.Scan(ctx, lq, func(ev *logstore.Event) error {
		if lq.Start != 0 && ev.Timestamp < lq.Start || lq.End != 0 && ev.Timestamp >= lq.End {
			return nil
		}
		n++
		if n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		st.RecordsScanned++
		st.BytesScanned += int64(len(ev.Message))
		r.ev, r.tokN, r.seq = ev, -1, n
		for _, s := range p.writable {
			r.vals[s] = Value{}
		}
		return p.head.push(r)
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if err := p.head.flush(); err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return &Result{Fields: p.sink.names, Rows: p.sink.rows, Statistics: *st}, nil
}

// program is a compiled query, good for one run.
type program struct {
	syms       []symbol
	ntok       int
	accountTok int
	accountID  string
	writable   []int
	head       stage
	sink       *sink
	stats      Statistics
}

// row is one event (ev != nil) or one computed row (after stats).
type row struct {
	p     *program
	ev    *logstore.Event
	vals  []Value
	tokN  int    // -1: not split yet; -2: the message does not fit the format; -3: fast path
	known uint64 // fast path: tokens whose span is cached
	spans []int32
	seq   int64
}

func (p *program) newRow() *row {
	return &row{p: p, vals: make([]Value, len(p.syms)), spans: make([]int32, 2*p.ntok), tokN: -1}
}

func (r *row) get(i int) Value {
	if v := r.vals[i]; v.K != kUnset {
		return v
	}
	if r.ev == nil {
		return nullValue
	}
	return r.extract(i)
}

func (r *row) extract(i int) Value {
	s := &r.p.syms[i]
	ev := r.ev
	switch s.src {
	case srcToken:
		tok, ok := r.token(s.tok)
		if !ok {
			return nullValue
		}
		if s.numeric {
			if n, ok := parseIntFast(tok); ok {
				return intVal(n)
			}
			if tok == "-" { // a numeric field without a value (NODATA, SKIPDATA)
				return nullValue
			}
		}
		return strVal(tok)
	case srcTimestamp:
		return timeVal(ev.Timestamp)
	case srcIngestion:
		return timeVal(ev.IngestionTime)
	case srcMessage:
		return strVal(ev.Message)
	case srcLogStream:
		return strVal(ev.LogStream)
	case srcLog:
		acct := r.p.accountID
		if acct == "" && r.p.accountTok >= 0 {
			acct, _ = r.token(r.p.accountTok)
		}
		return strVal(acct + ":" + ev.LogGroup)
	}
	return nullValue
}

// token returns the i-th space-separated token of the message. A message
// with another number of tokens than the format has no discovered fields.
//
// Fast path: a message with exactly ntok-1 single spaces (what AWS
// writes) is not split; each token is found by scanning from the nearer
// end. Anything else is split in full once.
func (r *row) token(i int) (string, bool) {
	msg := r.ev.Message
	switch r.tokN {
	case -1:
		if n := len(msg); n > 0 && msg[n-1] != '\r' && msg[n-1] != '\n' && strings.Count(msg, " ") == r.p.ntok-1 {
			r.tokN = -3
			r.known = 0
		} else {
			r.split()
		}
	case -3:
	}
	if r.tokN == -3 {
		if i < 64 && r.known&(1<<i) != 0 {
			return msg[r.spans[2*i]:r.spans[2*i+1]], true
		}
		st, en := fieldAt(msg, i, r.p.ntok)
		if st >= en { // empty token: leading, trailing or double space
			r.split()
			return r.token(i)
		}
		if i < 64 {
			r.spans[2*i], r.spans[2*i+1] = int32(st), int32(en)
			r.known |= 1 << i
		}
		return msg[st:en], true
	}
	if r.tokN < 0 {
		return "", false
	}
	return msg[r.spans[2*i]:r.spans[2*i+1]], true
}

// fieldAt finds token i of n in a message of single-space separated
// tokens, scanning from whichever end is nearer.
func fieldAt(msg string, i, n int) (int, int) {
	if i < n/2 {
		st := 0
		for k := 0; k < i; k++ {
			j := strings.IndexByte(msg[st:], ' ')
			st += j + 1
		}
		en := strings.IndexByte(msg[st:], ' ')
		if en < 0 {
			return st, len(msg)
		}
		return st, st + en
	}
	en := len(msg)
	for k := n - 1; k > i; k-- {
		en = strings.LastIndexByte(msg[:en], ' ')
	}
	st := strings.LastIndexByte(msg[:en], ' ') + 1
	return st, en
}

func (r *row) split() {
	msg := r.ev.Message
	want := r.p.ntok
	n, i := 0, 0
	for {
		for i < len(msg) && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\r' || msg[i] == '\n') {
			i++
		}
		if i >= len(msg) {
			break
		}
		if n == want {
			r.tokN = -2
			return
		}
		st := i
		for i < len(msg) && msg[i] != ' ' && msg[i] != '\t' && msg[i] != '\r' && msg[i] != '\n' {
			i++
		}
		r.spans[2*n], r.spans[2*n+1] = int32(st), int32(i)
		n++
	}
	if n != want {
		r.tokN = -2
		return
	}
	r.tokN = n
}

// clone copies a row for buffering (the event struct may be reused by the
// source; its strings are immutable and shared).
func (r *row) clone() *row {
	c := &row{p: r.p, vals: slices.Clone(r.vals), tokN: r.tokN, seq: r.seq}
	if r.ev != nil {
		ev := *r.ev
		c.ev = &ev
		c.spans = slices.Clone(r.spans)
	}
	return c
}

// stage is one step of the pipeline. push may return errStop when no more
// rows are wanted; flush emits buffered rows and flushes the next stage.
type stage interface {
	push(r *row) error
	flush() error
	setNext(s stage)
}

type base struct{ next stage }

func (b *base) setNext(s stage) { b.next = s }
func (b *base) flush() error    { return b.next.flush() }

// plan compiles the query into a pipeline of stages.
func plan(q *Query, opt Options) (*program, error) {
	f := opt.Format
	if f.IsZero() {
		f = flow.DefaultFormat
	}
	c := newCompiler(f)
	p := &program{ntok: c.ntok, accountTok: c.accountTok, accountID: opt.AccountID}
	var stages []stage
	var cols []string // output columns so far; nil = default
	var display []string
	hasLimit := false
	for _, cmd := range q.Commands {
		switch cmd := cmd.(type) {
		case *LimitCmd:
			hasLimit = true
		case *DisplayCmd:
			display = cmd.Fields
		}
	}
	limitCap := DefaultLimit
	if hasLimit {
		limitCap = MaxLimit
	}
	// Events come newest first to the first limit or dedup unless a sort
	// or stats before it decides their order; a sort or stats after it
	// does not change which events it keeps.
	implicitSort := true
	counted := false
	addCounter := func() {
		if !counted {
			counted = true
			stages = append(stages, &counterStage{n: &p.stats.RecordsMatched})
		}
	}
	addImplicit := func() {
		if implicitSort {
			implicitSort = false
			addCounter()
			s := &sortStage{keys: []evalFn{c.field("@timestamp")}, desc: []bool{true}}
			stages = append(stages, s)
		}
	}
	addCol := func(name string) {
		if !slices.Contains(cols, name) {
			cols = append(cols, name)
		}
	}
	var writable []int
	for ci, cmd := range q.Commands {
		var err error
		switch cmd := cmd.(type) {
		case *FilterCmd:
			var fn evalFn
			if fn, err = c.compile(cmd.Cond); err == nil {
				stages = append(stages, &filterStage{cond: fn})
			}
		case *FieldsCmd:
			fs := &fieldsStage{}
			for _, it := range cmd.Items {
				var fn evalFn
				if fn, err = c.compile(it.Expr); err != nil {
					break
				}
				s := c.slot(it.Name())
				fs.slots = append(fs.slots, s)
				fs.fns = append(fs.fns, fn)
				writable = append(writable, s)
				addCol(it.Name())
			}
			stages = append(stages, fs)
		case *ParseCmd:
			var ps *parseStage
			if ps, err = c.compileParse(cmd); err == nil {
				writable = append(writable, ps.slots...)
				stages = append(stages, ps)
			}
		case *DisplayCmd:
			// columns only
		case *DedupCmd:
			addImplicit()
			addCounter()
			ds := &dedupStage{seen: map[string]struct{}{}}
			for _, n := range cmd.Fields {
				ds.keys = append(ds.keys, c.field(n))
			}
			stages = append(stages, ds)
		case *LimitCmd:
			addImplicit()
			addCounter()
			stages = append(stages, &limitStage{n: cmd.N})
		case *SortCmd:
			implicitSort = false
			addCounter()
			s := &sortStage{}
			for _, k := range cmd.Keys {
				var fn evalFn
				if fn, err = c.compile(k.Expr); err != nil {
					break
				}
				s.keys = append(s.keys, fn)
				s.desc = append(s.desc, k.Desc)
			}
			stages = append(stages, s)
		case *StatsCmd:
			implicitSort = false
			addCounter()
			var ss *statsStage
			if ss, err = c.compileStats(cmd); err == nil {
				stages = append(stages, ss)
				cols = nil
				for _, it := range cmd.By {
					addCol(it.Name())
				}
				for _, it := range cmd.Aggs {
					addCol(it.Name())
				}
			}
		}
		if err != nil {
			off := 0
			if ci < len(q.pos) {
				off = q.pos[ci]
			}
			msg := fmt.Sprintf("%s: %v", cmd.Name(), err)
			if pe, ok := errors.AsType[*posError](err); ok {
				off, msg = pe.off, pe.msg
			}
			line, col := position(q.src, off)
			return nil, &ParseError{Line: line, Column: col, Offset: off, Msg: msg}
		}
	}
	addImplicit()
	addCounter()
	if display != nil {
		cols = display
	} else if cols == nil {
		cols = []string{"@timestamp", "@message"}
	}
	sk := &sink{cap: limitCap, names: cols}
	for _, n := range cols {
		sk.cols = append(sk.cols, c.slot(n))
	}
	stages = append(stages, sk)
	// top-K: a sort directly followed by a limit (or ending the query)
	// keeps only that many rows.
	for i, s := range stages {
		ss, ok := s.(*sortStage)
		if !ok {
			continue
		}
		switch nx := stages[i+1].(type) {
		case *limitStage:
			ss.k = nx.n
		case *sink:
			ss.k = limitCap
		}
	}
	for i := 0; i+1 < len(stages); i++ {
		stages[i].setNext(stages[i+1])
	}
	p.head, p.sink = stages[0], sk
	p.syms = c.syms
	slices.Sort(writable)
	p.writable = slices.Compact(writable)
	return p, nil
}

func (c *compiler) compileStats(cmd *StatsCmd) (*statsStage, error) {
	s := &statsStage{groups: map[string]int32{}, strGroups: map[string]int32{}}
	for _, it := range cmd.By {
		fn, err := c.compile(it.Expr)
		if err != nil {
			return nil, err
		}
		s.by = append(s.by, fn)
		s.bySlots = append(s.bySlots, c.slot(it.Name()))
	}
	for _, it := range cmd.Aggs {
		call, _ := isAggCall(it.Expr)
		a, err := c.compileAgg(call)
		if err != nil {
			return nil, err
		}
		s.aggs = append(s.aggs, a)
		s.aggSlots = append(s.aggSlots, c.slot(it.Name()))
	}
	for _, it := range cmd.Aggs {
		c.aggCols[exprString(it.Expr)] = it.Name()
	}
	s.nslots = func() int { return len(c.syms) }
	return s, nil
}

// ---- stages

type filterStage struct {
	base
	cond evalFn
}

func (s *filterStage) push(r *row) error {
	if s.cond(r).truthy() {
		return s.next.push(r)
	}
	return nil
}

type fieldsStage struct {
	base
	slots []int
	fns   []evalFn
}

func (s *fieldsStage) push(r *row) error {
	for i, fn := range s.fns {
		r.vals[s.slots[i]] = fn(r)
	}
	return s.next.push(r)
}

type counterStage struct {
	base
	n *int64
}

func (s *counterStage) push(r *row) error {
	*s.n++
	return s.next.push(r)
}

type limitStage struct {
	base
	n, seen int
}

func (s *limitStage) push(r *row) error {
	if s.seen >= s.n {
		return errStop
	}
	s.seen++
	if err := s.next.push(r); err != nil {
		return err
	}
	if s.seen >= s.n {
		return errStop
	}
	return nil
}

type dedupStage struct {
	base
	keys []evalFn
	seen map[string]struct{}
	buf  []byte
}

func (s *dedupStage) push(r *row) error {
	b := s.buf[:0]
	for _, k := range s.keys {
		v := k(r)
		if v.IsNull() {
			// rows with a null key field are kept
			s.buf = b
			return s.next.push(r)
		}
		b = appendKey(b, v)
	}
	s.buf = b
	if _, ok := s.seen[string(b)]; ok {
		return nil
	}
	s.seen[string(b)] = struct{}{}
	return s.next.push(r)
}

type sortItem struct {
	r    *row
	keys []Value
}

type sortStage struct {
	base
	keys    []evalFn
	desc    []bool
	k       int // keep only the first k rows (0: all)
	items   []sortItem
	scratch []Value
	cut     *sortItem // the k-th row after the last trim
}

func (s *sortStage) less(a, b *sortItem) bool {
	for i := range a.keys {
		x, y := a.keys[i], b.keys[i]
		xn, yn := x.IsNull(), y.IsNull()
		switch {
		case xn && yn:
			continue
		case xn:
			return false // nulls last
		case yn:
			return true
		}
		c := sortCompare(x, y)
		if s.desc[i] {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	return a.r.seq < b.r.seq
}

func (s *sortStage) push(r *row) error {
	s.scratch = s.scratch[:0]
	for _, k := range s.keys {
		s.scratch = append(s.scratch, k(r))
	}
	if s.cut != nil && !s.less(&sortItem{r: r, keys: s.scratch}, s.cut) {
		return nil
	}
	c := r.clone()
	s.items = append(s.items, sortItem{r: c, keys: slices.Clone(s.scratch)})
	if s.k > 0 && len(s.items) >= 2*s.k+64 {
		s.trim()
	}
	return nil
}

func (s *sortStage) trim() {
	slices.SortFunc(s.items, func(a, b sortItem) int {
		if s.less(&a, &b) {
			return -1
		}
		if s.less(&b, &a) {
			return 1
		}
		return 0
	})
	if s.k > 0 && len(s.items) > s.k {
		clear(s.items[s.k:])
		s.items = s.items[:s.k]
		cut := s.items[s.k-1]
		s.cut = &cut
	}
}

func (s *sortStage) flush() error {
	s.trim()
	for _, it := range s.items {
		if err := s.next.push(it.r); err != nil {
			if errors.Is(err, errStop) {
				break
			}
			return err
		}
	}
	s.items = nil
	return s.next.flush()
}

type group struct {
	keys []Value
	st   []aggState
}

type statsStage struct {
	base
	by        []evalFn
	bySlots   []int
	aggs      []*aggSpec
	aggSlots  []int
	groups    map[string]int32
	strGroups map[string]int32
	gSlab     []group
	kSlab     []Value
	sSlab     []aggState
	list      []*group
	key       []byte
	nslots    func() int
}

// newGroup carves a group, its keys and its states from slabs, to keep
// allocations per group low when there are many.
func (s *statsStage) newGroup() *group {
	const chunk = 256
	if len(s.gSlab) == 0 {
		s.gSlab = make([]group, chunk)
		s.kSlab = make([]Value, chunk*len(s.by))
		s.sSlab = make([]aggState, chunk*len(s.aggs))
	}
	g := &s.gSlab[0]
	s.gSlab = s.gSlab[1:]
	nk, na := len(s.by), len(s.aggs)
	g.keys, s.kSlab = s.kSlab[:nk:nk], s.kSlab[nk:]
	g.st, s.sSlab = s.sSlab[:na:na], s.sSlab[na:]
	return g
}

func (s *statsStage) push(r *row) error {
	var g *group
	if len(s.by) == 0 {
		if len(s.list) == 0 {
			s.list = append(s.list, s.newGroup())
		}
		g = s.list[0]
	} else if v := s.by[0](r); len(s.by) == 1 && v.K == String {
		// one text key: look the string up directly
		idx, ok := s.strGroups[v.S]
		if !ok {
			g = s.newGroup()
			g.keys[0] = cloneValue(v)
			idx = int32(len(s.list))
			s.list = append(s.list, g)
			s.strGroups[g.keys[0].S] = idx
		}
		g = s.list[idx]
	} else {
		k := appendKey(s.key[:0], v)
		for _, fn := range s.by[1:] {
			k = appendKey(k, fn(r))
		}
		s.key = k
		idx, ok := s.groups[string(k)]
		if !ok {
			g = s.newGroup()
			for i, fn := range s.by {
				g.keys[i] = cloneValue(fn(r))
			}
			idx = int32(len(s.list))
			s.list = append(s.list, g)
			s.groups[string(k)] = idx
		}
		g = s.list[idx]
	}
	for i, a := range s.aggs {
		a.add(&g.st[i], r)
	}
	return nil
}

func (s *statsStage) flush() error {
	out := &row{vals: make([]Value, s.nslots())}
	for i, g := range s.list {
		clear(out.vals)
		for i, sl := range s.bySlots {
			v := g.keys[i]
			if v.K == kUnset {
				v = nullValue
			}
			out.vals[sl] = v
		}
		for i, sl := range s.aggSlots {
			out.vals[sl] = s.aggs[i].result(&g.st[i])
		}
		out.seq = int64(i)
		if err := s.next.push(out); err != nil {
			if errors.Is(err, errStop) {
				break
			}
			return err
		}
	}
	s.list, s.groups, s.strGroups = nil, nil, nil
	return s.next.flush()
}

type sink struct {
	base
	cols  []int
	names []string
	cap   int
	rows  [][]ResultField
}

func (s *sink) push(r *row) error {
	if len(s.rows) >= s.cap {
		return errStop
	}
	out := make([]ResultField, 0, len(s.cols))
	for i, sl := range s.cols {
		v := r.get(sl)
		if v.IsNull() {
			continue
		}
		out = append(out, ResultField{Field: s.names[i], Value: v.String()})
	}
	s.rows = append(s.rows, out)
	return nil
}

func (s *sink) flush() error { return nil }

// ---- parse

type parseStage struct {
	base
	src   evalFn
	slots []int
	glob  []string // literal pieces around the stars: len(slots)+1
	re    *regexp.Regexp
	reIdx []int // slot for each regex group (-1: unnamed)
}

func (c *compiler) compileParse(cmd *ParseCmd) (*parseStage, error) {
	ps := &parseStage{}
	if cmd.Field != nil {
		fn, err := c.compile(cmd.Field)
		if err != nil {
			return nil, err
		}
		ps.src = fn
	} else {
		ps.src = c.field("@message")
	}
	if cmd.Regex {
		re, err := compileRegex(cmd.Pattern)
		if err != nil {
			return nil, err
		}
		ps.re = re
		for _, n := range re.SubexpNames() {
			if n == "" {
				ps.reIdx = append(ps.reIdx, -1)
				continue
			}
			s := c.slot(n)
			ps.reIdx = append(ps.reIdx, s)
			ps.slots = append(ps.slots, s)
		}
		return ps, nil
	}
	ps.glob = strings.Split(cmd.Pattern, "*")
	for _, n := range cmd.As {
		ps.slots = append(ps.slots, c.slot(n))
	}
	return ps, nil
}

func (s *parseStage) push(r *row) error {
	v := s.src(r)
	if v.IsNull() {
		s.setNull(r)
		return s.next.push(r)
	}
	str := v.str()
	if s.re != nil {
		m := s.re.FindStringSubmatchIndex(str)
		if m == nil {
			s.setNull(r)
		} else {
			for g, sl := range s.reIdx {
				if sl < 0 {
					continue
				}
				if m[2*g] < 0 {
					r.vals[sl] = nullValue
				} else {
					r.vals[sl] = strVal(str[m[2*g]:m[2*g+1]])
				}
			}
		}
		return s.next.push(r)
	}
	if !s.matchGlob(r, str) {
		s.setNull(r)
	}
	return s.next.push(r)
}

func (s *parseStage) setNull(r *row) {
	for _, sl := range s.slots {
		r.vals[sl] = nullValue
	}
}

// matchGlob matches lit0 * lit1 * … litN: the first literal anywhere, then
// each star takes the shortest text up to the next literal; a final star
// takes the rest.
func (s *parseStage) matchGlob(r *row, str string) bool {
	pos := 0
	if l := s.glob[0]; l != "" {
		i := strings.Index(str, l)
		if i < 0 {
			return false
		}
		pos = i + len(l)
	}
	for k, sl := range s.slots {
		lit := s.glob[k+1]
		if lit == "" && k == len(s.slots)-1 {
			r.vals[sl] = strVal(str[pos:])
			pos = len(str)
			continue
		}
		if lit == "" {
			// adjacent stars: this one captures nothing
			r.vals[sl] = strVal("")
			continue
		}
		j := strings.Index(str[pos:], lit)
		if j < 0 {
			return false
		}
		r.vals[sl] = strVal(str[pos : pos+j])
		pos += j + len(lit)
	}
	return true
}
