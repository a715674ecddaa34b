package flowfile

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func benchInput(b *testing.B, n int) ([]byte, []byte) {
	b.Helper()
	var sb strings.Builder
	sb.WriteString(defaultHeader + "\n")
	for i := range n {
		sb.WriteString(sampleLines[i%len(sampleLines)])
		sb.WriteByte('\n')
	}
	return []byte(sb.String()), gz(b, sb.String())
}

// BenchmarkTranscode measures the parallel read path of `vpcflow logs
// read`; one op is one line.
func BenchmarkTranscode(b *testing.B) {
	const n = 100_000
	plain, zipped := benchInput(b, n)
	for _, in := range []struct {
		name string
		data []byte
	}{{"plain", plain}, {"gzip", zipped}} {
		for _, enc := range []Encoding{EncText, EncCSV, EncJSON} {
			b.Run(in.name+"/"+enc.String(), func(b *testing.B) {
				b.ReportAllocs()
				lines := 0
				for b.Loop() {
					st, err := Transcode(io.Discard, bytes.NewReader(in.data), Options{}, TranscodeOptions{Encoding: enc, Header: true})
					if err != nil {
						b.Fatal(err)
					}
					lines += st.Lines
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
			})
		}
	}
}

// BenchmarkReader measures the sequential Reader (Next/Record).
func BenchmarkReader(b *testing.B) {
	const n = 100_000
	_, zipped := benchInput(b, n)
	b.ReportAllocs()
	lines := 0
	for b.Loop() {
		rd, err := NewReader(bytes.NewReader(zipped), Options{})
		if err != nil {
			b.Fatal(err)
		}
		for rd.Next() {
		}
		if err := rd.Err(); err != nil {
			b.Fatal(err)
		}
		lines += rd.Stats().Lines
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
}

// BenchmarkParquetWrite measures NewParquetWriter; one op is one record.
func BenchmarkParquetWrite(b *testing.B) {
	plain, _ := benchInput(b, 1000)
	recs, f, _, err := ReadAll(bytes.NewReader(plain), Options{})
	if err != nil {
		b.Fatal(err)
	}
	pw, err := NewParquetWriter(io.Discard, f)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := pw.Write(&recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if err := pw.Close(); err != nil {
		b.Fatal(err)
	}
}
