package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/internal/mpi"
	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

func init() {
	benchmarks["allreduce"] = benchAllreduce
	benchmarks["dp"] = benchDP
}

// benchAllreduce measures the sum over the ranks: one call per message size
// (bandwidth), then a model's gradients reduced in buckets of several sizes
// (duo.AllreduceGrads, what a training step does). Run it under mpirun.
func benchAllreduce(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench allreduce", "bench allreduce [--sizes-mib 0.004,1,16,256] [--buckets-mib 1,4,25,100] [--model small --vocab 50258 --length 1024] [--reps 5]  (under mpirun -np N)", stderr)
	sizesFlag := fs.String("sizes-mib", "0.004,0.0625,1,4,16,64,256", "message sizes to time, MiB of float32")
	bucketsFlag := fs.String("buckets-mib", "1,4,25,100", "gradient bucket sizes, MiB (a first row reduces each gradient alone)")
	model := fs.String("model", "small", "the model whose gradients are reduced: micro, mini, tiny or small")
	vocab := fs.Int("vocab", 50258, "its vocabulary")
	length := fs.Int("length", 1024, "its sequence length")
	reps := fs.Int("reps", 5, "timed repetitions (the best and the median are printed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, preset := presets[*model]
	if err := checkFlags(fs, check{"reps", *reps >= 1, "at least 1"}, check{"model", preset, "micro, mini, tiny or small"},
		check{"vocab", *vocab >= 2, "at least 2"}, check{"length", *length >= 1, "at least 1"}); err != nil {
		return err
	}
	sizes, err := parseFloats("sizes-mib", *sizesFlag)
	if err != nil {
		return err
	}
	buckets, err := parseFloats("buckets-mib", *bucketsFlag)
	if err != nil {
		return err
	}
	w := world
	if w == nil || w.Size() == 1 {
		return errors.New("bench allreduce measures several ranks: run it under mpirun -np 2 (a binary built with -tags mpi)")
	}
	n := w.Size()
	fmt.Fprintf(stdout, "all-reduce (sum of float32) over %d ranks, %d on this machine, %s; best and median of %d\n", n, w.LocalSize(), w.Library(), *reps)
	fmt.Fprintf(stdout, "%12s %12s %12s %14s %14s\n", "bytes", "best ms", "median ms", "algbw GB/s", "busbw GB/s")
	for _, mib := range sizes {
		x := make([]float32, max(1, int(mib*(1<<20)/4)))
		best, med, err := timeCollective(w, *reps, func() error { return w.AllreduceSum(x) })
		if err != nil {
			return err
		}
		bytes := float64(4 * len(x))
		// busbw: what each link carries in a ring, 2(n-1)/n of the data.
		fmt.Fprintf(stdout, "%12d %12.3f %12.3f %14.2f %14.2f\n", 4*len(x), ms(best), ms(med), bytes/best.Seconds()/1e9, bytes/best.Seconds()/1e9*2*float64(n-1)/float64(n))
	}
	cfg := presets[*model]
	cfg.Vocab, cfg.Length, cfg.MLPRatio = *vocab, *length, 4
	m, err := nn.NewDiT(cfg, tensor.NewRNG(1))
	if err != nil {
		return err
	}
	params := m.Params()
	fmt.Fprintf(stdout, "\ngradients of --model %s (vocab %d, length %d): %d tensors, %d parameters, %.1f MiB\n", *model, *vocab, *length, len(params), m.NumParams(), float64(4*m.NumParams())/(1<<20))
	fmt.Fprintf(stdout, "%12s %12s %12s %14s\n", "bucket MiB", "best ms", "median ms", "algbw GB/s")
	for _, p := range params {
		p.Grad = p.Value.Clone() // the sums grow by N each time: harmless for a few
	}
	row := func(label string, reduce func() error) error {
		best, med, err := timeCollective(w, *reps, reduce)
		if err == nil {
			fmt.Fprintf(stdout, "%12s %12.3f %12.3f %14.2f\n", label, ms(best), ms(med), float64(4*m.NumParams())/best.Seconds()/1e9)
		}
		return err
	}
	err = row("per tensor", func() error {
		for _, p := range params {
			if err := w.AllreduceSum(p.Grad.Data()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, mib := range buckets {
		if err := row(fmt.Sprint(mib), func() error { return duo.AllreduceGrads(w, params, int(mib*(1<<20))) }); err != nil {
			return err
		}
	}
	return nil
}

// timeCollective runs fn reps times after a barrier and one warm-up call,
// and returns the best and the median wall time (the slowest rank's, as
// every rank waits for it).
func timeCollective(w *mpi.World, reps int, fn func() error) (best, median time.Duration, err error) {
	if err := fn(); err != nil {
		return 0, 0, err
	}
	times := make([]time.Duration, reps)
	for i := range times {
		if err := w.Barrier(); err != nil {
			return 0, 0, err
		}
		start := time.Now()
		if err := fn(); err != nil {
			return 0, 0, err
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[0], times[reps/2], nil
}

// benchDP times data-parallel training steps of a Duo model (the discrete
// phase, random tokens) at whatever rank count it is started with, split
// into computation and communication (the sum of the gradients and losses,
// waiting for the slowest rank included). Compare a one-process run with
// mpirun -np N runs at the same global batch.
func benchDP(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench dp", "bench dp [--model small --vocab 50258 --length 1024] [--batch 2 --grad-accum 2] [--steps 3]  (alone or under mpirun -np N)", stderr)
	model := fs.String("model", "mini", "model size: micro, mini, tiny or small")
	vocab := fs.Int("vocab", 256, "vocabulary (50258: GPT-2's, as the paper's 170M model)")
	length := fs.Int("length", 128, "sequence length")
	batch := fs.Int("batch", 16, "global batch (sequences per step)")
	accum := fs.Int("grad-accum", 2, "global micro-batches per step (a multiple of the rank count)")
	steps := fs.Int("steps", 5, "timed steps (after one warm-up step)")
	bucket := fs.Float64("bucket-mib", float64(duo.DefaultBucketBytes)/(1<<20), "gradient bucket size, MiB")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, preset := presets[*model]
	if err := checkFlags(fs, check{"model", preset, "micro, mini, tiny or small"}, check{"vocab", *vocab >= 2, "at least 2"},
		check{"length", *length >= 1, "at least 1"}, check{"steps", *steps >= 1, "at least 1"}, check{"bucket-mib", *bucket > 0, "positive"},
		check{"grad-accum", *accum >= 1 && *batch%*accum == 0, "at least 1 and a divisor of --batch"}); err != nil {
		return err
	}
	m := presets[*model]
	m.Vocab, m.Length, m.MLPRatio = *vocab, *length, 4
	cfg := duo.DefaultTrainConfig(m, *steps+1)
	cfg.Batch, cfg.GradAccum, cfg.CurriculumSteps, cfg.TopK, cfg.Warmup = *batch, *accum, 0, 0, 0
	if err := cfg.Validate(); err != nil {
		return err
	}
	rng := tensor.NewRNG(7)
	stream := make([]int32, 4*(*length+1)*(*batch))
	for i := range stream {
		stream[i] = int32(rng.IntN(*vocab))
	}
	t, err := duo.NewTrainer(cfg, stream, stream)
	if err != nil {
		return err
	}
	t.BucketBytes = int(*bucket * (1 << 20))
	if err := t.SetGroup(group()); err != nil {
		return err
	}
	ranks := 1
	if g := group(); g != nil {
		ranks = g.Size()
	}
	var step, comm []float64
	for i := 0; i <= *steps; i++ {
		start := time.Now()
		rec, err := t.TrainStep()
		if err != nil {
			return err
		}
		if i > 0 { // the first step warms up
			s := time.Since(start).Seconds()
			step, comm = append(step, s), append(comm, s*rec.CommShare)
		}
	}
	st, cm := mean(step), mean(comm)
	fmt.Fprintf(stdout, "train step, --model %s (%d parameters, vocab %d, L=%d), global batch %d in %d micro-batches, %d rank(s) x %d thread(s): "+
		"%.3f s/step (compute %.3f s, communication %.3f s = %.1f%%), %.0f tokens/s\n",
		*model, t.Model.NumParams(), *vocab, *length, *batch, *accum, ranks, parallel.Threads(), st, st-cm, cm, 100*cm/st, float64(*batch**length)/st)
	if ranks == 1 {
		return nil
	}
	// The step's communication includes waiting for the slowest rank; the
	// sum itself, with every rank ready, takes this long.
	params := t.Params
	for _, p := range params {
		p.Grad = p.Value.Clone()
	}
	best, _, err := timeCollective(world, *steps, func() error { return duo.AllreduceGrads(world, params, t.BucketBytes) })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  of the communication, the gradient sum with every rank ready takes %.3f s (best of %d); the rest is waiting for the slowest rank\n", best.Seconds(), *steps)
	return nil
}
