package dataplane

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFlowHintChangesNothing: a FlowHint only saves the path-cache lookup.
// Packets sent with one hint per flow and direction, with a hint shared by
// every flow (foreign to most packets), with the hints another dataplane
// set, and without hints give the same observations and results, through
// a NAT gateway, across Expire (dropped paths are reused for other flows,
// so old hints point at entries that now hold another flow) and across
// Explain (which replaces a cached path).
func TestFlowHintChangesNothing(t *testing.T) {
	topo := load(t, "testdata/nat.yaml")
	opts := Options{FlowIdleTimeout: time.Minute}
	own, shared, none, other := newDP(t, topo, opts), newDP(t, topo, opts), newDP(t, topo, opts), newDP(t, topo, opts)
	hints := map[flowKey]*FlowHint{}
	var sharedHint FlowHint
	out := func(at time.Duration) Packet { return tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x10, at) }
	back := func(at time.Duration) Packet { return tcp("203.0.113.5", "198.51.100.220", 443, 40000, 0x10, at) }
	steps := []struct {
		p       Packet
		expire  time.Duration // > 0: Expire at this offset first
		explain bool          // Explain the packet first
	}{
		{p: tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x02, 0)},
		{p: tcp("203.0.113.5", "198.51.100.220", 443, 40000, 0x12, time.Second)},
		{p: out(2 * time.Second)},
		{p: back(3 * time.Second)},
		{p: out(4 * time.Second)},
		// Unsolicited: rejected by the NAT gateway, never cached.
		{p: tcp("203.0.113.9", "198.51.100.220", 443, 40001, 0x02, 5*time.Second)},
		{p: out(6 * time.Second), explain: true},
		{p: out(7 * time.Second)},
		// Paths idle for a minute are dropped and reused by other flows.
		{expire: 2 * time.Minute, p: tcp("10.0.1.5", "203.0.113.6", 40001, 443, 0x02, 2*time.Minute+time.Second)},
		{p: tcp("10.0.1.6", "203.0.113.7", 40002, 443, 0x02, 2*time.Minute+time.Second)},
		{p: out(2*time.Minute + 2*time.Second)},
		{p: back(2*time.Minute + 3*time.Second)},
		// Everything idle, translations included.
		{expire: 20 * time.Minute, p: tcp("10.0.1.6", "203.0.113.7", 40002, 443, 0x10, 20*time.Minute)},
		{p: tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x02, 20*time.Minute+time.Second)},
		{p: back(20*time.Minute + 2*time.Second)},
		{p: out(20*time.Minute + 3*time.Second)},
	}
	taken := 0
	for i, s := range steps {
		for _, d := range []*Dataplane{own, shared, none, other} {
			if s.expire > 0 {
				d.Expire(t0.Add(s.expire))
			}
			if s.explain {
				if _, err := d.Explain(s.p); err != nil {
					t.Fatal(err)
				}
			}
		}
		k := keyOf(&s.p)
		h := hints[k]
		if h == nil {
			h = new(FlowHint)
			hints[k] = h
		}
		if h.fe != nil && h.fe.epoch == h.epoch && own.flows[k] == h.fe {
			taken++
		}
		p := s.p
		p.Hint = h
		gotOwn, resOwn := run(t, own, p)
		// The hint own just set is another dataplane's for other.
		foreign := *h
		p.Hint = &foreign
		gotOther, _ := run(t, other, p)
		if foreign.dp != other && foreign.fe != nil {
			t.Errorf("step %d: a dataplane kept another dataplane's hint", i)
		}
		p.Hint = &sharedHint
		gotShared, resShared := run(t, shared, p)
		gotNone, resNone := run(t, none, s.p)
		if diff := cmp.Diff(gotNone, gotOwn); diff != "" {
			t.Errorf("step %d: observations with per-flow hints differ (-without +with):\n%s", i, diff)
		}
		if diff := cmp.Diff(gotNone, gotOther); diff != "" {
			t.Errorf("step %d: observations with another dataplane's hint differ (-without +with):\n%s", i, diff)
		}
		if diff := cmp.Diff(gotNone, gotShared); diff != "" {
			t.Errorf("step %d: observations with a shared hint differ (-without +with):\n%s", i, diff)
		}
		if resOwn != resNone || resShared != resNone {
			t.Errorf("step %d: results %+v (per-flow hints), %+v (shared hint), %+v (none)", i, resOwn, resShared, resNone)
		}
		if fe := own.flows[k]; fe != nil && h.fe != fe {
			t.Errorf("step %d: the hint does not hold the flow's cached path", i)
		}
		// A hint must never hold a path that left the cache.
		for hk, hh := range hints {
			if hh.fe != nil && hh.fe.epoch == hh.epoch && own.flows[hk] != hh.fe {
				t.Errorf("step %d: the hint of %v matches a path that is not the flow's cached path", i, hk)
			}
		}
	}
	if taken < 5 {
		t.Errorf("hints were valid on %d packets, want at least 5", taken)
	}
}

