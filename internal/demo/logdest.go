package demo

import (
	"context"
	"strings"
	"sync"

	"vpcflow/internal/flow"
	"vpcflow/internal/flowlog"
	"vpcflow/internal/logstore"
	"vpcflow/internal/publish"
)

// logDestination writes a flow log's records to the CloudWatch-like log
// store: one stream per interface in the flow log's group, one event per
// record without a header, timestamped with the record's start (spec §5.2).
//
// It stands in for internal/publish/cwlogs, which was not in the tree when
// the demo was written; it appends synchronously, so it never spools.
type logDestination struct {
	fl    publish.FlowLog
	group string
	store *logstore.Store

	mu     sync.Mutex
	status publish.Status
	buf    []byte
}

func newLogDestination(fl publish.FlowLog, r flowlog.Resource, store *logstore.Store) *logDestination {
	group := r.LogGroupName
	if group == "" {
		// arn:aws:logs:region:account:log-group:NAME[:*]
		if _, g, ok := strings.Cut(r.LogDestination, ":log-group:"); ok {
			group = strings.TrimSuffix(g, ":*")
		}
	}
	return &logDestination{fl: fl, group: group, store: store, status: publish.Status{State: publish.DeliverySuccess}}
}

func (d *logDestination) Deliver(ctx context.Context, b publish.Batch) error {
	if len(b.Records) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	events := make([]logstore.Event, 0, len(b.Records))
	now := b.Now.UnixMilli()
	for i := range b.Records {
		r := &b.Records[i]
		d.buf = flow.AppendText(d.buf[:0], b.FlowLog.Format, r)
		events = append(events, logstore.Event{
			LogGroup: d.group, LogStream: r.InterfaceID,
			Timestamp: r.Start * 1000, IngestionTime: now,
			Message: string(d.buf),
		})
	}
	if err := d.store.Append(ctx, events); err != nil {
		d.status = publish.Status{State: publish.DeliveryFailed, Message: "Unknown error", Detail: err.Error()}
		return err
	}
	d.status = publish.Status{State: publish.DeliverySuccess}
	return nil
}

func (d *logDestination) Flush(context.Context) error { return nil }

func (d *logDestination) Status() publish.Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

func (d *logDestination) Close() error { return nil }
