package nn

import (
	"math"
	"testing"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/tensor"
)

// The backward pass hands freed gradients back for reuse (tensor.Recycle)
// and kernel outputs take them without zeroing. Repeating the same forward
// and backward must give bit-identical gradients: the first pass runs on
// fresh zeroed memory, the later ones on recycled buffers that hold the
// earlier passes' values, so a kernel that leaves an element unwritten, or
// a buffer recycled while still in use, shows up as a difference. The
// shapes are large enough (B*L*D = 16384) for the pool to be used. Passes
// after the first also release the forward activations during backward
// (Tape.SetReleaseValues), so a value recycled before its last reader ran
// shows up too.
func TestRecycledBuffersGiveSameGradients(t *testing.T) {
	for _, causal := range []bool{false, true} {
		cfg := Config{Vocab: 64, Length: 64, Hidden: 128, Cond: 32, Blocks: 2, Heads: 4, MLPRatio: 4, Causal: causal}
		rng := tensor.NewRNG(3)
		m, err := NewDiT(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		params := m.Params()
		for _, p := range params { // non-zero everywhere, so that every gradient is
			d := p.Value.Data()
			for i := range d {
				d[i] = float32(rng.NormFloat64() * 0.05)
			}
		}
		B := 2
		ids := make([]int32, B*cfg.Length)
		for i := range ids {
			ids[i] = int32(rng.IntN(cfg.Vocab))
		}
		var first [][]float32
		for pass := 0; pass < 3; pass++ {
			tp := autograd.NewTape()
			tp.SetReleaseValues(pass > 0)
			logits, err := m.Forward(tp, Input{Batch: B, IDs: ids, Sigma: []float32{0.3, 1.7}})
			if err != nil {
				t.Fatal(err)
			}
			if err := tp.Backward(tp.CrossEntropy(logits, ids)); err != nil {
				t.Fatal(err)
			}
			for i, p := range params {
				g := append([]float32(nil), p.Grad.Host()...)
				if pass == 0 {
					first = append(first, g)
					continue
				}
				for j, v := range g {
					if math.Float32bits(v) != math.Float32bits(first[i][j]) {
						t.Fatalf("causal=%v pass %d: %s gradient [%d] = %g, first pass %g", causal, pass, p.Name, j, v, first[i][j])
					}
				}
			}
			ZeroGrad(params)
		}
	}
}
