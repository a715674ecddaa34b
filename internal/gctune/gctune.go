// Package gctune sets the garbage collector for batch runs.
package gctune

import (
	"os"
	"runtime/debug"
)

// Batch runs (simulate, replay, demo) keep a few hundred MB of flow state
// that lives for the whole run and allocate little per packet, so the
// default GOGC=100 spends 5–10 % of their CPU re-marking the same heap.
// GOGC=400 trades memory for that time; the soft memory limit, a quarter of
// the machine's RAM, makes the collector run more often again before the
// bigger heap could matter. A GOGC or GOMEMLIMIT in the environment wins.
const (
	batchGCPercent     = 400
	batchMemLimitShare = 4 // 1/4 of physical memory
)

// ForBatch applies the batch settings above unless the environment
// sets them. It returns the GC percent and memory limit now in force.
func ForBatch() (gcPercent int, memLimit int64) {
	return tuneGC(os.Getenv, physicalMemory())
}

func tuneGC(getenv func(string) string, physical uint64) (gcPercent int, memLimit int64) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(batchGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" && physical > 0 {
		debug.SetMemoryLimit(int64(physical / batchMemLimitShare))
	}
	gcPercent = debug.SetGCPercent(-1)
	debug.SetGCPercent(gcPercent)
	return gcPercent, debug.SetMemoryLimit(-1)
}
