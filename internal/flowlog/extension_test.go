package flowlog

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/aggregate"
	"vpcflow/internal/dataplane"
)

const decisionFormat = "${version} ${interface-id} ${srcaddr} ${dstaddr} ${protocol} ${packets} ${action} ${log-status} ${vpcflow-decision-layer} ${vpcflow-decision-rule}"

// TestCreateAcceptsExtensionFields: the vpcflow extension tokens are a
// valid LogFormat for every destination (AWS would reject them), and
// DescribeFlowLogs spells them back.
func TestCreateAcceptsExtensionFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   CreateInput
	}{
		{"s3 text", CreateInput{LogDestinationType: "s3", LogDestination: "arn:aws:s3:::my-log-bucket/x/"}},
		{"s3 parquet", CreateInput{LogDestinationType: "s3", LogDestination: "arn:aws:s3:::my-log-bucket/y/",
			DestinationOptions: &DestinationOptions{FileFormat: "parquet"}}},
		{"cloudwatch logs", CreateInput{LogDestinationType: "cloud-watch-logs", LogGroupName: "g", DeliverLogsPermissionArn: role}},
		{"firehose", CreateInput{LogDestinationType: "kinesis-data-firehose",
			LogDestination: "arn:aws:firehose:us-east-1:123456789101:deliverystream/flowlogs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, "")
			in := tc.in
			in.ResourceType, in.ResourceIDs, in.TrafficType = "VPC", []string{"vpc-001234183afc7cabc"}, "ALL"
			in.LogFormat = decisionFormat
			out, err := s.Create(in)
			if err != nil || len(out.Unsuccessful) != 0 || len(out.FlowLogIDs) != 1 {
				t.Fatalf("Create = %+v, %v", out, err)
			}
			if got := s.List()[0].LogFormat; got != decisionFormat {
				t.Errorf("LogFormat = %q, want %q", got, decisionFormat)
			}
		})
	}
}

// The ping of spec §7.3 (TestEndToEndPing) with the deciding layer and rule
// in the records: the echo replies are REJECTed by the public NACL's final
// egress rule; the requests are ACCEPTed and NODATA windows have "-".
func TestEndToEndDecisionFields(t *testing.T) {
	e := newE2E(t, aggregate.DecisionFields)
	dp, svc, dests := e.dp, e.svc, e.dests
	var ids []string
	for _, fl := range []struct{ format, bucket string }{{decisionFormat, "decisions"}, {"", "default"}} {
		out, err := svc.Create(t.Context(), CreateInput{ResourceType: "NetworkInterface", ResourceIDs: []string{"eni-0ba5000000000b001"},
			TrafficType: "ALL", LogDestinationType: "s3", LogDestination: "arn:aws:s3:::" + fl.bucket,
			MaxAggregationInterval: 60, LogFormat: fl.format})
		if err != nil || len(out.FlowLogIDs) != 1 {
			t.Fatal(err, out)
		}
		ids = append(ids, out.FlowLogIDs[0])
	}
	office, bastionEIP, bastion := netip.MustParseAddr("203.0.113.12"), netip.MustParseAddr("198.51.100.30"), netip.MustParseAddr("10.0.0.30")
	for i, sec := range []int64{1432917027, 1432917060, 1432917094} {
		req := dataplane.Packet{Time: time.Unix(sec, 0), Src: office, Dst: bastionEIP, Protocol: 1, Size: 84, ICMPType: 8}
		if _, err := dp.Process(req, svc.Observe); err != nil {
			t.Fatal(i, err)
		}
		rep := dataplane.Packet{Time: time.Unix(sec, 5e8), Src: bastion, Dst: office, Protocol: 1, Size: 84, ICMPType: 0}
		if _, err := dp.Process(rep, svc.Observe); err != nil {
			t.Fatal(i, err)
		}
	}
	e.now = time.Unix(1432917000+180, 0)
	svc.Advance(t.Context(), e.now)

	want := []string{
		"2 eni-0ba5000000000b001 203.0.113.12 10.0.0.30 1 1 ACCEPT OK - -",
		"2 eni-0ba5000000000b001 10.0.0.30 203.0.113.12 1 1 REJECT OK nacl acl-0e00000000000000b/egress/*",
		"2 eni-0ba5000000000b001 203.0.113.12 10.0.0.30 1 2 ACCEPT OK - -",
		"2 eni-0ba5000000000b001 10.0.0.30 203.0.113.12 1 2 REJECT OK nacl acl-0e00000000000000b/egress/*",
		"2 eni-0ba5000000000b001 - - - - - NODATA - -",
	}
	if diff := cmp.Diff(dests.byID[ids[0]].lines, want); diff != "" {
		t.Errorf("flow log with the decision fields (-got +want):\n%s", diff)
	}
	// The default-format flow log of the same interface is unchanged.
	for _, l := range dests.byID[ids[1]].lines {
		if got := len(strings.Fields(l)); got != 14 {
			t.Errorf("default-format record %q has %d fields", l, got)
		}
	}
}
