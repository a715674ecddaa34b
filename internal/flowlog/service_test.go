package flowlog

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/dataplane"
	"vpcflow/internal/flow"
	"vpcflow/internal/publish"
)

// fakeDest records what it is given; fail makes Deliver refuse.
type fakeDest struct {
	mu      sync.Mutex
	fl      publish.FlowLog
	lines   []string
	fail    error
	flushed int
	closed  bool
	// mem is the address of each delivered batch's first record.
	mem []*flow.Record
}

func (d *fakeDest) Deliver(_ context.Context, b publish.Batch) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return d.fail
	}
	for i := range b.Records {
		d.lines = append(d.lines, flow.Text(b.FlowLog.Format, &b.Records[i]))
	}
	if len(b.Records) > 0 {
		d.mem = append(d.mem, &b.Records[0])
	}
	return nil
}
func (d *fakeDest) Flush(context.Context) error { d.mu.Lock(); d.flushed++; d.mu.Unlock(); return nil }
func (d *fakeDest) Status() publish.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return publish.Status{State: publish.DeliveryFailed, Message: "Access error", Detail: d.fail.Error()}
	}
	return publish.Status{State: publish.DeliverySuccess}
}
func (d *fakeDest) Close() error { d.closed = true; return nil }

type fakeDests struct {
	mu    sync.Mutex
	byID  map[string]*fakeDest
	order []string
}

func (f *fakeDests) open(fl publish.FlowLog, r Resource) (publish.Destination, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Contains(r.LogDestination, "broken") {
		return nil, errors.New("bucket does not exist")
	}
	d := &fakeDest{fl: fl}
	if f.byID == nil {
		f.byID = map[string]*fakeDest{}
	}
	f.byID[fl.ID] = d
	f.order = append(f.order, fl.ID)
	return d, nil
}

var (
	eniA = &dataplane.Interface{ID: "eni-1235b8ca123456789", AccountID: "123456789101", VPCID: "vpc-001234183afc7cabc", SubnetID: "subnet-0a1b2c3d4e5f60718", PrimaryIPv4: netip.MustParseAddr("10.0.0.5")}
	eniB = &dataplane.Interface{ID: "eni-aa22bb33", AccountID: "123456789101", VPCID: "vpc-001234183afc7cabc", SubnetID: "subnet-0b", PrimaryIPv4: netip.MustParseAddr("10.0.1.5")}
)

func obsAt(e *dataplane.Interface, sec int64, action flow.Action, sport uint16) *dataplane.Observation {
	src := netip.MustParseAddr("203.0.113.12")
	return &dataplane.Observation{
		Time: time.Unix(sec, 0), Interface: e, Direction: flow.Ingress, Action: action, Protocol: 6,
		SrcPort: sport, DstPort: 22, SrcAddr: src, DstAddr: e.PrimaryIPv4, PktSrcAddr: src, PktDstAddr: e.PrimaryIPv4,
		Packets: 1, Bytes: 60,
	}
}

