package traffic

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Dist is a distribution of sizes (bytes) or counts, written in scenarios as
// "1200", "fixed(1200)", "uniform(100, 2000)", "exp(500)" (mean) or
// "lognormal(900, 0.6)" (median and sigma of the underlying normal).
type Dist struct {
	kind distKind
	a, b float64
}

type distKind uint8

const (
	distFixed distKind = iota
	distUniform
	distExp
	distLogNormal
)

// Fixed returns the constant distribution v.
func Fixed(v float64) Dist { return Dist{kind: distFixed, a: v} }

// ParseDist parses the text form of a distribution.
func ParseDist(s string) (Dist, error) {
	s = strings.TrimSpace(s)
	if v, err := parseQuantity(s); err == nil {
		return bounded(s, Fixed(v))
	}
	name, rest, ok := strings.Cut(s, "(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return Dist{}, fmt.Errorf("invalid distribution %q: expected a number or fixed(v), uniform(min, max), exp(mean), lognormal(median, sigma)", s)
	}
	var args []float64
	for _, f := range strings.Split(strings.TrimSuffix(rest, ")"), ",") {
		v, err := parseQuantity(strings.TrimSpace(f))
		if err != nil {
			return Dist{}, fmt.Errorf("invalid distribution %q: %v", s, err)
		}
		args = append(args, v)
	}
	want := map[string]int{"fixed": 1, "uniform": 2, "exp": 1, "lognormal": 2}
	n, known := want[strings.TrimSpace(name)]
	if !known {
		return Dist{}, fmt.Errorf("unknown distribution %q: expected fixed, uniform, exp or lognormal", name)
	}
	if len(args) != n {
		return Dist{}, fmt.Errorf("invalid distribution %q: %s takes %d argument(s)", s, name, n)
	}
	for _, v := range args {
		if v < 0 {
			return Dist{}, fmt.Errorf("invalid distribution %q: arguments must not be negative", s)
		}
	}
	var d Dist
	switch strings.TrimSpace(name) {
	case "fixed":
		d = Fixed(args[0])
	case "uniform":
		if args[0] > args[1] {
			return Dist{}, fmt.Errorf("invalid distribution %q: min is above max", s)
		}
		d = Dist{kind: distUniform, a: args[0], b: args[1]}
	case "exp":
		d = Dist{kind: distExp, a: args[0]}
	default:
		d = Dist{kind: distLogNormal, a: args[0], b: args[1]}
	}
	return bounded(s, d)
}

// bounded returns d unless its mean is negative (a bare "-10"), above
// maxMean, or NaN (lognormal(0, 100) is 0·∞).
func bounded(s string, d Dist) (Dist, error) {
	if m := d.Mean(); !(m >= 0 && m <= maxMean) {
		return Dist{}, fmt.Errorf("invalid distribution %q: want a mean from 0 to %g", s, maxMean)
	}
	return d, nil
}

// maxMean bounds a distribution's mean (bytes, requests: an exabyte is far
// beyond any workload). It keeps every sample finite: the normal and
// exponential draws are bounded (|N| < 15, E < 50), so a lognormal sample
// is below mean·e^98 and an exponential one below 50·mean.
const maxMean = 1e18

// Upper bounds of what a scenario may ask for, so that a typo (1e17 for
// 1e7) is an error at its line instead of a run that exhausts memory or
// never ends. Each is far beyond any workload worth simulating.
const (
	// maxRequests bounds a connection's request/response exchanges: a
	// TCP connection keeps the sizes of all of them (1.6 MB at the
	// bound).
	maxRequests = 100_000
	// maxMessage bounds the bytes of one request or response (a
	// terabyte: 22 hours to transfer at the engine's 100 Mbit/s; far
	// more would overflow the transfer time).
	maxMessage = 1e12
	// maxRate bounds a workload's conversations per second (864 million
	// a day).
	maxRate = 10_000
	// maxBulk bounds an exfiltration's volume (a petabyte).
	maxBulk = 1e15
	// maxInternetHosts bounds the scenario's pool of public hosts, which
	// is built up front.
	maxInternetHosts = 100_000
)

// upper is the largest value d draws: +Inf for exp and lognormal.
func (d Dist) upper() float64 {
	switch d.kind {
	case distFixed:
		return d.a
	case distUniform:
		return d.b
	}
	return math.Inf(1)
}

// parseQuantity parses a number with an optional K/M/G (decimal, also KB,
// MB, GB) or KiB/MiB/GiB suffix.
func parseQuantity(s string) (float64, error) {
	mult := 1.0
	u := strings.ToUpper(s)
	for _, sfx := range []struct {
		s string
		m float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}} {
		if strings.HasSuffix(u, sfx.s) {
			mult = sfx.m
			u = strings.TrimSpace(strings.TrimSuffix(u, sfx.s))
			break
		}
	}
	v, err := strconv.ParseFloat(u, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v*mult, 0) {
		return 0, fmt.Errorf("invalid number %q", s)
	}
	return v * mult, nil
}

// Sample draws one value, never negative.
func (d Dist) Sample(r *rand.Rand) float64 {
	var v float64
	switch d.kind {
	case distFixed:
		v = d.a
	case distUniform:
		v = d.a + r.Float64()*(d.b-d.a)
	case distExp:
		v = r.ExpFloat64() * d.a
	case distLogNormal:
		v = d.a * math.Exp(r.NormFloat64()*d.b)
	}
	return max(v, 0)
}

// Mean is the expected value.
func (d Dist) Mean() float64 {
	switch d.kind {
	case distUniform:
		return (d.a + d.b) / 2
	case distExp:
		return d.a
	case distLogNormal:
		return d.a * math.Exp(d.b*d.b/2)
	}
	return d.a
}

// Rate is events per second, written "3/s", "120/m", "5000/h", "2000/d" or a
// plain number (per second).
type Rate float64

// ParseRate parses the text form of a rate.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	num, unit, hasUnit := strings.Cut(s, "/")
	v, err := parseQuantity(strings.TrimSpace(num))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid rate %q: expected N/s, N/m, N/h or N/d", s)
	}
	if !hasUnit {
		return Rate(v), nil
	}
	per := map[string]float64{"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}[strings.TrimSpace(unit)]
	if per == 0 {
		return 0, fmt.Errorf("invalid rate %q: unit must be s, m, h or d", s)
	}
	return Rate(v / per), nil
}

// Diurnal is a daily rate shape: the rate peaks at Peak (time of day, UTC)
// and falls to Trough times the peak twelve hours later, following a cosine.
// The zero Diurnal is flat.
type Diurnal struct {
	Peak   time.Duration // since midnight
	Trough float64       // 0..1; 0 with Enabled false means flat
	On     bool
}

// Factor returns the rate multiplier (Trough..1) at t.
func (d Diurnal) Factor(t time.Time) float64 {
	if !d.On {
		return 1
	}
	h, m, s := t.Clock()
	tod := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second
	phase := 2 * math.Pi * float64(tod-d.Peak) / float64(24*time.Hour)
	return d.Trough + (1-d.Trough)*(1+math.Cos(phase))/2
}
