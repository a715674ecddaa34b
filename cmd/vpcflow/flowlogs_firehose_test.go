package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"vpcflow/internal/demo"
	"vpcflow/internal/flowlog"
	"vpcflow/internal/publish/stream/natstest"
	"vpcflow/internal/traffic"
)

// TestFlowLogsCreateFirehose: a kinesis-data-firehose flow log made with
// `vpcflow flowlogs create` runs when a pipeline with NATS opens the data
// directory (as serve does at start): every record reaches its JetStream
// subject.
func TestFlowLogsCreateFirehose(t *testing.T) {
	dir := t.TempDir()
	out, err := runFlowLogs(t, "flowlogs", "--data", dir, "--topology", "../../internal/demo/three-tier.yaml", "create",
		"--resource-type", "VPC", "--resource-ids", "vpc-0a1b2c3d4e5f60718", "--traffic-type", "ALL",
		"--log-destination-type", "kinesis-data-firehose", "--log-destination", "arn:aws:firehose:us-east-1:123456789012:deliverystream/cli-flows")
	if err != nil {
		t.Fatal(err, out)
	}
	var created flowlog.CreateOutput
	if err := json.Unmarshal([]byte(out), &created); err != nil || len(created.FlowLogIDs) != 1 {
		t.Fatalf("create output %s: %v", out, err)
	}

	s := natstest.Start(t, t.TempDir())

	sc, topo, err := demo.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	sc.Duration = 15 * time.Minute
	ctx := context.Background()
	p, err := demo.Open(ctx, topo, demo.Options{DataDir: dir, Start: sc.Start, NATSURL: s.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	eng := traffic.NewEngine(sc, p.Net, traffic.Options{Progress: func(now time.Time, _ *traffic.Stats) { p.Advance(now) }})
	if err := eng.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(sc.End()); err != nil {
		t.Fatal(err)
	}

	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctx, "cli-flows")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lines int64
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "vpcflow.firehose.cli-flows."+created.FlowLogIDs[0] || strings.HasPrefix(string(m.Data), "version ") {
			t.Fatalf("message on %s: %.80q", m.Subject, m.Data)
		}
		lines += int64(strings.Count(string(m.Data), "\n"))
	}
	if lines == 0 || lines != p.Delivered() {
		t.Errorf("count in %d, count out %d", p.Delivered(), lines)
	}
}
