package flowfile

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"vpcflow/internal/flow"
)

const fuzzName = "fuzz.log"

// FuzzReader feeds arbitrary bytes to the stream reader: text with or
// without header lines, gzip (the second input wraps the bytes in gzip so
// that the text inside a member is explored too) and anything starting
// with the Parquet magic. It checks that
//   - a strict read fails with a *flow.SyntaxError at fuzz.log:line:column
//     inside the input, or an error naming fuzz.log, never a panic;
//   - a lenient read keeps going past syntax errors, its records start with
//     the strict read's records, and its counts add up;
//   - the records re-encoded as a text stream (a header line at each format
//     change) read back to the same records and formats;
//   - Transcode's parallel path writes the same bytes, counts and error as
//     the sequential Reader.
func FuzzReader(f *testing.F) {
	body := defaultHeader + "\n" + strings.Join(sampleLines, "\n") + "\n"
	f.Add([]byte(body), false)
	f.Add([]byte(body), true)
	f.Add([]byte(strings.Join(sampleLines, "\r\n")), false)
	f.Add([]byte(bigInput(40)), false)
	f.Add([]byte(defaultHeader+"\n"+sampleLines[0]+"\n2 123456789010 eni-1 1.2.3.4 5.6.7.8 x 22 6 1 1 1 1 ACCEPT OK\n"+sampleLines[1]+"\n"), false)
	f.Add(gz(f, body)[:30], false)
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"), false)
	var pq bytes.Buffer
	pw, _ := NewParquetWriter(&pq, flow.DefaultFormat)
	for _, l := range sampleLines {
		r, _ := flow.DecodeLine(flow.DefaultFormat, l)
		pw.Write(&r)
	}
	if err := pw.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add(pq.Bytes(), false)
	f.Fuzz(func(t *testing.T, data []byte, wrap bool) {
		if wrap {
			data = gz(t, string(data))
		}
		strict, strictErr := readRecords(data, Options{Name: fuzzName})
		checkReadError(t, data, strictErr)
		lenient, lenientErr := readRecords(data, Options{Name: fuzzName, Lenient: true})
		if lenientErr != nil && errors.Is(lenientErr, flow.ErrSyntax) {
			t.Fatalf("lenient read stopped at a syntax error: %v", lenientErr)
		}
		if (strictErr == nil) != (lenientErr == nil) && !errors.Is(strictErr, flow.ErrSyntax) {
			t.Fatalf("strict error %v, lenient error %v", strictErr, lenientErr)
		}
		if len(lenient.recs) < len(strict.recs) {
			t.Fatalf("lenient read %d records, strict %d", len(lenient.recs), len(strict.recs))
		}
		if diff := cmp.Diff(strict.recs, lenient.recs[:len(strict.recs)], recordCmp, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("lenient records do not start with the strict ones (-strict +lenient):\n%s", diff)
		}
		st := lenient.stats
		if st.Records != len(lenient.recs) || len(st.Errors) != min(st.Skipped, MaxKeptErrors) ||
			(lenient.kind != KindParquet && st.Records+st.Skipped+st.Headers > st.Lines) {
			t.Fatalf("lenient stats %+v for %d records", st, len(lenient.recs))
		}
		if strictErr == nil && st.Skipped != 0 {
			t.Fatalf("clean strict read, lenient skipped %d", st.Skipped)
		}
		if lenientErr == nil {
			checkReencode(t, lenient)
		}
		checkTranscode(t, data, Options{Name: fuzzName}, strict, strictErr)
		checkTranscode(t, data, Options{Name: fuzzName, Lenient: true}, lenient, lenientErr)
	})
}

// readResult is what one read of a stream gave: every record with the
// format it was decoded in.
type readResult struct {
	kind    Kind
	recs    []flow.Record
	formats []flow.Format
	stats   Stats
}

func readRecords(data []byte, opt Options) (readResult, error) {
	var res readResult
	rd, err := NewReader(bytes.NewReader(data), opt)
	if err != nil {
		return res, err
	}
	defer rd.Close()
	res.kind = rd.Kind()
	for rd.Next() {
		rec := *rd.Record()
		if rec.Other != nil {
			o := *rec.Other
			rec.Other = &o
		}
		res.recs = append(res.recs, rec)
		res.formats = append(res.formats, rd.Format())
	}
	res.stats = rd.Stats()
	return res, rd.Err()
}

// checkReadError: a syntax error has a position inside the input; every
// other error names the input.
func checkReadError(t *testing.T, data []byte, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var se *flow.SyntaxError
	if errors.As(err, &se) {
		lines := bytes.Count(data, []byte("\n")) + 1
		if se.File != fuzzName || se.Line < 1 || se.Column < 1 {
			t.Fatalf("syntax error without a position: %#v", se)
		}
		if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) && se.Line > lines {
			t.Fatalf("syntax error at line %d of a %d-line input: %v", se.Line, lines, err)
		}
		return
	}
	if !strings.HasPrefix(err.Error(), fuzzName+": ") {
		t.Fatalf("error does not name the input: %v", err)
	}
}

// checkReencode writes the records as an S3-style text stream, a header
// line before the first record and at each format change, and reads it
// back. A record whose text is itself a header line is ambiguous by
// design (AWS writes the header only at the top), so such inputs are not
// compared.
func checkReencode(t *testing.T, res readResult) {
	t.Helper()
	var out []byte
	var cur flow.Format
	for i := range res.recs {
		f := res.formats[i]
		if !f.Equal(cur) {
			out = append(append(out, f.Header()...), '\n')
			cur = f
		}
		n := len(out)
		out = append(flow.AppendText(out, f, &res.recs[i]), '\n')
		if c, _ := classify(out[n:len(out)-1], false); c != lineRecord {
			return
		}
	}
	again, err := readRecords(out, Options{Name: "again.log"})
	if err != nil {
		t.Fatalf("re-encoded stream does not read back: %v\n%s", err, out)
	}
	if diff := cmp.Diff(res.recs, again.recs, recordCmp, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("records differ after re-encoding (-first +again):\n%s\nstream:\n%s", diff, out)
	}
	for i := range again.formats {
		if !again.formats[i].Equal(res.formats[i]) {
			t.Fatalf("record %d: format %q read back as %q", i, res.formats[i].Header(), again.formats[i].Header())
		}
	}
}

// checkTranscode compares Transcode with what the sequential Reader read
// (res, wantErr), each record written as one text line.
func checkTranscode(t *testing.T, data []byte, opt Options, res readResult, wantErr error) {
	t.Helper()
	var want bytes.Buffer
	for i := range res.recs {
		want.Write(append(flow.AppendText(nil, res.formats[i], &res.recs[i]), '\n'))
	}
	var got bytes.Buffer
	st, err := Transcode(&got, bytes.NewReader(data), opt, TranscodeOptions{Encoding: EncText, Workers: 2})
	if errString(err) != errString(wantErr) {
		t.Fatalf("lenient=%v: Transcode error %v, Reader error %v", opt.Lenient, err, wantErr)
	}
	if got.String() != want.String() {
		t.Fatalf("lenient=%v: Transcode wrote\n%q\nReader wrote\n%q", opt.Lenient, got.String(), want.String())
	}
	if err == nil && (st.Records != res.stats.Records || st.Skipped != res.stats.Skipped || st.Headers != res.stats.Headers) {
		t.Fatalf("lenient=%v: Transcode stats %+v, Reader stats %+v", opt.Lenient, st, res.stats)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
