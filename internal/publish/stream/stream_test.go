package stream

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"vpcflow/internal/flow"
	"vpcflow/internal/objstore/objstoretest"
	"vpcflow/internal/publish"
)

const testFL = "fl-0123456789abcdef0"

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func makeRecords(first, n int) []flow.Record {
	out := make([]flow.Record, n)
	for i := range out {
		id := first + i
		r := &out[i]
		r.SetInt(flow.FieldVersion, 2)
		r.SetString(flow.FieldAccountID, "123456789012")
		r.SetString(flow.FieldInterfaceID, "eni-0123456789abcdef0")
		r.SetAddr(flow.FieldSrcAddr, netip.AddrFrom4([4]byte{10, 0, byte(id >> 8), byte(id)}))
		r.SetAddr(flow.FieldDstAddr, netip.MustParseAddr("10.0.1.9"))
		r.SetInt(flow.FieldSrcPort, 1024)
		r.SetInt(flow.FieldDstPort, 443)
		r.SetInt(flow.FieldProtocol, 6)
		r.SetInt(flow.FieldPackets, int64(id))
		r.SetInt(flow.FieldBytes, 100)
		r.SetInt(flow.FieldStart, t0.Unix())
		r.SetInt(flow.FieldEnd, t0.Unix()+60)
		r.SetAction(flow.ActionAccept)
		r.SetLogStatus(flow.StatusOK)
	}
	return out
}

// natsServer is a JetStream server the test can stop and restart on the
// same port and store directory.
type natsServer interface {
	URL() string
	Stop()
	Start(t *testing.T)
}

type embedded struct {
	port int
	dir  string
	mu   sync.Mutex
	s    *server.Server
}

func startEmbedded(t *testing.T) *embedded {
	e := &embedded{port: objstoretest.FreePort(t), dir: t.TempDir()}
	e.Start(t)
	t.Cleanup(e.Stop)
	return e
}

func (e *embedded) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", e.port) }

func (e *embedded) Start(t *testing.T) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: e.port, JetStream: true, StoreDir: e.dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	e.mu.Lock()
	e.s = s
	e.mu.Unlock()
}

func (e *embedded) Stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.s != nil {
		e.s.Shutdown()
		e.s.WaitForShutdown()
		e.s = nil
	}
}

