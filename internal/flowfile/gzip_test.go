package flowfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// readBoth reads data with the Reader and with Transcode (text output,
// several workers) and checks that they agree on records and error.
func readBoth(t *testing.T, data []byte, opt Options) (string, Stats, error) {
	t.Helper()
	res, rerr := readRecords(data, opt)
	var want strings.Builder
	for i := range res.recs {
		want.WriteString(textLine(res, i))
	}
	var got bytes.Buffer
	st, terr := Transcode(&got, bytes.NewReader(data), opt, TranscodeOptions{Encoding: EncText, Workers: 3})
	if errString(terr) != errString(rerr) {
		t.Fatalf("Transcode error %v, Reader error %v", terr, rerr)
	}
	if got.String() != want.String() {
		t.Fatalf("Transcode wrote %d bytes, Reader %d", got.Len(), want.Len())
	}
	if len(st.Warnings) != len(res.stats.Warnings) {
		t.Fatalf("Transcode warnings %v, Reader warnings %v", st.Warnings, res.stats.Warnings)
	}
	return got.String(), res.stats, rerr
}

func textLine(res readResult, i int) string {
	var b []byte
	b = EncText.Append(b, res.formats[i], &res.recs[i])
	return string(append(b, '\n'))
}

// decodedPrefix is what the gzip library alone gets out of data before
// its error, cut after the last whole line: the text the readers must
// deliver before reporting the error.
func decodedPrefix(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err == nil {
		t.Fatal("the gzip library read the whole stream")
	}
	return text[:bytes.LastIndexByte(text, '\n')+1]
}

func TestGzipTruncatedKeepsWholeLines(t *testing.T) {
	big := gz(t, bigInput(20000))
	for _, cut := range []int{len(big) / 2, len(big) - 9, len(big) - 1, 200} {
		data := big[:cut]
		prefix := decodedPrefix(t, data)
		lines := bytes.Count(prefix, []byte("\n"))
		if cut > 1000 && lines < 1000 {
			t.Fatalf("cut %d: the gzip library decodes only %d lines", cut, lines)
		}
		want, _, err := readBoth(t, prefix, Options{Name: "cut.log.gz"})
		if err != nil {
			t.Fatal(err)
		}
		for _, lenient := range []bool{false, true} {
			got, _, err := readBoth(t, data, Options{Name: "cut.log.gz", Lenient: lenient})
			if got != want {
				t.Errorf("cut %d: %d bytes of records before the error, want %d", cut, len(got), len(want))
			}
			var de *DecompressError
			if !errors.As(err, &de) || !errors.Is(err, io.ErrUnexpectedEOF) || de.Line != lines {
				t.Fatalf("cut %d: err = %#v", cut, err)
			}
			msg := fmt.Sprintf("cut.log.gz: gzip stream truncated (or corrupt before that point) at compressed byte offset %d, after line %d", cut, lines)
			if err.Error() != msg {
				t.Errorf("cut %d: error %q\nwant %q", cut, err, msg)
			}
		}
	}
	// A stream cut inside its header.
	_, _, err := readBoth(t, big[:5], Options{Name: "h.gz"})
	if errString(err) != "h.gz: gzip header truncated at compressed byte offset 0, before the first line" {
		t.Errorf("cut header: %v", err)
	}
	// Or inside the second member's header.
	a := gz(t, defaultHeader+"\n"+sampleLines[0]+"\n")
	_, st, err := readBoth(t, append(a, big[:5]...), Options{Name: "h.gz"})
	if want := fmt.Sprintf("h.gz: gzip header truncated at compressed byte offset %d, after line 2", len(a)); errString(err) != want || st.Records != 1 {
		t.Errorf("cut second header: %v %+v", err, st)
	}
}

func TestGzipCorruptAndChecksum(t *testing.T) {
	a := gz(t, defaultHeader+"\n"+strings.Join(sampleLines, "\n")+"\n")
	// A second member whose first deflate block has the reserved type 3.
	bad := append(append([]byte(nil), a[:10]...), 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	_, st, err := readBoth(t, append(append([]byte(nil), a...), bad...), Options{Name: "c.gz"})
	var de *DecompressError
	if !errors.As(err, &de) || de.Msg != "corrupt deflate data" || de.Line != 6 || st.Records != 5 {
		t.Errorf("corrupt block: %v %+v", err, st)
	}
	if de != nil && (de.Offset <= int64(len(a)+10) || de.Offset > int64(len(a)+len(bad))) {
		t.Errorf("corrupt block at offset %d, member data at %d", de.Offset, len(a)+10)
	}
	// A wrong CRC-32: every line is out before the error.
	crc := append([]byte(nil), a...)
	binary.LittleEndian.PutUint32(crc[len(crc)-8:], 12345)
	_, st, err = readBoth(t, crc, Options{Name: "c.gz"})
	want := fmt.Sprintf("c.gz: gzip CRC-32 or length mismatch (corrupt data) in the member ending at compressed byte offset %d, after line 6", len(crc))
	if errString(err) != want || st.Records != 5 || !errors.Is(err, gzip.ErrChecksum) {
		t.Errorf("bad crc: %v %+v", err, st)
	}
	// Something that starts like a member but is not one is an error,
	// not trailing data: it may be a damaged object.
	hdr := append(append([]byte(nil), a...), 0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0, 'x')
	_, st, err = readBoth(t, hdr, Options{Name: "c.gz"})
	if want := fmt.Sprintf("c.gz: invalid gzip header at compressed byte offset %d, after line 6", len(a)); errString(err) != want || st.Records != 5 {
		t.Errorf("bad second header: %v %+v", err, st)
	}
}

// Bytes after the last member that are not a gzip header end the stream
// with a warning, as gzip(1) ignores them: every member before them was
// complete and checked, so nothing is lost.
func TestGzipTrailingDataIsAWarning(t *testing.T) {
	a := gz(t, bigInput(3000))
	b := gz(t, defaultHeader+"\n"+sampleLines[0]+"\n")
	clean, _, err := readBoth(t, append(append([]byte(nil), a...), b...), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tail string
		msg  string
	}{
		{"\n", `1 byte of trailing data after the last gzip member at compressed byte offset %d (starting "\n")`},
		{"JUNKJUNK", `8 bytes of trailing data after the last gzip member at compressed byte offset %d (starting "JUNKJUNK")`},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", `20 bytes of trailing data after the last gzip member at compressed byte offset %d (starting "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")`},
		{"\x1f", `1 byte of trailing data after the last gzip member at compressed byte offset %d (starting "\x1f")`},
	} {
		data := append(append(append([]byte(nil), a...), b...), tc.tail...)
		for _, lenient := range []bool{false, true} {
			got, st, err := readBoth(t, data, Options{Name: "t.gz", Lenient: lenient})
			if err != nil || got != clean {
				t.Fatalf("%q: %v, %d bytes of records, want %d", tc.tail, err, len(got), len(clean))
			}
			var td *TrailingDataError
			if len(st.Warnings) != 1 || !errors.As(st.Warnings[0], &td) {
				t.Fatalf("%q: warnings %v", tc.tail, st.Warnings)
			}
			if want := "t.gz: ignored " + fmt.Sprintf(tc.msg, len(a)+len(b)); td.Error() != want {
				t.Errorf("warning %q\nwant    %q", td, want)
			}
		}
	}
}
