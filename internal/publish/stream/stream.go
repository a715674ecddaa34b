// Package stream is the Firehose-like destination (spec §5.3): flow log
// records as plain text lines, no header, batched by count, bytes or time
// and published to NATS JetStream on subject <SubjectPrefix>.<flow log id>.
//
// Records go through an on-disk spool like the S3 destination's:
//
//	Deliver ─► open/<seq>-<epoch>.log   journal of lines, fsynced before Deliver returns
//	        ─► sealed/<seq>-<epoch>.log once it holds a full batch (count or bytes), is
//	                                    older than BatchInterval, or on Flush
//	        ─► JetStream publish with Nats-Msg-Id <flow log id>-<epoch>-<seq>, then removed
//
// One sealed journal is one message. A crash between the publish and the
// removal re-publishes the same message id, which JetStream's duplicate
// window drops, so a restart duplicates nothing (within the window). The
// epoch is drawn at random by New and kept in the journal's name: a
// journal recovered from the spool keeps its message id, while sequence
// numbers that restart after an emptied spool get new ids, which the
// duplicate window would otherwise take for re-publishes and drop.
package stream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"vpcflow/internal/flow"
	"vpcflow/internal/publish"
	"vpcflow/internal/spool"
)

const destName = "stream"

// Config configures one stream destination (one flow log).
type Config struct {
	FlowLog publish.FlowLog
	// URL of the NATS server (ignored when Deps.Conn is set).
	URL string
	// Stream is the JetStream stream, created if missing with subjects
	// SubjectPrefix.>.
	Stream        string
	SubjectPrefix string
	// Duplicates is the duplicate-detection window of a stream we create.
	Duplicates time.Duration
	// A batch (one message) holds at most MaxBatchRecords records and
	// MaxBatchBytes bytes (keep it under the server's max_payload, 1 MB by
	// default), and is sent at the latest BatchInterval after its first
	// record (by the injected clock at Deliver, or the wall clock).
	MaxBatchRecords int
	MaxBatchBytes   int
	BatchInterval   time.Duration
	SpoolDir        string
	// PublishTimeout bounds one publish and its acknowledgement.
	PublishTimeout         time.Duration
	RetryInitial, RetryMax time.Duration
}

// DefaultConfig: Firehose's PutRecordBatch limit of 500 records, 512 KiB
// messages, 1 s batching.
func DefaultConfig() Config {
	return Config{
		Stream: "VPCFLOW_FLOWLOGS", SubjectPrefix: "vpcflow.flowlogs", Duplicates: 10 * time.Minute,
		MaxBatchRecords: 500, MaxBatchBytes: 512 << 10, BatchInterval: time.Second,
		PublishTimeout: 5 * time.Second, RetryInitial: 100 * time.Millisecond, RetryMax: 30 * time.Second,
	}
}

// Subject is the subject of a flow log's messages.
func (c Config) Subject() string { return c.SubjectPrefix + "." + c.FlowLog.ID }

func (c *Config) fill() {
	d := DefaultConfig()
	if c.Stream == "" {
		c.Stream = d.Stream
	}
	if c.SubjectPrefix == "" {
		c.SubjectPrefix = d.SubjectPrefix
	}
	if c.Duplicates == 0 {
		c.Duplicates = d.Duplicates
	}
	if c.MaxBatchRecords == 0 {
		c.MaxBatchRecords = d.MaxBatchRecords
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = d.MaxBatchBytes
	}
	if c.BatchInterval == 0 {
		c.BatchInterval = d.BatchInterval
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = d.PublishTimeout
	}
	if c.RetryInitial == 0 {
		c.RetryInitial = d.RetryInitial
	}
	if c.RetryMax == 0 {
		c.RetryMax = d.RetryMax
	}
}

// Validate reports a configuration error.
func (c Config) Validate() error {
	switch {
	case c.FlowLog.ID == "" || c.FlowLog.Format.IsZero():
		return errors.New("stream destination: flow log id and format are required")
	case c.SpoolDir == "":
		return errors.New("stream destination: spool directory is required")
	case strings.ContainsAny(c.FlowLog.ID, ".*> "):
		return fmt.Errorf("stream destination: flow log id %q cannot be a subject token", c.FlowLog.ID)
	case c.MaxBatchRecords < 1 || c.MaxBatchBytes < 1024:
		return errors.New("stream destination: batch limits too small")
	}
	return nil
}

