package logstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func openT(t *testing.T, dir string, seg int64) *Store {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = dir
	if seg > 0 {
		cfg.SegmentBytes = seg
	}
	s, err := Open(cfg, Deps{Now: func() time.Time { return time.UnixMilli(5_000_000) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ev(g, st string, ts int64, msg string) Event {
	return Event{LogGroup: g, LogStream: st, Timestamp: ts, Message: msg}
}

func scanAll(t *testing.T, s *Store, q Query) []string {
	t.Helper()
	var out []string
	if err := s.Scan(t.Context(), q, func(e *Event) error {
		out = append(out, fmt.Sprintf("%s|%s|%d|%s", e.LogGroup, e.LogStream, e.Timestamp, e.Message))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendScanOrderAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, 4096)
	ctx := t.Context()
	// Two appends whose time ranges overlap: scan must interleave them.
	must(t, s.Append(ctx, []Event{ev("g1", "eni-a-all", 3000, "a3"), ev("g1", "eni-a-all", 1000, "a1"), ev("g1", "eni-b-all", 2000, "b2")}))
	must(t, s.Append(ctx, []Event{ev("g1", "eni-a-all", 2000, "a2"), ev("g1", "eni-a-all", 3000, "a3bis"), ev("g2", "eni-a-all", 1, "x")}))
	// Enough data to roll segments.
	var many []Event
	for i := range 200 {
		many = append(many, ev("g3", "eni-c-all", int64(i), fmt.Sprintf("message number %04d with some padding", i)))
	}
	must(t, s.Append(ctx, many[:100]))
	must(t, s.Append(ctx, many[100:]))

	want := []string{"g1|eni-a-all|1000|a1", "g1|eni-a-all|2000|a2", "g1|eni-a-all|3000|a3", "g1|eni-a-all|3000|a3bis", "g1|eni-b-all|2000|b2"}
	got := scanAll(t, s, Query{LogGroups: []string{"g1"}})
	if d := cmp.Diff(got, want); d != "" {
		t.Fatalf("scan (-got +want)\n%s", d)
	}
	got = scanAll(t, s, Query{LogGroups: []string{"g1"}, StreamPrefix: "eni-a", Start: 2000, End: 3000})
	if d := cmp.Diff(got, []string{"g1|eni-a-all|2000|a2"}); d != "" {
		t.Fatalf("range scan (-got +want)\n%s", d)
	}
	before := scanAll(t, s, Query{})
	if len(before) != 206 {
		t.Fatalf("events = %d, want 206", len(before))
	}
	groups := s.LogGroups()
	if len(groups) != 3 || groups[0].Name != "g1" || groups[0].CreationTime != 5_000_000 {
		t.Fatalf("groups = %+v", groups)
	}
	s.Close()

	segs, _ := listSegments(dir)
	if len(segs) < 2 {
		t.Fatalf("segments = %v, want a roll", segs)
	}
	s2 := openT(t, dir, 4096)
	if d := cmp.Diff(scanAll(t, s2, Query{}), before); d != "" {
		t.Fatalf("after restart (-got +want)\n%s", d)
	}
	st, err := s2.LogStreams("g1")
	must(t, err)
	if len(st) != 2 || st[0].Name != "eni-a-all" || st[0].FirstEventTimestamp != 1000 || st[0].LastEventTimestamp != 3000 || st[0].Events != 4 {
		t.Fatalf("streams = %+v", st)
	}
}

func TestTornTailIsTruncated(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, 0)
	must(t, s.Append(t.Context(), []Event{ev("g", "s", 1, "one")}))
	must(t, s.Append(t.Context(), []Event{ev("g", "s", 2, "two")}))
	s.Close()
	p := segPath(dir, 1)
	st, _ := os.Stat(p)
	must(t, os.Truncate(p, st.Size()-3)) // crash in the middle of the second block
	s2 := openT(t, dir, 0)
	if d := cmp.Diff(scanAll(t, s2, Query{}), []string{"g|s|1|one"}); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
	must(t, s2.Append(t.Context(), []Event{ev("g", "s", 3, "three")}))
	s2.Close()
	s3 := openT(t, dir, 0)
	if d := cmp.Diff(scanAll(t, s3, Query{}), []string{"g|s|1|one", "g|s|3|three"}); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
}

func TestGetLogEventsPaging(t *testing.T) {
	s := openT(t, t.TempDir(), 0)
	ctx := t.Context()
	var evs []Event
	for i := range 25 {
		evs = append(evs, ev("g", "s", int64(i/2), fmt.Sprint(i))) // pairs share a timestamp
	}
	must(t, s.Append(ctx, evs[:10]))
	must(t, s.Append(ctx, evs[10:]))

	var got []string
	in := GetLogEventsInput{LogGroup: "g", LogStream: "s", Limit: 4, StartFromHead: true}
	for range 20 {
		out, err := s.GetLogEvents(ctx, in)
		must(t, err)
		for _, e := range out.Events {
			got = append(got, e.Message)
		}
		if out.NextForwardToken == in.NextToken {
			break
		}
		in.NextToken = out.NextForwardToken
	}
	if len(got) != 25 {
		t.Fatalf("forward paging got %d events: %v", len(got), got)
	}
	for i, m := range got {
		if m != fmt.Sprint(i) {
			t.Fatalf("forward order %v", got)
		}
	}
	// Default (no token, StartFromHead false): newest page, then backwards.
	out, err := s.GetLogEvents(ctx, GetLogEventsInput{LogGroup: "g", LogStream: "s", Limit: 10})
	must(t, err)
	if len(out.Events) != 10 || out.Events[0].Message != "15" || out.Events[9].Message != "24" {
		t.Fatalf("newest page = %v", out.Events)
	}
	back, err := s.GetLogEvents(ctx, GetLogEventsInput{LogGroup: "g", LogStream: "s", Limit: 10, NextToken: out.NextBackwardToken})
	must(t, err)
	if len(back.Events) != 10 || back.Events[0].Message != "5" || back.Events[9].Message != "14" {
		t.Fatalf("previous page = %v", back.Events)
	}
	if _, err := s.GetLogEvents(ctx, GetLogEventsInput{LogGroup: "nope", LogStream: "s"}); err == nil {
		t.Fatal("missing group: no error")
	}
}

func TestFilterLogEvents(t *testing.T) {
	s := openT(t, t.TempDir(), 0)
	ctx := t.Context()
	must(t, s.Append(ctx, []Event{
		ev("g", "eni-1-all", 10, "2 1 eni-1 10.0.0.1 10.0.0.2 1 22 6 1 1 10 20 ACCEPT OK"),
		ev("g", "eni-2-all", 5, "2 1 eni-2 10.0.0.3 10.0.0.2 1 22 6 1 1 5 20 REJECT OK"),
		ev("g", "eni-2-all", 30, "2 1 eni-2 10.0.0.3 10.0.0.2 1 443 6 1 1 30 40 ACCEPT OK"),
		ev("g", "eni-1-all", 20, "2 1 eni-1 - - - - - - - 20 80 - NODATA"),
	}))
	out, err := s.FilterLogEvents(ctx, FilterLogEventsInput{LogGroup: "g"})
	must(t, err)
	var ts []int64
	for _, e := range out.Events {
		ts = append(ts, e.Timestamp)
	}
	if d := cmp.Diff(ts, []int64{5, 10, 20, 30}); d != "" {
		t.Fatalf("interleaving (-got +want)\n%s", d)
	}
	accept443 := func(e *Event) bool {
		return strings.Contains(e.Message, "ACCEPT") && !strings.Contains(e.Message, "443 6")
	}
	out, err = s.FilterLogEvents(ctx, FilterLogEventsInput{LogGroup: "g", Match: accept443})
	must(t, err)
	if len(out.Events) != 1 || out.Events[0].Timestamp != 10 {
		t.Fatalf("match = %+v", out.Events)
	}
	// Paging through with limit 1.
	in := FilterLogEventsInput{LogGroup: "g", Limit: 1}
	n := 0
	for {
		out, err := s.FilterLogEvents(ctx, in)
		must(t, err)
		n += len(out.Events)
		if out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	if n != 4 {
		t.Fatalf("paged %d events, want 4", n)
	}
}

func TestSubscribeAndDeleteGroup(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, 0)
	ctx := t.Context()
	sub := s.Subscribe(Query{LogGroups: []string{"g"}}, 4)
	must(t, s.Append(ctx, []Event{ev("g", "a", 1, "x"), ev("other", "a", 1, "y"), ev("g", "b", 2, "z")}))
	got := <-sub.C
	if len(got) != 2 || got[0].Message != "x" || got[1].Message != "z" || got[0].IngestionTime != 5_000_000 {
		t.Fatalf("subscription got %+v", got)
	}
	sub.Close()
	must(t, s.Append(ctx, []Event{ev("g", "a", 3, "after close")})) // must not block
	must(t, s.DeleteLogGroup(ctx, "g"))
	if _, err := s.LogStreams("g"); err == nil {
		t.Fatal("deleted group still listed")
	}
	s.Close()
	s2 := openT(t, dir, 0)
	if d := cmp.Diff(scanAll(t, s2, Query{}), []string{"other|a|1|y"}); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
	sub2 := s2.Subscribe(Query{}, 1)
	s2.Close()
	if _, ok := <-sub2.C; ok {
		t.Fatal("subscription channel not closed with the store")
	}
	_ = filepath.Join
	_ = context.Background
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestIngestTimesSurviveRestart: a store opened on existing data gives
// groups and streams the creation and last ingestion times they had
// (DescribeLogGroups/Streams), not 0.
func TestIngestTimesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	now := int64(1_000_000)
	cfg := DefaultConfig()
	cfg.Dir, cfg.SegmentBytes = dir, 4096
	s, err := Open(cfg, Deps{Now: func() time.Time { return time.UnixMilli(now) }})
	must(t, err)
	for i := range 60 {
		now += 1000
		g := []string{"g1", "g2"}[i%2]
		must(t, s.Append(t.Context(), []Event{ev(g, fmt.Sprintf("eni-%d-all", i%3), int64(i), fmt.Sprintf("message %04d with some padding to roll segments", i))}))
	}
	groups := s.LogGroups()
	streams, err := s.LogStreams("g1")
	must(t, err)
	if groups[0].CreationTime != 1_001_000 || streams[0].LastIngestionTime == streams[0].CreationTime {
		t.Fatalf("before restart: groups %+v, streams %+v", groups, streams)
	}
	s.Close()
	s2, err := Open(cfg, Deps{Now: func() time.Time { return time.UnixMilli(9_000_000) }})
	must(t, err)
	defer s2.Close()
	if d := cmp.Diff(s2.LogGroups(), groups); d != "" {
		t.Errorf("groups after restart (-got +want)\n%s", d)
	}
	streams2, err := s2.LogStreams("g1")
	must(t, err)
	if d := cmp.Diff(streams2, streams); d != "" {
		t.Errorf("streams after restart (-got +want)\n%s", d)
	}
}

// TestDamageIsNotTruncated: a damaged block with sound blocks after it is
// not a torn write: Open refuses the store, naming the segment and the
// offsets, and changes nothing on disk (it used to truncate everything
// from the damaged block on). Read-only opens refuse it too.
func TestDamageIsNotTruncated(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, 0)
	for i := range 50 {
		must(t, s.Append(t.Context(), []Event{ev("g", "s", int64(i), fmt.Sprintf("event %02d", i))}))
	}
	s.Close()
	p := segPath(dir, 1)
	data, err := os.ReadFile(p)
	must(t, err)
	data[len(data)/2] ^= 0x10
	must(t, os.WriteFile(p, data, 0o644))
	for _, ro := range []bool{false, true} {
		cfg := DefaultConfig()
		cfg.Dir, cfg.ReadOnly = dir, ro
		s2, err := Open(cfg, Deps{})
		if err == nil {
			s2.Close()
			t.Fatalf("read-only %v: damaged store opened", ro)
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "seg-00000001.log: damaged block at offset ") || !strings.Contains(err.Error(), "nothing was truncated") {
			t.Errorf("read-only %v: %v", ro, err)
		}
		if after, _ := os.ReadFile(p); !bytes.Equal(after, data) {
			t.Fatalf("read-only %v: the segment changed (%d bytes, was %d)", ro, len(after), len(data))
		}
	}
}

// TestReadOnlyLeavesTornTail: a read-only open reads what is sound, leaves
// a torn tail (perhaps another process's write in progress) on disk, and
// refuses writes.
func TestReadOnlyLeavesTornTail(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, 0)
	must(t, s.Append(t.Context(), []Event{ev("g", "s", 1, "one")}))
	must(t, s.Append(t.Context(), []Event{ev("g", "s", 2, "two")}))
	s.Close()
	p := segPath(dir, 1)
	st, _ := os.Stat(p)
	must(t, os.Truncate(p, st.Size()-3))
	cfg := DefaultConfig()
	cfg.Dir, cfg.ReadOnly = dir, true
	ro, err := Open(cfg, Deps{})
	must(t, err)
	defer ro.Close()
	if d := cmp.Diff(scanAll(t, ro, Query{}), []string{"g|s|1|one"}); d != "" {
		t.Fatalf("(-got +want)\n%s", d)
	}
	if after, _ := os.Stat(p); after.Size() != st.Size()-3 {
		t.Errorf("read-only open changed the segment: %d bytes, was %d", after.Size(), st.Size()-3)
	}
	if err := ro.Append(t.Context(), []Event{ev("g", "s", 3, "three")}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Append: %v, want ErrReadOnly", err)
	}
	if err := ro.DeleteLogGroup(t.Context(), "g"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("DeleteLogGroup: %v, want ErrReadOnly", err)
	}
	cfg.Dir = filepath.Join(dir, "missing")
	if _, err := Open(cfg, Deps{}); err == nil {
		t.Error("read-only open of a missing directory succeeded")
	}
	if _, err := os.Stat(cfg.Dir); err == nil {
		t.Error("read-only open created the directory")
	}
}

// TestTornMultiBlockAppend: one Append writes a block per stream in one
// write; a crash may persist its later blocks and not an earlier one.
// Damage followed only by blocks of that same last append is a torn write:
// Open truncates it away and keeps every earlier append. A header of
// zeros after the damage is not taken for a sound block either.
func TestTornMultiBlockAppend(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(data []byte, lastStart int) []byte
	}{
		{"first block of the last append zeroed", func(data []byte, at int) []byte {
			clear(data[at+frameLen : at+frameLen+40])
			return data
		}},
		{"a frame of zeros after the damage", func(data []byte, at int) []byte {
			data = data[:at+5]
			return append(data, append([]byte(blockMagic), make([]byte, 8)...)...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, 0)
			must(t, s.Append(t.Context(), []Event{ev("g", "a", 1, "one"), ev("g", "b", 1, "one")}))
			st, _ := os.Stat(segPath(dir, 1))
			lastStart := int(st.Size())
			must(t, s.Append(t.Context(), []Event{ev("g", "a", 2, "two"), ev("g", "b", 2, "two"), ev("g", "c", 2, "two")}))
			s.Close()
			p := segPath(dir, 1)
			data, err := os.ReadFile(p)
			must(t, err)
			must(t, os.WriteFile(p, tc.tamper(data, lastStart), 0o644))
			s2 := openT(t, dir, 0)
			if d := cmp.Diff(scanAll(t, s2, Query{}), []string{"g|a|1|one", "g|b|1|one"}); d != "" {
				t.Fatalf("(-got +want)\n%s", d)
			}
			if after, _ := os.Stat(p); after.Size() != int64(lastStart) {
				t.Errorf("segment is %d bytes, want truncated to %d", after.Size(), lastStart)
			}
		})
	}
}

// TestDamageInUnmarkedStore: a segment written before appends were marked
// has no way to tell a torn append from damage, so sound blocks after the
// damage make Open refuse it.
func TestDamageInUnmarkedStore(t *testing.T) {
	dir := t.TempDir()
	var data []byte
	var starts []int
	for i := range 3 {
		starts = append(starts, len(data))
		data = appendBlock(data, kindEvents, "g", "s", []*Event{{LogGroup: "g", LogStream: "s", Timestamp: int64(i), IngestionTime: 1, Message: "m"}})
	}
	for _, damaged := range starts[:2] { // the first block, the second
		bad := slices.Clone(data)
		bad[damaged+frameLen+1] ^= 0xff
		must(t, os.WriteFile(segPath(dir, 1), bad, 0o644))
		cfg := DefaultConfig()
		cfg.Dir = dir
		if _, err := Open(cfg, Deps{}); err == nil || !errors.Is(err, ErrCorrupt) {
			t.Errorf("damage at %d: Open: %v, want ErrCorrupt", damaged, err)
		}
		if after, _ := os.ReadFile(segPath(dir, 1)); !bytes.Equal(after, bad) {
			t.Errorf("damage at %d: the segment changed", damaged)
		}
	}
}

// TestDamagedSealedBlockDoesNotFailOpen: blocks of sealed segments are not
// verified at Open, and one that cannot be decoded for its stream's
// creation time must not fail Open either: only the queries that read it.
func TestDamagedSealedBlockDoesNotFailOpen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, 4096)
	must(t, s.Append(t.Context(), []Event{ev("g", "s", 1, "MSGMARK-first-event-of-the-stream")}))
	for i := range 100 {
		must(t, s.Append(t.Context(), []Event{ev("g", "s", int64(i+2), fmt.Sprintf("later event %03d %s", i, strings.Repeat("padding ", 10)))}))
	}
	s.Close()
	p := segPath(dir, 1)
	data, err := os.ReadFile(p)
	must(t, err)
	i := bytes.Index(data, []byte("MSGMARK"))
	if i < 1 {
		t.Fatal("marker not found")
	}
	data[i-1] = 0x7f // the message's length now runs past its block
	must(t, os.WriteFile(p, data, 0o644))
	cfg := DefaultConfig()
	cfg.Dir, cfg.SegmentBytes = dir, 4096
	if segs, _ := listSegments(dir); len(segs) < 2 {
		t.Fatalf("segments %v: the damaged block must be in a sealed one", segs)
	}
	s2, err := Open(cfg, Deps{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s2.Close()
	if st, err := s2.LogStreams("g"); err != nil || len(st) != 1 || st[0].Events != 101 {
		t.Errorf("streams %+v %v", st, err)
	}
}
