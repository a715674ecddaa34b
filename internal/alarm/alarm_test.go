package alarm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"vpcflow/internal/logstore"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// sshReject is a default-format REJECT record to port 22 at t.
func sshReject(t time.Time, src string, port int) logstore.Event {
	s := t.Unix()
	return logstore.Event{LogGroup: "/vpc/flowlogs", LogStream: "eni-1a2b3c4d-all", Timestamp: s * 1000,
		Message: fmt.Sprintf("2 123456789012 eni-1a2b3c4d %s 10.0.1.5 %d %d 6 1 40 %d %d REJECT OK", src, 40000+s%1000, port, s, s+60)}
}

func accepted(t time.Time) logstore.Event {
	s := t.Unix()
	return logstore.Event{LogGroup: "/vpc/flowlogs", LogStream: "eni-1a2b3c4d-all", Timestamp: s * 1000,
		Message: fmt.Sprintf("2 123456789012 eni-1a2b3c4d 10.0.1.9 10.0.1.5 40000 443 6 10 4000 %d %d ACCEPT OK", s, s+60)}
}

type hook struct {
	mu       sync.Mutex
	fail     int // fail this many requests first
	got      []Notification
	headers  []http.Header
	requests int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if h.fail > 0 {
		h.fail--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	b, _ := io.ReadAll(r.Body)
	var n Notification
	if err := json.Unmarshal(b, &n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.got = append(h.got, n)
	h.headers = append(h.headers, r.Header.Clone())
}

// exampleConfig loads the committed example with its endpoints pointed at
// the test's webhook and files.
func exampleConfig(t *testing.T, url, file string) Config {
	t.Helper()
	b, err := os.ReadFile("testdata/ssh-rdp-reject.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "http://127.0.0.1:9000/sns", url)
	s = strings.ReplaceAll(s, "./alarm-notifications.jsonl", file)
	c, err := ParseConfig([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestSSHBruteForceAlarm(t *testing.T) {
	h := &hook{fail: 2}
	srv := httptest.NewServer(h)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "notes.jsonl")
	cfg := exampleConfig(t, srv.URL+"/sns", file)
	eng, err := New(cfg, Deps{Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	// Hour 10: 9 SSH rejects (not enough) and accepted traffic.
	for i := range 9 {
		eng.Ingest(ptr(sshReject(t0.Add(time.Duration(i)*time.Minute), "198.51.100.7", 22)))
	}
	eng.Ingest(ptr(accepted(t0.Add(30 * time.Minute))))
	trs := eng.Evaluate(t.Context(), t0.Add(time.Hour))
	if len(trs) != 1 || trs[0].NewState != StateOK {
		t.Fatalf("hour 10: %+v", trs)
	}
	// Hour 11: 6 SSH + 6 RDP rejects, and a UDP packet to 22 that does not count.
	for i := range 6 {
		eng.Ingest(ptr(sshReject(t0.Add(time.Hour+time.Duration(i)*time.Minute), "203.0.113.9", 22)))
		eng.Ingest(ptr(sshReject(t0.Add(time.Hour+time.Duration(i)*time.Minute+time.Second), "203.0.113.9", 3389)))
	}
	udp := sshReject(t0.Add(time.Hour+10*time.Minute), "203.0.113.9", 22)
	udp.Message = strings.Replace(udp.Message, " 22 6 ", " 22 17 ", 1)
	eng.Ingest(&udp)
	trs = eng.Evaluate(t.Context(), t0.Add(2*time.Hour))
	if len(trs) != 1 || trs[0].NewState != StateAlarm || trs[0].OldState != StateOK {
		t.Fatalf("hour 11: %+v", trs)
	}
	wantReason := "Threshold Crossed: 1 out of the last 1 datapoints [12.0 (23/11/26 11:00:00)] was greater than or equal to the threshold (10.0) (minimum 1 datapoint for OK -> ALARM transition)."
	if trs[0].Reason != wantReason {
		t.Errorf("reason\n got %s\nwant %s", trs[0].Reason, wantReason)
	}
	// Evaluating again in the same state notifies nothing.
	if trs := eng.Evaluate(t.Context(), t0.Add(2*time.Hour+time.Minute)); len(trs) != 0 {
		t.Errorf("re-evaluation: %+v", trs)
	}
	// Hours 12 and 13: nothing at all. The 11:00 datapoint is still in the
	// evaluation range (3 periods for 1) and is evaluated again: ALARM
	// stays ("CloudWatch alarms may repeatedly re-evaluate the last set of
	// data points for a period of time after the metric has stopped
	// flowing", AWS).
	for _, at := range []time.Time{t0.Add(3 * time.Hour), t0.Add(4 * time.Hour)} {
		if trs := eng.Evaluate(t.Context(), at); len(trs) != 0 {
			t.Fatalf("%s: %+v", at.Format("15:04"), trs)
		}
	}
	// Hour 14: the range 12:00-15:00 is empty → notBreaching → back to OK.
	trs = eng.Evaluate(t.Context(), t0.Add(5*time.Hour))
	if len(trs) != 1 || trs[0].NewState != StateOK {
		t.Fatalf("hour 14: %+v", trs)
	}

	// The webhook got OK, ALARM, OK once each; the ALARM after 2 failures.
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) != 3 || h.requests != 5 {
		t.Fatalf("webhook got %d notifications in %d requests", len(h.got), h.requests)
	}
	n := h.got[1]
	if n.Type != "Notification" || n.TopicArn != "arn:aws:sns:us-east-1:123456789012:security-alerts" ||
		n.Subject != `ALARM: "ssh-rdp-reject" in US East (N. Virginia)` || n.Timestamp != "2026-11-23T12:00:00.000Z" {
		t.Errorf("envelope: %+v", n)
	}
	if got := h.headers[1].Get("x-amz-sns-message-type"); got != "Notification" {
		t.Errorf("message type header %q", got)
	}
	var msg map[string]any
	if err := json.Unmarshal([]byte(n.Message), &msg); err != nil {
		t.Fatal(err)
	}
	trigger := msg["Trigger"].(map[string]any)
	if msg["NewStateValue"] != "ALARM" || msg["OldStateValue"] != "OK" || msg["AlarmName"] != "ssh-rdp-reject" ||
		trigger["Statistic"] != "SUM" || trigger["Threshold"] != 10.0 || trigger["Period"] != 3600.0 ||
		msg["StateChangeTime"] != "2026-11-23T12:00:00.000+0000" {
		t.Errorf("message: %s", n.Message)
	}
	// The file subscriber has one JSON line per notification.
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("file has %d lines", len(lines))
	}
	var fn Notification
	json.Unmarshal([]byte(lines[1]), &fn)
	if fn.MessageID != n.MessageID || fn.Message != n.Message {
		t.Errorf("file and webhook disagree:\n%+v\n%+v", fn, n)
	}
	// History.
	var states []State
	for _, it := range eng.History() {
		states = append(states, it.NewState)
	}
	if diff := cmp.Diff(states, []State{StateOK, StateAlarm, StateOK}); diff != "" {
		t.Errorf("history (-got +want)\n%s", diff)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDeliveredOncePerStateChange(t *testing.T) {
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	cfg := exampleConfig(t, srv.URL, filepath.Join(t.TempDir(), "f"))
	eng, err := New(cfg, Deps{Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	a := eng.alarms[0]
	hi := HistoryItem{AlarmName: "ssh-rdp-reject", Timestamp: t0, OldState: StateOK, NewState: StateAlarm, Reason: "r"}
	eng.deliver(t.Context(), a, hi)
	eng.deliver(t.Context(), a, hi) // the same change again: nothing
	hi.Timestamp = t0.Add(time.Hour)
	eng.deliver(t.Context(), a, hi) // a new change
	if h.requests != 2 {
		t.Errorf("%d deliveries, want 2", h.requests)
	}
}

func TestRetriesExhausted(t *testing.T) {
	h := &hook{fail: 100}
	srv := httptest.NewServer(h)
	defer srv.Close()
	cfg := exampleConfig(t, srv.URL, filepath.Join(t.TempDir(), "f"))
	var waits []time.Duration
	eng, _ := New(cfg, Deps{Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }})
	res := eng.deliver(t.Context(), eng.alarms[0], HistoryItem{Timestamp: t0, NewState: StateAlarm})
	if len(res) != 2 || res[0].Attempts != 4 || res[0].Err == nil || res[1].Err != nil {
		t.Fatalf("%+v", res)
	}
	if diff := cmp.Diff(waits, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}); diff != "" {
		t.Errorf("backoff (-got +want)\n%s", diff)
	}
}

func TestCommandSubscriber(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cmd.out")
	cfg := Config{AccountID: "123456789012", Region: "eu-west-1",
		Topics: []Topic{{Name: "t", Subscriptions: []Subscription{{Protocol: "command", Endpoint: "tee -a " + out}}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n := newNotifier(cfg, Deps{Sleep: noSleep})
	res := n.Publish(t.Context(), "arn:aws:sns:eu-west-1:123456789012:t", "subj", "msg", "id-1", t0)
	if len(res) != 1 || res[0].Err != nil {
		t.Fatalf("%+v", res)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), `"Subject":"subj"`) || !strings.Contains(string(b), `"TopicArn":"arn:aws:sns:eu-west-1:123456789012:t"`) {
		t.Errorf("command got %s", b)
	}
}

// TestTreatMissingData walks each treatment through data, a gap and data.
// With 1 evaluation period the range is 3 periods: the breaching datapoint
// is evaluated while it is in it, whatever the treatment; only then does
// the treatment of missing data decide.
func TestTreatMissingData(t *testing.T) {
	// Datapoints per 1-minute period: 5 (breaching), none, none, none, 1 (ok).
	series := map[int]float64{0: 5, 4: 1}
	tests := []struct {
		treat string
		want  []State // state after evaluating periods 0..4
	}{
		{"missing", []State{StateAlarm, StateAlarm, StateAlarm, StateInsufficientData, StateOK}},
		{"notBreaching", []State{StateAlarm, StateAlarm, StateAlarm, StateOK, StateOK}},
		{"breaching", []State{StateAlarm, StateAlarm, StateAlarm, StateAlarm, StateOK}},
		{"ignore", []State{StateAlarm, StateAlarm, StateAlarm, StateAlarm, StateOK}},
	}
	for _, tc := range tests {
		t.Run(tc.treat, func(t *testing.T) {
			a := newAlarm(AlarmConfig{AlarmName: "a", Namespace: "n", MetricName: "m", Statistic: "Maximum",
				Period: 60, EvaluationPeriods: 1, Threshold: 3, ComparisonOperator: "GreaterThanThreshold",
				TreatMissingData: tc.treat})
			m := NewMetrics()
			for p, v := range series {
				m.Put(a.key, t0.Add(time.Duration(p)*time.Minute+time.Second).UnixMilli(), v)
			}
			var got []State
			for p := range 5 {
				a.evaluate(t0.Add(time.Duration(p+1)*time.Minute), m)
				got = append(got, a.State)
			}
			if diff := cmp.Diff(got, tc.want); diff != "" {
				t.Errorf("(-got +want)\n%s", diff)
			}
		})
	}
}

// TestMissingDataTables replays the two tables of AWS's "How alarm state
// is evaluated when data is missing" (AlarmThatSendsEmail.md): with 3
// evaluation periods CloudWatch retrieves the 5 most recent datapoints
// (oldest first: 0 not breaching, X breaching, - missing); when at least 3
// exist it evaluates the most recent 3 whatever the treatment, otherwise it
// fills the missing ones in, and a lone old enough breaching datapoint
// alarms even when missing data is treated as missing. "Retain current
// state" is checked from both OK and ALARM.
func TestMissingDataTables(t *testing.T) {
	const retain = State("retain")
	tests := []struct {
		m      int
		points string
		want   [4]State // missing, ignore, breaching, notBreaching
	}{
		{3, "0-X-X", [4]State{StateOK, StateOK, StateOK, StateOK}},
		{3, "0----", [4]State{StateOK, StateOK, StateOK, StateOK}},
		{3, "-----", [4]State{StateInsufficientData, retain, StateAlarm, StateOK}},
		{3, "0XX-X", [4]State{StateAlarm, StateAlarm, StateAlarm, StateAlarm}},
		{3, "----X", [4]State{StateInsufficientData, retain, StateAlarm, StateOK}},
		{3, "X----", [4]State{StateAlarm, retain, StateAlarm, StateOK}},
		{2, "0-X-X", [4]State{StateAlarm, StateAlarm, StateAlarm, StateAlarm}},
		{2, "00X0X", [4]State{StateAlarm, StateAlarm, StateAlarm, StateAlarm}},
		{2, "0-X--", [4]State{StateOK, StateOK, StateAlarm, StateOK}},
		{2, "----0", [4]State{StateOK, StateOK, StateAlarm, StateOK}},
		{2, "----X", [4]State{StateInsufficientData, retain, StateAlarm, StateOK}},
	}
	for _, tc := range tests {
		for i, treat := range []string{"missing", "ignore", "breaching", "notBreaching"} {
			for _, from := range []State{StateOK, StateAlarm} {
				a := newAlarm(AlarmConfig{AlarmName: "a", Namespace: "n", MetricName: "m", Statistic: "Maximum",
					Period: 300, EvaluationPeriods: 3, DatapointsToAlarm: tc.m, Threshold: 3,
					ComparisonOperator: "GreaterThanThreshold", TreatMissingData: treat})
				a.State = from
				m := NewMetrics()
				for j, c := range tc.points {
					at := t0.Add(time.Duration(j) * 5 * time.Minute)
					switch c {
					case '0':
						m.Put(a.key, at.UnixMilli(), 1)
					case 'X':
						m.Put(a.key, at.UnixMilli(), 5)
					}
				}
				a.evaluate(t0.Add(25*time.Minute), m)
				want := tc.want[i]
				if want == retain {
					want = from
				}
				if a.State != want {
					t.Errorf("%d of 3, %s, %s, from %s: %s, want %s", tc.m, tc.points, treat, from, a.State, want)
				}
			}
		}
	}
}

// TestMOfN: 2 of 3 datapoints must breach. The first evaluation has one
// breaching datapoint and no other: too few and too recent to alarm with
// missing data treated as missing, so INSUFFICIENT_DATA stays.
func TestMOfN(t *testing.T) {
	a := newAlarm(AlarmConfig{AlarmName: "a", Namespace: "n", MetricName: "m", Statistic: "Sum",
		Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 10,
		ComparisonOperator: "GreaterThanOrEqualToThreshold"})
	m := NewMetrics()
	vals := []float64{10, 1, 1, 12, 1, 15}
	var got []State
	for i, v := range vals {
		m.Put(a.key, t0.Add(time.Duration(i)*time.Minute).UnixMilli(), v)
		a.evaluate(t0.Add(time.Duration(i+1)*time.Minute), m)
		got = append(got, a.State)
	}
	want := []State{StateInsufficientData, StateOK, StateOK, StateOK, StateOK, StateAlarm}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
	if h := a.History[len(a.History)-1]; !strings.HasPrefix(h.Reason, "Threshold Crossed: 2 out of the last 3 datapoints [15.0 (23/11/26 10:05:00), 12.0 (23/11/26 10:03:00)]") {
		t.Errorf("reason %s", h.Reason)
	}
}

func TestMetricValueAndDimensions(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
metricFilters:
  - filterName: bytes
    logGroupName: /vpc/*
    filterPattern: '[v, acct, eni, src, dst, sport, dport, proto, packets, bytes, start, end, action, status]'
    metricTransformations:
      - {metricNamespace: NS, metricName: Bytes, metricValue: $bytes, dimensions: {Action: $action}}
  - filterName: json
    logGroupName: /app
    filterPattern: '{ $.ok IS TRUE }'
    metricTransformations:
      - {metricNamespace: NS, metricName: Latency, metricValue: $.ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	eng.Ingest(ptr(accepted(t0)))
	eng.Ingest(ptr(accepted(t0.Add(10 * time.Second))))
	eng.Ingest(ptr(sshReject(t0, "1.2.3.4", 22)))
	nodata := logstore.Event{LogGroup: "/vpc/x", Timestamp: t0.UnixMilli(), Message: "2 1 eni-a - - - - - - - 1 2 - NODATA"}
	eng.Ingest(&nodata)
	eng.Ingest(&logstore.Event{LogGroup: "/other", Timestamp: t0.UnixMilli(), Message: "2 1 eni-a 1 2 3 4 6 1 999 1 2 ACCEPT OK"})
	eng.Ingest(&logstore.Event{LogGroup: "/app", Timestamp: t0.UnixMilli(), Message: `{"ok": true, "ms": 12.5}`})
	eng.Ingest(&logstore.Event{LogGroup: "/app", Timestamp: t0.UnixMilli(), Message: `{"ok": false, "ms": 99}`})
	check := func(k MetricKey, stat string, want float64) {
		t.Helper()
		got, ok := eng.Metric(k, t0, t0.Add(time.Minute), stat)
		if !ok || got != want {
			t.Errorf("%v %s = %v (%v), want %v", k, stat, got, ok, want)
		}
	}
	check(MetricKey{"NS", "Bytes", "Action=ACCEPT"}, "Sum", 8000)
	check(MetricKey{"NS", "Bytes", "Action=ACCEPT"}, "SampleCount", 2)
	check(MetricKey{"NS", "Bytes", "Action=REJECT"}, "Average", 40)
	check(MetricKey{"NS", "Latency", ""}, "Maximum", 12.5)
}

func TestConfigErrors(t *testing.T) {
	tests := []struct{ yaml, want string }{
		{"alarms:\n  - alarmName: a\n    nope: 1\n", `unknown field "nope"`},
		{"metricFilters:\n  - filterName: f\n    filterPattern: '[a, b = ]'\n    metricTransformations: [{metricNamespace: n, metricName: m, metricValue: '1'}]\n",
			"alarm config: metricFilters[0].filterPattern: filter pattern: column 9: expected a value after ="},
		{"metricFilters:\n  - filterName: f\n    filterPattern: '[a, b]'\n    metricTransformations: [{metricNamespace: n, metricName: m, metricValue: $c}]\n",
			"alarm config: metricFilters[0].metricTransformations[0].metricValue: $c is not a field of the filter pattern"},
		{"alarms:\n  - {alarmName: a, namespace: n, metricName: m, statistic: Sum, period: 60, evaluationPeriods: 1, threshold: 1, comparisonOperator: GreaterThan}\n",
			"alarm config: alarms[0].comparisonOperator: must be one of"},
		{"alarms:\n  - {alarmName: a, namespace: n, metricName: m, statistic: Sum, period: 60, evaluationPeriods: 1, threshold: 1, comparisonOperator: GreaterThanThreshold, alarmActions: [x]}\n",
			`alarm config: alarms[0].alarmActions[0]: no topic named "x"`},
		{"topics:\n  - name: t\n    subscriptions: [{protocol: email, endpoint: a@b}]\n",
			"alarm config: topics[0].subscriptions[0].protocol: must be http, https, command or file"},
		// Several bad elements: always the first in a fixed order.
		{"topics: [{name: t}]\nalarms:\n  - {alarmName: a, namespace: n, metricName: m, statistic: Sum, period: 60, evaluationPeriods: 1, comparisonOperator: GreaterThanThreshold, okActions: [y], insufficientDataActions: [z], alarmActions: [x]}\n",
			`alarm config: alarms[0].alarmActions[0]: no topic named "x"`},
		{"metricFilters:\n  - filterName: f\n    filterPattern: '[a, b]'\n    metricTransformations: [{metricNamespace: n, metricName: m, metricValue: '1', dimensions: {Z: $z, A: $y, M: $m}}]\n",
			"alarm config: metricFilters[0].metricTransformations[0].dimensions.A: $y is not a field of the filter pattern"},
	}
	for _, tc := range tests {
		_, err := ParseConfig([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
}

// TestLive drives Run with an event channel and a clock channel.
func TestLive(t *testing.T) {
	file := filepath.Join(t.TempDir(), "n.jsonl")
	cfg := exampleConfig(t, "http://127.0.0.1:1/unused", file)
	cfg.Topics[0].Subscriptions = cfg.Topics[0].Subscriptions[1:] // file only
	eng, err := New(cfg, Deps{Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan []logstore.Event)
	ticks := make(chan time.Time)
	done := make(chan error)
	go func() { done <- eng.Run(t.Context(), events, ticks) }()
	var batch []logstore.Event
	for i := range 10 {
		batch = append(batch, sshReject(t0.Add(time.Duration(i)*time.Minute), "198.51.100.7", 22))
	}
	events <- batch
	ticks <- t0.Add(30 * time.Minute) // the hour is not over: still no complete period
	ticks <- t0.Add(time.Hour)
	close(events)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := eng.Alarms()
	if st[0].StateValue != StateAlarm {
		t.Fatalf("state %+v", st)
	}
	b, _ := os.ReadFile(file)
	if n := strings.Count(string(b), "\n"); n != 2 { // OK at 10:30 (empty 09:00 hour), ALARM at 11:00
		t.Errorf("%d notifications:\n%s", n, b)
	}
}

// TestEvaluateStored is the batch mode over a Source.
func TestEvaluateStored(t *testing.T) {
	cfg := exampleConfig(t, "http://127.0.0.1:1/unused", filepath.Join(t.TempDir(), "f"))
	eng, err := New(cfg, Deps{Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	eng.SetNotify(false)
	var evs memEvents
	for i := range 12 {
		evs = append(evs, sshReject(t0.Add(time.Duration(i)*time.Minute), "198.51.100.7", 22))
	}
	evs = append(evs, accepted(t0.Add(3*time.Hour)))
	trs, err := eng.EvaluateStored(t.Context(), evs, logstore.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range trs {
		got = append(got, tr.Timestamp.Format("15:04")+" "+string(tr.NewState))
	}
	// The 10:00 datapoint is evaluated until it leaves the 3-hour range;
	// the 13:00 event's default value 0 is then the only datapoint.
	want := []string{"10:01 OK", "11:00 ALARM", "14:00 OK"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
}

// TestEvaluateStoredTail: with no event after the last breaching one, the
// batch mode still evaluates until that datapoint has left the evaluation
// range (3 one-hour periods for 1), where notBreaching turns it to OK.
func TestEvaluateStoredTail(t *testing.T) {
	cfg := exampleConfig(t, "http://127.0.0.1:1/unused", filepath.Join(t.TempDir(), "f"))
	eng, err := New(cfg, Deps{Sleep: noSleep})
	if err != nil {
		t.Fatal(err)
	}
	eng.SetNotify(false)
	var evs memEvents
	for i := range 12 {
		evs = append(evs, sshReject(t0.Add(time.Duration(i)*time.Minute), "198.51.100.7", 22))
	}
	trs, err := eng.EvaluateStored(t.Context(), evs, logstore.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range trs {
		got = append(got, tr.Timestamp.Format("15:04")+" "+string(tr.NewState))
	}
	want := []string{"10:01 OK", "11:00 ALARM", "14:00 OK"}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
	if got, want := eng.Tail(), 4*time.Hour; got != want {
		t.Errorf("Tail() = %s, want %s", got, want)
	}
}

type memEvents []logstore.Event

func (m memEvents) Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error {
	for i := range m {
		if err := fn(&m[i]); err != nil {
			return err
		}
	}
	return nil
}

// TestStatisticsAndComparisons: each statistic over a 2-minute period with
// datapoints 1, 2 and 6 (count 3, sum 9, average 3, minimum 1, maximum 6),
// against threshold 3 with each comparison operator.
func TestStatisticsAndComparisons(t *testing.T) {
	tests := []struct {
		statistic, comparison string
		want                  State
	}{
		{"SampleCount", "GreaterThanOrEqualToThreshold", StateAlarm}, // 3 >= 3
		{"SampleCount", "GreaterThanThreshold", StateOK},             // 3 > 3
		{"Sum", "GreaterThanThreshold", StateAlarm},                  // 9 > 3
		{"Average", "LessThanOrEqualToThreshold", StateAlarm},        // 3 <= 3
		{"Average", "LessThanThreshold", StateOK},                    // 3 < 3
		{"Minimum", "LessThanThreshold", StateAlarm},                 // 1 < 3
		{"Maximum", "LessThanOrEqualToThreshold", StateOK},           // 6 <= 3
		{"Maximum", "GreaterThanThreshold", StateAlarm},              // 6 > 3
	}
	for _, tc := range tests {
		t.Run(tc.statistic+" "+tc.comparison, func(t *testing.T) {
			a := newAlarm(AlarmConfig{AlarmName: "a", Namespace: "n", MetricName: "m", Statistic: tc.statistic,
				Period: 120, EvaluationPeriods: 1, Threshold: 3, ComparisonOperator: tc.comparison})
			m := NewMetrics()
			m.Put(a.key, t0.Add(10*time.Second).UnixMilli(), 1)
			m.Put(a.key, t0.Add(70*time.Second).UnixMilli(), 2)
			m.Put(a.key, t0.Add(100*time.Second).UnixMilli(), 6)
			a.evaluate(t0.Add(2*time.Minute), m)
			if a.State != tc.want {
				t.Errorf("state %s, want %s (history %+v)", a.State, tc.want, a.History)
			}
		})
	}
}

// TestDefaultValue: an event the pattern does not match emits the default
// value (the MetricTransformation's defaultValue, per event); without one
// it emits nothing.
func TestDefaultValue(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
metricFilters:
  - filterName: with-default
    logGroupName: /vpc/flowlogs
    filterPattern: '[v, acct, eni, src, dst, sport, dport = 22, ...]'
    metricTransformations:
      - {metricNamespace: NS, metricName: Ssh, metricValue: "1", defaultValue: 0}
  - filterName: without
    logGroupName: /vpc/flowlogs
    filterPattern: '[v, acct, eni, src, dst, sport, dport = 22, ...]'
    metricTransformations:
      - {metricNamespace: NS, metricName: SshOnly, metricValue: "1"}
`))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(cfg, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	eng.Ingest(ptr(sshReject(t0, "1.2.3.4", 22)))
	eng.Ingest(ptr(accepted(t0.Add(10 * time.Second))))
	eng.Ingest(ptr(accepted(t0.Add(20 * time.Second))))
	for _, c := range []struct {
		name, stat string
		want       float64
	}{{"Ssh", "SampleCount", 3}, {"Ssh", "Sum", 1}, {"Ssh", "Average", 1.0 / 3}, {"SshOnly", "SampleCount", 1}} {
		got, ok := eng.Metric(MetricKey{"NS", c.name, ""}, t0, t0.Add(time.Minute), c.stat)
		if !ok || got != c.want {
			t.Errorf("%s %s = %v (%v), want %v", c.name, c.stat, got, ok, c.want)
		}
	}
	if _, ok := eng.Metric(MetricKey{"NS", "SshOnly", ""}, t0.Add(time.Minute), t0.Add(2*time.Minute), "Sum"); ok {
		t.Error("a minute without matches has a datapoint without a default value")
	}
}
