package demo

import (
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/topn"
	"vpcflow/internal/traffic"
	"vpcflow/internal/troubleshoot"
	"vpcflow/internal/vpc"
)

// Summary is what `vpcflow demo` prints after a run: what was written and
// what a person wants first from it.
type Summary struct {
	DataDir string
	Run     *RunResult

	Objects     int
	ObjectBytes int64
	Records     int
	Accept      int
	Reject      int
	NoData      int
	SkipData    int
	Groups      []LogGroup
	Events      int64

	TopTalkers  []topn.Talker
	Diagnosis   troubleshoot.Report
	Incidents   []IncidentSummary
	TopologyRef string // path of the topology copy written into the data dir
}

// IncidentSummary relates one injected incident to the records and the
// diagnosis.
type IncidentSummary struct {
	Name, Pattern, Description, Expect string
	From, Until                        time.Time
	Packets, Delivered, Dropped        int64
	RejectRecords                      int
	AcceptBytes                        int64
	Findings                           []string
}

// Summarize reads back the S3 objects of the data directory (every bucket)
// and the log store, and diagnoses the records with the topology.
func Summarize(dataDir string, res *RunResult) (*Summary, error) {
	return summarize(dataDir, res, true)
}

// Count reads back what a run wrote (objects, records by action) without
// the diagnosis or the top talkers, streaming the records: the brief
// summary of `vpcflow simulate`.
func Count(dataDir string, res *RunResult) (*Summary, error) {
	return summarize(dataDir, res, false)
}

func summarize(dataDir string, res *RunResult, diagnose bool) (*Summary, error) {
	s := &Summary{DataDir: dataDir, Run: res}
	if res != nil {
		s.Groups, s.Events = res.Groups, res.Events
	}
	// The brief summary only counts: it streams the records, so that a
	// simulated day (tens of millions of records) is not held in memory.
	var recs []flow.Record
	count := func(r *flow.Record) {
		s.Records++
		switch {
		case r.LogStatus == flow.StatusNoData:
			s.NoData++
		case r.LogStatus == flow.StatusSkipData:
			s.SkipData++
		case r.Action == flow.ActionAccept:
			s.Accept++
		case r.Action == flow.ActionReject:
			s.Reject++
		}
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == LogStoreDir || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dir := filepath.Join(dataDir, e.Name())
		n, size := flowLogObjects(dir)
		if n == 0 {
			continue
		}
		s.Objects += n
		s.ObjectBytes += size
		if !diagnose {
			if _, err := troubleshoot.ScanDir(dir, count); err != nil {
				return nil, err
			}
			continue
		}
		data, err := troubleshoot.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		recs = append(recs, data.Records...)
	}
	if !diagnose {
		return s, nil
	}
	for i := range recs {
		count(&recs[i])
	}
	s.TopTalkers = topn.TopTalkers(recs, flow.FieldSrcAddr, flow.FieldBytes, 10)
	var topo *vpc.Topology
	if res != nil {
		topo = res.Topology
	}
	s.Diagnosis = troubleshoot.Diagnose(recs, troubleshoot.Options{Topology: topo})
	if res != nil {
		s.Incidents = incidents(res, recs, &s.Diagnosis)
	}
	return s, nil
}

// addrSet resolves an incident's endpoints to the addresses records carry:
// public and Elastic IPs become the private address they map to.
func addrSet(topo *vpc.Topology, eps *traffic.Endpoints) map[netip.Addr]bool {
	m := map[netip.Addr]bool{}
	for _, a := range eps.Addrs() {
		m[a] = true
		if pa, ok := topo.PublicAddress(a); ok {
			m[pa.Private] = true
			if pa.Interface != nil {
				m[pa.Interface.PrimaryIP] = true
			}
		}
	}
	return m
}

