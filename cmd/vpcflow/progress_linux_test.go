//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"vpcflow/internal/traffic/capture"
)

// openPTY opens a pseudo-terminal pair (Linux /dev/ptmx); the slave is a
// terminal for golang.org/x/term, as a user's stderr would be.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	ioctl := func(req uintptr, arg unsafe.Pointer) {
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), req, uintptr(arg)); e != 0 {
			t.Fatalf("ioctl %#x: %v", req, e)
		}
	}
	var unlock int32
	ioctl(syscall.TIOCSPTLCK, unsafe.Pointer(&unlock))
	var n uint32
	ioctl(syscall.TIOCGPTN, unsafe.Pointer(&n))
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, s
}

// runOnTerminal runs args with stderr on a terminal and stdout in a
// buffer; it returns both.
func runOnTerminal(t *testing.T, args ...string) (stdout, terminal string) {
	t.Helper()
	master, slave := openPTY(t)
	var tty bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&tty, master) // ends with EIO once the slave is closed
		close(done)
	}()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(slave)
	root.SetArgs(args)
	root.SilenceUsage, root.SilenceErrors = true, true
	err := root.Execute()
	slave.Close()
	<-done
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), tty.String()
}

// TestProgressOnTerminalOnly: on a terminal, simulate and demo show a
// progress bar with the simulated time, packets and records written, on
// stderr; standard output (the summary, which may be piped or parsed)
// never carries it. TestSimulateCLI and TestDemoCLI check that a
// non-terminal stderr gets nothing.
func TestProgressOnTerminalOnly(t *testing.T) {
	scenario := writeScenario(t)
	for name, args := range map[string][]string{
		"simulate": {"simulate", "--scenario", scenario, "--out", filepath.Join(t.TempDir(), "sim")},
		"demo":     {"demo", "--out", filepath.Join(t.TempDir(), "demo"), "--duration", "30m"},
	} {
		t.Run(name, func(t *testing.T) {
			out, tty := runOnTerminal(t, args...)
			if !strings.Contains(tty, "2026-11-20 ") || !strings.Contains(tty, " packets") || !strings.Contains(tty, " records") {
				t.Errorf("no progress (simulated time, packets, records) on the terminal: %q", tty)
			}
			if !strings.Contains(out, "S3 layout:") {
				t.Errorf("summary missing from stdout:\n%s", out)
			}
			if strings.ContainsAny(out, "\r\x1b") {
				t.Errorf("progress leaked into stdout: %q", out)
			}
		})
	}
}

// TestReplayProgressOnTerminal: replay reports progress (capture time,
// packets, records) on a terminal stderr; its report stays on stdout. The
// capture is large enough for a progress update (every 65,536 packets).
func TestReplayProgressOnTerminal(t *testing.T) {
	cfg := capture.DefaultGenConfig()
	cfg.Packets, cfg.Flows = 70_000, 7_000
	pcap := filepath.Join(t.TempDir(), "big.pcap")
	if _, err := capture.GenerateFile(pcap, cfg); err != nil {
		t.Fatal(err)
	}
	out, tty := runOnTerminal(t, "replay", "--topology", "../../internal/demo/testdata/bench-topology.yaml", "--pcap", pcap,
		"--out", filepath.Join(t.TempDir(), "out"))
	if !strings.Contains(tty, "2026-11-20T09:") || !strings.Contains(tty, "65,536 packets, ") || !strings.Contains(tty, " records") {
		t.Errorf("no replay progress on the terminal: %q", tty)
	}
	if !strings.Contains(out, "Replayed 70,000 packets") || strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("stdout: %q", out)
	}
}