// TestTrainBytes: a train of packets of different sizes is counted by its
// Bytes, a train of equal packets by Count × Size.
func TestTrainBytes(t *testing.T) {
	d := newDP(t, load(t, "testdata/nat.yaml"))
	p := tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x02, 0)
	p.Count, p.Size = 3, 1500
	got, _ := run(t, d, p)
	if len(got) == 0 || got[0].Packets != 3 || got[0].Bytes != 4500 {
		t.Fatalf("equal packets: %+v, want 3 packets and 4500 bytes", got)
	}
	p.Time, p.Bytes = p.Time.Add(time.Second), 2*1500+200
	got, _ = run(t, d, p)
	if len(got) == 0 || got[0].Packets != 3 || got[0].Bytes != 3200 {
		t.Fatalf("a train with Bytes: %+v, want 3 packets and 3200 bytes", got)
	}
	ex, err := d.Explain(p)
	if err != nil {
		t.Fatal(err)
	}
	if o := ex.Observations[0]; o.Packets != 3 || o.Bytes != 3200 {
		t.Errorf("Explain: %d packets, %d bytes; want 3 and 3200", o.Packets, o.Bytes)
	}
}

// TestProcessPathSameAsProcess: ProcessPath hands over, in one call per
// packet, the observations Process gives hop by hop, rejected and
// translated paths included, and the same result.
func TestProcessPathSameAsProcess(t *testing.T) {
	topo := load(t, "../vpc/testdata/three-tier.yaml")
	hop, path := newDP(t, topo), newDP(t, topo)
	for i, p := range []Packet{
		tcp("203.0.113.40", "198.51.100.20", 50000, 443, 2, 0),                      // one hop
		tcp("10.0.10.15", "10.0.20.25", 41000, 5432, 2, 0),                          // two hops
		tcp("10.0.20.25", "10.0.10.15", 5432, 41000, 0x12, time.Second),             // tracked reply
		tcp("10.0.0.30", "10.0.20.25", 41000, 5432, 2, 0),                           // rejected at the second hop
		tcp("10.0.10.15", "203.0.113.80", 42000, 443, 2, 0),                         // out through NAT: three hops
		tcp("203.0.113.80", "198.51.100.10", 443, 42000, 0x12, time.Second),         // and back
		tcp("203.0.113.12", "198.51.100.20", 40000, 22, 2, 0),                       // rejected at once
		tcp("10.0.10.15", "10.0.20.25", 41000, 5432, 0x10, 2*time.Second),           // cached path
		tcp("10.0.10.15", "10.0.20.25", 41000, 5432, 0x10, 2*time.Second+time.Hour), // after the timeouts
	} {
		want, wantRes := run(t, hop, p)
		var got []obs
		calls := 0
		res, err := path.ProcessPath(p, func(os []Observation) {
			calls++
			for i := range os {
				got = append(got, view(&os[i]))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("packet %d: observations (-ProcessPath +Process):\n%s", i, diff)
		}
		if res != wantRes {
			t.Errorf("packet %d: result %+v, want %+v", i, res, wantRes)
		}
		if calls != 1 {
			t.Errorf("packet %d: emit called %d times, want once", i, calls)
		}
	}
}

// TestSteady: a delivered packet on a cached path is steady, a rejected
// one and one the NAT gateway drops (never cached) are not; a train's Span
// reaches its observations; MinIdleTimeout is the shortest idle timeout
// (TCPClosed, 5 s, by default; a shorter NAT or path timeout wins).
func TestSteady(t *testing.T) {
	topo := load(t, "testdata/nat.yaml")
	d := newDP(t, topo)
	syn := tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x02, 0)
	if _, res := run(t, d, syn); !res.Delivered || !res.Steady {
		t.Errorf("SYN out through NAT: %+v, want delivered and steady", res)
	}
	train := tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x18, 3*time.Second)
	train.Count, train.Span = 5, 2*time.Second
	var spans []time.Duration
	res, err := d.Process(train, func(o *Observation) { spans = append(spans, o.Span) })
	if err != nil || !res.Steady {
		t.Fatalf("train: %+v, %v", res, err)
	}
	if len(spans) == 0 || spans[0] != 2*time.Second {
		t.Errorf("observation spans %v, want 2s at every hop", spans)
	}
	unsolicited := tcp("203.0.113.9", "198.51.100.220", 443, 40001, 0x02, 5*time.Second)
	if _, res := run(t, d, unsolicited); res.Delivered || res.Steady {
		t.Errorf("unsolicited inbound through NAT: %+v, want dropped and not steady", res)
	}
	if got := d.MinIdleTimeout(); got != 5*time.Second {
		t.Errorf("MinIdleTimeout() = %v, want 5s (TCPClosed)", got)
	}
	if got := newDP(t, topo, Options{NATIdleTimeout: 2 * time.Second}).MinIdleTimeout(); got != 2*time.Second {
		t.Errorf("MinIdleTimeout() with a 2 s NAT timeout = %v", got)
	}
}
