package api

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/sigv4"
)

var (
	testNow   = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	keyA      = sigv4.Credential{AccessKeyID: "AKIAACCOUNTA", SecretAccessKey: "secretA", AccountID: "111111111111"}
	keyB      = sigv4.Credential{AccessKeyID: "AKIAACCOUNTB", SecretAccessKey: "secretB", AccountID: "222222222222"}
	testOwner = map[string]string{"flowlogs-a": keyA.AccountID, "flowlogs-b": keyB.AccountID, "metrics": keyA.AccountID}
)

type fakeEC2 struct{}

func (fakeEC2) EC2Action(r *http.Request, account, action string, p Params) (any, error) {
	if action != "DescribeFlowLogs" {
		return nil, errInvalidAction(action)
	}
	return struct {
		XMLName   xml.Name `xml:"DescribeFlowLogsResponse"`
		NS        string   `xml:"xmlns,attr"`
		RequestID string   `xml:"requestId"`
		Account   string   `xml:"account"`
		IDs       []string `xml:"flowLogIdSet>item"`
	}{NS: EC2Namespace, RequestID: RequestID(r), Account: account, IDs: p.List("FlowLogId")}, nil
}

func newTestServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{
		"flowlogs-a/AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/23/a.log.gz",
		"flowlogs-a/AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/23/b.log.gz",
		"flowlogs-a/AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/24/c.log.gz",
		"flowlogs-b/AWSLogs/222222222222/x.log.gz",
		"metrics/AWSLogs/111111111111/m.log.gz", // a bucket named like a route
	} {
		p := filepath.Join(root, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("content of "+filepath.Base(f)), 0o644)
	}
	os.WriteFile(filepath.Join(root, "secret.txt"), []byte("outside any bucket"), 0o644)
	srv, err := New(Config{Credentials: []sigv4.Credential{keyA, keyB}, Region: "us-east-1", MaxBodyBytes: 4096},
		Deps{Now: func() time.Time { return testNow }, EC2: fakeEC2{},
			S3: NewLocalS3(root, func(b string) string { return testOwner[b] })})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, root
}

