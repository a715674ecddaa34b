package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"vpcflow/internal/alarm"
	"vpcflow/internal/traffic"
	"vpcflow/internal/vpc"
)

// RunOptions tune RunScenario.
type RunOptions struct {
	DataDir  string
	Realtime bool
	Speed    float64
	// Progress is called about every simulated minute with the simulated
	// time, the traffic so far and the records delivered so far.
	Progress func(now time.Time, st *traffic.Stats, records int64)
	Logger   *slog.Logger
	// NATSURL is for the scenario's kinesis-data-firehose flow logs.
	NATSURL string
	// Alarms, when set, evaluates metric filters and alarms live on the
	// events the run writes to the log store, once per simulated minute.
	Alarms *alarm.Engine
	// NoCoalesce hands every packet to the dataplane when it is sent
	// (traffic.Options.NoCoalesce): the same output, more slowly.
	NoCoalesce bool
}

// RunResult is what a run did.
type RunResult struct {
	Scenario *traffic.Scenario
	Topology *vpc.Topology
	FlowLogs []string
	Traffic  traffic.Stats
	Network  traffic.Counts
	// Records counts the records delivered to the destinations of every
	// flow log (an S3 and a CloudWatch Logs flow log both count).
	Records int64
	Elapsed time.Duration
	// Groups and Events describe the CloudWatch-like log store.
	Groups []LogGroup
	Events int64
	// Firehose counts the records delivered to each Firehose delivery
	// stream, by name.
	Firehose map[string]int64
	// Alarms are the state changes of RunOptions.Alarms, in order.
	Alarms []alarm.Transition
}

// DefaultFlowLogs is what a run creates when its scenario names no flow
// log: one per VPC of the topology to S3, default format, ALL, 600 s, so
// that a run never silently writes nothing.
func DefaultFlowLogs(topo *vpc.Topology) []traffic.FlowLogDoc {
	var docs []traffic.FlowLogDoc
	for _, v := range topo.VPCs {
		docs = append(docs, traffic.FlowLogDoc{Resource: v.ID, TrafficType: "ALL", Destination: "s3"})
	}
	return docs
}

// RunScenario creates the scenario's flow logs (DefaultFlowLogs when it
// names none) in dataDir, runs its traffic through the dataplane on the
// simulated clock, and publishes every record.
func RunScenario(ctx context.Context, sc *traffic.Scenario, topo *vpc.Topology, opts RunOptions) (*RunResult, error) {
	t0 := time.Now()
	p, err := Open(ctx, topo, Options{DataDir: opts.DataDir, Start: sc.Start, Seed: sc.Seed, Logger: opts.Logger, NATSURL: opts.NATSURL})
	if err != nil {
		return nil, err
	}
	res := &RunResult{Scenario: sc, Topology: topo}
	docs := sc.FlowLogs
	if len(docs) == 0 {
		docs = DefaultFlowLogs(topo)
	}
	if res.FlowLogs, err = p.CreateFlowLogs(docs); err != nil {
		p.Close(sc.Start)
		return nil, err
	}
	if err := p.Start(); err != nil {
		p.Close(sc.Start)
		return nil, err
	}
	var live *liveAlarms
	if opts.Alarms != nil {
		live = startLiveAlarms(ctx, p.Logs, opts.Alarms, sc.Start)
	}
	eng := traffic.NewEngine(sc, p.Net, traffic.Options{
		Realtime: opts.Realtime, Speed: opts.Speed, NoCoalesce: opts.NoCoalesce,
		Progress: func(now time.Time, st *traffic.Stats) {
			p.Advance(now)
			if live != nil {
				live.tick(now)
			}
			if opts.Progress != nil {
				opts.Progress(now, st, p.Delivered())
			}
		},
	})
	runErr := eng.Run(ctx)
	end := sc.End()
	if runErr != nil {
		end = eng.Now()
	}
	closeErr := p.Close(end)
	if live != nil {
		res.Alarms = live.finish(ctx, end)
	}
	res.Groups, res.Events = p.Groups, p.Events
	res.Firehose = p.FirehoseRecords()
	res.Traffic = *eng.Stats()
	res.Network = p.Net.Counts
	res.Records = p.Delivered()
	res.Elapsed = time.Since(t0)
	if runErr != nil {
		return res, fmt.Errorf("simulation stopped at %s: %w", eng.Now().Format(time.RFC3339), runErr)
	}
	if closeErr != nil {
		return res, fmt.Errorf("publish flow logs: %w", closeErr)
	}
	return res, nil
}
