// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests,
// so that the AWS CLI and SDKs can talk to vpcflow with their usual
// credentials. It supports the Authorization header form and presigned URLs
// (X-Amz-Signature in the query string).
package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

const (
	algorithm = "AWS4-HMAC-SHA256"
	// EmptyPayloadHash is the SHA-256 of an empty body.
	EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	unsignedPayload  = "UNSIGNED-PAYLOAD"
	timeFormat       = "20060102T150405Z"
	// MaxSkew is how far a request's X-Amz-Date may be from the server clock,
	// as AWS allows.
	MaxSkew = 15 * time.Minute
)

// Error codes AWS returns for authentication failures. Services differ: EC2
// says AuthFailure where CloudWatch Logs and S3 say InvalidClientTokenId /
// InvalidAccessKeyId; the API layer maps these per service.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	CodeIncompleteSignature        = "IncompleteSignature"
	CodeInvalidClientTokenID       = "InvalidClientTokenId"
	CodeSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	CodeRequestExpired             = "RequestExpired"
)

// Error is an authentication failure with AWS's error code.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ErrAuth is wrapped by every *Error so callers can match any auth failure.
var ErrAuth = errors.New("authentication failed")

// Unwrap makes errors.Is(err, ErrAuth) hold.
func (e *Error) Unwrap() error { return ErrAuth }

// Credential is one configured access key.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	AccountID       string // the account whose resources this key may see
}

// Identity is who signed a verified request.
type Identity struct {
	AccessKeyID string
	AccountID   string
	Region      string
	Service     string
}

// Verifier checks signatures against a fixed set of credentials.
type Verifier struct {
	keys map[string]Credential
	now  func() time.Time
	// MaxBody bounds how much of a body is read to hash it.
	MaxBody int64
}

// NewVerifier returns a verifier for creds. now is the injected clock (nil
// means time.Now).
func NewVerifier(creds []Credential, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	keys := make(map[string]Credential, len(creds))
	for _, c := range creds {
		keys[c.AccessKeyID] = c
	}
	return &Verifier{keys: keys, now: now, MaxBody: 16 << 20}
}

type parsedAuth struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
	amzDate                          string
	presigned                        bool
	expires                          time.Duration
}

// Verify checks r's signature. It reads and restores r.Body when the
// payload hash has to be computed. On success it returns who signed.
func (v *Verifier) Verify(r *http.Request) (Identity, error) {
	p, err := parse(r)
	if err != nil {
		return Identity{}, err
	}
	cred, ok := v.keys[p.accessKey]
	if !ok {
		return Identity{}, &Error{CodeInvalidClientTokenID, "The security token included in the request is invalid."}
	}
	t, err := time.Parse(timeFormat, p.amzDate)
	if err != nil {
		return Identity{}, &Error{CodeIncompleteSignature, fmt.Sprintf("Invalid X-Amz-Date %q.", p.amzDate)}
	}
	if t.Format("20060102") != p.date {
		return Identity{}, &Error{CodeSignatureDoesNotMatch, "Credential date does not match X-Amz-Date."}
	}
	now := v.now()
	if p.presigned {
		if now.After(t.Add(p.expires)) {
			return Identity{}, &Error{CodeRequestExpired, "Request has expired."}
		}
	} else if d := now.Sub(t); d > MaxSkew || d < -MaxSkew {
		return Identity{}, &Error{CodeRequestExpired, fmt.Sprintf("Request has expired: X-Amz-Date %s is more than %s from the server time.", p.amzDate, MaxSkew)}
	}
	payload, err := v.payloadHash(r, p)
	if err != nil {
		return Identity{}, err
	}
	creq := CanonicalRequest(r, p.service, p.signedHeaders, payload, p.presigned)
	want := Signature(cred.SecretAccessKey, p.amzDate, p.region, p.service, creq)
	if !hmac.Equal([]byte(want), []byte(p.signature)) {
		return Identity{}, &Error{CodeSignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method."}
	}
	return Identity{AccessKeyID: cred.AccessKeyID, AccountID: cred.AccountID, Region: p.region, Service: p.service}, nil
}

func parse(r *http.Request) (*parsedAuth, error) {
	q := r.URL.Query()
	if q.Get("X-Amz-Signature") != "" {
		return parsePresigned(q)
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, &Error{CodeMissingAuthenticationToken, "Request is missing Authentication Token"}
	}
	rest, ok := strings.CutPrefix(h, algorithm+" ")
	if !ok {
		return nil, &Error{CodeIncompleteSignature, "Unsupported authorization algorithm; expected " + algorithm + "."}
	}
	p := &parsedAuth{amzDate: r.Header.Get("X-Amz-Date")}
	if p.amzDate == "" {
		if d := r.Header.Get("Date"); d != "" {
			if t, err := http.ParseTime(d); err == nil {
				p.amzDate = t.UTC().Format(timeFormat)
			}
		}
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, &Error{CodeIncompleteSignature, fmt.Sprintf("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'; malformed part %q.", part)}
		}
		switch k {
		case "Credential":
			if err := p.setCredential(val); err != nil {
				return nil, err
			}
		case "SignedHeaders":
			p.signedHeaders = strings.Split(val, ";")
		case "Signature":
			p.signature = val
		}
	}
	if p.accessKey == "" || p.signedHeaders == nil || p.signature == "" || p.amzDate == "" {
		return nil, &Error{CodeIncompleteSignature, "Authorization header requires 'Credential', 'SignedHeaders', 'Signature' and an X-Amz-Date header."}
	}
	return p, nil
}

