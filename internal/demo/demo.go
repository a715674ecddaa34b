package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"vpcflow/internal/datadir"
	"vpcflow/internal/flowlog"
	"vpcflow/internal/logstore"
	"vpcflow/internal/traffic"
)

// DefaultDataDir is where `vpcflow demo` writes.
const DefaultDataDir = "vpcflow-data"

// PrepareDataDir makes dir ready for a fresh run: it is created when
// missing; an earlier vpcflow data directory (it holds flowlogs.json) is
// emptied; any other non-empty directory is refused, so that a mistyped
// path never deletes someone's files, and so is a directory that a running
// vpcflow (serve) holds.
func PrepareDataDir(dir string) error {
	if err := datadir.CheckFree(dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(entries) == 0, len(entries) == 1 && entries[0].Name() == datadir.LockFile:
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, flowlog.FileName)); err != nil && !openedOnly(dir, entries) {
		return fmt.Errorf("%s exists and is not a vpcflow data directory (no %s): choose another --out", dir, flowlog.FileName)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// openedOnly reports whether a directory holds only what opening a
// pipeline creates, as a run that failed before creating its flow logs
// leaves it: the lock, and a log store of segment files or nothing. Then
// it is a data directory to reuse; a folder that only shares the log
// store's name is not.
func openedOnly(dir string, entries []os.DirEntry) bool {
	locked := false
	for _, e := range entries {
		switch n := e.Name(); {
		case n == datadir.LockFile:
			locked = true
		case n == LogStoreDir && e.IsDir():
			segs, err := os.ReadDir(filepath.Join(dir, n))
			if err != nil {
				return false
			}
			for _, s := range segs {
				if !logstore.IsSegmentName(s.Name()) {
					return false
				}
			}
		default:
			return false
		}
	}
	return locked
}

// DemoOptions tune Demo.
type DemoOptions struct {
	DataDir  string
	Duration time.Duration // 0 = the scenario's (24h)
	Progress func(now time.Time, st *traffic.Stats, records int64)
}

// Demo runs the bundled scenario into a fresh data directory, writes the
// bundled topology and scenario next to the data (for `vpcflow diagnose`
// and for reading), and returns the summary.
func Demo(ctx context.Context, opts DemoOptions) (*Summary, error) {
	if opts.DataDir == "" {
		opts.DataDir = DefaultDataDir
	}
	sc, topo, err := Bundled()
	if err != nil {
		return nil, err
	}
	if opts.Duration > 0 {
		sc.Duration = opts.Duration
	}
	if err := PrepareDataDir(opts.DataDir); err != nil {
		return nil, err
	}
	topoPath := filepath.Join(opts.DataDir, "topology.yaml")
	if err := os.WriteFile(topoPath, TopologyYAML, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(opts.DataDir, "scenario.yaml"), ScenarioYAML, 0o644); err != nil {
		return nil, err
	}
	res, err := RunScenario(ctx, sc, topo, RunOptions{DataDir: opts.DataDir, Progress: opts.Progress})
	if err != nil {
		return nil, err
	}
	s, err := Summarize(opts.DataDir, res)
	if err != nil {
		return nil, err
	}
	s.TopologyRef = topoPath
	return s, nil
}
