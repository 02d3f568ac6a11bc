package match

import (
	"encoding/binary"
	"math"
	"slices"
)

// Posting lists are stored delta- and varint-encoded: each posting is the
// varint of gap<<1 | (tf != 1), followed by the varint of tf when tf is not
// 1. Ids go up, so gaps are small and most postings take one or two bytes
// instead of six.

// appendPosting encodes the posting (id, tf) after the id prev.
func appendPosting(b []byte, prev, id int32, tf uint16) []byte {
	v := uint64(int64(id)-int64(prev)) << 1
	if tf != 1 {
		v |= 1
	}
	b = binary.AppendUvarint(b, v)
	if tf != 1 {
		b = binary.AppendUvarint(b, uint64(tf))
	}
	return b
}

// readPosting decodes the posting at b[off:] that follows the id prev and
// returns its id, its frequency and the offset of the next posting. The
// one-byte cases are inlined into the caller's loop.
func readPosting(b []byte, off int, prev int32) (int32, uint16, int) {
	v := uint64(b[off])
	off++
	if v >= 0x80 {
		v, off = uvarintRest(b, off, v)
	}
	if v&1 == 0 {
		return prev + int32(v>>1), 1, off
	}
	tf := uint64(b[off])
	off++
	if tf >= 0x80 {
		tf, off = uvarintRest(b, off, tf)
	}
	return prev + int32(v>>1), uint16(tf), off
}

// decodeBlock decodes up to len(ids) postings at b[off:] following the id
// prev into ids and tfs, and returns how many it decoded, the offset after
// them and the last id. Hot loops decode a block at a time and then walk
// plain arrays.
func decodeBlock(b []byte, off int, prev int32, ids []int32, tfs []uint16) (int, int, int32) {
	n := 0
	for n < len(ids) && off < len(b) {
		// readPosting, by hand: the compiler does not inline it.
		v := uint64(b[off])
		off++
		if v >= 0x80 {
			v, off = uvarintRest(b, off, v)
		}
		prev += int32(v >> 1)
		tf := uint64(1)
		if v&1 != 0 {
			tf = uint64(b[off])
			off++
			if tf >= 0x80 {
				tf, off = uvarintRest(b, off, tf)
			}
		}
		ids[n], tfs[n] = prev, uint16(tf)
		n++
	}
	return n, off, prev
}

// postingBlock is the number of postings decodeBlock callers decode at a
// time.
const postingBlock = 128

// uvarintRest finishes decoding a varint whose first byte, first, had its
// continuation bit set; b[off] is its second byte.
func uvarintRest(b []byte, off int, first uint64) (uint64, int) {
	v := first & 0x7f
	for shift := uint(7); ; shift += 7 {
		c := b[off]
		off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, off
		}
	}
}

// qList is the list of the questions containing a term, in ascending
// question order. Questions only ever come last, so postings are encoded as
// they arrive; a skip entry every skipEvery postings lets Similar seek.
type qList struct {
	data []byte
	skip []qSkip
	n    int32 // postings
	last int32 // last question index, -1 when empty
}

// qSkip locates a block of skipEvery postings: prev is the question index
// before the block, off the offset of its first posting.
type qSkip struct {
	prev int32
	off  uint32
}

const skipEvery = 64

func (l *qList) add(qi int32, tf uint16) {
	if l.n == 0 {
		l.last = -1
	}
	if l.n%skipEvery == 0 {
		l.skip = append(l.skip, qSkip{prev: l.last, off: uint32(len(l.data))})
	}
	l.data = appendPosting(l.data, l.last, qi, tf)
	l.last = qi
	l.n++
}

// find returns the frequency of question qi in the list (0 if absent).
func (l *qList) find(qi int32) uint16 {
	if l.n == 0 || qi > l.last {
		return 0
	}
	// The last block whose previous question is below qi holds it if any.
	b, _ := slices.BinarySearchFunc(l.skip, qi, func(s qSkip, t int32) int {
		if s.prev < t {
			return -1
		}
		return 1
	})
	b--
	end := len(l.data)
	if b+1 < len(l.skip) {
		end = int(l.skip[b+1].off)
	}
	id, off := l.skip[b].prev, int(l.skip[b].off)
	for off < end {
		var tf uint16
		id, tf, off = readPosting(l.data, off, id)
		if id >= qi {
			if id == qi {
				return tf
			}
			return 0
		}
	}
	return 0
}

