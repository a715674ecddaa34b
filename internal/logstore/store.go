package logstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Errors.
var (
	// ErrNoSuchGroup is CloudWatch's ResourceNotFoundException for a log group.
	ErrNoSuchGroup = errors.New("logstore: the specified log group does not exist")
	// ErrNoSuchStream is ResourceNotFoundException for a log stream.
	ErrNoSuchStream = errors.New("logstore: the specified log stream does not exist")
	// ErrClosed is returned by operations on a closed store.
	ErrClosed = errors.New("logstore: store is closed")
	// ErrReadOnly is returned by writes to a store opened ReadOnly.
	ErrReadOnly = errors.New("logstore: store is open read-only")
	// ErrBadToken is returned for a malformed pagination token.
	ErrBadToken = errors.New("logstore: invalid pagination token")
	// Stop, returned by a Scan callback, ends the scan early without error.
	Stop = errors.New("logstore: stop scan")
)

// blockRef locates one block of one stream.
type blockRef struct {
	seg          int
	off          int64
	length       int32
	count        int32
	minTs, maxTs int64
	seq          uint64 // global append order, breaks timestamp ties
}

type streamIndex struct {
	group, name     string
	created         int64 // ingestion time of the first event, ms
	firstTs, lastTs int64
	lastIngest      int64
	bytes           int64
	events          int64
	blocks          []blockRef
}

type groupIndex struct {
	name    string
	created int64
	bytes   int64
	streams map[string]*streamIndex
}

// GroupInfo describes a log group (DescribeLogGroups).
type GroupInfo struct {
	Name         string
	CreationTime int64 // ms
	StoredBytes  int64
	Streams      int
}

// StreamInfo describes a log stream (DescribeLogStreams).
type StreamInfo struct {
	LogGroup            string
	Name                string
	CreationTime        int64 // ms
	FirstEventTimestamp int64 // ms
	LastEventTimestamp  int64 // ms
	LastIngestionTime   int64 // ms
	StoredBytes         int64
	Events              int64
}

// Store is the embedded CloudWatch-Logs-like store. It is safe for
// concurrent use: appends are serialised, reads run in parallel with them.
type Store struct {
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	metrics *metrics

	mu      sync.RWMutex // guards the index, segs and closed
	groups  map[string]*groupIndex
	segs    map[int]*os.File
	closed  bool
	seq     uint64
	wmu     sync.Mutex // serialises writers
	active  *os.File
	actN    int
	actSize int64
	buf     []byte

	smu  sync.Mutex
	subs map[*Subscription]struct{}
}

// Open opens (or creates) the store in cfg.Dir and rebuilds its index.
func Open(cfg Config, deps Deps) (*Store, error) {
	if cfg.SegmentBytes == 0 {
		cfg.SegmentBytes = DefaultConfig().SegmentBytes
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReadOnly {
		if _, err := os.Stat(cfg.Dir); err != nil {
			return nil, fmt.Errorf("logstore: %w", err)
		}
	} else if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("logstore: create %s: %w", cfg.Dir, err)
	}
	s := &Store{
		cfg: cfg, now: deps.Now, log: deps.Logger, metrics: newMetrics(deps.Registry),
		groups: map[string]*groupIndex{}, segs: map[int]*os.File{}, subs: map[*Subscription]struct{}{},
	}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// New is Open, for the Config/New(cfg, deps) component shape.
func New(cfg Config, deps Deps) (*Store, error) { return Open(cfg, deps) }

func (s *Store) load() error {
	ns, err := listSegments(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("logstore: %w", err)
	}
	for i, n := range ns {
		last := i == len(ns)-1
		flag := os.O_RDONLY
		if last && !s.cfg.ReadOnly {
			flag = os.O_RDWR
		}
		f, err := os.OpenFile(segPath(s.cfg.Dir, n), flag, 0)
		if err != nil {
			return fmt.Errorf("logstore: %w", err)
		}
		s.segs[n] = f
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("logstore: %w", err)
		}
		blocks, end, err := scanSegment(f, st.Size(), last)
		if err != nil {
			return fmt.Errorf("logstore: %w", err)
		}
		if end != st.Size() {
			if !last {
				return fmt.Errorf("%w: %s: garbage at offset %d", ErrCorrupt, f.Name(), end)
			}
			// Only the last append can be torn by a crash: a damaged
			// block with a later complete append after it is damage, and
			// truncating there would throw that sound data away.
			after, err := soundBlocksAfter(f, end, st.Size())
			if err != nil {
				return fmt.Errorf("logstore: %w", err)
			}
			if !tornAppend(blocks, after) {
				return fmt.Errorf("%w: %s: damaged block at offset %d, sound blocks follow from offset %d (not a torn write: nothing was truncated)",
					ErrCorrupt, f.Name(), end, after[0].off-frameLen)
			}
			if s.cfg.ReadOnly {
				s.log.Warn("logstore: ignoring a torn tail (read-only)", "segment", f.Name(), "offset", end, "size", st.Size())
			} else {
				s.log.Warn("logstore: truncating torn tail", "segment", f.Name(), "offset", end, "size", st.Size())
				if err := f.Truncate(end); err != nil {
					return fmt.Errorf("logstore: truncate %s: %w", f.Name(), err)
				}
				if err := f.Sync(); err != nil {
					return fmt.Errorf("logstore: %w", err)
				}
			}
		}
		for _, b := range blocks {
			if b.hdr.kind == kindDelete {
				delete(s.groups, b.hdr.group)
				continue
			}
			s.indexBlock(n, b.off, b.length, b.hdr, 0)
		}
		if last {
			s.active, s.actN, s.actSize = f, n, end
		}
	}
	s.recoverIngestTimes()
	return nil
}

