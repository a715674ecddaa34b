// Package demo runs vpcflow end to end: a topology and a traffic source
// (scenario or capture) through the dataplane and the flow log service into
// ./vpcflow-data, laid out as the S3 bucket and the CloudWatch Logs group
// would be (kinesis-data-firehose flow logs publish to NATS JetStream when
// Options.NATSURL is set), and summarises what was written. `vpcflow demo`
// uses the bundled three-tier VPC and scenario; `vpcflow simulate` and
// `vpcflow replay` use the same Pipeline.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"vpcflow/internal/aggregate"
	"vpcflow/internal/datadir"
	"vpcflow/internal/dataplane"
	"vpcflow/internal/flowlog"
	"vpcflow/internal/logstore"
	"vpcflow/internal/objstore"
	"vpcflow/internal/publish"
	"vpcflow/internal/publish/cwlogs"
	s3pub "vpcflow/internal/publish/s3"
	"vpcflow/internal/publish/stream"
	"vpcflow/internal/traffic"
	"vpcflow/internal/vpc"
)

// Data directory layout.
const (
	// DefaultBucket is the bucket flow logs to S3 write to when the
	// scenario names none: <data>/<bucket>/AWSLogs/...
	DefaultBucket = "vpcflow-logs"
	// DefaultLogGroup is the CloudWatch-like log group when none is named.
	DefaultLogGroup = "/vpcflow/flow-logs"
	// DefaultDeliveryStream is the Firehose delivery stream when none is
	// named.
	DefaultDeliveryStream = "vpcflow-flow-logs"
	// LogStoreDir holds the CloudWatch-like log store under the data dir.
	LogStoreDir = "cloudwatch-logs"
	// SpoolDir holds the destinations' spools under the data dir.
	SpoolDir = ".spool"
)

// Options configure a Pipeline.
type Options struct {
	DataDir string
	// Start is the simulated (or capture) time the pipeline starts at.
	Start time.Time
	// Seed makes flow log ids deterministic.
	Seed   uint64
	Logger *slog.Logger
	// NATSURL is the NATS server (JetStream enabled) that
	// kinesis-data-firehose flow logs publish to. Empty: such flow logs
	// cannot be created, and existing ones report FAILED.
	NATSURL string
	// Registry receives the flow log service's and the destinations'
	// metrics (nil: not registered).
	Registry prometheus.Registerer
}

// Pipeline is topology → dataplane → flow log service → destinations, on a
// clock driven by the traffic source.
type Pipeline struct {
	Topo    *vpc.Topology
	DP      *dataplane.Dataplane
	Net     *traffic.Dataplane
	Store   *flowlog.Store
	Flows   *flowlog.Service
	Objects *objstore.Local
	Logs    *logstore.Store

	opts       Options
	lock       *datadir.Lock
	pubMetrics *publish.Metrics
	clock      atomic.Int64
	ctx        context.Context

	// Groups and Events describe the log store when Close ran.
	Groups []LogGroup
	Events int64 // in all groups

	delivered atomic.Int64
	// firehose counts the records delivered to each Firehose delivery
	// stream (NATS JetStream), by stream name.
	firehoseMu sync.Mutex
	firehose   map[string]*atomic.Int64
}

// Delivered counts the records handed to destinations so far.
func (p *Pipeline) Delivered() int64 { return p.delivered.Load() }

// FirehoseRecords counts the records delivered so far to each Firehose
// delivery stream, by stream name (nil when no flow log publishes to one).
func (p *Pipeline) FirehoseRecords() map[string]int64 {
	p.firehoseMu.Lock()
	defer p.firehoseMu.Unlock()
	if len(p.firehose) == 0 {
		return nil
	}
	m := make(map[string]int64, len(p.firehose))
	for name, n := range p.firehose {
		m[name] = n.Load()
	}
	return m
}

// firehoseCounter is the record counter of one delivery stream.
func (p *Pipeline) firehoseCounter(name string) *atomic.Int64 {
	p.firehoseMu.Lock()
	defer p.firehoseMu.Unlock()
	if p.firehose == nil {
		p.firehose = map[string]*atomic.Int64{}
	}
	n := p.firehose[name]
	if n == nil {
		n = new(atomic.Int64)
		p.firehose[name] = n
	}
	return n
}

// counting wraps a destination to count delivered records, in total and,
// when stream is set, per delivery stream.
type counting struct {
	publish.Destination
	n, stream *atomic.Int64
}

func (c counting) Deliver(ctx context.Context, b publish.Batch) error {
	err := c.Destination.Deliver(ctx, b)
	if err == nil {
		c.n.Add(int64(len(b.Records)))
		if c.stream != nil {
			c.stream.Add(int64(len(b.Records)))
		}
	}
	return err
}

