package traffic

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// recorder is a fake network that delivers every packet except those the
// drop function rejects, and hashes the packet stream.
type recorder struct {
	h       hash.Hash
	drop    func(p Packet) bool
	packets []Packet
	keep    bool
}

func newRecorder(keep bool, drop func(Packet) bool) *recorder {
	return &recorder{h: sha256.New(), drop: drop, keep: keep}
}

func (r *recorder) Send(p Packet) (Delivery, error) {
	fmt.Fprintf(r.h, "%d %s %s %d %d %d %d %d %d %d\n", p.Time.UnixNano(), p.Src, p.Dst, p.Protocol, p.SrcPort, p.DstPort, p.ICMPType, p.Size, p.TCPFlags, p.Count)
	if r.keep {
		r.packets = append(r.packets, p)
	}
	if r.drop != nil && r.drop(p) {
		return Delivery{}, nil
	}
	return Delivery{Delivered: true, Seen: AddressingOf(&p)}, nil
}

func loadSmall(t *testing.T) *Scenario {
	t.Helper()
	sc, _, err := LoadFile("testdata/small-scenario.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func run(t *testing.T, sc *Scenario, net Network) *Stats {
	t.Helper()
	e := NewEngine(sc, net, Options{})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e.Stats()
}

func TestDeterministic(t *testing.T) {
	a, b := newRecorder(false, nil), newRecorder(false, nil)
	sa := run(t, loadSmall(t), a)
	run(t, loadSmall(t), b)
	if string(a.h.Sum(nil)) != string(b.h.Sum(nil)) {
		t.Fatal("same seed gave different packet streams")
	}
	sc := loadSmall(t)
	sc.Seed++
	c := newRecorder(false, nil)
	run(t, sc, c)
	if string(a.h.Sum(nil)) == string(c.h.Sum(nil)) {
		t.Fatal("different seeds gave the same packet stream")
	}
	if sa.Conversations == 0 || sa.Packets == 0 || sa.Dropped != 0 {
		t.Fatalf("stats %+v", sa)
	}
}

func TestTimeOrdered(t *testing.T) {
	r := newRecorder(true, nil)
	sc := loadSmall(t)
	run(t, sc, r)
	for i := 1; i < len(r.packets); i++ {
		if r.packets[i].Time.Before(r.packets[i-1].Time) {
			t.Fatalf("packet %d at %s before packet %d at %s", i, r.packets[i].Time, i-1, r.packets[i-1].Time)
		}
	}
	last := r.packets[len(r.packets)-1].Time
	if !last.Before(sc.End()) || r.packets[0].Time.Before(sc.Start) {
		t.Fatalf("packets outside [%s, %s): %s..%s", sc.Start, sc.End(), r.packets[0].Time, last)
	}
}

// TestReactsToDrops: when the network drops the server's SYN-ACKs (a NACL
// that blocks the return ephemeral ports), clients retransmit their SYN
// twice and never send data.
func TestReactsToDrops(t *testing.T) {
	r := newRecorder(true, func(p Packet) bool {
		return p.Protocol == ProtoTCP && p.SrcPort == 443 && p.TCPFlags == FlagSYN|FlagACK
	})
	sc := loadSmall(t)
	st := run(t, sc, r)
	syn, data := map[string]int{}, 0
	for _, p := range r.packets {
		if p.Protocol != ProtoTCP || p.Src.String() == "198.51.100.23" || p.Dst.String() == "198.51.100.23" {
			continue
		}
		switch {
		case p.DstPort == 443 && p.TCPFlags == FlagSYN:
			k := fmt.Sprint(p.Src, p.SrcPort)
			if _, seen := syn[k]; seen || p.Time.Before(sc.End().Add(-5*time.Second)) {
				syn[k]++
			}
		case (p.DstPort == 443 || p.SrcPort == 443) && p.TCPFlags&FlagPSH != 0:
			data++
		}
	}
	if data != 0 {
		t.Errorf("%d data segments on port 443 although no handshake completed", data)
	}
	for port, n := range syn {
		if n%synTries != 0 {
			t.Errorf("client %s sent %d SYNs, want a multiple of %d", port, n, synTries)
		}
	}
	if st.Dropped == 0 {
		t.Error("no drops counted")
	}
}

func TestPortScanWalksPorts(t *testing.T) {
	r := newRecorder(true, nil)
	sc := loadSmall(t)
	run(t, sc, r)
	ports := map[uint16]bool{}
	open := 0
	for _, p := range r.packets {
		if p.Src.String() == "198.51.100.23" && p.TCPFlags == FlagSYN {
			ports[p.DstPort] = true
		}
		if p.Dst.String() == "198.51.100.23" && p.TCPFlags == FlagSYN|FlagACK {
			open++
		}
	}
	// 50/s for 2 minutes is about 6000 probes: several sweeps of 1-1024.
	if len(ports) != 1024 {
		t.Errorf("scan touched %d distinct ports, want 1024", len(ports))
	}
	if open == 0 {
		t.Error("open port 443 never answered SYN-ACK")
	}
}

func TestExfiltrationVolume(t *testing.T) {
	r := newRecorder(true, nil)
	sc := loadSmall(t)
	run(t, sc, r)
	var up int64
	for _, p := range r.packets {
		if p.Dst.String() == "203.0.113.50" {
			up += int64(p.Packets()) * int64(p.Size)
		}
	}
	if up < 500e6 || up > 560e6 {
		t.Errorf("exfiltration sent %d bytes, want about 500 MB plus headers", up)
	}
}

func TestLoadErrorsHavePositions(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown key", "start: 2026-11-20T00:00:00Z\nduration: 1h\nseed: 1\nworkloadz: []\n", "x.yaml:4:1: unknown field \"workloadz\""},
		{"bad rate", "topology: small-vpc.yaml\nstart: 2026-11-20T00:00:00Z\nduration: 1h\nworkloads:\n  - name: a\n    protocol: tcp\n    clients: [internet]\n    servers: [web-1]\n    port: 443\n    rate: fast\n", "10:11: invalid rate \"fast\""},
		{"unknown endpoint", "topology: small-vpc.yaml\nstart: 2026-11-20T00:00:00Z\nduration: 1h\nworkloads:\n  - name: a\n    protocol: tcp\n    clients: [internet]\n    servers: [nope]\n    port: 443\n    rate: 1/s\n", "8:15: unknown endpoint \"nope\""},
		{"unknown pattern", "topology: small-vpc.yaml\nstart: 2026-11-20T00:00:00Z\nduration: 1h\nincidents:\n  - pattern: ddos\n    from: [internet]\n    targets: [web-1]\n    start: 1m\n    duration: 1m\n", "5:14: unknown pattern \"ddos\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "testdata/x.yaml"
			if !strings.HasPrefix(tc.want, "x.yaml") {
				tc.want = name + ":" + tc.want
			} else {
				tc.want = "testdata/" + tc.want
			}
			_, _, err := Load([]byte(tc.yaml), name, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) && !strings.Contains(err.Error(), "topology") {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

// TestConversationPoolChangesNothing: conversations that start in the
// memory of finished ones send exactly what fresh ones send, drops and
// retries included.
func TestConversationPoolChangesNothing(t *testing.T) {
	drop := func(p Packet) bool { return p.Time.UnixNano()%7 == 0 } // some of every kind
	stream := func(off bool) (string, *Engine) {
		r := newRecorder(false, drop)
		e := NewEngine(loadSmall(t), r, Options{})
		e.pool.off = off
		if err := e.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return string(r.h.Sum(nil)), e
	}
	pooled, e := stream(false)
	fresh, _ := stream(true)
	if pooled != fresh {
		t.Error("pooled conversations changed the packet stream")
	}
	if len(e.pool.tcps) == 0 || len(e.pool.udps) == 0 {
		t.Errorf("pool holds %d TCP and %d UDP conversations after the run: it was not used", len(e.pool.tcps), len(e.pool.udps))
	}
}

// TestEventQueueOrder: the queue pops what a plain scan for the least
// (at, seq) pops, under random pushes (many ties) and pops.
func TestEventQueueOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var q eventQueue
	var ref []event
	var seq uint64
	now := int64(0)
	for i := range 20_000 {
		if len(ref) == 0 || rng.IntN(3) > 0 {
			seq++
			ev := event{at: now + rng.Int64N(50), seq: seq}
			q.push(ev)
			ref = append(ref, ev)
			continue
		}
		m := 0
		for j := range ref {
			if less(&ref[j], &ref[m]) {
				m = j
			}
		}
		want := ref[m]
		ref = slices.Delete(ref, m, m+1)
		got := q.pop()
		if got.at != want.at || got.seq != want.seq {
			t.Fatalf("op %d: popped (%d, %d), want (%d, %d)", i, got.at, got.seq, want.at, want.seq)
		}
		now = got.at
	}
	if q.Len() != len(ref) {
		t.Fatalf("queue holds %d events, want %d", q.Len(), len(ref))
	}
}
