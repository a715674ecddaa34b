package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/datadir"
	"vpcflow/internal/flowlog"
)

func runFlowLogs(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestFlowLogsCLI(t *testing.T) {
	dir := t.TempDir()
	common := []string{"flowlogs", "--data", dir, "--seed", "3", "--topology", "../../internal/vpc/testdata/three-tier.yaml"}
	out, err := runFlowLogs(t, append(common, "create", "--resource-type", "Subnet",
		"--resource-ids", "subnet-0e1a00000000000a1,subnet-0ffffffffffffffff",
		"--traffic-type", "REJECT", "--log-destination-type", "s3", "--log-destination", "arn:aws:s3:::flow-bucket/prod/",
		"--max-aggregation-interval", "60",
		"--destination-options", "FileFormat=parquet,HiveCompatiblePartitions=true,PerHourPartition=true",
		"--tag-specifications", "ResourceType=vpc-flow-log,Tags=[{Key=Name,Value=web}]")...)
	if err != nil {
		t.Fatal(err, out)
	}
	var created flowlog.CreateOutput
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatal(err, out)
	}
	want := []flowlog.UnsuccessfulItem{{
		Error:      flowlog.Error{Code: "InvalidSubnetID.NotFound", Message: "The subnet ID 'subnet-0ffffffffffffffff' does not exist"},
		ResourceID: "subnet-0ffffffffffffffff",
	}}
	if len(created.FlowLogIDs) != 1 || !cmp.Equal(created.Unsuccessful, want) {
		t.Fatalf("create output:\n%s", out)
	}
	id := created.FlowLogIDs[0]

	out, err = runFlowLogs(t, append(common, "describe", "--filter", "Name=resource-id,Values=subnet-0e1a00000000000a1", "--filter", "Name=traffic-type,Values=REJECT")...)
	if err != nil {
		t.Fatal(err, out)
	}
	var desc flowlog.DescribeOutput
	if err := json.Unmarshal([]byte(out), &desc); err != nil {
		t.Fatal(err, out)
	}
	if len(desc.FlowLogs) != 1 {
		t.Fatalf("describe output:\n%s", out)
	}
	fl := desc.FlowLogs[0]
	if fl.FlowLogID != id || fl.MaxAggregationInterval != 60 || *fl.DestinationOptions != (flowlog.DestinationOptions{FileFormat: "parquet", HiveCompatiblePartitions: true, PerHourPartition: true}) ||
		!strings.HasPrefix(fl.LogFormat, "${version} ${account-id}") || fl.Tags[0] != (flowlog.Tag{Key: "Name", Value: "web"}) {
		t.Errorf("describe output:\n%s", out)
	}

	_, err = runFlowLogs(t, append(common, "create", "--resource-type", "VPC", "--resource-ids", "vpc-0a1b2c3d4e5f60718",
		"--traffic-type", "ALL", "--log-format", "${version} ${bogus}", "--log-destination-type", "s3", "--log-destination", "arn:aws:s3:::flow-bucket")...)
	if err == nil || !strings.HasPrefix(err.Error(), "An error occurred (InvalidParameter) when calling the CreateFlowLogs operation: ") {
		t.Errorf("bad format: err = %v", err)
	}

	out, err = runFlowLogs(t, append(common, "delete", "--flow-log-ids", id+",fl-0000000000000000a")...)
	if err != nil {
		t.Fatal(err, out)
	}
	var del flowlog.DeleteOutput
	json.Unmarshal([]byte(out), &del)
	if len(del.Unsuccessful) != 1 || del.Unsuccessful[0].Error.Code != "InvalidFlowLogId.NotFound" || del.Unsuccessful[0].ResourceID != "fl-0000000000000000a" {
		t.Errorf("delete output:\n%s", out)
	}
	out, _ = runFlowLogs(t, append(common, "describe")...)
	if strings.TrimSpace(out) != "{\n    \"FlowLogs\": []\n}" {
		t.Errorf("describe after delete:\n%s", out)
	}
}

func TestFlowLogsShorthand(t *testing.T) {
	fs, err := parseFilters(`Name=tag:Name,Values=a,b`)
	if err != nil || !cmp.Equal(fs, []flowlog.Filter{{Name: "tag:Name", Values: []string{"a", "b"}}}) {
		t.Errorf("filters %v %v", fs, err)
	}
	fs, err = parseFilters(`[{"Name":"resource-id","Values":["vpc-1"]}]`)
	if err != nil || len(fs) != 1 || fs[0].Values[0] != "vpc-1" {
		t.Errorf("json filters %v %v", fs, err)
	}
	ts, err := parseTagSpecifications(`ResourceType=vpc-flow-log,Tags=[{Key=a,Value=1},{Key=b,Value=}]`)
	want := []flowlog.TagSpecification{{ResourceType: "vpc-flow-log", Tags: []flowlog.Tag{{Key: "a", Value: "1"}, {Key: "b", Value: ""}}}}
	if diff := cmp.Diff(ts, want); err != nil || diff != "" {
		t.Errorf("tag specs %v (-got +want):\n%s", err, diff)
	}
	if _, err := parseDestinationOptions("FileFormat=parquet,PerHour=true"); err == nil {
		t.Error("unknown destination option accepted")
	}
	// A mistyped --data is an error, not an empty list.
	if out, err := runFlowLogs(t, "flowlogs", "describe", "--data", t.TempDir()+"/missing"); err == nil || !strings.Contains(out+err.Error(), "data directory") {
		t.Errorf("describe of a missing data directory: %s", out)
	}
}

// While a running vpcflow holds the data directory, flow logs change only
// through its API; describe still reads, and demo refuses to empty it.
func TestFlowLogsDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	lock, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	common := []string{"flowlogs", "--data", dir, "--topology", "../../internal/vpc/testdata/three-tier.yaml"}
	out, err := runFlowLogs(t, append(common, "create", "--resource-type", "VPC", "--resource-ids", "vpc-0a1b2c3d4e5f60718",
		"--traffic-type", "ALL", "--log-destination-type", "s3", "--log-destination", "arn:aws:s3:::b")...)
	if !errors.Is(err, datadir.ErrInUse) || !strings.Contains(err.Error(), "create-flow-logs") {
		t.Errorf("create while in use: %v %s", err, out)
	}
	if _, err := runFlowLogs(t, append(common, "delete", "--flow-log-ids", "fl-00000000000000000")...); !errors.Is(err, datadir.ErrInUse) {
		t.Errorf("delete while in use: %v", err)
	}
	if out, err := runFlowLogs(t, append(common, "describe")...); err != nil {
		t.Errorf("describe while in use: %v %s", err, out)
	}
	if _, err := runFlowLogs(t, "demo", "--out", dir, "--duration", "1m"); !errors.Is(err, datadir.ErrInUse) {
		t.Errorf("demo into a data directory in use: %v", err)
	}
}
