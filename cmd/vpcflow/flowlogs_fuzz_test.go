package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzDestinationOptions checks that --destination-options never panics
// and that what it accepts reads back the same from its JSON form and, when
// the shorthand can spell it, from Key=Value,… shorthand.
func FuzzDestinationOptions(f *testing.F) {
	f.Add("FileFormat=parquet,HiveCompatiblePartitions=true,PerHourPartition=false")
	f.Add(`{"FileFormat":"plain-text","PerHourPartition":true}`)
	f.Add("FileFormat=parquet,PerHour=true")
	f.Add("FileFormat=a=b, PerHourPartition=1")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDestinationOptions(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if !utf8.ValidString(s) {
			return // JSON cannot spell it
		}
		readsBack(t, "JSON", jsonOf(d), d, parseDestinationOptions)
		if strings.Contains(d.FileFormat, ",") || strings.TrimSpace(d.FileFormat) != d.FileFormat {
			return // the shorthand cannot spell it
		}
		short := fmt.Sprintf("FileFormat=%s,HiveCompatiblePartitions=%t,PerHourPartition=%t", d.FileFormat, d.HiveCompatiblePartitions, d.PerHourPartition)
		readsBack(t, "shorthand", short, d, parseDestinationOptions)
	})
}

// FuzzFilters checks --filter: no panics, and an accepted filter list reads
// back the same from its JSON form and (for shorthand input) from the
// shorthand it prints as.
func FuzzFilters(f *testing.F) {
	f.Add("Name=resource-id,Values=vpc-1,vpc-2")
	f.Add("Name=tag:Name,Values=")
	f.Add(`[{"Name":"resource-id","Values":["vpc-1"]},{"Name":"traffic-type","Values":["ALL"]}]`)
	f.Add(`{"Name":"log-destination-type","Values":null}`)
	f.Add("Name=,Values=x")
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := parseFilters(s)
		if err != nil || !utf8.ValidString(s) {
			return // JSON cannot spell invalid UTF-8
		}
		readsBack(t, "JSON", jsonOf(fs), fs, parseFilters)
		if isJSON(s) {
			return
		}
		readsBack(t, "shorthand", "Name="+fs[0].Name+",Values="+strings.Join(fs[0].Values, ","), fs, parseFilters)
	})
}

// FuzzTagSpecifications checks --tag-specifications the same way, for the
// tags the shorthand can spell (no braces, brackets or ",Value=" inside).
func FuzzTagSpecifications(f *testing.F) {
	f.Add("ResourceType=vpc-flow-log,Tags=[{Key=Name,Value=web},{Key=team,Value=}]")
	f.Add(`[{"ResourceType":"vpc-flow-log","Tags":[{"Key":"a","Value":"b"}]}]`)
	f.Add("ResourceType=vpc-flow-log,Tags=[{Key=k}]")
	f.Add("ResourceType=vpc-flow-log,Tags=[]")
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := parseTagSpecifications(s)
		if err != nil || !utf8.ValidString(s) {
			return // JSON cannot spell invalid UTF-8
		}
		readsBack(t, "JSON", jsonOf(ts), ts, parseTagSpecifications)
		if isJSON(s) {
			return
		}
		spec := ts[0]
		items := make([]string, len(spec.Tags))
		for i, tag := range spec.Tags {
			if !shorthandSafe(tag.Key) || !shorthandSafe(tag.Value) || strings.Contains(tag.Key, ",Value=") {
				return
			}
			items[i] = "{Key=" + tag.Key + ",Value=" + tag.Value + "}"
		}
		readsBack(t, "shorthand", "ResourceType="+spec.ResourceType+",Tags=["+strings.Join(items, ",")+"]", ts, parseTagSpecifications)
	})
}

// readsBack checks that text (the form spelling of want) parses to want.
func readsBack[T any](t *testing.T, form, text string, want T, parse func(string) (T, error)) {
	t.Helper()
	got, err := parse(text)
	if err != nil || !cmp.Equal(got, want, cmpopts.EquateEmpty()) {
		t.Fatalf("%s %q reads back as %+v, %v; want %+v", form, text, got, err, want)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func isJSON(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{")
}

func shorthandSafe(s string) bool {
	return !strings.ContainsAny(s, "{}[]") && strings.TrimSpace(s) == s
}
