package traffic

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkEventQueue: one pop and one push on a queue of 50,000 pending
// events (a busy hour's conversations), each pushed 0–20 ms after the one
// popped, as conversations reschedule themselves.
func BenchmarkEventQueue(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	var q eventQueue
	var seq uint64
	for range 50_000 {
		seq++
		q.push(event{at: rng.Int64N(20e6), seq: seq})
	}
	b.ReportAllocs()
	for b.Loop() {
		ev := q.pop()
		seq++
		q.push(event{at: ev.at + rng.Int64N(20e6), seq: seq})
	}
}
