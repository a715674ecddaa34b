// Package web is vpcflow's browser UI: a dashboard of records, bytes and
// rejects over time with top talkers and rejected sources, a flow log
// explorer with the explanation of each verdict, a SQL and Logs Insights
// console, and the modelled topology with its rules and findings. Pages are
// rendered on the server (html/template, inline SVG charts) and enhanced
// with htmx; every asset is embedded.
package web

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/vpc"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// RecordSource scans stored flow log records.
type RecordSource interface {
	// ScanRecords calls fn for every record whose start lies in [from, to).
	// fn must not keep the record.
	ScanRecords(ctx context.Context, from, to time.Time, fn func(*flow.Record) error) error
	// Span returns the start times of the oldest and newest records.
	Span(ctx context.Context) (first, last time.Time, err error)
}

// TableResult is a query's result as a table.
type TableResult struct {
	Columns []string
	Rows    [][]string
	Note    string // statistics or a truncation notice
}

// QueryRunner runs one query language (SQL or Logs Insights).
type QueryRunner interface {
	Query(ctx context.Context, query string, from, to time.Time) (TableResult, error)
}

// AlarmStatus is one alarm as the dashboard shows it.
type AlarmStatus struct {
	Name   string
	State  string // OK | ALARM | INSUFFICIENT_DATA
	Reason string
	Since  time.Time
}

// Finding is one diagnosis or security finding.
type Finding struct {
	Severity string // high | medium | low | info
	Kind     string
	Summary  string
	Detail   string
	// Resource is the id of the SG or NACL that decided, linked to its
	// rules on the topology page.
	Resource string
}

// ExplainRequest identifies one record to explain.
type ExplainRequest struct {
	InterfaceID      string
	Src, Dst         netip.Addr
	SrcPort, DstPort int
	Protocol         int
	Action           string
	Direction        string
}

// Deps are the data the UI shows. Only Records is required; pages whose
// source is nil say that the feature is not enabled.
type Deps struct {
	Logger   *slog.Logger
	Now      func() time.Time
	Records  RecordSource
	SQL      QueryRunner
	Insights QueryRunner
	// Topology returns the current model and a function to release it.
	Topology func() (*vpc.Topology, func())
	Alarms   func() []AlarmStatus
	Findings func(ctx context.Context, from, to time.Time) ([]Finding, error)
	Explain  func(ctx context.Context, req ExplainRequest) (string, error)
}

// UI serves the pages under /ui/.
type UI struct {
	deps  Deps
	pages map[string]*template.Template
}

// New parses the templates.
func New(deps Deps) (*UI, error) {
	if deps.Records == nil {
		return nil, errors.New("web: a record source is required")
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	funcs := template.FuncMap{
		"human": func(v any) string {
			switch n := v.(type) {
			case int64:
				return humanNumber(float64(n))
			case int:
				return humanNumber(float64(n))
			case float64:
				return humanNumber(n)
			}
			return fmt.Sprint(v)
		},
		"ts": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"unix":  func(s int64) string { return time.Unix(s, 0).UTC().Format("01-02 15:04:05") },
		"proto": vpc.ProtocolName,
		"list":  func(s ...string) []string { return s },
		"ports": func(proto int16, r vpc.PortRange, icmpType, icmpCode int16) string {
			switch proto {
			case vpc.ProtoTCP, vpc.ProtoUDP:
				if r.IsAll() {
					return "all"
				}
				return r.String()
			case vpc.ProtoICMP, vpc.ProtoICMPv6:
				if icmpType < 0 {
					return "all"
				}
				if icmpCode < 0 {
					return fmt.Sprintf("type %d", icmpType)
				}
				return fmt.Sprintf("type %d code %d", icmpType, icmpCode)
			}
			return "all"
		},
	}
	ui := &UI{deps: deps, pages: map[string]*template.Template{}}
	for _, page := range []string{"dashboard", "flows", "query", "topology", "explain"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", page, err)
		}
		ui.pages[page] = t
	}
	return ui, nil
}

// Register mounts the UI on mux.
func (ui *UI) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /ui/{$}", ui.dashboard)
	mux.HandleFunc("GET /ui/flows", ui.flows)
	mux.HandleFunc("GET /ui/flows/explain", ui.explain)
	mux.HandleFunc("GET /ui/query", ui.query)
	mux.Handle("POST /ui/query", http.NewCrossOriginProtection().Handler(http.HandlerFunc(ui.query)))
	mux.HandleFunc("GET /ui/topology", ui.topology)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		// The AWS APIs own POST /; a browser GET of / lands on the UI.
		if r.Header.Get("Authorization") == "" && r.URL.RawQuery == "" {
			http.Redirect(w, r, "/ui/", http.StatusFound)
			return
		}
		http.NotFound(w, r)
	})
}

