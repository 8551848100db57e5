package data

import "fmt"

// Source is a source of random integers; *math/rand/v2.Rand satisfies it.
type Source interface {
	// IntN returns a uniform integer in [0, n); n > 0.
	IntN(n int) int
}

// Blocks returns the number of whole blocks of L tokens in stream
// (0 if L <= 0).
func Blocks(stream []int32, L int) int {
	if L <= 0 {
		return 0
	}
	return len(stream) / L
}

// RandomBlocks returns B blocks of L tokens, laid out one after another in a
// new slice of B*L ids. Each block is the contiguous window of stream
// starting at an offset drawn uniformly from [0, len(stream)-L] with
// rng.IntN. It panics if L < 1, B < 0 or len(stream) < L.
func RandomBlocks(stream []int32, L, B int, rng Source) []int32 {
	checkBlock(len(stream), L, B)
	out := make([]int32, B*L)
	span := len(stream) - L + 1
	for b := 0; b < B; b++ {
		off := rng.IntN(span)
		copy(out[b*L:(b+1)*L], stream[off:off+L])
	}
	return out
}

// Sequential cuts consecutive, non-overlapping blocks of L tokens from
// Stream, starting at Pos and going back to the start when fewer than L
// tokens remain (the tail shorter than a block is never used). Pos is the
// offset of the next block; saving it with a checkpoint and restoring it
// resumes the sequence exactly.
type Sequential struct {
	// Stream is the token stream blocks are cut from.
	Stream []int32
	// L is the block length in tokens.
	L int
	// Pos is the offset in Stream of the next block.
	Pos int
}

// Next returns the next B blocks, B*L ids in a new slice, and advances Pos.
// A Pos outside the stream (negative, or with fewer than L tokens after it)
// starts again at 0. It panics if L < 1, B < 0 or len(Stream) < L.
func (s *Sequential) Next(B int) []int32 {
	checkBlock(len(s.Stream), s.L, B)
	L := s.L
	out := make([]int32, B*L)
	for b := 0; b < B; b++ {
		if s.Pos < 0 || s.Pos > len(s.Stream)-L {
			s.Pos = 0
		}
		copy(out[b*L:(b+1)*L], s.Stream[s.Pos:s.Pos+L])
		s.Pos += L
	}
	if s.Pos > len(s.Stream)-L {
		s.Pos = 0
	}
	return out
}

func checkBlock(n, L, B int) {
	if L < 1 {
		panic(fmt.Sprintf("data: block length %d < 1", L))
	}
	if B < 0 {
		panic(fmt.Sprintf("data: negative batch size %d", B))
	}
	if n < L {
		panic(fmt.Sprintf("data: stream of %d tokens is shorter than a block of %d", n, L))
	}
}