func incidents(res *RunResult, recs []flow.Record, rep *troubleshoot.Report) []IncidentSummary {
	var out []IncidentSummary
	stats := map[string]*traffic.WorkloadStats{}
	for _, w := range res.Traffic.Workloads {
		stats[w.Name] = w
	}
	sc := res.Scenario
	for _, w := range sc.Incidents() {
		is := IncidentSummary{Name: w.Name, Pattern: w.Pattern, Description: w.Description, Expect: w.Expect,
			From: sc.Start.Add(w.Begin)}
		is.Until = sc.End()
		if w.Length > 0 && is.From.Add(w.Length).Before(is.Until) {
			is.Until = is.From.Add(w.Length)
		}
		if st := stats[w.Name]; st != nil {
			is.Packets, is.Delivered, is.Dropped = st.Packets, st.Delivered, st.Dropped
		}
		from, to := addrSet(res.Topology, w.Clients), addrSet(res.Topology, w.Servers)
		match := func(a, b netip.Addr) bool { return (from[a] && to[b]) || (to[a] && from[b]) }
		for i := range recs {
			r := &recs[i]
			if r.LogStatus != flow.StatusOK || !match(r.SrcAddr, r.DstAddr) {
				continue
			}
			if r.Action == flow.ActionReject {
				is.RejectRecords++
			} else if from[r.SrcAddr] && w.Pattern == traffic.PatternExfiltration {
				is.AcceptBytes += r.Bytes
			}
		}
		seen := map[string]bool{}
		add := func(s string) {
			if !seen[s] && len(is.Findings) < 3 {
				seen[s] = true
				is.Findings = append(is.Findings, s)
			}
		}
		enis := map[string]bool{}
		for a := range from {
			if e := res.Topology.InterfaceByIP(a); e != nil && w.Pattern == traffic.PatternExfiltration {
				enis[e.ID] = true
			}
		}
		for _, fs := range [][]troubleshoot.Finding{rep.Security, rep.Broken} {
			for _, f := range fs {
				if (f.Client.IsValid() && from[f.Client]) || (!f.Client.IsValid() && f.Server.IsValid() && to[f.Server]) || enis[f.Interface] {
					add(fmt.Sprintf("[%s] %s: %s", f.Severity, f.Kind, f.Summary))
				}
			}
		}
		hostile := map[netip.Addr]bool{}
		for _, b := range rep.Blocked {
			if !match(b.Client, b.Server) {
				continue
			}
			if b.Fix != nil && b.Fix.Hostile {
				if !hostile[b.Client] {
					hostile[b.Client] = true
					add(fmt.Sprintf("%s from %s stays blocked (hostile): %s", b.Service, b.Client, decisionTextOr(b.Decision)))
				}
				continue
			}
			what := "request"
			if b.Response {
				what = "response"
			}
			line := fmt.Sprintf("%s %s -> %s: %s REJECTed %s on %s", b.Service, b.Client, b.Server, what, b.Direction, b.Interface)
			if b.Decision != nil {
				line += " by " + decisionText(b.Decision)
			}
			if b.Fix != nil {
				line += "; fix: " + b.Fix.Summary
			}
			add(line)
		}
		out = append(out, is)
	}
	return out
}

func decisionText(d *troubleshoot.Decision) string {
	s := d.Layer + " " + d.ResourceID + " " + d.Direction
	if d.Layer == "nacl" {
		if d.RuleNumber == 32767 {
			s += " rule *"
		} else {
			s += fmt.Sprintf(" rule %d", d.RuleNumber)
		}
	}
	return s
}

func decisionTextOr(d *troubleshoot.Decision) string {
	if d == nil {
		return "rejected"
	}
	return decisionText(d)
}

// SQLExample is the query the summary suggests.
const SQLExample = `SELECT srcaddr, dstaddr, dstport, SUM(packets) AS packets FROM vpc_flow_logs WHERE action = 'REJECT' GROUP BY srcaddr, dstaddr, dstport ORDER BY packets DESC LIMIT 20`

// WriteBrief prints what was written: records, objects, bytes, log store
// events and rejects by layer.
func (s *Summary) WriteBrief(w io.Writer) error {
	p := &printer{w: w}
	s.writeWritten(p)
	return p.err
}

func (s *Summary) writeWritten(p *printer) {
	p.f("Written to %s\n", s.DataDir)
	p.f("  S3 layout:        %s objects, %s; %s records (%s ACCEPT, %s REJECT, %s NODATA, %s SKIPDATA)\n",
		num(int64(s.Objects)), bytesText(s.ObjectBytes), num(int64(s.Records)), num(int64(s.Accept)), num(int64(s.Reject)), num(int64(s.NoData)), num(int64(s.SkipData)))
	for _, g := range s.Groups {
		p.f("  CloudWatch Logs:  group %s, %d streams, %s events\n", g.Name, g.Streams, num(g.Events))
	}
	if r := s.Run; r != nil {
		for _, name := range slices.Sorted(maps.Keys(r.Firehose)) {
			p.f("  Firehose:         delivery stream %s (NATS JetStream), %s records\n", name, num(r.Firehose[name]))
		}
		writeLayers(p, r.Network.RejectsByLayer)
	}
}

func writeLayers(p *printer, m map[string]int64) {
	if len(m) == 0 {
		p.f("  Rejected packets: none\n")
		return
	}
	p.f("  Rejected packets by layer:")
	layers := make([]string, 0, len(m))
	for l := range m {
		layers = append(layers, l)
	}
	slices.Sort(layers)
	for i, l := range layers {
		if i > 0 {
			p.f(",")
		}
		p.f(" %s %s", layerName(l), num(m[l]))
	}
	p.f("\n")
}

// WriteLayers prints rejected packets by layer (for replay summaries).
func WriteLayers(w io.Writer, m map[string]int64) error {
	p := &printer{w: w}
	writeLayers(p, m)
	return p.err
}

