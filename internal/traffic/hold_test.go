package traffic

import (
	"context"
	"fmt"
	"testing"
	"time"

	"vpcflow/internal/dataplane"
)

// steadyNet delivers everything and says each delivered flow is steady
// for hold (Delivery.Until = the packet's time + hold); it keeps the
// packets and checks the held trains (those with a Span).
type steadyNet struct {
	hold    time.Duration
	packets []Packet
	// Per conversation direction (its FlowHint: two conversations may
	// share a 5-tuple), the Until and time of its last hand-over.
	until  map[*dataplane.FlowHint]int64
	last   map[*dataplane.FlowHint]time.Time
	latest time.Time // of all packets handed over so far
	// clock is the engine's: no packet may reach the network before the
	// clock reaches it (conversations run ahead of the clock, hold.go).
	clock func() time.Time
	// violations are held trains that start before their direction's
	// last hand-over, or that come after a packet (of any flow) at or
	// past the Until of that hand-over: the engine must release a train
	// before it hands over anything later than its Until.
	violations []string
}

func (n *steadyNet) Send(p Packet) (Delivery, error) {
	k := p.Hint
	if p.Span > 0 {
		first := p.Time.Add(-p.Span)
		if until := n.until[k]; n.latest.UnixNano() >= until || first.Before(n.last[k]) {
			n.violations = append(n.violations, fmt.Sprintf("%s:%d>%s:%d: train %s..%s, after a hand-over at %s valid until %s, came after a packet at %s",
				p.Src, p.SrcPort, p.Dst, p.DstPort, first.Format(time.StampMicro), p.Time.Format(time.StampMicro), n.last[k].Format(time.StampMicro),
				time.Unix(0, until).UTC().Format(time.StampMicro), n.latest.Format(time.StampMicro)))
		}
	}
	if n.clock != nil && p.Time.After(n.clock()) {
		n.violations = append(n.violations, fmt.Sprintf("%s:%d>%s:%d: packet at %s handed over at %s, ahead of the clock",
			p.Src, p.SrcPort, p.Dst, p.DstPort, p.Time.Format(time.StampMicro), n.clock().Format(time.StampMicro)))
	}
	n.packets = append(n.packets, p)
	n.until[k] = p.Time.Add(n.hold).UnixNano()
	n.last[k] = p.Time
	if p.Time.After(n.latest) {
		n.latest = p.Time
	}
	return Delivery{Delivered: true, Seen: AddressingOf(&p), Until: n.until[k]}, nil
}

func newSteadyNet(hold time.Duration) *steadyNet {
	return &steadyNet{hold: hold, until: map[*dataplane.FlowHint]int64{}, last: map[*dataplane.FlowHint]time.Time{}}
}

// flowTotals folds packets by direction: packets, bytes, ORed flags, first
// and last packet time.
type flowTotal struct {
	packets, bytes int64
	flags          uint8
	first, last    time.Time
}

func flowTotals(ps []Packet) map[string]flowTotal {
	out := map[string]flowTotal{}
	for _, p := range ps {
		k := fmt.Sprintf("%s:%d>%s:%d/%d", p.Src, p.SrcPort, p.Dst, p.DstPort, p.Protocol)
		t, ok := out[k]
		first := p.Time.Add(-p.Span)
		if !ok || first.Before(t.first) {
			t.first = first
		}
		if p.Time.After(t.last) {
			t.last = p.Time
		}
		t.packets += int64(p.Packets())
		t.bytes += p.TotalBytes()
		t.flags |= p.TCPFlags
		out[k] = t
	}
	return out
}

// holdScenario overlaps conversations (tens a second, a few milliseconds
// each) so that held trains have other flows' packets around them.
const holdScenario = `duration: 20s
workloads:
  - {name: fin, protocol: tcp, clients: [web-1], servers: [app-1], port: 5000, rate: 50/s, requests: 4, request: 3000, response: 5000}
  - {name: rst, protocol: tcp, clients: [web-1], servers: [app-1], port: 5001, rate: 20/s, requests: 2, close: rst}
  - {name: udp, protocol: udp, clients: [web-1], servers: [app-1], port: 53, rate: 20/s, request: 40, response: 200}
`

// TestHoldKeepsFlows: with coalescing, every flow direction carries the
// same packets, bytes, flags, first and last packet time as without, in
// fewer hand-overs; trains never reach past the Until of their direction's
// previous hand-over; the engine's counts are the same.
func TestHoldKeepsFlows(t *testing.T) {
	base := newRecorder(true, nil)
	be := NewEngine(loadYAML(t, holdScenario), base, Options{NoCoalesce: true})
	if err := be.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := flowTotals(base.packets)
	for _, hold := range []time.Duration{5 * time.Second, 4 * time.Millisecond} {
		t.Run(hold.String(), func(t *testing.T) {
			net := newSteadyNet(hold)
			e := NewEngine(loadYAML(t, holdScenario), net, Options{})
			net.clock = e.Now
			if err := e.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, v := range net.violations {
				t.Error(v)
			}
			got := flowTotals(net.packets)
			if len(got) != len(want) {
				t.Errorf("%d flow directions, want %d", len(got), len(want))
			}
			for k, w := range want {
				if g := got[k]; g != w {
					t.Errorf("%s: got %+v, want %+v", k, g, w)
				}
			}
			st, bst := e.Stats(), be.Stats()
			if st.Packets != bst.Packets || st.Bytes != bst.Bytes || st.Delivered != bst.Delivered || st.Conversations != bst.Conversations {
				t.Errorf("stats %+v, want the same packets, bytes, deliveries and conversations as %+v", st, bst)
			}
			if st.Held == 0 || st.HeldDropped != 0 || st.Sends > bst.Sends || hold == 5*time.Second && st.Sends*2 > bst.Sends {
				t.Errorf("held %d (dropped %d), %d hand-overs against %d without coalescing", st.Held, st.HeldDropped, st.Sends, bst.Sends)
			}
			if hold == 5*time.Second {
				// Each direction of a TCP conversation: its first packet
				// (SYN, SYN-ACK), then one train; UDP: every packet.
				var tcp, convs int64
				for _, p := range net.packets {
					if p.Protocol == ProtoTCP {
						tcp++
					}
				}
				for _, w := range st.Workloads {
					if w.Name != "udp" {
						convs += w.Conversations
					}
				}
				if tcp != 4*convs {
					t.Errorf("%d TCP hand-overs for %d TCP conversations, want four each", tcp, convs)
				}
			}
		})
	}
}

// TestHoldOff: real time and NoCoalesce hand every packet over when it is
// sent, whatever the network says.
func TestHoldOff(t *testing.T) {
	for name, opts := range map[string]Options{
		"realtime":   {Realtime: true, Speed: 1e9, Sleep: func(context.Context, time.Duration) error { return nil }},
		"NoCoalesce": {NoCoalesce: true},
	} {
		net := newSteadyNet(time.Minute)
		e := NewEngine(loadYAML(t, holdScenario), net, opts)
		if err := e.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if st := e.Stats(); st.Held != 0 || st.Sends != int64(len(net.packets)) {
			t.Errorf("%s: %d packets held, %d sends for %d packets", name, st.Held, st.Sends, len(net.packets))
		}
	}
}
