package topn

import (
	"os"
	"strings"
	"testing"

	"vpcflow/internal/logstore"
)

const benchRule = `{"Schema": {"Name": "CloudWatchLogRule", "Version": 1},
 "LogGroupNames": ["/vpc/flowlogs"], "LogFormat": "CLF",
 "Fields": {"4": "srcaddr", "13": "action"},
 "Contribution": {"Keys": ["srcaddr"], "Filters": [{"Match": "action", "In": ["REJECT"]}]}, "AggregateOn": "Count"}`

// BenchmarkEvaluate measures rule evaluation over in-memory events (no
// decompression): the engine's own cost per record.
func BenchmarkEvaluate(b *testing.B) {
	r, err := ParseRule([]byte(benchRule))
	if err != nil {
		b.Fatal(err)
	}
	var evs Events
	for i := range 100_000 {
		action := "ACCEPT"
		if i%8 == 0 {
			action = "REJECT"
		}
		evs = append(evs, logstore.Event{LogGroup: "/vpc/flowlogs", Timestamp: int64(1700000000+i/1000) * 1000,
			Message: "2 123456789012 eni-3e8 10." + itoaTest(i%256) + "." + itoaTest(i%97) + ".9 172.31.4.20 40000 443 6 10 4000 1700000000 1700000060 " + action + " OK"})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Evaluate(b.Context(), evs, r, Options{Period: 1 << 40}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mrec/s")
}

// BenchmarkObjects reads generated objects (VPCFLOW_BENCH_DIR, e.g. the
// bench/analysis data directory).
func BenchmarkObjects(b *testing.B) {
	dir := os.Getenv("VPCFLOW_BENCH_DIR")
	if dir == "" {
		b.Skip("VPCFLOW_BENCH_DIR not set")
	}
	r, _ := ParseRule([]byte(benchRule))
	for b.Loop() {
		rep, err := Evaluate(b.Context(), ObjectSource{Dir: dir}, r, Options{Period: 1 << 40, Workers: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rep.Events)/b.Elapsed().Seconds()*float64(b.N)/1e6, "Mrec/s")
	}
}

func itoaTest(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10)))
}
