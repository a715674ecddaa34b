// Command analysis compares the Contributor Insights top-N engine
// (internal/topn) with DuckDB (internal/athena) on the same questions over
// the same data, in one run:
//
//   - the Logs Insights benchmark question as a rule:
//     filter action="REJECT" | stats count(*) by srcAddr | sort | limit 10
//   - spec §9.3 "Highest number of HTTPS requests" (packets to 443 by dstaddr)
//   - spec §9.3 "Rejected TCP connections" (by interface-id and srcaddr)
//
// It writes N default-format records as gzip text objects in the S3 layout
// (header line first), then times topn over those objects and DuckDB over
// the vpc_flow_logs view and over a bare read_csv of the same files, keeps
// the best of -runs, and checks that the answers agree. Without cgo only
// topn runs.
//
//	go run ./bench/analysis -n 10000000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"

	"vpcflow/bench/internal/duck"
	"vpcflow/internal/topn"
)

// Question is one benchmarked question: a rule and its SQL equivalent.
type Question struct {
	Name string
	Rule string
	// SQL over the vpc_flow_logs view; it returns the keys then the value,
	// top 10 by value.
	SQL string
	// RawSQL is the same over a bare read_csv of the objects (%s is the
	// read_csv call).
	RawSQL string
}

const ruleHead = `{"Schema": {"Name": "CloudWatchLogRule", "Version": 1},
 "LogGroupNames": ["/vpc/flowlogs"], "LogFormat": "CLF",
 "Fields": {"3": "interfaceID", "4": "srcaddr", "5": "dstaddr", "7": "dstport", "8": "protocol", "9": "packets", "13": "action"},`

// Questions are the benchmarked questions.
var Questions = []Question{
	{
		Name:   "reject-by-src",
		Rule:   ruleHead + `"Contribution": {"Keys": ["srcaddr"], "Filters": [{"Match": "action", "In": ["REJECT"]}]}, "AggregateOn": "Count"}`,
		SQL:    `SELECT srcaddr, count(*) AS n FROM vpc_flow_logs WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY n DESC, srcaddr LIMIT 10`,
		RawSQL: `SELECT srcaddr, count(*) AS n FROM %s WHERE action = 'REJECT' GROUP BY srcaddr ORDER BY n DESC, srcaddr LIMIT 10`,
	},
	{
		Name:   "https-packets-by-dst",
		Rule:   ruleHead + `"Contribution": {"Keys": ["dstaddr"], "ValueOf": "packets", "Filters": [{"Match": "dstport", "EqualTo": 443}]}, "AggregateOn": "Sum"}`,
		SQL:    `SELECT dstaddr, sum(packets) AS n FROM vpc_flow_logs WHERE dstport = 443 GROUP BY dstaddr ORDER BY n DESC, dstaddr LIMIT 10`,
		RawSQL: `SELECT dstaddr, sum(packets) AS n FROM %s WHERE dstport = 443 GROUP BY dstaddr ORDER BY n DESC, dstaddr LIMIT 10`,
	},
	{
		Name:   "rejected-tcp-by-eni-src",
		Rule:   ruleHead + `"Contribution": {"Keys": ["interfaceID", "srcaddr"], "Filters": [{"Match": "protocol", "EqualTo": 6}, {"Match": "action", "In": ["REJECT"]}]}, "AggregateOn": "Sum"}`,
		SQL:    `SELECT interface_id, srcaddr, count(*) AS n FROM vpc_flow_logs WHERE protocol = 6 AND action = 'REJECT' GROUP BY ALL ORDER BY n DESC, interface_id, srcaddr LIMIT 10`,
		RawSQL: `SELECT interface_id, srcaddr, count(*) AS n FROM %s WHERE protocol = 6 AND action = 'REJECT' GROUP BY ALL ORDER BY n DESC, interface_id, srcaddr LIMIT 10`,
	},
}

// Row is one answer row: the keys joined by a space, and the value.
type Row = duck.Row

// Timing is the best run's wall and CPU time.
type Timing struct{ Wall, CPU time.Duration }

