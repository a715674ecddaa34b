package topn

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"vpcflow/internal/logstore"
)

// Source is where rules read log events (the log store, S3 objects, or an
// in-memory list). fn may get the same *Event for every call.
type Source interface {
	Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error
}

// ShardedSource is a Source that can feed several workers at once. fn is
// called concurrently for different shards, never concurrently for one.
type ShardedSource interface {
	Source
	ScanShards(ctx context.Context, q logstore.Query, shards int, fn func(shard int, ev *logstore.Event) error) error
}

// Options select the events and shape the report.
type Options struct {
	// Period is the aggregation period (default 5 minutes); periods are
	// aligned to the Unix epoch, as CloudWatch's are.
	Period time.Duration
	// Top is how many contributors each list keeps (default 10).
	Top int
	// Start (inclusive) and End (exclusive) bound event timestamps; zero
	// means unbounded.
	Start, End time.Time
	// LogGroups are the concrete groups to scan (the rule's names resolved
	// against the store); empty scans what the source offers and keeps
	// the events whose group matches the rule or is unnamed.
	LogGroups []string
	// Workers is how many goroutines evaluate events when the source is a
	// ShardedSource (default 1).
	Workers int
}

// Contributor is one key combination and its aggregate.
type Contributor struct {
	Keys  []string `json:"keys"`
	Value float64  `json:"value"`
}

// Period is the result of one aggregation period.
type Period struct {
	Start time.Time `json:"start"`
	// Unique is the number of distinct contributors in the period.
	Unique int `json:"uniqueContributors"`
	// Total is the aggregate over all contributors.
	Total float64       `json:"aggregateValue"`
	Top   []Contributor `json:"top"`
}

// Report is what a rule computed.
type Report struct {
	KeyNames    []string      `json:"keys"`
	AggregateOn string        `json:"aggregateOn"`
	Period      time.Duration `json:"-"`
	Periods     []Period      `json:"periods"`
	Overall     []Contributor `json:"overall"`
	Unique      int           `json:"uniqueContributors"`
	Events      int64         `json:"events"`
	Matched     int64         `json:"matched"`
}

// evaluator holds one worker's state.
type evaluator struct {
	r        *Rule
	periodMs int64
	start    int64
	end      int64
	filterGr bool

	toks    []string
	keyBuf  []byte
	periods map[int64]map[string]float64
	lastP   int64
	lastM   map[string]float64
	events  int64
	matched int64
	json    map[string]any
}

func newEvaluator(r *Rule, o Options) *evaluator {
	e := &evaluator{r: r, periodMs: o.Period.Milliseconds(), filterGr: len(o.LogGroups) == 0,
		periods: map[int64]map[string]float64{}, lastP: -1 << 62}
	if !o.Start.IsZero() {
		e.start = o.Start.UnixMilli()
	}
	if !o.End.IsZero() {
		e.end = o.End.UnixMilli()
	}
	return e
}

// tokenize splits a CLF event into the fields the rule needs: separated by
// spaces, with "quoted" and [bracketed] runs as single fields.
func (e *evaluator) tokenize(msg string) []string {
	toks := e.toks[:0]
	need := e.r.maxPos + 1
	i := 0
	for len(toks) < need {
		for i < len(msg) && msg[i] == ' ' {
			i++
		}
		if i >= len(msg) {
			break
		}
		var tok string
		switch msg[i] {
		case '"', '[':
			closer := byte('"')
			if msg[i] == '[' {
				closer = ']'
			}
			j := strings.IndexByte(msg[i+1:], closer)
			if j < 0 {
				tok, i = msg[i+1:], len(msg)
			} else {
				tok, i = msg[i+1:i+1+j], i+2+j
			}
		default:
			j := strings.IndexByte(msg[i:], ' ')
			if j < 0 {
				tok, i = msg[i:], len(msg)
			} else {
				tok, i = msg[i:i+j], i+j
			}
		}
		toks = append(toks, tok)
	}
	e.toks = toks
	return toks
}