type pageData struct {
	Title string
	Nav   string
	Error string
	Data  any
}

func (ui *UI) render(w http.ResponseWriter, r *http.Request, page string, d pageData) {
	t := ui.pages[page]
	name := "layout.html"
	if r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" {
		name = "content" // htmx swaps only the page body
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err := t.ExecuteTemplate(w, name, d); err != nil {
		ui.deps.Logger.Error("render page", "page", page, "error", err)
	}
}

// timeRange resolves ?range= (1h, 6h, 24h, 7d, all) against the data.
func (ui *UI) timeRange(r *http.Request) (from, to time.Time, label string, err error) {
	first, last, err := ui.deps.Records.Span(r.Context())
	if err != nil {
		return time.Time{}, time.Time{}, "", err
	}
	to = last.Add(time.Second)
	label = r.URL.Query().Get("range")
	switch label {
	case "1h", "6h", "24h", "7d":
		d := map[string]time.Duration{"1h": time.Hour, "6h": 6 * time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}[label]
		from = to.Add(-d)
	default:
		label, from = "all", first
	}
	return from, to, label, nil
}

// ---- dashboard ----

type talker struct {
	Addr    string
	Bytes   int64
	Packets int64
	Records int64
}

type dashboardData struct {
	Range                         string
	From, To                      time.Time
	Records, Bytes, Rejects, Skip int64
	NoData                        int64
	TimeChart, BytesChart         template.HTML
	TalkersChart                  template.HTML
	RejectedChart, PortsChart     template.HTML
	Talkers, Rejected             []talker
	Alarms                        []AlarmStatus
	Findings                      []Finding
}

func (ui *UI) dashboard(w http.ResponseWriter, r *http.Request) {
	from, to, label, err := ui.timeRange(r)
	if err != nil {
		ui.render(w, r, "dashboard", pageData{Title: "Dashboard", Nav: "dashboard", Error: err.Error()})
		return
	}
	d := dashboardData{Range: label, From: from, To: to}
	width := bucketWidth(to.Sub(from), 60)
	origin := from.Truncate(width) // buckets start on round times
	n := int(to.Sub(origin)/width) + 1
	if to.Sub(from) <= 0 {
		n = 0
	}
	recs, bytes, rejects := make([]float64, n), make([]float64, n), make([]float64, n)
	talkers := map[netip.Addr]*talker{}
	rejected := map[netip.Addr]*talker{}
	ports := map[int32]int64{}
	err = ui.deps.Records.ScanRecords(r.Context(), from, to, func(rec *flow.Record) error {
		switch rec.LogStatus {
		case flow.StatusNoData:
			d.NoData++
			return nil
		case flow.StatusSkipData:
			d.Skip++
			return nil
		}
		d.Records++
		d.Bytes += rec.Bytes
		i := int(time.Unix(rec.Start, 0).Sub(origin) / width)
		if i >= 0 && i < n {
			recs[i]++
			bytes[i] += float64(rec.Bytes)
		}
		src := rec.SrcAddr
		if rec.Has(flow.FieldPktSrcAddr) {
			src = rec.PktSrcAddr
		}
		t := talkers[src]
		if t == nil {
			t = &talker{Addr: src.String()}
			talkers[src] = t
		}
		t.Bytes += rec.Bytes
		t.Packets += rec.Packets
		t.Records++
		if rec.Action == flow.ActionReject {
			d.Rejects++
			if i >= 0 && i < n {
				rejects[i]++
			}
			rt := rejected[src]
			if rt == nil {
				rt = &talker{Addr: src.String()}
				rejected[src] = rt
			}
			rt.Records++
			rt.Packets += rec.Packets
			rt.Bytes += rec.Bytes
			ports[rec.DstPort]++
		}
		return nil
	})
	if err != nil {
		ui.render(w, r, "dashboard", pageData{Title: "Dashboard", Nav: "dashboard", Error: err.Error()})
		return
	}
	times := make([]time.Time, n)
	for i := range times {
		times[i] = origin.Add(time.Duration(i) * width)
	}
	d.TimeChart = timeChart(times, []Series{
		{Name: "records", Color: "#2b6cb0", Values: recs},
		{Name: "rejects", Color: "#c53030", Values: rejects},
	}, 900, 220)
	d.BytesChart = timeChart(times, []Series{{Name: "bytes", Color: "#2f855a", Values: bytes}}, 900, 160)
	d.Talkers = topN(talkers, 10, func(t *talker) int64 { return t.Bytes })
	d.Rejected = topN(rejected, 10, func(t *talker) int64 { return t.Records })
	var tb, rb []Bar
	for _, t := range d.Talkers {
		tb = append(tb, Bar{t.Addr, float64(t.Bytes), "/ui/flows?addr=" + t.Addr})
	}
	for _, t := range d.Rejected {
		rb = append(rb, Bar{t.Addr, float64(t.Records), "/ui/flows?action=REJECT&addr=" + t.Addr})
	}
	d.TalkersChart = barChart(tb, "#2b6cb0", 440)
	d.RejectedChart = barChart(rb, "#c53030", 440)
	type portCount struct {
		port int32
		n    int64
	}
	var pc []portCount
	for p, c := range ports {
		pc = append(pc, portCount{p, c})
	}
	slices.SortFunc(pc, func(a, b portCount) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.port, b.port)) })
	var pb []Bar
	for i, p := range pc {
		if i == 10 {
			break
		}
		pb = append(pb, Bar{"port " + strconv.Itoa(int(p.port)), float64(p.n), "/ui/flows?action=REJECT&port=" + strconv.Itoa(int(p.port))})
	}
	d.PortsChart = barChart(pb, "#dd6b20", 440)
	if ui.deps.Alarms != nil {
		d.Alarms = ui.deps.Alarms()
	}
	if ui.deps.Findings != nil {
		if fs, err := ui.deps.Findings(r.Context(), from, to); err == nil {
			d.Findings = fs
		}
	}
	ui.render(w, r, "dashboard", pageData{Title: "Dashboard", Nav: "dashboard", Data: d})
}

