package match

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQListFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 63, 64, 65, 1000} {
		var l qList
		want := map[int32]uint16{}
		qi := int32(-1)
		for range n {
			qi += 1 + int32(rng.IntN(300))
			tf := uint16(1)
			if rng.IntN(4) == 0 {
				tf = uint16(1 + rng.IntN(70000%65536))
			}
			l.add(qi, tf)
			want[qi] = tf
		}
		l.clip()
		if int(l.n) != n {
			t.Fatalf("n = %d, want %d", l.n, n)
		}
		for probe := int32(0); probe <= qi+2; probe++ {
			if got := l.find(probe); got != want[probe] {
				t.Fatalf("%d postings: find(%d) = %d, want %d", n, probe, got, want[probe])
			}
		}
		// A full decode gives the postings back in order.
		var ids [postingBlock]int32
		var tfs [postingBlock]uint16
		var got []int32
		last := int32(-1)
		for off, m := 0, 0; off < len(l.data); {
			m, off, last = decodeBlock(l.data, off, last, ids[:], tfs[:])
			for j := range m {
				if tfs[j] != want[ids[j]] {
					t.Fatalf("tf of %d = %d, want %d", ids[j], tfs[j], want[ids[j]])
				}
			}
			got = append(got, ids[:m]...)
		}
		if len(got) != n || !slices.IsSorted(got) {
			t.Fatalf("decoded %d postings (sorted %v), want %d", len(got), slices.IsSorted(got), n)
		}
	}
}

func TestPListMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var l pList
	want := map[int32]int{}
	for round := range 3 {
		for range 500 {
			who, tf := int32(rng.IntN(200)), 1+rng.IntN(3)
			if rng.IntN(50) == 0 {
				tf = 40000 // sums saturate
			}
			l.add(who, uint16(tf))
			want[who] = min(want[who]+tf, 65535)
		}
		l.merge()
		if int(l.n) != len(want) || len(l.tailIDs) != 0 {
			t.Fatalf("round %d: %d merged postings, %d in the tail; want %d, 0", round, l.n, len(l.tailIDs), len(want))
		}
		prev := int32(-1)
		for off := 0; off < len(l.data); {
			var id int32
			var tf uint16
			id, tf, off = readPosting(l.data, off, prev)
			if id <= prev || int(tf) != want[id] {
				t.Fatalf("round %d: posting (%d, %d) after %d, want tf %d", round, id, tf, prev, want[id])
			}
			prev = id
		}
	}
}

func TestIDIndex(t *testing.T) {
	e := NewEngine(Config{})
	for i := range 5000 {
		if got := e.personIdx(fmt.Sprint("p", i)); got != int32(i) {
			t.Fatalf("personIdx(p%d) = %d", i, got)
		}
	}
	for i := range 5000 {
		if got := e.personIdx(fmt.Sprint("p", i)); got != int32(i) {
			t.Fatalf("second personIdx(p%d) = %d", i, got)
		}
		if got := e.lookupPerson(fmt.Sprint("p", i)); got != int32(i) {
			t.Fatalf("lookupPerson(p%d) = %d", i, got)
		}
	}
	if got := e.lookupPerson("nobody"); got != -1 {
		t.Fatalf("lookupPerson(nobody) = %d, want -1", got)
	}
	for i := range 3000 {
		e.AddQuestion(Question{ID: fmt.Sprint("q", i), Author: "p1", Body: "texte"})
	}
	e.AddQuestion(Question{ID: "q7", Author: "p2", Body: "doublon"})
	if _, n := e.Len(); n != 3000 {
		t.Fatalf("%d questions, want 3000", n)
	}
	for _, id := range []string{"q0", "q7", "q2999"} {
		if qi := e.lookupQuestion(id); qi < 0 || e.qIDs.str(qi) != id {
			t.Fatalf("lookupQuestion(%s) = %d", id, qi)
		}
	}
}
