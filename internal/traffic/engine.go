package traffic

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"

	"vpcflow/internal/vpc"
)

// Options tune a run.
type Options struct {
	// Realtime paces the simulated clock to the wall clock (times Speed)
	// instead of running as fast as the CPU allows.
	Realtime bool
	Speed    float64 // realtime multiplier; 0 means 1
	// Progress, when set, is called about every simulated minute.
	Progress func(now time.Time, st *Stats)
	// Sleep waits in realtime mode; tests may replace it. nil = time.Sleep
	// honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the wall clock that realtime mode paces against; tests may
	// replace it (with Sleep). nil = time.Now.
	Now func() time.Time
	// NoCoalesce hands every packet to the network when it is sent, as
	// realtime runs do (see hold.go); for tests and comparisons.
	NoCoalesce bool
}

// Stats counts what a run sent.
type Stats struct {
	Conversations int64
	Sends         int64 // calls to Network.Send
	Packets       int64 // packets (Sends weighted by Count)
	Bytes         int64
	Delivered     int64 // packets delivered
	Dropped       int64 // packets not delivered
	// Held counts the packets of steady flows that were held back and
	// handed over later in trains (hold.go); HeldDropped those of them the
	// network did not deliver when they were handed over, which the
	// coalescing rules exclude: it stays 0.
	Held, HeldDropped int64
	// Workloads holds the same counts per workload or incident, in
	// scenario order.
	Workloads []*WorkloadStats
}

// WorkloadStats counts one workload's traffic.
type WorkloadStats struct {
	Name          string
	Pattern       string
	Conversations int64
	Packets       int64
	Bytes         int64
	Delivered     int64
	Dropped       int64
}

// Engine runs a scenario's workloads on a simulated clock.
type Engine struct {
	sc   *Scenario
	net  Network
	opts Options

	q     eventQueue
	seq   uint64
	now   time.Time
	end   time.Time
	stats Stats
	err   error

	// cur is the actor firing; again records that it scheduled itself.
	// A conversation that did not is over (it never has more than one
	// event pending) and its memory goes to pool for the next one.
	cur   actor
	again bool
	pool  convPool

	// coalesce: steady flows' packets may be held back (hold.go).
	coalesce bool
	holds    holdHeap
}

// NewEngine prepares a run of the scenario over the network.
func NewEngine(sc *Scenario, net Network, opts Options) *Engine {
	e := &Engine{sc: sc, net: net, opts: opts, now: sc.Start, end: sc.End(), coalesce: !opts.Realtime && !opts.NoCoalesce}
	for i, w := range sc.Workloads {
		ws := &WorkloadStats{Name: w.Name, Pattern: w.Pattern}
		e.stats.Workloads = append(e.stats.Workloads, ws)
		h := fnv.New64a()
		h.Write([]byte(w.Name))
		sp := &spawner{w: w, st: ws, rng: rand.New(rand.NewPCG(sc.Seed, h.Sum64()^uint64(i)))}
		from := sc.Start.Add(w.Begin)
		sp.until = e.end
		if w.Length > 0 && from.Add(w.Length).Before(sp.until) {
			sp.until = from.Add(w.Length)
		}
		first := from
		if w.kind != convBulk {
			first = sp.nextArrival(from)
		}
		if first.Before(sp.until) {
			e.schedule(first, sp)
		}
	}
	return e
}

// Stats returns the counts so far.
func (e *Engine) Stats() *Stats { return &e.stats }

// Now is the simulated time.
func (e *Engine) Now() time.Time { return e.now }

