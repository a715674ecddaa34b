package demo

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"vpcflow/internal/flow"
	"vpcflow/internal/flowlog"
	"vpcflow/internal/publish/stream/natstest"
	"vpcflow/internal/traffic"
)

const testVPC = "vpc-0a1b2c3d4e5f60718"

// startNATS runs an embedded JetStream server on 127.0.0.1.
func startNATS(t *testing.T) string {
	t.Helper()
	return natstest.Start(t, t.TempDir()).ClientURL()
}

// streamMessages returns the messages of a JetStream stream, in order.
func streamMessages(t *testing.T, url, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(t.Context(), stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestFirehoseEndToEnd: kinesis-data-firehose flow logs, one put in the
// data directory as `vpcflow flowlogs create` does and one created through
// CreateFlowLogs, publish every record the aggregator hands them to their
// JetStream subjects as plain text lines; a CloudWatch Logs flow log runs
// beside them with one <eni>-all stream per interface.
func TestFirehoseEndToEnd(t *testing.T) {
	url := startNATS(t)
	sc, topo := shortScenario(t, 2*time.Hour, 20*time.Minute)
	var cwl []traffic.FlowLogDoc
	for _, d := range sc.FlowLogs {
		if d.Destination == "cloud-watch-logs" {
			cwl = append(cwl, d)
		}
	}
	dir := filepath.Join(t.TempDir(), "data")
	store, err := flowlog.OpenStore(flowlog.StoreConfig{DataDir: dir, AccountID: topo.AccountID, Region: topo.Region, Seed: 7},
		flowlog.StoreDeps{Resources: flowlog.TopologyResources{Topology: topo}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := store.Create(flowlog.CreateInput{ResourceType: flowlog.ResourceVPC, ResourceIDs: []string{testVPC}, TrafficType: "ALL",
		LogDestinationType: flowlog.DestinationFirehose, MaxAggregationInterval: 60,
		LogDestination: "arn:aws:firehose:us-east-1:" + topo.AccountID + ":deliverystream/flow.logs"})
	if err != nil || len(out.FlowLogIDs) != 1 {
		t.Fatalf("store create: %+v %v", out, err)
	}
	allID := out.FlowLogIDs[0]

	ctx := context.Background()
	p, err := Open(ctx, topo, Options{DataDir: dir, Start: sc.Start, Seed: sc.Seed, NATSURL: url})
	if err != nil {
		t.Fatal(err)
	}
	// A scenario's firehose flow log, to the default delivery stream.
	docs := append(cwl, traffic.FlowLogDoc{Resource: "subnet-0e1a00000000000a1", Destination: flowlog.DestinationFirehose, MaxAggregationInterval: 60})
	ids, err := p.CreateFlowLogs(docs)
	if err != nil {
		t.Fatal(err)
	}
	subnetID := ids[len(ids)-1]
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	out, err = p.FlowLogAPI().Create(ctx, flowlog.CreateInput{ResourceType: flowlog.ResourceVPC, ResourceIDs: []string{testVPC},
		TrafficType: "REJECT", LogDestinationType: flowlog.DestinationFirehose,
		LogDestination: "arn:aws:firehose:us-east-1:" + topo.AccountID + ":deliverystream:rejects"})
	if err != nil || len(out.FlowLogIDs) != 1 {
		t.Fatalf("CreateFlowLogs: %+v %v", out, err)
	}
	rejectID := out.FlowLogIDs[0]

	eng := traffic.NewEngine(sc, p.Net, traffic.Options{Progress: func(now time.Time, _ *traffic.Stats) { p.Advance(now) }})
	if err := eng.Run(ctx); err != nil {
		t.Fatal(err)
	}
	p.Advance(sc.End())
	desc, err := p.FlowLogAPI().Describe(flowlog.DescribeInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range desc.FlowLogs {
		if fl.DeliverLogsStatus != "SUCCESS" {
			t.Errorf("%s (%s): %s %s", fl.FlowLogID, fl.LogDestinationType, fl.DeliverLogsStatus, fl.DeliverLogsErrorMessage)
		}
	}
	streamName := regexp.MustCompile(`^eni-[0-9a-f]{17}-all$`)
	streams, err := p.Logs.LogStreams("/vpcflow/rejects")
	if err != nil || len(streams) == 0 {
		t.Fatalf("CloudWatch Logs streams: %v %v", streams, err)
	}
	for _, st := range streams {
		if !streamName.MatchString(st.Name) {
			t.Errorf("log stream %q, want <eni>-all", st.Name)
		}
	}
	if err := p.Close(sc.End()); err != nil {
		t.Fatal(err)
	}

	dec := flow.NewDecoder(flow.DefaultFormat)
	count := func(stream, id string) (lines int, rejects int) {
		for _, m := range streamMessages(t, url, stream) {
			if want := "vpcflow.firehose." + stream + "." + id; m.Subject != want {
				t.Fatalf("subject %s, want %s", m.Subject, want)
			}
			if len(m.Header) != 0 && m.Header.Get("Nats-Msg-Id") == "" {
				t.Errorf("unexpected headers %v", m.Header)
			}
			text := string(m.Data)
			if !strings.HasSuffix(text, "\n") {
				t.Fatalf("message does not end with a newline: %q", text)
			}
			for l := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
				var r flow.Record
				if err := dec.Decode([]byte(l), &r); err != nil || strings.HasPrefix(l, "version ") {
					t.Fatalf("%s: line %q: %v", stream, l, err)
				}
				if r.Action == flow.ActionReject {
					rejects++
				}
				lines++
			}
		}
		return lines, rejects
	}
	all, _ := count("flow_logs", allID)
	rej, rejRecords := count("rejects", rejectID)
	sub, _ := count(DefaultDeliveryStream, subnetID)
	if all == 0 || rejRecords == 0 || sub == 0 {
		t.Fatalf("%d lines for ALL, %d REJECT records for REJECT, %d lines for the subnet", all, rejRecords, sub)
	}
	// The CloudWatch Logs events are the rest of what was delivered.
	in := p.Delivered() - p.Events
	if int64(all+rej+sub) != in {
		t.Errorf("count in %d, count out %d (%d + %d + %d)", in, all+rej+sub, all, rej, sub)
	}
	t.Logf("%d records in, %d + %d + %d lines out; %d CloudWatch Logs events", in, all, rej, sub, p.Events)
	byStream := p.FirehoseRecords()
	if want := map[string]int64{"flow.logs": int64(all), "rejects": int64(rej), DefaultDeliveryStream: int64(sub)}; !maps.Equal(byStream, want) {
		t.Errorf("records by delivery stream %v, want %v", byStream, want)
	}
	// The summary names each delivery stream with its count.
	var b strings.Builder
	if err := (&Summary{DataDir: dir, Run: &RunResult{Firehose: byStream}}).WriteBrief(&b); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("  Firehose:         delivery stream rejects (NATS JetStream), %s records\n", num(int64(rej))); !strings.Contains(b.String(), want) {
		t.Errorf("summary:\n%s\nwant a line %q", b.String(), want)
	}
}

// TestFirehoseWithoutNATS: without a NATS server, creating a
// kinesis-data-firehose flow log is refused with the reason, and one already
// in the data directory reports FAILED with it.
func TestFirehoseWithoutNATS(t *testing.T) {
	_, topo := shortScenario(t, 0, time.Minute)
	dir := t.TempDir()
	arn := "arn:aws:firehose:us-east-1:" + topo.AccountID + ":deliverystream/flows"
	store, err := flowlog.OpenStore(flowlog.StoreConfig{DataDir: dir, AccountID: topo.AccountID, Region: topo.Region, Seed: 7},
		flowlog.StoreDeps{Resources: flowlog.TopologyResources{Topology: topo}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := store.Create(flowlog.CreateInput{ResourceType: flowlog.ResourceVPC, ResourceIDs: []string{testVPC}, TrafficType: "ALL",
		LogDestinationType: flowlog.DestinationFirehose, LogDestination: arn})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := Open(context.Background(), topo, Options{DataDir: dir, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(start)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	desc, err := p.FlowLogAPI().Describe(flowlog.DescribeInput{})
	if err != nil || len(desc.FlowLogs) != 1 || desc.FlowLogs[0].DeliverLogsStatus != "FAILED" {
		t.Fatalf("describe: %+v %v", desc, err)
	}
	if st, _ := p.Flows.Status(out.FlowLogIDs[0]); !strings.Contains(st.Detail, "no NATS server is configured") {
		t.Errorf("status detail %q", st.Detail)
	}

	_, err = p.FlowLogAPI().Create(context.Background(), flowlog.CreateInput{ResourceType: flowlog.ResourceVPC, ResourceIDs: []string{testVPC},
		TrafficType: "REJECT", LogDestinationType: flowlog.DestinationFirehose, LogDestination: arn})
	var fe *flowlog.Error
	if !errors.As(err, &fe) || fe.Code != flowlog.CodeInvalidParameter || !strings.Contains(fe.Message, "no NATS server is configured") {
		t.Errorf("CreateFlowLogs: %v", err)
	}
	if _, err := p.CreateFlowLogs([]traffic.FlowLogDoc{{Resource: testVPC, Destination: flowlog.DestinationFirehose}}); !errors.Is(err, ErrNoNATS) {
		t.Errorf("scenario flow log: %v", err)
	}
	if n := len(p.Store.List()); n != 1 {
		t.Errorf("%d flow logs after the refusals, want 1", n)
	}
}
