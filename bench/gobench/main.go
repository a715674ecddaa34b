// Command gobench runs Go benchmarks the way BENCHMARKS.md reports them on
// a shared, noisy machine: every benchmark in its own process, one at a
// time, -count rounds interleaved across the selected benchmarks, and for
// each run the wall ns/op, the CPU time per op (user+sys of the process,
// GC workers included) and the load average. It prints the medians.
//
// CPU per op is (cpu(N ops) - cpu(1 op)) / (N-1): a 1-op run of the same
// benchmark in the same round measures the setup (topology building, data
// generation) so that it does not count against the ops.
//
//	go run ./bench/gobench -pkg ./internal/flow -bench 'DecodeDefault|Encode' -benchtime 5000000x
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"vpcflow/bench/internal/machine"
)

func main() {
	pkg := flag.String("pkg", "", "package to benchmark (./internal/...)")
	bench := flag.String("bench", ".", "benchmark regexp (as go test -bench)")
	benchtime := flag.String("benchtime", "1000000x", "ops per run; must be a count (Nx)")
	count := flag.Int("count", 5, "rounds")
	cpu := flag.Int("cpu", 1, "GOMAXPROCS for the benchmark")
	flag.Parse()
	if *pkg == "" || !strings.HasSuffix(*benchtime, "x") {
		fmt.Fprintln(os.Stderr, "usage: gobench -pkg PKG [-bench RE] [-benchtime Nx] [-count 5] [-cpu 1]")
		os.Exit(2)
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(*benchtime, "x"), 10, 64)
	if err != nil || n < 2 {
		fmt.Fprintln(os.Stderr, "gobench: -benchtime must be Nx with N >= 2")
		os.Exit(2)
	}
	if err := run(*pkg, *bench, n, *count, *cpu); err != nil {
		fmt.Fprintln(os.Stderr, "gobench:", err)
		os.Exit(1)
	}
}

// result is one benchmark run.
type result struct {
	wallNs  float64            // ns/op as the benchmark reports it
	cpu     time.Duration      // user+sys of the whole process
	metrics map[string]float64 // every "value unit" pair of the line
	load    string
}

func run(pkg, re string, n int64, count, cpu int) error {
	dir, err := os.MkdirTemp("", "gobench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "pkg.test")
	build := exec.Command("go", "test", "-c", "-o", bin, pkg)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go test -c %s: %w", pkg, err)
	}
	// Discover the full names (sub-benchmarks included) with one op each.
	first, _, err := runBench(bin, dir, re, 1, cpu)
	if err != nil {
		return err
	}
	var names []string
	for name := range first {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return fmt.Errorf("no benchmark matches %q in %s", re, pkg)
	}
	fmt.Printf("package %s, GOMAXPROCS=%d, %d ops per run, %d rounds, %d CPUs, %s\n", pkg, cpu, n, count, machine.NumCPU(), machine.CPUModel())
	runs := map[string][]result{}
	setup := map[string][]time.Duration{}
	for round := range count {
		for _, name := range names {
			exact := exactRegexp(name, cpu)
			one, cpu1, err := runBench(bin, dir, exact, 1, cpu)
			if err != nil {
				return err
			}
			if _, ok := one[name]; !ok {
				return fmt.Errorf("%s: not found by %q", name, exact)
			}
			load := machine.LoadAvg()
			got, cpuN, err := runBench(bin, dir, exact, n, cpu)
			if err != nil {
				return err
			}
			r, ok := got[name]
			if !ok {
				return fmt.Errorf("%s: no result", name)
			}
			r.cpu, r.load = cpuN, load
			runs[name] = append(runs[name], r)
			setup[name] = append(setup[name], cpu1)
			fmt.Printf("round %d %-60s %12.1f ns/op %12.1f cpu-ns/op  load %s\n", round+1, name, r.wallNs,
				float64(cpuN-cpu1)/float64(n-1), load)
		}
	}
	fmt.Printf("\nmedians (cpu ns/op = (cpu of N ops - cpu of 1 op) / (N-1), per round):\n")
	fmt.Printf("| benchmark | wall ns/op | CPU ns/op | B/op | allocs/op | other | load |\n|---|---|---|---|---|---|---|\n")
	for _, name := range names {
		rs := runs[name]
		var wall, cpuPer []float64
		var loads []string
		other := map[string][]float64{}
		for i, r := range rs {
			wall = append(wall, r.wallNs)
			cpuPer = append(cpuPer, float64(r.cpu-setup[name][i])/float64(n-1))
			loads = append(loads, r.load)
			for unit, v := range r.metrics {
				other[unit] = append(other[unit], v)
			}
		}
		var extra []string
		var units []string
		for u := range other {
			if u != "ns/op" && u != "B/op" && u != "allocs/op" {
				units = append(units, u)
			}
		}
		slices.Sort(units)
		for _, u := range units {
			extra = append(extra, fmt.Sprintf("%s %s", fmtNum(median(other[u])), u))
		}
		slices.Sort(loads)
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s–%s |\n", name, fmtNum(median(wall)), fmtNum(median(cpuPer)),
			fmtNum(median(other["B/op"])), fmtNum(median(other["allocs/op"])), strings.Join(extra, ", "),
			loads[0], loads[len(loads)-1])
	}
	return nil
}

// runBench runs the test binary once and returns the parsed benchmark
// lines by name and the process's CPU time.
func runBench(bin, dir, re string, n int64, cpu int) (map[string]result, time.Duration, error) {
	cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", re, "-test.benchtime", fmt.Sprintf("%dx", n),
		"-test.count", "1", "-test.cpu", strconv.Itoa(cpu), "-test.benchmem", "-test.timeout", "60m")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		os.Stderr.Write(out.Bytes())
		return nil, 0, fmt.Errorf("%s -test.bench %s: %w", filepath.Base(bin), re, err)
	}
	cpuT := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	res := map[string]result{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		r := result{metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			r.metrics[f[i+1]] = v
		}
		r.wallNs = r.metrics["ns/op"]
		res[f[0]] = r
	}
	return res, cpuT, sc.Err()
}

// exactRegexp selects exactly one benchmark by its printed name; with
// GOMAXPROCS > 1 the name carries a "-N" suffix that -test.bench does not.
func exactRegexp(name string, cpu int) string {
	if cpu > 1 {
		name = strings.TrimSuffix(name, "-"+strconv.Itoa(cpu))
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + " M"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
}
