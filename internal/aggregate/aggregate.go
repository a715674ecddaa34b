// Package aggregate turns Observations into flow log records the way AWS
// does (spec §3, §10.2): per flow log and per interface, capture windows of
// the flow log's MaxAggregationInterval (at most 60 s on Nitro interfaces)
// that start with the interface's first packet and follow each other without
// gaps, one record per key and window with summed packets and bytes, OR-ed
// tcp-flags and first/last packet times, the TrafficType filter, NODATA
// records for windows without traffic and a SKIPDATA record when an
// interface's bounded flow table overflowed.
//
// The aggregator has no clock of its own: Add takes observations, Advance
// closes the windows that are due at the given (simulated or real) time and
// Flush closes everything. Identical input gives identical output.
package aggregate

import (
	"bytes"
	"cmp"
	"container/heap"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"vpcflow/internal/flow"
)

// Annotate is the hook for the vpcflow extension fields (issue 7: the
// deciding layer and rule, from first.Decision; DecisionFields). It is
// called for every OK record at emission with the first observation of the
// flow in the window, and only by aggregators whose format has an extension
// field: other flow logs pay nothing. Fields it sets that the format lacks
// are cleared.
type Annotate func(r *flow.Record, first *Observation)

// Deps are the aggregator's dependencies.
type Deps struct {
	Logger *slog.Logger
	// Metrics may be shared by several aggregators; nil creates private,
	// unregistered metrics.
	Metrics  *Metrics
	Annotate Annotate
}

// Stats are cumulative counters, for tests and benchmarks.
type Stats struct {
	Observations int64 // observations given to Add
	Filtered     int64 // left out by TrafficType
	Skipped      int64 // dropped on flow table overflow
	Records      int64 // OK records emitted
	NoData       int64 // NODATA records emitted
	SkipData     int64 // SKIPDATA records emitted
}

// flowKey is the aggregation key inside one interface's window (spec §3,
// inferred): direction, protocol, packet-level addresses, ports, action.
// It is 40 bytes of plain memory (addresses as 16 bytes, IPv4 mapped, no
// padding), so the map hashes and compares it with memhash/memequal. The
// padding is a named field: a blank one would make the compiler generate
// field-wise hash and equality.
type flowKey struct {
	src, dst     [16]byte
	sport, dport uint16
	proto        uint8
	dir          flow.Direction
	action       flow.Action
	pad          uint8 // always zero
}

func (k *flowKey) srcAddr() netip.Addr { return netip.AddrFrom16(k.src).Unmap() }
func (k *flowKey) dstAddr() netip.Addr { return netip.AddrFrom16(k.dst).Unmap() }

// entry is one flow of a window. It keeps of the flow's first observation
// only what its record needs: a whole Observation (about 300 bytes, a dozen
// pointers) per flow made the flow table the biggest thing on the heap.
type entry struct {
	key         flowKey
	first, last int64 // Unix ns of the first and last packet
	packets     int64
	bytes       int64
	flags       uint8 // OR of flow.TCPFlagsAWS
	trafficPath uint8
	// srcAddr and dstAddr are the interface-level addresses.
	srcAddr, dstAddr netip.Addr
	srcSvc, dstSvc   string
	// obs is a copy of the first observation, kept only for Annotate.
	obs *Observation
}

// entryChunk is the number of entries in a full chunk of an entries store.
const entryChunk = 256

// entries is an append-only store of flow entries in fixed-size chunks: a
// window with many flows grows without copying the entries it already has
// (an entry holds a whole Observation, and a doubling slice copied them
// about twice over). Only the first chunk grows by append, up to entryChunk.
type entries struct {
	chunks [][]entry
	n      int
}

func (s *entries) len() int { return s.n }

func (s *entries) at(i int32) *entry { return &s.chunks[i/entryChunk][i%entryChunk] }

func (s *entries) push(e entry) {
	c := s.n / entryChunk
	switch {
	case c < len(s.chunks):
		s.chunks[c] = append(s.chunks[c], e)
	case c == 0:
		s.chunks = append(s.chunks, append([]entry(nil), e))
	default:
		s.chunks = append(s.chunks, append(make([]entry, 0, entryChunk), e))
	}
	s.n++
}

