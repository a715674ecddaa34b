package sigv4

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	suiteKey    = "AKIDEXAMPLE"
	suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	suiteDate   = "20150830T123600Z"
)

// Vectors from AWS's published SigV4 test suite (region us-east-1, service
// "service") and the S3 "GET Object" example of the S3 API reference.
var vectors = []struct {
	name, method, url, key, secret, date, region, service string
	headers                                               [][2]string
	signed, signature                                     string
}{
	{"get-vanilla", "GET", "https://example.amazonaws.com/", suiteKey, suiteSecret, suiteDate, "us-east-1", "service",
		nil, "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"post-vanilla", "POST", "https://example.amazonaws.com/", suiteKey, suiteSecret, suiteDate, "us-east-1", "service",
		nil, "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	{"get-vanilla-query-order-key-case", "GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", suiteKey, suiteSecret, suiteDate, "us-east-1", "service",
		nil, "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	{"get-unreserved", "GET", "https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", suiteKey, suiteSecret, suiteDate, "us-east-1", "service",
		nil, "host;x-amz-date", "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
	{"s3-get-object", "GET", "https://examplebucket.s3.amazonaws.com/test.txt", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524T000000Z", "us-east-1", "s3",
		[][2]string{{"Range", "bytes=0-9"}, {"X-Amz-Content-Sha256", EmptyPayloadHash}},
		"host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
}

func vectorRequest(t *testing.T, i int, signature string) (*http.Request, *Verifier) {
	t.Helper()
	v := vectors[i]
	r, err := http.NewRequest(v.method, v.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Amz-Date", v.date)
	for _, h := range v.headers {
		r.Header.Set(h[0], h[1])
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+v.key+"/"+v.date[:8]+"/"+v.region+"/"+v.service+
		"/aws4_request, SignedHeaders="+v.signed+", Signature="+signature)
	when, _ := time.Parse(timeFormat, v.date)
	ver := NewVerifier([]Credential{{AccessKeyID: v.key, SecretAccessKey: v.secret, AccountID: "123456789012"}},
		func() time.Time { return when.Add(time.Minute) })
	return r, ver
}

func TestPublishedVectors(t *testing.T) {
	for i, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			r, ver := vectorRequest(t, i, v.signature)
			id, err := ver.Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id.AccountID != "123456789012" || id.Service != v.service {
				t.Errorf("identity = %+v", id)
			}
		})
	}
}

func TestRejections(t *testing.T) {
	code := func(err error) string {
		var e *Error
		if !errors.As(err, &e) {
			return "not an auth error: " + err.Error()
		}
		return e.Code
	}
	bad := strings.Replace(vectors[0].signature, "5", "6", 1)
	r, ver := vectorRequest(t, 0, bad)
	if _, err := ver.Verify(r); code(err) != CodeSignatureDoesNotMatch {
		t.Errorf("tampered signature: %v", err)
	}
	r, _ = vectorRequest(t, 0, vectors[0].signature)
	other := NewVerifier(nil, ver.now)
	if _, err := other.Verify(r); code(err) != CodeInvalidClientTokenID {
		t.Errorf("unknown key: %v", err)
	}
	r, ver = vectorRequest(t, 0, vectors[0].signature)
	ver.now = func() time.Time { return time.Date(2015, 8, 30, 13, 0, 0, 0, time.UTC) }
	if _, err := ver.Verify(r); code(err) != CodeRequestExpired {
		t.Errorf("skewed clock: %v", err)
	}
	r, ver = vectorRequest(t, 0, vectors[0].signature)
	r.Header.Del("Authorization")
	if _, err := ver.Verify(r); code(err) != CodeMissingAuthenticationToken {
		t.Errorf("unsigned: %v", err)
	}
	r, ver = vectorRequest(t, 0, vectors[0].signature)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=garbage")
	if _, err := ver.Verify(r); code(err) != CodeIncompleteSignature {
		t.Errorf("malformed: %v", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	cred := Credential{AccessKeyID: "AKIAVPCFLOWTEST", SecretAccessKey: "secret/with+chars", AccountID: "111122223333"}
	ver := NewVerifier([]Credential{cred}, func() time.Time { return now })
	for _, svc := range []string{"ec2", "logs", "s3"} {
		r, _ := http.NewRequest("POST", "http://127.0.0.1:8080/some%20path/x?Action=DescribeFlowLogs&Version=2016-11-15",
			strings.NewReader("Action=DescribeFlowLogs"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := Sign(r, cred, "us-east-1", svc, now); err != nil {
			t.Fatal(err)
		}
		if _, err := ver.Verify(r); err != nil {
			t.Errorf("%s: %v", svc, err)
		}
	}
}