// Run fires events in time order until the scenario ends, ctx is cancelled
// or the network fails.
func (e *Engine) Run(ctx context.Context) error {
	wallNow := e.opts.Now
	if wallNow == nil {
		wallNow = time.Now
	}
	wallStart := wallNow()
	speed := e.opts.Speed
	if speed <= 0 {
		speed = 1
	}
	sleep := e.opts.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	nextProgress := e.sc.Start.Add(time.Minute)
	start, end := e.sc.Start.UnixNano(), e.end.UnixNano()
	defer e.releaseAll() // whatever ends the run, nothing counted as sent is lost
	var n int
	for e.q.Len() > 0 {
		ev := e.q.pop()
		if ev.at >= end {
			continue
		}
		if n++; n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if e.opts.Realtime {
			due := wallStart.Add(time.Duration(float64(ev.at-start) / speed))
			if d := due.Sub(wallNow()); d > 0 {
				if err := sleep(ctx, d); err != nil {
					return err
				}
			}
		}
		e.now = time.Unix(0, ev.at).UTC()
		e.releaseDue(ev.at) // before anything at ev.at, Progress's window closing included
		if e.opts.Progress != nil && !e.now.Before(nextProgress) {
			e.opts.Progress(e.now, &e.stats)
			nextProgress = e.now.Truncate(time.Minute).Add(time.Minute)
		}
		e.cur, e.again = ev.act, false
		ev.act.fire(e)
		if e.err != nil {
			return e.err
		}
		if !e.again {
			if c, ok := ev.act.(*tcpConv); ok {
				c.releaseHeld(e) // before its memory goes to the next conversation
			}
			e.pool.put(ev.act)
		}
	}
	e.now = e.end
	e.releaseAll() // the clock has reached every held packet
	if e.opts.Progress != nil {
		e.opts.Progress(e.now, &e.stats)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (e *Engine) schedule(at time.Time, a actor) {
	if a == e.cur {
		e.again = true
	}
	e.seq++
	e.q.push(event{at: at.UnixNano(), seq: e.seq, act: a})
}

// send passes p to the network and counts it.
func (e *Engine) send(ws *WorkloadStats, p Packet) (Delivery, bool) {
	p.Time = e.now
	n := int64(p.Packets())
	d, err := e.net.Send(p)
	if err != nil {
		if e.err == nil {
			e.err = fmt.Errorf("send %s %s:%d -> %s:%d at %s: %w", protoName(p.Protocol), p.Src, p.SrcPort, p.Dst, p.DstPort, p.Time.Format(time.RFC3339), err)
		}
		return Delivery{}, false
	}
	e.stats.Sends++
	e.stats.Packets += n
	b := p.TotalBytes()
	e.stats.Bytes += b
	ws.Packets += n
	ws.Bytes += b
	if d.Delivered {
		e.stats.Delivered += n
		ws.Delivered += n
		if !d.Seen.Src.IsValid() {
			d.Seen = AddressingOf(&p)
		}
	} else {
		e.stats.Dropped += n
		ws.Dropped += n
	}
	return d, d.Delivered
}

// protoName renders a packet's protocol as rules spell it.
func protoName(p uint8) string { return vpc.ProtocolName(int16(p)) }

// actor is anything scheduled on the clock: a workload's spawner or one
// conversation.
type actor interface{ fire(e *Engine) }

type event struct {
	at  int64 // Unix ns: cheaper to compare and move than a time.Time
	seq uint64
	act actor
}

// eventQueue is a binary min-heap ordered by (at, seq): ties fire in
// scheduling order, which keeps runs deterministic.
type eventQueue struct{ h []event }

func (q *eventQueue) Len() int { return len(q.h) }

func less(a, b *event) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}

func (q *eventQueue) push(ev event) {
	q.h = append(q.h, ev)
	i := len(q.h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&q.h[i], &q.h[p]) {
			break
		}
		q.h[i], q.h[p] = q.h[p], q.h[i]
		i = p
	}
}

func (q *eventQueue) pop() event {
	top := q.h[0]
	last := len(q.h) - 1
	q.h[0] = q.h[last]
	q.h[last] = event{}
	q.h = q.h[:last]
	i := 0
	for {
		l := 2*i + 1
		if l >= len(q.h) {
			break
		}
		m := l
		if r := l + 1; r < len(q.h) && less(&q.h[r], &q.h[l]) {
			m = r
		}
		if !less(&q.h[m], &q.h[i]) {
			break
		}
		q.h[i], q.h[m] = q.h[m], q.h[i]
		i = m
	}
	return top
}

// spawner starts a workload's conversations as a Poisson process whose rate
// follows the diurnal shape.
type spawner struct {
	w     *Workload
	st    *WorkloadStats
	rng   *rand.Rand
	until time.Time
	n     int // conversations started (sequential scans use it)
}

func (s *spawner) nextArrival(t time.Time) time.Time {
	rate := float64(s.w.Rate) * s.w.Diurnal.Factor(t)
	if rate <= 0 {
		return t.Add(time.Minute)
	}
	gap := time.Duration(s.rng.ExpFloat64() / rate * float64(time.Second))
	return t.Add(max(gap, time.Microsecond))
}

func (s *spawner) fire(e *Engine) {
	e.stats.Conversations++
	s.st.Conversations++
	c := s.newConv(e)
	s.n++
	e.schedule(e.now, c)
	if s.w.kind == convBulk {
		return
	}
	if next := s.nextArrival(e.now); next.Before(s.until) {
		e.schedule(next, s)
	}
}

const (
	ephemeralLo = 32768
	ephemeralHi = 60999
)