func parsePresigned(q url.Values) (*parsedAuth, error) {
	if q.Get("X-Amz-Algorithm") != algorithm {
		return nil, &Error{CodeIncompleteSignature, "X-Amz-Algorithm must be " + algorithm + "."}
	}
	p := &parsedAuth{presigned: true, amzDate: q.Get("X-Amz-Date"), signature: q.Get("X-Amz-Signature")}
	if err := p.setCredential(q.Get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	p.signedHeaders = strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	secs := 0
	if _, err := fmt.Sscanf(q.Get("X-Amz-Expires"), "%d", &secs); err != nil || secs <= 0 || secs > 604800 {
		return nil, &Error{CodeIncompleteSignature, "X-Amz-Expires must be between 1 and 604800 seconds."}
	}
	p.expires = time.Duration(secs) * time.Second
	return p, nil
}

func (p *parsedAuth) setCredential(val string) error {
	parts := strings.Split(val, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return &Error{CodeIncompleteSignature, fmt.Sprintf("Credential %q must have the form <key>/<date>/<region>/<service>/aws4_request.", val)}
	}
	p.accessKey, p.date, p.region, p.service = parts[0], parts[1], parts[2], parts[3]
	return nil
}

func (v *Verifier) payloadHash(r *http.Request, p *parsedAuth) (string, error) {
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		if h == unsignedPayload || strings.HasPrefix(h, "STREAMING-") {
			return h, nil
		}
		if p.service != "s3" {
			return h, nil
		}
		// S3 trusts the declared hash for signing; the S3 handler checks it
		// against the body it stores.
		return h, nil
	}
	if p.presigned {
		return unsignedPayload, nil
	}
	if r.Body == nil || r.Body == http.NoBody {
		return EmptyPayloadHash, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, v.MaxBody+1))
	r.Body.Close()
	if err != nil {
		return "", fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > v.MaxBody {
		return "", &Error{"RequestEntityTooLarge", fmt.Sprintf("Request body larger than %d bytes.", v.MaxBody)}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

// CanonicalRequest builds the SigV4 canonical request. For every service but
// S3 the path is URI-encoded a second time, as the SDKs do.
func CanonicalRequest(r *http.Request, service string, signedHeaders []string, payloadHash string, presigned bool) string {
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	if service != "s3" {
		path = uriEncode(path, false)
	}
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery, presigned))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(headerValue(r, name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	if name == "host" {
		return r.Host
	}
	vals := r.Header.Values(name)
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = strings.Join(strings.Fields(v), " ") // trim and fold sequential spaces
	}
	return strings.Join(out, ",")
}

func canonicalQuery(raw string, presigned bool) string {
	type kv struct{ k, v string }
	var pairs []kv
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, kv{uriEncode(k, true), uriEncode(v, true)})
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// uriEncode percent-encodes everything but unreserved characters (and '/'
// unless encodeSlash), with upper-case hex, as SigV4 requires.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// Signature computes the hex signature of a canonical request.
func Signature(secret, amzDate, region, service, canonicalRequest string) string {
	day := amzDate[:min(8, len(amzDate))]
	sum := sha256.Sum256([]byte(canonicalRequest))
	sts := algorithm + "\n" + amzDate + "\n" + day + "/" + region + "/" + service + "/aws4_request\n" + hex.EncodeToString(sum[:])
	key := SigningKey(secret, day, region, service)
	return hex.EncodeToString(hmacSHA256(key, sts))
}

// SigningKey derives the SigV4 signing key.
func SigningKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// Sign adds SigV4 headers to r (for tests and our own clients). The body
// must be re-readable or nil.
func Sign(r *http.Request, cred Credential, region, service string, now time.Time) error {
	amzDate := now.UTC().Format(timeFormat)
	r.Header.Set("X-Amz-Date", amzDate)
	payload := EmptyPayloadHash
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	if service == "s3" {
		r.Header.Set("X-Amz-Content-Sha256", payload)
	}
	var names []string
	names = append(names, "host")
	for k := range r.Header {
		lk := strings.ToLower(k)
		if lk == "authorization" || lk == "user-agent" {
			continue
		}
		names = append(names, lk)
	}
	sort.Strings(names)
	creq := CanonicalRequest(r, service, names, payload, false)
	sig := Signature(cred.SecretAccessKey, amzDate, region, service, creq)
	r.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
		algorithm, cred.AccessKeyID, amzDate[:8], region, service, strings.Join(names, ";"), sig))
	return nil
}
