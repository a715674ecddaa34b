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
// the stats of what was replayed before it.
func Replay(ctx context.Context, r *Reader, opts ReplayOptions) (*ReplayStats, error) {
	st := &ReplayStats{Capture: r.Stats()}
	var dp *traffic.Dataplane
	var p traffic.Packet
	var nextTick int64
	for {
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, err
		}
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
			continue // a map that mixes families; nothing can carry it
		}
		if dp == nil {
			st.First = p.Time
			var err error
			if dp, err = opts.Begin(p.Time); err != nil {
				return st, err
			}
		}
		// Captures merged from several interfaces can step back slightly;
		// the dataplane and aggregator want a clock that never goes back.
		if p.Time.Before(st.Last) {
			p.Time = st.Last
		}
		st.Last = p.Time
		if opts.Tick != nil {
			if s := p.Time.Unix(); s >= nextTick {
				if nextTick != 0 {
					if err := opts.Tick(p.Time); err != nil {
						return st, err
					}
				}
				nextTick = s + 1
			}
		}
		if _, err := dp.Process(&p); err != nil {
			return st, err
		}
		st.Packets++
		st.Bytes += int64(p.Size)
		if opts.Progress != nil && st.Packets&0xffff == 0 {
			opts.Progress(st)
		}
		if st.Packets&0xfff == 0 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
		}
	}
	if opts.Tick != nil && st.Packets > 0 {
		if err := opts.Tick(st.Last); err != nil {
			return st, err
		}
	}
	return st, nil
}
