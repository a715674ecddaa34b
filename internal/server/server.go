package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"vpcflow/internal/alarm"
	"vpcflow/internal/api"
	"vpcflow/internal/athena"
	"vpcflow/internal/dataplane"
	"vpcflow/internal/demo"
	"vpcflow/internal/flow"
	"vpcflow/internal/flowlog"
	"vpcflow/internal/insights"
	"vpcflow/internal/logstore"
	"vpcflow/internal/sigv4"
	"vpcflow/internal/traffic"
	"vpcflow/internal/troubleshoot"
	"vpcflow/internal/vpc"
	"vpcflow/internal/web"
)

// flushTimeout bounds the final delivery at shutdown.
const flushTimeout = time.Minute

// Deps are the server's injected dependencies.
type Deps struct {
	Logger *slog.Logger
	// Ready, if set, is called with the listening address once the server
	// accepts connections (tests listen on port 0).
	Ready func(addr string, creds []sigv4.Credential)
}

// Run serves until ctx ends, then shuts down gracefully: it stops taking
// requests, stops the traffic, closes every capture window, publishes the
// records and drains the spools.
func Run(ctx context.Context, cfg Config, deps Deps) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sc, topo, err := loadScenario(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}

	// An embedded NATS server stops last (deferred before the pipeline
	// opens): the pipeline's final flush publishes to it.
	natsURL, stopNATS, err := startNATS(cfg.NATS, cfg.DataDir, log)
	if err != nil {
		return err
	}
	defer stopNATS()

	// The simulated clock starts now; the scenario repeats back to back.
	start := time.Now().UTC().Truncate(time.Second)
	// The pipeline outlives ctx: after ctx ends it still has to close the
	// capture windows and publish what they hold.
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p, err := demo.Open(context.WithoutCancel(ctx), topo, demo.Options{DataDir: cfg.DataDir, Start: start, Seed: sc.Seed, Logger: log, NATSURL: natsURL, Registry: reg})
	if err != nil {
		return err
	}
	if existing, err := p.Flows.Describe(flowlog.DescribeInput{}); err == nil && len(existing.FlowLogs) == 0 {
		if _, err := p.CreateFlowLogs(sc.FlowLogs); err != nil {
			p.Close(start)
			return err
		}
	}
	if err := p.Start(); err != nil {
		p.Close(start)
		return err
	}

	trafficMetrics := newTrafficMetrics(reg)

	creds, generated := cfg.credentials(topo.AccountID)
	if generated {
		log.Warn("no credentials configured: generated an access key for this run",
			"access_key_id", creds[0].AccessKeyID, "secret_access_key", creds[0].SecretAccessKey, "account_id", creds[0].AccountID)
	}

	// Analysis over what has been delivered.
	var sqlDB *athena.DB
	if db, err := athena.Open(ctx, athena.Config{DataDir: cfg.DataDir, Threads: cfg.SQLThreads}); err == nil {
		sqlDB = db
		defer db.Close()
	} else {
		log.Warn("SQL console disabled", "error", err)
	}
	var alarms *alarm.Engine
	if acfg, ok, err := cfg.alarmConfig(); err != nil {
		p.Close(p.Now())
		return err
	} else if ok {
		if alarms, err = alarm.New(acfg, alarm.Deps{Now: p.Now, Logger: log}); err != nil {
			p.Close(p.Now())
			return err
		}
	}
	records := newObjectRecords(cfg.DataDir, demo.LogStoreDir)

	ui, err := web.New(web.Deps{
		Logger:   log,
		Records:  records,
		SQL:      sqlRunner{sqlDB},
		Insights: insightsRunner{store: p.Logs, account: topo.AccountID, flowLogs: p.Store},
		Topology: func() (*vpc.Topology, func()) {
			// Readers share the live topology; mutations are rare and the
			// UI only renders it.
			return topo, func() {}
		},
		Alarms: func() []web.AlarmStatus {
			if alarms == nil {
				return nil
			}
			var out []web.AlarmStatus
			for _, a := range alarms.Alarms() {
				out = append(out, web.AlarmStatus{Name: a.AlarmName, State: string(a.StateValue), Reason: a.StateReason, Since: a.Updated})
			}
			return out
		},
		Findings: func(ctx context.Context, from, to time.Time) ([]web.Finding, error) {
			return findings(ctx, records, p.DP, from, to)
		},
		Explain: func(ctx context.Context, req web.ExplainRequest) (string, error) { return explain(p, req) },
	})
	if err != nil {
		p.Close(p.Now())
		return err
	}
	apiSrv, err := api.New(api.Config{Credentials: creds, Region: topo.Region, MaxBodyBytes: cfg.MaxBodyBytes}, api.Deps{
		Logger:   log,
		Registry: reg,
		EC2: ec2Router{
			&api.VPCActions{With: p.DP.Mutate},
			&api.FlowLogActions{Service: p.FlowLogAPI(), Account: topo.AccountID},
		},
		Logs: &api.LogsActions{Store: p.Logs, Region: topo.Region, Owner: func(string) string { return topo.AccountID },
			Queries: insightsRunner{store: p.Logs, account: topo.AccountID, flowLogs: p.Store}},
		S3: api.NewLocalS3(cfg.DataDir, func(bucket string) string {
			if bucket == demo.LogStoreDir {
				return "" // the log store's files are not a bucket
			}
			return topo.AccountID
		}),
		Extra: func(mux *http.ServeMux) {
			if cfg.UI.Disabled {
				return
			}
			uiMux := http.NewServeMux()
			ui.Register(uiMux)
			var h http.Handler = uiMux
			if !cfg.UI.Open {
				h = basicAuth(creds, h)
			}
			mux.Handle("/ui/", h)
			mux.Handle("GET /{$}", h)
		},
	})
	if err != nil {
		p.Close(p.Now())
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		p.Close(p.Now())
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	hs := &http.Server{Handler: apiSrv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errc := make(chan error, 3)
	wg.Go(func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	})
	wg.Go(func() {
		if err := runTraffic(runCtx, sc, p, cfg.speed(), trafficMetrics); err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("traffic: %w", err)
		}
	})
	if alarms != nil {
		sub := p.Logs.Subscribe(logstore.Query{}, 0)
		ticks := make(chan time.Time)
		wg.Go(func() {
			// CloudWatch evaluates alarms every minute: every simulated
			// minute here, whatever the speed.
			t := time.NewTicker(min(max(time.Duration(float64(time.Minute)/cfg.speed()), 20*time.Millisecond), 10*time.Second))
			defer t.Stop()
			var last time.Time
			for {
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
					now := p.Now().Truncate(time.Minute)
					if !now.After(last) {
						continue
					}
					last = now
					select {
					case ticks <- now:
					case <-runCtx.Done():
						return
					}
				}
			}
		})
		wg.Go(func() {
			defer sub.Close()
			alarms.Run(runCtx, sub.C, ticks)
		})
	}
	log.Info("vpcflow serving", "addr", ln.Addr().String(), "data", cfg.DataDir, "speed", cfg.Speed)
	if deps.Ready != nil {
		deps.Ready(ln.Addr().String(), creds)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	stop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		runErr = errors.Join(runErr, err)
	}
	wg.Wait()
	// Close every window, publish everything and drain the spools. A
	// destination that cannot take it all in flushTimeout (NATS down)
	// keeps the rest spooled for the next start.
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), flushTimeout)
	defer cancelFlush()
	if err := p.Shutdown(flushCtx, p.Now()); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("flush: %w", err))
	}
	log.Info("vpcflow stopped", "error", runErr)
	return runErr
}

