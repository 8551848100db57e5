package nn

import (
	"fmt"
	"testing"

	"github.com/duo-go/duo/autograd"
	"github.com/duo-go/duo/tensor"
)

// BenchmarkTrainStep measures a full training step (forward, backward,
// AdamW) of a Duo-style DiT on token ids; it reports tokens/s.
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  Config
		B    int
	}{
		{"D64-2blk-L64-B16", Config{Vocab: 256, Length: 64, Hidden: 64, Cond: 64, Blocks: 2, Heads: 4, MLPRatio: 4}, 16},
		{"D256-4blk-L128-B16", Config{Vocab: 256, Length: 128, Hidden: 256, Cond: 128, Blocks: 4, Heads: 4, MLPRatio: 4}, 16},
	} {
		b.Run(c.name, func(b *testing.B) {
			rng := tensor.NewRNG(1)
			m, err := NewDiT(c.cfg, rng)
			if err != nil {
				b.Fatal(err)
			}
			params := m.Params()
			opt := NewAdamW(params, 0)
			n := c.B * c.cfg.Length
			ids := make([]int32, n)
			for i := range ids {
				ids[i] = int32(rng.IntN(c.cfg.Vocab))
			}
			sigma := make([]float32, c.B)
			for i := range sigma {
				sigma[i] = float32(rng.Float64())
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tp := autograd.NewTape()
				tp.SetReleaseValues(true)
				logits, err := m.Forward(tp, Input{Batch: c.B, IDs: ids, Sigma: sigma})
				if err != nil {
					b.Fatal(err)
				}
				if err := tp.Backward(tp.CrossEntropy(logits, ids)); err != nil {
					b.Fatal(err)
				}
				opt.Step(1e-4)
				ZeroGrad(params)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tokens/s")
			_ = fmt.Sprint()
		})
	}
}
