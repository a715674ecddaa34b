package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"vpcflow/internal/logstore"
	"vpcflow/internal/traffic"
	"vpcflow/internal/vpc"
)

// RunOptions tune RunScenario.
type RunOptions struct {
	DataDir  string
	Realtime bool
	Speed    float64
	// Progress is called about every simulated minute.
	Progress func(now time.Time, st *traffic.Stats)
	Logger   *slog.Logger
	// NATSURL is for the scenario's kinesis-data-firehose flow logs.
	NATSURL string
}

// RunResult is what a run did.
type RunResult struct {
	Scenario *traffic.Scenario
	Topology *vpc.Topology
	FlowLogs []string
	Traffic  traffic.Stats
	Network  traffic.Counts
	Elapsed  time.Duration
	// Groups and Events describe the CloudWatch-like log store.
	Groups []logstore.GroupInfo
	Events int64
}

// RunScenario creates the scenario's flow logs in dataDir, runs its traffic
// through the dataplane on the simulated clock, and publishes every record.
func RunScenario(ctx context.Context, sc *traffic.Scenario, topo *vpc.Topology, opts RunOptions) (*RunResult, error) {
	t0 := time.Now()
	p, err := Open(ctx, topo, Options{DataDir: opts.DataDir, Start: sc.Start, Seed: sc.Seed, Logger: opts.Logger, NATSURL: opts.NATSURL})
	if err != nil {
		return nil, err
	}
	res := &RunResult{Scenario: sc, Topology: topo}
	if res.FlowLogs, err = p.CreateFlowLogs(sc.FlowLogs); err != nil {
		p.Close(sc.Start)
		return nil, err
	}
	if err := p.Start(); err != nil {
		p.Close(sc.Start)
		return nil, err
	}
	eng := traffic.NewEngine(sc, p.Net, traffic.Options{
		Realtime: opts.Realtime, Speed: opts.Speed,
		Progress: func(now time.Time, st *traffic.Stats) {
			p.Advance(now)
			if opts.Progress != nil {
				opts.Progress(now, st)
			}
		},
	})
	runErr := eng.Run(ctx)
	end := sc.End()
	if runErr != nil {
		end = eng.Now()
	}
	closeErr := p.Close(end)
	res.Groups, res.Events = p.Groups, p.Events
	res.Traffic = *eng.Stats()
	res.Network = p.Net.Counts
	res.Elapsed = time.Since(t0)
	if runErr != nil {
		return res, fmt.Errorf("simulation stopped at %s: %w", eng.Now().Format(time.RFC3339), runErr)
	}
	if closeErr != nil {
		return res, fmt.Errorf("publish flow logs: %w", closeErr)
	}
	return res, nil
}