func loadScenario(cfg Config) (*traffic.Scenario, *vpc.Topology, error) {
	if cfg.Scenario == "" && cfg.Topology == "" {
		return demo.Bundled()
	}
	var def *vpc.Topology
	if cfg.Topology != "" {
		t, err := vpc.LoadFile(cfg.Topology)
		if err != nil {
			return nil, nil, err
		}
		def = t
	}
	if cfg.Scenario == "" {
		return nil, nil, errors.New("a custom topology needs a scenario (scenario: FILE) naming its workloads")
	}
	return traffic.LoadFile(cfg.Scenario, def)
}

// runTraffic runs the scenario in real time (times speed), again and again,
// each run starting where the last ended, until ctx ends.
func runTraffic(ctx context.Context, sc *traffic.Scenario, p *demo.Pipeline, speed float64, m *trafficMetrics) error {
	run := *sc
	run.Start = p.Now()
	for i := uint64(0); ; i++ {
		run.Seed = sc.Seed + i
		eng := traffic.NewEngine(&run, p.Net, traffic.Options{Realtime: true, Speed: speed,
			Progress: func(now time.Time, st *traffic.Stats) {
				p.Advance(now)
				m.observe(st)
			}})
		if err := eng.Run(ctx); err != nil {
			return err
		}
		m.observe(eng.Stats())
		m.done()
		p.Advance(run.End())
		run.Start = run.End()
	}
}

type trafficMetrics struct {
	packets, delivered, dropped prometheus.Counter
	runs                        prometheus.Counter
	last                        traffic.Stats
	mu                          sync.Mutex
}

