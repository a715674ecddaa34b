package cwlogs

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/flow"
	"vpcflow/internal/logstore"
	"vpcflow/internal/publish"
)

func rec(eni string, start int64, action flow.Action) flow.Record {
	var r flow.Record
	r.SetInt(flow.FieldVersion, 2)
	r.SetString(flow.FieldAccountID, "123456789010")
	r.SetString(flow.FieldInterfaceID, eni)
	r.SetAddr(flow.FieldSrcAddr, netip.MustParseAddr("172.31.16.139"))
	r.SetAddr(flow.FieldDstAddr, netip.MustParseAddr("172.31.16.21"))
	r.SetInt(flow.FieldSrcPort, 20641)
	r.SetInt(flow.FieldDstPort, 22)
	r.SetInt(flow.FieldProtocol, 6)
	r.SetInt(flow.FieldPackets, 20)
	r.SetInt(flow.FieldBytes, 4249)
	r.SetInt(flow.FieldStart, start)
	r.SetInt(flow.FieldEnd, start+60)
	r.SetAction(action)
	r.SetLogStatus(flow.StatusOK)
	return r
}

func openStore(t *testing.T, dir string) *logstore.Store {
	t.Helper()
	cfg := logstore.DefaultConfig()
	cfg.Dir = dir
	s, err := logstore.Open(cfg, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Two flow logs (ACCEPT and REJECT) into one group share one stream per
// ENI; events carry start×1000 and the line without header (spec §5.2, the
// OTEL test vector).
func TestSharedStreamsAndEventShape(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	now := time.Unix(1418530400, 0)
	mk := func(id string) *Destination {
		d, err := New(Config{FlowLog: publish.FlowLog{ID: id, AccountID: "123456789010", Region: "us-east-1",
			Format: flow.DefaultFormat, LogGroup: "/aws/vpc/flowlogs"}}, Deps{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	accept, reject := mk("fl-00000000000000001"), mk("fl-00000000000000002")
	ctx := t.Context()
	if err := accept.Deliver(ctx, publish.Batch{Records: []flow.Record{rec("eni-1235b8ca123456789", 1418530010, flow.ActionAccept),
		rec("eni-0000000000000000a", 1418530020, flow.ActionAccept)}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := reject.Deliver(ctx, publish.Batch{Records: []flow.Record{rec("eni-1235b8ca123456789", 1418530000, flow.ActionReject)}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if s := accept.Status(); s.State != publish.DeliverySuccess {
		t.Fatalf("status %+v", s)
	}
	st.Close()
	st = openStore(t, dir) // readable after a restart
	streams, err := st.LogStreams("/aws/vpc/flowlogs")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range streams {
		names = append(names, s.Name)
	}
	if d := cmp.Diff(names, []string{"eni-0000000000000000a-all", "eni-1235b8ca123456789-all"}); d != "" {
		t.Fatalf("streams (-got +want)\n%s", d)
	}
	var got []logstore.Event
	err = st.Scan(ctx, logstore.Query{LogStreams: []string{"eni-1235b8ca123456789-all"}}, func(e *logstore.Event) error {
		got = append(got, *e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []logstore.Event{
		{LogGroup: "/aws/vpc/flowlogs", LogStream: "eni-1235b8ca123456789-all", Timestamp: 1418530000000, IngestionTime: 1418530400000,
			Message: "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530000 1418530060 REJECT OK"},
		{LogGroup: "/aws/vpc/flowlogs", LogStream: "eni-1235b8ca123456789-all", Timestamp: 1418530010000, IngestionTime: 1418530400000,
			Message: "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"},
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Fatalf("events (-got +want)\n%s", d)
	}
	// A closed store makes delivery fail with "Unknown error".
	st2 := openStore(t, t.TempDir())
	d, _ := New(Config{FlowLog: publish.FlowLog{ID: "fl-3", Format: flow.DefaultFormat, LogGroup: "g"}}, Deps{Store: st2})
	st2.Close()
	if err := d.Deliver(ctx, publish.Batch{Records: []flow.Record{rec("eni-1", 1, flow.ActionAccept)}, Now: now}); err == nil {
		t.Fatal("no error from a closed store")
	}
	if s := d.Status(); s.State != publish.DeliveryFailed || s.Message != "Unknown error" {
		t.Fatalf("status %+v", s)
	}
}