// Deps are the destination's dependencies.
type Deps struct {
	// Conn, if set, is used instead of connecting to Config.URL (and is
	// not closed by Close).
	Conn     *nats.Conn
	Now      func() time.Time
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Metrics  *publish.Metrics
}

// Destination publishes one flow log's records to JetStream.
type Destination struct {
	cfg     Config
	deps    Deps
	now     func() time.Time
	log     *slog.Logger
	metrics *publish.Metrics
	status  publish.Tracker

	openDir, sealedDir string

	mu       sync.Mutex
	cur      *spool.Journal
	curSince time.Time // batch clock time of the first record in cur
	seq      uint64
	epoch    string // of the journals this process opens
	closed   bool
	buf      []byte

	nc       *nats.Conn
	ownConn  bool
	js       jetstream.JetStream
	streamOK bool
	worker   *publish.Worker
}

var _ publish.Destination = (*Destination)(nil)

// New opens the destination and recovers its spool; no network I/O and
// no goroutine until Start (or the first Deliver or Flush).
func New(cfg Config, deps Deps) (*Destination, error) {
	cfg.fill()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Conn == nil && cfg.URL == "" {
		return nil, errors.New("stream destination: a NATS URL or connection is required")
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
		cfg: cfg, deps: deps, now: deps.Now, metrics: deps.Metrics,
		log:       deps.Logger.With("destination", destName, "flow_log_id", cfg.FlowLog.ID),
		openDir:   filepath.Join(cfg.SpoolDir, "open"),
		sealedDir: filepath.Join(cfg.SpoolDir, "sealed"),
		epoch:     newEpoch(),
	}
	d.worker = publish.NewWorker(publish.WorkerConfig{
		Work: d.work, Tick: d.sealByClock, TickEvery: max(cfg.BatchInterval/2, 10*time.Millisecond),
		RetryInitial: cfg.RetryInitial, RetryMax: cfg.RetryMax, Logger: d.log,
	})
	if err := d.recover(); err != nil {
		return nil, err
	}
	return d, nil
}

// batchFile names a spooled batch: <seq>-<epoch>.log.
type batchFile struct {
	seq   uint64
	epoch string
}

func (b batchFile) name() string { return fmt.Sprintf("%012d-%s.log", b.seq, b.epoch) }

// msgID is the batch's Nats-Msg-Id.
func (b batchFile) msgID(flowLogID string) string {
	return flowLogID + "-" + b.epoch + "-" + strconv.FormatUint(b.seq, 10)
}

