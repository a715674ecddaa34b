package publish

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the delivery counters shared by every destination, labelled
// by destination kind ("s3", "cwlogs", "stream") and flow log id.
type Metrics struct {
	Records *prometheus.CounterVec // vpcflow_publish_records_total: records delivered
	Bytes   *prometheus.CounterVec // vpcflow_publish_bytes_total: bytes delivered (objects, events, messages)
	Objects *prometheus.CounterVec // vpcflow_publish_objects_total: objects / event batches / messages delivered
	Retries *prometheus.CounterVec // vpcflow_publish_retries_total: failed delivery attempts retried later
}

var labels = []string{"destination", "flow_log_id"}

// NewMetrics creates the counters and registers them with reg (nil: not
// registered). Destinations sharing a registry share the counters: a
// second call with the same registry returns the already registered ones.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vpcflow_publish_records_total",
			Help: "Flow log records delivered to their destination."}, labels),
		Bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vpcflow_publish_bytes_total",
			Help: "Bytes delivered (object sizes, event message bytes, stream message bytes)."}, labels),
		Objects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vpcflow_publish_objects_total",
			Help: "Objects, event batches or stream messages delivered."}, labels),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vpcflow_publish_retries_total",
			Help: "Failed delivery attempts that will be retried."}, labels),
	}
	if reg == nil {
		return m
	}
	m.Records = registerVec(reg, m.Records)
	m.Bytes = registerVec(reg, m.Bytes)
	m.Objects = registerVec(reg, m.Objects)
	m.Retries = registerVec(reg, m.Retries)
	return m
}

func registerVec(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ex, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return ex
			}
		}
	}
	return c
}

// AWS's DeliverLogsErrorMessage values (spec §5.2).
const (
	MessageAccessError  = "Access error"
	MessageRateLimited  = "Rate limited"
	MessageUnknownError = "Unknown error"
)

// Tracker keeps a destination's Status: FAILED with AWS's message while
// deliveries fail, SUCCESS after the next success. It is safe for
// concurrent use.
type Tracker struct {
	mu      sync.Mutex
	failed  bool
	message string
	detail  string
	since   time.Time
	pending int64
}

// Fail records a failed attempt.
func (t *Tracker) Fail(message string, err error, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.failed {
		t.since = now
	}
	t.failed, t.message = true, message
	if err != nil {
		t.detail = err.Error()
	}
}

// Succeed records a successful delivery.
func (t *Tracker) Succeed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed, t.message, t.detail = false, "", ""
}

// AddPending adjusts the count of accepted but undelivered records.
func (t *Tracker) AddPending(n int64) {
	t.mu.Lock()
	t.pending += n
	t.mu.Unlock()
}

// Pending is the count of accepted but undelivered records.
func (t *Tracker) Pending() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending
}

// Status returns the current status.
func (t *Tracker) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed {
		return Status{State: DeliveryFailed, Message: t.message, Detail: t.detail, Pending: t.pending}
	}
	return Status{State: DeliverySuccess, Pending: t.pending}
}

// Backoff is an exponential backoff: Initial, doubling up to Max.
type Backoff struct {
	Initial, Max time.Duration
	n            int
}

// Next returns the next delay and advances.
func (b *Backoff) Next() time.Duration {
	d := b.Initial
	if d <= 0 {
		d = time.Second
	}
	for i := 0; i < b.n && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	b.n++
	return d
}

// Reset starts over from Initial.
func (b *Backoff) Reset() { b.n = 0 }
