package demo

import (
	"bytes"
	"context"
	"maps"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/traffic/capture"
)

// TestReplayPipeSameOutput: running the flow log service on its own
// goroutine (the default with more than one CPU) writes the same flow logs
// as running it on the replay's goroutine: the same objects with the same
// records in the same order.
func TestReplayPipeSameOutput(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("the pipe runs only with more than one CPU")
	}
	cfg := capture.DefaultGenConfig()
	cfg.Packets, cfg.Flows = 60_000, 6_000
	cfg.Gap = 5 * time.Millisecond // 5 minutes: windows close during the replay
	path := writeCapture(t, cfg)
	topo := benchTopology(t)
	run := func(serial bool) (map[string][]byte, *ReplayResult) {
		dir := filepath.Join(t.TempDir(), "out")
		res, err := ReplayCapture(context.Background(), topo, path, ReplayOptions{DataDir: dir, Serial: serial})
		if err != nil {
			t.Fatal(err)
		}
		return objects(t, dir), res
	}
	serial, sres := run(true)
	piped, pres := run(false)
	if len(serial) == 0 || sres.Records == 0 {
		t.Fatalf("the serial replay wrote %d objects, %d records", len(serial), sres.Records)
	}
	if pres.Records != sres.Records || pres.Network.Observations != sres.Network.Observations {
		t.Errorf("piped: %d records, %d observations; serial: %d, %d", pres.Records, pres.Network.Observations, sres.Records, sres.Network.Observations)
	}
	for name, want := range serial {
		got, ok := piped[name]
		switch {
		case !ok:
			t.Errorf("piped replay did not write %s", name)
		case !bytes.Equal(got, want):
			t.Errorf("%s differs between the serial and the piped replay", name)
		}
	}
	for name := range piped {
		if _, ok := serial[name]; !ok {
			t.Errorf("piped replay wrote %s, the serial one did not", name)
		}
	}
}

// objects returns the S3 objects of readTree(dir), by path relative to
// dir.
func objects(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	tree := readTree(t, dir)
	maps.DeleteFunc(tree, func(p string, _ []byte) bool { return !strings.Contains(p, "AWSLogs") })
	return tree
}