// recoverIngestTimes sets the creation and last ingestion times of the
// streams and groups loaded from disk, which block headers do not hold,
// from the events of each stream's first and last block (a stream's blocks
// are in append order).
func (s *Store) recoverIngestTimes() {
	var (
		evs []Event
		buf []byte
		err error
	)
	for _, g := range s.groups {
		for _, st := range g.streams {
			if len(st.blocks) == 0 {
				continue
			}
			for _, b := range [2]blockRef{st.blocks[0], st.blocks[len(st.blocks)-1]} {
				// Blocks of sealed segments are not verified at Open: a
				// damaged one fails the queries that read it, not the
				// whole store.
				if evs, buf, err = s.readBlock(evs[:0], b, buf); err != nil {
					s.log.Warn("logstore: stream times unknown: unreadable block", "group", g.name, "stream", st.name,
						"segment", segmentName(b.seg), "offset", b.off, "err", err)
					continue
				}
				for i := range evs {
					in := evs[i].IngestionTime
					if st.created == 0 || in < st.created {
						st.created = in
					}
					st.lastIngest = max(st.lastIngest, in)
				}
			}
			if g.created == 0 || st.created < g.created {
				g.created = st.created
			}
		}
	}
}

// indexBlock adds a block to the index. Callers hold mu (or own s).
func (s *Store) indexBlock(seg int, off int64, length int32, h blockHeader, ingest int64) {
	g := s.groups[h.group]
	if g == nil {
		g = &groupIndex{name: h.group, streams: map[string]*streamIndex{}}
		s.groups[h.group] = g
	}
	st := g.streams[h.stream]
	if st == nil {
		st = &streamIndex{group: h.group, name: h.stream, firstTs: h.minTs, lastTs: h.maxTs}
		g.streams[h.stream] = st
	}
	s.seq++
	st.blocks = append(st.blocks, blockRef{seg: seg, off: off, length: length, count: int32(h.count),
		minTs: h.minTs, maxTs: h.maxTs, seq: s.seq})
	st.firstTs = min(st.firstTs, h.minTs)
	st.lastTs = max(st.lastTs, h.maxTs)
	st.bytes += int64(length)
	st.events += int64(h.count)
	g.bytes += int64(length)
	if ingest != 0 {
		st.lastIngest = max(st.lastIngest, ingest)
		if st.created == 0 {
			st.created = ingest
		}
		if g.created == 0 {
			g.created = ingest
		}
	}
}

