package publish

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSpool is a destination's pending count and a Work that fails a set
// number of times before it delivers everything.
type fakeSpool struct {
	status   Tracker
	failures atomic.Int64
	calls    atomic.Int64
	w        *Worker
}

func (f *fakeSpool) work(ctx context.Context) error {
	f.calls.Add(1)
	if f.failures.Add(-1) >= 0 {
		err := errors.New("endpoint down")
		f.status.Fail(MessageAccessError, err, time.Time{})
		return err
	}
	if n := f.status.Pending(); n > 0 {
		f.status.AddPending(-n)
		f.status.Succeed()
		f.w.Progress()
	}
	return nil
}

func newFake(failures int64, retry time.Duration) *fakeSpool {
	f := &fakeSpool{}
	f.failures.Store(failures)
	f.w = NewWorker(WorkerConfig{Work: f.work, RetryInitial: retry, RetryMax: retry})
	return f
}

// TestWorkerRetriesThenDrains: failed runs are retried after the backoff
// and Drain returns once nothing is pending.
func TestWorkerRetriesThenDrains(t *testing.T) {
	f := newFake(2, time.Millisecond)
	f.status.AddPending(10)
	f.w.Start(t.Context())
	defer f.w.Stop()
	f.w.Kick()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := f.w.Drain(ctx, &f.status, "test"); err != nil {
		t.Fatal(err)
	}
	if f.calls.Load() < 3 || f.status.Status().State != DeliverySuccess {
		t.Errorf("%d Work runs, status %+v", f.calls.Load(), f.status.Status())
	}
}

// TestWorkerKickSkipsBackoff: a Kick (a Flush) retries at once instead of
// waiting out an hour of backoff.
func TestWorkerKickSkipsBackoff(t *testing.T) {
	f := newFake(1, time.Hour)
	f.status.AddPending(1)
	f.w.Start(t.Context())
	defer f.w.Stop()
	for f.status.Status().State != DeliveryFailed {
		time.Sleep(time.Millisecond)
	}
	f.w.Kick()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := f.w.Drain(ctx, &f.status, "test"); err != nil {
		t.Fatal(err)
	}
}

// TestWorkerDrainReportsFailure: a Drain that ends with its context names
// the destination and the last failure.
func TestWorkerDrainReportsFailure(t *testing.T) {
	f := newFake(1<<40, time.Millisecond)
	f.status.AddPending(1)
	f.w.Start(t.Context())
	defer f.w.Stop()
	for f.status.Status().State != DeliveryFailed {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := f.w.Drain(ctx, &f.status, "test")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "test destination: flush: context canceled (Access error: endpoint down)") {
		t.Errorf("err = %v", err)
	}
}

// TestWorkerTickAndStop: Tick runs while idle; after Stop the loop is gone
// and Start does not bring it back.
func TestWorkerTickAndStop(t *testing.T) {
	ticks := make(chan struct{}, 1)
	w := NewWorker(WorkerConfig{Work: func(context.Context) error { return nil }, TickEvery: time.Millisecond,
		Tick: func() {
			select {
			case ticks <- struct{}{}:
			default:
			}
		}})
	w.Start(t.Context())
	<-ticks
	w.Stop()
	select {
	case <-w.done:
	default:
		t.Fatal("loop still running after Stop")
	}
	w2 := NewWorker(WorkerConfig{Work: func(context.Context) error { t.Error("Work ran after Stop"); return nil }})
	w2.Stop()
	w2.Start(t.Context())
	w2.Kick()
	if w2.cancel != nil {
		t.Error("Start after Stop started the loop")
	}
}