// reset empties the store and clears its entries, keeping the chunks.
func (s *entries) reset() {
	for i, c := range s.chunks {
		clear(c)
		s.chunks[i] = c[:0]
	}
	s.n = 0
}

// eniState is one interface's current window.
type eniState struct {
	iface    *Interface
	start    int64 // window start, Unix ns
	end      int64 // window end (exclusive), Unix ns
	interval int64
	seen     bool  // any observation in the window, even filtered out
	lastSeen int64 // latest observation time in the window
	flows    map[flowKey]int32
	entries  entries
	dropped  int64 // observations dropped on overflow in this window
	heapIdx  int
}

// closedWindow is a window closed but not yet turned into records: its
// flow entries are detached from the interface and become records, in one
// exactly sized slice, when drained.
type closedWindow struct {
	iface      *Interface
	start, end int64
	entries    entries
	dropped    int64
	nodata     bool
}

func (c *closedWindow) records() int {
	n := c.entries.len()
	if c.dropped > 0 || c.nodata {
		n++
	}
	return n
}

// Aggregator aggregates the observations of one flow log. It is not safe
// for concurrent use.
type Aggregator struct {
	cfg      Config
	logger   *slog.Logger
	annotate Annotate
	m        series
	format   flow.Format
	want     uint64 // presence bits of the format's fields

	byPtr map[*Interface]*eniState
	byID  map[string]*eniState
	// byIdx is byPtr indexed by Interface.Index-1, checked against the
	// state's interface pointer: packets alternate between the interfaces
	// at both ends, so the one-entry cache below misses half the time.
	byIdx  []*eniState
	lastIf *Interface
	lastSt *eniState
	heap   eniHeap

	closed []closedWindow
	free   []entries // entry stores of drained windows, for reuse
	order  []int32

	stats    Stats
	reported Stats // part of stats already added to the metrics
	flows    int   // flows in open windows, for the gauge
}

// New creates an aggregator.
func New(cfg Config, deps Deps) (*Aggregator, error) {
	if cfg.Format.IsZero() {
		cfg.Format = flow.DefaultFormat
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return nil, err
		}
		deps.Metrics = m
	}
	a := &Aggregator{
		cfg:      cfg,
		logger:   deps.Logger,
		annotate: deps.Annotate,
		m:        deps.Metrics.series(cfg.FlowLogID),
		format:   cfg.Format,
		byPtr:    make(map[*Interface]*eniState),
		byID:     make(map[string]*eniState),
	}
	extras := false
	for _, id := range cfg.Format.Fields() {
		a.want |= 1 << id
		extras = extras || id.Info().Extension
	}
	if !extras {
		a.annotate = nil
	}
	return a, nil
}

// Config returns the aggregator's configuration.
func (a *Aggregator) Config() Config { return a.cfg }

// Stats returns the cumulative counters.
func (a *Aggregator) Stats() Stats { return a.stats }

func (a *Aggregator) intervalOf(iface *Interface) int64 {
	d := a.cfg.Interval
	if iface.Nitro && a.cfg.NitroInterval < d {
		d = a.cfg.NitroInterval
	}
	return int64(d)
}

// maxIndexed bounds byIdx: interfaces with a larger Index use the maps only.
const maxIndexed = 1 << 16

// lookup finds the state of iface, or nil.
func (a *Aggregator) lookup(iface *Interface) *eniState {
	if iface == a.lastIf {
		return a.lastSt
	}
	if i := iface.Index - 1; i >= 0 && i < len(a.byIdx) {
		if st := a.byIdx[i]; st != nil && st.iface == iface {
			a.lastIf, a.lastSt = iface, st
			return st
		}
	}
	st := a.byPtr[iface]
	if st == nil {
		st = a.byID[iface.ID]
		if st == nil {
			return nil
		}
		// Same interface, new description (topology reload).
		delete(a.byPtr, st.iface)
		st.iface = iface
		a.byPtr[iface] = st
	}
	a.index(st)
	a.lastIf, a.lastSt = iface, st
	return st
}

// index records st in byIdx under its interface's Index, if it has one.
func (a *Aggregator) index(st *eniState) {
	i := st.iface.Index - 1
	if i < 0 || i >= maxIndexed {
		return
	}
	if i >= len(a.byIdx) {
		a.byIdx = append(a.byIdx, make([]*eniState, i+1-len(a.byIdx))...)
	}
	a.byIdx[i] = st
}

