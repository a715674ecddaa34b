package alarm

import (
	"math"
	"sort"
	"strings"
)

// MetricKey identifies a metric: namespace, name and dimensions in
// canonical "name=value,…" form (sorted by name).
type MetricKey struct {
	Namespace, Name, Dimensions string
}

func dimString(d map[string]string) string {
	if len(d) == 0 {
		return ""
	}
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(d[k])
	}
	return b.String()
}

// stats is the aggregate of the datapoints of one metric in one minute.
type stats struct {
	count, sum, min, max float64
}

func (s *stats) add(v float64) {
	if s.count == 0 || v < s.min {
		s.min = v
	}
	if s.count == 0 || v > s.max {
		s.max = v
	}
	s.count++
	s.sum += v
}

func (s *stats) merge(o *stats) {
	if o.count == 0 {
		return
	}
	if s.count == 0 || o.min < s.min {
		s.min = o.min
	}
	if s.count == 0 || o.max > s.max {
		s.max = o.max
	}
	s.count += o.count
	s.sum += o.sum
}

func (s *stats) statistic(name string) float64 {
	switch name {
	case "SampleCount":
		return s.count
	case "Average":
		return s.sum / s.count
	case "Sum":
		return s.sum
	case "Minimum":
		return s.min
	case "Maximum":
		return s.max
	}
	return math.NaN()
}

// Metrics stores datapoints aggregated per minute, as CloudWatch reports
// metric filter values every minute. It is not safe for concurrent use.
type Metrics struct {
	data map[MetricKey]map[int64]*stats // minute start (Unix ms) → stats
}

// NewMetrics returns an empty store.
func NewMetrics() *Metrics { return &Metrics{data: map[MetricKey]map[int64]*stats{}} }

// Put adds a datapoint at Unix-ms time ts.
func (m *Metrics) Put(k MetricKey, ts int64, v float64) {
	series := m.data[k]
	if series == nil {
		series = map[int64]*stats{}
		m.data[k] = series
	}
	minute := ts - ((ts%60000)+60000)%60000
	s := series[minute]
	if s == nil {
		s = &stats{}
		series[minute] = s
	}
	s.add(v)
}

// Statistic returns the statistic of metric k over [start, end) (Unix ms),
// and false when there is no datapoint in the range.
func (m *Metrics) Statistic(k MetricKey, start, end int64, statistic string) (float64, bool) {
	var agg stats
	for minute, s := range m.data[k] {
		if minute >= start && minute < end {
			agg.merge(s)
		}
	}
	if agg.count == 0 {
		return 0, false
	}
	return agg.statistic(statistic), true
}

// Keys lists the metrics that have datapoints, sorted.
func (m *Metrics) Keys() []MetricKey {
	out := make([]MetricKey, 0, len(m.data))
	for k := range m.data {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Dimensions < b.Dimensions
	})
	return out
}

// Span returns the first and last minute with data, in Unix ms.
func (m *Metrics) Span() (first, last int64, ok bool) {
	for _, series := range m.data {
		for minute := range series {
			if !ok || minute < first {
				first = minute
			}
			if !ok || minute > last {
				last = minute
			}
			ok = true
		}
	}
	return first, last, ok
}
