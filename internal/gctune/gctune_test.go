package gctune

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	if p, l := tuneGC(env(nil), 8<<30); p != batchGCPercent || l != 2<<30 {
		t.Errorf("no environment: GOGC %d, limit %d; want %d, %d", p, l, batchGCPercent, 2<<30)
	}

	debug.SetGCPercent(150)
	debug.SetMemoryLimit(3 << 30)
	if p, l := tuneGC(env(map[string]string{"GOGC": "150", "GOMEMLIMIT": "3GiB"}), 8<<30); p != 150 || l != 3<<30 {
		t.Errorf("GOGC and GOMEMLIMIT set: GOGC %d, limit %d; want the environment's 150, %d", p, l, 3<<30)
	}

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	if p, l := tuneGC(env(nil), 0); p != batchGCPercent || l != math.MaxInt64 {
		t.Errorf("unknown RAM: GOGC %d, limit %d; want %d and no limit", p, l, batchGCPercent)
	}
	if physicalMemory() == 0 {
		t.Log("physical memory unknown on this system")
	}
}
