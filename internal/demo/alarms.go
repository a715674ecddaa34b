package demo

import (
	"context"
	"time"

	"vpcflow/internal/alarm"
	"vpcflow/internal/logstore"
)

// liveAlarms runs an alarm engine on the events a run appends to the log
// store, evaluating once per simulated minute, so notifications go out as
// the run reaches them (in real time with --realtime). Evaluation at a
// minute sees every event appended before it: Append hands events to the
// subscription before it returns, and each tick drains the subscription
// first, so a run gives the same transitions every time.
type liveAlarms struct {
	eng   *alarm.Engine
	sub   *logstore.Subscription
	ticks chan time.Time
	acks  chan []alarm.Transition
	done  chan struct{}
	last  time.Time
	trs   []alarm.Transition
}

func startLiveAlarms(ctx context.Context, store *logstore.Store, eng *alarm.Engine, start time.Time) *liveAlarms {
	l := &liveAlarms{eng: eng, sub: store.Subscribe(logstore.Query{}, 0),
		ticks: make(chan time.Time), acks: make(chan []alarm.Transition), done: make(chan struct{}), last: start}
	go func() {
		defer close(l.done)
		for {
			select {
			case evs, ok := <-l.sub.C:
				if !ok {
					return
				}
				eng.IngestBatch(evs)
			case now := <-l.ticks:
				l.drain()
				trs := eng.Step(ctx, l.last, now)
				l.last = now
				l.acks <- trs
			}
		}
	}()
	return l
}

func (l *liveAlarms) drain() {
	for {
		select {
		case evs, ok := <-l.sub.C:
			if !ok {
				return
			}
			l.eng.IngestBatch(evs)
		default:
			return
		}
	}
}

// tick evaluates the minutes up to now.
func (l *liveAlarms) tick(now time.Time) {
	now = now.Truncate(time.Minute)
	select {
	case <-l.done:
		return
	case l.ticks <- now:
		l.trs = append(l.trs, <-l.acks...)
	}
}

// finish runs after the log store closed: it ingests the last events and
// evaluates up to the end of the run plus the alarms' longest window.
func (l *liveAlarms) finish(ctx context.Context, end time.Time) []alarm.Transition {
	<-l.done
	l.trs = append(l.trs, l.eng.Step(ctx, l.last, end.Add(l.eng.Tail()))...)
	return l.trs
}
