// Package objstoretest starts S3 servers for tests: an in-process gofakes3
// and, for integration tests, a real versitygw process on 127.0.0.1.
package objstoretest

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"vpcflow/internal/objstore"
)

// Credentials used by every test server.
const (
	AccessKey = "vpcflowtest"
	SecretKey = "vpcflowtestsecret123"
)

// NewFake starts an in-process gofakes3 server and returns an S3 store on
// it with bucket created.
func NewFake(t testing.TB, bucket string) (*objstore.S3, string) {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	st, err := objstore.NewS3(objstore.S3Config{Endpoint: srv.URL, AccessKeyID: AccessKey, SecretAccessKey: SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if bucket != "" {
		if err := st.CreateBucket(context.Background(), bucket); err != nil {
			t.Fatal(err)
		}
	}
	return st, srv.URL
}

// Integration reports whether integration tests must run (VPCFLOW_INTEGRATION=1).
func Integration() bool { return os.Getenv("VPCFLOW_INTEGRATION") == "1" }

// LookPath finds a server binary for an integration test: it skips the
// test when the binary is missing, unless VPCFLOW_INTEGRATION=1 (then it
// fails).
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if Integration() {
			t.Fatalf("%s not found on PATH (VPCFLOW_INTEGRATION=1): %v", name, err)
		}
		t.Skipf("%s not installed; set VPCFLOW_INTEGRATION=1 to require it", name)
	}
	return p
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Versity is a versitygw process serving a posix root on 127.0.0.1.
type Versity struct {
	t        testing.TB
	bin      string
	Root     string
	Addr     string // 127.0.0.1:port
	Endpoint string // http://127.0.0.1:port

	mu  sync.Mutex
	cmd *exec.Cmd
}

// StartVersity starts versitygw (skipping the test if it is not installed)
// with a posix root in t.TempDir(). It is stopped at cleanup.
func StartVersity(t testing.TB) *Versity {
	t.Helper()
	bin := LookPath(t, "versitygw")
	v := &Versity{t: t, bin: bin, Root: t.TempDir()}
	port := FreePort(t)
	v.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	v.Endpoint = "http://" + v.Addr
	if err := v.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Stop() })
	return v
}

// Start (re)starts the server on the same address and root and waits until
// it accepts connections.
func (v *Versity) Start() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cmd != nil {
		return nil
	}
	cmd := exec.Command(v.bin, "--port", v.Addr, "--quiet", "posix", v.Root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+AccessKey, "ROOT_SECRET_ACCESS_KEY="+SecretKey)
	logf, err := os.Create(filepath.Join(v.t.TempDir(), "versitygw.log"))
	if err == nil {
		cmd.Stdout, cmd.Stderr = logf, logf
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	v.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			v.cmd = nil
			b, _ := os.ReadFile(logf.Name())
			return fmt.Errorf("versitygw exited: %v\n%s", err, b)
		default:
		}
		c, err := net.DialTimeout("tcp", v.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("versitygw did not listen on %s within 30 s", v.Addr)
}

// Stop kills the server and waits until its port is closed.
func (v *Versity) Stop() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cmd == nil {
		return
	}
	_ = v.cmd.Process.Signal(syscall.SIGKILL)
	v.cmd = nil
	for range 200 {
		c, err := net.DialTimeout("tcp", v.Addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(25 * time.Millisecond)
	}
}

// Store returns an S3 store on the server.
func (v *Versity) Store(t testing.TB) *objstore.S3 {
	t.Helper()
	st, err := objstore.NewS3(objstore.S3Config{Endpoint: v.Endpoint, AccessKeyID: AccessKey, SecretAccessKey: SecretKey,
		Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