// Append stores events durably (fsync before returning unless NoSync) and
// then hands them to matching subscriptions. Events missing a group or a
// stream are rejected; a zero IngestionTime is set from the clock. Log
// groups and streams are created on first use, as flow logs do.
func (s *Store) Append(ctx context.Context, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	if s.cfg.ReadOnly {
		return ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	nowMs := s.now().UnixMilli()
	type key struct{ g, s string }
	by := map[key][]*Event{}
	var keys []key
	for i := range events {
		e := &events[i]
		if e.LogGroup == "" || e.LogStream == "" {
			return fmt.Errorf("logstore: event %d: log group and log stream are required", i)
		}
		if e.IngestionTime == 0 {
			e.IngestionTime = nowMs
		}
		k := key{e.LogGroup, e.LogStream}
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], e)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if err := s.ensureActive(); err != nil {
		return err
	}
	buf := s.buf[:0]
	type placed struct {
		off    int64
		length int32
		h      blockHeader
		ingest int64
	}
	var pl []placed
	for i, k := range keys {
		evs := by[k]
		slices.SortStableFunc(evs, func(a, b *Event) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		start := len(buf)
		kind := byte(kindEvents)
		if i == len(keys)-1 {
			kind |= lastOfAppend
		}
		buf = appendBlock(buf, kind, k.g, k.s, evs)
		ingest := int64(0)
		for _, e := range evs {
			ingest = max(ingest, e.IngestionTime)
		}
		pl = append(pl, placed{off: s.actSize + int64(start) + frameLen, length: int32(len(buf) - start - frameLen),
			h:      blockHeader{group: k.g, stream: k.s, minTs: evs[0].Timestamp, maxTs: evs[len(evs)-1].Timestamp, count: len(evs)},
			ingest: ingest})
	}
	if _, err := s.active.WriteAt(buf, s.actSize); err != nil {
		// Leave no partial block behind: cut back to the last good offset.
		_ = s.active.Truncate(s.actSize)
		return fmt.Errorf("logstore: write %s: %w", s.active.Name(), err)
	}
	if !s.cfg.NoSync {
		if err := s.active.Sync(); err != nil {
			return fmt.Errorf("logstore: sync %s: %w", s.active.Name(), err)
		}
	}
	s.mu.Lock()
	for _, p := range pl {
		s.indexBlock(s.actN, p.off, p.length, p.h, p.ingest)
	}
	s.mu.Unlock()
	s.actSize += int64(len(buf))
	if cap(buf) <= 4<<20 {
		s.buf = buf
	} else {
		s.buf = nil
	}
	s.metrics.events.Add(float64(len(events)))
	s.metrics.bytes.Add(float64(len(buf)))
	s.publish(events)
	return nil
}

// ensureActive opens the first segment or rolls a full one. Callers hold wmu.
func (s *Store) ensureActive() error {
	if s.active != nil && s.actSize < s.cfg.SegmentBytes {
		return nil
	}
	n := s.actN + 1
	f, err := os.OpenFile(segPath(s.cfg.Dir, n), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("logstore: new segment: %w", err)
	}
	if err := syncDir(s.cfg.Dir); err != nil {
		f.Close()
		return fmt.Errorf("logstore: %w", err)
	}
	s.mu.Lock()
	s.segs[n] = f
	s.mu.Unlock()
	s.active, s.actN, s.actSize = f, n, 0
	s.metrics.segments.Inc()
	return nil
}

// DeleteLogGroup deletes a log group and its streams (DeleteLogGroup). The
// deletion is logged so that it survives a restart; the space is not
// reclaimed.
func (s *Store) DeleteLogGroup(ctx context.Context, group string) error {
	if s.cfg.ReadOnly {
		return ErrReadOnly
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	_, ok := s.groups[group]
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoSuchGroup, group)
	}
	if err := s.ensureActive(); err != nil {
		return err
	}
	buf := appendBlock(nil, kindDelete|lastOfAppend, group, "", nil)
	if _, err := s.active.WriteAt(buf, s.actSize); err != nil {
		_ = s.active.Truncate(s.actSize)
		return fmt.Errorf("logstore: write: %w", err)
	}
	if err := s.active.Sync(); err != nil {
		return fmt.Errorf("logstore: sync: %w", err)
	}
	s.actSize += int64(len(buf))
	s.mu.Lock()
	delete(s.groups, group)
	s.mu.Unlock()
	return nil
}

