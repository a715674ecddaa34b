package server

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/flowfile"
)

// objectRecords reads flow log records back from the S3 objects under a data
// directory (text and Parquet). Objects are written once and renamed into
// place, so what each holds is summarised once (its first and last start)
// and later scans skip the objects outside the asked range.
type objectRecords struct {
	dir  string
	skip map[string]bool // top-level directories that are not buckets

	mu   sync.Mutex
	seen map[string]objectSummary
}

type objectSummary struct {
	size        int64
	mtime       time.Time
	first, last int64 // record start times, Unix seconds
	records     int
}

func newObjectRecords(dir string, skip ...string) *objectRecords {
	m := map[string]bool{}
	for _, s := range skip {
		m[s] = true
	}
	return &objectRecords{dir: dir, skip: m, seen: map[string]objectSummary{}}
}

// objects lists the flow log objects with their summaries, reading the
// ones not seen before.
func (o *objectRecords) objects(ctx context.Context) ([]string, map[string]objectSummary, error) {
	var paths []string
	err := filepath.WalkDir(o.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == o.dir {
				return fs.SkipAll // no data yet
			}
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != o.dir && (strings.HasPrefix(name, ".") || filepath.Dir(p) == o.dir && o.skip[name]) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(name, ".") || !strings.Contains(p, "AWSLogs") {
			return nil
		}
		if strings.HasSuffix(name, ".log.gz") || strings.HasSuffix(name, ".parquet") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(paths)
	out := make(map[string]objectSummary, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		info, err := os.Stat(p)
		if err != nil {
			continue // removed meanwhile
		}
		o.mu.Lock()
		s, ok := o.seen[p]
		o.mu.Unlock()
		if !ok || s.size != info.Size() || !s.mtime.Equal(info.ModTime()) {
			s = objectSummary{size: info.Size(), mtime: info.ModTime()}
			err := readObject(p, func(r *flow.Record) error {
				if !r.Has(flow.FieldStart) {
					return nil
				}
				if s.records == 0 || r.Start < s.first {
					s.first = r.Start
				}
				s.last = max(s.last, r.Start)
				s.records++
				return nil
			})
			if err != nil {
				return nil, nil, err
			}
			o.mu.Lock()
			o.seen[p] = s
			o.mu.Unlock()
		}
		out[p] = s
	}
	return paths, out, nil
}

// ScanRecords implements web.RecordSource.
func (o *objectRecords) ScanRecords(ctx context.Context, from, to time.Time, fn func(*flow.Record) error) error {
	paths, sums, err := o.objects(ctx)
	if err != nil {
		return err
	}
	lo, hi := from.Unix(), to.Unix()
	for _, p := range paths {
		s := sums[p]
		if s.records == 0 || s.last < lo || s.first >= hi {
			continue
		}
		err := readObject(p, func(r *flow.Record) error {
			if r.Start < lo || r.Start >= hi {
				return nil
			}
			return fn(r)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Span implements web.RecordSource.
func (o *objectRecords) Span(ctx context.Context) (first, last time.Time, err error) {
	_, sums, err := o.objects(ctx)
	if err != nil {
		return first, last, err
	}
	var lo, hi int64
	n := 0
	for _, s := range sums {
		if s.records == 0 {
			continue
		}
		if n == 0 || s.first < lo {
			lo = s.first
		}
		hi = max(hi, s.last)
		n++
	}
	if n == 0 {
		return time.Time{}, time.Time{}, nil
	}
	return time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC(), nil
}

func readObject(path string, fn func(*flow.Record) error) error {
	rd, err := flowfile.Open(path, flowfile.Options{})
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer rd.Close()
	for rd.Next() {
		if err := fn(rd.Record()); err != nil {
			return err
		}
	}
	return rd.Err()
}
