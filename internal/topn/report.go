package topn

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func fmtValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// WriteText renders the report compactly and deterministically (the form
// the script tests compare): the overall list, then each period.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "overall events=%d matched=%d unique=%d\n", r.Events, r.Matched, r.Unique)
	writeList(&b, r.KeyNames, r.Overall)
	for _, p := range r.Periods {
		fmt.Fprintf(&b, "period %s unique=%d total=%s\n", p.Start.Format(time.RFC3339), p.Unique, fmtValue(p.Total))
		writeList(&b, r.KeyNames, p.Top)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeList(b *strings.Builder, names []string, cs []Contributor) {
	for i, c := range cs {
		fmt.Fprintf(b, "  %d", i+1)
		for j, k := range c.Keys {
			fmt.Fprintf(b, " %s=%s", names[j], k)
		}
		fmt.Fprintf(b, " value=%s\n", fmtValue(c.Value))
	}
}

// WriteTable renders the report for people: the overall top contributors,
// then one block per period.
func (r *Report) WriteTable(w io.Writer, perPeriod bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "RANK\t" + strings.Join(r.KeyNames, "\t") + "\t" + strings.ToUpper(r.AggregateOn)
	fmt.Fprintf(tw, "Top contributors (%d events, %d matched, %d unique contributors)\n", r.Events, r.Matched, r.Unique)
	fmt.Fprintln(tw, head)
	for i, c := range r.Overall {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", i+1, strings.Join(c.Keys, "\t"), fmtValue(c.Value))
	}
	if perPeriod {
		for _, p := range r.Periods {
			fmt.Fprintf(tw, "\nPeriod %s (%s, %d unique)\n", p.Start.Format(time.RFC3339), r.Period, p.Unique)
			fmt.Fprintln(tw, head)
			for i, c := range p.Top {
				fmt.Fprintf(tw, "%d\t%s\t%s\n", i+1, strings.Join(c.Keys, "\t"), fmtValue(c.Value))
			}
		}
	}
	return tw.Flush()
}

// WriteJSON writes the report as one JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	type alias Report
	return enc.Encode(struct {
		*alias
		PeriodSeconds int64 `json:"periodSeconds"`
	}{(*alias)(r), int64(r.Period / time.Second)})
}
