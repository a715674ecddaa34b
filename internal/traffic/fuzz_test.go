package traffic

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"

	"vpcflow/internal/vpc"
)

// FuzzCompile decodes arbitrary YAML as a scenario and compiles it against
// the small test topology (the topology: key is not followed, so no input
// reads files). It checks that
//   - a rejected scenario is an ErrInvalid whose positions lie inside the
//     input;
//   - a compiled scenario can run: every workload has clients and servers
//     to pick from, picked addresses lie in their CIDRs, port ranges are
//     ordered, and rates and sizes are finite and not negative.
func FuzzCompile(f *testing.F) {
	for _, name := range []string{"testdata/small-scenario.yaml", "../demo/scenario.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("start: 2026-11-20T00:00:00Z\nduration: 1h\ninternet: {cidrs: [\"2001:db8:ab00::/44\", 0.0.0.0/0]}\nworkloads:\n  - {name: a, protocol: udp, clients: [internet], servers: [web-1], port: 1-2, rate: 1/s}\n"))
	f.Add([]byte("start: 2026-11-20T00:00:00Z\nduration: 1h\nworkloadz: []\n"))
	f.Add([]byte("start: 2026-11-20T00:00:00Z\nduration: 1h\nworkloads:\n  - {name: a, protocol: tcp, clients: [\"2001:db8:ab00::/44\", \"2001:db8::/127\"], servers: [web-1], port: 443, rate: 1/s}\n"))
	topo, err := vpc.LoadFile("testdata/small-vpc.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := compileDoc(data, topo)
		if err != nil {
			checkScenarioError(t, data, err)
			return
		}
		r := rand.New(rand.NewPCG(1, 2))
		for _, w := range sc.Workloads {
			for _, e := range []*Endpoints{w.Clients, w.Servers} {
				if e == nil || len(e.fixed)+len(e.ranges) == 0 {
					t.Fatalf("workload %q has no endpoints to pick from", w.Name)
				}
				for range 4 {
					a := e.pick(r)
					if !inEndpoints(e, a) {
						t.Fatalf("workload %q picked %s outside %s", w.Name, a, e)
					}
				}
			}
			for _, p := range w.Ports {
				if p.From > p.To {
					t.Fatalf("workload %q: port range %v", w.Name, p)
				}
			}
			for _, v := range []float64{float64(w.Rate), w.Bytes, w.Request.Mean(), w.Response.Mean(), w.Requests.Mean()} {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Fatalf("workload %q: value %v", w.Name, v)
				}
			}
		}
	})
}

func compileDoc(data []byte, topo *vpc.Topology) (*Scenario, error) {
	doc, err := DecodeDocument(data, "fuzz.yaml")
	if err != nil {
		return nil, err
	}
	return Compile(doc, topo, data, "fuzz.yaml")
}

func checkScenarioError(t *testing.T, data []byte, err error) {
	t.Helper()
	var es Errors
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("error %v (%T) is not ErrInvalid", err, err)
	}
	// YAML breaks lines at \n, \r\n and a lone \r.
	lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
	for _, e := range es {
		if e.File != "fuzz.yaml" || e.Line < 0 || e.Line > lines || (e.Line > 0) != (e.Column > 0) {
			t.Fatalf("error %q: position %d:%d outside a %d-line input", e, e.Line, e.Column, lines)
		}
	}
}

func inEndpoints(e *Endpoints, a netip.Addr) bool {
	for _, f := range e.fixed {
		if f == a {
			return true
		}
	}
	for _, p := range e.ranges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// FuzzParseDist checks distributions and rates as scenarios spell them:
// no input panics, and an accepted one has a finite mean and draws finite,
// non-negative samples.
func FuzzParseDist(f *testing.F) {
	for _, s := range []string{"800", "1.5KiB", "uniform(1, 4)", "exp(1e3)", "lognormal(20000, 1)", "fixed(2MB)", "uniform(4, 1)", "lognormal(1, -1)", "1e308G", "1e300", "lognormal(1e300, 30)", "lognormal(0, 100)", "3/s", "120/min", "nope"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseDist(s); err == nil {
			r := rand.New(rand.NewPCG(3, 4))
			if m := d.Mean(); math.IsNaN(m) || math.IsInf(m, 0) || m < 0 {
				t.Fatalf("%q: mean %v", s, m)
			}
			for range 16 {
				if v := d.Sample(r); math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Fatalf("%q: sample %v", s, v)
				}
			}
		}
		if rate, err := ParseRate(s); err == nil && (math.IsNaN(float64(rate)) || math.IsInf(float64(rate), 0) || rate < 0) {
			t.Fatalf("%q: rate %v", s, rate)
		}
	})
}
