package flowlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"vpcflow/internal/aggregate"
	"vpcflow/internal/dataplane"
	"vpcflow/internal/flow"
	"vpcflow/internal/publish"
)

// DestinationFactory opens the destination of a flow log. It is called once
// per flow log when the service starts running it.
type DestinationFactory func(fl publish.FlowLog, r Resource) (publish.Destination, error)

// Config configures the Service.
type Config struct {
	// MaxFlowsPerInterface bounds each interface's flow table per window
	// (overflow becomes SKIPDATA).
	MaxFlowsPerInterface int
	// NitroInterval caps the window of Nitro interfaces.
	NitroInterval time.Duration
	// MaxPendingRecords bounds the records a flow log keeps in memory
	// while its destination cannot be opened or refuses them (destinations
	// spool to disk, so this only fills when the disk or the destination's
	// configuration fails). Beyond it the oldest batches are dropped and
	// counted in vpcflow_flowlog_dropped_records_total, as AWS drops flow
	// log data it cannot deliver. Zero means 1,048,576.
	MaxPendingRecords int64
	// AdvanceEvery is how often Start's goroutine calls Advance with the
	// clock's time. Zero starts no goroutine: the caller drives Advance
	// (simulations).
	AdvanceEvery time.Duration
}

// DefaultConfig returns the defaults of the aggregator, driven by the caller.
func DefaultConfig() Config {
	d := aggregate.DefaultConfig()
	return Config{MaxFlowsPerInterface: d.MaxFlowsPerInterface, NitroInterval: d.NitroInterval, MaxPendingRecords: 1 << 20}
}

// Deps are the Service's dependencies.
type Deps struct {
	Store *Store
	// Interfaces lists the interfaces that exist now, for NODATA records of
	// in-scope interfaces without traffic. Nil: interfaces enter a flow log
	// with their first packet.
	Interfaces func() []*dataplane.Interface
	// NewDestination opens a flow log's destination.
	NewDestination DestinationFactory
	// Now is the clock; nil is time.Now.
	Now      func() time.Time
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Annotate adds optional extra fields to records (issue 7).
	Annotate aggregate.Annotate
}

// running is a flow log the service runs.
type running struct {
	res     Resource
	pub     publish.FlowLog
	agg     *aggregate.Aggregator
	dest    publish.Destination
	openErr error // the destination could not be opened
	pending []publish.Batch
	npend   int64 // records in pending
	dropped int64 // records dropped because pending was full
	failed  int   // consecutive failed deliveries
	// spare is the memory of the last batch the destination took, for the
	// next window's records (destinations do not keep batches).
	spare []flow.Record
}

func (r *running) pendingRecords() int64 { return r.npend }

// Service runs the flow logs of a Store. It is safe for concurrent use.
type Service struct {
	cfg  Config
	deps Deps
	aggM *aggregate.Metrics

	delivered *prometheus.CounterVec
	failures  *prometheus.CounterVec
	dropped   *prometheus.CounterVec

	mu     sync.Mutex
	byID   map[string]*running
	order  []*running // store (creation) order
	routes map[*dataplane.Interface][]*running
	// routeIdx holds the routes of interfaces by Interface.Index, saving
	// the map lookup of every observation.
	routeIdx []indexedRoute
	wg       sync.WaitGroup
	cancel   context.CancelFunc
	stopped  bool
}

// New creates the service. It starts nothing: call Start.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Store == nil {
		return nil, errors.New("flow log service: no store")
	}
	if deps.NewDestination == nil {
		return nil, errors.New("flow log service: no destination factory")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	ac := aggregate.DefaultConfig()
	if cfg.MaxFlowsPerInterface == 0 {
		cfg.MaxFlowsPerInterface = ac.MaxFlowsPerInterface
	}
	if cfg.NitroInterval == 0 {
		cfg.NitroInterval = ac.NitroInterval
	}
	if cfg.MaxPendingRecords <= 0 {
		cfg.MaxPendingRecords = 1 << 20
	}
	m, err := aggregate.NewMetrics(deps.Registry)
	if err != nil {
		return nil, fmt.Errorf("flow log service: %w", err)
	}
	s := &Service{
		cfg:  cfg,
		deps: deps,
		aggM: m,
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpcflow_flowlog_delivered_records_total",
			Help: "Records handed to the flow log's destination.",
		}, []string{"flow_log_id"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpcflow_flowlog_delivery_failures_total",
			Help: "Deliveries the destination refused (kept and retried).",
		}, []string{"flow_log_id"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpcflow_flowlog_dropped_records_total",
			Help: "Records dropped because more than MaxPendingRecords waited for a destination that could not take them.",
		}, []string{"flow_log_id"}),
		byID:   map[string]*running{},
		routes: map[*dataplane.Interface][]*running{},
	}
	if deps.Registry != nil {
		for _, c := range []prometheus.Collector{s.delivered, s.failures, s.dropped} {
			if err := deps.Registry.Register(c); err != nil {
				return nil, fmt.Errorf("flow log service: %w", err)
			}
		}
	}
	return s, nil
}

