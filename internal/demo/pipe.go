package demo

import (
	"time"

	"vpcflow/internal/dataplane"
)

// pipeBatch is the number of observations handed over at a time: enough
// to make the hand-over cheap, few enough to stay in the caches.
const pipeBatch = 256

// pipeBuffers bounds the batches in flight; a full pipe makes the
// dataplane wait for the flow log service.
const pipeBuffers = 4

// obsPipe runs the flow log service's work (aggregating observations,
// closing windows) on its own goroutine, so that a replay uses a second
// core. The dataplane's goroutine copies observations into batches; the
// other goroutine applies them and the clock's advances in the order they
// were made, so the flow logs are the same as on one goroutine.
type obsPipe struct {
	flows   batchObserver
	advance func(time.Time)
	cur     []dataplane.Observation
	work    chan pipeMsg
	free    chan []dataplane.Observation
	done    chan struct{}
}

// batchObserver takes observations a batch at a time (flowlog.Service).
type batchObserver interface {
	ObserveBatch([]dataplane.Observation)
}

// pipeMsg is a batch of observations, or else a clock advance.
type pipeMsg struct {
	obs     []dataplane.Observation
	advance time.Time
}

func newObsPipe(flows batchObserver, advance func(time.Time)) *obsPipe {
	p := &obsPipe{
		flows:   flows,
		advance: advance,
		cur:     make([]dataplane.Observation, 0, pipeBatch),
		work:    make(chan pipeMsg, pipeBuffers+1),
		free:    make(chan []dataplane.Observation, pipeBuffers),
		done:    make(chan struct{}),
	}
	for range pipeBuffers - 1 {
		p.free <- make([]dataplane.Observation, 0, pipeBatch)
	}
	go p.run()
	return p
}

// Observe queues copies of a packet's observations (the dataplane reuses
// them).
func (p *obsPipe) Observe(obs []dataplane.Observation) (windowEnd int64) {
	for i := range obs {
		p.cur = append(p.cur, obs[i])
		if len(p.cur) == cap(p.cur) {
			p.flush()
		}
	}
	return 0 // the windows are another goroutine's: no coalescing (a replay does not)
}

func (p *obsPipe) flush() {
	if len(p.cur) == 0 {
		return
	}
	p.work <- pipeMsg{obs: p.cur}
	p.cur = <-p.free
}

// Advance queues a clock advance after the observations queued so far.
func (p *obsPipe) Advance(now time.Time) {
	p.flush()
	p.work <- pipeMsg{advance: now}
}

// Close applies everything queued and stops the goroutine.
func (p *obsPipe) Close() {
	p.flush()
	close(p.work)
	<-p.done
}

func (p *obsPipe) run() {
	defer close(p.done)
	for m := range p.work {
		if m.obs == nil {
			p.advance(m.advance)
			continue
		}
		p.flows.ObserveBatch(m.obs)
		clear(m.obs) // drop the references the copies hold
		p.free <- m.obs[:0]
	}
}