func (a *Aggregator) open(iface *Interface, t int64) *eniState {
	iv := a.intervalOf(iface)
	st := &eniState{
		iface:    iface,
		start:    t,
		end:      t + iv,
		interval: iv,
		flows:    make(map[flowKey]int32),
	}
	a.byPtr[iface] = st
	a.byID[iface.ID] = st
	a.index(st)
	heap.Push(&a.heap, st)
	a.lastIf, a.lastSt = iface, st
	return st
}

// Track makes iface in scope from now on: its windows start now and a window
// without traffic gives a NODATA record. Interfaces that are not tracked
// start their first window with their first packet.
func (a *Aggregator) Track(iface *Interface, now time.Time) {
	if a.lookup(iface) != nil {
		return
	}
	a.open(iface, now.UnixNano())
}

// Remove takes the interface out of scope: its current window is closed as
// it is (records for its traffic, no NODATA for the partial window) and it
// gets no more records until it is tracked again or sends traffic.
func (a *Aggregator) Remove(id string) {
	st := a.byID[id]
	if st == nil {
		return
	}
	a.closePartial(st)
	a.forget(st)
	heap.Remove(&a.heap, st.heapIdx)
}

func (a *Aggregator) forget(st *eniState) {
	delete(a.byID, st.iface.ID)
	delete(a.byPtr, st.iface)
	for p, s := range a.byPtr {
		if s == st {
			delete(a.byPtr, p)
		}
	}
	for i, s := range a.byIdx {
		if s == st {
			a.byIdx[i] = nil
		}
	}
	if a.lastSt == st {
		a.lastIf, a.lastSt = nil, nil
	}
}

// Add aggregates one observation and returns the end (Unix ns) of the
// window that counted it. Observations of an interface should come in time
// order; one older than the interface's current window is counted in the
// current window. An observation at or after the end of the interface's
// window first closes that window (as Advance would). An observation with
// a Span stands for packets seen from Time-Span to Time, all in one
// window: the sender's to ensure (the returned end tells it where the
// window ends).
func (a *Aggregator) Add(obs *Observation) (windowEnd int64) {
	t := obs.Time.UnixNano()
	st := a.lookup(obs.Interface)
	if st == nil {
		st = a.open(obs.Interface, t)
	} else if t >= st.end {
		a.rollTo(st, t)
		heap.Fix(&a.heap, st.heapIdx)
	}
	a.add(st, obs, t)
	return st.end
}

func (a *Aggregator) add(st *eniState, obs *Observation, t int64) {
	first := t - int64(obs.Span)
	a.stats.Observations++
	st.seen = true
	if t > st.lastSeen {
		st.lastSeen = t
	}
	if !a.cfg.TrafficType.keeps(obs.Action) {
		a.stats.Filtered++
		return
	}
	k := flowKey{
		src:    pktAddr(obs.PktSrcAddr, obs.SrcAddr).As16(),
		dst:    pktAddr(obs.PktDstAddr, obs.DstAddr).As16(),
		sport:  obs.SrcPort,
		dport:  obs.DstPort,
		proto:  obs.Protocol,
		dir:    obs.Direction,
		action: obs.Action,
	}
	i, ok := a.find(st, k, obs.Slot)
	if ok {
		e := st.entries.at(i)
		if first < e.first {
			e.first = first
		}
		if t > e.last {
			e.last = t
		}
		e.packets += obs.Packets
		e.bytes += obs.Bytes
		e.flags |= flow.TCPFlagsAWS(obs.TCPFlags)
		return
	}
	if st.entries.len() >= a.cfg.MaxFlowsPerInterface {
		st.dropped++
		a.stats.Skipped++
		a.m.skippedPkts.Add(float64(obs.Packets))
		return
	}
	st.flows[k] = int32(st.entries.len())
	if obs.Slot != nil {
		*obs.Slot = uint32(st.entries.len()) + 1
	}
	e := entry{
		key:         k,
		first:       first,
		last:        t,
		packets:     obs.Packets,
		bytes:       obs.Bytes,
		flags:       flow.TCPFlagsAWS(obs.TCPFlags),
		trafficPath: obs.TrafficPath,
		srcAddr:     obs.SrcAddr,
		dstAddr:     obs.DstAddr,
		srcSvc:      obs.PktSrcAWSService,
		dstSvc:      obs.PktDstAWSService,
	}
	if a.annotate != nil {
		e.obs = new(Observation)
		*e.obs = *obs
		e.obs.Slot = nil
	}
	st.entries.push(e)
	a.flows++
}

