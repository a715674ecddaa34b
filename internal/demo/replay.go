package demo

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"vpcflow/internal/traffic"
	"vpcflow/internal/traffic/capture"
	"vpcflow/internal/vpc"
)

// ReplayOptions tune ReplayCapture.
type ReplayOptions struct {
	DataDir string
	// Map rewrites capture addresses (see ParseMap).
	Map map[netip.Addr]netip.Addr
	// FlowLogs to create; empty means one flow log per VPC of the topology
	// to S3 (default format, ALL, 600 s).
	FlowLogs []traffic.FlowLogDoc
	Progress func(st *capture.ReplayStats, records int64)
	// Serial runs the flow log service on the replay's goroutine. By
	// default, when more than one CPU is available, it runs on its own
	// (the output is the same).
	Serial bool
}

// ReplayResult is what a replay did.
type ReplayResult struct {
	Topology *vpc.Topology
	FlowLogs []string
	Replay   *capture.ReplayStats
	Network  traffic.Counts
	Records  int64
	Elapsed  time.Duration
}

// ParseMap parses --map values: CAPTURE_IP=ENI_ID (the interface's primary
// private IP), CAPTURE_IP=IP, or CAPTURE_IP=interface-name.
func ParseMap(topo *vpc.Topology, specs []string) (map[netip.Addr]netip.Addr, error) {
	m := map[netip.Addr]netip.Addr{}
	for _, s := range specs {
		from, to, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("--map %q: expected CAPTURE_IP=ENI (or =IP)", s)
		}
		a, err := netip.ParseAddr(strings.TrimSpace(from))
		if err != nil {
			return nil, fmt.Errorf("--map %q: %q is not an IP address", s, from)
		}
		to = strings.TrimSpace(to)
		if b, err := netip.ParseAddr(to); err == nil {
			// A packet cannot carry one IPv4 and one IPv6 address.
			if a.Unmap().Is4() != b.Unmap().Is4() {
				return nil, fmt.Errorf("--map %q: %s and %s are of different IP versions", s, a, b)
			}
			m[a.Unmap()] = b.Unmap()
			continue
		}
		var eni *vpc.Interface
		if eni = topo.Interface(to); eni == nil {
			for _, e := range topo.Interfaces {
				if e.Name == to {
					eni = e
				}
			}
		}
		if eni == nil {
			return nil, fmt.Errorf("--map %q: no interface %q in the topology", s, to)
		}
		if a.Is4() != eni.PrimaryIP.Is4() {
			return nil, fmt.Errorf("--map %q: %s and %s's primary address %s are of different IP versions", s, a, eni.ID, eni.PrimaryIP)
		}
		m[a.Unmap()] = eni.PrimaryIP
	}
	return m, nil
}

// ReplayCapture replays a pcap/pcapng file through the topology on the
// capture's clock and publishes the flow logs into opts.DataDir.
func ReplayCapture(ctx context.Context, topo *vpc.Topology, path string, opts ReplayOptions) (*ReplayResult, error) {
	t0 := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open capture: %w", err)
	}
	defer f.Close()
	pf := capture.NewPrefetcher(f)
	defer pf.Close()
	r, err := capture.NewReader(pf, path)
	if err != nil {
		return nil, err
	}
	docs := opts.FlowLogs
	if len(docs) == 0 {
		docs = DefaultFlowLogs(topo)
	}
	res := &ReplayResult{Topology: topo}
	var (
		p    *Pipeline
		pipe *obsPipe
	)
	advance := func(now time.Time) { p.Advance(now) }
	st, runErr := capture.Replay(ctx, r, capture.ReplayOptions{
		Map: opts.Map,
		Begin: func(first time.Time) (*traffic.Dataplane, error) {
			var err error
			if p, err = Open(ctx, topo, Options{DataDir: opts.DataDir, Start: first, Seed: 1}); err != nil {
				return nil, err
			}
			if res.FlowLogs, err = p.CreateFlowLogs(docs); err != nil {
				return nil, err
			}
			if !opts.Serial && runtime.GOMAXPROCS(0) > 1 {
				pipe = newObsPipe(p.Flows, p.Advance)
				p.Net.Observe, advance = pipe.Observe, pipe.Advance
			}
			return p.Net, p.Start()
		},
		Tick: func(now time.Time) error {
			advance(now)
			return nil
		},
		Progress: func(st *capture.ReplayStats) {
			if opts.Progress != nil && p != nil {
				opts.Progress(st, p.Delivered())
			}
		},
	})
	res.Replay = st
	if pipe != nil {
		pipe.Close()
	}
	if p != nil {
		closeErr := p.Close(st.Last)
		res.Network = p.Net.Counts
		res.Records = p.Delivered()
		if runErr == nil && closeErr != nil {
			runErr = fmt.Errorf("publish flow logs: %w", closeErr)
		}
	}
	res.Elapsed = time.Since(t0)
	if runErr != nil {
		if p != nil {
			return res, fmt.Errorf("%w (the flow logs of the %d packets replayed before it were written to %s; they are partial)", runErr, st.Packets, opts.DataDir)
		}
		return res, runErr
	}
	return res, nil
}
