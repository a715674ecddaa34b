package traffic

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// loadYAML compiles an inline scenario against testdata/small-vpc.yaml.
func loadYAML(t *testing.T, body string) *Scenario {
	t.Helper()
	sc, _, err := Load([]byte("topology: small-vpc.yaml\nstart: 2026-11-20T00:00:00Z\nseed: 3\n"+body), "testdata/inline.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// flagName renders raw TCP flags compactly for sequence comparisons.
func flagName(f uint8) string {
	var parts []string
	for _, x := range []struct {
		bit  uint8
		name string
	}{{FlagSYN, "S"}, {FlagFIN, "F"}, {FlagRST, "R"}, {FlagPSH, "P"}, {FlagACK, "A"}} {
		if f&x.bit != 0 {
			parts = append(parts, x.name)
		}
	}
	return strings.Join(parts, "")
}

// byConversation groups packets by the client's address and port (ICMP:
// by client address; pings of one conversation are one second apart).
func byConversation(ps []Packet, client func(p Packet) (string, bool)) map[string][]Packet {
	out := map[string][]Packet{}
	for _, p := range ps {
		if k, ok := client(p); ok {
			out[k] = append(out[k], p)
		}
	}
	return out
}

// TestConversationShapes: TCP conversations do the handshake, carry data
// (PSH) both ways and close with FIN/FIN/ACK (or RST when asked); UDP is a
// request and its response; ICMP is echo requests (type 8) each answered
// by a reply (type 0), one second apart.
func TestConversationShapes(t *testing.T) {
	sc := loadYAML(t, `duration: 2m
workloads:
  - {name: fin, protocol: tcp, clients: [web-1], servers: [app-1], port: 5000, rate: 1/m, requests: 2, request: 3000, response: 5000}
  - {name: rst, protocol: tcp, clients: [web-1], servers: [app-1], port: 5001, rate: 1/m, requests: 1, close: rst}
  - {name: udp, protocol: udp, clients: [web-1], servers: [app-1], port: 53, rate: 1/m, request: 40, response: 200}
  - {name: icmp, protocol: icmp, clients: [web-1], servers: [app-1], rate: 1/m, requests: 3}
`)
	r := newRecorder(true, nil)
	st := run(t, sc, r)
	web, app := "10.0.1.10", "10.0.2.20"
	key := func(port uint16) func(p Packet) (string, bool) {
		return func(p Packet) (string, bool) {
			switch {
			case p.Protocol == ProtoTCP && p.DstPort == port && p.Src.String() == web:
				return fmt.Sprint(p.SrcPort), true
			case p.Protocol == ProtoTCP && p.SrcPort == port && p.Dst.String() == web:
				return fmt.Sprint(p.DstPort), true
			}
			return "", false
		}
	}
	seq := func(ps []Packet) string {
		var s []string
		for _, p := range ps {
			dir := ">"
			if p.Src.String() == app {
				dir = "<"
			}
			s = append(s, dir+flagName(p.TCPFlags))
		}
		return strings.Join(s, " ")
	}
	fin := byConversation(r.packets, key(5000))
	if len(fin) == 0 {
		t.Fatal("no fin conversations")
	}
	for port, ps := range fin {
		// A 3000-byte request is one train of 3 segments (2 full of 1448
		// bytes, then 104 bytes), a 5000-byte response one train of 4 (3
		// full, 1 partial) acknowledged by 2 delayed ACKs. The handshake's
		// last ACK leaves at the instant of the first request, in its
		// train (4 packets).
		want := ">S <SA >PA <PA >A >PA <PA >A >FA <FA >A"
		if got := seq(ps); got != want {
			t.Errorf("fin conversation %s:\n got %s\nwant %s", port, got, want)
		}
		var up, down, requests int
		for _, p := range ps {
			if p.TCPFlags&FlagPSH == 0 {
				continue
			}
			hdr := 20 + tcpHdr
			if p.Src.String() == web {
				requests++
				n, bytes := 3, 2*int64(hdr+1448)+int64(hdr+104)
				if requests == 1 {
					n, bytes = 4, bytes+int64(hdr) // with the handshake's ACK
				}
				if p.Count != n || p.Size != hdr+mss || p.Bytes != bytes {
					t.Errorf("fin conversation %s: request %d: train of %d packets of %d bytes, %d bytes in all; want %d of %d, %d", port, requests, p.Count, p.Size, p.Bytes, n, hdr+mss, bytes)
				}
				up += int(p.TotalBytes()) - p.Packets()*hdr
			} else {
				down += int(p.TotalBytes()) - p.Packets()*hdr
			}
		}
		if up != 2*3000 || down != 2*5000 {
			t.Errorf("fin conversation %s: payload %d up, %d down; want 6000 and 10000", port, up, down)
		}
	}
	for port, ps := range byConversation(r.packets, key(5001)) {
		if got := seq(ps); !strings.HasPrefix(got, ">S <SA >PA ") || !strings.HasSuffix(got, " >RA") || strings.Contains(got, "F") {
			t.Errorf("rst conversation %s: %s", port, got)
		}
	}
	var udpReq, udpResp int
	for _, p := range r.packets {
		if p.Protocol != ProtoUDP {
			continue
		}
		switch {
		case p.Src.String() == web && p.DstPort == 53 && p.Size == 20+8+40:
			udpReq++
		case p.Src.String() == app && p.SrcPort == 53 && p.Size == 20+8+200:
			udpResp++
		default:
			t.Errorf("unexpected UDP packet %+v", p)
		}
	}
	var echo []string
	for _, p := range r.packets {
		if p.Protocol == ProtoICMP {
			if p.SrcPort != 0 || p.DstPort != 0 {
				t.Errorf("ICMP with ports %+v", p)
			}
			echo = append(echo, fmt.Sprint(p.ICMPType))
		}
	}
	if udpReq == 0 || udpReq != udpResp {
		t.Errorf("UDP: %d requests, %d responses", udpReq, udpResp)
	}
	if got := strings.Join(echo, " "); len(echo) == 0 || strings.Repeat("8 0 ", len(echo)/2) != got+" " {
		t.Errorf("ICMP types: %s", got)
	}
	if len(echo)%6 != 0 {
		t.Errorf("%d ICMP packets: want 3 echo pairs per conversation", len(echo))
	}
	if st.Dropped != 0 || st.Conversations != int64(len(fin)+len(byConversation(r.packets, key(5001)))+udpReq+len(echo)/6) {
		t.Errorf("stats %+v", st)
	}
}

// TestDiurnalShape: a workload's rate follows its daily shape, peaking at
// the peak hour and falling to the trough fraction twelve hours later.
func TestDiurnalShape(t *testing.T) {
	d := Diurnal{Peak: 14 * time.Hour, Trough: 0.2, On: true}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{{14 * time.Hour, 1}, {2 * time.Hour, 0.2}, {8 * time.Hour, 0.6}, {20 * time.Hour, 0.6}} {
		if got := d.Factor(day.Add(tc.at)); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Factor at %s = %v, want %v", tc.at, got, tc.want)
		}
	}
	if (Diurnal{}).Factor(day) != 1 {
		t.Error("the zero Diurnal is not flat")
	}
	sc := loadYAML(t, `duration: 24h
workloads:
  - {name: u, protocol: udp, clients: [web-1], servers: [app-1], port: 53, rate: 0.5/s, diurnal: {peak: "14:00", trough: 0.2}}
`)
	r := newRecorder(true, nil)
	run(t, sc, r)
	var perHour [24]float64
	for _, p := range r.packets {
		if p.DstPort == 53 {
			perHour[p.Time.Hour()]++
		}
	}
	// Expected conversations per hour: 1800 × the mean factor of that hour.
	for h, n := range perHour {
		mid := d.Factor(day.Add(time.Duration(h)*time.Hour + 30*time.Minute))
		want := 1800 * mid
		if math.Abs(n-want) > 5*math.Sqrt(want)+0.02*want {
			t.Errorf("hour %02d: %v requests, want about %.0f", h, n, want)
		}
	}
	if perHour[14] < 3.5*perHour[2] {
		t.Errorf("peak hour %v requests, trough hour %v: the shape is too flat", perHour[14], perHour[2])
	}
}

// TestDistributions: the size and count distributions parse as documented,
// reject bad input, and sample with the documented mean.
func TestDistributions(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mean float64
	}{
		{"1200", 1200}, {"1.5KB", 1500}, {"2KiB", 2048}, {"fixed(64)", 64},
		{"uniform(100, 300)", 200}, {"exp(500)", 500}, {"lognormal(900, 0.6)", 900 * math.Exp(0.18)},
	} {
		d, err := ParseDist(tc.in)
		if err != nil {
			t.Errorf("ParseDist(%q): %v", tc.in, err)
			continue
		}
		if math.Abs(d.Mean()-tc.mean) > 1e-9*tc.mean {
			t.Errorf("%q: Mean %v, want %v", tc.in, d.Mean(), tc.mean)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		var sum float64
		const n = 200000
		for range n {
			v := d.Sample(rng)
			if v < 0 {
				t.Fatalf("%q sampled %v", tc.in, v)
			}
			sum += v
		}
		if got := sum / n; math.Abs(got-tc.mean) > 0.02*tc.mean {
			t.Errorf("%q: sample mean %.1f, want %.1f", tc.in, got, tc.mean)
		}
	}
	for _, bad := range []string{"", "abc", "uniform(3)", "uniform(5, 1)", "normal(1, 2)", "exp(-1)", "lognormal(1, x)", "fixed(1"} {
		if _, err := ParseDist(bad); err == nil {
			t.Errorf("ParseDist(%q) accepted", bad)
		}
	}
	for in, want := range map[string]Rate{"3/s": 3, "120/m": 2, "7200/h": 2, "86400/d": 1, "0.5": 0.5, "2K/s": 2000} {
		if got, err := ParseRate(in); err != nil || math.Abs(float64(got-want)) > 1e-9 {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"fast", "3/w", "-1/s", "/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

// TestRealtimePacing: with Realtime the engine waits so that simulated time
// advances Speed times faster than the (injected) wall clock; without it,
// it never waits. The packets are the same either way.
func TestRealtimePacing(t *testing.T) {
	sc := loadSmall(t)
	sc.Duration = 10 * time.Minute
	wall := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	start := wall
	var sleeps int
	opts := Options{
		Realtime: true, Speed: 60,
		Now: func() time.Time { return wall },
		Sleep: func(_ context.Context, d time.Duration) error {
			sleeps++
			wall = wall.Add(d)
			return nil
		},
	}
	paced := newRecorder(true, nil)
	var lastSim time.Time
	var lag time.Duration
	opts.Progress = func(now time.Time, _ *Stats) {
		// Each progress call comes after the wait for its event: the wall
		// clock has advanced (simulated elapsed)/Speed, never less.
		want := time.Duration(float64(now.Sub(sc.Start)) / 60)
		if d := wall.Sub(start); d < want-time.Second && now.Before(sc.End()) {
			lag = max(lag, want-d)
		}
		lastSim = now
	}
	e := NewEngine(sc, paced, opts)
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if lag > 0 {
		t.Errorf("the wall clock lagged the simulated clock by %s", lag)
	}
	last := paced.packets[len(paced.packets)-1].Time
	want := time.Duration(float64(last.Sub(sc.Start)) / 60)
	if got := wall.Sub(start); got != want || sleeps == 0 {
		t.Errorf("waited %s in %d sleeps, want %s (last packet %s after the start, speed 60)", got, sleeps, want, last.Sub(sc.Start))
	}
	if !lastSim.Equal(sc.End()) {
		t.Errorf("last progress at %s, want the scenario end %s", lastSim, sc.End())
	}
	fast := newRecorder(true, nil)
	e = NewEngine(sc, fast, Options{Sleep: func(context.Context, time.Duration) error {
		t.Fatal("slept without Realtime")
		return nil
	}})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if string(paced.h.Sum(nil)) != string(fast.h.Sum(nil)) {
		t.Error("realtime pacing changed the packets")
	}
	// Cancelling the context stops a realtime run.
	ctx, cancel := context.WithCancel(context.Background())
	opts.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	opts.Progress = nil
	e = NewEngine(sc, newRecorder(false, nil), opts)
	if err := e.Run(ctx); err == nil {
		t.Error("cancelled realtime run returned nil")
	}
}