// find returns the index of k's entry in st's window. slot, when not nil,
// is the hint Add left with the observation's flow (index + 1): it is
// taken when the entry there has the key, which saves the map lookup on
// most packets (an entry's key is unique in its window).
func (a *Aggregator) find(st *eniState, k flowKey, slot *uint32) (int32, bool) {
	if slot != nil {
		if h := int(*slot) - 1; h >= 0 && h < st.entries.len() && st.entries.at(int32(h)).key == k {
			return int32(h), true
		}
	}
	i, ok := st.flows[k]
	if ok && slot != nil {
		*slot = uint32(i) + 1
	}
	return i, ok
}

// Advance closes every window that ends at or before now and returns the
// records of the closed windows, ordered by window end, interface id, first
// packet time and key. The slice is the caller's.
func (a *Aggregator) Advance(now time.Time) []flow.Record {
	return a.AppendAdvance(nil, now)
}

// AppendAdvance is Advance that appends the records to dst, so that a
// caller done with the records of the last call can reuse their memory.
func (a *Aggregator) AppendAdvance(dst []flow.Record, now time.Time) []flow.Record {
	n := now.UnixNano()
	for len(a.heap) > 0 && a.heap[0].end <= n {
		st := a.heap[0]
		a.rollTo(st, n)
		heap.Fix(&a.heap, 0)
	}
	return a.drain(dst)
}

// Flush closes every open window as it is (windows without traffic give no
// NODATA record since they did not complete) and returns the records. The
// aggregator is empty afterwards: interfaces must be tracked again.
func (a *Aggregator) Flush() []flow.Record {
	for _, st := range a.heap {
		a.closePartial(st)
	}
	a.heap = a.heap[:0]
	clear(a.byPtr)
	clear(a.byID)
	clear(a.byIdx)
	a.lastIf, a.lastSt = nil, nil
	return a.drain(nil)
}

// NextDeadline is the end of the earliest open window, or the zero time.
func (a *Aggregator) NextDeadline() time.Time {
	if len(a.heap) == 0 {
		return time.Time{}
	}
	return time.Unix(0, a.heap[0].end).UTC()
}

// rollTo closes the windows of st that end at or before t; windows follow
// each other without gaps.
func (a *Aggregator) rollTo(st *eniState, t int64) {
	for st.end <= t {
		a.closeWindow(st, st.end, true)
		st.start = st.end
		st.end += st.interval
	}
}

func (a *Aggregator) closePartial(st *eniState) {
	if !st.seen {
		return
	}
	end := st.lastSeen
	if end < st.start {
		end = st.start
	}
	a.closeWindow(st, end, false)
}

// closeWindow closes st's window, which ends at end: its flow entries are
// set aside to become records at the next drain and the flow table is
// reset. A complete window without traffic gives NODATA.
func (a *Aggregator) closeWindow(st *eniState, end int64, complete bool) {
	c := closedWindow{iface: st.iface, start: st.start, end: end, dropped: st.dropped}
	switch {
	case st.entries.len() > 0 || st.dropped > 0:
		c.entries = st.entries
		if n := len(a.free); n > 0 {
			st.entries = a.free[n-1]
			a.free = a.free[:n-1]
		} else {
			st.entries = entries{}
		}
		a.closed = append(a.closed, c)
		if st.dropped > 0 {
			a.logger.Warn("flow table full: flows skipped",
				"flow_log_id", a.cfg.FlowLogID, "eni", st.iface.ID,
				"skipped_observations", st.dropped, "max_flows", a.cfg.MaxFlowsPerInterface)
		}
		a.flows -= c.entries.len()
	case !st.seen && complete:
		c.nodata = true
		a.closed = append(a.closed, c)
	}
	clear(st.flows)
	st.dropped = 0
	st.seen = false
	st.lastSeen = 0
}