func topN(m map[netip.Addr]*talker, n int, key func(*talker) int64) []talker {
	out := make([]talker, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b talker) int {
		return cmp.Or(cmp.Compare(key(&b), key(&a)), strings.Compare(a.Addr, b.Addr))
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// ---- flow explorer ----

type flowFilter struct {
	ENI, Addr, Port, Action, Range string
}

type flowRow struct {
	Start, End                 int64
	ENI, Direction             string
	Src, Dst                   string
	SrcPort, DstPort, Protocol int32
	Packets, Bytes             int64
	Action, Status             string
	TCPFlags                   string
	ExplainURL                 string
}

type flowsData struct {
	Filter    flowFilter
	Rows      []flowRow
	Matched   int64
	Truncated bool
}

const maxFlowRows = 500

func (ui *UI) flows(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := flowFilter{ENI: strings.TrimSpace(q.Get("eni")), Addr: strings.TrimSpace(q.Get("addr")), Port: strings.TrimSpace(q.Get("port")),
		Action: q.Get("action"), Range: q.Get("range")}
	d := flowsData{Filter: f}
	var addr netip.Addr
	var port int64 = -1
	var err error
	if f.Addr != "" {
		if addr, err = netip.ParseAddr(f.Addr); err != nil {
			ui.render(w, r, "flows", pageData{Title: "Flow logs", Nav: "flows", Error: fmt.Sprintf("address %q is not an IPv4 or IPv6 address", f.Addr), Data: d})
			return
		}
	}
	if f.Port != "" {
		if port, err = strconv.ParseInt(f.Port, 10, 32); err != nil || port < 0 || port > 65535 {
			ui.render(w, r, "flows", pageData{Title: "Flow logs", Nav: "flows", Error: fmt.Sprintf("port %q must be a number from 0 to 65535", f.Port), Data: d})
			return
		}
	}
	if f.Action != "" && f.Action != "ACCEPT" && f.Action != "REJECT" {
		f.Action = ""
	}
	from, to, label, err := ui.timeRange(r)
	if err != nil {
		ui.render(w, r, "flows", pageData{Title: "Flow logs", Nav: "flows", Error: err.Error(), Data: d})
		return
	}
	d.Filter.Range = label
	// Keep the newest rows: a ring of the last maxFlowRows matches.
	ring := make([]flowRow, 0, maxFlowRows)
	next := 0
	err = ui.deps.Records.ScanRecords(r.Context(), from, to, func(rec *flow.Record) error {
		if f.ENI != "" && rec.InterfaceID != f.ENI ||
			f.Action != "" && rec.Action.String() != f.Action ||
			addr.IsValid() && rec.SrcAddr != addr && rec.DstAddr != addr && rec.PktSrcAddr != addr && rec.PktDstAddr != addr ||
			port >= 0 && (!rec.Has(flow.FieldSrcPort) || int64(rec.SrcPort) != port && int64(rec.DstPort) != port) {
			return nil
		}
		d.Matched++
		row := rowOf(rec)
		if len(ring) < maxFlowRows {
			ring = append(ring, row)
		} else {
			ring[next] = row
			next = (next + 1) % maxFlowRows
			d.Truncated = true
		}
		return nil
	})
	if err != nil {
		ui.render(w, r, "flows", pageData{Title: "Flow logs", Nav: "flows", Error: err.Error(), Data: d})
		return
	}
	d.Rows = append(ring[next:], ring[:next]...)
	slices.Reverse(d.Rows) // newest first
	ui.render(w, r, "flows", pageData{Title: "Flow logs", Nav: "flows", Data: d})
}

func rowOf(rec *flow.Record) flowRow {
	dash := func(id flow.FieldID, s string) string {
		if !rec.Has(id) {
			return "-"
		}
		return s
	}
	row := flowRow{Start: rec.Start, End: rec.End, ENI: rec.InterfaceID, Src: dash(flow.FieldSrcAddr, rec.SrcAddr.String()),
		Dst: dash(flow.FieldDstAddr, rec.DstAddr.String()), SrcPort: rec.SrcPort, DstPort: rec.DstPort, Protocol: rec.Protocol,
		Packets: rec.Packets, Bytes: rec.Bytes, Action: rec.Action.String(), Status: rec.LogStatus.String(),
		Direction: dash(flow.FieldFlowDirection, rec.FlowDirection.String()), TCPFlags: dash(flow.FieldTCPFlags, flow.TCPFlagNames(rec.TCPFlags))}
	if rec.Has(flow.FieldPktSrcAddr) {
		row.Src = rec.PktSrcAddr.String()
	}
	if rec.Has(flow.FieldPktDstAddr) {
		row.Dst = rec.PktDstAddr.String()
	}
	if rec.LogStatus == flow.StatusOK {
		v := make([]string, 0, 8)
		v = append(v, "eni="+rec.InterfaceID, "src="+row.Src, "dst="+row.Dst,
			"sport="+strconv.Itoa(int(rec.SrcPort)), "dport="+strconv.Itoa(int(rec.DstPort)),
			"proto="+strconv.Itoa(int(rec.Protocol)), "action="+row.Action)
		if rec.Has(flow.FieldFlowDirection) {
			v = append(v, "dir="+rec.FlowDirection.String())
		}
		row.ExplainURL = "/ui/flows/explain?" + strings.Join(v, "&")
	}
	return row
}

type explainData struct {
	Req  ExplainRequest
	Text string
}

func (ui *UI) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := ExplainRequest{InterfaceID: q.Get("eni"), Action: q.Get("action"), Direction: q.Get("dir")}
	var errs []error
	var err error
	if req.Src, err = netip.ParseAddr(q.Get("src")); err != nil {
		errs = append(errs, fmt.Errorf("src: %w", err))
	}
	if req.Dst, err = netip.ParseAddr(q.Get("dst")); err != nil {
		errs = append(errs, fmt.Errorf("dst: %w", err))
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"sport", &req.SrcPort, 65535}, {"dport", &req.DstPort, 65535}, {"proto", &req.Protocol, 255}} {
		n, err := strconv.Atoi(q.Get(p.name))
		if err != nil || n < 0 || n > p.max {
			errs = append(errs, fmt.Errorf("%s must be a number from 0 to %d", p.name, p.max))
		}
		*p.dst = n
	}
	d := explainData{Req: req}
	page := pageData{Title: "Why " + req.Action + "?", Nav: "flows", Data: &d}
	switch {
	case len(errs) > 0:
		page.Error = errors.Join(errs...).Error()
	case ui.deps.Explain == nil:
		page.Error = "explanations need a topology: start vpcflow serve with --topology"
	default:
		d.Text, err = ui.deps.Explain(r.Context(), req)
		if err != nil {
			page.Error = err.Error()
		}
	}
	ui.render(w, r, "explain", page)
}

