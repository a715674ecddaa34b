package flowlog

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/flow"
	"vpcflow/internal/publish"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fakeResources map[string]bool

func (f fakeResources) HasVPC(id string) bool       { return f[id] }
func (f fakeResources) HasSubnet(id string) bool    { return f[id] }
func (f fakeResources) HasInterface(id string) bool { return f[id] }

var resources = fakeResources{
	"vpc-001234183afc7cabc":    true,
	"vpc-1122e8183afc74455":    true,
	"subnet-0a1b2c3d4e5f60718": true,
	"eni-1235b8ca123456789":    true,
	"eni-aa22bb33":             true,
}

const account = "123456789101"

// clock returns a fake clock starting at t that advances by step per call.
func clock(t time.Time, step time.Duration) func() time.Time {
	return func() time.Time { now := t; t = t.Add(step); return now }
}

func newStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := OpenStore(StoreConfig{DataDir: dir, AccountID: account, Region: "us-east-1", Seed: 42},
		StoreDeps{Resources: resources, Now: clock(time.Date(2020, 2, 4, 11, 46, 13, 831e6, time.UTC), time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const role = "arn:aws:iam::123456789101:role/publishFlowLogs"

func TestCreateValidation(t *testing.T) {
	base := func() CreateInput {
		return CreateInput{ResourceType: "VPC", ResourceIDs: []string{"vpc-001234183afc7cabc"}, TrafficType: "ALL",
			LogDestinationType: "s3", LogDestination: "arn:aws:s3:::my-log-bucket/my-logs/"}
	}
	cases := []struct {
		name string
		mod  func(*CreateInput)
		code string
		msg  string // substring
	}{
		{"missing resource type", func(in *CreateInput) { in.ResourceType = "" }, CodeMissingParameter, "ResourceType"},
		{"bad resource type", func(in *CreateInput) { in.ResourceType = "Instance" }, CodeInvalidParameterValue, "Value (Instance) for parameter ResourceType is invalid"},
		{"transit gateway unsupported", func(in *CreateInput) { in.ResourceType = "TransitGateway" }, CodeInvalidParameterValue, "not supported"},
		{"no resource ids", func(in *CreateInput) { in.ResourceIDs = nil }, CodeMissingParameter, "ResourceId"},
		{"too many resource ids", func(in *CreateInput) { in.ResourceIDs = make([]string, 301) }, CodeInvalidParameter, "maximum is 300"},
		{"missing traffic type", func(in *CreateInput) { in.TrafficType = "" }, CodeMissingParameter, "TrafficType"},
		{"bad traffic type", func(in *CreateInput) { in.TrafficType = "accept" }, CodeInvalidParameterValue, "TrafficType"},
		{"bad destination type", func(in *CreateInput) { in.LogDestinationType = "kinesis" }, CodeInvalidParameterValue, "LogDestinationType"},
		{"s3 without destination", func(in *CreateInput) { in.LogDestination = "" }, CodeMissingParameter, "LogDestination"},
		{"s3 not an arn", func(in *CreateInput) { in.LogDestination = "s3://bucket" }, CodeInvalidParameterValue, "LogDestination"},
		{"s3 bad bucket", func(in *CreateInput) { in.LogDestination = "arn:aws:s3:::My_Bucket" }, CodeInvalidParameterValue, "bucket name"},
		{"s3 AWSLogs subfolder", func(in *CreateInput) { in.LogDestination = "arn:aws:s3:::bucket/AWSLogs/" }, CodeInvalidParameterValue, "AWSLogs"},
		{"s3 with log group", func(in *CreateInput) { in.LogGroupName = "g" }, CodeInvalidParameter, "LogGroupName"},
		{"s3 bad file format", func(in *CreateInput) { in.DestinationOptions = &DestinationOptions{FileFormat: "csv"} }, CodeInvalidParameterValue, "FileFormat"},
		{"s3 cross account role", func(in *CreateInput) {
			in.DeliverLogsPermissionArn = role
			in.DeliverCrossAccountRole = "arn:aws:iam::999999999999:role/AWSLogDeliveryFirehoseCrossAccountRole"
		}, CodeInvalidParameter, "DeliverCrossAccountRole"},
		{"cwl without role", func(in *CreateInput) {
			in.LogDestinationType = "cloud-watch-logs"
			in.LogDestination = ""
			in.LogGroupName = "g"
		}, CodeInvalidParameter, "DeliverLogsPermissionArn is required"},
		{"cwl group and destination", func(in *CreateInput) {
			in.LogDestinationType = "cloud-watch-logs"
			in.LogGroupName = "g"
			in.LogDestination = "arn:aws:logs:us-east-1:123456789101:log-group:g"
			in.DeliverLogsPermissionArn = role
		}, CodeInvalidParameter, "only provide LogGroupName or only provide LogDestination"},
		{"cwl neither group nor destination", func(in *CreateInput) {
			in.LogDestinationType = ""
			in.LogDestination = ""
			in.DeliverLogsPermissionArn = role
		}, CodeMissingParameter, "LogGroupName or LogDestination"},
		{"cwl bad arn", func(in *CreateInput) {
			in.LogDestinationType = "cloud-watch-logs"
			in.LogDestination = "arn:aws:logs:us-east-1:1234:log-group:g"
			in.DeliverLogsPermissionArn = role
		}, CodeInvalidParameterValue, "log group ARN"},
		{"cwl with destination options", func(in *CreateInput) {
			in.LogDestinationType = "cloud-watch-logs"
			in.LogDestination = ""
			in.LogGroupName = "g"
			in.DeliverLogsPermissionArn = role
			in.DestinationOptions = &DestinationOptions{FileFormat: "parquet"}
		}, CodeInvalidParameter, "DestinationOptions"},
		{"bad role arn", func(in *CreateInput) { in.DeliverLogsPermissionArn = "role/x" }, CodeInvalidParameterValue, "DeliverLogsPermissionArn"},
		{"role of another account", func(in *CreateInput) { in.DeliverLogsPermissionArn = "arn:aws:iam::999999999999:role/x" }, CodeInvalidParameter, "must belong to your account"},
		{"firehose bad arn", func(in *CreateInput) {
			in.LogDestinationType = "kinesis-data-firehose"
			in.LogDestination = "arn:aws:s3:::b"
		}, CodeInvalidParameterValue, "delivery stream ARN"},
		{"firehose parquet", func(in *CreateInput) {
			in.LogDestinationType = "kinesis-data-firehose"
			in.LogDestination = "arn:aws:firehose:us-east-1:123456789101:deliverystream/flowlogs"
			in.DestinationOptions = &DestinationOptions{FileFormat: "parquet"}
		}, CodeInvalidParameter, "plain text"},
		{"firehose cross account without role", func(in *CreateInput) {
			in.LogDestinationType = "kinesis-data-firehose"
			in.LogDestination = "arn:aws:firehose:us-east-1:999999999999:deliverystream/flowlogs"
		}, CodeInvalidParameter, "different accounts"},
		{"firehose cross account role name", func(in *CreateInput) {
			in.LogDestinationType = "kinesis-data-firehose"
			in.LogDestination = "arn:aws:firehose:us-east-1:999999999999:deliverystream/flowlogs"
			in.DeliverLogsPermissionArn = role
			in.DeliverCrossAccountRole = "arn:aws:iam::999999999999:role/SomeRole"
		}, CodeInvalidParameterValue, "AWSLogDeliveryFirehoseCrossAccountRole"},
		{"unknown format field", func(in *CreateInput) { in.LogFormat = "${version} ${nope}" }, CodeInvalidParameter, "unknown field"},
		{"format literal text", func(in *CreateInput) { in.LogFormat = "version srcaddr" }, CodeInvalidParameter, "LogFormat"},
		{"format duplicate", func(in *CreateInput) { in.LogFormat = "${srcaddr} ${srcaddr}" }, CodeInvalidParameter, "duplicate"},
		{"format tag field", func(in *CreateInput) { in.LogFormat = "${instance-tag}" }, CodeInvalidParameter, "TagFieldSpecifications"},
		{"interval", func(in *CreateInput) { in.MaxAggregationInterval = 300 }, CodeInvalidParameterValue, "Valid values: 60 | 600"},
		{"tag resource type", func(in *CreateInput) {
			in.TagSpecifications = []TagSpecification{{ResourceType: "vpc", Tags: []Tag{{"a", "b"}}}}
		}, CodeInvalidParameterValue, "vpc-flow-log"},
		{"tag aws: prefix", func(in *CreateInput) {
			in.TagSpecifications = []TagSpecification{{ResourceType: "vpc-flow-log", Tags: []Tag{{"aws:x", "b"}}}}
		}, CodeInvalidParameterValue, "reserved"},
		{"dry run", func(in *CreateInput) { in.DryRun = true }, CodeDryRunOperation, "DryRun flag is set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t, "")
			in := base()
			tc.mod(&in)
			_, err := s.Create(in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error %s", err, tc.code)
			}
			if e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Errorf("err = %v, want code %s with %q", err, tc.code, tc.msg)
			}
			if !errors.Is(err, &Error{Code: tc.code}) {
				t.Errorf("errors.Is does not match the code")
			}
			if len(s.List()) != 0 {
				t.Errorf("flow log created despite the error")
			}
		})
	}
}

func TestCreatePerResource(t *testing.T) {
	s := newStore(t, "")
	in := CreateInput{ResourceType: "NetworkInterface", TrafficType: "REJECT",
		ResourceIDs:              []string{"eni-aa22bb33", "eni-99999999", "vpc-001234183afc7cabc", "eni-aa22bb33"},
		DeliverLogsPermissionArn: "arn:aws:iam::123456789101:role/publishFlowLogs",
		LogDestination:           "arn:aws:logs:us-east-1:123456789101:log-group:my-flow-logs"}
	out, err := s.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	want := CreateOutput{
		FlowLogIDs: out.FlowLogIDs,
		Unsuccessful: []UnsuccessfulItem{
			{Error: Error{CodeInvalidENINotFound, "The networkInterface ID 'eni-99999999' does not exist"}, ResourceID: "eni-99999999"},
			{Error: Error{CodeInvalidENIMalformed, `Invalid id: "vpc-001234183afc7cabc" (expecting a network interface id starting with "eni-")`}, ResourceID: "vpc-001234183afc7cabc"},
			{Error: Error{CodeFlowLogAlreadyExists, "A flow log with the specified configuration already exists."}, ResourceID: "eni-aa22bb33"},
		},
	}
	if diff := cmp.Diff(out, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	if len(out.FlowLogIDs) != 1 || len(out.FlowLogIDs[0]) != len("fl-")+17 || !strings.HasPrefix(out.FlowLogIDs[0], "fl-") {
		t.Errorf("flow log ids %q, want one fl- + 17 hex", out.FlowLogIDs)
	}
	// Same resource, another destination: allowed.
	in.ResourceIDs = []string{"eni-aa22bb33"}
	in.LogDestination = "arn:aws:logs:us-east-1:123456789101:log-group:other"
	if out, err := s.Create(in); err != nil || len(out.FlowLogIDs) != 1 {
		t.Errorf("second destination: %v %+v", err, out)
	}
	// Idempotency token.
	in.ClientToken = "tok"
	in.LogDestination = "arn:aws:logs:us-east-1:123456789101:log-group:third"
	a, _ := s.Create(in)
	b, _ := s.Create(in)
	if diff := cmp.Diff(a, b); diff != "" || len(a.FlowLogIDs) != 1 {
		t.Errorf("client token not idempotent (-first +second):\n%s", diff)
	}
	// The same token with other parameters is a mismatch, not a retry.
	in.LogDestination = "arn:aws:logs:us-east-1:123456789101:log-group:fourth"
	if _, err := s.Create(in); err == nil || !strings.Contains(err.Error(), CodeIdempotentParameterMismatch) {
		t.Errorf("client token reused with other parameters: %v", err)
	}
}

// The two flow logs of the DescribeFlowLogs sample response (spec §6.2).
func createSamples(t *testing.T, s *Store) (string, string) {
	t.Helper()
	a, err := s.Create(CreateInput{
		ResourceType: "VPC", ResourceIDs: []string{"vpc-001234183afc7cabc"}, TrafficType: "ALL",
		LogDestinationType: "s3", LogDestination: "arn:aws:s3:::my-log-bucket/my-logs/",
		LogFormat:              "${version} ${instance-id} ${interface-id} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${start} ${end} ${action}",
		MaxAggregationInterval: 60,
		TagSpecifications:      []TagSpecification{{ResourceType: "vpc-flow-log", Tags: []Tag{{"Name", "FlowsForVpcA"}}}},
	})
	if err != nil || len(a.FlowLogIDs) != 1 {
		t.Fatal(err, a)
	}
	b, err := s.Create(CreateInput{
		ResourceType: "VPC", ResourceIDs: []string{"vpc-1122e8183afc74455"}, TrafficType: "ALL",
		DeliverLogsPermissionArn: "arn:aws:iam::123456789101:role/flowlogsrole", LogGroupName: "FlowLogsForSubnetB",
		TagSpecifications: []TagSpecification{{ResourceType: "vpc-flow-log", Tags: []Tag{{"Name", "FlowsForVpcB"}}}},
	})
	if err != nil || len(b.FlowLogIDs) != 1 {
		t.Fatal(err, b)
	}
	return a.FlowLogIDs[0], b.FlowLogIDs[0]
}

func TestDescribeGolden(t *testing.T) {
	s := newStore(t, "")
	_, idB := createSamples(t, s)
	status := func(id string) (publish.Status, bool) {
		if id == idB {
			return publish.Status{State: publish.DeliveryFailed, Message: "Access error"}, true
		}
		return publish.Status{State: publish.DeliverySuccess}, true
	}
	out, err := s.Describe(DescribeInput{}, status)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(out, "", "    ")
	got = append(got, '\n')
	golden := filepath.Join("testdata", "describe.golden.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(got), string(want)); diff != "" {
		t.Errorf("describe output (-got +want):\n%s", diff)
	}
}

func TestDescribeFilters(t *testing.T) {
	s := newStore(t, "")
	idA, idB := createSamples(t, s)
	failedB := func(id string) (publish.Status, bool) {
		if id == idB {
			return publish.Status{State: publish.DeliveryFailed, Message: "Rate limited"}, true
		}
		return publish.Status{}, false
	}
	cases := []struct {
		name    string
		in      DescribeInput
		want    []string
		errCode string
	}{
		{"all", DescribeInput{}, []string{idA, idB}, ""},
		{"ids", DescribeInput{FlowLogIDs: []string{idB, "fl-00000000000000000"}}, []string{idB}, ""},
		{"flow-log-id", DescribeInput{Filters: []Filter{{"flow-log-id", []string{idA}}}}, []string{idA}, ""},
		{"resource-id OR", DescribeInput{Filters: []Filter{{"resource-id", []string{"vpc-001234183afc7cabc", "vpc-1122e8183afc74455"}}}}, []string{idA, idB}, ""},
		{"destination type", DescribeInput{Filters: []Filter{{"log-destination-type", []string{"cloud-watch-logs"}}}}, []string{idB}, ""},
		{"log group", DescribeInput{Filters: []Filter{{"log-group-name", []string{"FlowLogsForSubnetB"}}}}, []string{idB}, ""},
		{"traffic type AND resource", DescribeInput{Filters: []Filter{{"traffic-type", []string{"ALL"}}, {"resource-id", []string{"vpc-1122e8183afc74455"}}}}, []string{idB}, ""},
		{"deliver-log-status", DescribeInput{Filters: []Filter{{"deliver-log-status", []string{"FAILED"}}}}, []string{idB}, ""},
		{"tag", DescribeInput{Filters: []Filter{{"tag:Name", []string{"FlowsForVpcA"}}}}, []string{idA}, ""},
		{"tag-key", DescribeInput{Filters: []Filter{{"tag-key", []string{"Name"}}}}, []string{idA, idB}, ""},
		{"no match", DescribeInput{Filters: []Filter{{"traffic-type", []string{"REJECT"}}}}, nil, ""},
		{"bad filter", DescribeInput{Filters: []Filter{{"vpc-id", []string{"x"}}}}, nil, CodeInvalidParameterValue},
		{"bad max results", DescribeInput{MaxResults: 2}, nil, CodeInvalidParameterValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := s.Describe(tc.in, failedB)
			if tc.errCode != "" {
				if !errors.Is(err, &Error{Code: tc.errCode}) {
					t.Fatalf("err = %v, want %s", err, tc.errCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, fl := range out.FlowLogs {
				got = append(got, fl.FlowLogID)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("(-got +want):\n%s", diff)
			}
		})
	}
}

func TestDescribePagination(t *testing.T) {
	s := newStore(t, "")
	var all []string
	for i := range 12 {
		out, err := s.Create(CreateInput{ResourceType: "VPC", ResourceIDs: []string{"vpc-001234183afc7cabc"}, TrafficType: "ALL",
			LogDestinationType: "s3", LogDestination: "arn:aws:s3:::bucket/p" + string(rune('a'+i))})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out.FlowLogIDs...)
	}
	var got []string
	in := DescribeInput{MaxResults: 5}
	pages := 0
	for {
		out, err := s.Describe(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, fl := range out.FlowLogs {
			got = append(got, fl.FlowLogID)
		}
		if out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	if diff := cmp.Diff(got, all); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
}

func TestDelete(t *testing.T) {
	s := newStore(t, "")
	idA, idB := createSamples(t, s)
	out, err := s.Delete(DeleteInput{FlowLogIDs: []string{idA, "fl-0123456789abcdef0"}})
	if err != nil {
		t.Fatal(err)
	}
	want := DeleteOutput{Unsuccessful: []UnsuccessfulItem{{
		Error:      Error{CodeInvalidFlowLogNotFound, "These flow log ids in the input list are not found: [TotalCount: 1] fl-0123456789abcdef0"},
		ResourceID: "fl-0123456789abcdef0",
	}}}
	if diff := cmp.Diff(out, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
	if l := s.List(); len(l) != 1 || l[0].FlowLogID != idB {
		t.Errorf("left %v, want only %s", l, idB)
	}
	if _, err := s.Delete(DeleteInput{}); !errors.Is(err, &Error{Code: CodeMissingParameter}) {
		t.Errorf("empty delete: %v", err)
	}
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	idA, idB := createSamples(t, s)
	before, _ := s.Describe(DescribeInput{}, nil)

	s2 := newStore(t, dir)
	after, _ := s2.Describe(DescribeInput{}, nil)
	if diff := cmp.Diff(after, before); diff != "" {
		t.Errorf("reloaded store differs (-got +want):\n%s", diff)
	}
	// Ids keep coming from the persisted seed and counter: no repeat.
	out, err := s2.Create(CreateInput{ResourceType: "Subnet", ResourceIDs: []string{"subnet-0a1b2c3d4e5f60718"}, TrafficType: "REJECT",
		LogDestinationType: "kinesis-data-firehose", LogDestination: "arn:aws:firehose:us-east-1:123456789101:deliverystream/flowlogs"})
	if err != nil || len(out.FlowLogIDs) != 1 {
		t.Fatal(err, out)
	}
	if id := out.FlowLogIDs[0]; id == idA || id == idB {
		t.Errorf("id %s repeated after restart", id)
	}
	// Deterministic: a fresh store with the same seed draws the same ids.
	s3 := newStore(t, t.TempDir())
	a3, b3 := createSamples(t, s3)
	if a3 != idA || b3 != idB {
		t.Errorf("ids not deterministic: %s %s vs %s %s", a3, b3, idA, idB)
	}
	// Delete persists too; no temporary file is left behind.
	if _, err := s2.Delete(DeleteInput{FlowLogIDs: []string{idA}}); err != nil {
		t.Fatal(err)
	}
	if got := len(newStore(t, dir).List()); got != 2 {
		t.Errorf("%d flow logs after delete and reload, want 2", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Errorf("data dir holds %v, want only %s", entries, FileName)
	}
}

func TestOpenCorrupt(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, FileName), []byte("{not json"), 0o644)
	_, err := OpenStore(StoreConfig{DataDir: dir, AccountID: account, Region: "us-east-1"}, StoreDeps{})
	if err == nil || !strings.Contains(err.Error(), FileName) {
		t.Errorf("err = %v, want an error naming the file", err)
	}
}

func TestLogGroupFormat(t *testing.T) {
	s := newStore(t, "")
	custom := "${version} ${interface-id} ${srcaddr} ${dstaddr} ${action}"
	create := func(eni, group, format string) {
		t.Helper()
		out, err := s.Create(CreateInput{ResourceType: "NetworkInterface", TrafficType: "ALL", ResourceIDs: []string{eni},
			DeliverLogsPermissionArn: role, LogGroupName: group, LogFormat: format})
		if err != nil || len(out.Unsuccessful) > 0 {
			t.Fatalf("create: %v %+v", err, out)
		}
	}
	if _, ok := s.LogGroupFormat(); ok {
		t.Error("a store without flow logs knows a format")
	}
	create("eni-aa22bb33", "custom", custom)
	create("eni-1235b8ca123456789", "custom", custom)
	create("eni-aa22bb33", "default", "")
	if f, ok := s.LogGroupFormat("custom"); !ok || f.String() != custom {
		t.Errorf("custom group: %q %v", f.String(), ok)
	}
	if f, ok := s.LogGroupFormat("default"); !ok || !f.Equal(flow.DefaultFormat) {
		t.Errorf("default group: %q %v", f.String(), ok)
	}
	if _, ok := s.LogGroupFormat(); ok {
		t.Error("groups with different formats share one")
	}
	if _, ok := s.LogGroupFormat("nobody"); ok {
		t.Error("a group no flow log publishes to has a format")
	}
}