func compareEntries(x, y *entry) int {
	if c := cmp.Compare(x.first, y.first); c != 0 {
		return c
	}
	a, b := &x.key, &y.key
	if c := cmp.Compare(a.dir, b.dir); c != 0 {
		return c
	}
	if c := cmp.Compare(a.proto, b.proto); c != 0 {
		return c
	}
	if c := bytes.Compare(a.src[:], b.src[:]); c != 0 {
		return c
	}
	if c := bytes.Compare(a.dst[:], b.dst[:]); c != 0 {
		return c
	}
	if c := cmp.Compare(a.sport, b.sport); c != 0 {
		return c
	}
	if c := cmp.Compare(a.dport, b.dport); c != 0 {
		return c
	}
	return cmp.Compare(a.action, b.action)
}

// drain appends the pending records to dst in deterministic order and
// updates the metrics.
func (a *Aggregator) drain(dst []flow.Record) []flow.Record {
	if len(a.closed) == 0 {
		a.publishMetrics()
		return dst
	}
	slices.SortStableFunc(a.closed, func(x, y closedWindow) int {
		if c := cmp.Compare(x.end, y.end); c != 0 {
			return c
		}
		return cmp.Compare(x.iface.ID, y.iface.ID)
	})
	n := 0
	for i := range a.closed {
		n += a.closed[i].records()
	}
	start, reused := len(dst), max(cap(dst)-len(dst), 0)
	dst = slices.Grow(dst, n)[:start+n]
	res := dst[start:]
	// The fills set only the fields they have, so the records must start
	// zero. Memory past the old capacity is (Grow makes it); the reused
	// part, even in a grown copy (Grow copies past len), holds earlier
	// records. Clearing only that part matters on a replay's one big
	// window: a clear is one non-preemptible call, and a first touch of
	// tens of megabytes in it kept the GC spinning to stop this goroutine.
	clear(res[:min(reused, n)])
	i := 0
	for k := range a.closed {
		c := &a.closed[k]
		if c.nodata {
			a.fillStatus(&res[i], c.iface, flow.StatusNoData, c.start, c.end)
			i++
			continue
		}
		order := a.order[:0]
		for j := range c.entries.len() {
			order = append(order, int32(j))
		}
		slices.SortFunc(order, func(x, y int32) int { return compareEntries(c.entries.at(x), c.entries.at(y)) })
		a.order = order
		for _, j := range order {
			a.fillOK(&res[i], c.iface, c.entries.at(j))
			i++
		}
		if c.dropped > 0 {
			a.fillStatus(&res[i], c.iface, flow.StatusSkipData, c.start, c.end)
			i++
		}
		if c.entries.chunks != nil {
			c.entries.reset() // drop references held by the copied observations
			a.free = append(a.free, c.entries)
		}
		*c = closedWindow{}
	}
	a.closed = a.closed[:0]
	a.publishMetrics()
	return dst
}

func (a *Aggregator) publishMetrics() {
	s, r := a.stats, a.reported
	if d := s.Observations - r.Observations; d > 0 {
		a.m.observations.Add(float64(d))
	}
	if d := s.Filtered - r.Filtered; d > 0 {
		a.m.filtered.Add(float64(d))
	}
	if d := s.Skipped - r.Skipped; d > 0 {
		a.m.skipped.Add(float64(d))
	}
	if d := s.Records - r.Records; d > 0 {
		a.m.ok.Add(float64(d))
	}
	if d := s.NoData - r.NoData; d > 0 {
		a.m.nodata.Add(float64(d))
	}
	if d := s.SkipData - r.SkipData; d > 0 {
		a.m.skipdata.Add(float64(d))
	}
	a.reported = s
	a.m.interfaces.Set(float64(len(a.heap)))
	a.m.flows.Set(float64(a.flows))
}

// eniHeap orders interfaces by window end, then id.
type eniHeap []*eniState

func (h eniHeap) Len() int { return len(h) }
func (h eniHeap) Less(i, j int) bool {
	if h[i].end != h[j].end {
		return h[i].end < h[j].end
	}
	return h[i].iface.ID < h[j].iface.ID
}
func (h eniHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx = i
	h[j].heapIdx = j
}
func (h *eniHeap) Push(x any) {
	st := x.(*eniState)
	st.heapIdx = len(*h)
	*h = append(*h, st)
}
func (h *eniHeap) Pop() any {
	old := *h
	st := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	st.heapIdx = -1
	return st
}
