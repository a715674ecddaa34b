// Package machine describes the machine a benchmark harness runs on, for
// the headers of its reports: load average, CPU count and model.
package machine

import (
	"os"
	"strings"
)

// LoadAvg is the 1-minute load average from /proc/loadavg, or "?".
func LoadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// NumCPU counts the processors in /proc/cpuinfo (0 when unreadable).
func NumCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

// CPUModel is the first "model name" of /proc/cpuinfo, or "?".
func CPUModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for l := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