// Start runs the store's flow logs and, when Config.AdvanceEvery is set, a
// goroutine that advances the aggregators with the clock.
func (s *Service) Start(ctx context.Context) error {
	if err := s.Sync(ctx); err != nil {
		return err
	}
	if s.cfg.AdvanceEvery <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.wg.Go(func() {
		t := time.NewTicker(s.cfg.AdvanceEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.Advance(ctx, s.deps.Now())
			}
		}
	})
	return nil
}

// Stop closes every open window, delivers the records, flushes and closes
// the destinations.
func (s *Service) Stop(ctx context.Context) error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, r := range s.order {
		errs = append(errs, s.stopOne(ctx, r))
	}
	s.order, s.byID = nil, map[string]*running{}
	s.clearRoutes()
	s.stopped = true
	return errors.Join(errs...)
}

func (s *Service) stopOne(ctx context.Context, r *running) error {
	s.deliver(ctx, r, r.agg.Flush(), s.deps.Now())
	var errs []error
	if r.dest != nil {
		if len(r.pending) > 0 {
			errs = append(errs, fmt.Errorf("flow log %s: %d records not delivered", r.res.FlowLogID, r.pendingRecords()))
		}
		if err := r.dest.Flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flow log %s: flush: %w", r.res.FlowLogID, err))
		}
		if err := r.dest.Close(); err != nil {
			errs = append(errs, fmt.Errorf("flow log %s: close: %w", r.res.FlowLogID, err))
		}
	}
	s.aggM.Delete(r.res.FlowLogID)
	return errors.Join(errs...)
}

// Sync makes the running flow logs match the store: new ones start (their
// in-scope interfaces tracked from now), deleted ones stop.
func (s *Service) Sync(ctx context.Context) error {
	list := s.deps.Store.List()
	now := s.deps.Now()
	var ifaces []*dataplane.Interface
	if s.deps.Interfaces != nil {
		ifaces = s.deps.Interfaces()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return errors.New("flow log service: stopped")
	}
	keep := make(map[string]bool, len(list))
	var order []*running
	var errs []error
	for _, res := range list {
		keep[res.FlowLogID] = true
		r := s.byID[res.FlowLogID]
		if r == nil {
			var err error
			r, err = s.open(res, now, ifaces)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			s.byID[res.FlowLogID] = r
		}
		order = append(order, r)
	}
	for id, r := range s.byID {
		if !keep[id] {
			errs = append(errs, s.stopOne(ctx, r))
			delete(s.byID, id)
		}
	}
	s.order = order
	s.clearRoutes()
	return errors.Join(errs...)
}

func (s *Service) open(res Resource, now time.Time, ifaces []*dataplane.Interface) (*running, error) {
	f, err := res.Format()
	if err != nil {
		return nil, fmt.Errorf("flow log %s: %w", res.FlowLogID, err)
	}
	tt, err := aggregate.ParseTrafficType(res.TrafficType)
	if err != nil {
		return nil, fmt.Errorf("flow log %s: %w", res.FlowLogID, err)
	}
	ac := aggregate.Config{
		FlowLogID:            res.FlowLogID,
		Format:               f,
		Interval:             time.Duration(res.MaxAggregationInterval) * time.Second,
		NitroInterval:        s.cfg.NitroInterval,
		TrafficType:          tt,
		MaxFlowsPerInterface: s.cfg.MaxFlowsPerInterface,
	}
	agg, err := aggregate.New(ac, aggregate.Deps{Logger: s.deps.Logger, Metrics: s.aggM, Annotate: s.deps.Annotate})
	if err != nil {
		return nil, fmt.Errorf("flow log %s: %w", res.FlowLogID, err)
	}
	r := &running{
		res: res,
		pub: publish.FlowLog{ID: res.FlowLogID, AccountID: res.AccountID, Region: res.Region, Format: f, LogGroup: res.LogGroupName},
		agg: agg,
	}
	r.dest, r.openErr = s.deps.NewDestination(r.pub, res)
	if r.openErr != nil {
		s.deps.Logger.Error("cannot open flow log destination", "flow_log_id", res.FlowLogID, "err", r.openErr)
	}
	for _, e := range ifaces {
		if res.Covers(e.ID, e.SubnetID, e.VPCID) {
			agg.Track(e, now)
		}
	}
	return r, nil
}