func (l *qList) clip() {
	l.data = slices.Clip(slices.Clone(l.data))
	l.skip = slices.Clone(l.skip)
}

// pList is the list of the people with evidence for a term. The prefix
// left by Compact is encoded, ordered by person, each person once; the
// tail holds the postings added since, in arrival order, a person possibly
// several times.
type pList struct {
	data    []byte // merged prefix
	n       int32  // postings in data
	tailIDs []int32
	tailTF  []uint16
}

func (l *pList) len() int { return int(l.n) + len(l.tailIDs) }

func (l *pList) add(who int32, tf uint16) {
	l.tailIDs = append(l.tailIDs, who)
	l.tailTF = append(l.tailTF, tf)
}

// merge folds the tail into the encoded prefix, summing the frequencies of
// a person (saturating), and leaves exactly sized storage.
func (l *pList) merge() {
	if len(l.tailIDs) == 0 {
		l.data = slices.Clone(l.data)
		return
	}
	type pair struct {
		id int32
		tf uint16
	}
	ps := make([]pair, 0, int(l.n)+len(l.tailIDs))
	id := int32(-1)
	for off := 0; off < len(l.data); {
		var tf uint16
		id, tf, off = readPosting(l.data, off, id)
		ps = append(ps, pair{id, tf})
	}
	for j, who := range l.tailIDs {
		ps = append(ps, pair{who, l.tailTF[j]})
	}
	slices.SortFunc(ps, func(a, b pair) int { return int(a.id) - int(b.id) })
	out := ps[:0]
	for _, x := range ps {
		if n := len(out); n > 0 && out[n-1].id == x.id {
			out[n-1].tf = clampTF(int(out[n-1].tf) + int(x.tf))
			continue
		}
		out = append(out, x)
	}
	data := make([]byte, 0, 2*len(out))
	prev := int32(-1)
	for _, x := range out {
		data = appendPosting(data, prev, x.id, x.tf)
		prev = x.id
	}
	l.data = slices.Clone(data)
	l.n = int32(len(out))
	l.tailIDs, l.tailTF = nil, nil
}

// idIndex maps string ids to dense indexes 0, 1, 2... by open addressing
// over the hashes of the ids; the caller keeps the ids themselves. It
// costs a few bytes per id where a map[string]int32 costs tens.
type idIndex struct {
	slots []int32 // index+1, 0 when empty
	n     int
}

// find returns the index whose id has hash h and satisfies eq, or -1.
func (x *idIndex) find(h uint64, eq func(int32) bool) int32 {
	if len(x.slots) == 0 {
		return -1
	}
	mask := uint64(len(x.slots) - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		v := x.slots[j]
		if v == 0 {
			return -1
		}
		if eq(v - 1) {
			return v - 1
		}
	}
}

// insert records index i with hash h; hash gives the hash of any earlier
// index when the table grows.
func (x *idIndex) insert(h uint64, i int32, hash func(int32) uint64) {
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		x.slots = make([]int32, max(64, 2*len(old)))
		for _, v := range old {
			if v != 0 {
				x.place(hash(v-1), v)
			}
		}
	}
	x.place(h, i+1)
	x.n++
}

func (x *idIndex) place(h uint64, v int32) {
	mask := uint64(len(x.slots) - 1)
	j := h & mask
	for x.slots[j] != 0 {
		j = (j + 1) & mask
	}
	x.slots[j] = v
}

// byteArena holds strings back to back.
type byteArena struct {
	data []byte
	ends []uint32
}

func (a *byteArena) add(s string) {
	a.data = append(a.data, s...)
	if len(a.data) > math.MaxUint32 {
		panic("match: id arena over 4 GB")
	}
	a.ends = append(a.ends, uint32(len(a.data)))
}

func (a *byteArena) bytes(i int32) []byte {
	start := uint32(0)
	if i > 0 {
		start = a.ends[i-1]
	}
	return a.data[start:a.ends[i]]
}

func (a *byteArena) equal(i int32, s string) bool { return string(a.bytes(i)) == s }

func (a *byteArena) str(i int32) string { return string(a.bytes(i)) }