// ---- query console ----

type queryData struct {
	Lang, Query, Range string
	Result             *TableResult
	Chart              template.HTML
	SQLEnabled         bool
	InsightsEnabled    bool
}

const defaultInsightsQuery = `filter action = "REJECT"
| stats count(*) as rejects by srcAddr
| sort rejects desc
| limit 10`

const defaultSQLQuery = `SELECT srcaddr, sum(bytes) AS bytes
FROM vpc_flow_logs
WHERE action = 'ACCEPT'
GROUP BY srcaddr
ORDER BY bytes DESC
LIMIT 10`

func (ui *UI) query(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		ui.render(w, r, "query", pageData{Title: "Query", Nav: "query", Error: "malformed form: " + err.Error(), Data: queryData{}})
		return
	}
	d := queryData{Lang: r.Form.Get("lang"), Query: r.Form.Get("q"), Range: r.Form.Get("range"),
		SQLEnabled: ui.deps.SQL != nil, InsightsEnabled: ui.deps.Insights != nil}
	if d.Lang != "sql" {
		d.Lang = "insights"
	}
	page := pageData{Title: "Query", Nav: "query", Data: &d}
	if r.Method == http.MethodGet && d.Query == "" {
		if d.Lang == "sql" {
			d.Query = defaultSQLQuery
		} else {
			d.Query = defaultInsightsQuery
		}
		ui.render(w, r, "query", page)
		return
	}
	runner := ui.deps.Insights
	if d.Lang == "sql" {
		runner = ui.deps.SQL
	}
	if runner == nil {
		page.Error = d.Lang + " queries are not enabled on this server"
		ui.render(w, r, "query", page)
		return
	}
	from, to, label, err := ui.timeRange(r)
	if err != nil {
		page.Error = err.Error()
		ui.render(w, r, "query", page)
		return
	}
	d.Range = label
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	res, err := runner.Query(ctx, d.Query, from, to)
	if err != nil {
		page.Error = err.Error()
		ui.render(w, r, "query", page)
		return
	}
	d.Result = &res
	d.Chart = resultChart(res)
	ui.render(w, r, "query", page)
}

