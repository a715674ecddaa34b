package troubleshoot

import (
	"fmt"
	"net/netip"
	"testing"

	"vpcflow/internal/flow"
)

// syntheticRecords makes n default-format records: request/response pairs
// between 1,000 clients and 50 servers on 4 ports, one in 20 rejected.
func syntheticRecords(n int) []flow.Record {
	recs := make([]flow.Record, 0, n)
	ports := []int32{443, 22, 5432, 8080}
	for i := 0; len(recs) < n; i++ {
		client := netip.AddrFrom4([4]byte{203, 0, byte(i % 1000 / 250), byte(i % 250)})
		server := netip.AddrFrom4([4]byte{10, 0, 1, byte(i % 50)})
		eni := fmt.Sprintf("eni-%017d", i%50)
		port := ports[i%len(ports)]
		cport := int32(32768 + i%20000)
		t := int64(1_700_000_000 + i/100)
		mk := func(src, dst netip.Addr, sp, dp int32, act flow.Action) flow.Record {
			var r flow.Record
			r.SetInt(flow.FieldVersion, 2)
			r.SetString(flow.FieldAccountID, "123456789012")
			r.SetString(flow.FieldInterfaceID, eni)
			r.SetAddr(flow.FieldSrcAddr, src)
			r.SetAddr(flow.FieldDstAddr, dst)
			r.SetInt(flow.FieldSrcPort, int64(sp))
			r.SetInt(flow.FieldDstPort, int64(dp))
			r.SetInt(flow.FieldProtocol, 6)
			r.SetInt(flow.FieldPackets, 10)
			r.SetInt(flow.FieldBytes, 4000)
			r.SetInt(flow.FieldStart, t)
			r.SetInt(flow.FieldEnd, t+60)
			r.SetAction(act)
			r.SetLogStatus(flow.StatusOK)
			return r
		}
		if i%20 == 0 {
			recs = append(recs, mk(client, server, cport, port, flow.ActionReject))
			continue
		}
		recs = append(recs, mk(client, server, cport, port, flow.ActionAccept), mk(server, client, port, cport, flow.ActionAccept))
	}
	return recs[:n]
}

func BenchmarkDiagnose(b *testing.B) {
	for _, n := range []int{10_000, 200_000} {
		recs := syntheticRecords(n)
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Diagnose(recs, Options{})
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