// Open builds the pipeline over dataDir. Existing flow logs in the data
// directory are kept (and run); callers that want a fresh run remove the
// directory first. The pipeline holds the data directory's lock until
// Close: a second pipeline on it fails with datadir.ErrInUse.
func Open(ctx context.Context, topo *vpc.Topology, opts Options) (_ *Pipeline, err error) {
	if opts.DataDir == "" {
		return nil, errors.New("pipeline: data directory is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	lock, err := datadir.Acquire(opts.DataDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()
	p := &Pipeline{Topo: topo, opts: opts, ctx: ctx, pubMetrics: publish.NewMetrics(opts.Registry), lock: lock}
	p.clock.Store(opts.Start.UnixNano())
	// Cached packet paths only save work (every packet is still checked),
	// and simulated conversations last seconds: two idle minutes keep the
	// cache, and the time spent walking it on expiry, small.
	if p.DP, err = dataplane.New(topo, dataplane.Options{FlowIdleTimeout: 2 * time.Minute}); err != nil {
		return nil, err
	}
	if p.Objects, err = objstore.NewLocal(opts.DataDir); err != nil {
		return nil, err
	}
	p.Objects.Now = p.Now // Last-Modified on the simulated clock
	lc := logstore.DefaultConfig()
	lc.Dir = filepath.Join(opts.DataDir, LogStoreDir)
	lc.NoSync = true
	if p.Logs, err = logstore.Open(lc, logstore.Deps{Now: p.Now, Logger: opts.Logger}); err != nil {
		return nil, err
	}
	sc := flowlog.StoreConfig{DataDir: opts.DataDir, AccountID: topo.AccountID, Region: topo.Region, Seed: opts.Seed}
	if p.Store, err = flowlog.OpenStore(sc, flowlog.StoreDeps{Resources: flowlog.TopologyResources{Topology: topo}, Now: p.Now, Logger: opts.Logger}); err != nil {
		p.Logs.Close()
		return nil, err
	}
	if p.Flows, err = flowlog.New(flowlog.DefaultConfig(), flowlog.Deps{
		Store:          p.Store,
		Interfaces:     p.DP.Interfaces,
		NewDestination: p.newDestination,
		Now:            p.Now,
		Logger:         opts.Logger,
		Registry:       opts.Registry,
		// Flow logs whose format asks for the vpcflow extension fields get
		// the deciding layer and rule of each REJECT (issue 7).
		Annotate: aggregate.DecisionFields,
	}); err != nil {
		p.Logs.Close()
		return nil, err
	}
	p.Net = traffic.NewDataplane(p.DP, p.Flows.ObservePath)
	return p, nil
}

// Now is the pipeline's clock.
func (p *Pipeline) Now() time.Time { return time.Unix(0, p.clock.Load()).UTC() }

// Advance moves the clock to now and lets the flow log service close the
// capture windows that ended.
func (p *Pipeline) Advance(now time.Time) {
	if now.UnixNano() > p.clock.Load() {
		p.clock.Store(now.UnixNano())
	}
	p.Flows.Advance(p.ctx, p.Now())
}

// Start runs the flow logs of the store.
func (p *Pipeline) Start() error { return p.Flows.Start(p.ctx) }

// LogGroup is what a run left in one log group of the CloudWatch-like
// store.
type LogGroup struct {
	Name    string
	Streams int
	Events  int64
}

// Close moves the clock to end, closes every window, publishes everything
// and closes the stores.
func (p *Pipeline) Close(end time.Time) error { return p.Shutdown(p.ctx, end) }

// Shutdown is Close with a bound: when ctx ends before every destination
// has delivered (a NATS server that is down), what remains stays in the
// spools for the next Open, and the error says so.
func (p *Pipeline) Shutdown(ctx context.Context, end time.Time) error {
	if end.UnixNano() > p.clock.Load() {
		p.clock.Store(end.UnixNano())
	}
	err := p.Flows.Stop(ctx)
	p.Groups = p.Groups[:0]
	for _, g := range p.Logs.LogGroups() {
		lg := LogGroup{Name: g.Name, Streams: g.Streams}
		if streams, serr := p.Logs.LogStreams(g.Name); serr == nil {
			for _, st := range streams {
				lg.Events += st.Events
			}
		}
		p.Groups = append(p.Groups, lg)
		p.Events += lg.Events
	}
	if cerr := p.Logs.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	// Spools are empty once everything is published.
	os.Remove(filepath.Join(p.opts.DataDir, SpoolDir))
	if lerr := p.lock.Release(); lerr != nil {
		err = errors.Join(err, lerr)
	}
	return err
}

// CreateFlowLogs creates the scenario's flow logs (as CreateFlowLogs would)
// and returns their ids.
func (p *Pipeline) CreateFlowLogs(docs []traffic.FlowLogDoc) ([]string, error) {
	var ids []string
	for _, d := range docs {
		in, err := createInput(p.Topo, d)
		if err != nil {
			return ids, err
		}
		if err := p.CheckDestination(in.LogDestinationType); err != nil {
			return ids, fmt.Errorf("create flow log for %s: %w", d.Resource, err)
		}
		out, err := p.Store.Create(in)
		if err != nil {
			return ids, fmt.Errorf("create flow log for %s: %w", d.Resource, err)
		}
		if len(out.Unsuccessful) > 0 {
			u := out.Unsuccessful[0]
			return ids, fmt.Errorf("create flow log for %s: %s: %s", u.ResourceID, u.Error.Code, u.Error.Message)
		}
		ids = append(ids, out.FlowLogIDs...)
	}
	return ids, nil
}

// createInput is the CreateFlowLogs request of a scenario's flow log.
func createInput(topo *vpc.Topology, d traffic.FlowLogDoc) (flowlog.CreateInput, error) {
	in := flowlog.CreateInput{
		ResourceIDs:            []string{d.Resource},
		TrafficType:            d.TrafficType,
		LogFormat:              d.LogFormat,
		MaxAggregationInterval: d.MaxAggregationInterval,
	}
	if in.TrafficType == "" {
		in.TrafficType = "ALL"
	}
	switch {
	case strings.HasPrefix(d.Resource, "vpc-"):
		in.ResourceType = flowlog.ResourceVPC
	case strings.HasPrefix(d.Resource, "subnet-"):
		in.ResourceType = flowlog.ResourceSubnet
	default:
		in.ResourceType = flowlog.ResourceNetworkInterface
	}
	switch d.Destination {
	case flowlog.DestinationFirehose:
		in.LogDestinationType = flowlog.DestinationFirehose
		in.LogDestination = d.LogDestination
		if in.LogDestination == "" {
			in.LogDestination = fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/%s", topo.Region, topo.AccountID, DefaultDeliveryStream)
		}
	case flowlog.DestinationCloudWatchLogs:
		in.LogDestinationType = flowlog.DestinationCloudWatchLogs
		in.LogGroupName = d.LogGroup
		if in.LogGroupName == "" && d.LogDestination == "" {
			in.LogGroupName = DefaultLogGroup
		}
		in.LogDestination = d.LogDestination
		in.DeliverLogsPermissionArn = fmt.Sprintf("arn:aws:iam::%s:role/vpcflow-flow-logs", topo.AccountID)
	case flowlog.DestinationS3, "":
		in.LogDestinationType = flowlog.DestinationS3
		in.LogDestination = d.LogDestination
		if in.LogDestination == "" {
			in.LogDestination = "arn:aws:s3:::" + DefaultBucket
		}
		if d.FileFormat != "" || d.HiveCompatible || d.PerHourPartition {
			in.DestinationOptions = &flowlog.DestinationOptions{FileFormat: d.FileFormat, HiveCompatiblePartitions: d.HiveCompatible, PerHourPartition: d.PerHourPartition}
			if in.DestinationOptions.FileFormat == "" {
				in.DestinationOptions.FileFormat = flowlog.FilePlainText
			}
		}
	default:
		return in, fmt.Errorf("flow log for %s: unknown destination %q (want %s, %s or %s)", d.Resource, d.Destination,
			flowlog.DestinationS3, flowlog.DestinationCloudWatchLogs, flowlog.DestinationFirehose)
	}
	return in, nil
}

// CheckFlowLogs validates flow logs as CreateFlowLogs would, before
// anything is created or written: a command's bad flags fail before its
// data directory is touched.
func CheckFlowLogs(topo *vpc.Topology, docs []traffic.FlowLogDoc) error {
	for _, d := range docs {
		in, err := createInput(topo, d)
		if err != nil {
			return err
		}
		if err := flowlog.Validate(in, topo.AccountID, topo.Region); err != nil {
			return fmt.Errorf("flow log for %s: %w", d.Resource, err)
		}
	}
	return nil
}

func (p *Pipeline) newDestination(fl publish.FlowLog, r flowlog.Resource) (publish.Destination, error) {
	d, err := p.openDestination(fl, r)
	if err != nil {
		return nil, err
	}
	c := counting{Destination: d, n: &p.delivered}
	if r.LogDestinationType == flowlog.DestinationFirehose {
		// openDestination has validated the ARN.
		if name, err := stream.ParseDeliveryStreamARN(r.LogDestination); err == nil {
			c.stream = p.firehoseCounter(name)
		}
	}
	return c, nil
}

func (p *Pipeline) openDestination(fl publish.FlowLog, r flowlog.Resource) (publish.Destination, error) {
	switch r.LogDestinationType {
	case flowlog.DestinationS3:
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(r.LogDestination, "arn:aws:s3:::"), "/")
		cfg := s3pub.DefaultConfig()
		cfg.FlowLog = fl
		cfg.Bucket = bucket
		cfg.Prefix = prefix
		cfg.SealInterval = -1 // sealing follows the simulated clock only
		if o := r.DestinationOptions; o != nil {
			if o.FileFormat != "" {
				cfg.FileFormat = s3pub.FileFormat(o.FileFormat)
			}
			cfg.HiveCompatiblePartitions = o.HiveCompatiblePartitions
			cfg.PerHourPartition = o.PerHourPartition
		}
		cfg.SpoolDir = filepath.Join(p.opts.DataDir, SpoolDir, fl.ID)
		if err := p.Objects.CreateBucket(p.ctx, bucket); err != nil {
			return nil, err
		}
		d, err := s3pub.New(cfg, s3pub.Deps{Store: p.Objects, Now: p.Now, Logger: p.opts.Logger, Metrics: p.pubMetrics})
		if err != nil {
			return nil, err
		}
		return d, nil
	case flowlog.DestinationCloudWatchLogs:
		if fl.LogGroup == "" {
			// arn:aws:logs:region:account:log-group:NAME[:*]
			if _, g, ok := strings.Cut(r.LogDestination, ":log-group:"); ok {
				fl.LogGroup = strings.TrimSuffix(g, ":*")
			}
		}
		return cwlogs.New(cwlogs.Config{FlowLog: fl}, cwlogs.Deps{Store: p.Logs, Now: p.Now, Logger: p.opts.Logger, Metrics: p.pubMetrics})
	case flowlog.DestinationFirehose:
		if err := p.CheckDestination(r.LogDestinationType); err != nil {
			return nil, fmt.Errorf("flow log %s: %w", fl.ID, err)
		}
		name, err := stream.ParseDeliveryStreamARN(r.LogDestination)
		if err != nil {
			return nil, fmt.Errorf("flow log %s: %w", fl.ID, err)
		}
		cfg := stream.ForDeliveryStream(name)
		cfg.FlowLog = fl
		cfg.URL = p.opts.NATSURL
		cfg.SpoolDir = filepath.Join(p.opts.DataDir, SpoolDir, fl.ID)
		return stream.New(cfg, stream.Deps{Now: p.Now, Logger: p.opts.Logger, Metrics: p.pubMetrics})
	}
	return nil, fmt.Errorf("destination type %s is not available in this build", r.LogDestinationType)
}

// ErrNoNATS: a kinesis-data-firehose flow log on a pipeline without a NATS
// server to publish to.
var ErrNoNATS = errors.New("kinesis-data-firehose flow logs publish to NATS JetStream, and no NATS server is configured " +
	"(vpcflow serve: nats.url or nats.embedded in the configuration, or --nats-url / --nats-embedded)")

// CheckDestination reports whether the pipeline can deliver to a
// destination type: kinesis-data-firehose needs Options.NATSURL.
func (p *Pipeline) CheckDestination(destinationType string) error {
	if destinationType == flowlog.DestinationFirehose && p.opts.NATSURL == "" {
		return ErrNoNATS
	}
	return nil
}

// FlowLogAPI is the flow log service behind the CreateFlowLogs,
// DescribeFlowLogs and DeleteFlowLogs actions.
type FlowLogAPI struct {
	*flowlog.Service
	p *Pipeline
}

// FlowLogAPI returns the service for the APIs.
func (p *Pipeline) FlowLogAPI() FlowLogAPI { return FlowLogAPI{Service: p.Flows, p: p} }

// Create is CreateFlowLogs. It refuses a destination the pipeline cannot
// deliver to, rather than create a flow log that could only fail.
func (a FlowLogAPI) Create(ctx context.Context, in flowlog.CreateInput) (flowlog.CreateOutput, error) {
	if err := a.p.CheckDestination(in.LogDestinationType); err != nil {
		return flowlog.CreateOutput{}, &flowlog.Error{Code: flowlog.CodeInvalidParameter,
			Message: "LogDestinationType " + in.LogDestinationType + " is not available on this server: " + err.Error()}
	}
	return a.Service.Create(ctx, in)
}
