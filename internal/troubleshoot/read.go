package troubleshoot

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"vpcflow/internal/flow"
	"vpcflow/internal/flowfile"
	"vpcflow/internal/logstore"
)

// Data is what ReadDir found.
type Data struct {
	Records []flow.Record
	// Format is the format of the first object read (header line, Parquet
	// schema, or the default format).
	Format flow.Format
	Files  int
	// Warnings are what reading left out without failing: bytes after
	// a file's last gzip member.
	Warnings []error
}

// ReadDir reads every flow log object under dir (the S3 layout
// <bucket>/.../AWSLogs/{account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}/, or
// any tree, such as a whole data directory: its hidden working directories
// and log store segments are skipped), or dir itself when it is a file:
// gzip or plain text (header
// line first, else the default format) and Parquet, through
// internal/flowfile. Files are read in path order. A malformed line stops
// the read with its file, line and column.
func ReadDir(dir string) (*Data, error) {
	var recs []flow.Record
	d, err := ScanDir(dir, func(r *flow.Record) {
		c := *r
		if c.Other != nil {
			other := *c.Other // the reader reuses its array
			c.Other = &other
		}
		recs = append(recs, c)
	})
	if err != nil {
		return nil, err
	}
	d.Records = recs
	return d, nil
}

// ScanDir reads what ReadDir reads without keeping it: fn sees every
// record, in the same order, and the record is reused by the next call.
// The Data returned has no Records. Memory stays flat however many
// records the directory holds.
func ScanDir(dir string, fn func(*flow.Record)) (*Data, error) {
	d := &Data{}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := de.Name()
		if de.IsDir() {
			if p != dir && strings.HasPrefix(name, ".") {
				return filepath.SkipDir // spools and other working state of a data directory
			}
			return nil
		}
		switch {
		case p == dir:
			paths = append(paths, p)
		case strings.HasPrefix(name, "."), strings.HasSuffix(name, ".tmp"), logstore.IsSegmentName(name):
			// hidden or in-flight objects, and the CloudWatch-like log
			// store's segments when dir is a whole data directory
		case strings.HasSuffix(name, ".gz"), strings.HasSuffix(name, ".log"),
			strings.HasSuffix(name, ".txt"), strings.HasSuffix(name, ".parquet"):
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read flow logs under %s: %w", dir, err)
	}
	slices.Sort(paths)
	for _, p := range paths {
		rd, err := flowfile.Open(p, flowfile.Options{})
		if err != nil {
			return nil, fmt.Errorf("read flow logs: %s: %w", p, err)
		}
		for rd.Next() {
			fn(rd.Record())
		}
		err = rd.Err()
		if d.Files == 0 {
			d.Format = rd.Format()
		}
		d.Warnings = append(d.Warnings, rd.Stats().Warnings...)
		rd.Close()
		if err != nil {
			return nil, fmt.Errorf("read flow logs: %w", err)
		}
		d.Files++
	}
	if d.Format.IsZero() {
		d.Format = flow.DefaultFormat
	}
	return d, nil
}
