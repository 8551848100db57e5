package duo

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/duo-go/duo/tensor"
)

// localGroup is an in-process Group of n ranks (goroutines): each sum adds
// the ranks' buffers in rank order, as a reduction to one rank would, and
// gives every rank the same bits.
type localGroup struct {
	n    int
	mu   sync.Mutex
	cond *sync.Cond
	gen  int     // completed collectives
	in   [][]any // the buffers of the collective under way, by rank
	seen int
}

func newLocalGroup(n int) []Group {
	g := &localGroup{n: n, in: make([][]any, 1)}
	g.cond = sync.NewCond(&g.mu)
	g.in[0] = make([]any, n)
	ranks := make([]Group, n)
	for r := range ranks {
		ranks[r] = localRank{g, r}
	}
	return ranks
}

type localRank struct {
	g *localGroup
	r int
}

func (l localRank) Rank() int { return l.r }
func (l localRank) Size() int { return l.g.n }

// collective deposits buf, waits for every rank's, lets rank 0 run combine
// over all of them, and waits for it.
func (l localRank) collective(buf any, combine func(all []any)) {
	g := l.g
	g.mu.Lock()
	defer g.mu.Unlock()
	gen := g.gen
	g.in[0][l.r] = buf
	g.seen++
	if g.seen == g.n {
		combine(g.in[0])
		g.in[0] = make([]any, g.n)
		g.seen = 0
		g.gen++
		g.cond.Broadcast()
		return
	}
	for g.gen == gen {
		g.cond.Wait()
	}
}

func (l localRank) AllreduceSum(x []float32) error   { return localSum(l, x) }
func (l localRank) AllreduceSum64(x []float64) error { return localSum(l, x) }

// localSum adds the ranks' buffers in rank order into every one of them.
func localSum[T float32 | float64](l localRank, x []T) error {
	l.collective(x, func(all []any) {
		sum := make([]T, len(x))
		for _, b := range all {
			for i, v := range b.([]T) {
				sum[i] += v
			}
		}
		for _, b := range all {
			copy(b.([]T), sum)
		}
	})
	return nil
}

func (l localRank) Broadcast(b []byte) error {
	l.collective(b, func(all []any) {
		for _, o := range all[1:] {
			copy(o.([]byte), all[0].([]byte))
		}
	})
	return nil
}