func newTrafficMetrics(reg *prometheus.Registry) *trafficMetrics {
	m := &trafficMetrics{
		packets:   prometheus.NewCounter(prometheus.CounterOpts{Name: "vpcflow_traffic_packets_total", Help: "Simulated packets sent."}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "vpcflow_traffic_delivered_packets_total", Help: "Simulated packets delivered."}),
		dropped:   prometheus.NewCounter(prometheus.CounterOpts{Name: "vpcflow_traffic_dropped_packets_total", Help: "Simulated packets dropped (rejected or unroutable)."}),
		runs:      prometheus.NewCounter(prometheus.CounterOpts{Name: "vpcflow_traffic_scenario_runs_total", Help: "Completed runs of the scenario."}),
	}
	reg.MustRegister(m.packets, m.delivered, m.dropped, m.runs)
	return m
}

// observe adds what a run sent since the last call (Stats are cumulative
// within one run).
func (m *trafficMetrics) observe(st *traffic.Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.packets.Add(float64(max(0, st.Packets-m.last.Packets)))
	m.delivered.Add(float64(max(0, st.Delivered-m.last.Delivered)))
	m.dropped.Add(float64(max(0, st.Dropped-m.last.Dropped)))
	m.last.Packets, m.last.Delivered, m.last.Dropped = st.Packets, st.Delivered, st.Dropped
}

func (m *trafficMetrics) done() {
	m.mu.Lock()
	m.last = traffic.Stats{}
	m.mu.Unlock()
	m.runs.Inc()
}

// ec2Router dispatches EC2 actions to the backend that handles them.
type ec2Router []interface {
	api.EC2Backend
	Actions() []string
}

func (rt ec2Router) EC2Action(r *http.Request, account, action string, p api.Params) (any, error) {
	for _, b := range rt {
		for _, a := range b.Actions() {
			if a == action {
				return b.EC2Action(r, account, action, p)
			}
		}
	}
	return nil, &api.Error{Status: http.StatusBadRequest, Code: "InvalidAction",
		Message: "The action " + action + " is not valid for this web service."}
}

// basicAuth asks a browser for an access key id and its secret.
func basicAuth(creds []sigv4.Credential, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if ok {
			for _, c := range creds {
				if subtle.ConstantTimeCompare([]byte(user), []byte(c.AccessKeyID)) == 1 &&
					subtle.ConstantTimeCompare([]byte(pass), []byte(c.SecretAccessKey)) == 1 {
					next.ServeHTTP(w, r)
					return
				}
			}
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="vpcflow: access key id and secret access key"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
	})
}

// sqlRunner adapts the DuckDB engine to the UI console.
type sqlRunner struct{ db *athena.DB }

func (s sqlRunner) Query(ctx context.Context, q string, _, _ time.Time) (web.TableResult, error) {
	if s.db == nil {
		return web.TableResult{}, errors.New("SQL engine not available in this build")
	}
	res, err := s.db.Query(ctx, q)
	if err != nil {
		return web.TableResult{}, err
	}
	out := web.TableResult{Columns: res.Columns}
	for i, row := range res.Rows {
		if i == 1000 {
			out.Note = fmt.Sprintf("first 1000 of %d rows shown", len(res.Rows))
			break
		}
		cells := make([]string, len(row))
		for j, v := range row {
			if v == nil {
				cells[j] = "NULL"
			} else {
				cells[j] = fmt.Sprint(v)
			}
		}
		out.Rows = append(out.Rows, cells)
	}
	return out, nil
}

// insightsRunner runs Logs Insights over the log store, for the UI console
// and the StartQuery API.
type insightsRunner struct {
	store   *logstore.Store
	account string
	// flowLogs knows the formats of the flow logs publishing to each
	// group, so custom-format fields are discovered too.
	flowLogs *flowlog.Store
}

func (s insightsRunner) run(ctx context.Context, groups []string, from, to time.Time, q string) (*insights.Result, error) {
	if len(groups) == 0 {
		for _, g := range s.store.LogGroups() {
			groups = append(groups, g.Name)
		}
	}
	opt := insights.Options{LogGroups: groups, Start: from, End: to, AccountID: s.account}
	if s.flowLogs != nil {
		opt.Format, _ = s.flowLogs.LogGroupFormat(groups...)
	}
	return insights.Execute(ctx, s.store, q, opt)
}

