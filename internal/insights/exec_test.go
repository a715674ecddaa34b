package insights

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"vpcflow/internal/flow"
	"vpcflow/internal/logstore"
)

func flowEvents(n int) Events {
	evs := make(Events, n)
	for i := range evs {
		start := 1700000000 + int64(i)
		evs[i] = logstore.Event{LogGroup: "g", LogStream: "s", Timestamp: start * 1000,
			Message: fmt.Sprintf("2 123456789012 eni-1 10.0.%d.%d 10.1.0.1 %d 443 6 1 %d %d %d ACCEPT OK", i/256%256, i%256, 1024+i%1000, 100+i, start, start+60)}
	}
	return evs
}

func TestDefaultAndMaxLimit(t *testing.T) {
	evs := flowEvents(12000)
	for _, tc := range []struct {
		q    string
		rows int
	}{
		{"fields srcAddr", DefaultLimit},
		{"stats count(*) by srcAddr", DefaultLimit},
		{"fields srcAddr | limit 1200", 1200},
		{"fields srcAddr | limit 10000", MaxLimit},
		{"stats count(*) by srcAddr | limit 10000", MaxLimit},
	} {
		res, err := Execute(t.Context(), evs, tc.q, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != tc.rows {
			t.Errorf("%s: %d rows, want %d", tc.q, len(res.Rows), tc.rows)
		}
	}
	// the default order is newest first
	res, _ := Execute(t.Context(), evs, "fields bytes | limit 2", Options{})
	if got := fmt.Sprint(res.Rows); got != "[[{bytes 12099}] [{bytes 12098}]]" {
		t.Errorf("newest first: %s", got)
	}
}

// TestLimitTakesNewestFirst: a limit (or dedup) that no sort or stats
// precedes takes the newest events, whatever sort or stats follows it: a
// later sort does not change which events the limit kept.
func TestLimitTakesNewestFirst(t *testing.T) {
	evs := flowEvents(1000) // bytes 100 (oldest) to 1099 (newest)
	for q, want := range map[string]string{
		"limit 5 | stats count(*) as n, min(bytes) as lo": "[[{n 5} {lo 1095}]]",
		"fields bytes | limit 2 | sort bytes asc":         "[[{bytes 1098}] [{bytes 1099}]]",
		"fields bytes | sort bytes asc | limit 2":         "[[{bytes 100}] [{bytes 101}]]",
		"fields bytes, srcPort | dedup srcPort | limit 1": "[[{bytes 1099} {srcPort 2023}]]",
	} {
		res, err := Execute(t.Context(), evs, q, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(res.Rows); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
}

// reusingSource hands the same *Event to every call, as a store decoding
// into one buffer may.
type reusingSource struct{ evs Events }

func (s reusingSource) Scan(ctx context.Context, q logstore.Query, fn func(*logstore.Event) error) error {
	var ev logstore.Event
	for _, e := range s.evs {
		ev = e
		if err := fn(&ev); err != nil {
			return err
		}
	}
	return nil
}

func TestSourceReusesEvent(t *testing.T) {
	evs := flowEvents(3000)
	for _, q := range []string{
		"sort bytes desc | fields srcAddr, bytes | limit 3",
		"fields srcAddr, bytes | limit 3",
		"stats max(bytes) as m, latest(srcAddr) as s",
	} {
		want, err := Execute(t.Context(), evs, q, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Execute(t.Context(), reusingSource{evs}, q, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.Rows) != fmt.Sprint(want.Rows) {
			t.Errorf("%s: got %v, want %v", q, got.Rows, want.Rows)
		}
	}
}

type failingSource struct{ err error }

func (s failingSource) Scan(context.Context, logstore.Query, func(*logstore.Event) error) error {
	return s.err
}

func TestSourceErrorAndCancel(t *testing.T) {
	boom := errors.New("disk on fire")
	if _, err := Execute(t.Context(), failingSource{boom}, "stats count(*)", Options{}); !errors.Is(err, boom) {
		t.Errorf("error = %v, want %v", err, boom)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Execute(ctx, flowEvents(10000), "stats count(*)", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled query: error = %v", err)
	}
}

func TestCustomFormat(t *testing.T) {
	f, err := flowFormat("${version} ${vpc-id} ${srcaddr} ${pkt-srcaddr} ${tcp-flags} ${action} ${flow-direction}")
	if err != nil {
		t.Fatal(err)
	}
	evs := Events{{LogGroup: "g", LogStream: "s", Timestamp: 1, Message: "5 vpc-1 10.0.0.1 203.0.113.9 18 ACCEPT ingress"}}
	res, err := Execute(t.Context(), evs, "fields vpcId, pktSrcAddr, tcpFlags + 1 as t, flowDirection", Options{Format: f})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(res.Rows); got != "[[{vpcId vpc-1} {pktSrcAddr 203.0.113.9} {t 19} {flowDirection ingress}]]" {
		t.Errorf("custom format: %s", got)
	}
}

func flowFormat(s string) (flow.Format, error) { return flow.ParseFormat(s) }
