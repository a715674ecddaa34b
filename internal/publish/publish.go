// Package publish delivers flow log records to their destinations: S3-style
// objects (publish/s3), a CloudWatch-Logs-like store (publish/cwlogs) and a
// Firehose-like stream (publish/stream). Publishers never re-aggregate: they
// receive the records of closed capture windows from the aggregator.
package publish

import (
	"context"
	"time"

	"vpcflow/internal/flow"
)

// FlowLog is what a destination needs to know about the flow log whose
// records it delivers.
type FlowLog struct {
	ID        string // fl-0123456789abcdef0
	AccountID string // account that owns the flow log (S3 key, log group)
	Region    string
	Format    flow.Format
	// LogGroup is the CloudWatch-like log group name (cloud-watch-logs only).
	LogGroup string
}

// Batch is the records of one or more closed capture windows of one flow
// log, in emission order.
type Batch struct {
	FlowLog FlowLog
	Records []flow.Record
	// Now is the injected clock's time when the windows closed.
	Now time.Time
}

// DeliveryState is DescribeFlowLogs' DeliverLogsStatus.
type DeliveryState string

// Delivery states as AWS spells them.
const (
	DeliverySuccess DeliveryState = "SUCCESS"
	DeliveryFailed  DeliveryState = "FAILED"
)

// Status is the delivery status of one destination, shown by
// DescribeFlowLogs as DeliverLogsStatus and DeliverLogsErrorMessage.
type Status struct {
	State DeliveryState
	// Message is AWS's wording while failing: "Access error", "Rate limited"
	// or "Unknown error".
	Message string
	// Detail is our own description of the last failure, for logs and the UI.
	Detail string
	// Pending counts records accepted but not yet delivered (spooled).
	Pending int64
}

// Destination receives records and delivers them. Deliver must not block on
// the network: implementations persist what they accept (spool) and deliver
// in the background, retrying with backoff, so that nothing is lost when the
// endpoint is down. Deliver must not keep b.Records (the slice or pointers
// into it) after it returns: the caller reuses its memory for later batches.
type Destination interface {
	Deliver(ctx context.Context, b Batch) error
	// Flush publishes everything buffered now (for example closes the current
	// 5-minute S3 object) and waits until it is delivered or ctx ends.
	Flush(ctx context.Context) error
	Status() Status
	Close() error
}