func (s insightsRunner) Query(ctx context.Context, q string, from, to time.Time) (web.TableResult, error) {
	res, err := s.run(ctx, nil, from, to, q)
	if err != nil {
		return web.TableResult{}, err
	}
	out := web.TableResult{Columns: res.Fields,
		Note: fmt.Sprintf("%d records matched, %d scanned.", res.Statistics.RecordsMatched, res.Statistics.RecordsScanned)}
	for _, row := range res.Rows {
		cells := make([]string, len(res.Fields))
		for i, f := range res.Fields {
			cells[i], _ = insights.Get(row, f)
		}
		out.Rows = append(out.Rows, cells)
	}
	return out, nil
}

// CheckQuery implements api.QueryChecker.
func (s insightsRunner) CheckQuery(q string) error {
	_, err := insights.Parse(q)
	return err
}

// RunQuery implements api.QueryRunner (StartQuery's times are seconds, the
// end inclusive).
func (s insightsRunner) RunQuery(ctx context.Context, groups []string, start, end int64, q string) (api.QueryResult, error) {
	res, err := s.run(ctx, groups, time.Unix(start, 0), time.Unix(end+1, 0), q)
	if err != nil {
		return api.QueryResult{}, err
	}
	out := api.QueryResult{RecordsMatched: float64(res.Statistics.RecordsMatched), RecordsScanned: float64(res.Statistics.RecordsScanned),
		BytesScanned: float64(res.Statistics.BytesScanned)}
	for _, row := range res.Rows {
		fields := make([]api.ResultField, len(row))
		for i, f := range row {
			fields[i] = api.ResultField{Field: f.Field, Value: f.Value}
		}
		out.Rows = append(out.Rows, fields)
	}
	return out, nil
}

// findings diagnoses the records of a range for the UI: blocked
// conversations with their deciding rule, broken paths and security
// findings.
func findings(ctx context.Context, src *objectRecords, dp *dataplane.Dataplane, from, to time.Time) ([]web.Finding, error) {
	var recs []flow.Record
	const maxRecords = 500_000 // bound the work of one page view
	err := src.ScanRecords(ctx, from, to, func(r *flow.Record) error {
		if len(recs) == maxRecords {
			return errStop
		}
		c := *r
		if c.Other != nil {
			o := *c.Other
			c.Other = &o
		}
		recs = append(recs, c)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	var rep troubleshoot.Report
	dp.Mutate(func(t *vpc.Topology) error {
		rep = troubleshoot.Diagnose(recs, troubleshoot.Options{Topology: t})
		return nil
	})
	var out []web.Finding
	for _, b := range rep.Blocked {
		f := web.Finding{Severity: "medium", Kind: "blocked " + b.Service, Summary: b.Reason}
		if b.Decision != nil {
			f.Resource = b.Decision.ResourceID
			f.Detail = b.Decision.Explanation
		}
		out = append(out, f)
	}
	for _, list := range [][]troubleshoot.Finding{rep.Broken, rep.Security} {
		for _, f := range list {
			sev := f.Severity
			if sev == "warning" {
				sev = "medium"
			}
			out = append(out, web.Finding{Severity: sev, Kind: f.Kind, Summary: f.Summary, Detail: f.Detail, Resource: f.Resource})
		}
	}
	return out, nil
}

var errStop = errors.New("stop")

// explain replays one recorded flow through a scratch dataplane built on
// the current topology, so that explaining never touches the live
// connection tracking.
func explain(p *demo.Pipeline, req web.ExplainRequest) (string, error) {
	pkt := dataplane.Packet{Time: p.Now(), Src: req.Src, Dst: req.Dst, Protocol: uint8(req.Protocol),
		SrcPort: uint16(req.SrcPort), DstPort: uint16(req.DstPort), Size: 60, Count: 1}
	if req.Protocol == 6 {
		pkt.TCPFlags = flow.TCPSyn
	}
	var text strings.Builder
	err := p.DP.Mutate(func(t *vpc.Topology) error {
		scratch, err := dataplane.New(t, dataplane.Options{})
		if err != nil {
			return err
		}
		ex, err := scratch.Explain(pkt)
		if err != nil {
			return err
		}
		for _, s := range ex.Steps {
			where := s.Interface
			if where == "" {
				where = "network"
			}
			fmt.Fprintf(&text, "%-24s %-8s %-6s %-7s %s\n", where, s.Direction, s.Layer, s.Verdict, s.Detail)
		}
		fmt.Fprintf(&text, "\nresult: %+v\n", ex.Result)
		return nil
	})
	if err != nil {
		return "", err
	}
	text.WriteString("\nThe packet was replayed as a new connection from the source against the rules as they are now;\n" +
		"a REJECT of a response means the request's return path is what was blocked.\n")
	return text.String(), nil
}
