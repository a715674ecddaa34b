package topn

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/flow"
	"vpcflow/internal/logstore"
)

func testRecord(src string, bytes int64, action flow.Action) flow.Record {
	r, err := flow.DecodeLine(flow.DefaultFormat,
		fmt.Sprintf("2 123456789010 eni-aaa %s 10.0.0.9 1000 443 6 1 %d 1620000000 1620000060 %s OK", src, bytes, action))
	if err != nil {
		panic(err)
	}
	return r
}

func TestTopTalkers(t *testing.T) {
	recs := []flow.Record{
		testRecord("10.0.0.1", 100, flow.ActionAccept),
		testRecord("10.0.0.2", 300, flow.ActionAccept),
		testRecord("10.0.0.1", 250, flow.ActionReject),
		testRecord("10.0.0.3", 50, flow.ActionAccept),
		{}, // NODATA-like: no srcaddr
	}
	got := TopTalkers(recs, flow.FieldSrcAddr, flow.FieldBytes, 2)
	want := []Talker{{"10.0.0.1", 350}, {"10.0.0.2", 300}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want)\n%s", diff)
	}
	got = TopTalkers(recs, flow.FieldAction, CountRecords, 5)
	want = []Talker{{"ACCEPT", 3}, {"REJECT", 1}}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("count (-got +want)\n%s", diff)
	}
}

func TestObjectSource(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lines ...string) {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(flow.DefaultFormat.Header() + "\n"))
		for _, l := range lines {
			zw.Write([]byte(l + "\n"))
		}
		zw.Close()
		p := filepath.Join(dir, "b", "AWSLogs", "123456789010", "vpcflowlogs", "us-east-1", "2021", "05", "03", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b.Bytes(), 0o644)
	}
	write("a.log.gz",
		"2 123456789010 eni-aaa 10.0.0.1 10.0.0.9 1 443 6 1 100 1620000000 1620000060 ACCEPT OK",
		"2 123456789010 eni-aaa 10.0.0.2 10.0.0.9 1 443 6 1 200 1620000300 1620000360 ACCEPT OK")
	write("b.log.gz",
		"2 123456789010 eni-bbb 10.0.0.1 10.0.0.9 1 443 6 1 1000 1620000000 1620000060 ACCEPT OK")
	rule, err := os.ReadFile("testdata/rules/bytes-by-src-dst.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRule(rule)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		rep, err := Evaluate(t.Context(), ObjectSource{Dir: dir}, r, Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		rep.WriteText(&b)
		want := `overall events=3 matched=3 unique=2
  1 srcaddr=10.0.0.1 dstaddr=10.0.0.9 value=1100
  2 srcaddr=10.0.0.2 dstaddr=10.0.0.9 value=200
period 2021-05-03T00:00:00Z unique=1 total=1100
  1 srcaddr=10.0.0.1 dstaddr=10.0.0.9 value=1100
period 2021-05-03T00:05:00Z unique=1 total=200
  1 srcaddr=10.0.0.2 dstaddr=10.0.0.9 value=200
`
		if diff := cmp.Diff(b.String(), want); diff != "" {
			t.Errorf("workers=%d (-got +want)\n%s", workers, diff)
		}
	}
	// Events carry the stream CloudWatch Logs would have put them in.
	var streams []string
	err = ObjectSource{Dir: dir}.Scan(t.Context(), logstore.Query{}, func(e *logstore.Event) error {
		streams = append(streams, e.LogStream)
		return nil
	})
	if err != nil || !cmp.Equal(streams, []string{"eni-aaa-all", "eni-aaa-all", "eni-bbb-all"}) {
		t.Errorf("streams %q: %v", streams, err)
	}
}
