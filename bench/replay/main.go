// Command replay compares `vpcflow replay` with the pcap→flow tools people
// use today, in one run, on the same generated capture (bench/replay/gen:
// 1,000,000 packets over 100,000 flows by default):
//
//   - vpcflow replay --topology T --pcap P --out DIR  (dataplane, aggregation, gzip S3 objects)
//   - nfpcapd -r P -w DIR                             (nfdump's pcap → nfcapd file)
//   - softflowd -a -r P -n 127.0.0.1:PORT -v 10       (pcap → IPFIX export)
//
// The tools take turns, -runs times; each run reports wall time, CPU time
// (user+sys), peak RSS and the load average, then the medians and
// packets/s ratios are printed. A correctness cross-check follows: every
// tool's output is read back (vpcflow logs read; nfdump) and its distinct
// 5-tuples (conversations, direction folded), packets and bytes are
// compared with the generator's ground truth.
//
// softflowd exports over UDP in one burst at the end of the file, faster
// than nfcapd drains a socket on a busy machine, so the harness is the
// collector: it receives the export into a large socket buffer (not timed
// with softflowd's own CPU, which is measured from its process), then
// feeds the datagrams to nfcapd at a steady pace for the cross-check.
//
// Needs nfpcapd, nfcapd, nfdump and softflowd: scripts/install-tools.sh --bench.
//
//	go run ./bench/replay                 # 1M packets, 3 runs
//	go run ./bench/replay -runs 5 -tools vpcflow,nfpcapd
package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"vpcflow/bench/internal/machine"
	"vpcflow/internal/traffic/capture"
)

func main() {
	cfg := capture.DefaultGenConfig()
	flag.IntVar(&cfg.Packets, "packets", cfg.Packets, "packets in the capture")
	flag.IntVar(&cfg.Flows, "flows", cfg.Flows, "flows in the capture")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "generator seed")
	dir := flag.String("dir", filepath.Join("bench", "out", "replay"), "work directory (capture reused when it matches)")
	runs := flag.Int("runs", 3, "runs of each tool (interleaved)")
	tools := flag.String("tools", "vpcflow,nfpcapd,softflowd", "tools to run, comma-separated")
	check := flag.Bool("check", true, "cross-check the 5-tuples, packets and bytes of each tool's output")
	flag.Parse()
	if err := run(cfg, *dir, *runs, strings.Split(*tools, ","), *check); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
}

// truth is what the generator put in the capture.
type truth struct {
	Conversations int // distinct 5-tuples with direction folded
	Packets       int64
	Bytes         int64
}

// timing is one run of one tool.
type timing struct {
	wall, cpu time.Duration
	maxRSS    int64 // KiB
	load      string
}

// tool is one contender.
type tool struct {
	name string
	// run performs one timed run and returns the process's timing.
	run func(round int) (timing, error)
	// read returns the tool's flow rows from its last run's output.
	read func() ([]row, error)
}

// row is one flow record: a directional 5-tuple with packets and bytes.
type row struct {
	src, dst         netip.Addr
	proto            uint8
	srcPort, dstPort uint16
	packets, bytes   int64
}

