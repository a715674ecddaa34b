package api

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key          string
	Size         int64
	LastModified time.Time
	ETag         string // quoted, as S3 sends it
}

// S3Backend is the read side of the object store that the S3 API serves.
// Implementations enforce which account owns which bucket.
type S3Backend interface {
	ListBuckets(ctx context.Context, account string) ([]BucketInfo, error)
	// ListObjects returns keys after startAfter in lexical order, at most
	// max+1 of them (the extra one tells the caller there are more).
	ListObjects(ctx context.Context, account, bucket, prefix, startAfter string, max int) ([]ObjectInfo, error)
	GetObject(ctx context.Context, account, bucket, key string) (io.ReadSeekCloser, ObjectInfo, error)
}

// BucketInfo is one bucket in ListBuckets.
type BucketInfo struct {
	Name         string
	CreationDate time.Time
}

// S3 errors.
var (
	errNoSuchBucket = &Error{Status: http.StatusNotFound, Code: "NoSuchBucket", Message: "The specified bucket does not exist"}
	errNoSuchKey    = &Error{Status: http.StatusNotFound, Code: "NoSuchKey", Message: "The specified key does not exist."}
	errAccessDenied = &Error{Status: http.StatusForbidden, Code: "AccessDenied", Message: "Access Denied"}
)

const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

func (s *Server) serveS3(w http.ResponseWriter, r *http.Request) {
	if s.deps.S3 == nil {
		s.writeError(w, r, apiS3, &Error{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "The S3 API is not enabled on this server."})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.writeError(w, r, apiS3, &Error{Status: http.StatusMethodNotAllowed, Code: "MethodNotAllowed",
			Message: "The specified method is not allowed against this resource. This endpoint is read-only."})
		return
	}
	account := IdentityFrom(r.Context()).AccountID
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	var err error
	switch {
	case bucket == "":
		err = s.s3ListBuckets(w, r, account)
	case key == "" && r.URL.Query().Get("location") != "" || r.URL.Query().Has("location"):
		err = s.s3Location(w, r, account, bucket)
	case key == "":
		err = s.s3ListObjects(w, r, account, bucket)
	default:
		err = s.s3GetObject(w, r, account, bucket, key)
	}
	if err != nil {
		e := asAPIError(err)
		if e.Resource == "" {
			e = &Error{Status: e.Status, Code: e.Code, Message: e.Message, Resource: r.URL.Path}
		}
		s.writeError(w, r, apiS3, e)
	}
}

func (s *Server) s3ListBuckets(w http.ResponseWriter, r *http.Request, account string) error {
	buckets, err := s.deps.S3.ListBuckets(r.Context(), account)
	if err != nil {
		return err
	}
	type bucketXML struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
	}
	out := struct {
		XMLName xml.Name    `xml:"ListAllMyBucketsResult"`
		NS      string      `xml:"xmlns,attr"`
		OwnerID string      `xml:"Owner>ID"`
		Name    string      `xml:"Owner>DisplayName"`
		Buckets []bucketXML `xml:"Buckets>Bucket"`
	}{NS: s3Namespace, OwnerID: account, Name: account}
	for _, b := range buckets {
		out.Buckets = append(out.Buckets, bucketXML{b.Name, b.CreationDate.UTC().Format(s3Time)})
	}
	w.Header().Set("Content-Type", "application/xml")
	writeXML(w, out)
	return nil
}

func (s *Server) s3Location(w http.ResponseWriter, r *http.Request, account, bucket string) error {
	if _, err := s.deps.S3.ListObjects(r.Context(), account, bucket, "", "", 0); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	loc := s.cfg.Region
	if loc == "us-east-1" {
		loc = ""
	}
	writeXML(w, struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		NS      string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}{NS: s3Namespace, Value: loc})
	return nil
}

const s3Time = "2006-01-02T15:04:05.000Z"

