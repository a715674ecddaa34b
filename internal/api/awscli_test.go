package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/flowlog"
	"vpcflow/internal/logstore"
	"vpcflow/internal/publish"
	"vpcflow/internal/sigv4"
	"vpcflow/internal/vpc"
)

// awsCLI finds the AWS CLI: Debian's package installs /usr/bin/aws, which
// the test prefers over other installs on PATH.
func awsCLI(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/aws"); err == nil {
		return "/usr/bin/aws"
	}
	p, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("VPCFLOW_INTEGRATION") == "1" {
			t.Fatal("aws CLI not installed (scripts/install-tools.sh installs Debian's awscli)")
		}
		t.Skip("aws CLI not installed")
	}
	return p
}

type multiEC2 []interface {
	EC2Backend
	Actions() []string
}

func (m multiEC2) EC2Action(r *http.Request, account, action string, p Params) (any, error) {
	for _, b := range m {
		for _, a := range b.Actions() {
			if a == action {
				return b.EC2Action(r, account, action, p)
			}
		}
	}
	return nil, errInvalidAction(action)
}

// TestAWSCLI drives the server with the real AWS CLI over loopback.
func TestAWSCLI(t *testing.T) {
	aws := awsCLI(t)
	topo, err := vpc.LoadFile("../vpc/testdata/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	key := "AWSLogs/" + topo.AccountID + "/vpcflowlogs/us-east-1/2026/11/23/" + topo.AccountID + "_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261123T1000Z_0a1b2c3d.log.gz"
	obj := filepath.Join(dataDir, "s3", "flowlogs-bucket", key)
	os.MkdirAll(filepath.Dir(obj), 0o755)
	os.WriteFile(obj, []byte("gzip bytes stand-in"), 0o644)

	st, err := logstore.Open(logstore.Config{Dir: filepath.Join(dataDir, "logs"), SegmentBytes: 1 << 20, NoSync: true}, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	st.Append(context.Background(), []logstore.Event{{LogGroup: "vpc-flow-logs", LogStream: "eni-0ba5000000000b001-all", Timestamp: now.Add(-time.Minute).UnixMilli(),
		Message: "2 " + topo.AccountID + " eni-0ba5000000000b001 203.0.113.12 10.0.2.10 40000 22 6 3 180 1 2 REJECT OK"}})

	cred := sigv4.Credential{AccessKeyID: "AKIAVPCFLOWCLITEST", SecretAccessKey: "cli/secret+key", AccountID: topo.AccountID}
	flStore, err := flowlog.OpenStore(flowlog.StoreConfig{DataDir: filepath.Join(dataDir, "state"), AccountID: topo.AccountID, Region: "us-east-1", Seed: 7},
		flowlog.StoreDeps{Resources: flowlog.TopologyResources{Topology: topo}})
	if err != nil {
		t.Fatal(err)
	}
	flSvc, err := flowlog.New(flowlog.DefaultConfig(), flowlog.Deps{Store: flStore,
		NewDestination: func(publish.FlowLog, flowlog.Resource) (publish.Destination, error) { return nopDestination{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	owned := func(string) string { return topo.AccountID }
	srv, err := New(Config{Credentials: []sigv4.Credential{cred}, Region: "us-east-1"}, Deps{
		EC2:  multiEC2{&VPCActions{With: LockedTopology(topo)}, &FlowLogActions{Service: flSvc, Account: topo.AccountID}},
		Logs: &LogsActions{Store: st, Owner: owned, Region: "us-east-1", Queries: fakeQueries{}},
		S3:   NewLocalS3(filepath.Join(dataDir, "s3"), owned),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	defer hs.Close()
	endpoint := "http://" + ln.Addr().String()

	run := func(args ...string) (string, error) {
		cmd := exec.Command(aws, append([]string{"--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+cred.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+cred.SecretAccessKey,
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true",
			"HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	var vpcs struct {
		Vpcs []struct{ VpcId, CidrBlock string }
	}
	json.Unmarshal([]byte(mustRun("ec2", "describe-vpcs")), &vpcs)
	if len(vpcs.Vpcs) != 1 || vpcs.Vpcs[0].VpcId != topo.VPCs[0].ID {
		t.Errorf("describe-vpcs: %+v", vpcs)
	}
	var sgs struct {
		SecurityGroups []struct {
			GroupId       string
			IpPermissions []struct {
				IpProtocol string
				FromPort   int
			}
		}
	}
	json.Unmarshal([]byte(mustRun("ec2", "describe-security-groups", "--group-ids", "sg-0db0000000000db00")), &sgs)
	if len(sgs.SecurityGroups) != 1 || len(sgs.SecurityGroups[0].IpPermissions) == 0 {
		t.Errorf("describe-security-groups: %+v", sgs)
	}
	mustRun("ec2", "authorize-security-group-ingress", "--group-id", "sg-0db0000000000db00", "--protocol", "tcp", "--port", "5439", "--cidr", "10.0.0.0/16")
	if out, err := run("ec2", "authorize-security-group-ingress", "--group-id", "sg-0db0000000000db00", "--protocol", "tcp", "--port", "5439", "--cidr", "10.0.0.0/16"); err == nil || !strings.Contains(out, "InvalidPermission.Duplicate") {
		t.Errorf("duplicate authorize: %v %s", err, out)
	}
	mustRun("ec2", "create-network-acl-entry", "--network-acl-id", "acl-0d00000000000000b", "--ingress", "--rule-number", "95",
		"--protocol", "tcp", "--port-range", "From=22,To=22", "--cidr-block", "203.0.113.0/24", "--rule-action", "deny")
	var acls struct {
		NetworkAcls []struct{ Entries []struct{ RuleNumber int } }
	}
	json.Unmarshal([]byte(mustRun("ec2", "describe-network-acls", "--network-acl-ids", "acl-0d00000000000000b")), &acls)
	found := false
	for _, e := range acls.NetworkAcls[0].Entries {
		found = found || e.RuleNumber == 95
	}
	if !found {
		t.Errorf("new NACL entry 95 not described: %+v", acls)
	}
	if out, err := run("ec2", "describe-subnets", "--subnet-ids", "subnet-00000000000000bad"); err == nil || !strings.Contains(out, "InvalidSubnetID.NotFound") {
		t.Errorf("unknown subnet: %v %s", err, out)
	}

	var created struct {
		FlowLogIds   []string
		Unsuccessful []struct {
			ResourceId string
			Error      struct{ Code string }
		}
	}
	json.Unmarshal([]byte(mustRun("ec2", "create-flow-logs", "--resource-type", "VPC", "--resource-ids", topo.VPCs[0].ID, "vpc-00000000000000bad",
		"--traffic-type", "ALL", "--log-destination-type", "s3", "--log-destination", "arn:aws:s3:::flowlogs-bucket",
		"--max-aggregation-interval", "60", "--destination-options", "FileFormat=parquet,HiveCompatiblePartitions=true,PerHourPartition=false")), &created)
	if len(created.FlowLogIds) != 1 || !strings.HasPrefix(created.FlowLogIds[0], "fl-") || len(created.Unsuccessful) != 1 ||
		created.Unsuccessful[0].ResourceId != "vpc-00000000000000bad" {
		t.Fatalf("create-flow-logs: %+v", created)
	}
	var described struct {
		FlowLogs []struct {
			FlowLogId, LogFormat, DeliverLogsStatus, FlowLogStatus string
			MaxAggregationInterval                                 int
			DestinationOptions                                     struct {
				FileFormat               string
				HiveCompatiblePartitions bool
			}
		}
	}
	json.Unmarshal([]byte(mustRun("ec2", "describe-flow-logs", "--flow-log-ids", created.FlowLogIds[0])), &described)
	if len(described.FlowLogs) != 1 || described.FlowLogs[0].MaxAggregationInterval != 60 || described.FlowLogs[0].FlowLogStatus != "ACTIVE" ||
		!strings.HasPrefix(described.FlowLogs[0].LogFormat, "${version} ${account-id}") || described.FlowLogs[0].DestinationOptions.FileFormat != "parquet" ||
		!described.FlowLogs[0].DestinationOptions.HiveCompatiblePartitions {
		t.Errorf("describe-flow-logs: %+v", described)
	}
	if out, err := run("ec2", "create-flow-logs", "--resource-type", "VPC", "--resource-ids", topo.VPCs[0].ID, "--traffic-type", "ALL",
		"--log-destination-type", "s3", "--log-destination", "arn:aws:s3:::flowlogs-bucket", "--log-format", "${srcaddr} ${nope}"); err == nil || !strings.Contains(out, "InvalidParameter") {
		t.Errorf("bad log format: %v %s", err, out)
	}
	out := mustRun("ec2", "delete-flow-logs", "--flow-log-ids", created.FlowLogIds[0], "fl-00000000000000000")
	if !strings.Contains(out, "InvalidFlowLogId.NotFound") || !strings.Contains(out, "fl-00000000000000000") {
		t.Errorf("delete-flow-logs: %s", out)
	}
	json.Unmarshal([]byte(mustRun("ec2", "describe-flow-logs")), &described)
	if len(described.FlowLogs) != 0 {
		t.Errorf("flow log not deleted: %+v", described)
	}

	out = mustRun("logs", "describe-log-groups")
	if !strings.Contains(out, `"logGroupName": "vpc-flow-logs"`) {
		t.Errorf("describe-log-groups: %s", out)
	}
	out = mustRun("logs", "get-log-events", "--log-group-name", "vpc-flow-logs", "--log-stream-name", "eni-0ba5000000000b001-all")
	if !strings.Contains(out, "203.0.113.12 10.0.2.10 40000 22 6 3 180 1 2 REJECT OK") {
		t.Errorf("get-log-events: %s", out)
	}
	out = mustRun("logs", "start-query", "--log-group-name", "vpc-flow-logs", "--start-time", fmt.Sprint(now.Add(-time.Hour).Unix()),
		"--end-time", fmt.Sprint(now.Unix()), "--query-string", "stats count(*) by srcAddr")
	var q struct{ QueryId string }
	json.Unmarshal([]byte(out), &q)
	var res struct{ Status string }
	for range 50 {
		json.Unmarshal([]byte(mustRun("logs", "get-query-results", "--query-id", q.QueryId)), &res)
		if res.Status == "Complete" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res.Status != "Complete" {
		t.Errorf("get-query-results status %q", res.Status)
	}

	out = mustRun("s3", "ls", "s3://flowlogs-bucket/AWSLogs/"+topo.AccountID+"/vpcflowlogs/us-east-1/2026/11/23/")
	if !strings.Contains(out, "_20261123T1000Z_0a1b2c3d.log.gz") {
		t.Errorf("s3 ls: %s", out)
	}
	dst := filepath.Join(t.TempDir(), "copy.log.gz")
	mustRun("s3", "cp", "s3://flowlogs-bucket/"+key, dst)
	if b, _ := os.ReadFile(dst); string(b) != "gzip bytes stand-in" {
		t.Errorf("s3 cp copied %q", b)
	}

	// Wrong secret: the CLI reports AWS's error code.
	cred.SecretAccessKey = "wrong"
	cmd := exec.Command(aws, "--endpoint-url", endpoint, "--region", "us-east-1", "ec2", "describe-vpcs")
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+cred.AccessKeyID, "AWS_SECRET_ACCESS_KEY=wrong", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "AuthFailure") {
		t.Errorf("bad secret: %v %s", err, out)
	}
}

type nopDestination struct{}

func (nopDestination) Deliver(context.Context, publish.Batch) error { return nil }
func (nopDestination) Flush(context.Context) error                  { return nil }
func (nopDestination) Status() publish.Status                       { return publish.Status{State: publish.DeliverySuccess} }
func (nopDestination) Close() error                                 { return nil }