func run(cfg capture.GenConfig, dir string, runs int, names []string, check bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	dir, _ = filepath.Abs(dir)
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for _, b := range [][2]string{{"vpcflow", "./cmd/vpcflow"}, {"gen", "./bench/replay/gen"}} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, b[0]), b[1])
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b[1], err)
		}
	}
	pcap, topo := filepath.Join(dir, "bench.pcap"), filepath.Join(dir, "topology.yaml")
	want, err := prepare(cfg, dir, bin, pcap, topo)
	if err != nil {
		return err
	}
	st, err := os.Stat(pcap)
	if err != nil {
		return err
	}
	fmt.Printf("capture: %s, %d packets, %d flows (%d distinct 5-tuples), %d IP bytes, %.0f MB on disk\n",
		pcap, want.Packets, cfg.Flows, want.Conversations, want.Bytes, float64(st.Size())/1e6)
	fmt.Printf("machine: %d CPUs, %s\n", machine.NumCPU(), machine.CPUModel())

	var ts []tool
	for _, n := range names {
		t, err := newTool(strings.TrimSpace(n), dir, bin, pcap, topo)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	res := map[string][]timing{}
	for round := range runs {
		for _, t := range ts {
			tm, err := t.run(round)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			res[t.name] = append(res[t.name], tm)
			fmt.Printf("run %d %-9s %8.2fs wall %7.2fs cpu %7.0f MiB peak RSS  %9.0f packets/s  load %s\n", round+1, t.name,
				tm.wall.Seconds(), tm.cpu.Seconds(), float64(tm.maxRSS)/1024, float64(want.Packets)/tm.wall.Seconds(), tm.load)
		}
	}

	fmt.Printf("\n| tool | median wall | median CPU | packets/s (wall) | packets/CPU-s | peak RSS | load |\n|---|---|---|---|---|---|---|\n")
	med := map[string]timing{}
	for _, t := range ts {
		rs := res[t.name]
		m := timing{
			wall:   medianD(rs, func(x timing) time.Duration { return x.wall }),
			cpu:    medianD(rs, func(x timing) time.Duration { return x.cpu }),
			maxRSS: int64(medianD(rs, func(x timing) time.Duration { return time.Duration(x.maxRSS) })),
		}
		med[t.name] = m
		var loads []string
		for _, r := range rs {
			loads = append(loads, r.load)
		}
		slices.Sort(loads)
		fmt.Printf("| %s | %.2f s | %.2f s | %.0f | %.0f | %.0f MiB | %s–%s |\n", t.name, m.wall.Seconds(), m.cpu.Seconds(),
			float64(want.Packets)/m.wall.Seconds(), float64(want.Packets)/m.cpu.Seconds(), float64(m.maxRSS)/1024,
			loads[0], loads[len(loads)-1])
	}
	if v, ok := med["vpcflow"]; ok {
		for _, t := range ts {
			if t.name == "vpcflow" {
				continue
			}
			p := med[t.name]
			fmt.Printf("vpcflow packets/s ÷ %s packets/s: %.2fx wall, %.2fx per CPU-second\n", t.name,
				p.wall.Seconds()/v.wall.Seconds(), p.cpu.Seconds()/v.cpu.Seconds())
		}
	}
	if !check {
		return nil
	}
	fmt.Printf("\ncross-check against the generator (%d distinct 5-tuples, %d packets, %d bytes):\n", want.Conversations, want.Packets, want.Bytes)
	// Bytes are reported, not required to match: softflowd counts the
	// link-layer payload, so Ethernet padding of short frames (a 40-byte
	// SYN-ACK travels in a 46-byte minimum payload) adds to its bytes.
	type line struct {
		name string
		recs int
		got  truth
	}
	var lines []line
	failed := false
	for _, t := range ts {
		rows, err := t.read()
		if err != nil {
			return fmt.Errorf("%s: read output: %w", t.name, err)
		}
		got := summarize(rows)
		failed = failed || got.Conversations != want.Conversations || got.Packets != want.Packets
		lines = append(lines, line{t.name, len(rows), got})
	}
	fmt.Printf("| tool | flow records | distinct 5-tuples | packets | bytes (Δ vs capture) | 5-tuples and packets match |\n|---|---|---|---|---|---|\n")
	for _, l := range lines {
		fmt.Printf("| %s | %d | %d | %d | %d (%+d) | %v |\n", l.name, l.recs, l.got.Conversations, l.got.Packets, l.got.Bytes,
			l.got.Bytes-want.Bytes, l.got.Conversations == want.Conversations && l.got.Packets == want.Packets)
	}
	if failed {
		return errors.New("cross-check: some tool's 5-tuples or packets differ from the capture")
	}
	return nil
}

// prepare generates the capture and topology unless dir already holds
// them for the same config, and returns the ground truth.
func prepare(cfg capture.GenConfig, dir, bin, pcap, topo string) (truth, error) {
	stamp := filepath.Join(dir, "STAMP")
	key := fmt.Sprintf("packets=%d flows=%d seed=%d v1", cfg.Packets, cfg.Flows, cfg.Seed)
	if b, err := os.ReadFile(stamp); err == nil {
		var w truth
		var k1, k2, k3 string
		if _, err := fmt.Sscanf(string(b), "%s %s %s v1 %d %d %d", &k1, &k2, &k3, &w.Conversations, &w.Packets, &w.Bytes); err == nil &&
			strings.Join([]string{k1, k2, k3, "v1"}, " ") == key {
			if _, err := os.Stat(pcap); err == nil {
				return w, nil
			}
		}
	}
	t0 := time.Now()
	cmd := exec.Command(filepath.Join(bin, "gen"), "-packets", strconv.Itoa(cfg.Packets), "-flows", strconv.Itoa(cfg.Flows),
		"-seed", strconv.FormatUint(cfg.Seed, 10), "-out", pcap, "-topology", topo)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return truth{}, fmt.Errorf("gen: %w", err)
	}
	// The same config again, in memory, for the ground truth.
	cfg.Track = true
	sum, err := capture.Generate(io.Discard, cfg)
	if err != nil {
		return truth{}, err
	}
	var rows []row
	for t, c := range sum.Directions {
		rows = append(rows, row{t.Src, t.Dst, t.Proto, t.SrcPort, t.DstPort, c.Packets, c.Bytes})
	}
	w := summarize(rows)
	fmt.Printf("generated %s in %v\n", pcap, time.Since(t0).Round(time.Millisecond))
	return w, os.WriteFile(stamp, fmt.Appendf(nil, "%s %d %d %d\n", key, w.Conversations, w.Packets, w.Bytes), 0o644)
}

