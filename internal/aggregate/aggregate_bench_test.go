package aggregate

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"vpcflow/internal/flow"
)

// BenchmarkAdd measures observations aggregated per second on one core,
// records emitted included. Observations cycle over interfaces×flows keys;
// simulated time advances so that each flow gets perWindow observations per
// 60 s window, and Advance runs every 4096 observations, so windows roll and
// records are emitted as in a simulation. perWindow=1 is the worst case: one
// record per observation.
func BenchmarkAdd(b *testing.B) {
	for _, bc := range []struct {
		enis, flows, perWindow int
	}{
		{1, 1, 100000},
		{1, 1000, 1000},
		{100, 100, 100},
		{100, 100, 10},
		{1000, 100, 1},
	} {
		b.Run(fmt.Sprintf("case=enis%d_flows%d_obsPerFlowWindow%d", bc.enis, bc.flows, bc.perWindow), func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.Interval = 60 * time.Second
			a, err := New(cfg, Deps{})
			if err != nil {
				b.Fatal(err)
			}
			enis := make([]*Interface, bc.enis)
			for i := range enis {
				enis[i] = &Interface{ID: fmt.Sprintf("eni-%017x", i), AccountID: "123456789012", VPCID: "vpc-1", SubnetID: "subnet-1"}
			}
			obs := make([]Observation, bc.enis*bc.flows)
			for i := range obs {
				e := enis[i%bc.enis]
				f := i / bc.enis
				src := netip.AddrFrom4([4]byte{10, 0, byte(f >> 8), byte(f)})
				dst := netip.AddrFrom4([4]byte{10, 1, 0, 1})
				obs[i] = Observation{
					Interface: e, Direction: flow.Direction(f & 1), Action: flow.ActionAccept, Protocol: 6,
					SrcPort: uint16(1024 + f), DstPort: 443,
					SrcAddr: src, DstAddr: dst, PktSrcAddr: src, PktDstAddr: dst,
					Packets: 1, Bytes: 1500, TCPFlags: 0x10,
				}
			}
			t0 := time.Unix(1_700_000_000, 0)
			now := t0
			step := 60 * time.Second / time.Duration(len(obs)*bc.perWindow)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				o := &obs[i%len(obs)]
				o.Time = now
				a.Add(o)
				i++
				now = now.Add(step)
				if i&4095 == 0 {
					a.Advance(now)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "obs/s")
		})
	}
}
