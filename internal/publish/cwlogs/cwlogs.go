// Package cwlogs publishes flow log records to the embedded
// CloudWatch-Logs-like store (spec §5.2): one log stream per network
// interface per log group, shared by every flow log that publishes to the
// group; one event per record with timestamp = start × 1000 and the record
// line (no header) as message.
package cwlogs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"vpcflow/internal/flow"
	"vpcflow/internal/logstore"
	"vpcflow/internal/publish"
)

const destName = "cwlogs"

// StreamSuffix ends every log stream name: AWS names a flow log stream
// after the interface, "eni-12345678-all" (observed; spec §5.2, §10.6).
const StreamSuffix = "-all"

// StreamName is the log stream of a network interface.
func StreamName(interfaceID string) string {
	if interfaceID == "" {
		interfaceID = "unknown"
	}
	return interfaceID + StreamSuffix
}

// Config configures one CloudWatch Logs destination (one flow log).
type Config struct {
	// FlowLog is the flow log; its ID, Format and LogGroup are required.
	FlowLog publish.FlowLog
}

// Validate reports a configuration error.
func (c Config) Validate() error {
	switch {
	case c.FlowLog.ID == "":
		return errors.New("cwlogs destination: flow log id is required")
	case c.FlowLog.LogGroup == "":
		return errors.New("cwlogs destination: log group is required")
	case c.FlowLog.Format.IsZero():
		return errors.New("cwlogs destination: flow log format is required")
	}
	return nil
}

// Deps are the destination's dependencies; Store is required.
type Deps struct {
	Store    *logstore.Store
	Now      func() time.Time
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Metrics  *publish.Metrics
}

// Destination appends events to the log store. The store is local and
// Append is durable when it returns, so Deliver needs no separate spool:
// an accepted batch is stored.
type Destination struct {
	cfg     Config
	store   *logstore.Store
	now     func() time.Time
	log     *slog.Logger
	metrics *publish.Metrics
	status  publish.Tracker
	buf     []byte
}

var _ publish.Destination = (*Destination)(nil)

// New returns a destination.
func New(cfg Config, deps Deps) (*Destination, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil {
		return nil, errors.New("cwlogs destination: a log store is required")
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
	return &Destination{cfg: cfg, store: deps.Store, now: deps.Now, metrics: deps.Metrics,
		log: deps.Logger.With("destination", destName, "flow_log_id", cfg.FlowLog.ID)}, nil
}

// Events converts records to log events of group: stream per interface,
// timestamp = start in ms, message = the record line without header,
// ingestion time = ingest.
func Events(group string, f flow.Format, recs []flow.Record, ingest time.Time) []logstore.Event {
	evs := make([]logstore.Event, len(recs))
	var buf []byte
	for i := range recs {
		r := &recs[i]
		buf = flow.AppendText(buf[:0], f, r)
		evs[i] = logstore.Event{LogGroup: group, LogStream: StreamName(r.InterfaceID), Timestamp: r.Start * 1000,
			IngestionTime: ingest.UnixMilli(), Message: string(buf)}
	}
	return evs
}

// Deliver stores one event per record.
func (d *Destination) Deliver(ctx context.Context, b publish.Batch) error {
	if b.FlowLog.ID != "" && b.FlowLog.ID != d.cfg.FlowLog.ID {
		return fmt.Errorf("cwlogs destination for %s: batch of flow log %s", d.cfg.FlowLog.ID, b.FlowLog.ID)
	}
	if len(b.Records) == 0 {
		return nil
	}
	now := b.Now
	if now.IsZero() {
		now = d.now()
	}
	evs := Events(d.cfg.FlowLog.LogGroup, d.cfg.FlowLog.Format, b.Records, now)
	if err := d.store.Append(ctx, evs); err != nil {
		if ctx.Err() == nil {
			d.status.Fail(publish.MessageUnknownError, err, now)
			d.metrics.Retries.WithLabelValues(destName, d.cfg.FlowLog.ID).Inc()
		}
		return fmt.Errorf("cwlogs destination: %w", err)
	}
	d.status.Succeed()
	var n int
	for i := range evs {
		n += len(evs[i].Message)
	}
	l := []string{destName, d.cfg.FlowLog.ID}
	d.metrics.Records.WithLabelValues(l...).Add(float64(len(evs)))
	d.metrics.Bytes.WithLabelValues(l...).Add(float64(n))
	d.metrics.Objects.WithLabelValues(l...).Inc()
	return nil
}

// Flush has nothing to do: Deliver stores synchronously.
func (d *Destination) Flush(ctx context.Context) error { return ctx.Err() }

// Status is DescribeFlowLogs' view of this destination.
func (d *Destination) Status() publish.Status { return d.status.Status() }

// Close does nothing: the store belongs to the caller.
func (d *Destination) Close() error { return nil }
