package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Charts are rendered on the server as inline SVG: they need no JavaScript,
// print well and stay readable in a headless browser screenshot.

// Series is one line of a time chart.
type Series struct {
	Name   string
	Color  string
	Values []float64
}

// timeChart draws series over shared time buckets as lines with a light
// area under the first series.
func timeChart(times []time.Time, series []Series, width, height int) template.HTML {
	const padL, padR, padT, padB = 56, 12, 30, 28
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="time series" xmlns="http://www.w3.org/2000/svg">`, width, height)
	if len(times) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="empty">no data in this range</text></svg>`, width/2-50, height/2)
		return template.HTML(b.String())
	}
	maxV := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			maxV = math.Max(maxV, v)
		}
	}
	maxV = niceCeil(maxV)
	if maxV < 4 {
		maxV = 4 // counts: keep the four grid steps on whole numbers
	}
	pw, ph := float64(width-padL-padR), float64(height-padT-padB)
	x := func(i int) float64 {
		if len(times) == 1 {
			return padL + pw/2
		}
		return padL + pw*float64(i)/float64(len(times)-1)
	}
	y := func(v float64) float64 { return padT + ph - ph*v/maxV }
	// Grid and y labels.
	for i := 0; i <= 4; i++ {
		v := maxV * float64(i) / 4
		fmt.Fprintf(&b, `<line class="grid" x1="%d" x2="%d" y1="%.1f" y2="%.1f"/>`, padL, width-padR, y(v), y(v))
		fmt.Fprintf(&b, `<text class="axis" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-6, y(v)+4, humanNumber(v))
	}
	// X labels: about five.
	step := max(1, len(times)/5)
	for i := 0; i < len(times); i += step {
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%d" text-anchor="middle">%s</text>`, x(i), height-8, times[i].UTC().Format("01-02 15:04"))
	}
	for si, s := range series {
		var pts []string
		for i, v := range s.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		if si == 0 && len(pts) > 1 {
			fmt.Fprintf(&b, `<polygon class="area" fill="%s" points="%.1f,%.1f %s %.1f,%.1f"/>`, s.Color, x(0), y(0), strings.Join(pts, " "), x(len(pts)-1), y(0))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"><title>%s</title></polyline>`, s.Color, strings.Join(pts, " "), template.HTMLEscapeString(s.Name))
	}
	// Legend, above the plot area.
	lx := padL
	for _, s := range series {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text class="legend" x="%d" y="%d">%s</text>`, lx, 6, s.Color, lx+14, 15, template.HTMLEscapeString(s.Name))
		lx += 14 + 8*len(s.Name) + 16
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// Bar is one bar of a bar chart.
type Bar struct {
	Label string
	Value float64
	Href  string // optional link
}

// barChart draws horizontal bars, largest first as given.
func barChart(bars []Bar, color string, width int) template.HTML {
	const rowH, labelW, valueW = 22, 190, 70
	height := max(rowH*len(bars)+4, 30)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart bars" viewBox="0 0 %d %d" role="img" aria-label="bar chart" xmlns="http://www.w3.org/2000/svg">`, width, height)
	if len(bars) == 0 {
		fmt.Fprintf(&b, `<text x="10" y="20" class="empty">nothing to show</text></svg>`)
		return template.HTML(b.String())
	}
	maxV := 0.0
	for _, bar := range bars {
		maxV = math.Max(maxV, bar.Value)
	}
	if maxV == 0 {
		maxV = 1
	}
	span := float64(width - labelW - valueW)
	for i, bar := range bars {
		y := i*rowH + 2
		w := math.Max(1, span*bar.Value/maxV)
		label := template.HTMLEscapeString(bar.Label)
		if bar.Href != "" {
			label = fmt.Sprintf(`<a href="%s">%s</a>`, template.HTMLEscapeString(bar.Href), label)
		}
		fmt.Fprintf(&b, `<text class="label" x="%d" y="%d" text-anchor="end">%s</text>`, labelW-6, y+15, label)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s</title></rect>`, labelW, y+3, w, rowH-6, color, template.HTMLEscapeString(bar.Label), humanNumber(bar.Value))
		fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%d">%s</text>`, float64(labelW)+w+6, y+15, humanNumber(bar.Value))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// bucketWidth picks a round bucket width that splits span into at most
// about n buckets, so that regular traffic draws as a steady line.
func bucketWidth(span time.Duration, n int) time.Duration {
	for _, w := range []time.Duration{time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour} {
		if span/w <= time.Duration(n) {
			return w
		}
	}
	return (span / time.Duration(n)).Truncate(24 * time.Hour)
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// humanNumber prints 1234567 as 1.2M.
func humanNumber(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e12:
		return trimZero(fmt.Sprintf("%.1fT", v/1e12))
	case a >= 1e9:
		return trimZero(fmt.Sprintf("%.1fG", v/1e9))
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1fM", v/1e6))
	case a >= 1e4:
		return trimZero(fmt.Sprintf("%.1fk", v/1e3))
	case a == math.Trunc(a):
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.2f", v)
}

func trimZero(s string) string { return strings.Replace(s, ".0", "", 1) }
