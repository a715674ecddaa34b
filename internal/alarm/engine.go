package alarm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"vpcflow/internal/logstore"
)

// Source is where batch evaluation reads events.
type Source interface {
	Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error
}

// Deps are the engine's injected dependencies; all are optional.
type Deps struct {
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// HTTPClient delivers webhook notifications.
	HTTPClient *http.Client
	// Sleep waits between delivery retries.
	Sleep func(context.Context, time.Duration) error
}

type compiledFilter struct {
	MetricFilter
	pattern *Pattern
	value   float64 // when MetricValue is a number
	valueOf string  // when it is a reference
}

// Transition is an alarm state change and what was delivered for it.
type Transition struct {
	HistoryItem
	Deliveries []DeliveryResult
}

// Engine runs metric filters over events and evaluates alarms. It is safe
// for concurrent use.
type Engine struct {
	cfg      Config
	now      func() time.Time
	log      *slog.Logger
	filters  []compiledFilter
	alarms   []*Alarm
	notifier *Notifier

	mu      sync.Mutex
	metrics *Metrics
	toks    []string
	events  int64
	matches int64
	// Notify turns notification delivery on (default true).
	notify bool
}

// New validates cfg and builds an engine. All alarms start in
// INSUFFICIENT_DATA.
func New(cfg Config, deps Deps) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, now: deps.Now, log: deps.Logger, metrics: NewMetrics(),
		notifier: newNotifier(cfg, deps), notify: true}
	for _, f := range cfg.MetricFilters {
		p, _ := ParsePattern(f.FilterPattern)
		cf := compiledFilter{MetricFilter: f, pattern: p}
		mv := f.MetricTransformations[0].MetricValue
		if v, err := strconv.ParseFloat(mv, 64); err == nil {
			cf.value = v
		} else {
			cf.valueOf = mv
		}
		e.filters = append(e.filters, cf)
	}
	for _, a := range cfg.Alarms {
		e.alarms = append(e.alarms, newAlarm(a))
	}
	return e, nil
}

// SetNotify turns notification delivery on or off (a dry run still
// records transitions).
func (e *Engine) SetNotify(on bool) {
	e.mu.Lock()
	e.notify = on
	e.mu.Unlock()
}

// Ingest runs the metric filters over one event.
func (e *Engine) Ingest(ev *logstore.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ingest(ev)
}

// IngestBatch runs the metric filters over events.
func (e *Engine) IngestBatch(evs []logstore.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range evs {
		e.ingest(&evs[i])
	}
}

func groupMatches(pattern, group string) bool {
	if group == "" || pattern == "" || pattern == group {
		return true
	}
	ok, _ := path.Match(pattern, group)
	return ok
}

func (e *Engine) ingest(ev *logstore.Event) {
	e.events++
	for i := range e.filters {
		f := &e.filters[i]
		if !groupMatches(f.LogGroupName, ev.LogGroup) {
			continue
		}
		t := &f.MetricTransformations[0]
		ok, x := f.pattern.MatchExtract(ev.Message, e.toks)
		if x.toks != nil {
			e.toks = x.toks[:0]
		}
		if !ok {
			if t.DefaultValue != nil {
				e.metrics.Put(MetricKey{t.MetricNamespace, t.MetricName, ""}, ev.Timestamp, *t.DefaultValue)
			}
			continue
		}
		v := f.value
		if f.valueOf != "" {
			s, ok := x.Get(f.valueOf)
			if !ok {
				continue
			}
			var err error
			if v, err = strconv.ParseFloat(s, 64); err != nil {
				continue // a non-numeric value ("-") publishes nothing
			}
		}
		dims := ""
		if len(t.Dimensions) > 0 {
			d := make(map[string]string, len(t.Dimensions))
			for name, ref := range t.Dimensions {
				s, ok := x.Get(ref)
				if !ok {
					s = ""
				}
				d[name] = s
			}
			dims = dimString(d)
		}
		e.matches++
		e.metrics.Put(MetricKey{t.MetricNamespace, t.MetricName, dims}, ev.Timestamp, v)
	}
}

