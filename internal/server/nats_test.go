package server

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"vpcflow/internal/flow"
	"vpcflow/internal/objstore/objstoretest"
	"vpcflow/internal/publish/stream/natstest"
	"vpcflow/internal/sigv4"
)

func TestNATSConfig(t *testing.T) {
	cfg, err := LoadConfig("testdata/serve.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATS != (NATSConfig{Embedded: true, Port: 4222}) {
		t.Errorf("nats = %+v", cfg.NATS)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	for _, tc := range []struct{ yaml, want string }{
		{"nats:\n  url: nats://127.0.0.1:4222\n  embedded: true\n", "not both"},
		{"nats:\n  embeded: true\n", `bad.yaml:2:3: unknown field "embeded"`},
		{"nats:\n  url: http://127.0.0.1:4222\n", "want nats://host:port"},
		{"nats:\n  url: nats://127.0.0.1:4222,127.0.0.1\n", `"127.0.0.1": want nats://host:port`},
		{"nats:\n  port: 4222\n", "only for the embedded server"},
		{"nats:\n  embedded: true\n  port: 70000\n", "want 0 (any free port) to 65535"},
	} {
		os.WriteFile(bad, []byte(tc.yaml), 0o644)
		if _, err := LoadConfig(bad); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.yaml, err, tc.want)
		}
	}
	ok := filepath.Join(t.TempDir(), "ok.yaml")
	os.WriteFile(ok, []byte("nats:\n  url: nats://127.0.0.1:4222, tls://127.0.0.1:4223\n"), 0o644)
	if _, err := LoadConfig(ok); err != nil {
		t.Errorf("two URLs: %v", err)
	}
}

// TestServeFirehose: serve with the embedded NATS server; a
// kinesis-data-firehose flow log created through the EC2 API publishes to
// it while the simulation runs, and what it published survives shutdown in
// <data>/.nats.
func TestServeFirehose(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.Speed, cfg.Alarms = "127.0.0.1:0", dir, 3600, "none"
	cfg.NATS = NATSConfig{Embedded: true, Port: objstoretest.FreePort(t)}
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", cfg.NATS.Port)
	addr, creds, stop := startServer(t, cfg)
	form := url.Values{"Action": {"CreateFlowLogs"}, "Version": {"2016-11-15"}, "ResourceType": {"VPC"},
		"ResourceId.1": {"vpc-0a1b2c3d4e5f60718"}, "TrafficType": {"ALL"}, "LogDestinationType": {"kinesis-data-firehose"},
		"LogDestination": {"arn:aws:firehose:us-east-1:123456789012:deliverystream/serve-test"}}
	req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sigv4.Sign(req, creds[0], "us-east-1", "ec2", time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<flowLogIdSet>") {
		t.Fatalf("CreateFlowLogs: %d %s", resp.StatusCode, body)
	}
	id := string(body)
	id = id[strings.Index(id, "fl-"):]
	id = id[:strings.IndexByte(id, '<')]

	// Records arrive while the simulation runs (10 simulated minutes a
	// capture window, a sixth of a second here).
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if s, err := js.Stream(t.Context(), "serve-test"); err == nil {
			if info, err := s.Info(t.Context()); err == nil && info.State.Msgs > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no message in JetStream stream serve-test")
		}
	}
	nc.Close()
	stop()

	// The embedded server is gone; its store holds the stream.
	s := natstest.Start(t, filepath.Join(dir, NATSDir))
	nc, err = nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ = jetstream.New(nc)
	st, err := js.Stream(t.Context(), "serve-test")
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	dec := flow.NewDecoder(flow.DefaultFormat)
	lines := 0
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "vpcflow.firehose.serve-test."+id {
			t.Fatalf("subject %s", m.Subject)
		}
		for l := range strings.SplitSeq(strings.TrimSuffix(string(m.Data), "\n"), "\n") {
			var r flow.Record
			if err := dec.Decode([]byte(l), &r); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			lines++
		}
	}
	if lines == 0 {
		t.Error("no records in the stream after shutdown")
	}
	t.Logf("%d records in %d messages", lines, info.State.Msgs)
}