func main() {
	n := flag.Int("n", 10_000_000, "records to generate")
	files := flag.Int("files", 20, "gzip objects to spread the records over")
	dir := flag.String("dir", filepath.Join(os.TempDir(), "vpcflow-analysis-bench"), "data directory (reused when it holds the same -n and -files)")
	runs := flag.Int("runs", 2, "timed runs per engine (the best is kept)")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "topn worker goroutines")
	only := flag.String("q", "", "run only the question with this name")
	flag.Parse()
	ctx := context.Background()

	size, err := Generate(*dir, *n, *files)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("data: %d records in %d gzip objects, %.1f MB compressed, GOMAXPROCS=%d\n\n", *n, *files, float64(size)/1e6, runtime.GOMAXPROCS(0))
	db, err := duck.Open(ctx, *dir)
	switch {
	case errors.Is(err, duck.ErrNotCompiled):
		db = nil
	case err != nil:
		log.Fatalf("duckdb: %v", err)
	default:
		defer db.Close()
	}
	fmt.Printf("%-24s %10s %10s %10s %12s %12s %8s\n", "question", "topn", "duck-view", "duck-raw", "topn Mrec/s", "view/topn", "raw/topn")
	failed := false
	for _, q := range Questions {
		if *only != "" && q.Name != *only {
			continue
		}
		rule, err := topn.ParseRule([]byte(q.Rule))
		if err != nil {
			log.Fatalf("%s: %v", q.Name, err)
		}
		var ours []Row
		tTop := timeIt(*runs, func() error {
			rep, err := topn.Evaluate(ctx, topn.ObjectSource{Dir: *dir}, rule,
				topn.Options{Period: 1 << 40, Top: 10, Workers: *workers})
			if err != nil {
				return err
			}
			if rep.Events != int64(*n) {
				return fmt.Errorf("%s: read %d events, want %d", q.Name, rep.Events, *n)
			}
			ours = ours[:0]
			for _, c := range rep.Overall {
				ours = append(ours, Row{Key: strings.Join(c.Keys, " "), Value: int64(c.Value)})
			}
			return nil
		})
		if db == nil {
			fmt.Printf("%-24s %10v %10s %10s %12.1f\n", q.Name, tTop.Wall.Round(time.Millisecond), "-", "-", float64(*n)/tTop.Wall.Seconds()/1e6)
			continue
		}
		var view, raw []Row
		ask := func(sql string, out *[]Row) func() error {
			return func() (err error) {
				*out, err = db.Rows(ctx, sql)
				return err
			}
		}
		tView := timeIt(*runs, ask(q.SQL, &view))
		// A bare read_csv of the objects with the DDL types, without the
		// views' partition branches and "-" handling: DuckDB at its leanest.
		tRaw := timeIt(*runs, ask(fmt.Sprintf(q.RawSQL, duck.ReadCSV(db.Glob("flowlogs/**/*.log.gz"), duck.Typed)), &raw))
		fmt.Printf("%-24s %10v %10v %10v %12.1f %12.2f %8.2f\n", q.Name, tTop.Wall.Round(time.Millisecond),
			tView.Wall.Round(time.Millisecond), tRaw.Wall.Round(time.Millisecond), float64(*n)/tTop.Wall.Seconds()/1e6,
			tView.Wall.Seconds()/tTop.Wall.Seconds(), tRaw.Wall.Seconds()/tTop.Wall.Seconds())
		fmt.Printf("%-24s cpu: topn %v, duck-view %v, duck-raw %v\n", "", tTop.CPU.Round(time.Millisecond),
			tView.CPU.Round(time.Millisecond), tRaw.CPU.Round(time.Millisecond))
		if !Same(ours, view) || !Same(ours, raw) {
			fmt.Printf("MISMATCH %s\n  topn: %v\n  view: %v\n  raw:  %v\n", q.Name, ours, view, raw)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	if db != nil {
		fmt.Println("\nanswers agree (view/topn > 1 means topn is faster)")
	}
}

// Same reports whether two top lists have the same values in order and the
// same value for every key they share (ties at the cut may differ in keys).
func Same(a, b []Row) bool {
	if len(a) != len(b) {
		return false
	}
	byKey := map[string]int64{}
	for _, r := range b {
		byKey[r.Key] = r.Value
	}
	for i := range a {
		if a[i].Value != b[i].Value {
			return false
		}
		if v, ok := byKey[a[i].Key]; ok && v != a[i].Value {
			return false
		}
	}
	return true
}

func timeIt(runs int, fn func() error) Timing {
	best := Timing{Wall: time.Duration(1<<63 - 1)}
	for range runs {
		runtime.GC()
		c0, t0 := cpuTime(), time.Now()
		if err := fn(); err != nil {
			log.Fatal(err)
		}
		if w := time.Since(t0); w < best.Wall {
			best = Timing{w, cpuTime() - c0}
		}
	}
	return best
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Generate writes n default-format records as gzip text objects in the S3
// layout under dir (reusing them when dir holds the same n and files) and
// returns their total size. Sources follow a Zipf distribution over 65536
// addresses, one record in eight is a REJECT, one in 5000 is NODATA.
func Generate(dir string, n, files int) (int64, error) {
	day := filepath.Join(dir, "flowlogs", "AWSLogs", "123456789012", "vpcflowlogs", "us-east-1", "2023", "11", "14")
	stamp := filepath.Join(dir, "STAMP")
	want := fmt.Sprintf("n=%d files=%d v1\n", n, files)
	paths := make([]string, files)
	for i := range paths {
		paths[i] = filepath.Join(day, fmt.Sprintf("123456789012_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20231114T2210Z_%08x.log.gz", i))
	}
	if b, err := os.ReadFile(stamp); err != nil || string(b) != want {
		os.RemoveAll(filepath.Join(dir, "flowlogs"))
		if err := os.MkdirAll(day, 0o755); err != nil {
			return 0, err
		}
		t0 := time.Now()
		per := (n + files - 1) / files
		errs := make([]error, files)
		sem := make(chan struct{}, runtime.GOMAXPROCS(0))
		var wg sync.WaitGroup
		for i := range files {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				errs[i] = writePart(paths[i], i*per, min(n, (i+1)*per))
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return 0, err
			}
		}
		fmt.Printf("generated %d records in %v\n", n, time.Since(t0).Round(time.Millisecond))
		if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
			return 0, err
		}
	}
	var size int64
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return 0, err
		}
		size += fi.Size()
	}
	return size, nil
}