// resultChart charts a result whose last column is numeric: a bar per row,
// labelled by the other columns.
func resultChart(res TableResult) template.HTML {
	if len(res.Columns) < 2 || len(res.Rows) == 0 || len(res.Rows) > 50 {
		return ""
	}
	last := len(res.Columns) - 1
	var bars []Bar
	for _, row := range res.Rows {
		if len(row) <= last {
			return ""
		}
		v, err := strconv.ParseFloat(row[last], 64)
		if err != nil {
			return ""
		}
		bars = append(bars, Bar{Label: strings.Join(row[:last], " "), Value: v})
	}
	return barChart(bars, "#2b6cb0", 760)
}

// ---- topology ----

type topoData struct {
	Topo     *vpc.Topology
	VPCs     []topoVPC
	SGs      []*vpc.SecurityGroup
	ACLs     []*vpc.NetworkACL
	Findings []Finding
}

type topoVPC struct {
	VPC     *vpc.VPC
	Subnets []topoSubnet
}

type topoSubnet struct {
	Subnet     *vpc.Subnet
	Interfaces []*vpc.Interface
}

func (ui *UI) topology(w http.ResponseWriter, r *http.Request) {
	page := pageData{Title: "Topology", Nav: "topology"}
	if ui.deps.Topology == nil {
		page.Error = "no topology loaded: start vpcflow serve with --topology"
		ui.render(w, r, "topology", page)
		return
	}
	t, release := ui.deps.Topology()
	defer release()
	d := topoData{Topo: t, SGs: t.SecurityGroups, ACLs: t.NetworkACLs}
	for _, v := range t.VPCs {
		tv := topoVPC{VPC: v}
		for _, s := range t.SubnetsInVPC(v.ID) {
			tv.Subnets = append(tv.Subnets, topoSubnet{Subnet: s, Interfaces: t.InterfacesInSubnet(s.ID)})
		}
		d.VPCs = append(d.VPCs, tv)
	}
	if ui.deps.Findings != nil {
		if from, to, _, err := ui.timeRange(r); err == nil {
			d.Findings, _ = ui.deps.Findings(r.Context(), from, to)
		}
	}
	page.Data = d
	ui.render(w, r, "topology", page)
}