func parseBatchFile(name string) (batchFile, bool) {
	base, ok := strings.CutSuffix(name, ".log")
	if !ok {
		return batchFile{}, false
	}
	seq, epoch, ok := strings.Cut(base, "-")
	if !ok || epoch == "" {
		return batchFile{}, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	return batchFile{seq: n, epoch: epoch}, err == nil
}

func newEpoch() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// listBatches lists a spool directory's batches in sequence order.
func listBatches(dir string) ([]batchFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("stream destination: spool: %w", err)
	}
	var out []batchFile
	for _, e := range ents {
		if b, ok := parseBatchFile(e.Name()); ok {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out, nil
}

// recover seals every journal left open (they were never published) and
// counts what is pending.
func (d *Destination) recover() error {
	for _, dir := range []string{d.openDir, d.sealedDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("stream destination: spool: %w", err)
		}
		if err := spool.RemoveTemps(dir); err != nil {
			return err
		}
	}
	open, err := listBatches(d.openDir)
	if err != nil {
		return err
	}
	for _, b := range open {
		j, err := spool.OpenJournal(filepath.Join(d.openDir, b.name()))
		if err != nil {
			return err
		}
		d.seq = max(d.seq, b.seq)
		if j.Lines() == 0 {
			j.Remove()
			continue
		}
		if err := d.sealJournal(j); err != nil {
			return err
		}
	}
	sealed, err := listBatches(d.sealedDir)
	if err != nil {
		return err
	}
	var pending int64
	for _, b := range sealed {
		d.seq = max(d.seq, b.seq)
		j, err := spool.OpenJournal(filepath.Join(d.sealedDir, b.name()))
		if err != nil {
			return err
		}
		pending += j.Lines()
		j.Close()
	}
	d.status.AddPending(pending)
	return nil
}

// sealJournal syncs, closes and moves a journal to sealed/.
func (d *Destination) sealJournal(j *spool.Journal) error {
	if err := j.Sync(); err != nil {
		return err
	}
	j.Close()
	name := filepath.Base(j.Path())
	if err := os.Rename(j.Path(), filepath.Join(d.sealedDir, name)); err != nil {
		return fmt.Errorf("stream destination: seal: %w", err)
	}
	if err := spool.SyncDir(d.sealedDir); err != nil {
		return err
	}
	return spool.SyncDir(d.openDir)
}

// Start starts the publishing worker.
func (d *Destination) Start(ctx context.Context) { d.worker.Start(ctx) }

// Deliver appends record lines to the spool (durably) and seals full
// batches.
func (d *Destination) Deliver(ctx context.Context, b publish.Batch) error {
	if b.FlowLog.ID != "" && b.FlowLog.ID != d.cfg.FlowLog.ID {
		return fmt.Errorf("stream destination for %s: batch of flow log %s", d.cfg.FlowLog.ID, b.FlowLog.ID)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	d.Start(context.Background())
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("stream destination: closed")
	}
	now := b.Now
	if now.IsZero() {
		now = d.now()
	}
	f := d.cfg.FlowLog.Format
	sealed := 0
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		err := d.cur.Append(d.buf, n)
		d.buf, n = d.buf[:0], 0
		return err
	}
	for i := range b.Records {
		start := len(d.buf)
		d.buf = flow.AppendText(d.buf, f, &b.Records[i])
		d.buf = append(d.buf, '\n')
		line := d.buf[start:]
		if d.cur != nil && (d.cur.Lines()+int64(n) >= int64(d.cfg.MaxBatchRecords) ||
			d.cur.Size()+int64(len(d.buf)) > int64(d.cfg.MaxBatchBytes)) {
			// The current batch is full: write what precedes this line, seal.
			keep := append([]byte(nil), line...)
			d.buf = d.buf[:start]
			if err := flush(); err != nil {
				return err
			}
			if err := d.sealJournal(d.cur); err != nil {
				return err
			}
			d.cur = nil
			sealed++
			d.buf = append(d.buf, keep...)
		}
		if d.cur == nil {
			d.seq++
			j, err := spool.OpenJournal(filepath.Join(d.openDir, batchFile{d.seq, d.epoch}.name()))
			if err != nil {
				return err
			}
			d.cur, d.curSince = j, now
		}
		n++
	}
	if err := flush(); err != nil {
		return err
	}
	if d.cur != nil {
		if err := d.cur.Sync(); err != nil {
			return err
		}
		if !now.Before(d.curSince.Add(d.cfg.BatchInterval)) {
			if err := d.sealJournal(d.cur); err != nil {
				return err
			}
			d.cur = nil
			sealed++
		}
	}
	d.status.AddPending(int64(len(b.Records)))
	if sealed > 0 {
		d.worker.Kick()
	}
	return nil
}

// sealIfDue seals the open batch when it is older than BatchInterval (or
// always with force).
func (d *Destination) sealIfDue(now time.Time, force bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur == nil || (!force && now.Before(d.curSince.Add(d.cfg.BatchInterval))) {
		return nil
	}
	err := d.sealJournal(d.cur)
	d.cur = nil
	return err
}

// Flush sends the open batch and waits until everything is published.
func (d *Destination) Flush(ctx context.Context) error {
	d.Start(context.Background())
	if err := d.sealIfDue(time.Time{}, true); err != nil {
		return err
	}
	d.worker.Kick()
	return d.worker.Drain(ctx, &d.status, destName)
}

// Status is DescribeFlowLogs' view of this destination.
func (d *Destination) Status() publish.Status { return d.status.Status() }

// Close stops the worker and closes the connection it opened; spooled
// records stay on disk for the next New.
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
	if d.cur != nil {
		d.cur.Close()
		d.cur = nil
	}
	if d.ownConn && d.nc != nil {
		d.nc.Close()
	}
	return nil
}

// sealByClock sends the open batch once it is BatchInterval old by the
// injected clock, in case no Deliver comes to do it.
func (d *Destination) sealByClock() {
	if err := d.sealIfDue(d.now(), false); err != nil {
		d.log.Error("seal", "err", err)
	}
}