// Observe routes one observation to the flow logs that cover its interface.
func (s *Service) Observe(obs *dataplane.Observation) {
	s.mu.Lock()
	s.observe(obs)
	s.mu.Unlock()
}

// ObservePath is Observe for the observations of one packet, in path
// order, under one lock (traffic.Dataplane.Observe). Like Observe, it is
// called during the dataplane's emit call, so their Slot hints are valid.
// It returns the earliest end (Unix ns) of the capture windows that
// counted the observations (math.MaxInt64 when no flow log covers them):
// until then, later packets of the flow fall in the same windows.
func (s *Service) ObservePath(obs []dataplane.Observation) (windowEnd int64) {
	windowEnd = math.MaxInt64
	s.mu.Lock()
	for i := range obs {
		windowEnd = min(windowEnd, s.observe(&obs[i]))
	}
	s.mu.Unlock()
	return windowEnd
}

// ObserveBatch is Observe for several observations under one lock. The
// observations were copied out of the dataplane's emit call, so their Slot
// hints (valid only during it) are dropped.
func (s *Service) ObserveBatch(obs []dataplane.Observation) {
	s.mu.Lock()
	for i := range obs {
		obs[i].Slot = nil
		s.observe(&obs[i])
	}
	s.mu.Unlock()
}

// observe routes obs and returns the earliest end of the windows that
// counted it (math.MaxInt64 if none).
func (s *Service) observe(obs *dataplane.Observation) (windowEnd int64) {
	windowEnd = math.MaxInt64
	e := obs.Interface
	if e == nil {
		return windowEnd // not seen at an interface: nothing to log
	}
	var rs []*running
	if i := e.Index - 1; i >= 0 && i < len(s.routeIdx) && s.routeIdx[i].iface == e {
		rs = s.routeIdx[i].flowLogs
	} else {
		rs = s.route(e)
	}
	for _, r := range rs {
		windowEnd = min(windowEnd, r.agg.Add(obs))
	}
	return windowEnd
}

// indexedRoute is an interface and the flow logs that cover it.
type indexedRoute struct {
	iface    *dataplane.Interface
	flowLogs []*running
}

// route finds the flow logs that cover e and remembers them.
func (s *Service) route(e *dataplane.Interface) []*running {
	rs, ok := s.routes[e]
	if !ok {
		for _, r := range s.order {
			if r.res.Covers(e.ID, e.SubnetID, e.VPCID) {
				rs = append(rs, r)
			}
		}
		s.routes[e] = rs
	}
	if i := e.Index - 1; i >= 0 && i < 1<<20 {
		if i >= len(s.routeIdx) {
			s.routeIdx = append(s.routeIdx, make([]indexedRoute, i+1-len(s.routeIdx))...)
		}
		s.routeIdx[i] = indexedRoute{iface: e, flowLogs: rs}
	}
	return rs
}

// clearRoutes forgets the routes (the flow logs changed).
func (s *Service) clearRoutes() {
	clear(s.routes)
	clear(s.routeIdx)
}

// Advance closes the capture windows due at now and delivers their records;
// batches a destination refused earlier are retried first.
func (s *Service) Advance(ctx context.Context, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.order {
		recs := r.agg.AppendAdvance(r.spare[:0], now)
		if len(recs) > 0 { // else nothing closed: the memory stays spare
			r.spare = nil
		}
		s.deliver(ctx, r, recs, now) // also retries refused batches
	}
}