func writePart(path string, lo, hi int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(lo), 7))
	zipf := rand.NewZipf(rng, 1.2, 4, 65535)
	buf := []byte("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	const t0 = 1700000000
	ports := []int64{22, 80, 443, 3389, 53}
	for i := lo; i < hi; i++ {
		start := int64(t0 + i/1000)
		eni := int64(1000 + i%97)
		if i%5000 == 4999 {
			buf = fmt.Appendf(buf, "2 123456789012 eni-%x - - - - - - - %d %d - NODATA\n", eni, start, start+60)
		} else {
			src := zipf.Uint64()
			action := "ACCEPT"
			if rng.IntN(8) == 0 {
				action = "REJECT"
			}
			proto := int64(6)
			if rng.IntN(10) == 0 {
				proto = 17
			}
			buf = append(buf, "2 123456789012 eni-"...)
			buf = strconv.AppendInt(buf, eni, 16)
			buf = append(buf, " 10."...)
			buf = strconv.AppendUint(buf, src>>8, 10)
			buf = append(buf, '.')
			buf = strconv.AppendUint(buf, src&255, 10)
			buf = append(buf, ".9 172.31."...)
			buf = strconv.AppendInt(buf, int64(rng.IntN(256)), 10)
			buf = append(buf, ".20 "...)
			buf = strconv.AppendInt(buf, int64(1024+rng.IntN(64000)), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, ports[rng.IntN(len(ports))], 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, proto, 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(1+rng.IntN(50)), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, int64(40+rng.IntN(60000)), 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, start, 10)
			buf = append(buf, ' ')
			buf = strconv.AppendInt(buf, start+60, 10)
			buf = append(buf, ' ')
			buf = append(buf, action...)
			buf = append(buf, " OK\n"...)
		}
		if len(buf) > 1<<20 {
			if _, err := zw.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if _, err := zw.Write(buf); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