func newService(t *testing.T) (*Service, *Store, *fakeDests, *time.Time) {
	t.Helper()
	now := time.Unix(1000, 0)
	store, err := OpenStore(StoreConfig{AccountID: account, Region: "us-east-1", Seed: 7}, StoreDeps{Resources: resources, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	dests := &fakeDests{}
	svc, err := New(DefaultConfig(), Deps{
		Store:          store,
		Interfaces:     func() []*dataplane.Interface { return []*dataplane.Interface{eniA, eniB} },
		NewDestination: dests.open,
		Now:            func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return svc, store, dests, &now
}

func create(t *testing.T, svc *Service, typ, id, traffic, dest string) string {
	t.Helper()
	out, err := svc.Create(t.Context(), CreateInput{ResourceType: typ, ResourceIDs: []string{id}, TrafficType: traffic,
		LogDestinationType: "s3", LogDestination: dest, MaxAggregationInterval: 60})
	if err != nil || len(out.FlowLogIDs) != 1 {
		t.Fatalf("create: %v %+v", err, out)
	}
	return out.FlowLogIDs[0]
}

// Two flow logs cover eniA (its VPC, and eniA itself with REJECT only); each
// gets its own records. eniB is in the VPC flow log's scope without traffic:
// NODATA.
func TestServiceRouting(t *testing.T) {
	svc, _, dests, now := newService(t)
	vpcLog := create(t, svc, "VPC", "vpc-001234183afc7cabc", "ALL", "arn:aws:s3:::bucket/vpc")
	eniLog := create(t, svc, "NetworkInterface", "eni-1235b8ca123456789", "REJECT", "arn:aws:s3:::bucket/eni")

	svc.ObservePath([]dataplane.Observation{*obsAt(eniA, 1010, flow.ActionAccept, 40000)})
	svc.ObserveBatch([]dataplane.Observation{*obsAt(eniA, 1020, flow.ActionReject, 40001), *obsAt(eniA, 1030, flow.ActionAccept, 40000)})
	svc.Advance(t.Context(), time.Unix(1060, 0))
	*now = time.Unix(1060, 0)

	got := map[string][]string{vpcLog: dests.byID[vpcLog].lines, eniLog: dests.byID[eniLog].lines}
	want := map[string][]string{
		vpcLog: {
			"2 123456789101 eni-1235b8ca123456789 203.0.113.12 10.0.0.5 40000 22 6 2 120 1010 1030 ACCEPT OK",
			"2 123456789101 eni-1235b8ca123456789 203.0.113.12 10.0.0.5 40001 22 6 1 60 1020 1020 REJECT OK",
			"2 123456789101 eni-aa22bb33 - - - - - - - 1000 1060 - NODATA",
		},
		eniLog: {"2 123456789101 eni-1235b8ca123456789 203.0.113.12 10.0.0.5 40001 22 6 1 60 1020 1020 REJECT OK"},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("records (-got +want):\n%s", diff)
	}

	// Deleting a flow log delivers its open windows and closes its destination.
	svc.Observe(obsAt(eniA, 1070, flow.ActionReject, 40002))
	if _, err := svc.Delete(t.Context(), DeleteInput{FlowLogIDs: []string{eniLog}}); err != nil {
		t.Fatal(err)
	}
	d := dests.byID[eniLog]
	if !d.closed || d.flushed != 1 || len(d.lines) != 2 {
		t.Errorf("deleted flow log: closed=%v flushed=%d lines=%q", d.closed, d.flushed, d.lines)
	}
	svc.Observe(obsAt(eniA, 1080, flow.ActionReject, 40003))
	if err := svc.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(dests.byID[eniLog].lines); n != 2 {
		t.Errorf("deleted flow log got %d lines, want 2", n)
	}
	if v := dests.byID[vpcLog]; !v.closed || len(v.lines) != 5 {
		t.Errorf("vpc flow log after Stop: closed=%v lines=%q", v.closed, v.lines)
	}
}

// A refused delivery keeps the records, shows FAILED with AWS's message in
// DescribeFlowLogs, and succeeds later without loss.
func TestServiceDeliveryFailure(t *testing.T) {
	svc, _, dests, _ := newService(t)
	id := create(t, svc, "Subnet", "subnet-0a1b2c3d4e5f60718", "ALL", "arn:aws:s3:::bucket/x")
	broken := create(t, svc, "Subnet", "subnet-0a1b2c3d4e5f60718", "ACCEPT", "arn:aws:s3:::broken")
	d := dests.byID[id]
	d.fail = errors.New("connection refused")

	svc.Observe(obsAt(eniA, 1010, flow.ActionAccept, 1))
	svc.Advance(t.Context(), time.Unix(1060, 0))
	svc.Observe(obsAt(eniA, 1070, flow.ActionAccept, 2))
	svc.Advance(t.Context(), time.Unix(1120, 0))

	out, err := svc.Describe(DescribeInput{Filters: []Filter{{"deliver-log-status", []string{"FAILED"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]string
	for _, fl := range out.FlowLogs {
		got = append(got, [2]string{fl.FlowLogID, fl.DeliverLogsErrorMessage})
	}
	if diff := cmp.Diff(got, [][2]string{{id, "Access error"}, {broken, "Unknown error"}}); diff != "" {
		t.Errorf("failed flow logs (-got +want):\n%s", diff)
	}
	if st, _ := svc.Status(id); st.Pending != 2 {
		t.Errorf("pending = %d, want 2", st.Pending)
	}

	d.mu.Lock()
	d.fail = nil
	d.mu.Unlock()
	svc.Advance(t.Context(), time.Unix(1121, 0))
	if st, _ := svc.Status(id); st.State != publish.DeliverySuccess || st.Pending != 0 {
		t.Errorf("after recovery: %+v", st)
	}
	if len(d.lines) != 2 || !strings.Contains(d.lines[0], " 1010 1010 ") || !strings.Contains(d.lines[1], " 1070 1070 ") {
		t.Errorf("delivered after recovery: %q", d.lines)
	}
}

// Flow logs survive a restart: a new service on the reopened store runs them.
func TestServiceRestart(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1000, 0)
	open := func() (*Service, *fakeDests) {
		store, err := OpenStore(StoreConfig{DataDir: dir, AccountID: account, Region: "us-east-1"}, StoreDeps{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		dests := &fakeDests{}
		svc, err := New(DefaultConfig(), Deps{Store: store, NewDestination: dests.open, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		return svc, dests
	}
	svc, _ := open()
	id := create(t, svc, "NetworkInterface", "eni-1235b8ca123456789", "ALL", "arn:aws:s3:::bucket/x")
	svc.Stop(t.Context())

	svc2, dests := open()
	svc2.Observe(obsAt(eniA, 1010, flow.ActionAccept, 1))
	svc2.Stop(t.Context())
	if d := dests.byID[id]; d == nil || len(d.lines) != 1 {
		t.Fatalf("flow log %s not running after restart: %+v", id, dests.byID)
	}
}

// Records waiting for a destination that cannot be opened are bounded: the
// oldest batches are dropped and counted.
func TestServicePendingBound(t *testing.T) {
	store, err := OpenStore(StoreConfig{AccountID: account, Region: "us-east-1", Seed: 7}, StoreDeps{Resources: resources})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.MaxPendingRecords = 3
	dests := &fakeDests{}
	svc, err := New(cfg, Deps{Store: store, NewDestination: dests.open, Now: func() time.Time { return time.Unix(1000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	id := create(t, svc, "Subnet", "subnet-0a1b2c3d4e5f60718", "ALL", "arn:aws:s3:::broken")
	for i := range int64(6) {
		svc.Observe(obsAt(eniA, 1010+60*i, flow.ActionAccept, uint16(i+1)))
		svc.Advance(t.Context(), time.Unix(1070+60*i, 0))
	}
	st, _ := svc.Status(id)
	if st.State != publish.DeliveryFailed || st.Pending != 3 {
		t.Errorf("status %+v, want FAILED with 3 pending", st)
	}
	svc.mu.Lock()
	got := svc.byID[id].dropped
	svc.mu.Unlock()
	if got != 3 {
		t.Errorf("dropped = %v, want 3", got)
	}
}

// TestServiceReusesRecordMemory: a window's records are made in the memory
// of the last batch the destination took, also when Advance calls that
// close nothing come between; a refused batch's memory is not reused.
func TestServiceReusesRecordMemory(t *testing.T) {
	svc, _, dests, _ := newService(t)
	id := create(t, svc, "VPC", "vpc-001234183afc7cabc", "ALL", "arn:aws:s3:::bucket/x")
	d := dests.byID[id]
	svc.Observe(obsAt(eniA, 1010, flow.ActionAccept, 1))
	svc.Advance(t.Context(), time.Unix(1060, 0))
	svc.Advance(t.Context(), time.Unix(1061, 0)) // closes nothing
	svc.Observe(obsAt(eniA, 1070, flow.ActionAccept, 2))
	svc.Advance(t.Context(), time.Unix(1120, 0))
	d.mu.Lock()
	mem := slices.Clone(d.mem)
	d.mu.Unlock()
	if len(mem) != 2 || mem[0] != mem[1] {
		t.Fatalf("batches at %p: the second window's records are not in the first's memory", mem)
	}
	setFail := func(err error) { d.mu.Lock(); d.fail = err; d.mu.Unlock() }
	setFail(errors.New("connection refused"))
	svc.Observe(obsAt(eniA, 1130, flow.ActionAccept, 3))
	svc.Advance(t.Context(), time.Unix(1180, 0)) // refused: kept pending
	setFail(nil)
	svc.Observe(obsAt(eniA, 1190, flow.ActionAccept, 4))
	svc.Advance(t.Context(), time.Unix(1240, 0))
	if len(d.mem) != 4 || d.mem[2] == d.mem[3] {
		t.Fatalf("batches at %p: a refused batch's memory was reused while pending", d.mem)
	}
	var got []string
	for _, l := range d.lines {
		if strings.Contains(l, " OK") {
			got = append(got, strings.Fields(l)[5])
		}
	}
	if diff := cmp.Diff(got, []string{"1", "2", "3", "4"}); diff != "" {
		t.Errorf("source ports of the OK records (-got +want):\n%s", diff)
	}
}