// Flush closes every open window now (as at shutdown or before a query that
// must see everything), delivers the records and flushes the destinations.
func (s *Service) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.deps.Now()
	var ifaces []*dataplane.Interface
	if s.deps.Interfaces != nil {
		ifaces = s.deps.Interfaces()
	}
	var errs []error
	for _, r := range s.order {
		s.deliver(ctx, r, r.agg.Flush(), now)
		// Keep the in-scope interfaces tracked after the flush.
		for _, e := range ifaces {
			if r.res.Covers(e.ID, e.SubnetID, e.VPCID) {
				r.agg.Track(e, now)
			}
		}
		if r.dest != nil {
			if err := r.dest.Flush(ctx); err != nil {
				errs = append(errs, fmt.Errorf("flow log %s: flush: %w", r.res.FlowLogID, err))
			}
		}
	}
	return errors.Join(errs...)
}

// deliver hands records to the destination. A refused batch is kept and
// retried, in order, on the next call: nothing is dropped.
func (s *Service) deliver(ctx context.Context, r *running, recs []flow.Record, now time.Time) {
	if len(recs) > 0 {
		r.pending = append(r.pending, publish.Batch{FlowLog: r.pub, Records: recs, Now: now})
		r.npend += int64(len(recs))
	}
	for r.npend > s.cfg.MaxPendingRecords && len(r.pending) > 1 {
		n := int64(len(r.pending[0].Records))
		r.npend -= n
		r.dropped += n
		s.dropped.WithLabelValues(r.res.FlowLogID).Add(float64(n))
		s.deps.Logger.Error("flow log records dropped: the destination has not taken them and the pending limit is reached",
			"flow_log_id", r.res.FlowLogID, "records", n, "dropped_total", r.dropped)
		r.pending[0] = publish.Batch{}
		r.pending = r.pending[1:]
	}
	if r.dest == nil {
		return
	}
	for len(r.pending) > 0 {
		b := r.pending[0]
		if err := r.dest.Deliver(ctx, b); err != nil {
			r.failed++
			s.failures.WithLabelValues(r.res.FlowLogID).Inc()
			s.deps.Logger.Warn("flow log delivery failed; will retry", "flow_log_id", r.res.FlowLogID,
				"records", len(b.Records), "pending_batches", len(r.pending), "err", err)
			return
		}
		r.failed = 0
		s.delivered.WithLabelValues(r.res.FlowLogID).Add(float64(len(b.Records)))
		r.npend -= int64(len(b.Records))
		if cap(b.Records) > cap(r.spare) {
			r.spare = b.Records[:0]
		}
		r.pending[0] = publish.Batch{}
		r.pending = r.pending[1:]
	}
	r.pending = nil
}

// Status is the delivery status of a running flow log: the destination's,
// FAILED while batches wait for a retry or when the destination could not
// be opened.
func (s *Service) Status(flowLogID string) (publish.Status, bool) {
	s.mu.Lock()
	r := s.byID[flowLogID]
	s.mu.Unlock()
	if r == nil {
		return publish.Status{}, false
	}
	if r.openErr != nil {
		s.mu.Lock()
		pending := r.pendingRecords()
		s.mu.Unlock()
		return publish.Status{State: publish.DeliveryFailed, Message: "Unknown error", Detail: r.openErr.Error(), Pending: pending}, true
	}
	st := r.dest.Status()
	s.mu.Lock()
	st.Pending += r.pendingRecords()
	failed := r.failed
	s.mu.Unlock()
	if failed > 0 && st.State != publish.DeliveryFailed {
		st.State = publish.DeliveryFailed
		st.Message = "Unknown error"
		if st.Detail == "" {
			st.Detail = "the destination refused records; they are kept and retried"
		}
	}
	return st, true
}

// Create is CreateFlowLogs; the new flow logs start at once.
func (s *Service) Create(ctx context.Context, in CreateInput) (CreateOutput, error) {
	out, err := s.deps.Store.Create(in)
	if err != nil {
		return out, err
	}
	return out, s.Sync(ctx)
}

// Delete is DeleteFlowLogs; the deleted flow logs deliver what they hold
// and stop.
func (s *Service) Delete(ctx context.Context, in DeleteInput) (DeleteOutput, error) {
	out, err := s.deps.Store.Delete(in)
	if err != nil {
		return out, err
	}
	return out, s.Sync(ctx)
}

// Describe is DescribeFlowLogs with the live delivery status.
func (s *Service) Describe(in DescribeInput) (DescribeOutput, error) {
	return s.deps.Store.Describe(in, s.Status)
}
