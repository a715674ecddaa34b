package topn

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/flow"
	"vpcflow/internal/logstore"
	"vpcflow/internal/publish/cwlogs"
)

// Events is an in-memory Source.
type Events []logstore.Event

// Scan calls fn for the events q selects.
func (es Events) Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error {
	for i := range es {
		e := &es[i]
		if !selects(q, e) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func selects(q logstore.Query, e *logstore.Event) bool {
	if len(q.LogGroups) > 0 && !contains(q.LogGroups, e.LogGroup) {
		return false
	}
	if len(q.LogStreams) > 0 && !contains(q.LogStreams, e.LogStream) {
		return false
	}
	if q.StreamPrefix != "" && !strings.HasPrefix(e.LogStream, q.StreamPrefix) {
		return false
	}
	return (q.Start == 0 || e.Timestamp >= q.Start) && (q.End == 0 || e.Timestamp < q.End)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// LogStoreDir is where the CloudWatch-like log store lives under a data
// directory; ObjectSource skips it.
const LogStoreDir = "cloudwatch-logs"

// ObjectSource reads the text objects (.log.gz, .log) of an S3-layout data
// directory as log events: one event per record line, the header skipped,
// the timestamp the record's start (as CloudWatch Logs has it, spec §5.2),
// the stream its interface-id, and no log group (rules apply to every
// object). The Event and its Message are valid only during the callback:
// copy what you keep.
type ObjectSource struct {
	Dir string
}

// Files lists the text objects, sorted.
func (s ObjectSource) Files() ([]string, error) {
	var files []string
	err := filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != s.Dir && (strings.HasPrefix(name, ".") || name == LogStoreDir) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(name, ".") || !d.Type().IsRegular() {
			return nil
		}
		// .log.gz anywhere; plain .log only inside an S3 key, so that the
		// log store's segment files are never read as flow logs.
		if strings.HasSuffix(name, ".log.gz") ||
			strings.HasSuffix(name, ".log") && strings.Contains(filepath.ToSlash(p), "/AWSLogs/") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// Scan reads every object in order.
func (s ObjectSource) Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error {
	files, err := s.Files()
	if err != nil {
		return err
	}
	var ev logstore.Event
	for _, f := range files {
		if err := readObject(ctx, f, q, &ev, fn); err != nil {
			return err
		}
	}
	return nil
}

// ScanShards reads the objects with `shards` goroutines, one object at a
// time per goroutine.
func (s ObjectSource) ScanShards(ctx context.Context, q logstore.Query, shards int, fn func(int, *logstore.Event) error) error {
	files, err := s.Files()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan string)
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for i := range shards {
		wg.Go(func() {
			var ev logstore.Event
			for f := range next {
				if err := readObject(ctx, f, q, &ev, func(e *logstore.Event) error { return fn(i, e) }); err != nil {
					errs[i] = err
					cancel()
					return
				}
			}
		})
	}
feed:
	for _, f := range files {
		select {
		case next <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}

func readObject(ctx context.Context, path string, q logstore.Query, ev *logstore.Event, fn func(*logstore.Event) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	br := bufio.NewReaderSize(r, 256<<10)
	header, err := br.ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("%s: %w", path, err)
	}
	format, ferr := flow.ParseHeader(strings.TrimRight(header, "\r\n"))
	if ferr != nil {
		return fmt.Errorf("%s: line 1: %w", path, ferr)
	}
	startIdx, eniIdx := format.Index(flow.FieldStart), format.Index(flow.FieldInterfaceID)
	streams := map[string]string{} // interface id → its CloudWatch stream name
	for n := 2; ; n++ {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			line = bytes.TrimRight(line, "\r\n")
			if len(line) > 0 {
				// The message aliases the read buffer: it is valid only
				// during fn, which is the Source contract here.
				msg := unsafe.String(&line[0], len(line))
				ev.Message = msg
				ev.LogStream, ev.Timestamp = "", 0
				fieldsAt(msg, startIdx, eniIdx, ev)
				ev.LogStream = streamName(streams, ev.LogStream)
				if (q.Start == 0 || ev.Timestamp >= q.Start) && (q.End == 0 || ev.Timestamp < q.End) {
					if err := fn(ev); err != nil {
						return err
					}
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err == bufio.ErrBufferFull {
			return fmt.Errorf("%s: line %d: longer than %d bytes", path, n, br.Size())
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// streamName is the log stream the record of an interface would be in had
// it been published to CloudWatch Logs (cwlogs.StreamName), so rules that
// filter on streams treat S3 and CloudWatch data alike. Names are cached:
// an interface's id costs one allocation per file.
func streamName(cache map[string]string, eni string) string {
	if eni == "" {
		return ""
	}
	if s, ok := cache[eni]; ok {
		return s
	}
	s := cwlogs.StreamName(eni)
	cache[strings.Clone(eni)] = s
	return s
}

// fieldsAt sets the event's timestamp (start × 1000) and interface id (in
// LogStream) from a record line, hopping from space to space.
func fieldsAt(msg string, startIdx, eniIdx int, ev *logstore.Event) {
	last := max(startIdx, eniIdx)
	i := 0
	for idx := 0; idx <= last; idx++ {
		for i < len(msg) && msg[i] == ' ' {
			i++
		}
		if i >= len(msg) {
			return
		}
		j := strings.IndexByte(msg[i:], ' ')
		if j < 0 {
			j = len(msg)
		} else {
			j += i
		}
		switch idx {
		case startIdx:
			if v, ok := parseNumber(msg[i:j]); ok {
				ev.Timestamp = int64(v) * 1000
			}
		case eniIdx:
			ev.LogStream = msg[i:j]
		}
		i = j
	}
}