func do(t *testing.T, method, url string, body string, cred *sigv4.Credential, service string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if cred != nil {
		if err := sigv4.Sign(req, *cred, "us-east-1", service, testNow); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestEC2QueryAndErrors(t *testing.T) {
	ts, _ := newTestServer(t)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	code, _, body := do(t, "POST", ts.URL+"/", "Action=DescribeFlowLogs&Version=2016-11-15&FlowLogId.2=fl-b&FlowLogId.1=fl-a", &keyA, "ec2", form)
	if code != 200 || !strings.Contains(body, "<account>111111111111</account>") || !strings.Contains(body, "<item>fl-a</item><item>fl-b</item>") {
		t.Errorf("describe: %d %s", code, body)
	}
	code, _, body = do(t, "POST", ts.URL+"/", "Action=RunInstances&Version=2016-11-15", &keyA, "ec2", form)
	if code != 400 || !strings.Contains(body, "<Response><Errors><Error><Code>InvalidAction</Code>") || !strings.Contains(body, "<RequestID>") {
		t.Errorf("unknown action: %d %s", code, body)
	}
	code, _, body = do(t, "POST", ts.URL+"/", "Action=DescribeFlowLogs&Version=2016-11-15", nil, "ec2", form)
	if code != 401 || !strings.Contains(body, "<Code>AuthFailure</Code>") {
		t.Errorf("unsigned: %d %s", code, body)
	}
	bad := keyA
	bad.SecretAccessKey = "wrong"
	code, _, body = do(t, "POST", ts.URL+"/", "Action=DescribeFlowLogs&Version=2016-11-15", &bad, "ec2", form)
	if code != 401 || !strings.Contains(body, "<Code>AuthFailure</Code>") {
		t.Errorf("bad signature: %d %s", code, body)
	}
	code, _, body = do(t, "POST", ts.URL+"/", "Action=DescribeFlowLogs&X="+strings.Repeat("a", 5000), &keyA, "ec2", form)
	if code != 413 || !strings.Contains(body, "RequestEntityTooLarge") {
		t.Errorf("huge body: %d %s", code, body)
	}
	code, _, body = do(t, "POST", ts.URL+"/", "Action=DescribeFlowLogs&%zz=1", &keyA, "ec2", form)
	if code != 400 || !strings.Contains(body, "<Errors>") {
		t.Errorf("malformed query: %d %s", code, body)
	}
}

func TestLogsJSONErrors(t *testing.T) {
	ts, _ := newTestServer(t)
	h := map[string]string{"X-Amz-Target": "Logs_20140328.DescribeLogGroups", "Content-Type": "application/x-amz-json-1.1"}
	code, hdr, body := do(t, "POST", ts.URL+"/", "{}", nil, "logs", h)
	if code != 403 || !strings.Contains(body, `"__type":"MissingAuthenticationToken"`) {
		t.Errorf("unsigned logs: %d %s", code, body)
	}
	if hdr.Get("x-amzn-RequestId") == "" {
		t.Error("no request id header")
	}
	code, _, body = do(t, "POST", ts.URL+"/", "{not json", &keyA, "logs", h)
	if code != 400 || !strings.Contains(body, "SerializationException") {
		t.Errorf("bad json: %d %s", code, body)
	}
}

func TestS3ReadAccess(t *testing.T) {
	ts, _ := newTestServer(t)
	code, _, body := do(t, "GET", ts.URL+"/", "", &keyA, "s3", nil)
	if code != 200 || !strings.Contains(body, "<Name>flowlogs-a</Name>") || strings.Contains(body, "flowlogs-b") {
		t.Errorf("list buckets: %d %s", code, body)
	}
	code, _, body = do(t, "GET", ts.URL+"/flowlogs-a?list-type=2&prefix=AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/&delimiter=/", "", &keyA, "s3", nil)
	if code != 200 || !strings.Contains(body, "<Prefix>AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/23/</Prefix>") ||
		!strings.Contains(body, "<KeyCount>2</KeyCount>") {
		t.Errorf("list with delimiter: %d %s", code, body)
	}
	code, _, body = do(t, "GET", ts.URL+"/flowlogs-a?list-type=2&max-keys=2", "", &keyA, "s3", nil)
	if code != 200 || !strings.Contains(body, "<IsTruncated>true</IsTruncated>") || !strings.Contains(body, "<NextContinuationToken>") {
		t.Errorf("paged list: %d %s", code, body)
	}
	tok := body[strings.Index(body, "<NextContinuationToken>")+len("<NextContinuationToken>"):]
	tok = tok[:strings.Index(tok, "<")]
	code, _, body = do(t, "GET", ts.URL+"/flowlogs-a?list-type=2&max-keys=2&continuation-token="+tok, "", &keyA, "s3", nil)
	if code != 200 || !strings.Contains(body, "24/c.log.gz") || strings.Contains(body, "23/a.log.gz") {
		t.Errorf("second page: %d %s", code, body)
	}
	// The owner when asked (ListObjectsV2 fetch-owner), and not otherwise.
	if code, _, body = do(t, "GET", ts.URL+"/flowlogs-a?list-type=2&fetch-owner=true", "", &keyA, "s3", nil); code != 200 || !strings.Contains(body, "<Owner><ID>111111111111</ID></Owner>") {
		t.Errorf("fetch-owner: %d %s", code, body)
	}
	if _, _, body = do(t, "GET", ts.URL+"/flowlogs-a?list-type=2", "", &keyA, "s3", nil); strings.Contains(body, "<Owner>") {
		t.Errorf("owner without fetch-owner: %s", body)
	}
	// A token this server did not give is refused, even one that decodes.
	code, _, body = do(t, "GET", ts.URL+"/flowlogs-a?list-type=2&continuation-token=garbage", "", &keyA, "s3", nil)
	if code != 400 || !strings.Contains(body, "<Code>InvalidArgument</Code>") {
		t.Errorf("foreign continuation token: %d %s", code, body)
	}
	key := "/flowlogs-a/AWSLogs/111111111111/vpcflowlogs/us-east-1/2026/11/23/a.log.gz"
	code, hdr, body := do(t, "GET", ts.URL+key, "", &keyA, "s3", nil)
	if code != 200 || body != "content of a.log.gz" || hdr.Get("ETag") == "" {
		t.Errorf("get: %d %q %v", code, body, hdr)
	}
	code, _, body = do(t, "GET", ts.URL+key, "", &keyA, "s3", map[string]string{"Range": "bytes=0-6"})
	if code != 206 || body != "content" {
		t.Errorf("range: %d %q", code, body)
	}
	// A range past the end is S3's XML InvalidRange; one that overlaps
	// the object is served.
	code, _, body = do(t, "GET", ts.URL+key, "", &keyA, "s3", map[string]string{"Range": "bytes=100-200"})
	if code != 416 || !strings.Contains(body, "<Code>InvalidRange</Code>") {
		t.Errorf("range past the end: %d %q", code, body)
	}
	code, _, body = do(t, "GET", ts.URL+key, "", &keyA, "s3", map[string]string{"Range": "bytes=100-200,12-"})
	if code != 206 || body != ".log.gz" {
		t.Errorf("ranges, one inside: %d %q", code, body)
	}
	code, hdr, body = do(t, "HEAD", ts.URL+key, "", &keyA, "s3", nil)
	if code != 200 || body != "" || hdr.Get("Content-Length") != "19" {
		t.Errorf("head: %d %q %v", code, body, hdr)
	}
	// Account isolation: B cannot read A's bucket.
	code, _, body = do(t, "GET", ts.URL+key, "", &keyB, "s3", nil)
	if code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("cross-account: %d %s", code, body)
	}
	for _, p := range []string{"/flowlogs-a/../secret.txt", "/flowlogs-a/%2e%2e/secret.txt", "/flowlogs-a/AWSLogs/..%2F..%2Fsecret.txt", "/flowlogs-a//etc/passwd", "/../secret.txt"} {
		code, _, body = do(t, "GET", ts.URL+p, "", &keyA, "s3", nil)
		if code == 200 || strings.Contains(body, "outside any bucket") {
			t.Errorf("traversal %s: %d %s", p, code, body)
		}
	}
	code, _, body = do(t, "GET", ts.URL+"/flowlogs-a/nope.gz", "", &keyA, "s3", nil)
	if code != 404 || !strings.Contains(body, "<Code>NoSuchKey</Code>") {
		t.Errorf("missing key: %d %s", code, body)
	}
	code, _, body = do(t, "PUT", ts.URL+"/flowlogs-a/new.gz", "data", &keyA, "s3", nil)
	if code != 405 {
		t.Errorf("put: %d %s", code, body)
	}
	code, _, body = do(t, "GET", ts.URL+key, "", nil, "s3", nil)
	if code != 403 || !strings.Contains(body, "<Code>AccessDenied</Code>") {
		t.Errorf("anonymous: %d %s", code, body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts, _ := newTestServer(t)
	code, _, body := do(t, "GET", ts.URL+"/healthz", "", nil, "", nil)
	if code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	do(t, "GET", ts.URL+"/", "", &keyA, "s3", nil)
	code, _, body = do(t, "GET", ts.URL+"/metrics", "", nil, "", nil)
	if code != 200 || !strings.Contains(body, `vpcflow_api_requests_total{api="s3",status="2xx"} 1`) {
		t.Errorf("metrics: %d %s", code, body)
	}
	// Signed, the same paths are S3 calls: a bucket may be named "metrics"
	// or "healthz", and GET / is ListBuckets.
	code, _, body = do(t, "GET", ts.URL+"/metrics?list-type=2", "", &keyA, "s3", nil)
	if code != 200 || !strings.Contains(body, "<Key>AWSLogs/111111111111/m.log.gz</Key>") {
		t.Errorf("list bucket metrics: %d %s", code, body)
	}
	code, _, body = do(t, "GET", ts.URL+"/healthz?list-type=2", "", &keyA, "s3", nil)
	if code != 404 || !strings.Contains(body, "<Code>NoSuchBucket</Code>") {
		t.Errorf("list bucket healthz: %d %s", code, body)
	}
}
