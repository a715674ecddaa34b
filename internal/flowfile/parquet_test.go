package flowfile

import (
	"net/netip"
	"testing"

	"vpcflow/internal/flow"
)

type countingSink struct{ n int64 }

func (c *countingSink) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestParquetEstimatedSize: after Flush, EstimatedSize is an upper bound of
// the size the object has once closed, and a close one (the S3 destination
// rolls objects at 75 MB by it).
func TestParquetEstimatedSize(t *testing.T) {
	for _, groups := range []int{1, 10, 100} {
		sink := &countingSink{}
		pw, err := NewParquetWriter(sink, flow.DefaultFormat)
		if err != nil {
			t.Fatal(err)
		}
		var r flow.Record
		for g := range groups {
			for i := range 256 {
				r.SetInt(flow.FieldVersion, 2)
				r.SetString(flow.FieldAccountID, "123456789012")
				r.SetString(flow.FieldInterfaceID, "eni-0123456789abcdef0")
				r.SetAddr(flow.FieldSrcAddr, netip.AddrFrom4([4]byte{10, 0, byte(i), byte(g)}))
				r.SetAddr(flow.FieldDstAddr, netip.AddrFrom4([4]byte{10, 1, byte(i), 1}))
				r.SetInt(flow.FieldSrcPort, int64(i*7))
				r.SetInt(flow.FieldPackets, int64(i))
				r.SetInt(flow.FieldBytes, int64(i*1000))
				r.SetInt(flow.FieldStart, 1700000000+int64(g))
				r.SetAction(flow.ActionAccept)
				r.SetLogStatus(flow.StatusOK)
				if err := pw.Write(&r); err != nil {
					t.Fatal(err)
				}
			}
			if err := pw.Flush(); err != nil {
				t.Fatal(err)
			}
		}
		est := pw.EstimatedSize()
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		if est < sink.n || est > sink.n+sink.n/5+4096 {
			t.Errorf("%d row groups: estimated %d bytes, closed at %d", groups, est, sink.n)
		}
	}
}
