package traffic

import (
	"fmt"
	"time"
)

// Coalescing. Most of a busy day's packets are the segments and ACKs of
// established TCP connections, milliseconds apart: each went through the
// whole dataplane (path, NACLs, connection tracking) and the flow log
// service only to add to the same aggregator entries as the packet before.
// When the network says a delivered packet's flow is steady
// (Delivery.Until, from dataplane.Result.Steady), the engine holds the
// direction's next packets other than SYNs (data, ACKs, FIN, RST) back and
// hands them over as one train (Packet.Span) when Until comes, when the
// conversation sends a packet it may not hold, or when it ends. The
// records are the same: packets and bytes summed, flags ORed, start and
// end from the first and last packet, all inside the capture windows that
// Until keeps them in. None of the flow's state is left idle long enough
// to expire sooner than it would have, since Until is at most
// dataplane.Dataplane.MinIdleTimeout after the direction's last hand-over.
// A conversation whose next step would only add to held trains takes it at
// once, ahead of the clock (tcpConv.later): a busy day's connection is then
// four events instead of two dozen. Its packets keep their own times and
// reach the network only once the clock has reached them.
//
// A run with and without coalescing writes the same bytes
// (TestCoalescingKeepsOutput). Only runs as fast as the CPU allows
// coalesce: in real time, rules may change under the packets (`vpcflow
// serve`).

// heldFlow is one direction of a conversation: how long its steady
// packets may be held back, and those held so far.
type heldFlow struct {
	until int64  // Delivery.Until of the direction's last hand-over; 0: none
	train Packet // the held packets; Time is the last one's, Bytes the total
	first int64  // Unix ns of the first held packet
	pos   int    // position in the engine's heap plus one; 0: nothing held
	seq   uint64 // hold order, for ties in the heap
}

// hold starts f's held train with p; it counts p as delivered.
func (e *Engine) hold(ws *WorkloadStats, f *heldFlow, p Packet) {
	n, b := int64(p.Packets()), p.TotalBytes()
	f.train = p
	f.train.Time, f.train.Count, f.train.Bytes = e.now, int(n), b
	f.first = e.now.UnixNano()
	e.seq++
	f.seq = e.seq
	e.holds.push(f)
	e.countHeld(ws, n, b)
}

// addHeld adds n packets of b bytes with flags, sent now, to f's held
// train; it counts them as delivered.
func (e *Engine) addHeld(ws *WorkloadStats, f *heldFlow, n, b int64, flags uint8) {
	f.train.Time = e.now
	f.train.Count += int(n)
	f.train.Bytes += b
	f.train.TCPFlags |= flags
	e.countHeld(ws, n, b)
}

func (e *Engine) countHeld(ws *WorkloadStats, n, b int64) {
	e.stats.Held += n
	e.stats.Packets += n
	e.stats.Bytes += b
	e.stats.Delivered += n
	ws.Packets += n
	ws.Bytes += b
	ws.Delivered += n
}

// sendAndHold sends p now and remembers until when the direction's next
// steady packets may be held back.
func (e *Engine) sendAndHold(ws *WorkloadStats, f *heldFlow, p Packet) (Delivery, bool) {
	d, ok := e.send(ws, p)
	f.until = d.Until
	return d, ok
}

// release hands f's held packets to the network as one train.
func (e *Engine) release(f *heldFlow) {
	if f.pos == 0 {
		return
	}
	e.holds.remove(f)
	p := f.train
	p.Span = time.Duration(p.Time.UnixNano() - f.first)
	f.train = Packet{}
	d, err := e.net.Send(p)
	if err != nil {
		if e.err == nil {
			e.err = fmt.Errorf("send %d held packets %s %s:%d -> %s:%d until %s: %w", p.Count, protoName(p.Protocol),
				p.Src, p.SrcPort, p.Dst, p.DstPort, p.Time.Format(time.RFC3339), err)
		}
		f.until = 0
		return
	}
	e.stats.Sends++
	if !d.Delivered {
		e.stats.HeldDropped += int64(p.Packets())
	}
	f.until = d.Until
}

// releaseDue releases the held packets whose time is up at t (Unix ns).
func (e *Engine) releaseDue(t int64) {
	for len(e.holds.h) > 0 && e.holds.h[0].until <= t {
		e.release(e.holds.h[0])
	}
}

// releaseAll releases every held packet, earliest deadline first.
func (e *Engine) releaseAll() {
	for len(e.holds.h) > 0 {
		e.release(e.holds.h[0])
	}
}

// holdHeap is a binary min-heap of the directions holding packets, by
// (until, seq).
type holdHeap struct{ h []*heldFlow }

func holdLess(a, b *heldFlow) bool {
	if a.until != b.until {
		return a.until < b.until
	}
	return a.seq < b.seq
}

func (q *holdHeap) push(f *heldFlow) {
	q.h = append(q.h, f)
	f.pos = len(q.h)
	q.up(len(q.h) - 1)
}

func (q *holdHeap) remove(f *heldFlow) {
	i := f.pos - 1
	last := len(q.h) - 1
	if i != last {
		q.swap(i, last)
	}
	q.h[last] = nil
	q.h = q.h[:last]
	f.pos = 0
	if i < last {
		q.down(i)
		q.up(i)
	}
}

func (q *holdHeap) swap(i, j int) {
	q.h[i], q.h[j] = q.h[j], q.h[i]
	q.h[i].pos, q.h[j].pos = i+1, j+1
}

func (q *holdHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !holdLess(q.h[i], q.h[p]) {
			return
		}
		q.swap(i, p)
		i = p
	}
}

func (q *holdHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(q.h) {
			return
		}
		m := l
		if r := l + 1; r < len(q.h) && holdLess(q.h[r], q.h[l]) {
			m = r
		}
		if !holdLess(q.h[m], q.h[i]) {
			return
		}
		q.swap(i, m)
		i = m
	}
}
