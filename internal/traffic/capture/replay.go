package capture

import (
	"context"
	"io"
	"net/netip"
	"time"

	"vpcflow/internal/traffic"
)

// ReplayOptions tune Replay.
type ReplayOptions struct {
	// Begin is called with the first packet's time before it is replayed
	// and returns the network to replay into (so that flow logs can be
	// created on the capture's clock). Required.
	Begin func(first time.Time) (*traffic.Dataplane, error)
	// Map rewrites capture addresses to topology addresses (typically an
	// interface's primary private IP), for captures taken where the
	// addresses differ from the modelled VPC.
	Map map[netip.Addr]netip.Addr
	// Tick is called with the capture clock each time it passes a whole
	// second (and once at the end), so that flow log windows can close.
	Tick func(now time.Time) error
	// Progress is called every 65536 packets.
	Progress func(st *ReplayStats)
}

// ReplayStats counts a replay.
type ReplayStats struct {
	Packets     int64 // packets offered to the dataplane
	Bytes       int64
	Mapped      int64 // packets with at least one address rewritten
	First, Last time.Time
	Capture     *Stats
}

// Replay reads every packet of r and sends it through the dataplane on the
// capture's own clock. On a read error it stops and returns the error with
// the stats of what was replayed before it. The packets are read and
// decoded ahead, on a goroutine of their own (startReadAhead); st.Capture is
// complete when Replay returns.
func Replay(ctx context.Context, r *Reader, opts ReplayOptions) (*ReplayStats, error) {
	rp := &replayer{ctx: ctx, opts: &opts, st: &ReplayStats{Capture: r.Stats()}}
	a := startReadAhead(r)
	defer a.stop() // before the caller reads st.Capture, which a's goroutine writes
	for {
		b := <-a.full
		for i := range b.pkts {
			if err := rp.replay(&b.pkts[i]); err != nil {
				return rp.st, err
			}
		}
		if b.err == io.EOF {
			break
		}
		if b.err != nil {
			return rp.st, b.err
		}
		a.free <- b
	}
	if opts.Tick != nil && rp.st.Packets > 0 {
		if err := opts.Tick(rp.st.Last); err != nil {
			return rp.st, err
		}
	}
	return rp.st, nil
}

// replayer is one Replay's state.
type replayer struct {
	ctx      context.Context
	opts     *ReplayOptions
	st       *ReplayStats
	dp       *traffic.Dataplane // made by opts.Begin on the first packet
	nextTick int64              // unix second of the next Tick
}

// replay sends p through the dataplane.
func (rp *replayer) replay(p *traffic.Packet) error {
	st, opts := rp.st, rp.opts
	if len(opts.Map) > 0 {
		m := false
		if a, ok := opts.Map[p.Src]; ok {
			p.Src, m = a, true
		}
		if a, ok := opts.Map[p.Dst]; ok {
			p.Dst, m = a, true
		}
		if m {
			st.Mapped++
		}
	}
	if p.Src.Is4() != p.Dst.Is4() {
		return nil // a map that mixes families; nothing can carry it
	}
	if rp.dp == nil {
		st.First = p.Time
		var err error
		if rp.dp, err = opts.Begin(p.Time); err != nil {
			return err
		}
	}
	// Captures merged from several interfaces can step back slightly;
	// the dataplane and aggregator want a clock that never goes back.
	if p.Time.Before(st.Last) {
		p.Time = st.Last
	}
	st.Last = p.Time
	if opts.Tick != nil {
		if s := p.Time.Unix(); s >= rp.nextTick {
			if rp.nextTick != 0 {
				if err := opts.Tick(p.Time); err != nil {
					return err
				}
			}
			rp.nextTick = s + 1
		}
	}
	if _, err := rp.dp.Process(p); err != nil {
		return err
	}
	st.Packets++
	st.Bytes += int64(p.Size)
	if opts.Progress != nil && st.Packets&0xffff == 0 {
		opts.Progress(st)
	}
	if st.Packets&0xfff == 0 {
		return rp.ctx.Err()
	}
	return nil
}

// Read-ahead sizes: batches of decoded packets in flight.
const (
	aheadBatch   = 256
	aheadBatches = 8
)

// readAhead reads and decodes r's packets on a goroutine of its own, in
// batches, so that the replaying goroutine spends its time in the
// dataplane (reading and decoding were about a tenth of it). Batches come
// in order on full and go back on free; the last one carries the error
// that ended the reading (io.EOF at the end of the file).
type readAhead struct {
	full, free chan *packetBatch
	quit, done chan struct{}
}

type packetBatch struct {
	pkts []traffic.Packet
	err  error // after pkts
}

func startReadAhead(r *Reader) *readAhead {
	a := &readAhead{
		full: make(chan *packetBatch, aheadBatches),
		free: make(chan *packetBatch, aheadBatches),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range aheadBatches {
		a.free <- &packetBatch{pkts: make([]traffic.Packet, 0, aheadBatch)}
	}
	go a.run(r)
	return a
}

func (a *readAhead) run(r *Reader) {
	defer close(a.done)
	for {
		var b *packetBatch
		select {
		case b = <-a.free:
		case <-a.quit:
			return
		}
		b.pkts = b.pkts[:cap(b.pkts)]
		n := 0
		for ; n < len(b.pkts); n++ {
			if b.err = r.Next(&b.pkts[n]); b.err != nil {
				break
			}
		}
		b.pkts = b.pkts[:n]
		a.full <- b // never blocks: aheadBatches batches in all
		if b.err != nil {
			return
		}
	}
}

// stop ends the reading and waits for the goroutine to be done with r.
func (a *readAhead) stop() {
	close(a.quit)
	<-a.done
}
