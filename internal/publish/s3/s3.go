// Package s3 publishes flow log records as S3 objects exactly as AWS lays
// them out (spec §5.1): 5-minute files named after the bucket of the
// records' end time, a header line then one record per line, gzip (or
// Parquet), rolled at 75 MB, under the AWSLogs/… or Hive-style prefixes.
//
// Delivery goes through an on-disk spool so that nothing accepted is lost:
//
//	Deliver ─► open/<bucket>-<seq>.log   journal of text lines, fsynced before Deliver returns
//	        ─► sealed/<bucket>-<seq>.log  renamed once its 5-minute bucket has ended (or on Flush)
//	        ─► ready/<seq>-<part>.obj+.key the finished object(s) and their key, written atomically
//	        ─► Put to the store            then the ready entry is removed
//
// A sealed journal is never appended to again, and the name of each object
// it produces depends only on its content and sequence number, so after a
// crash at any point a restart rebuilds the same objects under the same
// keys: a re-Put overwrites an identical object instead of adding one.
package s3

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/countio"
	"vpcflow/internal/flow"
	"vpcflow/internal/flowfile"
	"vpcflow/internal/objstore"
	"vpcflow/internal/publish"
	"vpcflow/internal/spool"
)

const destName = "s3"

// Destination is an S3 destination for one flow log. It implements
// publish.Destination.
type Destination struct {
	cfg     Config
	store   objstore.Store
	now     func() time.Time
	log     *slog.Logger
	metrics *publish.Metrics
	status  publish.Tracker
	header  []byte

	openDir, sealedDir, readyDir string

	mu     sync.Mutex
	open   map[int64]*openJournal // by bucket start (Unix seconds)
	seq    uint64
	closed bool

	worker  *publish.Worker
	lineBuf []byte
	// lineLen is the mean text line length of the last batch (for the
	// first, estimated from its first line), to size a journal's buffer
	// once instead of growing it line by line (a large batch otherwise
	// copies its text about twice over).
	lineLen int
}

type openJournal struct {
	j      *spool.Journal
	bucket time.Time
	seq    uint64
	buf    []byte
	n      int
}

var _ publish.Destination = (*Destination)(nil)