// Evaluate evaluates every alarm at time now and delivers a notification
// for each state change to the topics of the new state's actions.
func (e *Engine) Evaluate(ctx context.Context, now time.Time) []Transition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Transition
	for _, a := range e.alarms {
		h := a.evaluate(now, e.metrics)
		if h == nil {
			continue
		}
		tr := Transition{HistoryItem: *h}
		e.log.Info("alarm state change", "alarm", a.Config.AlarmName, "old_state", string(h.OldState),
			"new_state", string(h.NewState), "reason", h.Reason)
		if e.notify && (a.Config.ActionsEnabled == nil || *a.Config.ActionsEnabled) {
			tr.Deliveries = e.deliver(ctx, a, *h)
		}
		out = append(out, tr)
	}
	return out
}

func (e *Engine) deliver(ctx context.Context, a *Alarm, h HistoryItem) []DeliveryResult {
	var actions []string
	switch h.NewState {
	case StateAlarm:
		actions = a.Config.AlarmActions
	case StateOK:
		actions = a.Config.OKActions
	case StateInsufficientData:
		actions = a.Config.InsufficientDataActions
	}
	if len(actions) == 0 {
		return nil
	}
	msg := e.alarmMessage(a, h)
	subject := fmt.Sprintf("%s: %q in %s", h.NewState, a.Config.AlarmName, regionName(e.cfg.Region))
	if len(subject) > 100 {
		subject = subject[:100]
	}
	id := messageID(e.alarmArn(a), h.Timestamp.Format(time.RFC3339Nano), string(h.NewState))
	var out []DeliveryResult
	for _, t := range actions {
		out = append(out, e.notifier.Publish(ctx, t, subject, msg, id, h.Timestamp)...)
	}
	return out
}

func (e *Engine) alarmArn(a *Alarm) string {
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", e.cfg.Region, e.cfg.AccountID, a.Config.AlarmName)
}

// alarmMessage is the JSON CloudWatch puts in an alarm's SNS message.
func (e *Engine) alarmMessage(a *Alarm, h HistoryItem) string {
	c := a.Config
	arns := func(names []string) []string {
		out := make([]string, 0, len(names))
		for _, n := range names {
			out = append(out, e.notifier.TopicArn(topicName(n)))
		}
		return out
	}
	type dim struct {
		Value string `json:"value"`
		Name  string `json:"name"`
	}
	dims := []dim{}
	names := make([]string, 0, len(c.Dimensions))
	for k := range c.Dimensions {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		dims = append(dims, dim{Value: c.Dimensions[k], Name: k})
	}
	var desc any
	if c.AlarmDescription != "" {
		desc = c.AlarmDescription
	}
	m := struct {
		AlarmName               string   `json:"AlarmName"`
		AlarmDescription        any      `json:"AlarmDescription"`
		AWSAccountID            string   `json:"AWSAccountId"`
		NewStateValue           State    `json:"NewStateValue"`
		NewStateReason          string   `json:"NewStateReason"`
		StateChangeTime         string   `json:"StateChangeTime"`
		Region                  string   `json:"Region"`
		AlarmArn                string   `json:"AlarmArn"`
		OldStateValue           State    `json:"OldStateValue"`
		OKActions               []string `json:"OKActions"`
		AlarmActions            []string `json:"AlarmActions"`
		InsufficientDataActions []string `json:"InsufficientDataActions"`
		Trigger                 any      `json:"Trigger"`
	}{
		AlarmName: c.AlarmName, AlarmDescription: desc, AWSAccountID: e.cfg.AccountID,
		NewStateValue: h.NewState, NewStateReason: h.Reason,
		StateChangeTime: h.Timestamp.UTC().Format("2006-01-02T15:04:05.000+0000"),
		Region:          regionName(e.cfg.Region), AlarmArn: e.alarmArn(a), OldStateValue: h.OldState,
		OKActions: arns(c.OKActions), AlarmActions: arns(c.AlarmActions), InsufficientDataActions: arns(c.InsufficientDataActions),
		Trigger: struct {
			MetricName                       string  `json:"MetricName"`
			Namespace                        string  `json:"Namespace"`
			StatisticType                    string  `json:"StatisticType"`
			Statistic                        string  `json:"Statistic"`
			Unit                             any     `json:"Unit"`
			Dimensions                       []dim   `json:"Dimensions"`
			Period                           int     `json:"Period"`
			EvaluationPeriods                int     `json:"EvaluationPeriods"`
			DatapointsToAlarm                int     `json:"DatapointsToAlarm"`
			ComparisonOperator               string  `json:"ComparisonOperator"`
			Threshold                        float64 `json:"Threshold"`
			TreatMissingData                 string  `json:"TreatMissingData"`
			EvaluateLowSampleCountPercentile string  `json:"EvaluateLowSampleCountPercentile"`
		}{c.MetricName, c.Namespace, "Statistic", upperStat(c.Statistic), nil, dims, c.Period, c.EvaluationPeriods,
			c.DatapointsToAlarm, c.ComparisonOperator, c.Threshold, c.TreatMissingData, ""},
	}
	return marshalNoEscape(m)
}

