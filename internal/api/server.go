// Package api serves the AWS-compatible endpoints on one port, routed the way
// AWS routes them: a JSON request with X-Amz-Target goes to the CloudWatch
// Logs API, a form POST with Action= to the EC2 Query API, and everything else
// to the S3 REST API (path-style buckets). Every request is authenticated
// with Signature Version 4, and a key only sees its own account's resources.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"vpcflow/internal/sigv4"
)

// Config is the API server's configuration.
type Config struct {
	// Credentials are the access keys accepted; each belongs to one account.
	Credentials []sigv4.Credential
	// Region is reported in responses and expected in signatures' scope.
	Region string
	// MaxBodyBytes bounds request bodies (default 1 MiB for EC2/Logs).
	MaxBodyBytes int64
}

// DefaultConfig returns a configuration with one test key.
func DefaultConfig() Config {
	return Config{Region: "us-east-1", MaxBodyBytes: 1 << 20}
}

// Deps are the services the API fronts. Any of them may be nil: the
// matching actions then answer as unsupported.
type Deps struct {
	Logger   *slog.Logger
	Registry *prometheus.Registry
	Now      func() time.Time
	EC2      EC2Backend
	Logs     LogsBackend
	S3       S3Backend
	// Extra routes (web UI, health details) mounted on the same mux.
	Extra func(mux *http.ServeMux)
}

// Server is the HTTP front of vpcflow.
type Server struct {
	cfg      Config
	deps     Deps
	verifier *sigv4.Verifier
	metrics  *metrics
}

// New builds a Server.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if len(cfg.Credentials) == 0 {
		return nil, errors.New("api: at least one access key is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, deps: deps, verifier: sigv4.NewVerifier(cfg.Credentials, deps.Now)}
	s.verifier.MaxBody = cfg.MaxBodyBytes
	s.metrics = newMetrics(deps.Registry)
	return s, nil
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{}))
	if s.deps.Extra != nil {
		s.deps.Extra(mux)
	}
	mux.Handle("/", http.HandlerFunc(s.serveAWS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux answers a path holding "..", "." or "//" with a redirect
		// to its clean form, but S3 keys may hold such segments (and the
		// signature covers the path as sent): those go to the AWS API as
		// they are.
		//
		// A request signed for AWS is an AWS API call whatever its path:
		// GET / is ListBuckets, GET /metrics lists a bucket named
		// "metrics". Only unsigned requests reach the health check,
		// metrics and UI routes.
		if r.URL.Path != cleanPath(r.URL.Path) || awsSigned(r) {
			s.serveAWS(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// awsSigned reports whether r carries a Signature Version 4 signature,
// in its Authorization header or its query (a presigned URL).
func awsSigned(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-") || strings.Contains(r.URL.RawQuery, "X-Amz-Signature=")
}

// cleanPath is the canonical path ServeMux redirects to: path.Clean,
// keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

type requestIDKey struct{}

// serveAWS authenticates and dispatches one AWS API request.
func (s *Server) serveAWS(w http.ResponseWriter, r *http.Request) {
	start := s.deps.Now()
	reqID := newRequestID()
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Header().Set("x-amz-request-id", reqID)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, reqID))
	api := classify(r)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.metrics.requests.WithLabelValues(api, statusClass(rec.status)).Inc()
		s.metrics.latency.WithLabelValues(api).Observe(s.deps.Now().Sub(start).Seconds())
	}()

	if r.ContentLength > s.cfg.MaxBodyBytes && api != apiS3 {
		s.writeError(rec, r, api, &Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestEntityTooLarge",
			Message: "Request body is larger than the server accepts."})
		return
	}
	if api != apiS3 {
		r.Body = http.MaxBytesReader(rec, r.Body, s.cfg.MaxBodyBytes)
	}
	id, err := s.verifier.Verify(r)
	if err != nil {
		s.writeError(rec, r, api, authError(api, err))
		return
	}
	ctx := withIdentity(r.Context(), id)
	r = r.WithContext(ctx)
	switch api {
	case apiLogs:
		s.serveLogs(rec, r)
	case apiEC2:
		s.serveEC2(rec, r)
	default:
		s.serveS3(rec, r)
	}
}

const (
	apiEC2  = "ec2"
	apiLogs = "logs"
	apiS3   = "s3"
)

// classify decides which AWS API a request is for, from the signature's
// service scope when present, else from the request's shape.
func classify(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		if i := strings.Index(auth, "Credential="); i >= 0 {
			parts := strings.Split(strings.SplitN(auth[i+len("Credential="):], ",", 2)[0], "/")
			if len(parts) == 5 {
				switch parts[3] {
				case "ec2":
					return apiEC2
				case "logs":
					return apiLogs
				case "s3":
					return apiS3
				}
			}
		}
	}
	if r.Header.Get("X-Amz-Target") != "" {
		return apiLogs
	}
	if r.Method == http.MethodPost && r.URL.Path == "/" &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return apiEC2
	}
	if r.URL.Query().Get("Action") != "" && r.URL.Path == "/" {
		return apiEC2
	}
	return apiS3
}

// authError turns a signature failure into the owning service's error.
func authError(api string, err error) *Error {
	var se *sigv4.Error
	if !errors.As(err, &se) {
		return &Error{Status: http.StatusBadRequest, Code: "InvalidRequest", Message: err.Error()}
	}
	e := &Error{Status: http.StatusForbidden, Code: se.Code, Message: se.Message}
	switch se.Code {
	case sigv4.CodeMissingAuthenticationToken:
		if api == apiS3 {
			e.Code, e.Message = "AccessDenied", "Access Denied"
		} else if api == apiEC2 {
			e.Status, e.Code, e.Message = http.StatusUnauthorized, "AuthFailure", "AWS was not able to validate the provided access credentials"
		}
	case sigv4.CodeInvalidClientTokenID:
		switch api {
		case apiEC2:
			e.Status, e.Code, e.Message = http.StatusUnauthorized, "AuthFailure", "AWS was not able to validate the provided access credentials"
		case apiS3:
			e.Code, e.Message = "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
		}
	case sigv4.CodeSignatureDoesNotMatch:
		if api == apiEC2 {
			e.Status, e.Code = http.StatusUnauthorized, "AuthFailure"
		}
	case sigv4.CodeIncompleteSignature:
		e.Status = http.StatusBadRequest
		if api == apiS3 {
			e.Code = "AuthorizationHeaderMalformed"
		}
	case sigv4.CodeRequestExpired:
		if api == apiS3 {
			e.Code = "RequestTimeTooSkewed"
		}
	case "RequestEntityTooLarge":
		e.Status = http.StatusRequestEntityTooLarge
	}
	return e
}

type identityKey struct{}

func withIdentity(ctx context.Context, id sigv4.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the verified caller of a request.
func IdentityFrom(ctx context.Context) sigv4.Identity {
	id, _ := ctx.Value(identityKey{}).(sigv4.Identity)
	return id
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func statusClass(code int) string {
	switch {
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	}
	return "2xx"
}
