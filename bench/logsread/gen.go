package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"

	"github.com/klauspost/compress/gzip"

	"vpcflow/internal/flow"
	"vpcflow/internal/flowfile"
)

// generate writes n deterministic default-format records (seeded PCG) as an
// S3-style gzip text object: header line, then records. The mix is meant to
// look like a busy VPC: mostly TCP, some UDP, ICMP with ports 0 0, about 5%
// IPv6, 2% REJECT-heavy scans, NODATA and SKIPDATA rows, "unknown"
// account-id for a few service ENIs.
func generate(path string, n int, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, _ := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err := writeRecords(zw, n, seed); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeRecords(w io.Writer, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	lw := flowfile.NewTextWriter(w, flow.DefaultFormat, true)
	accounts := []string{"123456789010", "012345678901", "987654321098"}
	enis := make([]string, 300)
	for i := range enis {
		enis[i] = fmt.Sprintf("eni-%017x", rng.Uint64()&0xfffffffffffffff)
	}
	wellKnown := []int64{22, 53, 80, 123, 443, 3306, 3389, 5432, 6379, 8080, 8443, 9092}
	priv := func() netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
	}
	pub := func() netip.Addr {
		return netip.AddrFrom4([4]byte{byte(1 + rng.IntN(223)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
	}
	v6 := func(prefix uint16) netip.Addr {
		var a [16]byte
		a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
		a[4], a[5] = byte(prefix>>8), byte(prefix)
		for i := 8; i < 16; i++ {
			a[i] = byte(rng.Uint32())
		}
		return netip.AddrFrom16(a)
	}
	t0 := int64(1763800000)
	var r flow.Record
	for i := range n {
		r.Reset()
		eni := rng.IntN(len(enis))
		r.SetInt(flow.FieldVersion, 2)
		acct := accounts[eni%len(accounts)]
		if eni%97 == 0 {
			acct = "unknown"
		}
		r.SetString(flow.FieldAccountID, acct)
		r.SetString(flow.FieldInterfaceID, enis[eni])
		start := t0 + int64(i)/2000 + int64(rng.IntN(60))
		r.SetInt(flow.FieldStart, start)
		r.SetInt(flow.FieldEnd, start+int64(rng.IntN(61)))
		switch p := rng.IntN(1000); {
		case p < 10:
			r.SetLogStatus(flow.StatusNoData)
			if err := lw.Write(&r); err != nil {
				return err
			}
			continue
		case p < 11 || i == n/3: // at least one, for small samples
			r.SetLogStatus(flow.StatusSkipData)
			if err := lw.Write(&r); err != nil {
				return err
			}
			continue
		}
		r.SetLogStatus(flow.StatusOK)
		var src, dst netip.Addr
		if rng.IntN(20) == 0 {
			src, dst = v6(uint16(eni)), v6(uint16(rng.IntN(8)))
		} else if rng.IntN(3) == 0 {
			src, dst = pub(), priv()
		} else {
			src, dst = priv(), priv()
		}
		if rng.IntN(2) == 0 {
			src, dst = dst, src
		}
		r.SetAddr(flow.FieldSrcAddr, src)
		r.SetAddr(flow.FieldDstAddr, dst)
		proto := int64(6)
		switch q := rng.IntN(100); {
		case q < 3:
			proto = 1
		case q < 18:
			proto = 17
		}
		if src.Is6() && proto == 1 {
			proto = 58
		}
		r.SetInt(flow.FieldProtocol, proto)
		if proto == 1 || proto == 58 {
			r.SetInt(flow.FieldSrcPort, 0)
			r.SetInt(flow.FieldDstPort, 0)
		} else {
			svc := wellKnown[rng.IntN(len(wellKnown))]
			eph := int64(32768 + rng.IntN(28232))
			if rng.IntN(2) == 0 {
				r.SetInt(flow.FieldSrcPort, eph)
				r.SetInt(flow.FieldDstPort, svc)
			} else {
				r.SetInt(flow.FieldSrcPort, svc)
				r.SetInt(flow.FieldDstPort, eph)
			}
		}
		pk := int64(1 + rng.IntN(rng.IntN(5000)+1))
		r.SetInt(flow.FieldPackets, pk)
		r.SetInt(flow.FieldBytes, pk*int64(40+rng.IntN(1461)))
		if rng.IntN(50) == 0 {
			r.SetAction(flow.ActionReject)
		} else {
			r.SetAction(flow.ActionAccept)
		}
		if err := lw.Write(&r); err != nil {
			return err
		}
	}
	return lw.Close()
}
