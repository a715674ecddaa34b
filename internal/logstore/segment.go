package logstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// On-disk layout. The store is a directory of append-only segment files
// seg-NNNNNNNN.log. A segment is a sequence of blocks:
//
//	magic "VLB1" | crc32c(payload) u32le | payload length u32le | payload
//
// A payload is:
//
//	kind u8 | uvarint len + log group | uvarint len + log stream |
//	varint minTs | varint maxTs | uvarint count | events…
//
// and an event is varint timestamp | varint ingestion time | uvarint len +
// message. Events inside a block are sorted by timestamp (stable). One
// Append writes one block per log stream it touches, all in one write,
// followed by an fsync.
//
// kind 1 (delete group) has no events: it removes the group and every
// stream in it from the index as of that point of the log. The high bit
// of kind (lastOfAppend) marks the last block of each Append or delete, so
// that Open can tell a torn last append (damage with only blocks of that
// append after it) from damage with later appends after it.
//
// The index (group → stream → blocks with their time bounds) is rebuilt at
// Open by reading the block headers only; the tail of the last segment is
// verified with the checksums and a torn block (a crash during a write) is
// truncated away, so what was acknowledged is exactly what is readable.

const (
	blockMagic    = "VLB1"
	frameLen      = 12
	kindEvents    = 0
	kindDelete    = 1
	lastOfAppend  = 0x80 // flag on kind
	maxHeaderPeek = 4096
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by errors about damaged segment data.
var ErrCorrupt = errors.New("logstore: corrupt segment")

func segmentName(n int) string { return fmt.Sprintf("seg-%08d.log", n) }

// IsSegmentName reports whether name is a segment file's (seg-NNNNNNNN.log):
// readers of a data directory skip them, and an empty store holds nothing
// else.
func IsSegmentName(name string) bool {
	_, ok := segmentNumber(name)
	return ok
}

func segmentNumber(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, "seg-")
	if digits, ok = strings.CutSuffix(digits, ".log"); !ok || digits == "" {
		return 0, false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

func listSegments(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ns []int
	for _, e := range ents {
		if n, ok := segmentNumber(e.Name()); ok {
			ns = append(ns, n)
		}
	}
	sort.Ints(ns)
	return ns, nil
}

// blockHeader is the decoded head of a block payload.
type blockHeader struct {
	kind          byte
	group, stream string
	minTs, maxTs  int64
	count         int
	bodyOff       int  // offset of the first event inside the payload
	last          bool // the last block of its append (lastOfAppend)
}

func parseBlockHeader(p []byte) (blockHeader, error) {
	var h blockHeader
	if len(p) < 1 {
		return h, fmt.Errorf("%w: empty block", ErrCorrupt)
	}
	h.kind, h.last = p[0]&^lastOfAppend, p[0]&lastOfAppend != 0
	i := 1
	readStr := func() (string, bool) {
		n, k := binary.Uvarint(p[i:])
		if k <= 0 || uint64(len(p)-i-k) < n {
			return "", false
		}
		s := string(p[i+k : i+k+int(n)])
		i += k + int(n)
		return s, true
	}
	readVar := func() (int64, bool) {
		v, k := binary.Varint(p[i:])
		if k <= 0 {
			return 0, false
		}
		i += k
		return v, true
	}
	var ok bool
	if h.group, ok = readStr(); !ok {
		return h, fmt.Errorf("%w: bad group name", ErrCorrupt)
	}
	if h.stream, ok = readStr(); !ok {
		return h, fmt.Errorf("%w: bad stream name", ErrCorrupt)
	}
	if h.minTs, ok = readVar(); !ok {
		return h, fmt.Errorf("%w: bad time bound", ErrCorrupt)
	}
	if h.maxTs, ok = readVar(); !ok {
		return h, fmt.Errorf("%w: bad time bound", ErrCorrupt)
	}
	c, k := binary.Uvarint(p[i:])
	if k <= 0 {
		return h, fmt.Errorf("%w: bad count", ErrCorrupt)
	}
	i += k
	h.count = int(c)
	h.bodyOff = i
	return h, nil
}

// appendBlock encodes a block of events (already sorted by timestamp) for
// one stream.
func appendBlock(dst []byte, kind byte, group, stream string, evs []*Event) []byte {
	start := len(dst)
	dst = append(dst, blockMagic...)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	p := len(dst)
	dst = append(dst, kind)
	dst = binary.AppendUvarint(dst, uint64(len(group)))
	dst = append(dst, group...)
	dst = binary.AppendUvarint(dst, uint64(len(stream)))
	dst = append(dst, stream...)
	var minTs, maxTs int64
	if len(evs) > 0 {
		minTs, maxTs = evs[0].Timestamp, evs[len(evs)-1].Timestamp
	}
	dst = binary.AppendVarint(dst, minTs)
	dst = binary.AppendVarint(dst, maxTs)
	dst = binary.AppendUvarint(dst, uint64(len(evs)))
	for _, e := range evs {
		dst = binary.AppendVarint(dst, e.Timestamp)
		dst = binary.AppendVarint(dst, e.IngestionTime)
		dst = binary.AppendUvarint(dst, uint64(len(e.Message)))
		dst = append(dst, e.Message...)
	}
	payload := dst[p:]
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	binary.LittleEndian.PutUint32(dst[start+8:], uint32(len(payload)))
	return dst
}

// decodeEvents decodes the events of a block payload into dst.
func decodeEvents(dst []Event, p []byte, h blockHeader) ([]Event, error) {
	i := h.bodyOff
	for n := 0; n < h.count; n++ {
		ts, k := binary.Varint(p[i:])
		if k <= 0 {
			return dst, fmt.Errorf("%w: bad event timestamp", ErrCorrupt)
		}
		i += k
		ing, k := binary.Varint(p[i:])
		if k <= 0 {
			return dst, fmt.Errorf("%w: bad ingestion time", ErrCorrupt)
		}
		i += k
		ml, k := binary.Uvarint(p[i:])
		if k <= 0 || uint64(len(p)-i-k) < ml {
			return dst, fmt.Errorf("%w: bad message length", ErrCorrupt)
		}
		i += k
		dst = append(dst, Event{LogGroup: h.group, LogStream: h.stream, Timestamp: ts, IngestionTime: ing,
			Message: string(p[i : i+int(ml)])})
		i += int(ml)
	}
	return dst, nil
}

// segBlock is a block found while loading a segment.
type segBlock struct {
	off    int64 // offset of the payload in the segment
	length int32
	hdr    blockHeader
}

// scanSegment reads the block headers of a segment. With verify, payloads
// are read and checksummed; the scan stops at the first bad or torn block
// and returns the offset where valid data ends.
func scanSegment(f *os.File, size int64, verify bool) ([]segBlock, int64, error) {
	var blocks []segBlock
	var frame [frameLen]byte
	var buf []byte
	off := int64(0)
	for off < size {
		if size-off < frameLen {
			return blocks, off, nil
		}
		if _, err := f.ReadAt(frame[:], off); err != nil {
			return blocks, off, err
		}
		if string(frame[:4]) != blockMagic {
			return blocks, off, nil
		}
		sum := binary.LittleEndian.Uint32(frame[4:])
		n := int64(binary.LittleEndian.Uint32(frame[8:]))
		if off+frameLen+n > size {
			return blocks, off, nil
		}
		peek := n
		if !verify && peek > maxHeaderPeek {
			peek = maxHeaderPeek
		}
		if int64(cap(buf)) < peek {
			buf = make([]byte, peek)
		}
		buf = buf[:peek]
		if _, err := f.ReadAt(buf, off+frameLen); err != nil && err != io.EOF {
			return blocks, off, err
		}
		if verify && crc32.Checksum(buf, castagnoli) != sum {
			return blocks, off, nil
		}
		h, err := parseBlockHeader(buf)
		if err != nil {
			if verify {
				return blocks, off, nil
			}
			return blocks, off, fmt.Errorf("segment %s offset %d: %w", f.Name(), off, err)
		}
		blocks = append(blocks, segBlock{off: off + frameLen, length: int32(n), hdr: h})
		off += frameLen + n
	}
	return blocks, off, nil
}

// soundBlocksAfter returns the complete blocks with a good checksum and a
// readable header that start after off, whatever lies between them.
func soundBlocksAfter(f *os.File, off, size int64) ([]segBlock, error) {
	if size-off <= frameLen {
		return nil, nil
	}
	rest := make([]byte, size-off-1)
	if _, err := f.ReadAt(rest, off+1); err != nil && err != io.EOF {
		return nil, err
	}
	var found []segBlock
	for i := 0; ; {
		j := bytes.Index(rest[i:], []byte(blockMagic))
		if j < 0 || len(rest)-(i+j) < frameLen {
			return found, nil
		}
		i += j
		n := int(binary.LittleEndian.Uint32(rest[i+8:]))
		if n > 0 && n <= len(rest)-i-frameLen {
			payload := rest[i+frameLen : i+frameLen+n]
			if crc32.Checksum(payload, castagnoli) == binary.LittleEndian.Uint32(rest[i+4:]) {
				if h, err := parseBlockHeader(payload); err == nil {
					found = append(found, segBlock{off: off + 1 + int64(i) + frameLen, length: int32(n), hdr: h})
					i += frameLen + n
					continue
				}
			}
		}
		i++
	}
}

// tornAppend reports whether damage at some offset, with before the sound
// blocks ahead of it and after the sound blocks behind it, is the torn
// last append of a crash: no append completes after the damage (only the
// file's final block may close one). Where no block carries an append
// mark (a segment written before the marks existed, or a torn first
// append that lost its last block) sound blocks after the damage cannot
// be told apart and the store is refused rather than cut.
func tornAppend(before, after []segBlock) bool {
	if len(after) == 0 {
		return true
	}
	marked := false
	for _, b := range slices.Concat(before, after) {
		marked = marked || b.hdr.last
	}
	if !marked {
		return false
	}
	for _, b := range after[:len(after)-1] {
		if b.hdr.last {
			return false
		}
	}
	return true
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func segPath(dir string, n int) string { return filepath.Join(dir, segmentName(n)) }
