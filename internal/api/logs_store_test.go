package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/logstore"
	"vpcflow/internal/sigv4"
)

type fakeQueries struct{ gate chan struct{} }

// CheckQuery refuses queries that say "malformed", as a parser would.
func (f fakeQueries) CheckQuery(q string) error {
	if strings.Contains(q, "malformed") {
		return fmt.Errorf("line 1:1: expected a command")
	}
	return nil
}

func (f fakeQueries) RunQuery(ctx context.Context, groups []string, start, end int64, q string) (QueryResult, error) {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return QueryResult{}, ctx.Err()
		}
	}
	if strings.Contains(q, "bad") {
		return QueryResult{}, fmt.Errorf("line 1:1: unexpected token")
	}
	if strings.Contains(q, "nothing") {
		return QueryResult{}, nil // no rows
	}
	return QueryResult{Rows: [][]ResultField{{{"groups", strings.Join(groups, ",")}, {"query", q}}}, RecordsScanned: 2}, nil
}

func newLogsServer(t *testing.T, runner QueryRunner) *httptest.Server {
	t.Helper()
	st, err := logstore.Open(logstore.Config{Dir: t.TempDir(), SegmentBytes: 1 << 20, NoSync: true}, logstore.Deps{Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var events []logstore.Event
	for i := range 30 {
		events = append(events, logstore.Event{LogGroup: "vpc-flow-logs", LogStream: fmt.Sprintf("eni-%017d-all", i%3),
			Timestamp: testNow.Add(time.Duration(i) * time.Minute).UnixMilli(),
			Message:   fmt.Sprintf("2 111111111111 eni-%017d 10.0.0.%d 10.0.1.1 443 5%d 6 1 40 1 2 %s OK", i%3, i, i, map[bool]string{true: "REJECT", false: "ACCEPT"}[i%5 == 0])})
	}
	events = append(events, logstore.Event{LogGroup: "other-account-group", LogStream: "s", Timestamp: testNow.UnixMilli(), Message: "secret"})
	if err := st.Append(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	// no-such-group is account A's by name (as serve gives every name to
	// its account) but holds nothing.
	owner := map[string]string{"vpc-flow-logs": keyA.AccountID, "other-account-group": keyB.AccountID, "no-such-group": keyA.AccountID}
	srv, err := New(Config{Credentials: []sigv4.Credential{keyA, keyB}}, Deps{Now: func() time.Time { return testNow },
		Logs: &LogsActions{Store: st, Owner: func(g string) string { return owner[g] }, Region: "us-east-1", Queries: runner}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func logsCall(t *testing.T, ts *httptest.Server, action string, in any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(in)
	code, _, body := do(t, "POST", ts.URL+"/", string(b), &keyA, "logs",
		map[string]string{"X-Amz-Target": "Logs_20140328." + action, "Content-Type": "application/x-amz-json-1.1"})
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("%s: body %q: %v", action, body, err)
	}
	return code, out
}

func TestLogsActions(t *testing.T) {
	ts := newLogsServer(t, fakeQueries{})
	code, out := logsCall(t, ts, "DescribeLogGroups", map[string]any{})
	groups := out["logGroups"].([]any)
	if code != 200 || len(groups) != 1 || groups[0].(map[string]any)["logGroupName"] != "vpc-flow-logs" {
		t.Fatalf("DescribeLogGroups: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "DescribeLogStreams", map[string]any{"logGroupName": "vpc-flow-logs", "limit": 2})
	if code != 200 || len(out["logStreams"].([]any)) != 2 || out["nextToken"] == nil {
		t.Fatalf("DescribeLogStreams page 1: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "DescribeLogStreams", map[string]any{"logGroupName": "vpc-flow-logs", "nextToken": out["nextToken"]})
	if code != 200 || len(out["logStreams"].([]any)) != 1 || out["nextToken"] != nil {
		t.Fatalf("DescribeLogStreams page 2: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "GetLogEvents", map[string]any{"logGroupName": "vpc-flow-logs", "logStreamName": "eni-00000000000000000-all", "startFromHead": true, "limit": 4})
	evs := out["events"].([]any)
	if code != 200 || len(evs) != 4 || !strings.HasPrefix(evs[0].(map[string]any)["message"].(string), "2 111111111111 eni-00000000000000000 10.0.0.0 ") {
		t.Fatalf("GetLogEvents: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "FilterLogEvents", map[string]any{"logGroupName": "vpc-flow-logs", "filterPattern": "REJECT"})
	if code != 200 || len(out["events"].([]any)) != 6 {
		t.Fatalf("FilterLogEvents REJECT: %d %d events", code, len(out["events"].([]any)))
	}
	// The whole filter pattern language (spec §9.4), not only terms.
	for pattern, want := range map[string]int{
		"?REJECT ?ACCEPT": 30,
		"[version, account, eni, src, dst, srcport, dstport = 53, protocol, packets, bytes, start, end, action, status]": 1,
		"[..., action = REJECT, status]":                  6,
		"[version, account, eni, src = 10.0.0.1*, ...]":   11,
		"[v, a, e, s, d, sp, dp >= 520 && dp < 525, ...]": 5,
		"[v, a, e, s, d, sp, dp = 53 || dp = 529, ...]":   2,
	} {
		code, out = logsCall(t, ts, "FilterLogEvents", map[string]any{"logGroupName": "vpc-flow-logs", "filterPattern": pattern})
		if evs, _ := out["events"].([]any); code != 200 || len(evs) != want {
			t.Errorf("FilterLogEvents %q: %d, %d events, want %d (%v)", pattern, code, len(evs), want, out)
		}
	}
	// endTime is inclusive: the event at exactly endTime is returned.
	code, out = logsCall(t, ts, "FilterLogEvents", map[string]any{"logGroupName": "vpc-flow-logs",
		"startTime": testNow.UnixMilli(), "endTime": testNow.Add(2 * time.Minute).UnixMilli()})
	if evs, _ := out["events"].([]any); code != 200 || len(evs) != 3 {
		t.Errorf("FilterLogEvents over [t, t+2m]: %d, %d events, want 3", code, len(evs))
	}
	if code, out = logsCall(t, ts, "FilterLogEvents", map[string]any{"logGroupName": "vpc-flow-logs", "filterPattern": "[a, b"}); code != 400 || out["__type"] != "InvalidParameterException" {
		t.Errorf("bad filter pattern: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "GetLogEvents", map[string]any{"logGroupName": "other-account-group", "logStreamName": "s"})
	if code != 400 || out["__type"] != "ResourceNotFoundException" {
		t.Errorf("cross-account GetLogEvents: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "GetLogEvents", map[string]any{"logGroupName": "vpc-flow-logs", "logStreamName": "nope"})
	if code != 400 || out["__type"] != "ResourceNotFoundException" {
		t.Errorf("missing stream: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "DescribeLogGroups", map[string]any{"limit": 500})
	if code != 400 || out["__type"] != "InvalidParameterException" {
		t.Errorf("limit too high: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "DescribeLogGroups", map[string]any{"bogusField": 1})
	if code != 400 || out["__type"] != "SerializationException" {
		t.Errorf("unknown field: %d %v", code, out)
	}
}

func TestLogsQueries(t *testing.T) {
	gate := make(chan struct{})
	ts := newLogsServer(t, fakeQueries{gate: gate})
	start := map[string]any{"logGroupName": "vpc-flow-logs", "startTime": testNow.Unix(), "endTime": testNow.Add(time.Hour).Unix(),
		"queryString": "stats count(*) by srcAddr"}
	code, out := logsCall(t, ts, "StartQuery", start)
	if code != 200 || out["queryId"] == "" {
		t.Fatalf("StartQuery: %d %v", code, out)
	}
	id := out["queryId"]
	code, out = logsCall(t, ts, "GetQueryResults", map[string]any{"queryId": id})
	if code != 200 || out["status"] != "Running" {
		t.Fatalf("running: %d %v", code, out)
	}
	close(gate)
	for range 100 {
		code, out = logsCall(t, ts, "GetQueryResults", map[string]any{"queryId": id})
		if out["status"] == "Complete" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	rows := out["results"].([]any)
	if code != 200 || out["status"] != "Complete" || len(rows) != 1 || out["statistics"].(map[string]any)["recordsScanned"] != 2.0 {
		t.Fatalf("complete: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "StopQuery", map[string]any{"queryId": id})
	if code != 400 || out["__type"] != "InvalidParameterException" {
		t.Errorf("stop finished query: %d %v", code, out)
	}
	code, out = logsCall(t, ts, "GetQueryResults", map[string]any{"queryId": "nope"})
	if code != 400 || out["__type"] != "ResourceNotFoundException" {
		t.Errorf("unknown query: %d %v", code, out)
	}
	start["logGroupName"] = "other-account-group"
	code, out = logsCall(t, ts, "StartQuery", start)
	if code != 400 || out["__type"] != "ResourceNotFoundException" {
		t.Errorf("cross-account query: %d %v", code, out)
	}
	// No rows: results are [], not null.
	start["logGroupName"], start["queryString"] = "vpc-flow-logs", "filter nothing"
	_, out = logsCall(t, ts, "StartQuery", start)
	id = out["queryId"]
	for range 100 {
		if _, out = logsCall(t, ts, "GetQueryResults", map[string]any{"queryId": id}); out["status"] == "Complete" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if rows, ok := out["results"].([]any); !ok || len(rows) != 0 {
		t.Errorf("no rows: %v", out)
	}
	// A malformed query is refused at StartQuery.
	start["queryString"] = "malformed |||"
	if code, out = logsCall(t, ts, "StartQuery", start); code != 400 || out["__type"] != "MalformedQueryException" {
		t.Errorf("malformed query: %d %v", code, out)
	}
	start["queryString"] = "stats count(*)"
	// A group the account could own but that does not exist.
	start["logGroupName"] = "no-such-group"
	code, out = logsCall(t, ts, "StartQuery", start)
	if code != 400 || out["__type"] != "ResourceNotFoundException" {
		t.Errorf("query of a missing group: %d %v", code, out)
	}
}
