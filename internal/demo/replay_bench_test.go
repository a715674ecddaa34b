package demo

import (
	"context"
	"path/filepath"
	"testing"

	"vpcflow/internal/gctune"
	"vpcflow/internal/traffic/capture"
	"vpcflow/internal/vpc"
)

// benchTopology owns the servers of capture.DefaultGenConfig.
func benchTopology(tb testing.TB) *vpc.Topology {
	tb.Helper()
	topo, err := vpc.LoadFile("testdata/bench-topology.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return topo
}

// writeCapture generates the capture of cfg into a temporary file and
// returns its path.
func writeCapture(tb testing.TB, cfg capture.GenConfig) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "bench.pcap")
	if _, err := capture.GenerateFile(path, cfg); err != nil {
		tb.Fatal(err)
	}
	return path
}

func BenchmarkReplay(b *testing.B) {
	cfg := capture.DefaultGenConfig()
	cfg.Packets, cfg.Flows = 200_000, 20_000
	path := writeCapture(b, cfg)
	topo := benchTopology(b)
	gctune.ForBatch() // as `vpcflow replay` runs
	b.ReportAllocs()
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "out")
		res, err := ReplayCapture(context.Background(), topo, path, ReplayOptions{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Replay.Packets)/res.Elapsed.Seconds(), "packets/s")
	}
}
