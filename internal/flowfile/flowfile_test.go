package flowfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/flow"
)

var recordCmp = cmpopts.EquateComparable(netip.Addr{})

const defaultHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"

var sampleLines = []string{
	"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
	"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
	"2 unknown eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
	"2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
	"2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
}

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	io.WriteString(zw, s)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readText(t *testing.T, data []byte, opt Options) ([]string, Stats, error) {
	t.Helper()
	recs, f, st, err := ReadAll(bytes.NewReader(data), opt)
	var out []string
	for i := range recs {
		out = append(out, flow.Text(f, &recs[i]))
	}
	return out, st, err
}

func TestReaderHeaderGzipAndOddities(t *testing.T) {
	body := defaultHeader + "\r\n" + strings.Join(sampleLines, "\r\n") + "\r\n\r\n"
	for name, data := range map[string][]byte{"plain": []byte(body), "gzip": gz(t, body)} {
		got, st, err := readText(t, data, Options{Name: name})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(got, sampleLines); diff != "" {
			t.Errorf("%s (-got +want):\n%s", name, diff)
		}
		if st.Headers != 1 || st.Records != len(sampleLines) || st.Lines != len(sampleLines)+2 {
			t.Errorf("%s: stats %+v", name, st)
		}
	}
}

func TestReaderHeaderAnyOrderAndConcatenation(t *testing.T) {
	// A header in another order defines the format; a second object
	// appended to the first (cat a b) switches back.
	body := "srcaddr dstaddr action log-status\n10.0.0.1 10.0.0.2 ACCEPT OK\n- - - NODATA\n" +
		defaultHeader + "\n" + sampleLines[0] + "\n"
	rd, err := NewReader(strings.NewReader(body), Options{Name: "cat"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rd.Next() {
		got = append(got, rd.Format().Header()+" | "+flow.Text(rd.Format(), rd.Record()))
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"srcaddr dstaddr action log-status | 10.0.0.1 10.0.0.2 ACCEPT OK",
		"srcaddr dstaddr action log-status | - - - NODATA",
		defaultHeader + " | " + sampleLines[0],
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
}

func TestReaderExplicitFormatSkipsHeader(t *testing.T) {
	f, _ := flow.ParseFormat("${srcaddr} ${dstaddr}")
	got, st, err := readText(t, []byte("dstaddr srcaddr\n1.1.1.1 2.2.2.2\n"), Options{Format: f})
	if err != nil || len(got) != 1 || got[0] != "1.1.1.1 2.2.2.2" || st.Headers != 1 {
		t.Errorf("got %v %+v %v", got, st, err)
	}
}

func TestReaderErrorsAndLenient(t *testing.T) {
	body := defaultHeader + "\n" + sampleLines[0] + "\n" +
		"2 123456789010 eni-1 1.2.3.4 5.6.7.8 x 22 6 1 1 1 1 ACCEPT OK\n" +
		sampleLines[1] + " #comment\n" + sampleLines[3] + "\n"
	_, _, err := readText(t, []byte(body), Options{Name: "bad.log"})
	var se *flow.SyntaxError
	if !errors.As(err, &se) || se.File != "bad.log" || se.Line != 3 || se.Column != 38 || se.Field != "srcport" {
		t.Fatalf("err = %v", err)
	}
	if want := `bad.log:3:38: field srcport: expected a non-negative integer (got "x")`; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	got, st, err := readText(t, []byte(body), Options{Name: "bad.log", Lenient: true})
	if err != nil || st.Skipped != 2 || len(st.Errors) != 2 || len(got) != 2 {
		t.Fatalf("lenient: %v %+v %v", got, st, err)
	}
	if !strings.HasPrefix(st.Errors[1].Error(), "bad.log:4:") || !strings.Contains(st.Errors[1].Error(), "comment") {
		t.Errorf("second error %v", st.Errors[1])
	}
	got, st, err = readText(t, []byte(body), Options{Lenient: true, AllowComments: true})
	if err != nil || st.Skipped != 1 || len(got) != 3 {
		t.Errorf("comments: %v %+v %v", got, st, err)
	}
}

// bigInput builds a multi-chunk stream with a header in the middle and a
// few oddities, to compare Transcode with the sequential Reader.
func bigInput(n int) string {
	var b strings.Builder
	b.WriteString(defaultHeader + "\n")
	for i := range n {
		if i == n/2 {
			b.WriteString("interface-id srcaddr dstaddr packets log-status\n")
		}
		if i >= n/2 {
			fmt.Fprintf(&b, "eni-%d 10.0.%d.%d 2001:db8::%x %d OK\n", i%7, i%256, i%200, i, i)
			continue
		}
		if i%1000 == 7 {
			b.WriteString("\n")
		}
		l := sampleLines[i%len(sampleLines)]
		if i%3 == 0 {
			l += "\r"
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

func sequential(t *testing.T, data []byte, opt Options, enc Encoding, header bool) string {
	t.Helper()
	rd, err := NewReader(bytes.NewReader(data), opt)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var f flow.Format
	var line []byte
	for rd.Next() {
		if h, ok := enc.Header(rd.Format()); header && ok && !f.Equal(rd.Format()) {
			out.WriteString(h + "\n")
		}
		f = rd.Format()
		line = append(enc.Append(line[:0], f, rd.Record()), '\n')
		out.Write(line)
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestTranscodeMatchesReader(t *testing.T) {
	text := bigInput(30000)
	for _, data := range [][]byte{[]byte(text), gz(t, text)} {
		for _, enc := range []Encoding{EncText, EncCSV, EncJSON} {
			want := sequential(t, data, Options{}, enc, true)
			var out bytes.Buffer
			st, err := Transcode(&out, bytes.NewReader(data), Options{}, TranscodeOptions{Encoding: enc, Header: true, Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Errorf("%s: transcode differs from reader (%d vs %d bytes)", enc, out.Len(), len(want))
			}
			if st.Records != 30000 || st.Headers != 2 {
				t.Errorf("%s: stats %+v", enc, st)
			}
		}
	}
}

func TestTranscodeStrictErrorPosition(t *testing.T) {
	lines := strings.Split(bigInput(20000), "\n")
	lines[5000] = "2 123456789010 eni-1 1.2.3.4 5.6.7.8 22 22 6 1 1 1 1 MAYBE OK"
	data := []byte(strings.Join(lines, "\n"))
	var out bytes.Buffer
	_, err := Transcode(&out, bytes.NewReader(data), Options{Name: "f.log"}, TranscodeOptions{Encoding: EncText, Workers: 2})
	var se *flow.SyntaxError
	if !errors.As(err, &se) || se.Line != 5001 || se.Field != "action" {
		t.Fatalf("err = %v", err)
	}
	if want := sequential(t, []byte(strings.Join(lines[:5000], "\n")), Options{}, EncText, false); out.String() != want {
		t.Errorf("output before the error: %d bytes, want %d", out.Len(), len(want))
	}
	st, err := Transcode(io.Discard, bytes.NewReader(data), Options{Lenient: true}, TranscodeOptions{Encoding: EncCSV})
	if err != nil || st.Skipped != 1 || st.Records != 19999 {
		t.Errorf("lenient: %+v %v", st, err)
	}
}

func TestGzipTextWriterS3Object(t *testing.T) {
	var obj bytes.Buffer
	w := NewGzipTextWriter(&obj, flow.DefaultFormat, true)
	d := flow.NewDecoder(flow.DefaultFormat)
	for _, l := range sampleLines {
		var r flow.Record
		if err := d.Decode([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Written() != int64(obj.Len()) || w.Records() != len(sampleLines) {
		t.Errorf("Written %d, object %d bytes, %d records", w.Written(), obj.Len(), w.Records())
	}
	zr, err := gzip.NewReader(&obj)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	want := defaultHeader + "\n" + strings.Join(sampleLines, "\n") + "\n"
	if diff := cmp.Diff(string(plain), want); diff != "" {
		t.Errorf("(-got +want):\n%s", diff)
	}
}

func TestParquetRoundTrip(t *testing.T) {
	formats := []string{"",
		"${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}",
		"${flow-direction} ${traffic-path} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${encryption-status} ${ecs-task-id} ${reject-reason}",
		"${version} ${srcaddr} ${dstaddr} ${action} ${vpcflow-decision-layer} ${vpcflow-decision-rule} ${log-status}",
	}
	lines := [][]string{sampleLines,
		{"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK",
			"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 - eni-1235b8ca123456789 123456789010 IPv6 ::1 ::2 0 0 - - 58 23294588 15774 1566848933 1566849113 REJECT - OK"},
		{"ingress - 10.0.133.8 10.0.128.55 43236 80 1 - -", "egress 1 10.0.128.55 10.0.133.8 80 43236 3 abc123 BPA"},
		{"2 10.0.0.10 203.0.113.12 REJECT nacl acl-0d00000000000000b/egress/* OK", "2 203.0.113.12 10.0.0.10 ACCEPT - - OK"},
	}
	for i, fs := range formats {
		f, err := flow.ParseFormat(fs)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		pw, err := NewParquetWriter(&buf, f)
		if err != nil {
			t.Fatal(err)
		}
		var want []flow.Record
		for _, l := range lines[i] {
			r, err := flow.DecodeLine(f, l)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, r)
			if err := pw.Write(&r); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(buf.Bytes(), []byte("PAR1")) {
			t.Fatal("not a parquet file")
		}
		got, gf, _, err := ReadAll(bytes.NewReader(buf.Bytes()), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !gf.Equal(f) {
			t.Errorf("format read back %q, want %q", gf.Header(), f.Header())
		}
		for j := range got { // a reused record keeps an emptied extras array
			if got[j].Other != nil && *got[j].Other == ([flow.NumFields]string{}) {
				got[j].Other = nil
			}
		}
		if diff := cmp.Diff(got, want, recordCmp); diff != "" {
			t.Errorf("format %d (-got +want):\n%s", i, diff)
		}
	}
	// Column names, order and types of the default format (spec §10.4).
	s := ParquetSchema(flow.DefaultFormat).String()
	for _, want := range []string{"optional int32 version (INT(32,true));", "optional binary account_id (STRING);",
		"optional int64 packets (INT(64,true));", "optional binary log_status (STRING);"} {
		if !strings.Contains(s, want) {
			t.Errorf("schema lacks %q:\n%s", want, s)
		}
	}
	// The vpcflow extension columns are named and typed like AWS's.
	ext := ParquetSchema(flow.MustFormat(flow.FieldDecisionLayer, flow.FieldDecisionRule)).String()
	for _, want := range []string{"optional binary vpcflow_decision_layer (STRING);", "optional binary vpcflow_decision_rule (STRING);"} {
		if !strings.Contains(ext, want) {
			t.Errorf("schema lacks %q:\n%s", want, ext)
		}
	}
	if strings.Index(s, "srcport") > strings.Index(s, "dstport") || strings.Index(s, "version") > strings.Index(s, "account_id") {
		t.Errorf("columns not in format order:\n%s", s)
	}
}

func TestOpenParquetFileAndStdinLikeStream(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log.parquet")
	f, _ := os.Create(path)
	pw, _ := NewParquetWriter(f, flow.DefaultFormat)
	r, _ := flow.DecodeLine(flow.DefaultFormat, sampleLines[1])
	pw.Write(&r)
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	rd, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if rd.Kind() != KindParquet || !rd.Next() || flow.Text(rd.Format(), rd.Record()) != sampleLines[1] || rd.Next() {
		t.Errorf("kind %v, err %v", rd.Kind(), rd.Err())
	}
	// through a pipe-like reader (no ReaderAt), and via Transcode
	data, _ := os.ReadFile(path)
	var out bytes.Buffer
	if _, err := Transcode(&out, io.MultiReader(bytes.NewReader(data)), Options{}, TranscodeOptions{Encoding: EncJSON}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"log-status":"NODATA"`) {
		t.Errorf("json %s", out.String())
	}
}

func TestTableWriter(t *testing.T) {
	var out bytes.Buffer
	tw := NewTableWriter(&out, flow.DefaultFormat)
	for _, l := range sampleLines[:2] {
		r, _ := flow.DecodeLine(flow.DefaultFormat, l)
		tw.Write(&r)
	}
	tw.Close()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "version  account-id") || strings.Index(lines[1], "eni-") != strings.Index(lines[2], "eni-") {
		t.Errorf("table:\n%s", out.String())
	}
}

func TestParquetManyBatches(t *testing.T) {
	// More records than one write batch, with distinct strings, to check
	// that batch buffers are reused safely.
	f, _ := flow.ParseFormat("${interface-id} ${srcaddr} ${packets} ${vpc-id}")
	var want []flow.Record
	var buf bytes.Buffer
	pw, _ := NewParquetWriter(&buf, f)
	for i := range 3*parquetBatch + 17 {
		r, err := flow.DecodeLine(f, fmt.Sprintf("eni-%08d 10.%d.%d.1 %d vpc-%x", i, i/256%256, i%256, i, i*7919))
		if err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			r.Clear(flow.FieldVPCID)
		}
		want = append(want, r)
		if err := pw.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	got, _, _, err := ReadAll(bytes.NewReader(buf.Bytes()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if a, b := flow.Text(f, &got[i]), flow.Text(f, &want[i]); a != b {
			t.Fatalf("record %d: %q, want %q", i, a, b)
		}
	}
}

func TestGzipMembersAndTruncation(t *testing.T) {
	// Two S3 objects concatenated (cat a.log.gz b.log.gz): two gzip
	// members, two header lines.
	a := defaultHeader + "\n" + sampleLines[0] + "\n"
	b := "srcaddr dstaddr\n1.1.1.1 2.2.2.2\n"
	data := append(gz(t, a), gz(t, b)...)
	var out bytes.Buffer
	st, err := Transcode(&out, bytes.NewReader(data), Options{}, TranscodeOptions{Encoding: EncText})
	if err != nil || out.String() != sampleLines[0]+"\n1.1.1.1 2.2.2.2\n" || st.Headers != 2 {
		t.Errorf("members: %q %+v %v", out.String(), st, err)
	}
	got, _, err := readText(t, data, Options{})
	if err != nil || len(got) != 2 {
		t.Errorf("reader members: %v %v", got, err)
	}
	// A truncated object is an error, never a silent short read.
	big := gz(t, bigInput(5000))
	cut := big[:len(big)/2]
	if _, err := Transcode(io.Discard, bytes.NewReader(cut), Options{Name: "cut.gz"}, TranscodeOptions{}); err == nil || !strings.HasPrefix(err.Error(), "cut.gz: ") {
		t.Errorf("transcode truncated: err = %v", err)
	}
	if _, _, err := readText(t, cut, Options{Name: "cut.gz"}); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reader truncated: err = %v", err)
	}
}
