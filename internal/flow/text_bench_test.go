package flow

import "testing"

var benchLines = [][]byte{
	[]byte("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK"),
	[]byte("2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK"),
	[]byte("2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"),
	[]byte("2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK"),
}

// BenchmarkDecodeDefault decodes default-format lines; one op is one line.
func BenchmarkDecodeDefault(b *testing.B) {
	d := NewDecoder(DefaultFormat)
	var r Record
	var n int64
	for _, l := range benchLines {
		n += int64(len(l))
	}
	b.SetBytes(n / int64(len(benchLines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := d.Decode(benchLines[i%len(benchLines)], &r); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkEncode encodes default-format records; one op is one line.
func BenchmarkEncode(b *testing.B) {
	recs := make([]Record, len(benchLines))
	for i, l := range benchLines {
		if err := NewDecoder(DefaultFormat).Decode(l, &recs[i]); err != nil {
			b.Fatal(err)
		}
	}
	for _, enc := range []struct {
		name string
		fn   func([]byte, Format, *Record) []byte
	}{{"text", AppendText}, {"csv", AppendCSV}, {"json", AppendJSON}} {
		b.Run(enc.name, func(b *testing.B) {
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf = enc.fn(buf[:0], DefaultFormat, &recs[i%len(recs)])
				i++
			}
		})
	}
}
