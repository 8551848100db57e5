package duo

import (
	"fmt"
	"os"
	"testing"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
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

// BenchmarkSave measures writing a training checkpoint (EMA model, raw
// weights, AdamW moments, state; every file fsynced, published by rename,
// old checkpoints pruned to 2) on the disk of the temporary directory. The
// 170M-parameter case (the paper's small model: 2.7 GB a checkpoint) runs
// only with DUO_BIG=1:
//
//	DUO_BIG=1 go test ./duo -run NONE -bench Save -benchtime 3x
func BenchmarkSave(b *testing.B) {
	sizes := []struct {
		name string
		cfg  nn.Config
	}{
		{"mini", nn.Config{Vocab: 256, Length: 128, Hidden: 128, Cond: 128, Blocks: 4, Heads: 4, MLPRatio: 4}},
		{"owt-170m", nn.Config{Vocab: 50258, Length: 1024, Hidden: 768, Cond: 128, Blocks: 12, Heads: 12, MLPRatio: 4}},
	}
	for _, s := range sizes {
		b.Run(s.name, func(b *testing.B) {
			if s.cfg.Vocab > 256 && os.Getenv("DUO_BIG") != "1" {
				b.Skip("set DUO_BIG=1 (writes 2.7 GB per checkpoint)")
			}
			stream := make([]int32, 4*s.cfg.Length)
			for i := range stream {
				stream[i] = int32(i * 7 % s.cfg.Vocab)
			}
			cfg := DefaultTrainConfig(s.cfg, 1<<30)
			cfg.Batch = 1 // the activations are not what is measured
			t, err := NewTrainer(cfg, stream, stream)
			if err != nil {
				b.Fatal(err)
			}
			dir := b.TempDir()
			var bytes int64
			for b.Loop() {
				t.Step++ // a new checkpoint each time, as in training
				ck, err := t.Save(dir, DefaultKeep)
				if err != nil {
					b.Fatal(err)
				}
				if bytes == 0 {
					ents, _ := os.ReadDir(ck)
					for _, e := range ents {
						fi, _ := e.Info()
						bytes += fi.Size()
					}
				}
			}
			b.ReportMetric(float64(bytes)/1e6, "MB/checkpoint")
			b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
		})
	}
}

// BenchmarkSample times 8 Greedy-Tail steps of whole samples (the
// command-line twin is duo bench sample): the mini model at batch 1 and 8,
// and the released checkpoints' 170M shape (L = 1024, K = 50258) with
// DUO_BIG=1:
//
//	DUO_BIG=1 go test ./duo -run NONE -bench Sample -benchtime 2x
func BenchmarkSample(b *testing.B) {
	for _, s := range []struct {
		name string
		cfg  nn.Config
	}{
		{"mini", nn.Config{Vocab: 256, Length: 128, Hidden: 128, Cond: 128, Blocks: 4, Heads: 4, MLPRatio: 4}},
		{"owt-170m", nn.Config{Vocab: 50258, Length: 1024, Hidden: 768, Cond: 128, Blocks: 12, Heads: 12, MLPRatio: 4}},
	} {
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch%d", s.name, batch), func(b *testing.B) {
				if s.cfg.Vocab > 256 && os.Getenv("DUO_BIG") != "1" {
					b.Skip("set DUO_BIG=1 (a 170M-parameter model)")
				}
				m, err := nn.NewDiT(s.cfg, tensor.NewRNG(1))
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := Sample(m, SampleConfig{Steps: 8, Sampler: SamplerGreedy, TopP: 1, Batch: batch, Length: s.cfg.Length, Seed: 1}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*s.cfg.Length*b.N)/b.Elapsed().Seconds(), "tokens/s")
				b.ReportMetric(b.Elapsed().Seconds()/float64(9*b.N), "s/call")
			})
		}
	}
}

// BenchmarkSampleAR times drawing 127 tokens after a one-token prompt from
// an AR model of the reproduction's judge shape (D = 256, 4 blocks, L =
// 128), with the KV cache (SampleAR) and by recomputing the whole prefix
// for every token, side by side.
func BenchmarkSampleAR(b *testing.B) {
	m, err := nn.NewDiT(nn.Config{Vocab: 256, Length: 128, Hidden: 256, Cond: 128, Blocks: 4, Heads: 8, MLPRatio: 4, Causal: true}, tensor.NewRNG(1))
	if err != nil {
		b.Fatal(err)
	}
	prompt := []int32{10}
	b.Run("kvcache", func(b *testing.B) {
		for b.Loop() {
			if _, err := SampleAR(m, ARConfig{Batch: 1, Length: 128, Prompt: prompt}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(127*b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
	b.Run("recompute", func(b *testing.B) {
		for b.Loop() {
			recomputeGreedy(b, m, prompt, 128)
		}
		b.ReportMetric(float64(127*b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
}