func (s *Server) s3ListObjects(w http.ResponseWriter, r *http.Request, account, bucket string) error {
	q := r.URL.Query()
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	maxKeys := 1000
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return &Error{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "Provided max-keys not an integer or within integer range"}
		}
		maxKeys = min(n, 1000)
	}
	v2 := q.Get("list-type") == "2"
	startAfter := q.Get("start-after")
	if !v2 {
		startAfter = q.Get("marker")
	}
	if tok := q.Get("continuation-token"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		after, ours := strings.CutPrefix(string(raw), continuationMark)
		if err != nil || !ours {
			return &Error{Status: http.StatusBadRequest, Code: "InvalidArgument", Message: "The continuation token provided is incorrect"}
		}
		startAfter = after
	}
	type owner struct {
		ID string `xml:"ID"`
	}
	type contents struct {
		Key          string `xml:"Key"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int64  `xml:"Size"`
		Owner        *owner `xml:"Owner,omitempty"`
		StorageClass string `xml:"StorageClass"`
	}
	// ListObjectsV2 names the owner only when asked (fetch-owner);
	// ListObjects always does. The caller owns what it can list.
	var own *owner
	if !v2 || strings.EqualFold(q.Get("fetch-owner"), "true") {
		own = &owner{ID: account}
	}
	type commonPrefix struct {
		Prefix string `xml:"Prefix"`
	}
	var (
		items     []contents
		prefixes  []commonPrefix
		truncated bool
		last      string
	)
	seen := map[string]bool{}
	cursor := startAfter
	// Fetch in pages: common prefixes collapse many keys into one entry.
	for len(items)+len(prefixes) < maxKeys && !truncated {
		objs, err := s.deps.S3.ListObjects(r.Context(), account, bucket, prefix, cursor, 1000)
		if err != nil {
			return err
		}
		more := len(objs) > 1000
		if more {
			objs = objs[:1000]
		}
		for _, o := range objs {
			cursor = o.Key
			if delim != "" {
				if i := strings.Index(o.Key[len(prefix):], delim); i >= 0 {
					cp := o.Key[:len(prefix)+i+len(delim)]
					if !seen[cp] {
						if len(items)+len(prefixes) == maxKeys {
							truncated = true
							break
						}
						seen[cp] = true
						prefixes = append(prefixes, commonPrefix{cp})
					}
					last = o.Key
					continue
				}
			}
			if len(items)+len(prefixes) == maxKeys {
				truncated = true
				break
			}
			items = append(items, contents{o.Key, o.LastModified.UTC().Format(s3Time), o.ETag, o.Size, own, "STANDARD"})
			last = o.Key
		}
		if !more {
			break
		}
		if maxKeys == 0 {
			truncated = len(objs) > 0
		}
	}
	out := struct {
		XMLName               xml.Name       `xml:"ListBucketResult"`
		NS                    string         `xml:"xmlns,attr"`
		Name                  string         `xml:"Name"`
		Prefix                string         `xml:"Prefix"`
		Marker                *string        `xml:"Marker,omitempty"`
		NextMarker            string         `xml:"NextMarker,omitempty"`
		StartAfter            string         `xml:"StartAfter,omitempty"`
		ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
		NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
		KeyCount              *int           `xml:"KeyCount,omitempty"`
		MaxKeys               int            `xml:"MaxKeys"`
		Delimiter             string         `xml:"Delimiter,omitempty"`
		IsTruncated           bool           `xml:"IsTruncated"`
		Contents              []contents     `xml:"Contents"`
		CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
	}{NS: s3Namespace, Name: bucket, Prefix: prefix, MaxKeys: maxKeys, Delimiter: delim, IsTruncated: truncated,
		Contents: items, CommonPrefixes: prefixes}
	if v2 {
		n := len(items) + len(prefixes)
		out.KeyCount = &n
		out.StartAfter = q.Get("start-after")
		out.ContinuationToken = q.Get("continuation-token")
		if truncated {
			out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(continuationMark + last))
		}
	} else {
		m := q.Get("marker")
		out.Marker = &m
		if truncated && delim != "" {
			out.NextMarker = last
		}
	}
	w.Header().Set("Content-Type", "application/xml")
	writeXML(w, out)
	return nil
}

// continuationMark starts every continuation token this server gives, so
// that a token it did not give is refused rather than read as a key.
const continuationMark = "vpcflow-list:"

func (s *Server) s3GetObject(w http.ResponseWriter, r *http.Request, account, bucket, key string) error {
	body, info, err := s.deps.S3.GetObject(r.Context(), account, bucket, key)
	if err != nil {
		return err
	}
	defer body.Close()
	w.Header().Set("ETag", info.ETag)
	w.Header().Set("Content-Type", contentType(key))
	w.Header().Set("Accept-Ranges", "bytes")
	if rg := r.Header.Get("Range"); rg != "" && !satisfiable(rg, info.Size) {
		// S3's error, in XML (http.ServeContent would answer in text).
		w.Header().Del("ETag")
		return &Error{Status: http.StatusRequestedRangeNotSatisfiable, Code: "InvalidRange", Message: "The requested range is not satisfiable"}
	}
	// http.ServeContent handles HEAD, Range and conditional requests the
	// way S3 clients expect.
	http.ServeContent(w, r, "", info.LastModified, body)
	return nil
}

// satisfiable reports whether a Range header of the form bytes=a-b, a- or
// -n (comma-separated) asks for at least one byte of a size-byte object.
// Another form is left to http.ServeContent.
func satisfiable(header string, size int64) bool {
	specs, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return true
	}
	for _, spec := range strings.Split(specs, ",") {
		first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
		if !ok {
			return true
		}
		if first == "" {
			if n, err := strconv.ParseInt(last, 10, 64); err != nil || n > 0 && size > 0 {
				return true
			}
			continue
		}
		if a, err := strconv.ParseInt(first, 10, 64); err != nil || a < size {
			return true
		}
	}
	return false
}

func contentType(key string) string {
	switch {
	case strings.HasSuffix(key, ".gz"):
		return "application/x-gzip"
	case strings.HasSuffix(key, ".parquet"):
		return "application/octet-stream"
	}
	return "binary/octet-stream"
}
