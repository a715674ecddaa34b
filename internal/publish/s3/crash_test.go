package s3

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"vpcflow/internal/flow"
	"vpcflow/internal/objstore"
	"vpcflow/internal/publish"
)

const crashEnv = "VPCFLOW_S3_CRASH_HELPER"

// TestCrashHelper is the child process of TestCrashRecovery: it delivers
// batches of unique records forever, printing "TRY first last" before each
// Deliver and "ACK last" after it returns, until it is killed.
func TestCrashHelper(t *testing.T) {
	if os.Getenv(crashEnv) != "1" {
		t.Skip("helper process for TestCrashRecovery")
	}
	root, spoolDir := os.Getenv("CRASH_ROOT"), os.Getenv("CRASH_SPOOL")
	next, _ := strconv.Atoi(os.Getenv("CRASH_FIRST"))
	st, err := objstore.NewLocal(root)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	cfg := DefaultConfig()
	cfg.FlowLog, cfg.Bucket, cfg.SpoolDir = testFlowLog(flow.DefaultFormat), testBucket, spoolDir
	cfg.RetryInitial, cfg.RetryMax, cfg.SealInterval = time.Millisecond, 10*time.Millisecond, -1
	d, err := New(cfg, Deps{Store: st})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(2)
	}
	d.Start(context.Background())
	const batch = 200
	for {
		// Each batch falls in the next 5-minute bucket, so buckets keep
		// ending and objects are built and put all the time.
		end := t0.Add(time.Duration(next/batch) * BucketPeriod)
		recs := makeRecords(next, batch, end, 0)
		fmt.Printf("TRY %d %d\n", next, next+batch-1)
		if err := d.Deliver(context.Background(), publish.Batch{Records: recs, Now: end.Add(time.Minute)}); err != nil {
			fmt.Println("ERR", err)
			os.Exit(2)
		}
		fmt.Printf("ACK %d\n", next+batch-1)
		next += batch
	}
}

// TestCrashRecovery kills a publishing process with SIGKILL three times at
// arbitrary points of delivery, restarts it each time, and finally drains
// the spool: every acknowledged record is in exactly one object, and no
// record appears twice (no duplicated object).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	root, spoolDir := t.TempDir(), t.TempDir()
	st, err := objstore.NewLocal(root)
	must(t, err)
	must(t, st.CreateBucket(t.Context(), testBucket))
	next, acked, tried := 0, -1, -1
	ackedIDs := map[int]bool{} // first id of each acknowledged batch
	triedIDs := map[int]bool{}
	note := func(line string) {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "TRY":
			first, _ := strconv.Atoi(f[1])
			tried, _ = strconv.Atoi(f[2])
			triedIDs[first] = true
		case len(f) == 2 && f[0] == "ACK":
			acked, _ = strconv.Atoi(f[1])
			ackedIDs[acked-199] = true
		}
	}
	for cycle := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"=1", "CRASH_ROOT="+root, "CRASH_SPOOL="+spoolDir,
			"CRASH_FIRST="+strconv.Itoa(next))
		out, err := cmd.StdoutPipe()
		must(t, err)
		cmd.Stderr = os.Stderr
		must(t, cmd.Start())
		sc := bufio.NewScanner(out)
		acks := 0
		killAt := 15 + 10*cycle // batches acknowledged before the kill
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 0 {
				continue
			}
			note(sc.Text())
			switch f[0] {
			case "ACK":
				acks++
			case "ERR":
				t.Fatalf("helper: %s", sc.Text())
			}
			if acks == killAt {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		_ = cmd.Wait()
		// Drain whatever was printed before the kill landed.
		for sc.Scan() {
			note(sc.Text())
		}
		next = tried + 1
		t.Logf("cycle %d: killed after record %d acknowledged, %d tried", cycle, acked, tried)
	}

	// Restart (reopening the store as a new process would) and drain.
	st, err = objstore.NewLocal(root)
	must(t, err)
	d := newDest(t, st, spoolDir, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	must(t, d.Flush(ctx))

	seen := map[int64]string{}
	objs, err := st.List(t.Context(), testBucket, "")
	must(t, err)
	for _, o := range objs {
		_, rs := readText(t, st, o.Key)
		for _, r := range rs {
			if prev, dup := seen[r.Packets]; dup {
				t.Fatalf("record %d in %s and %s", r.Packets, prev, o.Key)
			}
			seen[r.Packets] = o.Key
		}
	}
	nacked := 0
	for first := range ackedIDs {
		for id := first; id < first+200; id++ {
			nacked++
			if _, ok := seen[int64(id)]; !ok {
				t.Fatalf("acknowledged record %d lost (%d objects, %d records)", id, len(objs), len(seen))
			}
		}
	}
	for id := range seen {
		if !triedIDs[int(id)/200*200] {
			t.Fatalf("record %d was never delivered", id)
		}
	}
	// No partial object is visible: every file in the bucket is a
	// complete object we listed.
	var files int
	_ = filepath.Walk(filepath.Join(root, testBucket), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if strings.HasPrefix(info.Name(), ".") {
				t.Errorf("leftover temporary file %s", p)
			}
			files++
		}
		return nil
	})
	if files != len(objs) {
		t.Errorf("%d files, %d objects", files, len(objs))
	}
	t.Logf("%d objects, %d records out; %d acknowledged, %d tried", len(objs), len(seen), nacked, len(triedIDs)*200)
}