func (e *evaluator) get(a *accessor, toks []string) (string, bool) {
	if e.r.LogFormat == "CLF" {
		if a.pos < len(toks) {
			return toks[a.pos], true
		}
		return "", false
	}
	var cur any = e.json
	for _, p := range a.path {
		if p.index >= 0 {
			arr, ok := cur.([]any)
			if !ok || p.index >= len(arr) {
				return "", false
			}
			cur = arr[p.index]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = m[p.key]; !ok {
			return "", false
		}
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	case nil:
		return "", false
	}
	b, _ := json.Marshal(cur)
	return string(b), true
}

func (e *evaluator) add(ev *logstore.Event) {
	if e.start != 0 && ev.Timestamp < e.start || e.end != 0 && ev.Timestamp >= e.end {
		return
	}
	if e.filterGr && ev.LogGroup != "" && !e.r.MatchesLogGroup(ev.LogGroup) {
		return
	}
	e.events++
	for _, any := range e.r.needAny {
		found := false
		for _, s := range any {
			if strings.Contains(ev.Message, s) {
				found = true
				break
			}
		}
		if !found {
			return
		}
	}
	var toks []string
	if e.r.LogFormat == "CLF" {
		toks = e.tokenize(ev.Message)
	} else {
		e.json = nil
		if err := json.Unmarshal([]byte(ev.Message), &e.json); err != nil {
			return
		}
	}
	for i := range e.r.filters {
		f := &e.r.filters[i]
		v, ok := e.get(&f.field, toks)
		if !f.match(v, ok) {
			return
		}
	}
	val := 1.0
	if e.r.value != nil {
		s, ok := e.get(e.r.value, toks)
		if !ok {
			return
		}
		if val, ok = parseNumber(s); !ok {
			return
		}
	}
	buf := e.keyBuf[:0]
	for i := range e.r.keys {
		v, ok := e.get(&e.r.keys[i], toks)
		if !ok {
			return
		}
		if i > 0 {
			buf = append(buf, 0x1f)
		}
		buf = append(buf, v...)
	}
	e.keyBuf = buf
	e.matched++
	p := int64(0)
	if e.periodMs > 0 {
		p = ev.Timestamp - ((ev.Timestamp%e.periodMs)+e.periodMs)%e.periodMs
	}
	m := e.lastM
	if p != e.lastP || m == nil {
		m = e.periods[p]
		if m == nil {
			m = map[string]float64{}
			e.periods[p] = m
		}
		e.lastP, e.lastM = p, m
	}
	m[string(buf)] += val
}

// merge folds o into e.
func (e *evaluator) merge(o *evaluator) {
	e.events += o.events
	e.matched += o.matched
	for p, om := range o.periods {
		m := e.periods[p]
		if m == nil {
			e.periods[p] = om
			continue
		}
		for k, v := range om {
			m[k] += v
		}
	}
}

func defaults(o Options) Options {
	if o.Period <= 0 {
		o.Period = 5 * time.Minute
	}
	if o.Top <= 0 {
		o.Top = 10
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	return o
}

// Evaluate runs the rule over the events of src.
func Evaluate(ctx context.Context, src Source, r *Rule, o Options) (*Report, error) {
	o = defaults(o)
	q := logstore.Query{LogGroups: o.LogGroups}
	if !o.Start.IsZero() {
		q.Start = o.Start.UnixMilli()
	}
	if !o.End.IsZero() {
		q.End = o.End.UnixMilli()
	}
	main := newEvaluator(r, o)
	if ss, ok := src.(ShardedSource); ok && o.Workers > 1 {
		evs := make([]*evaluator, o.Workers)
		for i := range evs {
			evs[i] = newEvaluator(r, o)
		}
		err := ss.ScanShards(ctx, q, o.Workers, func(shard int, ev *logstore.Event) error {
			evs[shard].add(ev)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		for _, e := range evs {
			main.merge(e)
		}
	} else {
		err := src.Scan(ctx, q, func(ev *logstore.Event) error {
			main.add(ev)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
	}
	return main.report(o), nil
}

// Evaluator is an incremental rule evaluation for live event streams: Add
// events as they arrive, take a Report whenever needed. It is safe for
// concurrent use.
type Evaluator struct {
	mu sync.Mutex
	e  *evaluator
	o  Options
}

// NewEvaluator starts an incremental evaluation of r.
func NewEvaluator(r *Rule, o Options) *Evaluator {
	o = defaults(o)
	return &Evaluator{e: newEvaluator(r, o), o: o}
}

// Add evaluates one event.
func (v *Evaluator) Add(ev *logstore.Event) {
	v.mu.Lock()
	v.e.add(ev)
	v.mu.Unlock()
}

// Report returns the report so far.
func (v *Evaluator) Report() *Report {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.e.report(v.o)
}

func (e *evaluator) report(o Options) *Report {
	rep := &Report{KeyNames: e.r.Contribution.Keys, AggregateOn: e.r.AggregateOn, Period: o.Period,
		Events: e.events, Matched: e.matched}
	starts := make([]int64, 0, len(e.periods))
	for p := range e.periods {
		starts = append(starts, p)
	}
	slices.Sort(starts)
	overall := map[string]float64{}
	for _, p := range starts {
		m := e.periods[p]
		per := Period{Start: time.UnixMilli(p).UTC(), Unique: len(m), Top: top(m, o.Top)}
		for k, v := range m {
			per.Total += v
			overall[k] += v
		}
		rep.Periods = append(rep.Periods, per)
	}
	rep.Overall = top(overall, o.Top)
	rep.Unique = len(overall)
	return rep
}

// top returns the n largest contributors, ties broken by keys.
func top(m map[string]float64, n int) []Contributor {
	type kv struct {
		k string
		v float64
	}
	all := make([]kv, 0, len(m))
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.v != b.v {
			if a.v > b.v {
				return -1
			}
			return 1
		}
		return strings.Compare(a.k, b.k)
	})
	if len(all) > n {
		all = all[:n]
	}
	out := make([]Contributor, len(all))
	for i, x := range all {
		out[i] = Contributor{Keys: strings.Split(x.k, "\x1f"), Value: x.v}
	}
	return out
}
