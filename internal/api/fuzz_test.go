package api

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
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

// fuzzAPIs are the request shapes FuzzHandler builds (its first input).
var fuzzAPIs = []string{"ec2", "logs", "s3"}

// FuzzHandler sends arbitrary EC2 Query forms (Filter.N.Value.M lists,
// IpPermissions, NACL entries, flow log parameters), CloudWatch Logs JSON
// bodies and S3 paths and queries, each correctly signed, to the whole
// handler in memory (no listener). It checks that nothing panics, that a
// signed request is never refused for its signature, that no input makes
// an internal (5xx) error, and that every error is shaped the way the
// service's SDK parses it: EC2 <Response><Errors><Error><Code>, Logs JSON
// {"__type"} with x-amzn-ErrorType, S3 <Error><Code>.
func FuzzHandler(f *testing.F) {
	f.Add(uint8(0), "", "", "", []byte("Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=availability-zone-id&Filter.1.Value.1=use1-az2&Filter.1.Value.2=use1-az*"))
	f.Add(uint8(0), "", "", "", []byte("Action=AuthorizeSecurityGroupIngress&GroupId=sg-0db0000000000db00&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=5432&IpPermissions.1.ToPort=5432&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F16"))
	f.Add(uint8(0), "", "", "", []byte("Action=CreateNetworkAclEntry&NetworkAclId=acl-0d00000000000000b&RuleNumber=90&Protocol=-1&RuleAction=deny&Egress=false&CidrBlock=203.0.113.0%2F24"))
	f.Add(uint8(0), "", "", "", []byte("Action=CreateFlowLogs&ResourceType=VPC&ResourceId.1=vpc-0a0a0a0a0a0a0a0a0&TrafficType=ALL&LogDestinationType=s3&LogDestination=arn%3Aaws%3As3%3A%3A%3Aflowlogs-a%2Fp%2F&DestinationOptions.FileFormat=parquet"))
	f.Add(uint8(0), "", "", "", []byte("Action=DescribeFlowLogs&Filter.1.Name=resource-id&Filter.1.Value.1=vpc-1&MaxResults=5&NextToken=x"))
	f.Add(uint8(0), "", "", "", []byte("Action=DescribeVpcs&Version=2016-11-15&%zz=1"))
	f.Add(uint8(1), "DescribeLogStreams", "", "", []byte(`{"logGroupName":"vpc-flow-logs","orderBy":"LastEventTime","descending":true,"limit":2}`))
	f.Add(uint8(1), "FilterLogEvents", "", "", []byte(`{"logGroupName":"vpc-flow-logs","filterPattern":"[version, account, eni, src, dst, sport, dport=443, ...]","startTime":1795600000000,"limit":3}`))
	f.Add(uint8(1), "GetLogEvents", "", "", []byte(`{"logGroupName":"vpc-flow-logs","logStreamName":"eni-00000000000000000-all","startFromHead":true,"nextToken":"f/1"}`))
	f.Add(uint8(1), "StartQuery", "", "", []byte(`{"logGroupNames":["vpc-flow-logs"],"startTime":0,"endTime":2000000000,"queryString":"stats count(*) by action"}`))
	f.Add(uint8(1), "DescribeLogGroups", "", "", []byte(`{"logGroupNamePrefix":"vpc","limit":0}`))
	f.Add(uint8(2), "", "/flowlogs-a", "list-type=2&prefix=AWSLogs%2F&delimiter=%2F&max-keys=1&continuation-token=QUE", []byte(nil))
	f.Add(uint8(2), "", "/flowlogs-a/AWSLogs/111111111111/x.log.gz", "", []byte(nil))
	f.Add(uint8(2), "", "/flowlogs-a/../secret.txt", "location", []byte(nil))
	f.Add(uint8(2), "", "/", "", []byte(nil))
	logs := fuzzLogStore(f)
	s3root := fuzzS3Root(f)
	doc, err := vpc.DecodeDocument(mustRead(f, "../vpc/testdata/three-tier.yaml"), "three-tier.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, which uint8, target, path, query string, body []byte) {
		api := fuzzAPIs[int(which)%len(fuzzAPIs)]
		req := fuzzRequest(api, target, path, query, body)
		if req == nil {
			return
		}
		if err := sigv4.Sign(req, keyA, "us-east-1", api, testNow); err != nil {
			t.Fatal(err)
		}
		srv := fuzzServer(t, doc, logs, s3root)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		checkAWSResponse(t, api, req, rec)
	})
}

