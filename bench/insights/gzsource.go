package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/logstore"
)

// GzSource serves the records of S3-style gzip text files (header line
// first) as log events of one group, the way flow logs land in CloudWatch
// Logs: timestamp = start × 1000, one stream per interface. Files are
// decompressed and split into lines on GOMAXPROCS goroutines; the
// callback runs on the caller's goroutine.
type GzSource struct {
	Paths []string
	Group string
}

type batch struct {
	evs []logstore.Event
}

// Scan implements insights.Source.
func (s *GzSource) Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error {
	if len(q.LogGroups) > 0 && !contains(q.LogGroups, s.Group) {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	paths := make(chan string, len(s.Paths))
	for _, p := range s.Paths {
		paths <- p
	}
	close(paths)
	out := make(chan *batch, 8)
	free := make(chan *batch, 16)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for range min(runtime.GOMAXPROCS(0), len(s.Paths)) {
		wg.Go(func() {
			for p := range paths {
				if err := s.readFile(ctx, p, q, out, free); err != nil {
					errMu.Lock()
					if firstErr == nil && !errors.Is(err, context.Canceled) {
						firstErr = err
					}
					errMu.Unlock()
					cancel()
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(out) }()
	var err error
	for b := range out {
		if err == nil {
			for i := range b.evs {
				if err = fn(&b.evs[i]); err != nil {
					cancel()
					break
				}
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	if err != nil {
		return err
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

const chunkSize = 256 << 10

func (s *GzSource) readFile(ctx context.Context, path string, q logstore.Query, out, free chan *batch) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	// Each chunk is read into a fresh buffer that is never written again,
	// so the events' strings can share it without a copy.
	buf := make([]byte, 0, chunkSize)
	first := true
	eof := false
	for !eof {
		for len(buf) < cap(buf) && !eof {
			n, err := zr.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				eof = true
			} else if err != nil {
				return err
			}
		}
		end := bytes.LastIndexByte(buf, '\n') + 1
		if eof {
			end = len(buf)
		}
		if end == 0 {
			// a line longer than the buffer: grow it
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
			continue
		}
		var chunk string
		if end > 0 {
			chunk = unsafe.String(&buf[0], end)
		}
		next := make([]byte, 0, max(chunkSize, 2*(len(buf)-end)))
		buf = append(next, buf[end:]...)
		var b *batch
		select {
		case b = <-free:
			b.evs = b.evs[:0]
		default:
			b = &batch{evs: make([]logstore.Event, 0, 16384)}
		}
		for len(chunk) > 0 {
			i := strings.IndexByte(chunk, '\n')
			var line string
			if i < 0 {
				line, chunk = chunk, ""
			} else {
				line, chunk = chunk[:i], chunk[i+1:]
			}
			if first {
				first = false
				if strings.HasPrefix(line, "version") || strings.HasPrefix(line, "account-id") {
					continue
				}
			}
			if line == "" {
				continue
			}
			ev := logstore.Event{LogGroup: s.Group, Message: line}
			ev.Timestamp = startMillis(line)
			if q.Start != 0 && ev.Timestamp < q.Start || q.End != 0 && ev.Timestamp >= q.End {
				continue
			}
			ev.IngestionTime = ev.Timestamp + 70_000
			ev.LogStream = streamOf(line)
			b.evs = append(b.evs, ev)
		}
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// startMillis reads the start field of a default-format line: the fourth
// token from the end.
func startMillis(line string) int64 {
	e := len(line)
	for range 3 {
		e = strings.LastIndexByte(line[:e], ' ')
		if e < 0 {
			return 0
		}
	}
	st := strings.LastIndexByte(line[:e], ' ') + 1
	var v int64
	for i := st; i < e; i++ {
		c := line[i]
		if c < '0' || c > '9' {
			return 0
		}
		v = v*10 + int64(c-'0')
	}
	return v * 1000
}

// streamOf names the log stream after the interface (third token), as
// AWS does ("eni-…-all"); it shares memory with the line.
func streamOf(line string) string {
	i := strings.IndexByte(line, ' ')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(line[i+1:], ' ')
	if j < 0 {
		return ""
	}
	k := strings.IndexByte(line[i+j+2:], ' ')
	if k < 0 {
		return ""
	}
	return line[i+j+2 : i+j+2+k]
}
