package publish

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// WorkerConfig configures a Worker.
type WorkerConfig struct {
	// Work delivers what the destination has spooled. An error means "try
	// again after a backoff"; Work records the failure in the destination's
	// Tracker itself.
	Work func(ctx context.Context) error
	// Tick, when TickEvery > 0, runs every TickEvery (wall clock) while the
	// worker is idle, before Work runs again: destinations seal batches
	// that are due by their clock there.
	Tick      func()
	TickEvery time.Duration
	// RetryInitial and RetryMax bound the exponential backoff after a
	// failed Work.
	RetryInitial, RetryMax time.Duration
	Logger                 *slog.Logger
}

// Worker is the background loop of a spooling destination: it runs Work
// when kicked, retries failures with exponential backoff (a Kick retries
// at once without resetting the backoff), and lets Flush wait for the
// spool to drain.
type Worker struct {
	cfg  WorkerConfig
	kick chan struct{}
	done chan struct{}

	startOnce sync.Once
	mu        sync.Mutex
	cancel    context.CancelFunc
	stopped   bool
	progress  chan struct{} // closed and replaced by Progress
}

// NewWorker returns a worker; its goroutine starts with Start.
func NewWorker(cfg WorkerConfig) *Worker {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg, kick: make(chan struct{}, 1), done: make(chan struct{}), progress: make(chan struct{})}
}

// Start starts the loop once; it runs until Stop, whatever becomes of ctx
// (only its values are kept). After Stop, Start does nothing.
func (w *Worker) Start(ctx context.Context) {
	w.startOnce.Do(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.stopped {
			return
		}
		ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		w.cancel = cancel
		go w.run(ctx)
	})
}

// Stop ends the loop and waits for it (for the Work in progress to return).
func (w *Worker) Stop() {
	w.mu.Lock()
	w.stopped = true
	cancel := w.cancel
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-w.done
	}
}

// Kick asks for a Work run now (new batches, or a Flush).
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Progress wakes the Drain callers to look at the pending count again.
func (w *Worker) Progress() {
	w.mu.Lock()
	close(w.progress)
	w.progress = make(chan struct{})
	w.mu.Unlock()
}

// Drain waits until t counts nothing pending or ctx ends; then the error
// names the destination and the last failure.
func (w *Worker) Drain(ctx context.Context, t *Tracker, name string) error {
	for {
		w.mu.Lock()
		progress := w.progress
		w.mu.Unlock()
		if t.Pending() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			st := t.Status()
			if st.State == DeliveryFailed {
				return fmt.Errorf("%s destination: flush: %w (%s: %s)", name, ctx.Err(), st.Message, st.Detail)
			}
			return fmt.Errorf("%s destination: flush: %w", name, ctx.Err())
		case <-progress:
		}
	}
}

func (w *Worker) run(ctx context.Context) {
	defer close(w.done)
	backoff := Backoff{Initial: w.cfg.RetryInitial, Max: w.cfg.RetryMax}
	var tick <-chan time.Time
	if w.cfg.TickEvery > 0 && w.cfg.Tick != nil {
		t := time.NewTicker(w.cfg.TickEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		if err := w.cfg.Work(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			delay := backoff.Next()
			w.cfg.Logger.Warn("delivery failed, will retry", "err", err, "retry_in", delay)
			timer := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			case <-w.kick:
				// Flush or new batches: retry now rather than wait out the
				// backoff, but keep growing it.
				timer.Stop()
			}
			continue
		}
		backoff.Reset()
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-tick:
			w.cfg.Tick()
		}
	}
}