// connect sets up the connection, the JetStream context and the stream.
func (d *Destination) connect(ctx context.Context) error {
	if d.js == nil {
		nc := d.deps.Conn
		if nc == nil {
			var err error
			nc, err = nats.Connect(d.cfg.URL, nats.Name("vpcflow "+d.cfg.FlowLog.ID), nats.RetryOnFailedConnect(true),
				nats.MaxReconnects(-1), nats.ReconnectWait(d.cfg.RetryInitial))
			if err != nil {
				return err
			}
			d.ownConn = true
		}
		js, err := jetstream.New(nc)
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.nc, d.js = nc, js
		d.mu.Unlock()
	}
	if d.streamOK {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, d.cfg.PublishTimeout)
	defer cancel()
	st, err := d.js.Stream(cctx, d.cfg.Stream)
	if err == nil {
		// A stream of that name made for other subjects would leave our
		// publishes unanswered ("no response from stream"); say why.
		subject := d.cfg.Subject()
		if subjects := st.CachedInfo().Config.Subjects; !slices.ContainsFunc(subjects, func(s string) bool { return subjectCovers(s, subject) }) {
			return fmt.Errorf("stream %s: the JetStream stream of that name takes subjects %q, not %s: delete it or name another delivery stream", d.cfg.Stream, subjects, subject)
		}
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = d.js.CreateStream(cctx, jetstream.StreamConfig{
			Name: d.cfg.Stream, Subjects: []string{d.cfg.SubjectPrefix + ".>"},
			Storage: jetstream.FileStorage, Duplicates: d.cfg.Duplicates,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", d.cfg.Stream, err)
	}
	d.streamOK = true
	return nil
}

// subjectCovers reports whether the subject filter f matches every subject
// that g matches ('*' is one token, '>' the rest).
func subjectCovers(f, g string) bool {
	ft, gt := strings.Split(f, "."), strings.Split(g, ".")
	for i, t := range ft {
		switch {
		case t == ">":
			return i < len(gt)
		case i >= len(gt):
			return false
		case t == "*":
			if gt[i] == ">" {
				return false
			}
		case t != gt[i]:
			return false
		}
	}
	return len(ft) == len(gt)
}

func classify(err error) string {
	switch {
	case errors.Is(err, nats.ErrPermissionViolation), errors.Is(err, nats.ErrAuthorization),
		errors.Is(err, nats.ErrAuthExpired), errors.Is(err, jetstream.ErrStreamNotFound):
		return publish.MessageAccessError
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrSlowConsumer):
		return publish.MessageRateLimited
	}
	return publish.MessageUnknownError
}

// work publishes every sealed batch in order; it stops at the first failure.
func (d *Destination) work(ctx context.Context) error {
	batches, err := listBatches(d.sealedDir)
	if err != nil || len(batches) == 0 {
		return err
	}
	fail := func(err error) error {
		if ctx.Err() == nil {
			d.status.Fail(classify(err), err, d.now())
			d.metrics.Retries.WithLabelValues(destName, d.cfg.FlowLog.ID).Inc()
		}
		return err
	}
	if err := d.connect(ctx); err != nil {
		return fail(err)
	}
	l := []string{destName, d.cfg.FlowLog.ID}
	for _, b := range batches {
		path := filepath.Join(d.sealedDir, b.name())
		data, err := os.ReadFile(path)
		if err != nil {
			return fail(err)
		}
		lines := int64(strings.Count(string(data), "\n"))
		if lines > 0 {
			pctx, cancel := context.WithTimeout(ctx, d.cfg.PublishTimeout)
			_, err = d.js.Publish(pctx, d.cfg.Subject(), data, jetstream.WithMsgID(b.msgID(d.cfg.FlowLog.ID)))
			cancel()
			if err != nil {
				if errors.Is(err, jetstream.ErrNoStreamResponse) {
					d.streamOK = false // the stream may have been deleted: re-create it
				}
				return fail(err)
			}
		}
		if err := spool.Remove(path); err != nil {
			return fail(err)
		}
		d.status.AddPending(-lines)
		d.status.Succeed()
		d.metrics.Records.WithLabelValues(l...).Add(float64(lines))
		d.metrics.Bytes.WithLabelValues(l...).Add(float64(len(data)))
		d.metrics.Objects.WithLabelValues(l...).Inc()
		d.worker.Progress()
	}
	return nil
}
