package flowfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"vpcflow/internal/flow"
)

// A header line with a repeated or misspelt field name is reported as a
// bad header line at that name's column, not decoded as a record (which
// gave "field version: expected a non-negative integer").
func TestBadHeaderLine(t *testing.T) {
	dup := strings.Replace(defaultHeader, "dstaddr", "srcaddr", 1)
	typo := strings.Replace(defaultHeader, "srcaddr", "srcadr", 1)
	for _, tc := range []struct {
		name, header, want string
	}{
		{"dup", dup, `dup:2:41: header line: duplicate field name "srcaddr" (also at column 33)`},
		{"typo", typo, `typo:2:33: header line: unknown field name "srcadr" (did you mean srcaddr?)`},
		{"far", "version nonsense-name", `far:2:9: header line: unknown field name "nonsense-name"`},
	} {
		body := sampleLines[0] + "\n" + tc.header + "\n" + sampleLines[1] + "\n"
		for _, gzipped := range []bool{false, true} {
			data := []byte(body)
			if gzipped {
				data = gz(t, body)
			}
			_, st, err := readBoth(t, data, Options{Name: tc.name})
			var se *flow.SyntaxError
			if !errors.As(err, &se) || err.Error() != tc.want || st.Records != 1 {
				t.Errorf("%s: %v (%+v)\nwant %s", tc.name, err, st, tc.want)
			}
			// Lenient: the bad header is skipped like a bad record, the
			// format stays.
			got, st, err := readBoth(t, data, Options{Name: tc.name, Lenient: true})
			if err != nil || st.Skipped != 1 || got != sampleLines[0]+"\n"+sampleLines[1]+"\n" {
				t.Errorf("%s lenient: %v %+v %q", tc.name, err, st, got)
			}
		}
	}
	// A record whose first token happens to be a field name (an ECS
	// cluster named "region") keeps its record error.
	f, err := flow.ParseFormat("${ecs-cluster-name} ${srcaddr} ${dstaddr}")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = readBoth(t, []byte("region 10.0.0.1 10.0.0.2\nregion 10.0.0.1 x\n"), Options{Name: "ecs", Format: f})
	if want := `ecs:2:17: field dstaddr: expected an IPv4 or IPv6 address (got "x")`; errString(err) != want {
		t.Errorf("ecs: %v", err)
	}
}

func TestUTF8BOMBeforeHeader(t *testing.T) {
	body := "\xef\xbb\xbfsrcaddr dstaddr\n1.1.1.1 2.2.2.2\n"
	for _, data := range [][]byte{[]byte(body), gz(t, body), []byte("\xef\xbb\xbf" + sampleLines[0] + "\n")} {
		got, st, err := readBoth(t, data, Options{Name: "bom"})
		if err != nil || st.Records != 1 || (st.Headers == 1) != (got == "1.1.1.1 2.2.2.2\n") {
			t.Errorf("%q: %v %+v %q", data, err, st, got)
		}
	}
	// Only at the start of the stream.
	_, _, err := readBoth(t, []byte(sampleLines[0]+"\n\xef\xbb\xbfsrcaddr dstaddr\n"), Options{Name: "bom"})
	if err == nil {
		t.Error("a BOM on line 2 was accepted")
	}
}

func TestLongTokenQuotedShort(t *testing.T) {
	long := strings.Repeat("x", 5<<20)
	_, _, err := readBoth(t, []byte(sampleLines[0]+" "+long+"\n"), Options{Name: "long"})
	if err == nil || len(err.Error()) > 200 || !strings.HasSuffix(err.Error(), `"… (5242880 bytes))`) {
		t.Errorf("err = %.300v", err)
	}
}

// A Parquet object cut short is reported as such, with its size, instead
// of parquet-go's "invalid magic footer" with four random bytes.
func TestParquetTruncated(t *testing.T) {
	var pq bytes.Buffer
	pw, err := NewParquetWriter(&pq, flow.DefaultFormat)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range sampleLines {
		r, _ := flow.DecodeLine(flow.DefaultFormat, l)
		pw.Write(&r)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	full := pq.Bytes()
	dir := t.TempDir()
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{full[:len(full)/2], `not a complete Parquet object: %d bytes without the closing "PAR1" (truncated?)`},
		{full[:len(full)-1], `not a complete Parquet object: %d bytes without the closing "PAR1" (truncated?)`},
		{[]byte("PAR1\x00\x00"), `not a complete Parquet object: %d bytes, less than the 12 of an empty one (truncated?)`},
		{append([]byte("PAR1\x00\x00\x00"), "\xff\xff\x00\x00PAR1"...), `not a complete Parquet object: footer length 65535 does not fit in its %d bytes (truncated or corrupt?)`},
	} {
		want := "p.parquet: " + fmt.Sprintf(tc.want, len(tc.data))
		if _, err := NewReader(bytes.NewReader(tc.data), Options{Name: "p.parquet"}); errString(err) != want {
			t.Errorf("stream: %v\nwant %s", err, want)
		}
		path := filepath.Join(dir, "p.parquet")
		if err := os.WriteFile(path, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(path, Options{Name: "p.parquet"}); errString(err) != want {
			t.Errorf("file: %v\nwant %s", err, want)
		}
	}
}

func TestParquetPanicIsAnError(t *testing.T) {
	err := parquetCall(func() error { panic("slice bounds out of range [:3927] with capacity 167") })
	if errString(err) != "corrupt Parquet object (slice bounds out of range [:3927] with capacity 167)" {
		t.Errorf("err = %v", err)
	}
}

// A bad Parquet value names its row and column; it is not a text syntax
// error (no line or column to give), and stops a lenient read too.
func TestParquetBadValue(t *testing.T) {
	type row struct {
		Srcport int32 `parquet:"srcport"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	if _, err := w.Write([]row{{22}, {70000}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, lenient := range []bool{false, true} {
		res, err := readRecords(buf.Bytes(), Options{Name: "p.parquet", Lenient: lenient})
		want := `p.parquet: parquet row 2, column srcport: value out of range 0-65535 (got "70000")`
		if errString(err) != want || len(res.recs) != 1 || errors.Is(err, flow.ErrSyntax) {
			t.Errorf("lenient=%v: %v, %d records", lenient, err, len(res.recs))
		}
	}
}
