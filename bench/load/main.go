// Command load is a bounded loopback load test of `vpcflow serve`: it starts
// the server in-process on 127.0.0.1 with the simulator writing, runs N
// concurrent clients for a fixed time against DescribeFlowLogs and
// GetLogEvents (signed with SigV4), and prints p50/p99 latency, errors, the
// peak heap and RSS, the heap every 5 s (bounded memory shows as a flat
// line), the process CPU time (server and clients together) and the load
// average. Every request goes to the loopback address it started.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"vpcflow/bench/internal/machine"
	"vpcflow/internal/server"
	"vpcflow/internal/sigv4"
)

func main() {
	clients := flag.Int("clients", 200, "concurrent clients")
	duration := flag.Duration("duration", 30*time.Second, "how long the clients run")
	speed := flag.Float64("speed", 600, "simulator speed while under load")
	flag.Parse()

	dir, err := os.MkdirTemp("", "vpcflow-load-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := server.DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.Speed = "127.0.0.1:0", dir, *speed
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	var addr string
	var creds []sigv4.Credential
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, cfg, server.Deps{Ready: func(a string, c []sigv4.Credential) { addr, creds = a, c; close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		log.Fatalf("server: %v", err)
	}
	// Let the simulator deliver some events first, so GetLogEvents reads data.
	time.Sleep(5 * time.Second)
	streams := logStreams(addr, creds[0])
	if len(streams) == 0 {
		log.Fatal("no log streams after warm-up")
	}

	transport := &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      atomic.Int64
		peakHeap  atomic.Uint64
	)
	stopSample := make(chan struct{})
	sampled := make(chan struct{})
	var heapLine []string // HeapInuse every 5 s
	go func() {
		defer close(sampled)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for i := 1; ; i++ {
			select {
			case <-stopSample:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
				if i%20 == 0 {
					heapLine = append(heapLine, fmt.Sprintf("%.0f", float64(ms.HeapInuse)/(1<<20)))
				}
			}
		}
	}()
	load0, cpu0 := machine.LoadAvg(), cpuTime()
	deadline := time.Now().Add(*duration)
	var wg sync.WaitGroup
	for c := range *clients {
		wg.Go(func() {
			var local []time.Duration
			for i := 0; time.Now().Before(deadline); i++ {
				var req *http.Request
				if (c+i)%2 == 0 {
					req, _ = http.NewRequest("POST", "http://"+addr+"/", strings.NewReader("Action=DescribeFlowLogs&Version=2016-11-15"))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					sigv4.Sign(req, creds[0], "us-east-1", "ec2", time.Now())
				} else {
					s := streams[(c+i)%len(streams)]
					body := fmt.Sprintf(`{"logGroupName":%q,"logStreamName":%q,"limit":100}`, s[0], s[1])
					req, _ = http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-amz-json-1.1")
					req.Header.Set("X-Amz-Target", "Logs_20140328.GetLogEvents")
					sigv4.Sign(req, creds[0], "us-east-1", "logs", time.Now())
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs.Add(1)
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	cpu, load1 := cpuTime()-cpu0, machine.LoadAvg()
	close(stopSample)
	<-sampled
	cancel()
	if err := <-done; err != nil {
		log.Printf("server shutdown: %v", err)
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	fmt.Printf("clients=%d duration=%s requests=%d errors=%d rps=%.0f p50=%s p99=%s max=%s peak_heap=%.1fMiB\n",
		*clients, *duration, len(latencies), errs.Load(), float64(len(latencies))/duration.Seconds(),
		pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond),
		float64(peakHeap.Load())/(1<<20))
	fmt.Printf("heap_inuse_every_5s_MiB=[%s] peak_rss=%.1fMiB cpu_during_load=%.1fs (%.0f%% of %d cores) load=%s..%s\n",
		strings.Join(heapLine, " "), float64(peakRSS())/1024, cpu.Seconds(),
		100*cpu.Seconds()/duration.Seconds()/float64(runtime.NumCPU()), runtime.NumCPU(), load0, load1)
	if errs.Load() > 0 {
		os.Exit(1)
	}
}

// logStreams lists (group, stream) pairs to read.
func logStreams(addr string, cred sigv4.Credential) [][2]string {
	call := func(target, body string, out any) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Logs_20140328."+target)
		sigv4.Sign(req, cred, "us-east-1", "logs", time.Now())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(out)
	}
	var groups struct {
		LogGroups []struct{ LogGroupName string }
	}
	call("DescribeLogGroups", "{}", &groups)
	var out [][2]string
	for _, g := range groups.LogGroups {
		var streams struct {
			LogStreams []struct{ LogStreamName string }
		}
		call("DescribeLogStreams", fmt.Sprintf(`{"logGroupName":%q}`, g.LogGroupName), &streams)
		for _, s := range streams.LogStreams {
			out = append(out, [2]string{g.LogGroupName, s.LogStreamName})
		}
	}
	return out
}

// cpuTime is this process's user+sys time: the server and the clients.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is VmHWM in KiB (0 if unknown).
func peakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