// LogGroups lists the log groups sorted by name.
func (s *Store) LogGroups() []GroupInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]GroupInfo, 0, len(s.groups))
	for _, g := range s.groups {
		out = append(out, GroupInfo{Name: g.name, CreationTime: g.created, StoredBytes: g.bytes, Streams: len(g.streams)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LogStreams lists the streams of a group sorted by name.
func (s *Store) LogStreams(group string) ([]StreamInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.groups[group]
	if g == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchGroup, group)
	}
	out := make([]StreamInfo, 0, len(g.streams))
	for _, st := range g.streams {
		out = append(out, st.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (st *streamIndex) info() StreamInfo {
	return StreamInfo{LogGroup: st.group, Name: st.name, CreationTime: st.created, FirstEventTimestamp: st.firstTs,
		LastEventTimestamp: st.lastTs, LastIngestionTime: st.lastIngest, StoredBytes: st.bytes, Events: st.events}
}

// selectStreams returns snapshots of the streams matching q, sorted by
// group then stream name.
func (s *Store) selectStreams(q Query) ([]streamSnap, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var groups []*groupIndex
	if len(q.LogGroups) == 0 {
		for _, g := range s.groups {
			groups = append(groups, g)
		}
	} else {
		for _, name := range q.LogGroups {
			if g := s.groups[name]; g != nil {
				groups = append(groups, g)
			}
		}
	}
	var out []streamSnap
	for _, g := range groups {
		for _, st := range g.streams {
			if !q.matchStream(st.name) {
				continue
			}
			var blocks []blockRef
			for _, b := range st.blocks {
				if q.overlaps(b.minTs, b.maxTs) {
					blocks = append(blocks, b)
				}
			}
			if len(blocks) > 0 {
				out = append(out, streamSnap{group: g.name, name: st.name, blocks: blocks})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].group != out[j].group {
			return out[i].group < out[j].group
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

func (q Query) matchStream(name string) bool {
	if q.StreamPrefix != "" && !strings.HasPrefix(name, q.StreamPrefix) {
		return false
	}
	if len(q.LogStreams) > 0 && !slices.Contains(q.LogStreams, name) {
		return false
	}
	return true
}

func (q Query) matchGroup(name string) bool {
	return len(q.LogGroups) == 0 || slices.Contains(q.LogGroups, name)
}

// overlaps reports whether [minTs, maxTs] meets [Start, End).
func (q Query) overlaps(minTs, maxTs int64) bool {
	if q.Start != 0 && maxTs < q.Start {
		return false
	}
	if q.End != 0 && minTs >= q.End {
		return false
	}
	return true
}

func (q Query) inRange(ts int64) bool {
	return (q.Start == 0 || ts >= q.Start) && (q.End == 0 || ts < q.End)
}

// Matches reports whether an event is selected by q.
func (q Query) Matches(e *Event) bool {
	return q.matchGroup(e.LogGroup) && q.matchStream(e.LogStream) && q.inRange(e.Timestamp)
}

// Scan calls fn for every event selected by q: streams in (group, stream)
// name order, each stream's events in timestamp order (ties in append
// order). The *Event is reused between calls: copy it to keep it. If fn
// returns Stop, Scan returns nil; any other error ends the scan and is
// returned. Events appended during a scan may or may not be seen.
func (s *Store) Scan(ctx context.Context, q Query, fn func(*Event) error) error {
	streams, err := s.selectStreams(q)
	if err != nil {
		return err
	}
	for i := range streams {
		c := s.newCursor(&streams[i])
		for {
			e, err := c.next()
			if err != nil {
				return err
			}
			if e == nil {
				break
			}
			if !q.inRange(e.Timestamp) {
				continue
			}
			if err := fn(e); err != nil {
				if errors.Is(err, Stop) {
					return nil
				}
				return err
			}
			if c.n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
	}
	return ctx.Err()
}

// readBlock reads and decodes one block.
func (s *Store) readBlock(dst []Event, b blockRef, buf []byte) ([]Event, []byte, error) {
	s.mu.RLock()
	f := s.segs[b.seg]
	s.mu.RUnlock()
	if f == nil {
		return dst, buf, ErrClosed
	}
	if cap(buf) < int(b.length) {
		buf = make([]byte, b.length)
	}
	buf = buf[:b.length]
	if _, err := f.ReadAt(buf, b.off); err != nil {
		return dst, buf, fmt.Errorf("logstore: read %s at %d: %w", f.Name(), b.off, err)
	}
	h, err := parseBlockHeader(buf)
	if err != nil {
		return dst, buf, err
	}
	dst, err = decodeEvents(dst, buf, h)
	return dst, buf, err
}

// Close closes the store and ends every subscription.
func (s *Store) Close() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.smu.Lock()
	for sub := range s.subs {
		sub.closeLocked()
	}
	s.subs = map[*Subscription]struct{}{}
	s.smu.Unlock()
	return s.closeFiles()
}

func (s *Store) closeFiles() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for n, f := range s.segs {
		errs = append(errs, f.Close())
		delete(s.segs, n)
	}
	return errors.Join(errs...)
}