// WriteText prints the summary.
func (s *Summary) WriteText(w io.Writer) error {
	p := &printer{w: w}
	if r := s.Run; r != nil {
		sc := r.Scenario
		p.f("vpcflow demo: %s\n", sc.Name)
		if sc.Description != "" {
			p.f("  %s\n", sc.Description)
		}
		speed := sc.Duration.Seconds() / max(r.Elapsed.Seconds(), 1e-9)
		p.f("  simulated %s from %s in %.1fs (%.0fx real time), seed %d\n", sc.Duration, sc.Start.Format(time.RFC3339), r.Elapsed.Seconds(), speed, sc.Seed)
		p.f("  %s conversations, %s packets, %s through the dataplane\n", num(r.Traffic.Conversations), num(r.Traffic.Packets), bytesText(r.Traffic.Bytes))
		p.f("\nFlow logs: %s\n", strings.Join(r.FlowLogs, ", "))
	}
	p.f("\n")
	s.writeWritten(p)
	p.f("\nTop 10 talkers by bytes (srcaddr):\n")
	for i, t := range s.TopTalkers {
		p.f("  %2d. %-18s %12s\n", i+1, t.Key, bytesText(t.Value))
	}
	p.f("\nTop rejected sources:\n")
	if len(s.Diagnosis.TopRejectedSources) == 0 {
		p.f("  (none)\n")
	} else {
		p.f("  %-18s %8s %10s %6s %6s\n", "source", "records", "packets", "ports", "hosts")
		for _, src := range s.Diagnosis.TopRejectedSources {
			p.f("  %-18s %8d %10d %6d %6d\n", src.Addr, src.Records, src.Packets, src.Ports, src.Hosts)
		}
	}
	if len(s.Incidents) > 0 {
		p.f("\nIncidents injected, and what the flow logs and the diagnosis show:\n")
		for i, in := range s.Incidents {
			p.f("\n  %d. %s (%s, %s-%s UTC)\n", i+1, in.Name, in.Pattern, in.From.Format("15:04"), in.Until.Format("15:04"))
			if in.Description != "" {
				p.f("     %s\n", in.Description)
			}
			p.f("     sent %s packets: %s delivered, %s dropped; %s REJECT records", num(in.Packets), num(in.Delivered), num(in.Dropped), num(int64(in.RejectRecords)))
			if in.AcceptBytes > 0 {
				p.f(", %s accepted out of the source", bytesText(in.AcceptBytes))
			}
			p.f("\n")
			if in.Expect != "" {
				p.f("     expected: %s\n", in.Expect)
			}
			if len(in.Findings) == 0 {
				p.f("     diagnosis: nothing specific\n")
			}
			for _, f := range in.Findings {
				p.f("     diagnosis: %s\n", f)
			}
		}
	}
	d := &s.Diagnosis
	p.f("\nDiagnosis (internal/troubleshoot): %d blocked conversations, %d ACCEPT-but-broken, %d security findings over %s conversations\n",
		len(d.Blocked), len(d.Broken), len(d.Security), num(int64(d.Conversations)))
	p.f("\nDig further:\n")
	p.f("  vpcflow query sql --data %s \"%s\"\n", s.DataDir, SQLExample)
	if s.TopologyRef != "" {
		p.f("  vpcflow diagnose --data %s --topology %s\n", s.bucketDir(), s.TopologyRef)
	}
	return p.err
}

func (s *Summary) bucketDir() string {
	if s.Run != nil {
		for _, fl := range s.Run.Scenario.FlowLogs {
			if fl.Destination == "" || fl.Destination == "s3" {
				b := strings.TrimPrefix(fl.LogDestination, "arn:aws:s3:::")
				b, _, _ = strings.Cut(b, "/")
				if b == "" {
					b = DefaultBucket
				}
				return filepath.Join(s.DataDir, b)
			}
		}
	}
	return filepath.Join(s.DataDir, DefaultBucket)
}

func layerName(l string) string {
	switch l {
	case "sg":
		return "security groups"
	case "nacl":
		return "network ACLs"
	case "nat":
		return "NAT gateway"
	case "":
		return "other"
	}
	return l
}

type printer struct {
	w   io.Writer
	err error
}

// flowLogObjects counts the flow log objects in a bucket directory: the
// files under an AWSLogs folder, which a flow log's S3 prefix ("a/b/")
// can put at any depth.
func flowLogObjects(bucket string) (n int, size int64) {
	filepath.WalkDir(bucket, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(bucket, p)
		if !slices.Contains(strings.Split(filepath.ToSlash(rel), "/"), "AWSLogs") {
			return nil
		}
		if info, err := d.Info(); err == nil {
			n++
			size += info.Size()
		}
		return nil
	})
	return n, size
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

// num formats an integer with thousands separators.
func num(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func bytesText(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KB", "MB", "GB", "TB"} {
		if f < 1000 || u == "TB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1000
	}
	return ""
}
