package logstore

import (
	"container/heap"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// pos is a position in a time-ordered event sequence: the k-th event (from
// 0) among those with timestamp ts. Tokens encode positions, so they stay
// valid while new events are appended (as CloudWatch's do).
type pos struct {
	ts int64
	k  int
}

func (p pos) before(q pos) bool { return p.ts < q.ts || p.ts == q.ts && p.k < q.k }

func (p pos) token(dir byte) string {
	return string(dir) + "/" + strconv.FormatInt(p.ts, 10) + "/" + strconv.Itoa(p.k)
}

func parseToken(t string) (dir byte, p pos, err error) {
	parts := strings.Split(t, "/")
	if len(parts) != 3 || len(parts[0]) != 1 || (parts[0] != "f" && parts[0] != "b") {
		return 0, p, fmt.Errorf("%w: %q", ErrBadToken, t)
	}
	ts, err1 := strconv.ParseInt(parts[1], 10, 64)
	k, err2 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || k < 0 {
		return 0, p, fmt.Errorf("%w: %q", ErrBadToken, t)
	}
	return parts[0][0], pos{ts, k}, nil
}

// posCounter assigns positions to events seen in order.
type posCounter struct {
	last pos
	seen bool
}

func (c *posCounter) next(ts int64) pos {
	if c.seen && c.last.ts == ts {
		c.last.k++
	} else {
		c.last = pos{ts, 0}
		c.seen = true
	}
	return c.last
}

// GetLogEventsInput mirrors CloudWatch Logs' GetLogEvents request.
type GetLogEventsInput struct {
	LogGroup, LogStream string
	StartTime, EndTime  int64 // ms, 0 = unbounded; End exclusive
	NextToken           string
	Limit               int // default and maximum 10000
	// StartFromHead returns the oldest events first when there is no
	// token; by default (false) the newest page is returned, as AWS does.
	StartFromHead bool
}

// GetLogEventsOutput mirrors GetLogEvents' response. Events are in
// ascending timestamp order. At the end of the stream NextForwardToken is
// the token that was passed in, as in CloudWatch.
type GetLogEventsOutput struct {
	Events            []Event
	NextForwardToken  string
	NextBackwardToken string
}

const maxLimit = 10000

// GetLogEvents pages through one stream.
func (s *Store) GetLogEvents(ctx context.Context, in GetLogEventsInput) (GetLogEventsOutput, error) {
	var out GetLogEventsOutput
	limit := in.Limit
	if limit <= 0 || limit > maxLimit {
		limit = maxLimit
	}
	s.mu.RLock()
	g := s.groups[in.LogGroup]
	var st *streamIndex
	if g != nil {
		st = g.streams[in.LogStream]
	}
	s.mu.RUnlock()
	if g == nil {
		return out, fmt.Errorf("%w: %s", ErrNoSuchGroup, in.LogGroup)
	}
	if st == nil {
		return out, fmt.Errorf("%w: %s", ErrNoSuchStream, in.LogStream)
	}
	forward := in.StartFromHead
	from := pos{ts: -1 << 63}
	to := pos{ts: 1<<63 - 1}
	if in.NextToken != "" {
		dir, p, err := parseToken(in.NextToken)
		if err != nil {
			return out, err
		}
		forward = dir == 'f'
		if forward {
			from = p
		} else {
			to = p
		}
	}
	q := Query{LogGroups: []string{in.LogGroup}, LogStreams: []string{in.LogStream}, Start: in.StartTime, End: in.EndTime}
	var pc posCounter
	var first, last pos
	var ring []Event
	var ringPos []pos
	err := s.Scan(ctx, q, func(e *Event) error {
		p := pc.next(e.Timestamp)
		if forward {
			if p.before(from) {
				return nil
			}
			if len(out.Events) == limit {
				return Stop
			}
			if len(out.Events) == 0 {
				first = p
			}
			out.Events = append(out.Events, *e)
			last = p
			return nil
		}
		if !p.before(to) {
			return Stop
		}
		if len(ring) == limit {
			copy(ring, ring[1:])
			copy(ringPos, ringPos[1:])
			ring, ringPos = ring[:limit-1], ringPos[:limit-1]
		}
		ring = append(ring, *e)
		ringPos = append(ringPos, p)
		return nil
	})
	if err != nil {
		return out, err
	}
	if !forward && len(ring) > 0 {
		out.Events = ring
		first, last = ringPos[0], ringPos[len(ringPos)-1]
	}
	if len(out.Events) == 0 {
		tok := in.NextToken
		if tok == "" {
			tok = from.token('f')
			if !forward {
				tok = to.token('f')
			}
		}
		out.NextForwardToken, out.NextBackwardToken = tok, tok
		if tok[0] == 'f' {
			out.NextBackwardToken = "b" + tok[1:]
		} else {
			out.NextForwardToken = "f" + tok[1:]
		}
		return out, nil
	}
	out.NextForwardToken = pos{last.ts, last.k + 1}.token('f')
	out.NextBackwardToken = first.token('b')
	return out, nil
}

// FilterLogEventsInput mirrors FilterLogEvents' request.
type FilterLogEventsInput struct {
	LogGroup            string
	LogStreamNames      []string
	LogStreamNamePrefix string
	StartTime, EndTime  int64 // ms; End exclusive
	// Match, if set, selects the events: the caller's compiled filter
	// pattern (internal/alarm compiles CloudWatch's whole language).
	// Nil matches everything.
	Match     func(*Event) bool
	Limit     int // default and maximum 10000
	NextToken string
}

// FilterLogEventsOutput mirrors FilterLogEvents' response: events of every
// selected stream interleaved in timestamp order; NextToken is empty when
// there are no more.
type FilterLogEventsOutput struct {
	Events    []Event
	NextToken string
}

// FilterLogEvents searches a log group across its streams.
func (s *Store) FilterLogEvents(ctx context.Context, in FilterLogEventsInput) (FilterLogEventsOutput, error) {
	var out FilterLogEventsOutput
	s.mu.RLock()
	_, ok := s.groups[in.LogGroup]
	s.mu.RUnlock()
	if !ok {
		return out, fmt.Errorf("%w: %s", ErrNoSuchGroup, in.LogGroup)
	}
	limit := in.Limit
	if limit <= 0 || limit > maxLimit {
		limit = maxLimit
	}
	from := pos{ts: -1 << 63}
	if in.NextToken != "" {
		_, p, err := parseToken(in.NextToken)
		if err != nil {
			return out, err
		}
		from = p
	}
	q := Query{LogGroups: []string{in.LogGroup}, LogStreams: in.LogStreamNames, StreamPrefix: in.LogStreamNamePrefix,
		Start: in.StartTime, End: in.EndTime}
	if from.ts > q.Start {
		q.Start = from.ts
	}
	var pc posCounter
	err := s.merge(ctx, q, func(e *Event) error {
		p := pc.next(e.Timestamp)
		if p.before(from) || (in.Match != nil && !in.Match(e)) {
			return nil
		}
		if len(out.Events) == limit {
			out.NextToken = p.token('f')
			return Stop
		}
		out.Events = append(out.Events, *e)
		return nil
	})
	return out, err
}

// merge calls fn for the events selected by q across streams, interleaved
// in timestamp order (ties: stream name order, then append order).
func (s *Store) merge(ctx context.Context, q Query, fn func(*Event) error) error {
	streams, err := s.selectStreams(q)
	if err != nil {
		return err
	}
	h := &cursorHeap{}
	for i := range streams {
		c := s.newCursor(&streams[i])
		e, err := c.next()
		if err != nil {
			return err
		}
		if e != nil {
			heap.Push(h, &mergeItem{c: c, e: e, order: i})
		}
	}
	n := 0
	for h.Len() > 0 {
		it := (*h)[0]
		if q.inRange(it.e.Timestamp) {
			if err := fn(it.e); err != nil {
				if err == Stop {
					return nil
				}
				return err
			}
		}
		e, err := it.c.next()
		if err != nil {
			return err
		}
		if e == nil {
			heap.Pop(h)
		} else {
			it.e = e
			heap.Fix(h, 0)
		}
		if n++; n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

type mergeItem struct {
	c     *cursor
	e     *Event
	order int
}

type cursorHeap []*mergeItem

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	if h[i].e.Timestamp != h[j].e.Timestamp {
		return h[i].e.Timestamp < h[j].e.Timestamp
	}
	return h[i].order < h[j].order
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*mergeItem)) }
func (h *cursorHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// ScanMerged is Scan with the selected streams' events interleaved in
// timestamp order (as FilterLogEvents and Logs Insights see them).
func (s *Store) ScanMerged(ctx context.Context, q Query, fn func(*Event) error) error {
	return s.merge(ctx, q, fn)
}

// Subscription receives events as they are appended (after they are
// durable). C delivers one slice per Append holding the matching events;
// the slices are the subscriber's to keep. A subscriber that does not keep
// up slows Append down (nothing is dropped); Close the subscription to
// stop. C is closed when the store closes.
type Subscription struct {
	C    <-chan []Event
	c    chan []Event
	q    Query
	s    *Store
	done chan struct{}
	once sync.Once
}

// Subscribe registers a live subscription for events matching q (its time
// range is ignored). buffer is the channel capacity in batches (default 256).
func (s *Store) Subscribe(q Query, buffer int) *Subscription {
	if buffer <= 0 {
		buffer = 256
	}
	c := make(chan []Event, buffer)
	sub := &Subscription{C: c, c: c, q: Query{LogGroups: q.LogGroups, LogStreams: q.LogStreams, StreamPrefix: q.StreamPrefix},
		s: s, done: make(chan struct{})}
	s.smu.Lock()
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		close(sub.done)
		close(c)
	} else {
		s.subs[sub] = struct{}{}
	}
	s.smu.Unlock()
	return sub
}

// Close ends the subscription. It is safe to call more than once.
func (sub *Subscription) Close() {
	sub.once.Do(func() { close(sub.done) })
	sub.s.smu.Lock()
	delete(sub.s.subs, sub)
	sub.s.smu.Unlock()
}

// closeLocked is called by Store.Close with wmu and smu held: no publisher
// can be sending, so closing C is safe.
func (sub *Subscription) closeLocked() {
	sub.once.Do(func() { close(sub.done) })
	close(sub.c)
}

// publish hands appended events to subscribers. Called with wmu held.
func (s *Store) publish(events []Event) {
	s.smu.Lock()
	if len(s.subs) == 0 {
		s.smu.Unlock()
		return
	}
	subs := make([]*Subscription, 0, len(s.subs))
	for sub := range s.subs {
		subs = append(subs, sub)
	}
	s.smu.Unlock()
	for _, sub := range subs {
		var sel []Event
		for i := range events {
			if sub.q.matchGroup(events[i].LogGroup) && sub.q.matchStream(events[i].LogStream) {
				sel = append(sel, events[i])
			}
		}
		if len(sel) == 0 {
			continue
		}
		select {
		case sub.c <- sel:
		case <-sub.done:
		}
	}
}