// onRanks runs fn on each of n ranks concurrently and returns the first
// error.
func onRanks(n int, fn func(g Group) error) error {
	ranks := newLocalGroup(n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r := range ranks {
		wg.Go(func() { errs[r] = fn(ranks[r]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// maxDiff returns the largest difference between two trainers' weights,
// EMA and AdamW moments.
func maxDiff(a, b *Trainer) float64 {
	var d float64
	for i := range a.Params {
		for _, p := range [][2]*tensor.Tensor{{a.Params[i].Value, b.Params[i].Value}, {a.EMA.Shadow[i], b.EMA.Shadow[i]}, {a.Opt.M[i], b.Opt.M[i]}, {a.Opt.V[i], b.Opt.V[i]}} {
			x, y := p[0].Host(), p[1].Host()
			for j := range x {
				d = max(d, math.Abs(float64(x[j]-y[j])))
			}
		}
	}
	return d
}

// Data-parallel training: the ranks' share of the global micro-batches,
// with the gradients summed over them, gives the weights of one process
// running all of them (grad_accum): bit-identical when the sums add in the
// same order, and every rank holds the same weights.
func TestDataParallelTrain(t *testing.T) {
	train, val := shakespeare(t)
	for _, c := range []struct {
		obj          string
		accum, ranks int
		bucket       int
	}{
		{ObjectiveDuo, 2, 2, 0},
		{ObjectiveDuo, 4, 4, 0},
		{ObjectiveDuo, 4, 2, 4096}, // two micro-batches per rank, small buckets
		{ObjectiveMDLM, 2, 2, 0},
		{ObjectiveAR, 2, 2, 0},
	} {
		t.Run(fmt.Sprintf("%s-accum%d-ranks%d", c.obj, c.accum, c.ranks), func(t *testing.T) {
			cfg := tinyConfig(c.obj)
			cfg.Batch, cfg.GradAccum, cfg.Steps = 8, c.accum, 4
			cfg.EvalBatches = 2
			one, err := NewTrainer(cfg, train, val)
			if err != nil {
				t.Fatal(err)
			}
			var want []Record
			for one.Step < cfg.Steps {
				rec, err := one.TrainStep()
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, rec)
			}
			replicas := make([]*Trainer, c.ranks)
			err = onRanks(c.ranks, func(g Group) error {
				tr, err := NewTrainer(cfg, train, val)
				if err != nil {
					return err
				}
				tr.BucketBytes = c.bucket
				if err := tr.SetGroup(g); err != nil {
					return err
				}
				replicas[g.Rank()] = tr
				for tr.Step < cfg.Steps {
					if _, err := tr.TrainStep(); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for r, tr := range replicas {
				// One micro-batch per rank on two ranks sums g0+g1 as one
				// process does; other splits add in another order.
				exact := c.ranks == 2 && c.accum == 2
				if d := maxDiff(one, tr); d != 0 && (exact || d > 1e-6) {
					t.Errorf("rank %d: weights differ from one process by %g", r, d)
				}
				if d := maxDiff(replicas[0], tr); d != 0 {
					t.Errorf("rank %d: weights differ from rank 0's by %g", r, d)
				}
				for i, rec := range tr.Log {
					if math.Abs(rec.Loss-want[i].Loss) > 1e-6 || rec.Ranks != c.ranks || !(rec.CommShare > 0 && rec.CommShare < 1) {
						t.Errorf("rank %d step %d: loss %v (one process %v), ranks %d, comm share %v", r, i+1, rec.Loss, want[i].Loss, rec.Ranks, rec.CommShare)
					}
				}
			}
		})
	}
}

// Evaluation split over ranks gives every rank the one-process result.
func TestDataParallelEvaluate(t *testing.T) {
	train, val := shakespeare(t)
	tr, err := NewTrainer(tinyConfig(ObjectiveDuo), train, val)
	if err != nil {
		t.Fatal(err)
	}
	opt := EvalOptions{Batch: 2, Batches: 3, MC: 3, Seed: 7}
	want, err := Evaluate(tr.Model, val, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 4} {
		err := onRanks(n, func(g Group) error {
			o := opt
			o.Group = g
			got, err := Evaluate(tr.Model, val, o)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("rank %d of %d: %+v, one process %+v", g.Rank(), n, got, want)
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
}

func TestSetGroupRefuses(t *testing.T) {
	train, val := shakespeare(t)
	cfg := tinyConfig(ObjectiveDuo) // grad_accum 2
	err := onRanks(4, func(g Group) error {
		tr, _ := NewTrainer(cfg, train, val)
		return tr.SetGroup(g)
	})
	if err == nil || !strings.Contains(err.Error(), "grad_accum 2 is not a multiple of the 4 ranks") {
		t.Errorf("grad_accum 2 on 4 ranks: %v", err)
	}
	err = onRanks(2, func(g Group) error {
		c := cfg
		c.Seed += uint64(g.Rank()) // other initial weights on rank 1
		tr, _ := NewTrainer(c, train, val)
		return tr.SetGroup(g)
	})
	if err == nil || !strings.Contains(err.Error(), "rank 1 of 2 does not hold what rank 0 holds") {
		t.Errorf("different weights: %v", err)
	}
}

// Sampling and Gen PPL shared among ranks give every rank the samples and
// the score of one process with the same seed.
func TestDataParallelGenerate(t *testing.T) {
	for _, causal := range []bool{false, true} {
		m := byteModel(t, causal)
		opt := GenerateOptions{N: 5, Length: 12, Steps: 4, Seed: 3, Prompt: "ab"}
		want, err := m.Generate(context.Background(), opt)
		if err != nil {
			t.Fatal(err)
		}
		judge := byteModel(t, true).Net
		seqs := make([][]int32, len(want))
		for i, g := range want {
			seqs[i] = g.Tokens
		}
		seqs[1] = seqs[1][:5] // another length: another batch
		wantPPL, err := GenPPL(judge, seqs)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{2, 3, 7} { // 7 ranks: two without a sample
			err := onRanks(n, func(g Group) error {
				o := opt
				o.Group = g
				got, err := m.Generate(context.Background(), o)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(got, want) {
					return fmt.Errorf("causal %v, rank %d of %d: %v, one process %v", causal, g.Rank(), n, got, want)
				}
				ppl, err := GenPPLShared(judge, seqs, g)
				if err != nil {
					return err
				}
				if ppl != wantPPL {
					return fmt.Errorf("rank %d of %d: Gen PPL %+v, one process %+v", g.Rank(), n, ppl, wantPPL)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}
	}
}