// summarize folds directions: a→b and b→a are one conversation.
func summarize(rows []row) truth {
	type key struct {
		a, b   netip.Addr
		pa, pb uint16
		proto  uint8
	}
	seen := map[key]struct{}{}
	var t truth
	for _, r := range rows {
		k := key{r.src, r.dst, r.srcPort, r.dstPort, r.proto}
		if c := r.src.Compare(r.dst); c > 0 || c == 0 && r.srcPort > r.dstPort {
			k = key{r.dst, r.src, r.dstPort, r.srcPort, r.proto}
		}
		seen[k] = struct{}{}
		t.Packets += r.packets
		t.Bytes += r.bytes
	}
	t.Conversations = len(seen)
	return t
}

func newTool(name, dir, bin, pcap, topo string) (tool, error) {
	out := filepath.Join(dir, "out-"+name)
	switch name {
	case "vpcflow":
		vf := filepath.Join(bin, "vpcflow")
		return tool{name: name,
			run: func(int) (timing, error) {
				if err := os.RemoveAll(out); err != nil {
					return timing{}, err
				}
				return timeCmd(exec.Command(vf, "replay", "--topology", topo, "--pcap", pcap, "--out", out), nil)
			},
			read: func() ([]row, error) { return readVPCFlow(vf, out) },
		}, nil
	case "nfpcapd":
		if err := need("nfpcapd", "nfdump"); err != nil {
			return tool{}, err
		}
		return tool{name: name,
			run: func(int) (timing, error) {
				if err := fresh(out); err != nil {
					return timing{}, err
				}
				return timeCmd(exec.Command("nfpcapd", "-r", pcap, "-w", out), nil)
			},
			read: func() ([]row, error) { return readNfdump(out) },
		}, nil
	case "softflowd":
		if err := need("softflowd", "nfcapd", "nfdump"); err != nil {
			return tool{}, err
		}
		var last [][]byte
		return tool{name: name,
			run: func(int) (timing, error) {
				col, err := listen()
				if err != nil {
					return timing{}, err
				}
				// -c none: with a control socket, softflowd 1.1.0 reading a
				// file polls nothing and may block in accept() on stack
				// garbage. -m 200000: room for every flow (the default
				// 8192 forces early expiry).
				cmd := exec.Command("softflowd", "-a", "-r", pcap, "-n", col.addr, "-v", "10", "-d",
					"-m", "200000", "-p", filepath.Join(dir, "softflowd.pid"), "-c", "none")
				tm, err := timeCmd(cmd, io.Discard)
				last = col.stop()
				return tm, err
			},
			read: func() ([]row, error) {
				if err := fresh(out); err != nil {
					return nil, err
				}
				if err := feedNfcapd(last, out); err != nil {
					return nil, err
				}
				return readNfdump(out)
			},
		}, nil
	}
	return tool{}, fmt.Errorf("unknown tool %q (want vpcflow, nfpcapd or softflowd)", name)
}

func need(cmds ...string) error {
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("%s not found: install the bench peers with scripts/install-tools.sh --bench", c)
		}
	}
	return nil
}

func fresh(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}

// timeCmd runs cmd and returns its wall time, CPU time (user+sys), peak
// RSS and the load average when it started.
func timeCmd(cmd *exec.Cmd, stdout io.Writer) (timing, error) {
	var errb bytes.Buffer
	if stdout == nil {
		stdout = io.Discard
	}
	cmd.Stdout, cmd.Stderr = stdout, &errb
	load := machine.LoadAvg()
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return timing{}, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, errb.String())
	}
	tm := timing{wall: time.Since(t0), load: load}
	tm.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		tm.maxRSS = ru.Maxrss
	}
	return tm, nil
}

// collector receives an IPFIX export on 127.0.0.1 into a socket buffer
// large enough for the whole burst.
type collector struct {
	addr string
	conn *net.UDPConn
	mu   sync.Mutex
	got  [][]byte
	last time.Time
	done chan struct{}
}

