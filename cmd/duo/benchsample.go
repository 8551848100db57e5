package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/internal/sysmem"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// sampleModels are the synthetic models of duo bench sample: the authors'
// released 170M-parameter shape, and the training presets on bytes.
var sampleModels = map[string]nn.Config{
	"owt-170m": {Vocab: 50258, Length: 1024, Hidden: 768, Cond: 128, Blocks: 12, Heads: 12, MLPRatio: 4},
}

// benchSample times whole samples: wall time per network call and per
// sample, tokens/s and the peak resident set, at each batch size.
func benchSample(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench sample", "bench sample [--model owt-170m|micro|mini|tiny|small [--write DIR] | --checkpoint DIR] [--batch 1,8] [--steps 8] [--sampler greedy]", stderr)
	model := fs.String("model", "owt-170m", "synthetic model with random weights: owt-170m (the released checkpoints' shape) or a training preset (bytes, L=128)")
	dir := fs.String("checkpoint", "", "a model directory instead of a synthetic model")
	write := fs.String("write", "", "also save the synthetic model to this directory (for tools/bench/compare_sample.sh: the same weights on both sides)")
	batchFlag := fs.String("batch", "1,8", "batch sizes to measure")
	steps := fs.Int("steps", 8, "denoising steps (plus the final one unless --sampler none)")
	sampler := fs.String("sampler", duo.SamplerGreedy, "ancestral, greedy (Greedy-Tail) or none")
	length := fs.Int("length", 0, "tokens per sample (0: the model's length)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the sampling to this file (go tool pprof)")
	exec := addExecFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkFlags(fs, check{"steps", *steps >= 1, "at least 1"}, check{"length", *length >= 0, ">= 0"}); err != nil {
		return err
	}
	if *dir != "" && *write != "" {
		return fmt.Errorf("--write saves a synthetic model: give --model, not --checkpoint")
	}
	batches, err := parseInts("batch", *batchFlag)
	if err != nil {
		return err
	}
	release, err := exec.start(stderr)
	if err != nil {
		return err
	}
	defer release()
	var m *nn.DiT
	name := *model
	start := time.Now()
	if *dir != "" {
		if m, _, err = duo.LoadModel(*dir); err != nil {
			return err
		}
		name = *dir
	} else {
		cfg, ok := sampleModels[*model]
		if !ok {
			p, isPreset := presets[*model]
			if !isPreset {
				return fmt.Errorf("--model %q: want owt-170m, micro, mini, tiny or small", *model)
			}
			cfg = p
			cfg.Vocab, cfg.Length, cfg.MLPRatio = 256, 128, 4
		}
		if m, err = nn.NewDiT(cfg, tensor.NewRNG(1)); err != nil {
			return err
		}
		if *write != "" {
			if err := nn.SaveDiT(*write, m, map[string]any{"objective": duo.ObjectiveDuo}, nil); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s\n", *write)
		}
	}
	if m.Causal {
		return fmt.Errorf("%s is an AR model: duo bench sample times diffusion sampling", name)
	}
	L := *length
	if L == 0 {
		L = m.Length
	}
	weights := float64(m.NumParams()) * 4
	calls := *steps
	if *sampler != duo.SamplerNone {
		calls++
	}
	fmt.Fprintf(stdout, "sample %s: %d parameters (%.0f MB), K=%d, %d tokens, %d steps + %s, %d threads (%s)\n",
		name, m.NumParams(), weights/1e6, m.Vocab, L, *steps, *sampler, parallel.Threads(), time.Since(start).Round(time.Millisecond))
	stopProfile, err := startProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	for _, b := range batches {
		debug.FreeOSMemory()
		peakOK := sysmem.ResetPeak() == nil
		t0 := time.Now()
		if _, err := duo.Sample(m, duo.SampleConfig{Steps: *steps, Sampler: *sampler, TopP: 1, Batch: b, Length: L, Seed: 1}); err != nil {
			return err
		}
		wall := time.Since(t0)
		line := fmt.Sprintf("batch %d: %v, %.3f s per network call (%d calls), %.1f tokens/s, %.2f s per sequence",
			b, wall.Round(time.Millisecond), wall.Seconds()/float64(calls), calls, float64(b*L)/wall.Seconds(), wall.Seconds()/float64(b))
		if peak := sysmem.PeakRSS(); peakOK && peak > 0 {
			line += fmt.Sprintf(", peak RSS %.0f MB (%.2fx the weights)", float64(peak)/1e6, float64(peak)/weights)
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}
