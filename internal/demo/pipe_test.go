package demo

import (
	"math/rand/v2"
	"testing"
	"time"

	"vpcflow/internal/dataplane"
)

// pipeLog records what the pipe's goroutine applied, in order: an
// observation as its packet count, a clock advance as -1 minus its
// Unix second.
type pipeLog struct{ calls []int64 }

func (l *pipeLog) ObserveBatch(obs []dataplane.Observation) {
	for i := range obs {
		l.calls = append(l.calls, obs[i].Packets)
	}
}

func (l *pipeLog) advance(now time.Time) { l.calls = append(l.calls, -1-now.Unix()) }

// TestObsPipeKeepsOrder: the pipe applies every observation and every
// clock advance, in the order they were queued, whatever the batch
// boundaries (the replay's output test cannot tell a lost advance, since
// windows also close on later observations).
func TestObsPipeKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var log pipeLog
	p := newObsPipe(&log, log.advance)
	var want []int64
	path := make([]dataplane.Observation, 2)
	sec := int64(0)
	for i := range 20 * pipeBatch {
		if rng.IntN(50) == 0 {
			sec++
			p.Advance(time.Unix(sec, 0))
			want = append(want, -1-sec)
		}
		path = path[:1+i%2] // packets of one and two hops
		for j := range path {
			path[j].Packets = int64(len(want) + 1 + j)
		}
		p.Observe(path)
		for j := range path {
			want = append(want, path[j].Packets)
			path[j].Packets = -99 // the pipe must have copied it
		}
	}
	p.Advance(time.Unix(sec+1, 0))
	want = append(want, -2-sec)
	p.Close()
	if len(log.calls) != len(want) {
		t.Fatalf("applied %d calls, queued %d", len(log.calls), len(want))
	}
	for i := range want {
		if log.calls[i] != want[i] {
			t.Fatalf("call %d: got %d, want %d", i, log.calls[i], want[i])
		}
	}
}
