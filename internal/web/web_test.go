package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

var base = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

type memRecords []flow.Record

func (m memRecords) ScanRecords(ctx context.Context, from, to time.Time, fn func(*flow.Record) error) error {
	for i := range m {
		s := time.Unix(m[i].Start, 0)
		if s.Before(from) || !s.Before(to) {
			continue
		}
		if err := fn(&m[i]); err != nil {
			return err
		}
	}
	return nil
}

func (m memRecords) Span(ctx context.Context) (time.Time, time.Time, error) {
	if len(m) == 0 {
		return time.Time{}, time.Time{}, nil
	}
	return time.Unix(m[0].Start, 0), time.Unix(m[len(m)-1].Start, 0), nil
}

func fixture(t *testing.T) memRecords {
	t.Helper()
	lines := []string{
		"2 123456789012 eni-0aaa 203.0.113.12 10.0.1.10 40000 22 6 3 180 %d %d REJECT OK",
		"2 123456789012 eni-0aaa 10.0.1.10 10.0.2.20 41000 443 6 20 90000 %d %d ACCEPT OK",
		"2 123456789012 eni-0bbb - - - - - - - %d %d - NODATA",
		"2 123456789012 eni-0aaa 198.51.100.7 10.0.1.10 50000 3389 6 2 120 %d %d REJECT OK",
	}
	var recs memRecords
	dec := flow.NewDecoder(flow.DefaultFormat)
	for i := range 40 {
		start := base.Add(time.Duration(i) * 5 * time.Minute).Unix()
		line := strings.Replace(strings.Replace(lines[i%len(lines)], "%d", strconv.FormatInt(start, 10), 1), "%d", strconv.FormatInt(start+60, 10), 1)
		var r flow.Record
		if err := dec.Decode([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	return recs
}

type fakeRunner struct{}

func (fakeRunner) Query(ctx context.Context, q string, from, to time.Time) (TableResult, error) {
	if strings.Contains(q, "syntax error") {
		return TableResult{}, errors.New("line 1:8: unexpected token \"error\"")
	}
	return TableResult{Columns: []string{"srcAddr", "rejects"}, Rows: [][]string{{"203.0.113.12", "10"}, {"198.51.100.7", "10"}}}, nil
}

func newUI(t *testing.T) *httptest.Server {
	t.Helper()
	topo, err := vpc.LoadFile("../vpc/testdata/three-tier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ui, err := New(Deps{Records: fixture(t), SQL: fakeRunner{}, Insights: fakeRunner{},
		Topology: func() (*vpc.Topology, func()) { return topo, func() {} },
		Alarms: func() []AlarmStatus {
			return []AlarmStatus{{Name: "ssh-rdp-rejects", State: "ALARM", Reason: "threshold crossed", Since: base}}
		},
		Findings: func(ctx context.Context, from, to time.Time) ([]Finding, error) {
			return []Finding{{Severity: "high", Kind: "blocked", Summary: "return traffic denied", Resource: "acl-0d00000000000000b"}}, nil
		},
		Explain: func(ctx context.Context, req ExplainRequest) (string, error) {
			return "nacl acl-0d00000000000000b ingress rule 100 deny " + req.Src.String(), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPages(t *testing.T) {
	ts := newUI(t)
	cases := []struct {
		path string
		want []string
		not  []string
	}{
		{"/ui/", []string{"<svg class=\"chart\"", "Top talkers by bytes", "Bytes over time", "10.0.1.10", "203.0.113.12", "ssh-rdp-rejects", "class=\"ALARM\"", "return traffic denied",
			`href="/ui/topology#acl-0d00000000000000b"`, ">30<", ">20<"}, nil},
		{"/ui/?range=1h", []string{"Records"}, nil},
		{"/ui/flows?action=REJECT", []string{"REJECT", "why?", "203.0.113.12", "20 matching records"}, []string{`class="ACCEPT">ACCEPT`}},
		{"/ui/flows?addr=198.51.100.7", []string{"10 matching records", "3389"}, nil},
		{"/ui/flows?port=22", []string{"10 matching records"}, nil},
		{"/ui/flows?addr=not-an-ip", []string{`class="error"`, "not an IPv4 or IPv6 address"}, nil},
		{"/ui/flows?port=70000", []string{"must be a number from 0 to 65535"}, nil},
		{"/ui/flows/explain?eni=eni-0aaa&src=203.0.113.12&dst=10.0.1.10&sport=40000&dport=22&proto=6&action=REJECT", []string{"nacl acl-0d00000000000000b ingress rule 100 deny 203.0.113.12"}, nil},
		{"/ui/flows/explain?eni=eni-0aaa&src=x&dst=10.0.1.10&sport=1&dport=2&proto=999", []string{"src:", "proto must be a number from 0 to 255"}, nil},
		{"/ui/query", []string{"<textarea", "stats count(*) as rejects by srcAddr"}, nil},
		{"/ui/query?lang=sql", []string{"FROM vpc_flow_logs"}, nil},
		{"/ui/topology", []string{`id="sg-0db0000000000db00"`, `id="acl-0d00000000000000b"`, "subnet-0d1a00000000000a5", "return traffic denied"}, nil},
		{"/ui/static/htmx.min.js", []string{"htmx"}, nil},
	}
	for _, c := range cases {
		code, body := get(t, ts.URL+c.path)
		if code != 200 {
			t.Errorf("%s: status %d\n%s", c.path, code, body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: missing %q", c.path, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(body, w) {
				t.Errorf("%s: unexpected %q", c.path, w)
			}
		}
	}
}

func TestQueryConsole(t *testing.T) {
	ts := newUI(t)
	post := func(form url.Values, hdr map[string]string) (int, string) {
		req, _ := http.NewRequest("POST", ts.URL+"/ui/query", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := post(url.Values{"lang": {"insights"}, "q": {"stats count(*)"}}, map[string]string{"HX-Request": "true"})
	if code != 200 || !strings.Contains(body, "<svg class=\"chart bars\"") || !strings.Contains(body, "198.51.100.7") || strings.Contains(body, "<html") {
		t.Errorf("htmx query: %d %s", code, body)
	}
	code, body = post(url.Values{"lang": {"sql"}, "q": {"SELECT syntax error"}}, nil)
	if code != 200 || !strings.Contains(body, "unexpected token") || !strings.Contains(body, "<html") {
		t.Errorf("query error: %d %s", code, body)
	}
	// A cross-site form post is refused.
	code, _ = post(url.Values{"q": {"x"}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	if code != http.StatusForbidden {
		t.Errorf("cross-site post: %d", code)
	}
}

func TestCharts(t *testing.T) {
	if got := humanNumber(1234567); got != "1.2M" {
		t.Errorf("humanNumber = %q", got)
	}
	if got := string(barChart(nil, "#000", 300)); !strings.Contains(got, "nothing to show") {
		t.Errorf("empty bars: %s", got)
	}
	if got := string(timeChart(nil, nil, 300, 100)); !strings.Contains(got, "no data") {
		t.Errorf("empty chart: %s", got)
	}
	if got := resultChart(TableResult{Columns: []string{"a", "b"}, Rows: [][]string{{"x", "not a number"}}}); got != "" {
		t.Errorf("non-numeric result charted: %s", got)
	}
}