// New opens the destination and recovers its spool. It starts no
// goroutine: the delivery worker starts with Start, or with the first
// Deliver or Flush.
func New(cfg Config, deps Deps) (*Destination, error) {
	def := DefaultConfig()
	if cfg.FileFormat == "" {
		cfg.FileFormat = PlainText
	}
	if cfg.MaxObjectBytes == 0 {
		cfg.MaxObjectBytes = def.MaxObjectBytes
	}
	if cfg.MaxJournalBytes == 0 {
		cfg.MaxJournalBytes = def.MaxJournalBytes
	}
	if cfg.MaxParquetRows == 0 {
		cfg.MaxParquetRows = def.MaxParquetRows
	}
	if cfg.GzipLevel == 0 {
		cfg.GzipLevel = def.GzipLevel
	}
	if cfg.RetryInitial == 0 {
		cfg.RetryInitial = def.RetryInitial
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = def.RetryMax
	}
	if cfg.SealInterval == 0 {
		cfg.SealInterval = def.SealInterval
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil {
		return nil, errors.New("s3 destination: an object store is required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = publish.NewMetrics(deps.Registry)
	}
	d := &Destination{
		cfg: cfg, store: deps.Store, now: deps.Now, metrics: deps.Metrics,
		log:       deps.Logger.With("destination", destName, "flow_log_id", cfg.FlowLog.ID),
		header:    []byte(cfg.FlowLog.Format.Header() + "\n"),
		openDir:   filepath.Join(cfg.SpoolDir, "open"),
		sealedDir: filepath.Join(cfg.SpoolDir, "sealed"),
		readyDir:  filepath.Join(cfg.SpoolDir, "ready"),
		open:      map[int64]*openJournal{},
	}
	d.worker = publish.NewWorker(publish.WorkerConfig{
		Work: d.work, Tick: d.sealByClock, TickEvery: cfg.SealInterval,
		RetryInitial: cfg.RetryInitial, RetryMax: cfg.RetryMax, Logger: d.log,
	})
	if err := d.recover(); err != nil {
		d.closeJournals()
		return nil, err
	}
	return d, nil
}

// journalName is <YYYYMMDDTHHmmZ>-<seq>.log.
func journalName(bucket time.Time, seq uint64) string {
	return bucket.UTC().Format("20060102T1504Z") + "-" + fmt.Sprintf("%012d", seq) + ".log"
}

func parseJournalName(name string) (time.Time, uint64, bool) {
	base, ok := strings.CutSuffix(name, ".log")
	if !ok {
		return time.Time{}, 0, false
	}
	ts, seqs, ok := strings.Cut(base, "-")
	if !ok {
		return time.Time{}, 0, false
	}
	t, err := time.Parse("20060102T1504Z", ts)
	if err != nil {
		return time.Time{}, 0, false
	}
	seq, err := strconv.ParseUint(seqs, 10, 64)
	if err != nil {
		return time.Time{}, 0, false
	}
	return t.UTC(), seq, true
}

func listDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// recover reopens open journals, counts sealed journals and ready objects,
// and removes half-written files.
func (d *Destination) recover() error {
	for _, dir := range []string{d.openDir, d.sealedDir, d.readyDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("s3 destination: spool: %w", err)
		}
		if err := spool.RemoveTemps(dir); err != nil {
			return err
		}
	}
	var pending int64
	names, err := listDir(d.openDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		bucket, seq, ok := parseJournalName(n)
		if !ok {
			continue
		}
		j, err := spool.OpenJournal(filepath.Join(d.openDir, n))
		if err != nil {
			return err
		}
		d.seq = max(d.seq, seq)
		if j.Lines() <= 1 { // only a header (or nothing): no record was accepted
			j.Remove()
			continue
		}
		pending += j.Lines() - 1
		if old := d.open[bucket.Unix()]; old != nil {
			// Two open journals for one bucket cannot happen; seal the older.
			if err := d.sealLocked(old); err != nil {
				return err
			}
		}
		d.open[bucket.Unix()] = &openJournal{j: j, bucket: bucket, seq: seq}
	}
	names, err = listDir(d.sealedDir)
	if err != nil {
		return err
	}
	rebuilding := map[uint64]bool{} // sequences of sealed journals
	for _, n := range names {
		_, seq, ok := parseJournalName(n)
		if !ok {
			continue
		}
		d.seq = max(d.seq, seq)
		rebuilding[seq] = true
		lines, err := countLines(filepath.Join(d.sealedDir, n))
		if err != nil {
			return err
		}
		pending += max(lines-1, 0)
	}
	names, err = listDir(d.readyDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		// A crash while building a sealed journal leaves some of its parts
		// ready and the journal in place: the journal is built again (to
		// the same keys), so its earlier parts are dropped, not counted
		// twice.
		if s, err := strconv.ParseUint(strings.SplitN(n, "-", 2)[0], 10, 64); err == nil && rebuilding[s] {
			os.Remove(filepath.Join(d.readyDir, n))
			continue
		}
		base, isKey := strings.CutSuffix(n, ".key")
		if !isKey {
			// An object whose key file was never written (crash while
			// sealing, the journal is still there) or already removed
			// (crash after its upload): drop it.
			if b, ok := strings.CutSuffix(n, ".obj"); ok {
				if _, err := os.Stat(filepath.Join(d.readyDir, b+".key")); err != nil {
					os.Remove(filepath.Join(d.readyDir, n))
				}
			}
			continue
		}
		e, err := readEntry(d.readyDir, base)
		if err != nil {
			return err
		}
		if s, err := strconv.ParseUint(strings.SplitN(base, "-", 2)[0], 10, 64); err == nil {
			d.seq = max(d.seq, s)
		}
		pending += e.records
	}
	d.status.AddPending(pending)
	if pending > 0 {
		d.log.Info("recovered spool", "pending_records", pending)
	}
	return nil
}

func countLines(path string) (int64, error) {
	j, err := spool.OpenJournal(path)
	if err != nil {
		return 0, err
	}
	defer j.Close()
	return j.Lines(), nil
}

// Start starts the delivery worker; it runs until Close.
func (d *Destination) Start(ctx context.Context) { d.worker.Start(ctx) }

func (d *Destination) ensureStarted() { d.worker.Start(context.Background()) }

// recordTime is the time that picks a record's 5-minute bucket: its end.
func recordTime(r *flow.Record, now time.Time) time.Time {
	switch {
	case r.End != 0:
		return time.Unix(r.End, 0)
	case r.Start != 0:
		return time.Unix(r.Start, 0)
	}
	return now
}

// Deliver appends the records to their 5-minute journals and fsyncs them;
// when it returns nil the records are durable and will be delivered.
// Buckets that ended before b.Now are sealed for upload.
func (d *Destination) Deliver(ctx context.Context, b publish.Batch) error {
	if b.FlowLog.ID != "" && b.FlowLog.ID != d.cfg.FlowLog.ID {
		return fmt.Errorf("s3 destination for %s: batch of flow log %s", d.cfg.FlowLog.ID, b.FlowLog.ID)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.ensureStarted()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("s3 destination: closed")
	}
	now := b.Now
	if now.IsZero() {
		now = d.now()
	}
	f := d.cfg.FlowLog.Format
	var touched []*openJournal
	for i := range b.Records {
		r := &b.Records[i]
		bucket := BucketStart(recordTime(r, now))
		oj := d.open[bucket.Unix()]
		if oj == nil {
			var err error
			if oj, err = d.newJournal(bucket); err != nil {
				d.abort(touched)
				return err
			}
		}
		if oj.n == 0 {
			touched = append(touched, oj)
			if d.lineLen == 0 {
				// First batch: estimate from this record's line, with an
				// eighth to spare (lines differ by their numbers).
				n := len(flow.AppendText(nil, f, r))
				d.lineLen = n + n/8 + 1
			}
			oj.buf = slices.Grow(oj.buf, (len(b.Records)-i)*max(d.lineLen, 64))
		}
		oj.buf = flow.AppendText(oj.buf, f, r)
		oj.buf = append(oj.buf, '\n')
		oj.n++
	}
	for _, oj := range touched {
		if err := oj.j.Append(oj.buf, oj.n); err != nil {
			d.abort(touched)
			return err
		}
	}
	for _, oj := range touched {
		if err := oj.j.Sync(); err != nil {
			return err
		}
	}
	d.status.AddPending(int64(len(b.Records)))
	size := 0
	for _, oj := range touched {
		size += len(oj.buf)
	}
	if len(b.Records) > 0 {
		d.lineLen = size/len(b.Records) + 1
	}
	for _, oj := range touched {
		oj.buf, oj.n = oj.buf[:0], 0
		if cap(oj.buf) > 4<<20 {
			oj.buf = nil
		}
	}
	sealed, err := d.sealDue(now, false)
	if sealed > 0 {
		d.worker.Kick()
	}
	return err
}

// abort drops the buffered lines of a failed Deliver.
func (d *Destination) abort(touched []*openJournal) {
	for _, oj := range touched {
		oj.buf, oj.n = oj.buf[:0], 0
	}
}

func (d *Destination) newJournal(bucket time.Time) (*openJournal, error) {
	d.seq++
	seq := d.seq
	j, err := spool.OpenJournal(filepath.Join(d.openDir, journalName(bucket, seq)))
	if err != nil {
		return nil, err
	}
	if err := j.Append(d.header, 1); err != nil {
		j.Remove()
		return nil, err
	}
	oj := &openJournal{j: j, bucket: bucket, seq: seq}
	d.open[bucket.Unix()] = oj
	return oj, nil
}

// sealDue seals the journals whose bucket ended by now (all with force)
// or that grew past MaxJournalBytes. Callers hold mu.
func (d *Destination) sealDue(now time.Time, force bool) (int, error) {
	n := 0
	var keys []int64
	for k := range d.open {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		oj := d.open[k]
		if force || !oj.bucket.Add(BucketPeriod).After(now) || oj.j.Size() >= d.cfg.MaxJournalBytes {
			if err := d.sealLocked(oj); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// sealLocked moves an open journal to sealed/ durably. It is never appended
// to again.
func (d *Destination) sealLocked(oj *openJournal) error {
	if err := oj.j.Sync(); err != nil {
		return err
	}
	oj.j.Close()
	name := filepath.Base(oj.j.Path())
	if err := os.Rename(oj.j.Path(), filepath.Join(d.sealedDir, name)); err != nil {
		return fmt.Errorf("s3 destination: seal %s: %w", name, err)
	}
	if err := spool.SyncDir(d.sealedDir); err != nil {
		return err
	}
	if err := spool.SyncDir(d.openDir); err != nil {
		return err
	}
	if d.open[oj.bucket.Unix()] == oj {
		delete(d.open, oj.bucket.Unix())
	}
	return nil
}

// Flush seals every open journal and waits until everything spooled has
// been delivered, or ctx ends.
func (d *Destination) Flush(ctx context.Context) error {
	d.ensureStarted()
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("s3 destination: closed")
	}
	_, err := d.sealDue(time.Time{}, true)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	d.worker.Kick()
	return d.worker.Drain(ctx, &d.status, destName)
}

// Status is DescribeFlowLogs' view of this destination.
func (d *Destination) Status() publish.Status { return d.status.Status() }

// Close stops the worker. Spooled records stay on disk and are delivered
// by the next New on the same SpoolDir.
func (d *Destination) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.worker.Stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closeJournals()
	return nil
}

func (d *Destination) closeJournals() {
	for k, oj := range d.open {
		oj.j.Close()
		delete(d.open, k)
	}
}

// sealByClock seals the journals whose 5-minute bucket has ended by the
// injected clock, in case no Deliver comes to do it.
func (d *Destination) sealByClock() {
	d.mu.Lock()
	_, err := d.sealDue(d.now(), false)
	d.mu.Unlock()
	if err != nil {
		d.log.Error("seal", "err", err)
	}
}

// work seals every sealed journal into ready objects and uploads every
// ready object, in sequence order. It stops at the first failure.
func (d *Destination) work(ctx context.Context) error {
	names, err := listDir(d.sealedDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := d.build(n); err != nil {
			d.status.Fail(publish.MessageUnknownError, err, d.now())
			return err
		}
	}
	names, err = listDir(d.readyDir)
	if err != nil {
		return err
	}
	for _, n := range names {
		base, ok := strings.CutSuffix(n, ".key")
		if !ok {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := d.upload(ctx, base); err != nil {
			msg := publish.MessageUnknownError
			switch {
			case errors.Is(err, objstore.ErrAccessDenied), errors.Is(err, objstore.ErrNoSuchBucket):
				msg = publish.MessageAccessError
			case errors.Is(err, objstore.ErrRateLimited):
				msg = publish.MessageRateLimited
			}
			if ctx.Err() == nil {
				d.status.Fail(msg, err, d.now())
				d.metrics.Retries.WithLabelValues(destName, d.cfg.FlowLog.ID).Inc()
			}
			return err
		}
		d.status.Succeed()
		d.worker.Progress()
	}
	return nil
}

// entry is a ready object.
type entry struct {
	key     string
	records int64
	size    int64
}

func readEntry(dir, base string) (entry, error) {
	b, err := os.ReadFile(filepath.Join(dir, base+".key"))
	if err != nil {
		return entry{}, fmt.Errorf("s3 destination: spool: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 3 {
		return entry{}, fmt.Errorf("s3 destination: spool: malformed %s.key", base)
	}
	rec, err1 := strconv.ParseInt(lines[1], 10, 64)
	size, err2 := strconv.ParseInt(lines[2], 10, 64)
	if err1 != nil || err2 != nil {
		return entry{}, fmt.Errorf("s3 destination: spool: malformed %s.key", base)
	}
	return entry{key: lines[0], records: rec, size: size}, nil
}

func (d *Destination) upload(ctx context.Context, base string) error {
	e, err := readEntry(d.readyDir, base)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(d.readyDir, base+".obj"))
	if err != nil {
		return fmt.Errorf("s3 destination: spool: %w", err)
	}
	defer f.Close()
	if err := d.store.Put(ctx, d.cfg.Bucket, e.key, f, e.size); err != nil {
		return err
	}
	// The key file goes first: an .obj without .key is garbage at recovery.
	if err := os.Remove(filepath.Join(d.readyDir, base+".key")); err != nil {
		return fmt.Errorf("s3 destination: spool: %w", err)
	}
	os.Remove(filepath.Join(d.readyDir, base+".obj"))
	if err := spool.SyncDir(d.readyDir); err != nil {
		return err
	}
	d.status.AddPending(-e.records)
	l := []string{destName, d.cfg.FlowLog.ID}
	d.metrics.Records.WithLabelValues(l...).Add(float64(e.records))
	d.metrics.Bytes.WithLabelValues(l...).Add(float64(e.size))
	d.metrics.Objects.WithLabelValues(l...).Inc()
	d.log.Debug("object delivered", "key", e.key, "records", e.records, "bytes", e.size)
	return nil
}

// build turns a sealed journal into ready objects (several when the 75 MB
// limit is reached), then removes the journal.
func (d *Destination) build(name string) error {
	bucket, seq, ok := parseJournalName(name)
	if !ok {
		return fmt.Errorf("s3 destination: spool: unexpected file %s", name)
	}
	path := filepath.Join(d.sealedDir, name)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("s3 destination: spool: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	header, err := br.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("s3 destination: spool %s: no header line: %w", name, err)
	}
	var format flow.Format
	if d.cfg.FileFormat == Parquet {
		if format, err = flow.ParseHeader(strings.TrimSuffix(string(header), "\n")); err != nil {
			return fmt.Errorf("s3 destination: spool %s: %w", name, err)
		}
	}
	for part := 0; ; part++ {
		more, err := d.buildPart(br, header, format, bucket, seq, part)
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	if err := spool.SyncDir(d.readyDir); err != nil {
		return err
	}
	f.Close()
	return spool.Remove(path)
}

// buildPart writes one object of a sealed journal; more reports whether
// records remain for another part.
func (d *Destination) buildPart(br *bufio.Reader, header []byte, format flow.Format, bucket time.Time, seq uint64, part int) (bool, error) {
	base := fmt.Sprintf("%012d-%04d", seq, part)
	h := NewHash(d.cfg.FlowLog.ID, bucket, seq, part)
	var records int64
	var size int64
	more := false
	eof := false
	max := d.cfg.MaxObjectBytes
	readLine := func() ([]byte, error) {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			d.lineBuf = append(d.lineBuf[:0], line...)
			rest, err := br.ReadBytes('\n')
			d.lineBuf = append(d.lineBuf, rest...)
			return d.lineBuf, err
		}
		return line, err
	}
	write := func(w io.Writer) error {
		cw := &countio.Writer{W: w}
		h.Write(header)
		if d.cfg.FileFormat == Parquet {
			pw, err := flowfile.NewParquetWriter(cw, format)
			if err != nil {
				return err
			}
			dec := flow.NewDecoder(format)
			var r flow.Record
			// A row group's size is known only when it ends: end one
			// every `step` rows (about 1.5% of max at 15 bytes a row)
			// and roll on the estimate, footer included.
			step := min(max/1024, 1<<16)
			if step < 256 {
				step = 256
			}
			for {
				line, err := readLine()
				if err == io.EOF && len(line) == 0 {
					eof = true
					break
				}
				if err != nil && err != io.EOF {
					return err
				}
				if err := dec.Decode(line[:len(line)-1], &r); err != nil {
					return fmt.Errorf("spool line: %w", err)
				}
				if err := pw.Write(&r); err != nil {
					return err
				}
				h.Write(line)
				records++
				if records >= int64(d.cfg.MaxParquetRows) {
					break
				}
				if records%step == 0 {
					if err := pw.Flush(); err != nil {
						return err
					}
					if pw.EstimatedSize() >= max-max/8 {
						break
					}
				}
			}
			if err := pw.Close(); err != nil {
				return err
			}
		} else {
			gz, err := gzip.NewWriterLevel(cw, d.cfg.GzipLevel)
			if err != nil {
				return err
			}
			if _, err := gz.Write(header); err != nil {
				return err
			}
			// Flush the compressor every `step` input bytes so cw.N is
			// exact to within one step of (incompressible) input.
			step := min(int64(1<<20), max/16)
			var since int64
			for {
				line, err := readLine()
				if err == io.EOF && len(line) == 0 {
					eof = true
					break
				}
				if err != nil && err != io.EOF {
					return err
				}
				if _, err := gz.Write(line); err != nil {
					return err
				}
				h.Write(line)
				records++
				since += int64(len(line))
				if since >= step {
					if err := gz.Flush(); err != nil {
						return err
					}
					since = 0
					if cw.N+2*step >= max {
						break
					}
				}
			}
			if err := gz.Close(); err != nil {
				return err
			}
		}
		size = cw.N
		return nil
	}
	objPath := filepath.Join(d.readyDir, base+".obj")
	if err := spool.WriteAtomic(objPath, write, false); err != nil {
		return false, err
	}
	if !eof {
		// Stopped on the size limit: is there anything left?
		if _, err := br.Peek(1); err == nil {
			more = true
		} else {
			eof = true
		}
	}
	if records == 0 {
		os.Remove(objPath)
		return false, nil
	}
	key := Key(d.cfg.KeyOptions, d.cfg.FlowLog.AccountID, d.cfg.FlowLog.Region, d.cfg.FlowLog.ID, bucket, Token(h))
	meta := fmt.Sprintf("%s\n%d\n%d\n", key, records, size)
	if err := spool.WriteAtomic(filepath.Join(d.readyDir, base+".key"), func(w io.Writer) error {
		_, err := io.WriteString(w, meta)
		return err
	}, false); err != nil {
		return false, err
	}
	return more, nil
}
