package vpc

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// serviceTable answers ServiceRanges.Lookup with a binary search over
// disjoint address intervals, each with the service its addresses get. The
// real ip-ranges.json has thousands of prefixes and every new flow looks
// up both of its addresses at each hop, so a scan of the prefixes is too
// slow.
type serviceTable struct {
	v4, v6 []serviceSpan
}

// serviceSpan is the interval [lo, hi] of 128-bit addresses (IPv4 in its
// own table, as the low 32 bits).
type serviceSpan struct {
	lo, hi  u128
	service string
}

type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) next() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

func (a u128) prev() u128 {
	if a.lo == 0 {
		return u128{a.hi - 1, ^uint64(0)}
	}
	return u128{a.hi, a.lo - 1}
}

var u128Max = u128{^uint64(0), ^uint64(0)}

func u128Of(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{0, uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// prefixSpan is a masked prefix as an interval, with its service.
type prefixSpan struct {
	lo, hi  u128
	bits    int
	service string
}

func spanOf(p netip.Prefix, service string) prefixSpan {
	lo := u128Of(p.Addr())
	host := p.Addr().BitLen() - p.Bits() // host bits
	var mask u128
	switch {
	case host >= 128:
		mask = u128Max
	case host >= 64:
		mask = u128{1<<(host-64) - 1, ^uint64(0)}
	default:
		mask = u128{0, 1<<host - 1}
	}
	return prefixSpan{lo: lo, hi: u128{lo.hi | mask.hi, lo.lo | mask.lo}, bits: p.Bits(), service: service}
}

// newServiceTable builds the intervals of ranges (masked, in Lookup's
// order of preference: longest prefix first, a specific service before
// AMAZON at equal length). Prefixes are nested or disjoint, so one sweep
// with a stack of the prefixes that contain the current address finds
// every interval: the innermost non-AMAZON prefix of the stack names its
// service, else AMAZON when any AMAZON prefix contains it.
func newServiceTable(ranges []ServiceRange) *serviceTable {
	var v4, v6 []prefixSpan
	seen := map[netip.Prefix]bool{}
	for _, r := range ranges {
		if !r.Prefix.IsValid() || seen[r.Prefix] {
			continue // the first of identical prefixes is preferred
		}
		seen[r.Prefix] = true
		s := spanOf(r.Prefix, r.Service)
		if r.Prefix.Addr().Is4() {
			v4 = append(v4, s)
		} else {
			v6 = append(v6, s)
		}
	}
	return &serviceTable{v4: sweepSpans(v4), v6: sweepSpans(v6)}
}

func sweepSpans(ps []prefixSpan) []serviceSpan {
	// Outer prefixes first at the same start: they contain the inner ones.
	slices.SortStableFunc(ps, func(a, b prefixSpan) int {
		if c := a.lo.cmp(b.lo); c != 0 {
			return c
		}
		return cmp.Compare(a.bits, b.bits)
	})
	var (
		out   []serviceSpan
		stack []prefixSpan
		cur   u128 // first address not yet emitted, when the stack is not empty
		atEnd bool // the last address (all ones) is emitted: nothing follows
	)
	emit := func(hi u128) {
		svc := ""
		for i := len(stack) - 1; i >= 0; i-- {
			if s := stack[i].service; s != "AMAZON" {
				svc = s
				break
			} else if svc == "" {
				svc = s
			}
		}
		if n := len(out); n > 0 && out[n-1].service == svc && out[n-1].hi.next() == cur && out[n-1].hi != u128Max {
			out[n-1].hi = hi
		} else {
			out = append(out, serviceSpan{lo: cur, hi: hi, service: svc})
		}
	}
	// pop closes the innermost prefix: its addresses not yet emitted are
	// emitted with the stack as it is.
	pop := func() {
		top := stack[len(stack)-1]
		if !atEnd && cur.cmp(top.hi) <= 0 {
			emit(top.hi)
		}
		stack = stack[:len(stack)-1]
		if top.hi == u128Max {
			atEnd = true // cur cannot move past it
		} else {
			cur = top.hi.next()
		}
	}
	for _, p := range ps {
		for len(stack) > 0 && stack[len(stack)-1].hi.cmp(p.lo) < 0 {
			pop()
		}
		if len(stack) > 0 && cur.cmp(p.lo) < 0 {
			emit(p.lo.prev())
		}
		stack = append(stack, p)
		cur = p.lo
	}
	for len(stack) > 0 {
		pop()
	}
	return out
}

// lookup returns the service of a ("" for none). Prefixes have no zone,
// so a zoned address is in none of them.
func (t *serviceTable) lookup(a netip.Addr) string {
	if a.Zone() != "" {
		return ""
	}
	spans := t.v6
	if a.Is4() {
		spans = t.v4
	}
	x := u128Of(a)
	// The last span that starts at or before x.
	i, _ := slices.BinarySearchFunc(spans, x, func(s serviceSpan, x u128) int {
		if s.lo.cmp(x) <= 0 {
			return -1
		}
		return 1
	})
	if i == 0 {
		return ""
	}
	if s := &spans[i-1]; x.cmp(s.hi) <= 0 {
		return s.service
	}
	return ""
}
