package topn

import (
	"cmp"
	"slices"

	"vpcflow/internal/flow"
)

// CountRecords as TopTalkers' value counts records instead of summing a
// field.
const CountRecords = flow.NumFields

// Talker is one key value and its total.
type Talker struct {
	Key   string
	Value int64
}

// TopTalkers ranks the values of field key by the sum of field value
// (packets, bytes, …) or by record count when value is CountRecords.
// Records without the key (NODATA, SKIPDATA) are skipped. Ties are broken
// by key; at most n talkers are returned.
func TopTalkers(records []flow.Record, key, value flow.FieldID, n int) []Talker {
	sums := map[string]int64{}
	kf := singleField(key)
	var buf []byte
	for i := range records {
		r := &records[i]
		if !r.Has(key) {
			continue
		}
		var v int64 = 1
		if value != CountRecords {
			x, ok := r.Int(value)
			if !ok {
				continue
			}
			v = x
		}
		buf = flow.AppendText(buf[:0], kf, r)
		sums[string(buf)] += v
	}
	out := make([]Talker, 0, len(sums))
	for k, v := range sums {
		out = append(out, Talker{k, v})
	}
	slices.SortFunc(out, func(a, b Talker) int {
		if c := cmp.Compare(b.Value, a.Value); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func singleField(id flow.FieldID) flow.Format {
	f, _ := flow.NewFormat(id)
	return f
}
