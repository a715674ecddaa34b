package insights

import (
	"math/rand/v2"
	"strconv"
	"syscall"
	"testing"
	"time"

	"vpcflow/internal/logstore"
)

// benchEvents builds n default-format flow log events: 4096 source
// addresses, 256 destinations, about one record in ten REJECT.
func benchEvents(n int) Events {
	rng := rand.New(rand.NewPCG(1, 2))
	evs := make(Events, n)
	const t0 = 1700000000
	for i := range evs {
		src := rng.IntN(4096)
		dst := rng.IntN(256)
		action := "ACCEPT"
		if rng.IntN(10) == 0 {
			action = "REJECT"
		}
		start := t0 + int64(i/100)
		msg := "2 123456789012 eni-" + strconv.Itoa(1000+src%64) + " 10." + strconv.Itoa(src>>8) + "." + strconv.Itoa(src&255) + ".7" +
			" 172.16." + strconv.Itoa(dst) + ".1 " + strconv.Itoa(1024+rng.IntN(60000)) + " " + strconv.Itoa([]int{22, 80, 443, 3389}[rng.IntN(4)]) +
			" 6 " + strconv.Itoa(1+rng.IntN(100)) + " " + strconv.Itoa(40+rng.IntN(100000)) + " " +
			strconv.FormatInt(start, 10) + " " + strconv.FormatInt(start+60, 10) + " " + action + " OK"
		evs[i] = logstore.Event{LogGroup: "/vpc/flowlogs", LogStream: "eni-all", Timestamp: start * 1000, IngestionTime: start*1000 + 70000, Message: msg}
	}
	return evs
}

// BenchmarkQuery reports records scanned per second for typical flow-log
// queries over in-memory events.
func BenchmarkQuery(b *testing.B) {
	evs := benchEvents(200_000)
	for _, tc := range []struct{ name, q string }{
		{"reject-top10", `filter action="REJECT" | stats count(*) as n by srcAddr | sort n desc | limit 10`},
		{"top-packets", `stats sum(packets) as packetsTransferred by srcAddr, dstAddr | sort packetsTransferred desc | limit 15`},
		{"subnet-bytes", `filter isIpv4InSubnet(srcAddr, "10.1.0.0/16") | stats sum(bytes) as b by dstAddr | sort b desc | limit 15`},
		{"bin-5m", `stats count(*) by bin(5m)`},
		{"no-match", `filter dstPort = 9 | stats count(*)`},
		{"latest-100", `filter action = "REJECT" | fields @timestamp, srcAddr | limit 100`},
		{"parse-glob", `parse @message "* * * * *" as v, a, e, src, rest | stats count(*) as n by src | sort n desc | limit 5`},
	} {
		q, err := Parse(tc.q)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("case="+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var scanned int64
			cpu0 := cpuTime()
			for b.Loop() {
				res, err := Run(b.Context(), evs, q, Options{})
				if err != nil {
					b.Fatal(err)
				}
				scanned += res.Statistics.RecordsScanned
			}
			b.ReportMetric(float64(scanned)/b.Elapsed().Seconds(), "records/s")
			// CPU time is steadier than wall time on a shared machine.
			b.ReportMetric(float64(scanned)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
		})
	}
}

func BenchmarkParse(b *testing.B) {
	q := `filter (dstAddr like 'x.x.x.x' and srcAddr like 'y.y.') or (srcAddr like 'xxx.xx.xx.xx' and dstAddr like 'y.y.') | stats sum(bytes) as bytesTransferred by srcAddr, dstAddr | sort bytesTransferred desc | limit 10`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(q); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
