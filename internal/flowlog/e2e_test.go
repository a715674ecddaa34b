package flowlog

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/aggregate"
	"vpcflow/internal/dataplane"
	"vpcflow/internal/publish"
	"vpcflow/internal/vpc"
)

// e2e is a started flow log service over the dataplane of the three-tier
// test topology, with fake destinations and a clock the test sets (now).
type e2e struct {
	dp    *dataplane.Dataplane
	svc   *Service
	dests *fakeDests
	now   time.Time
}

// newE2E starts the service at 1432917000 (spec §7's examples) with
// annotate as its Deps.Annotate.
func newE2E(t *testing.T, annotate aggregate.Annotate) *e2e {
	t.Helper()
	topo, err := vpc.LoadFile("../vpc/testdata/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{dests: &fakeDests{}, now: time.Unix(1432917000, 0)}
	if e.dp, err = dataplane.New(topo, dataplane.Options{}); err != nil {
		t.Fatal(err)
	}
	clk := func() time.Time { return e.now }
	store, err := OpenStore(StoreConfig{AccountID: topo.AccountID, Region: topo.Region, Seed: 5},
		StoreDeps{Resources: TopologyResources{Topology: topo}, Now: clk})
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = New(DefaultConfig(), Deps{Store: store, Interfaces: e.dp.Interfaces, NewDestination: e.dests.open, Now: clk,
		Annotate: annotate})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return e
}

// The ping of spec §7.3 through the real dataplane and topology: the public
// NACL admits echo requests from the office but has no outbound rule for
// the replies, so the bastion's ENI logs an ingress ACCEPT and an egress
// REJECT. The bastion is a Nitro instance, so its windows are 60 s even
// with the default MaxAggregationInterval of 600. A subnet flow log with
// TrafficType REJECT sees only the rejects.
func TestEndToEndPing(t *testing.T) {
	e := newE2E(t, nil)
	dp, svc, dests := e.dp, e.svc, e.dests
	out, err := svc.Create(t.Context(), CreateInput{ResourceType: "NetworkInterface", ResourceIDs: []string{"eni-0ba5000000000b001"}, TrafficType: "ALL",
		LogDestinationType: "s3", LogDestination: "arn:aws:s3:::flows/all"})
	if err != nil || len(out.FlowLogIDs) != 1 {
		t.Fatal(err, out)
	}
	all := out.FlowLogIDs[0]
	out, err = svc.Create(t.Context(), CreateInput{ResourceType: "Subnet", ResourceIDs: []string{"subnet-0e1a00000000000a1"}, TrafficType: "REJECT",
		LogDestinationType: "s3", LogDestination: "arn:aws:s3:::flows/rejects", MaxAggregationInterval: 60,
		LogFormat: "${interface-id} ${instance-id} ${flow-direction} ${srcaddr} ${dstaddr} ${pkt-dstaddr} ${protocol} ${packets} ${action} ${log-status}"})
	if err != nil || len(out.FlowLogIDs) != 1 {
		t.Fatal(err, out)
	}
	rejects := out.FlowLogIDs[0]

	office, bastionEIP, bastion := netip.MustParseAddr("203.0.113.12"), netip.MustParseAddr("198.51.100.30"), netip.MustParseAddr("10.0.0.30")
	for i, sec := range []int64{1432917027, 1432917060, 1432917094, 1432917142} {
		req := dataplane.Packet{Time: time.Unix(sec, 0), Src: office, Dst: bastionEIP, Protocol: 1, Size: 84, ICMPType: 8}
		if _, err := dp.Process(req, svc.Observe); err != nil {
			t.Fatal(i, err)
		}
		if i == 0 {
			continue // the first echo request gets no reply
		}
		rep := dataplane.Packet{Time: time.Unix(sec, 5e8), Src: bastion, Dst: office, Protocol: 1, Size: 84, ICMPType: 0}
		if _, err := dp.Process(rep, svc.Observe); err != nil {
			t.Fatal(i, err)
		}
	}
	e.now = time.Unix(1432917000+600, 0)
	svc.Advance(t.Context(), e.now)

	got := map[string][]string{all: dests.byID[all].lines, rejects: dests.byID[rejects].lines}
	want := map[string][]string{
		all: {
			"2 123456789012 eni-0ba5000000000b001 203.0.113.12 10.0.0.30 0 0 1 1 84 1432917027 1432917027 ACCEPT OK",
			"2 123456789012 eni-0ba5000000000b001 203.0.113.12 10.0.0.30 0 0 1 2 168 1432917060 1432917094 ACCEPT OK",
			"2 123456789012 eni-0ba5000000000b001 10.0.0.30 203.0.113.12 0 0 1 2 168 1432917060 1432917094 REJECT OK",
			"2 123456789012 eni-0ba5000000000b001 203.0.113.12 10.0.0.30 0 0 1 1 84 1432917142 1432917142 ACCEPT OK",
			"2 123456789012 eni-0ba5000000000b001 10.0.0.30 203.0.113.12 0 0 1 1 84 1432917142 1432917142 REJECT OK",
			"2 123456789012 eni-0ba5000000000b001 - - - - - - - 1432917180 1432917240 - NODATA",
			"2 123456789012 eni-0ba5000000000b001 - - - - - - - 1432917240 1432917300 - NODATA",
			"2 123456789012 eni-0ba5000000000b001 - - - - - - - 1432917300 1432917360 - NODATA",
			"2 123456789012 eni-0ba5000000000b001 - - - - - - - 1432917360 1432917420 - NODATA",
			"2 123456789012 eni-0ba5000000000b001 - - - - - - - 1432917420 1432917480 - NODATA",
			"2 123456789012 eni-0ba5000000000b001 - - - - - - - 1432917480 1432917540 - NODATA",
			"2 123456789012 eni-0ba5000000000b001 - - - - - - - 1432917540 1432917600 - NODATA",
		},
	}
	// The subnet flow log (60 s windows from 1432917000, REJECT only) covers
	// every ENI of public-a: the bastion's rejects per window, then NODATA.
	var bastionRejects []string
	for _, l := range got[rejects] {
		if len(l) > 21 && l[:21] == "eni-0ba5000000000b001" {
			bastionRejects = append(bastionRejects, l)
		}
	}
	if diff := cmp.Diff(got[all], want[all]); diff != "" {
		t.Errorf("ENI flow log (-got +want):\n%s", diff)
	}
	wantRejects := []string{
		"eni-0ba5000000000b001 i-0ba5710aa11112222 egress 10.0.0.30 203.0.113.12 203.0.113.12 1 2 REJECT OK",
		"eni-0ba5000000000b001 i-0ba5710aa11112222 egress 10.0.0.30 203.0.113.12 203.0.113.12 1 1 REJECT OK",
	}
	for _, l := range bastionRejects {
		if l[len(l)-6:] == "NODATA" {
			continue
		}
		if len(wantRejects) == 0 || l != wantRejects[0] {
			t.Errorf("unexpected bastion record %q, want %q", l, wantRejects)
			break
		}
		wantRejects = wantRejects[1:]
	}
	if len(wantRejects) != 0 {
		t.Errorf("missing bastion REJECT records %q in %q", wantRejects, bastionRejects)
	}
	if st, _ := svc.Status(all); st.State != publish.DeliverySuccess {
		t.Errorf("status %+v", st)
	}
}
