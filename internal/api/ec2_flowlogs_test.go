package api

import (
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"vpcflow/internal/logstore"
	"vpcflow/internal/sigv4"
	"vpcflow/internal/vpc"
)

// TestFlowLogParameterChecks: every caller gets the parameter checks and
// DryRun of CreateFlowLogs, DescribeFlowLogs and DeleteFlowLogs (another
// account's key used to skip them), and a parameter sent as 0 or empty is
// not taken for one left out.
func TestFlowLogParameterChecks(t *testing.T) {
	data, err := os.ReadFile("../vpc/testdata/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := vpc.DecodeDocument(data, "three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	logs, err := logstore.Open(logstore.Config{Dir: t.TempDir(), NoSync: true}, logstore.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	ts := httptest.NewServer(fuzzServer(t, doc, logs, t.TempDir()).Handler())
	defer ts.Close()
	call := func(cred sigv4.Credential, form string) (int, string) {
		t.Helper()
		q, err := url.ParseQuery(form)
		if err != nil {
			t.Fatal(err)
		}
		q.Set("Version", "2016-11-15")
		code, _, body := do(t, "POST", ts.URL+"/", q.Encode(), &cred, "ec2", map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		return code, body
	}
	create := "Action=CreateFlowLogs&ResourceType=VPC&ResourceId.1=vpc-0a1b2c3d4e5f60718&LogDestinationType=s3&LogDestination=arn:aws:s3:::flowlogs-a"
	for _, tc := range []struct {
		name, form, want string
	}{
		{"bad traffic type", create + "&TrafficType=BOGUS", "<Code>InvalidParameterValue</Code>"},
		{"dry run", create + "&TrafficType=ALL&DryRun=true", "<Code>DryRunOperation</Code>"},
		{"interval 0", create + "&TrafficType=ALL&MaxAggregationInterval=0", "MaxAggregationInterval is invalid"},
		{"empty log format", create + "&TrafficType=ALL&LogFormat=", "A log format must include at least one field"},
		{"describe dry run", "Action=DescribeFlowLogs&DryRun=true", "<Code>DryRunOperation</Code>"},
		{"describe bad filter", "Action=DescribeFlowLogs&Filter.1.Name=bogus&Filter.1.Value.1=x", "The filter &#39;bogus&#39; is invalid"},
		{"describe max results 0", "Action=DescribeFlowLogs&MaxResults=0", "Expecting a value between 5 and 1000"},
		{"delete dry run", "Action=DeleteFlowLogs&FlowLogId.1=fl-0123456789abcdef0&DryRun=true", "<Code>DryRunOperation</Code>"},
		{"delete without ids", "Action=DeleteFlowLogs", "<Code>MissingParameter</Code>"},
		// A boolean that is neither true nor false is an error, not false:
		// DryRun=maybe created a flow log.
		{"DryRun=maybe", create + "&TrafficType=ALL&DryRun=maybe", "Value (maybe) for parameter DryRun is invalid"},
		{"describe DryRun=1", "Action=DescribeFlowLogs&DryRun=1", "Value (1) for parameter DryRun is invalid"},
		// Tag limits count characters, not bytes.
		{"tag key of 128 characters", create + "&TrafficType=ALL&TagSpecification.1.ResourceType=vpc-flow-log&TagSpecification.1.Tag.1.Key=" +
			strings.Repeat("é", 128) + "&TagSpecification.1.Tag.1.Value=v", "Tag key exceeds the maximum length of 127 characters"},
	} {
		for _, cred := range []sigv4.Credential{keyA, keyB} {
			if code, body := call(cred, tc.form); code < 400 || !strings.Contains(body, tc.want) {
				t.Errorf("%s as %s: %d %s", tc.name, cred.AccountID, code, body)
			}
		}
	}
	// A log group ARN of another account: the events would go to the
	// flow log's own account and region, so it is refused.
	if code, body := call(keyA, "Action=CreateFlowLogs&ResourceType=VPC&ResourceId.1=vpc-0a1b2c3d4e5f60718&TrafficType=ALL"+
		"&LogDestinationType=cloud-watch-logs&LogDestination=arn:aws:logs:eu-west-1:999999999999:log-group:leak"+
		"&DeliverLogsPermissionArn=arn:aws:iam::123456789012:role/r"); code != 400 || !strings.Contains(body, "The log group must be in the flow log&#39;s account 123456789012 and region us-east-1") {
		t.Errorf("log group of another account: %d %s", code, body)
	}
	if code, body := call(keyA, create+"&TrafficType=ALL&TagSpecification.1.ResourceType=vpc-flow-log&TagSpecification.1.Tag.1.Key="+
		strings.Repeat("é", 127)+"&TagSpecification.1.Tag.1.Value="+strings.Repeat("é", 256)); strings.Contains(body, "maximum length") {
		t.Errorf("tag of 127 and 256 two-byte characters: %d %s", code, body)
	}
	// Another account then finds nothing of the owner's.
	if code, body := call(keyB, create+"&TrafficType=ALL"); code != 200 || !strings.Contains(body, "The vpc ID &#39;vpc-0a1b2c3d4e5f60718&#39; does not exist") {
		t.Errorf("create as another account: %d %s", code, body)
	}
	if code, body := call(keyB, "Action=DeleteFlowLogs&FlowLogId.1=fl-0123456789abcdef0"); code != 200 || !strings.Contains(body, "These flow log ids in the input list are not found") {
		t.Errorf("delete as another account: %d %s", code, body)
	}
}
