package athena

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/flow"
)

// ObjectKind says how an object under the data directory is encoded.
type ObjectKind uint8

// Object kinds.
const (
	ObjectText    ObjectKind = iota // space-delimited text with a header line, usually gzip
	ObjectParquet                   // Apache Parquet
)

// Partition is what the S3 key of an object says about it: the values that
// Athena's partition columns take (spec §5.1, §9.1). Fields are empty when
// the key does not follow either AWS layout.
type Partition struct {
	Account, Region        string
	Year, Month, Day, Hour string
}

// Object is one flow log object found under the data directory.
type Object struct {
	Path      string // absolute path
	Kind      ObjectKind
	Partition Partition
	// Header is the header line of a text object (its field names).
	Header string
}

var (
	plainKey = regexp.MustCompile(`(?:^|/)AWSLogs/([^/=]+)/vpcflowlogs/([^/=]+)/(\d{4})/(\d{2})/(\d{2})/(?:(\d{2})/)?[^/]+$`)
	hiveKey  = regexp.MustCompile(`(?:^|/)AWSLogs/aws-account-id=([^/]+)/aws-service=vpcflowlogs/aws-region=([^/]+)/year=(\d{4})/month=(\d{2})/day=(\d{2})/(?:hour=(\d{2})/)?[^/]+$`)
)

// PartitionOf derives the partition values from an object key (a path
// relative to the data directory, or any path ending in the S3 key).
func PartitionOf(key string) Partition {
	key = filepath.ToSlash(key)
	m := plainKey.FindStringSubmatch(key)
	if m == nil {
		m = hiveKey.FindStringSubmatch(key)
	}
	if m == nil {
		return Partition{}
	}
	return Partition{Account: m[1], Region: m[2], Year: m[3], Month: m[4], Day: m[5], Hour: m[6]}
}

// LogStoreDir is where the CloudWatch-like log store keeps its segments
// under a data directory; it is not part of the S3 layout.
const LogStoreDir = "cloudwatch-logs"

// objectKind classifies a file by name: ".parquet" objects, ".log.gz"
// objects anywhere, and plain ".log" objects only inside an S3 key
// (under AWSLogs/), so that other files ending in .log are not mistaken
// for flow logs.
func objectKind(rel string) (ObjectKind, bool) {
	name := filepath.Base(rel)
	switch {
	case strings.HasPrefix(name, "."), strings.HasSuffix(name, ".tmp"):
		return 0, false // hidden or in-flight objects are not visible yet
	case strings.HasSuffix(name, ".parquet"):
		return ObjectParquet, true
	case strings.HasSuffix(name, ".log.gz"):
		return ObjectText, true
	case strings.HasSuffix(name, ".log") && strings.Contains("/"+filepath.ToSlash(rel), "/AWSLogs/"):
		return ObjectText, true
	}
	return 0, false
}

// ScanObjects walks dir and returns every flow log object under it, sorted
// by path. Text objects have their header line read. Empty objects are
// skipped. A missing directory is an error; an empty one is not.
func ScanObjects(dir string) ([]Object, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("data directory %s: not a directory", abs)
	}
	var objs []Object
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != abs && (strings.HasPrefix(d.Name(), ".") || d.Name() == LogStoreDir) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(abs, p)
		kind, ok := objectKind(rel)
		if !ok || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() == 0 {
			return nil
		}
		o := Object{Path: p, Kind: kind, Partition: PartitionOf(rel)}
		if kind == ObjectText {
			h, err := readHeader(p)
			if err != nil {
				return err
			}
			if h == "" {
				return nil
			}
			o.Header = h
		}
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan data directory: %w", err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Path < objs[j].Path })
	return objs, nil
}

// readHeader returns the first line of a text object, validated as a flow
// log header.
func readHeader(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(p, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
		defer zr.Close()
		r = zr
	}
	br := bufio.NewReaderSize(r, 4096)
	line, err := br.ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("%s: read header: %w", p, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", nil
	}
	if _, err := flow.ParseHeader(line); err != nil {
		return "", fmt.Errorf("%s: line 1: %w", p, err)
	}
	return line, nil
}
