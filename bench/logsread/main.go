// Command logsread compares `vpcflow logs read --output csv` with DuckDB's
// read_csv on the same gzip default-format flow log, at the same thread
// count. It generates the file once (deterministic), builds both binaries,
// runs each reader -runs times (interleaved), and prints every time, the
// medians and their ratio.
//
//	go run ./bench/logsread                       # 10M lines, 3 runs, 2 threads
//	go run ./bench/logsread -lines 300 -gen-only -file internal/flow/testdata/sample.log.gz
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"vpcflow/bench/internal/machine"
)

func main() {
	lines := flag.Int("lines", 10_000_000, "records to generate")
	file := flag.String("file", filepath.Join(os.TempDir(), "vpcflow-bench", "flows-10M.log.gz"), "gzip flow log to read (generated if missing)")
	seed := flag.Uint64("seed", 1, "generator seed")
	genOnly := flag.Bool("gen-only", false, "only (re)generate the file")
	runs := flag.Int("runs", 3, "runs of each reader")
	threads := flag.Int("threads", 2, "GOMAXPROCS for vpcflow and DuckDB threads")
	flag.Parse()
	if err := run(*file, *lines, *seed, *genOnly, *runs, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "logsread:", err)
		os.Exit(1)
	}
}

func run(file string, lines int, seed uint64, genOnly bool, runs, threads int) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(file); genOnly || err != nil {
		t := time.Now()
		if err := generate(file, lines, seed); err != nil {
			return err
		}
		st, _ := os.Stat(file)
		fmt.Printf("generated %s: %d records, %d bytes gzip, in %v\n", file, lines, st.Size(), time.Since(t).Round(time.Millisecond))
		if genOnly {
			return nil
		}
	}
	bin, err := os.MkdirTemp("", "logsread-bin")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	vpcflow := filepath.Join(bin, "vpcflow")
	duck := filepath.Join(bin, "duckdbread")
	for _, b := range [][2]string{{vpcflow, "./cmd/vpcflow"}, {duck, "./bench/logsread/duckdbread"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b[1], err)
		}
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	ours := exec.Command(vpcflow, "logs", "read", "--output", "csv", file)
	ours.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(threads))
	theirs := exec.Command(duck, "-threads", strconv.Itoa(threads), file)
	fmt.Printf("machine: %d CPUs; threads: %d\n", machine.NumCPU(), threads)
	fmt.Printf("vpcflow: GOMAXPROCS=%d %s > /dev/null\n", threads, strings.Join(ours.Args, " "))
	fmt.Printf("duckdb:  %s  (COPY (SELECT * FROM read_csv(...)) TO '/dev/null' (FORMAT csv))\n", strings.Join(theirs.Args, " "))
	var tv, td, cv, cd []time.Duration
	for i := range runs {
		d, cpu, _, err := timeCmd(ours, devnull)
		if err != nil {
			return fmt.Errorf("vpcflow: %w", err)
		}
		tv, cv = append(tv, d), append(cv, cpu)
		d2, cpu2, out, err := timeCmd(theirs, nil)
		if err != nil {
			return fmt.Errorf("duckdb: %w", err)
		}
		td, cd = append(td, d2), append(cd, cpu2)
		fmt.Printf("run %d: vpcflow %v wall %v cpu, duckdb %v wall %v cpu (%s rows); load %s\n", i+1,
			d.Round(time.Millisecond), cpu.Round(time.Millisecond), d2.Round(time.Millisecond), cpu2.Round(time.Millisecond),
			strings.TrimSpace(out), machine.LoadAvg())
	}
	mv, md := median(tv), median(td)
	fmt.Printf("median wall: vpcflow %v (%.0f ns/line), duckdb %v (%.0f ns/line); duckdb/vpcflow = %.2fx\n",
		mv.Round(time.Millisecond), float64(mv.Nanoseconds())/float64(lines),
		md.Round(time.Millisecond), float64(md.Nanoseconds())/float64(lines), float64(md)/float64(mv))
	mcv, mcd := median(cv), median(cd)
	fmt.Printf("median cpu (user+sys): vpcflow %v, duckdb %v; duckdb/vpcflow = %.2fx\n",
		mcv.Round(time.Millisecond), mcd.Round(time.Millisecond), float64(mcd)/float64(mcv))
	return nil
}

// timeCmd runs a copy of c and returns its wall time, its CPU time
// (user+sys) and its standard output (unless stdout is given).
func timeCmd(c *exec.Cmd, stdout *os.File) (time.Duration, time.Duration, string, error) {
	cmd := exec.Command(c.Path, c.Args[1:]...)
	cmd.Env = c.Env
	var out strings.Builder
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = &out
	}
	cmd.Stderr = os.Stderr
	t := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, "", err
	}
	wall := time.Since(t)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return wall, cpu, out.String(), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