func (s *spawner) newConv(e *Engine) actor {
	w, r := s.w, s.rng
	cli := w.Clients.pick(r)
	srv := w.Servers.pick(r)
	var port uint16
	if w.kind == convProbe {
		port = s.scanPort()
		// A scan walks the targets in order, one full port sweep each.
		if ts := w.Servers.fixed; len(ts) > 0 && len(w.Servers.ranges) == 0 {
			srv = ts[(s.n/s.portCount())%len(ts)]
		}
	} else if len(w.Ports) > 0 {
		pr := w.Ports[r.IntN(len(w.Ports))]
		port = pr.From + uint16(r.IntN(int(pr.To-pr.From)+1))
	}
	rtt := w.RTT
	if rtt == 0 {
		rtt = time.Millisecond
		if !e.sc.inside(cli) || !e.sc.inside(srv) {
			rtt = 40 * time.Millisecond
		}
	}
	base := conv{
		w: w, st: s.st, rtt: rtt,
		cli: cli, srv: srv,
		cport: uint16(ephemeralLo + r.IntN(ephemeralHi-ephemeralLo+1)), sport: port,
	}
	switch w.kind {
	case convProbe:
		open := false
		for _, o := range w.Open {
			open = open || o == port
		}
		return &probeConv{conv: base, open: open}
	case convUDP:
		c := e.pool.udp()
		*c = udpConv{conv: base, req: sizeOf(w.Request, r, 1), resp: sizeOf(w.Response, r, 0), retries: udpRetries(w)}
		return c
	case convICMP:
		return &icmpConv{conv: base, left: requests(w, r)}
	case convBulk:
		return &tcpConv{conv: base, bulk: int64(w.Bytes), bulkUntil: s.until, exchanges: 1}
	}
	n := requests(w, r)
	c := e.pool.tcp()
	req, resp := c.req, c.resp
	*c = tcpConv{conv: base, exchanges: n, rst: w.RST}
	c.req = slices.Grow(req[:0], n)[:n]
	c.resp = slices.Grow(resp[:0], n)[:n]
	for i := range n {
		c.req[i] = sizeOf(w.Request, r, 1)
		c.resp[i] = sizeOf(w.Response, r, 0)
	}
	c.think = time.Duration(r.IntN(5000)+200) * time.Microsecond
	return c
}

// convPool keeps the memory of finished conversations of the two most
// common kinds: a busy day starts millions.
type convPool struct {
	tcps freeList[tcpConv]
	udps freeList[udpConv]
	off  bool // tests: every conversation in fresh memory
}

func (p *convPool) put(a actor) {
	if p.off {
		return
	}
	switch c := a.(type) {
	case *tcpConv:
		p.tcps.put(c)
	case *udpConv:
		p.udps.put(c)
	}
}

func (p *convPool) tcp() *tcpConv { return p.tcps.get() }
func (p *convPool) udp() *udpConv { return p.udps.get() }

// maxPooled bounds each kind's pool (a burst of conversations that end
// together would otherwise keep their memory for the rest of the run).
const maxPooled = 4096

// freeList holds finished values for reuse, up to maxPooled.
type freeList[T any] []*T

func (l *freeList[T]) put(x *T) {
	if len(*l) < maxPooled {
		*l = append(*l, x)
	}
}

// get returns a kept value (as it was left) or a new one.
func (l *freeList[T]) get() *T {
	n := len(*l)
	if n == 0 {
		return new(T)
	}
	x := (*l)[n-1]
	*l = (*l)[:n-1]
	return x
}

func udpRetries(w *Workload) int {
	if w.Pattern == PatternDNSFlood {
		return 0
	}
	return 2
}

// sizeOf draws a message size, cut to maxMessage (an exp or lognormal
// draw is unbounded).
func sizeOf(d Dist, r *rand.Rand, floor int) int {
	v := int(min(d.Sample(r), maxMessage) + 0.5)
	return max(v, floor)
}

// requests draws a connection's exchanges, 1 to maxRequests: the TCP
// connection allocates the sizes of all of them up front.
func requests(w *Workload, r *rand.Rand) int {
	return max(1, int(min(w.Requests.Sample(r), maxRequests)+0.5))
}

func (s *spawner) portCount() int {
	n := 0
	for _, p := range s.w.Ports {
		n += int(p.To-p.From) + 1
	}
	return max(n, 1)
}

func (s *spawner) scanPort() uint16 {
	i := s.n % s.portCount()
	for _, p := range s.w.Ports {
		span := int(p.To-p.From) + 1
		if i < span {
			return p.From + uint16(i)
		}
		i -= span
	}
	return 0
}
