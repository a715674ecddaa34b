package demo

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/gctune"
	"vpcflow/internal/traffic"
	"vpcflow/internal/vpc"
)

// vpc50Day is the simulated-day benchmark's input (issue 5: "a day of a
// 50-ENI VPC in under a minute on one core").
const vpc50Day = "testdata/vpc50-day.yaml"

// vpc50Scenario loads vpc50-day.yaml cut to [from, from+d) of its day
// (d = 0: the whole day); incidents keep their time of day, and those
// outside the cut are dropped.
func vpc50Scenario(tb testing.TB, from, d time.Duration) (*traffic.Scenario, *vpc.Topology) {
	tb.Helper()
	doc, data, err := traffic.ReadDocument(vpc50Day)
	if err != nil {
		tb.Fatal(err)
	}
	topo, err := vpc.LoadFile(doc.TopologyPath(vpc50Day))
	if err != nil {
		tb.Fatal(err)
	}
	if from > 0 || d > 0 {
		var is []traffic.IncidentDoc
		for _, in := range doc.Incident {
			st, err := time.ParseDuration(in.Start)
			if err != nil {
				tb.Fatal(err)
			}
			if st >= from && st < from+d {
				in.Start = (st - from).String()
				is = append(is, in)
			}
		}
		doc.Incident = is
		start, err := time.Parse(time.RFC3339, doc.Start)
		if err != nil {
			tb.Fatal(err)
		}
		doc.Start = start.Add(from).Format(time.RFC3339)
		doc.Duration = d.String()
		data = nil // positions of the original file no longer apply
	}
	sc, err := traffic.Compile(doc, topo, data, vpc50Day)
	if err != nil {
		tb.Fatal(err)
	}
	return sc, topo
}

// BenchmarkSimulatedDay runs a whole simulated day of the 50-ENI VPC through
// the pipeline: traffic, dataplane, flow log service, gzip objects in the S3
// layout and the CloudWatch-like log store, into a temporary directory. Run
// it one op at a time on one core:
//
//	GOMAXPROCS=1 go test ./internal/demo -run '^$' -bench SimulatedDay -benchtime 1x -count 3
func BenchmarkSimulatedDay(b *testing.B) {
	sc, topo := vpc50Scenario(b, 0, 0)
	benchScenario(b, sc, topo, "simday")
}

// BenchmarkSimulatedPeakHour runs the day's busiest hour (00:30-01:30, around
// the 01:00 diurnal peak) through the same pipeline: a shorter loop for
// profiling the simulated day.
//
//	GOMAXPROCS=1 go test ./internal/demo -run '^$' -bench SimulatedPeakHour -benchtime 1x -count 3
func BenchmarkSimulatedPeakHour(b *testing.B) {
	sc, topo := vpc50Scenario(b, 30*time.Minute, time.Hour)
	benchScenario(b, sc, topo, "hour")
}

// benchScenario runs sc once per op into a temporary directory and
// reports the run's own time (RunResult.Elapsed), packets and records per
// op (per unit) and per second.
func benchScenario(b *testing.B, sc *traffic.Scenario, topo *vpc.Topology, unit string) {
	gctune.ForBatch() // as `vpcflow simulate` runs
	var elapsed time.Duration
	var packets, records int64
	b.ReportAllocs()
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "data")
		res, err := RunScenario(context.Background(), sc, topo, RunOptions{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		elapsed += res.Elapsed
		packets += res.Traffic.Packets
		records += res.Records
	}
	n := float64(b.N)
	b.ReportMetric(elapsed.Seconds()/n, "s/"+unit)
	b.ReportMetric(float64(packets)/n, "packets/"+unit)
	b.ReportMetric(float64(records)/n, "records/"+unit)
	b.ReportMetric(float64(packets)/elapsed.Seconds(), "packets/s")
	b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
}

// TestSimulatedDaySlice runs ten simulated minutes of the benchmark's day
// (14:00-14:10, when the bad-deploy-8081 incident starts) so that the
// benchmark input stays valid: everything delivered is on disk, every ENI
// of the VPC is logged, and the rejects are those the rules imply.
func TestSimulatedDaySlice(t *testing.T) {
	sc, topo := vpc50Scenario(t, 14*time.Hour, 10*time.Minute)
	if n := len(topo.Interfaces); n != 50 {
		t.Fatalf("the benchmark VPC has %d ENIs, want 50", n)
	}
	if inc := sc.Incidents(); len(inc) != 1 || inc[0].Name != "bad-deploy-8081" {
		t.Fatalf("incidents in the slice: %v, want bad-deploy-8081 only", inc)
	}
	dir, res := runShort(t, sc, topo)
	recs := records(t, dir)
	if res.Traffic.Conversations < 1000 || res.Records == 0 {
		t.Fatalf("%d conversations, %d records delivered", res.Traffic.Conversations, res.Records)
	}
	// Delivered = the S3 records read back + the CloudWatch Logs events.
	if got := int64(len(recs)) + res.Events; got != res.Records {
		t.Errorf("S3 records %d + log events %d = %d, delivered %d", len(recs), res.Events, got, res.Records)
	}
	if res.Events == 0 {
		t.Error("no events in the REJECT flow log's log group")
	}

	enis := map[string]bool{}
	var rej8081, acc8080, scanRejects int
	for i := range recs {
		r := &recs[i]
		enis[r.InterfaceID] = true
		e := topo.Interface(r.InterfaceID)
		if e == nil {
			t.Fatalf("record of unknown interface: %s", flow.Text(flow.DefaultFormat, r))
		}
		app := strings.HasPrefix(e.Name, "app-")
		switch {
		case r.LogStatus != flow.StatusOK:
		case app && r.DstPort == 8081:
			if r.Action != flow.ActionReject {
				t.Errorf("health check to 8081 accepted by the app security group: %s", flow.Text(flow.DefaultFormat, r))
			}
			rej8081++
		case app && r.DstPort == 8080:
			if r.Action != flow.ActionAccept {
				t.Errorf("ALB traffic to 8080 rejected: %s", flow.Text(flow.DefaultFormat, r))
			}
			acc8080++
		case r.Action == flow.ActionReject && topo.VPCOf(r.SrcAddr) == nil:
			scanRejects++
		}
	}
	t.Logf("%d conversations, %d packets, %d records (%d in S3, %d log events); app ENIs: %d REJECT to 8081, %d ACCEPT to 8080; %d REJECT from the internet",
		res.Traffic.Conversations, res.Traffic.Packets, res.Records, len(recs), res.Events, rej8081, acc8080, scanRejects)
	if len(enis) != 50 {
		t.Errorf("records of %d ENIs, want all 50", len(enis))
	}
	if rej8081 == 0 || acc8080 == 0 {
		t.Errorf("app ENIs: %d REJECT records to 8081, %d ACCEPT to 8080; want both", rej8081, acc8080)
	}
	if scanRejects == 0 {
		t.Error("no REJECT records of internet sources (background scans)")
	}
	if res.Network.RejectsByLayer["sg"] == 0 {
		t.Errorf("rejects by layer %v: none by security groups", res.Network.RejectsByLayer)
	}
}
