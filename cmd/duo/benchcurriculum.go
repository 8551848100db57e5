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

// benchCurriculum times training steps of the Gaussian curriculum with the
// full softmax over the vocabulary against the efficient top-k input
// (Duo++, spec section 4), on a synthetic corpus at GPT-2's vocabulary and
// head width by default: seconds per step, tokens/s and the peak resident
// set of each (top-k first, so the full softmax's larger peak cannot hide
// it).
func benchCurriculum(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench curriculum", "bench curriculum [--vocab 50258] [--hidden 768] [--blocks 1] [--length 256] [--batch 4] [--steps 3] [--topk 16]", stderr)
	vocab := fs.Int("vocab", 50258, "vocabulary size K (GPT-2's by default)")
	hidden := fs.Int("hidden", 768, "hidden size D (GPT-2's by default)")
	blocks := fs.Int("blocks", 1, "transformer blocks")
	heads := fs.Int("heads", 12, "attention heads")
	length := fs.Int("length", 256, "sequence length")
	batch := fs.Int("batch", 4, "sequences per step")
	steps := fs.Int("steps", 3, "timed steps per variant (after one warm-up step)")
	topk := fs.Int("topk", duo.DefaultTopK, "k of the top-k variant")
	exec := addExecFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	release, err := exec.start(stderr,
		check{"vocab", *vocab >= 2, "at least 2"},
		check{"hidden", *hidden >= 1, "at least 1"},
		check{"blocks", *blocks >= 1, "at least 1"},
		check{"heads", *heads >= 1 && *hidden%*heads == 0, "at least 1 and a divisor of --hidden"},
		check{"length", *length >= 1, "at least 1"},
		check{"batch", *batch >= 1, "at least 1"},
		check{"steps", *steps >= 1, "at least 1"},
		check{"topk", *topk >= 1 && *topk < *vocab, "in [1, --vocab)"},
	)
	if err != nil {
		return err
	}
	defer release()
	m := nn.Config{Vocab: *vocab, Length: *length, Hidden: *hidden, Cond: 128, Blocks: *blocks, Heads: *heads, MLPRatio: 4}
	cfg := duo.DefaultTrainConfig(m, *steps+1)
	cfg.Batch, cfg.CurriculumSteps, cfg.Warmup, cfg.EvalEvery = *batch, *steps+1, 0, 0
	// A synthetic corpus: the step's cost does not depend on the tokens.
	rng := tensor.NewRNG(1)
	ids := make([]int32, 4*(*length+1)*(*batch))
	for i := range ids {
		ids[i] = int32(rng.IntN(*vocab))
	}
	fmt.Fprintf(stdout, "curriculum step: K=%d D=%d blocks=%d L=%d B=%d, %d threads\n", *vocab, *hidden, *blocks, *length, *batch, parallel.Threads())
	var perStep [2]float64
	for i, k := range []int{*topk, 0} {
		cfg.TopK = k
		debug.FreeOSMemory()
		peakOK := sysmem.ResetPeak() == nil
		t, err := duo.NewTrainer(cfg, ids, ids)
		if err != nil {
			return err
		}
		if _, err := t.TrainStep(); err != nil { // warm-up
			return err
		}
		t0 := time.Now()
		for range *steps {
			if _, err := t.TrainStep(); err != nil {
				return err
			}
		}
		perStep[i] = time.Since(t0).Seconds() / float64(*steps)
		name := "full softmax"
		if k > 0 {
			name = fmt.Sprintf("top-%d", k)
		}
		line := fmt.Sprintf("%-12s %.3f s per step, %.0f tokens/s", name, perStep[i], float64(*batch**length)/perStep[i])
		if peak := sysmem.PeakRSS(); peakOK && peak > 0 {
			line += fmt.Sprintf(", peak RSS %.0f MB", float64(peak)/1e6)
		}
		fmt.Fprintln(stdout, line)
	}
	fmt.Fprintf(stdout, "full softmax / top-%d step time: %.2fx\n", *topk, perStep[1]/perStep[0])
	return nil
}
