package logstore

import (
	"container/heap"
	"sort"
)

type streamSnap struct {
	group, name string
	blocks      []blockRef
}

// cursor yields the events of one stream in (timestamp, append order)
// order by k-way merging its blocks. Blocks are opened lazily, so memory is
// bounded by the blocks whose time ranges overlap.
type cursor struct {
	s      *Store
	blocks []blockRef // sorted by minTs, then seq
	nextB  int
	h      blockHeap
	buf    []byte
	cur    Event
	n      int
}

type openBlock struct {
	evs []Event
	i   int
	seq uint64
}

type blockHeap []*openBlock

func (h blockHeap) Len() int { return len(h) }
func (h blockHeap) Less(i, j int) bool {
	a, b := h[i].evs[h[i].i].Timestamp, h[j].evs[h[j].i].Timestamp
	if a != b {
		return a < b
	}
	return h[i].seq < h[j].seq
}
func (h blockHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *blockHeap) Push(x any)   { *h = append(*h, x.(*openBlock)) }
func (h *blockHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (s *Store) newCursor(sn *streamSnap) *cursor {
	bs := sn.blocks
	sort.SliceStable(bs, func(i, j int) bool {
		if bs[i].minTs != bs[j].minTs {
			return bs[i].minTs < bs[j].minTs
		}
		return bs[i].seq < bs[j].seq
	})
	return &cursor{s: s, blocks: bs}
}

func (c *cursor) open(b blockRef) error {
	var evs []Event
	var err error
	evs, c.buf, err = c.s.readBlock(evs, b, c.buf)
	if err != nil {
		return err
	}
	if len(evs) > 0 {
		heap.Push(&c.h, &openBlock{evs: evs, seq: b.seq})
	}
	return nil
}

// next returns the next event or nil at the end. The returned pointer is
// valid until the following call.
func (c *cursor) next() (*Event, error) {
	for {
		// Open every block that may hold an event not after the heap's top.
		if c.nextB < len(c.blocks) && (c.h.Len() == 0 || c.blocks[c.nextB].minTs <= c.h[0].evs[c.h[0].i].Timestamp) {
			if err := c.open(c.blocks[c.nextB]); err != nil {
				return nil, err
			}
			c.nextB++
			continue
		}
		if c.h.Len() == 0 {
			return nil, nil
		}
		top := c.h[0]
		c.cur = top.evs[top.i]
		top.i++
		if top.i == len(top.evs) {
			heap.Pop(&c.h)
		} else {
			heap.Fix(&c.h, 0)
		}
		c.n++
		return &c.cur, nil
	}
}