// external is the Debian nats-server binary.
type external struct {
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startExternal(t *testing.T) *external {
	bin := objstoretest.LookPath(t, "nats-server")
	e := &external{bin: bin, port: objstoretest.FreePort(t), dir: t.TempDir()}
	e.Start(t)
	t.Cleanup(e.Stop)
	return e
}

func (e *external) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", e.port) }

func (e *external) Start(t *testing.T) {
	cmd := exec.Command(e.bin, "-js", "-sd", e.dir, "-a", "127.0.0.1", "-p", fmt.Sprint(e.port))
	log, _ := os.Create(filepath.Join(t.TempDir(), "nats.log"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.cmd = cmd
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := nats.Connect(e.URL(), nats.Timeout(200*time.Millisecond))
		if err == nil {
			js, _ := jetstream.New(nc)
			_, err = js.AccountInfo(context.Background())
			nc.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("nats-server not ready: %v\n%s", err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *external) Stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGKILL)
	_ = e.cmd.Wait()
	e.cmd = nil
}

func newDest(t *testing.T, url, spoolDir string) *Destination {
	t.Helper()
	return newDestWith(t, url, spoolDir, nil)
}

// newDestWith is newDest with the config adjusted by edit (nil: none).
func newDestWith(t *testing.T, url, spoolDir string, edit func(*Config)) *Destination {
	t.Helper()
	cfg := DefaultConfig()
	cfg.FlowLog = publish.FlowLog{ID: testFL, AccountID: "123456789012", Region: "us-east-1", Format: flow.DefaultFormat}
	cfg.URL, cfg.SpoolDir = url, spoolDir
	cfg.MaxBatchRecords = 100
	cfg.RetryInitial, cfg.RetryMax, cfg.PublishTimeout = 10*time.Millisecond, 200*time.Millisecond, 2*time.Second
	if edit != nil {
		edit(&cfg)
	}
	d, err := New(cfg, Deps{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// readStream returns every line in the flow log's subject, and the
// number of messages.
func readStream(t *testing.T, url string) ([]string, int) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(t.Context(), "VPCFLOW_FLOWLOGS")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != "vpcflow.flowlogs."+testFL {
			t.Fatalf("subject %s", m.Subject)
		}
		ls := strings.Split(strings.TrimSuffix(string(m.Data), "\n"), "\n")
		if len(ls) > 100 {
			t.Fatalf("message of %d records", len(ls))
		}
		lines = append(lines, ls...)
	}
	return lines, int(info.State.Msgs)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func scenario(t *testing.T, srv natsServer) {
	ctx := t.Context()
	spoolDir := t.TempDir()
	d := newDest(t, srv.URL(), spoolDir)
	sent := 0
	deliver := func(n int) {
		if err := d.Deliver(ctx, publish.Batch{Records: makeRecords(sent, n), Now: t0}); err != nil {
			t.Fatal(err)
		}
		sent += n
	}
	for range 4 {
		deliver(250)
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	lines, msgs := readStream(t, srv.URL())
	if len(lines) != 1000 || msgs != 10 {
		t.Fatalf("%d lines in %d messages", len(lines), msgs)
	}
	if strings.HasPrefix(lines[0], "version ") {
		t.Fatal("header line in a stream record")
	}
	if want := flow.Text(flow.DefaultFormat, &makeRecords(0, 1)[0]); lines[0] != want {
		t.Fatalf("first line %q, want %q", lines[0], want)
	}

	// Server down: FAILED, then SUCCESS after the restart, nothing lost.
	srv.Stop()
	deliver(300)
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	_ = d.Flush(cctx)
	waitFor(t, func() bool { return d.Status().State == publish.DeliveryFailed })
	if s := d.Status(); s.Message != publish.MessageUnknownError || s.Pending == 0 {
		t.Fatalf("status while down %+v", s)
	}
	deliver(200)
	srv.Start(t)
	if err := d.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	if s := d.Status(); s.State != publish.DeliverySuccess || s.Pending != 0 {
		t.Fatalf("status after restart %+v", s)
	}
	d.Close()

	// A crash between publish and spool removal: the batch is published
	// again under the same message id and JetStream drops the duplicate.
	if err := os.WriteFile(filepath.Join(spoolDir, "sealed", batchFile{3, d.epoch}.name()), []byte(lines[200]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d2 := newDest(t, srv.URL(), spoolDir)
	if err := d2.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	lines, _ = readStream(t, srv.URL())
	seen := map[string]bool{}
	for _, l := range lines {
		if seen[l] {
			t.Fatalf("duplicate record %q", l)
		}
		seen[l] = true
	}
	if len(lines) != sent {
		t.Fatalf("count in %d, count out %d", sent, len(lines))
	}
}

func TestEmbeddedServer(t *testing.T) { scenario(t, startEmbedded(t)) }

func TestDebianNatsServer(t *testing.T) { scenario(t, startExternal(t)) }

func TestBatchByInterval(t *testing.T) {
	srv := startEmbedded(t)
	cfg := DefaultConfig()
	cfg.FlowLog = publish.FlowLog{ID: testFL, Format: flow.DefaultFormat}
	cfg.URL, cfg.SpoolDir, cfg.BatchInterval = srv.URL(), t.TempDir(), time.Minute
	d, err := New(cfg, Deps{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The first Deliver opens a batch; the one a minute later (injected
	// clock) closes it.
	if err := d.Deliver(t.Context(), publish.Batch{Records: makeRecords(0, 3), Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(t.Context(), publish.Batch{Records: makeRecords(3, 2), Now: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return d.Status().Pending == 0 })
	lines, msgs := readStream(t, srv.URL())
	if len(lines) != 5 || msgs != 1 {
		t.Fatalf("%d lines in %d messages", len(lines), msgs)
	}
}

// TestRestartEmptySpool: a destination reopened on an emptied spool numbers
// its batches from 1 again; within the duplicate window those must not be
// taken for re-publishes of the previous run's batches.
func TestRestartEmptySpool(t *testing.T) {
	srv := startEmbedded(t)
	spoolDir := t.TempDir()
	fctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for run := range 2 {
		d := newDest(t, srv.URL(), spoolDir)
		if err := d.Deliver(fctx, publish.Batch{Records: makeRecords(run*50, 50), Now: t0}); err != nil {
			t.Fatal(err)
		}
		if err := d.Flush(fctx); err != nil {
			t.Fatal(err)
		}
		d.Close()
	}
	lines, msgs := readStream(t, srv.URL())
	if len(lines) != 100 || msgs != 2 {
		t.Fatalf("count in 100, count out %d lines in %d messages", len(lines), msgs)
	}
}

func TestDeliveryStream(t *testing.T) {
	for _, arn := range []string{"arn:aws:firehose:us-east-1:123456789012:deliverystream/flow.logs-1",
		"arn:aws:firehose:us-east-1:123456789012:deliverystream:flow.logs-1"} {
		name, err := ParseDeliveryStreamARN(arn)
		if err != nil || name != "flow.logs-1" {
			t.Errorf("%s: %q, %v", arn, name, err)
		}
	}
	for _, arn := range []string{"arn:aws:s3:::bucket", "arn:aws:firehose:us-east-1:123456789012:deliverystream/",
		"arn:aws:firehose:us-east-1:123456789012:deliverystream/a>b", "arn:aws:firehose:us-east-1:123456789012:stream/x"} {
		if _, err := ParseDeliveryStreamARN(arn); err == nil {
			t.Errorf("%s: no error", arn)
		}
	}
	c := ForDeliveryStream("flow.logs-1")
	c.FlowLog.ID = testFL
	if c.Stream != "flow_logs-1" || c.Subject() != "vpcflow.firehose.flow_logs-1."+testFL {
		t.Errorf("stream %q subject %q", c.Stream, c.Subject())
	}
}

func TestSubjectCovers(t *testing.T) {
	for _, tc := range []struct {
		f, g string
		want bool
	}{
		{"a.b.>", "a.b.>", true},
		{"a.>", "a.b.>", true},
		{">", "a.b.>", true},
		{"a.*.>", "a.b.>", true},
		{"a.b.*", "a.b.>", false},
		{"a.b", "a.b.>", false},
		{"a.c.>", "a.b.>", false},
		{"a.b.c.>", "a.b.>", false},
		{"a.b", "a.b", true},
		{"a.*", "a.b", true},
	} {
		if got := subjectCovers(tc.f, tc.g); got != tc.want {
			t.Errorf("subjectCovers(%q, %q) = %v, want %v", tc.f, tc.g, got, tc.want)
		}
	}
}

// TestStreamOfOtherSubjects: a JetStream stream that already has the
// delivery stream's name but takes other subjects fails the delivery with
// a message that says so (publishing would only time out), and the
// records wait in the spool.
func TestStreamOfOtherSubjects(t *testing.T) {
	srv := startEmbedded(t)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: cfg.Stream, Subjects: []string{"other.>"}}); err != nil {
		t.Fatal(err)
	}
	// A stream of that name bound to exactly the flow log's subject is
	// someone's deliberate setup, and it works.
	other := DefaultConfig()
	other.Stream = "exact"
	other.SubjectPrefix = "exact"
	other.FlowLog.ID = testFL
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "exact", Subjects: []string{other.Subject()}}); err != nil {
		t.Fatal(err)
	}
	ok := newDestWith(t, srv.URL(), t.TempDir(), func(c *Config) { c.Stream, c.SubjectPrefix = "exact", "exact" })
	if err := ok.Deliver(t.Context(), publish.Batch{Records: makeRecords(0, 5), Now: t0}); err != nil {
		t.Fatal(err)
	}
	okctx, okcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer okcancel()
	if err := ok.Flush(okctx); err != nil {
		t.Fatalf("delivery into a stream bound to the exact subject: %v", err)
	}
	d := newDest(t, srv.URL(), t.TempDir())
	if err := d.Deliver(t.Context(), publish.Batch{Records: makeRecords(0, 5), Now: t0}); err != nil {
		t.Fatal(err)
	}
	// Flush waits for a delivery that cannot happen: bound it.
	fctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := d.Flush(fctx); err == nil {
		t.Fatal("Flush succeeded into a stream of other subjects")
	}
	s := d.Status()
	if want := `takes subjects ["other.>"], not ` + cfg.SubjectPrefix + "." + testFL; !strings.Contains(s.Detail, want) || s.Pending != 5 {
		t.Errorf("status %+v, want a detail containing %q and 5 records pending", s, want)
	}
}