func mustRead(f *testing.F, name string) []byte {
	b, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// fuzzRequest builds a request of one API from the fuzz inputs; nil when
// the inputs cannot make an HTTP request (a server would never see it).
func fuzzRequest(api, target, path, query string, body []byte) *http.Request {
	u := &url.URL{Scheme: "http", Host: "127.0.0.1:4566", Path: "/", RawQuery: query}
	method := http.MethodPost
	hdr := http.Header{}
	switch api {
	case "ec2":
		hdr.Set("Content-Type", "application/x-www-form-urlencoded")
	case "logs":
		hdr.Set("Content-Type", "application/x-amz-json-1.1")
		hdr.Set("X-Amz-Target", logsTargetPrefix+target)
	default:
		method = http.MethodGet
		if strings.HasPrefix(target, "H") {
			method = http.MethodHead
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u.Path = path
		body = nil
	}
	req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	return req
}

// fuzzServer is a fresh server per input (the topology and flow logs are
// mutable), over a shared read-only log store and S3 root.
func fuzzServer(t *testing.T, doc *vpc.Document, logs *logstore.Store, s3root string) *Server {
	topo, errs := vpc.FromDocument(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	flStore, err := flowlog.OpenStore(flowlog.StoreConfig{DataDir: t.TempDir(), AccountID: topo.AccountID, Region: "us-east-1", Seed: 7},
		flowlog.StoreDeps{Resources: flowlog.TopologyResources{Topology: topo}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	flSvc, err := flowlog.New(flowlog.DefaultConfig(), flowlog.Deps{Store: flStore,
		NewDestination: func(publish.FlowLog, flowlog.Resource) (publish.Destination, error) { return nopDestination{}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{"vpc-flow-logs": keyA.AccountID, "other-account-group": keyB.AccountID}
	srv, err := New(Config{Credentials: []sigv4.Credential{keyA, keyB}, Region: "us-east-1"}, Deps{
		Now: func() time.Time { return testNow },
		EC2: multiEC2{&VPCActions{With: LockedTopology(topo)}, &FlowLogActions{Service: flSvc, Account: keyA.AccountID}},
		Logs: &LogsActions{Store: logs, Owner: func(g string) string { return owner[g] }, Region: "us-east-1",
			Queries: fakeQueries{}, Now: func() time.Time { return testNow }},
		S3: NewLocalS3(s3root, func(b string) string { return testOwner[b] }),
	})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func fuzzLogStore(f *testing.F) *logstore.Store {
	st, err := logstore.Open(logstore.Config{Dir: f.TempDir(), SegmentBytes: 1 << 20, NoSync: true}, logstore.Deps{Now: func() time.Time { return testNow }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	var events []logstore.Event
	for i := range 12 {
		events = append(events, logstore.Event{LogGroup: "vpc-flow-logs", LogStream: fmt.Sprintf("eni-%017d-all", i%3),
			Timestamp: testNow.Add(time.Duration(i) * time.Minute).UnixMilli(),
			Message:   fmt.Sprintf("2 111111111111 eni-%017d 10.0.0.%d 10.0.1.1 443 5%d 6 1 40 1 2 ACCEPT OK", i%3, i, i)})
	}
	events = append(events, logstore.Event{LogGroup: "other-account-group", LogStream: "s", Timestamp: testNow.UnixMilli(), Message: "secret"})
	if err := st.Append(context.Background(), events); err != nil {
		f.Fatal(err)
	}
	return st
}

func fuzzS3Root(f *testing.F) string {
	root := f.TempDir()
	for _, name := range []string{
		"flowlogs-a/AWSLogs/111111111111/x.log.gz",
		"flowlogs-a/AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/23/a.log.gz",
		"flowlogs-b/AWSLogs/222222222222/y.log.gz",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("object "+name), 0o644)
	}
	os.WriteFile(filepath.Join(root, "secret.txt"), []byte("outside any bucket"), 0o644)
	return root
}

// authCodes are the errors of a refused signature, in each service's
// spelling; a signed request must never get one.
var authCodes = map[string]bool{"AuthFailure": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
	"InvalidClientTokenId": true, "InvalidAccessKeyId": true, "MissingAuthenticationToken": true,
	"AuthorizationHeaderMalformed": true, "RequestExpired": true, "RequestTimeTooSkewed": true}

func checkAWSResponse(t *testing.T, api string, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	body := rec.Body.Bytes()
	desc := func() string {
		return fmt.Sprintf("%s %s?%s -> %d %s", req.Method, req.URL.EscapedPath(), req.URL.RawQuery, rec.Code, body)
	}
	if rec.Code >= 500 {
		t.Fatalf("internal error for client input: %s", desc())
	}
	if rec.Header().Get("x-amzn-RequestId") == "" {
		t.Fatalf("no request id: %s", desc())
	}
	var code string
	switch api {
	case "ec2":
		if rec.Code < 400 {
			if err := xml.Unmarshal(body, new(struct{})); err != nil {
				t.Fatalf("response is not XML (%v): %s", err, desc())
			}
			return
		}
		var e struct {
			XMLName   xml.Name `xml:"Response"`
			Code      string   `xml:"Errors>Error>Code"`
			Message   string   `xml:"Errors>Error>Message"`
			RequestID string   `xml:"RequestID"`
		}
		if err := xml.Unmarshal(body, &e); err != nil || e.Code == "" || e.RequestID == "" {
			t.Fatalf("EC2 error not shaped as <Response><Errors><Error> (%v): %s", err, desc())
		}
		code = e.Code
	case "logs":
		if rec.Code < 400 {
			if !json.Valid(body) {
				t.Fatalf("response is not JSON: %s", desc())
			}
			return
		}
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Type == "" || rec.Header().Get("x-amzn-ErrorType") != e.Type {
			t.Fatalf("Logs error not shaped as {\"__type\"} (%v): %s", err, desc())
		}
		code = e.Type
	default:
		if rec.Code < 400 || req.Method == http.MethodHead {
			return
		}
		var e struct {
			XMLName xml.Name `xml:"Error"`
			Code    string   `xml:"Code"`
		}
		if err := xml.Unmarshal(body, &e); err != nil || e.Code == "" {
			t.Fatalf("S3 error not shaped as <Error><Code> (%v): %s", err, desc())
		}
		code = e.Code
	}
	if authCodes[code] {
		t.Fatalf("signed request refused: %s", desc())
	}
}
