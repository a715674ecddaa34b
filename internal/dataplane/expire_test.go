package dataplane

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestExpireChangesNothing: dropping idle cached paths (and reusing their
// memory for new flows) only frees memory. The same packets give the same
// observations and results with and without Expire, through a NAT gateway
// whose translation outlives the cached path and after it has expired too.
func TestExpireChangesNothing(t *testing.T) {
	topo := load(t, "testdata/nat.yaml")
	opts := Options{FlowIdleTimeout: time.Minute}
	a, b := newDP(t, topo, opts), newDP(t, topo, opts)
	steps := []struct {
		p      Packet
		expire time.Duration // > 0: Expire at this offset first (a only)
	}{
		{p: tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x02, 0)},
		{p: tcp("203.0.113.5", "198.51.100.220", 443, 40000, 0x12, time.Second)},
		// Unsolicited: rejected by the NAT gateway, never cached.
		{p: tcp("203.0.113.9", "198.51.100.220", 443, 40001, 0x02, 2*time.Second)},
		// Paths idle for a minute are dropped; the translation (350 s) lives.
		{expire: 2 * time.Minute, p: tcp("10.0.1.5", "203.0.113.6", 40001, 443, 0x02, 2*time.Minute+time.Second)},
		{p: tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x10, 2*time.Minute+2*time.Second)},
		{p: tcp("203.0.113.5", "198.51.100.220", 443, 40000, 0x10, 2*time.Minute+3*time.Second)},
		// Everything idle, translations included.
		{expire: 20 * time.Minute, p: tcp("10.0.1.5", "203.0.113.5", 40000, 443, 0x02, 20*time.Minute+time.Second)},
		{p: tcp("203.0.113.5", "198.51.100.220", 443, 40000, 0x12, 20*time.Minute+2*time.Second)},
		{p: tcp("203.0.113.6", "198.51.100.220", 443, 40001, 0x12, 20*time.Minute+3*time.Second)},
	}
	reused := false
	for i, s := range steps {
		if s.expire > 0 {
			a.Expire(t0.Add(s.expire))
			if len(a.flows) != 0 || len(a.spare) == 0 {
				t.Fatalf("step %d: after Expire %d cached paths, %d spare; want 0 and some", i, len(a.flows), len(a.spare))
			}
		}
		spare := len(a.spare)
		gotA, resA := run(t, a, s.p)
		gotB, resB := run(t, b, s.p)
		reused = reused || len(a.spare) < spare
		if diff := cmp.Diff(gotB, gotA); diff != "" {
			t.Errorf("step %d: observations with Expire differ (-without +with):\n%s", i, diff)
		}
		if resA != resB {
			t.Errorf("step %d: result with Expire %+v, without %+v", i, resA, resB)
		}
	}
	if !reused {
		t.Error("no dropped path was reused")
	}
}