func listen() (*collector, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	// SO_RCVBUFFORCE passes net.core.rmem_max when running as root; else
	// fall back to what SO_RCVBUF allows.
	if rc, err := conn.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 256<<20) != nil {
				conn.SetReadBuffer(256 << 20)
			}
		})
	}
	c := &collector{addr: conn.LocalAddr().String(), conn: conn, done: make(chan struct{}), last: time.Now()}
	go func() {
		defer close(c.done)
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			c.mu.Lock()
			c.got = append(c.got, bytes.Clone(buf[:n]))
			c.last = time.Now()
			c.mu.Unlock()
		}
	}()
	return c, nil
}

// stop waits until the socket has been quiet for 300 ms, then returns the
// datagrams received.
func (c *collector) stop() [][]byte {
	for {
		c.mu.Lock()
		quiet := time.Since(c.last)
		c.mu.Unlock()
		if quiet > 300*time.Millisecond {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.conn.Close()
	<-c.done
	return c.got
}

// feedNfcapd sends the datagrams to an nfcapd on 127.0.0.1 at a pace it
// keeps up with, then stops it so that it writes its file.
func feedNfcapd(dgrams [][]byte, dir string) error {
	port, err := freeUDPPort()
	if err != nil {
		return err
	}
	var logb syncBuffer
	cmd := exec.Command("nfcapd", "-w", dir, "-b", "127.0.0.1", "-p", strconv.Itoa(port), "-B", "4194304")
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logb.String(), "Startup") {
		if time.Now().After(deadline) {
			return fmt.Errorf("nfcapd did not start:\n%s", logb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return err
	}
	defer conn.Close()
	for i, d := range dgrams {
		if _, err := conn.Write(d); err != nil {
			return err
		}
		if i%20 == 19 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("nfcapd: %w\n%s", err, logb.String())
	}
	// nfcapd's own summary (flows, packets, sequence errors) for the log;
	// the cross-check compares what nfdump reads back.
	for l := range strings.SplitSeq(logb.String(), "\n") {
		if strings.HasPrefix(l, "Ident:") {
			fmt.Printf("softflowd export (%d datagrams) via nfcapd: %s\n", len(dgrams), strings.TrimSpace(l))
		}
	}
	return nil
}

// syncBuffer is a bytes.Buffer that a child process writes while we read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeUDPPort() (int, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// readNfdump reads every nfcapd file under dir.
func readNfdump(dir string) ([]row, error) {
	cmd := exec.Command("nfdump", "-R", dir, "-N", "-q", "-o", "fmt:%sa,%da,%sp,%dp,%pr,%pkt,%byt")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("nfdump: %w\n%s", err, errb.String())
	}
	var rows []row
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) != 7 {
			continue
		}
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		r, err := parseRow(f)
		if err != nil {
			return nil, fmt.Errorf("nfdump line %q: %w", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// readVPCFlow reads the flow log objects under dir with `vpcflow logs read`.
func readVPCFlow(vf, dir string) ([]row, error) {
	cmd := exec.Command(vf, "logs", "read", "--output", "csv", filepath.Join(dir, "vpcflow-logs"))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("vpcflow logs read: %w\n%s", err, errb.String())
	}
	cr := csv.NewReader(bytes.NewReader(out))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	want := []string{"srcaddr", "dstaddr", "srcport", "dstport", "protocol", "packets", "bytes"}
	for _, w := range want {
		if _, ok := col[w]; !ok {
			return nil, fmt.Errorf("vpcflow logs read: no %s column in %v", w, head)
		}
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		if rec[col["srcaddr"]] == "" { // NODATA / SKIPDATA
			continue
		}
		f := make([]string, len(want))
		for i, w := range want {
			f[i] = rec[col[w]]
		}
		r, err := parseRow(f)
		if err != nil {
			return nil, fmt.Errorf("vpcflow record %v: %w", rec, err)
		}
		rows = append(rows, r)
	}
}

// parseRow parses src, dst, sport, dport, proto, packets, bytes.
func parseRow(f []string) (row, error) {
	var r row
	var err error
	if r.src, err = netip.ParseAddr(f[0]); err != nil {
		return r, err
	}
	if r.dst, err = netip.ParseAddr(f[1]); err != nil {
		return r, err
	}
	ints := make([]int64, 5)
	for i := range ints {
		if ints[i], err = strconv.ParseInt(f[2+i], 10, 64); err != nil {
			return r, err
		}
	}
	r.srcPort, r.dstPort, r.proto, r.packets, r.bytes = uint16(ints[0]), uint16(ints[1]), uint8(ints[2]), ints[3], ints[4]
	return r, nil
}

func medianD(ts []timing, f func(timing) time.Duration) time.Duration {
	var v []time.Duration
	for _, t := range ts {
		v = append(v, f(t))
	}
	slices.Sort(v)
	return v[len(v)/2]
}