// marshalNoEscape is json.Marshal without HTML escaping ("->" stays as
// is, as in AWS's messages).
func marshalNoEscape(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSuffix(b.String(), "\n")
}

func upperStat(s string) string {
	switch s {
	case "SampleCount":
		return "SAMPLE_COUNT"
	}
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// Run is the live mode: it ingests event batches as they arrive (for
// example from logstore.Subscribe) and evaluates the alarms at every tick
// of the injected clock, until ctx ends or events is closed.
func (e *Engine) Run(ctx context.Context, events <-chan []logstore.Event, ticks <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case evs, ok := <-events:
			if !ok {
				return nil
			}
			e.IngestBatch(evs)
		case now := <-ticks:
			e.Evaluate(ctx, now)
		}
	}
}

// AlarmStatus is DescribeAlarms' view of an alarm.
type AlarmStatus struct {
	AlarmName   string    `json:"alarmName"`
	StateValue  State     `json:"stateValue"`
	StateReason string    `json:"stateReason"`
	Updated     time.Time `json:"stateUpdatedTimestamp"`
}

// Alarms returns the alarms' current states in configuration order.
func (e *Engine) Alarms() []AlarmStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]AlarmStatus, len(e.alarms))
	for i, a := range e.alarms {
		out[i] = AlarmStatus{a.Config.AlarmName, a.State, a.Reason, a.Updated}
	}
	return out
}

// History returns every state change of every alarm, oldest first.
func (e *Engine) History() []HistoryItem {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []HistoryItem
	for _, a := range e.alarms {
		out = append(out, a.History...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp.Before(out[j].Timestamp) })
	return out
}

// Counts reports events ingested and filter matches.
func (e *Engine) Counts() (events, matches int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.events, e.matches
}

// Metric returns the statistic of a metric over [start, end).
func (e *Engine) Metric(k MetricKey, start, end time.Time, statistic string) (float64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.metrics.Statistic(k, start.UnixMilli(), end.UnixMilli(), statistic)
}

// EvaluateStored is the batch mode: it runs the metric filters over every
// event of src, then evaluates the alarms at each minute boundary from the
// first datapoint until the last one has left every alarm's evaluation
// range (see Tail), as CloudWatch would have while the data arrived.
func (e *Engine) EvaluateStored(ctx context.Context, src Source, q logstore.Query) ([]Transition, error) {
	err := src.Scan(ctx, q, func(ev *logstore.Event) error {
		e.Ingest(ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	e.mu.Lock()
	first, last, ok := e.metrics.Span()
	e.mu.Unlock()
	tail := e.Tail().Milliseconds()
	if !ok {
		return e.Evaluate(ctx, e.now()), nil
	}
	var out []Transition
	for t := first + 60000; t <= last+tail+60000; t += 60000 {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out = append(out, e.Evaluate(ctx, time.UnixMilli(t).UTC())...)
	}
	return out, nil
}

// Tail is how long after the last datapoint an alarm can still change
// state: until the period holding it has left the evaluation range, the
// longest Period × (evaluation range + 1).
func (e *Engine) Tail() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var tail time.Duration
	for _, a := range e.alarms {
		n := evaluationRange(a.Config.EvaluationPeriods) + 1
		tail = max(tail, time.Duration(a.Config.Period*n)*time.Second)
	}
	return tail
}

// Step evaluates the alarms at every minute boundary after `after` up to
// and including `until`, as CloudWatch does once a minute, and returns the
// state changes in order.
func (e *Engine) Step(ctx context.Context, after, until time.Time) []Transition {
	var out []Transition
	for t := after.Truncate(time.Minute).Add(time.Minute); !t.After(until); t = t.Add(time.Minute) {
		if ctx.Err() != nil {
			break
		}
		out = append(out, e.Evaluate(ctx, t)...)
	}
	return out
}
