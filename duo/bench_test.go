package duo

import (
	"testing"

	"github.com/duo-go/duo/nn"
)

// BenchmarkTrainStep measures Duo training steps of the demo's model (the
// mini DiT, batch 8 x 128 bytes) in the curriculum and in the discrete
// phase: go test -run NONE -bench TrainStep ./duo
func BenchmarkTrainStep(b *testing.B) {
	for _, phase := range []struct {
		name       string
		curriculum int
	}{{"curriculum", 1 << 30}, {"discrete", 0}} {
		b.Run(phase.name, func(b *testing.B) {
			cfg := DefaultTrainConfig(nn.Config{Vocab: 256, Length: 128, Hidden: 128, Cond: 128, Blocks: 4, Heads: 4, MLPRatio: 4}, 1<<30)
			cfg.Batch, cfg.CurriculumSteps = 8, phase.curriculum
			stream := make([]int32, 1<<16)
			for i := range stream {
				stream[i] = int32(i * 7 % 256)
			}
			t, err := NewTrainer(cfg, stream, stream)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := t.TrainStep(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cfg.Batch*cfg.Model.Length*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
