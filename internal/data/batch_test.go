package data

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func iota32(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

func TestBlocks(t *testing.T) {
	for _, tc := range []struct{ n, L, want int }{
		{10, 3, 3}, {9, 3, 3}, {2, 3, 0}, {0, 3, 0}, {10, 0, 0}, {10, -1, 0}, {10, 10, 1},
	} {
		if got := Blocks(make([]int32, tc.n), tc.L); got != tc.want {
			t.Errorf("Blocks(len %d, L %d) = %d, want %d", tc.n, tc.L, got, tc.want)
		}
	}
}

func TestSequential(t *testing.T) {
	stream := iota32(10) // 3 whole blocks of 3; token 9 is never used
	for _, tc := range []struct {
		name    string
		pos, B  int
		want    []int32
		wantPos int
	}{
		{"start", 0, 2, []int32{0, 1, 2, 3, 4, 5}, 6},
		{"wrap", 6, 2, []int32{6, 7, 8, 0, 1, 2}, 3},
		{"to end", 3, 2, []int32{3, 4, 5, 6, 7, 8}, 0},
		{"epoch and more", 0, 4, []int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2}, 3},
		{"unaligned pos", 1, 2, []int32{1, 2, 3, 4, 5, 6}, 7},
		{"unaligned last block", 7, 1, []int32{7, 8, 9}, 0},
		{"unaligned wrap", 8, 1, []int32{0, 1, 2}, 3},
		{"negative pos", -4, 1, []int32{0, 1, 2}, 3},
		{"pos past end", 100, 1, []int32{0, 1, 2}, 3},
		{"zero batch", 3, 0, []int32{}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Sequential{Stream: stream, L: 3, Pos: tc.pos}
			got := s.Next(tc.B)
			if !slices.Equal(got, tc.want) || s.Pos != tc.wantPos {
				t.Errorf("Next(%d) from %d = %v, Pos %d; want %v, Pos %d", tc.B, tc.pos, got, s.Pos, tc.want, tc.wantPos)
			}
		})
	}
}

// TestSequentialResume saves Pos part way and checks that a fresh Sequential
// started from it continues exactly as the original does.
func TestSequentialResume(t *testing.T) {
	stream := iota32(1000)
	const L, B = 7, 5
	ref := &Sequential{Stream: stream, L: L}
	var all [][]int32
	for i := 0; i < 100; i++ { // several epochs
		all = append(all, ref.Next(B))
	}
	for _, stop := range []int{0, 1, 13, 28, 29, 57, 99} {
		s := &Sequential{Stream: stream, L: L}
		for i := 0; i < stop; i++ {
			s.Next(B)
		}
		saved := s.Pos
		r := &Sequential{Stream: stream, L: L, Pos: saved}
		for i := stop; i < len(all); i++ {
			if got := r.Next(B); !slices.Equal(got, all[i]) {
				t.Fatalf("resumed at step %d (Pos %d): step %d differs", stop, saved, i)
			}
		}
	}
	// Every block is whole and an epoch visits each block once.
	seen := map[int32]int{}
	s := &Sequential{Stream: stream, L: L}
	for i := 0; i < Blocks(stream, L); i++ {
		blk := s.Next(1)
		for j := 1; j < L; j++ {
			if blk[j] != blk[0]+int32(j) {
				t.Fatalf("block %v is not contiguous", blk)
			}
		}
		seen[blk[0]]++
	}
	if len(seen) != Blocks(stream, L) || s.Pos != 0 {
		t.Errorf("epoch saw %d distinct blocks of %d, ends at Pos %d", len(seen), Blocks(stream, L), s.Pos)
	}
}

// fixedSource always returns pick(n) and records the n it was asked for.
type fixedSource struct {
	pick func(n int) int
	ns   []int
}

func (f *fixedSource) IntN(n int) int { f.ns = append(f.ns, n); return f.pick(n) }

func TestRandomBlocks(t *testing.T) {
	stream := iota32(12)
	const L = 5
	for _, tc := range []struct {
		name string
		pick func(n int) int
		want []int32
	}{
		{"lowest", func(int) int { return 0 }, []int32{0, 1, 2, 3, 4, 0, 1, 2, 3, 4}},
		{"highest", func(n int) int { return n - 1 }, []int32{7, 8, 9, 10, 11, 7, 8, 9, 10, 11}},
	} {
		src := &fixedSource{pick: tc.pick}
		got := RandomBlocks(stream, L, 2, src)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		if !slices.Equal(src.ns, []int{8, 8}) {
			t.Errorf("%s: IntN called with %v, want [8 8] (len-L+1)", tc.name, src.ns)
		}
	}
	// With a real generator every offset in [0, len-L] shows up, and every
	// block is a contiguous window.
	rng := rand.New(rand.NewPCG(5, 6))
	counts := make([]int, len(stream)-L+1)
	got := RandomBlocks(stream, L, 4000, rng)
	if len(got) != 4000*L {
		t.Fatalf("len %d, want %d", len(got), 4000*L)
	}
	for b := 0; b < 4000; b++ {
		blk := got[b*L : (b+1)*L]
		for j := range blk {
			if blk[j] != blk[0]+int32(j) {
				t.Fatalf("block %v is not contiguous", blk)
			}
		}
		counts[blk[0]]++
	}
	for off, c := range counts {
		if c < 300 || c > 700 { // expected 500 each
			t.Errorf("offset %d drawn %d times of 4000", off, c)
		}
	}
	// L == len(stream): one possible block.
	if got := RandomBlocks(stream, 12, 1, rng); !slices.Equal(got, stream) {
		t.Errorf("full-length block = %v", got)
	}
	if got := RandomBlocks(stream, 3, 0, rng); len(got) != 0 {
		t.Errorf("B=0 gave %d ids", len(got))
	}
}

func TestBlockPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"random short stream", func() { RandomBlocks(iota32(3), 4, 1, rng) }},
		{"random L 0", func() { RandomBlocks(iota32(3), 0, 1, rng) }},
		{"random B negative", func() { RandomBlocks(iota32(3), 1, -1, rng) }},
		{"sequential short stream", func() { (&Sequential{Stream: iota32(3), L: 4}).Next(1) }},
		{"sequential L 0", func() { (&Sequential{Stream: iota32(3)}).Next(1) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}
