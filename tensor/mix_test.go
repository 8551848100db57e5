package tensor

import (
	"math"
	"testing"
)

// TestEmbeddingMix checks the weighted row sums and their scatter-add
// gradient against float64 loops, with repeated ids in a group and groups
// sharing ids.
func TestEmbeddingMix(t *testing.T) {
	const k, d, n = 7, 37, 3 // d past the vector kernels' width and not a multiple of it
	rng := NewRNG(3)
	table := New(k, d)
	for i := range table.Data() {
		table.Data()[i] = float32(rng.NormFloat64())
	}
	ids := []int32{6, 0, 6, 1, 2, 3, 3, 3, 3, 0, 5, 4}
	w := []float32{0.5, -0.25, 1.5, 0.1, 0.2, 0.7, 1, 0, 2, 0.3, 0.3, 0.4}
	P := len(ids) / n
	got := EmbeddingMix(table, ids, w, n)
	if s := got.Shape(); len(s) != 2 || s[0] != P || s[1] != d {
		t.Fatalf("shape %v, want [%d %d]", s, P, d)
	}
	g := New(P, d)
	for i := range g.Data() {
		g.Data()[i] = float32(rng.NormFloat64())
	}
	dt := Full(1, k, d) // the backward adds into what is there
	EmbeddingMixBackward(g, ids, w, n, dt)
	for p := 0; p < P; p++ {
		for c := 0; c < d; c++ {
			var want float64
			for j := p * n; j < (p+1)*n; j++ {
				want += float64(w[j]) * float64(table.Data()[int(ids[j])*d+c])
			}
			if v := got.Data()[p*d+c]; math.Abs(float64(v)-want) > 1e-5 {
				t.Fatalf("out[%d][%d] = %v, want %v", p, c, v, want)
			}
		}
	}
	for r := 0; r < k; r++ {
		for c := 0; c < d; c++ {
			want := 1.0
			for j, id := range ids {
				if int(id) == r {
					want += float64(w[j]) * float64(g.Data()[(j/n)*d+c])
				}
			}
			if v := dt.Data()[r*d+c]; math.Abs(float64(v)-want) > 1e-5 {
				t.Fatalf("dtable[%d][%d] = %v, want %v", r, c, v, want)
			}
		}
	}
}
