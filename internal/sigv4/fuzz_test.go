package sigv4

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

var (
	fuzzNow      = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	fuzzCred     = Credential{AccessKeyID: "AKIAFUZZ", SecretAccessKey: "fuzz/secret+key", AccountID: "111122223333"}
	fuzzMethods  = []string{"GET", "POST", "PUT", "HEAD", "DELETE"}
	fuzzServices = []string{"ec2", "logs", "s3"}
	authCodes    = map[string]bool{CodeMissingAuthenticationToken: true, CodeIncompleteSignature: true,
		CodeInvalidClientTokenID: true, CodeSignatureDoesNotMatch: true, CodeRequestExpired: true, "RequestEntityTooLarge": true}
)

// FuzzVerify feeds arbitrary Authorization headers, X-Amz-Date values and
// query strings (presigned URLs) to Verify: every outcome is an *Error with
// one of AWS's authentication codes, never a panic, and a forged request
// is never accepted.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAFUZZ/20261123/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20261123T100000Z", "")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAFUZZ/20261123/us-east-1/ec2/aws4_request", "20261123T100000Z", "")
	f.Add("AWS4-HMAC-SHA256 Credential=garbage", "", "")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAFUZZ/20261122/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=ab", "20261123T100000Z", "")
	f.Add("Basic dXNlcjpwYXNz", "", "")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAFUZZ%2F20261123%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261123T100000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=abc")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAFUZZ%2F20261123%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261123T100000Z&X-Amz-Expires=0&X-Amz-Signature=abc")
	f.Fuzz(func(t *testing.T, auth, amzDate, query string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: query}, Host: "127.0.0.1:4566", Header: http.Header{}}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if amzDate != "" {
			r.Header.Set("X-Amz-Date", amzDate)
		}
		_, err := NewVerifier([]Credential{fuzzCred}, func() time.Time { return fuzzNow }).Verify(r)
		var e *Error
		if err == nil {
			t.Fatalf("forged request accepted: %q %q %q", auth, amzDate, query)
		}
		if !errors.As(err, &e) || !errors.Is(err, ErrAuth) || !authCodes[e.Code] || e.Message == "" {
			t.Fatalf("error %v (%T) is not an AWS authentication error", err, err)
		}
	})
}

// FuzzSignVerify signs arbitrary requests, sends them through the HTTP/1.1
// wire format (as a server receives them) and verifies them: a signed
// request is always accepted as the signer, and the same request with one
// more query parameter is always refused with SignatureDoesNotMatch.
func FuzzSignVerify(f *testing.F) {
	f.Add(uint8(1), uint8(0), "/", "Action=DescribeFlowLogs&Version=2016-11-15&FlowLogId.1=fl-1", "Content-Type", "application/x-www-form-urlencoded", []byte("Action=DescribeFlowLogs"))
	f.Add(uint8(1), uint8(1), "/", "", "X-Amz-Target", "Logs_20140328.DescribeLogGroups", []byte(`{"limit": 5}`))
	f.Add(uint8(0), uint8(2), "/flowlogs/AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/23/a b+c.log.gz", "list-type=2&prefix=AWSLogs%2F&delimiter=/", "Range", "bytes=0-9", []byte(nil))
	f.Add(uint8(0), uint8(2), "/some%20path/x", "a=1&a=0&b=%7E+~&c", "X-Folded", "  two   spaces  ", []byte(nil))
	f.Fuzz(func(t *testing.T, m, s uint8, path, query, hname, hval string, body []byte) {
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		service := fuzzServices[int(s)%len(fuzzServices)]
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u := &url.URL{Scheme: "http", Host: "127.0.0.1:4566", Path: path, RawQuery: query}
		req, err := http.NewRequest(method, u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		if validHeader(hname, hval) {
			req.Header.Add(hname, hval)
		}
		if err := Sign(req, fuzzCred, "us-east-1", service, fuzzNow); err != nil {
			t.Fatalf("Sign: %v", err)
		}
		var wire bytes.Buffer
		if err := req.Write(&wire); err != nil {
			return // the client would not send it either
		}
		received := func() *http.Request {
			r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(wire.Bytes())))
			if err != nil {
				return nil
			}
			return r
		}
		r := received()
		if r == nil {
			return // not a request a server would receive
		}
		ver := NewVerifier([]Credential{fuzzCred}, func() time.Time { return fuzzNow.Add(time.Minute) })
		id, err := ver.Verify(r)
		if err != nil {
			t.Fatalf("signed %s %s?%s (%s) refused: %v\nwire:\n%s", method, r.URL.EscapedPath(), r.URL.RawQuery, service, err, wire.Bytes())
		}
		if id.AccountID != fuzzCred.AccountID || id.Service != service || id.Region != "us-east-1" {
			t.Fatalf("identity %+v", id)
		}
		r = received()
		if r.URL.RawQuery != "" {
			r.URL.RawQuery += "&"
		}
		r.URL.RawQuery += "tampered=1"
		var e *Error
		if _, err := ver.Verify(r); !errors.As(err, &e) || e.Code != CodeSignatureDoesNotMatch {
			t.Fatalf("tampered query accepted or refused for another reason: %v", err)
		}
	})
}

// validHeader reports whether name and value survive the wire format
// unchanged in meaning: a token name and a value without control bytes.
func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	switch strings.ToLower(name) {
	case "host", "authorization", "content-length", "transfer-encoding", "connection", "x-amz-date", "x-amz-content-sha256", "user-agent":
		return false
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
