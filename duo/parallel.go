package duo

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/duo-go/duo/internal/safetensors"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// Group is the set of processes that train, evaluate or sample one model
// together, each on its share of the work (data parallelism). Package
// internal/mpi's World implements it; nil means one process.
//
// The sums must give every rank the same bits, so that replicas that start
// equal stay equal.
type Group interface {
	Rank() int
	Size() int
	AllreduceSum(x []float32) error   // in place, over the ranks
	AllreduceSum64(x []float64) error // in place, over the ranks
	Broadcast(b []byte) error         // rank 0's bytes to every rank
}

// DefaultBucketBytes is the size of the buffers gradients are summed in
// (Trainer.BucketBytes): small gradients are packed into one, so that a
// step makes a few large calls instead of one per parameter. The 170M
// model's gradients took 93 ms in buckets of 4 MiB, 119 ms in 1 MiB, 176 ms
// in 25 MiB and 168 ms one tensor at a time, between 2 ranks on one machine
// (duo bench allreduce, docs/distributed.md).
const DefaultBucketBytes = 4 << 20

// rankOf returns g's rank and size (0 and 1 for nil).
func rankOf(g Group) (rank, size int) {
	if g == nil {
		return 0, 1
	}
	return g.Rank(), g.Size()
}

// microSeed is the seed of global micro-batch m of the step that follows
// `step` completed ones: every draw of a micro-batch (data offsets, times,
// noise, dropout) comes from its own stream, so a run does not depend on
// how many ranks share the micro-batches. (SplitMix64's finaliser over the
// three values.)
func microSeed(seed uint64, step, m int) uint64 {
	z := seed
	for _, v := range []uint64{uint64(step), uint64(m)} {
		z += 0x9e3779b97f4a7c15 + v
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
	}
	return z
}

// SetGroup makes the trainer one of g's ranks: each step runs
// GradAccum/Size of the global micro-batches here and sums the gradients
// over the group before clipping. Every rank must have the same
// configuration, step and weights; SetGroup checks that against rank 0.
func (t *Trainer) SetGroup(g Group) error {
	_, n := rankOf(g)
	if t.Cfg.GradAccum%n != 0 {
		return fmt.Errorf("grad_accum %d is not a multiple of the %d ranks: each rank runs grad_accum/ranks micro-batches of batch/grad_accum = %d sequences (give --grad-accum %d, or a multiple)",
			t.Cfg.GradAccum, n, t.Cfg.Batch/t.Cfg.GradAccum, n*((t.Cfg.GradAccum+n-1)/n))
	}
	t.Group = g
	return t.checkReplicas()
}

// checkReplicas returns an error unless every rank holds what rank 0 holds
// (configuration, step, corpus, weights, EMA and AdamW moments). Run calls
// it at every checkpoint, so that replicas that drifted apart (an MPI
// library whose sums differ between ranks) cannot go unnoticed.
func (t *Trainer) checkReplicas() error {
	g := t.Group
	if _, n := rankOf(g); n == 1 {
		return nil
	}
	mine := t.fingerprint()
	b := append([]byte(nil), mine...) // a fixed-size digest: the same length on every rank
	if err := g.Broadcast(b); err != nil {
		return err
	}
	if string(b) != string(mine) {
		return fmt.Errorf("at step %d, rank %d of %d does not hold what rank 0 holds (configuration, step, corpus or weights differ: every rank must read the same --data and --out)", t.Step, g.Rank(), g.Size())
	}
	return nil
}

// fingerprint digests what every rank must agree on before a step.
func (t *Trainer) fingerprint() []byte {
	cfg, _ := json.Marshal(struct {
		Cfg  TrainConfig
		Step int
		Data Corpus
	}{t.Cfg, t.Step, Corpus{TrainTokens: t.Data.TrainTokens, ValTokens: t.Data.ValTokens, CRC32C: t.Data.CRC32C}})
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	h.Write(cfg)
	for i, p := range t.Params {
		for _, ts := range []*tensor.Tensor{p.Value, t.EMA.Shadow[i], t.Opt.M[i], t.Opt.V[i]} {
			h.Write(safetensors.NewF32("", nil, ts.Host()).Data) // the bytes as a checkpoint holds them
		}
	}
	return binary.LittleEndian.AppendUint32(nil, h.Sum32())
}

// AllreduceGrads sums the parameters' gradients over g (TrainStep calls it
// between the backward passes and clipping; a custom training loop can call
// it there too). Gradients of at
// least half a bucket are summed in place (in bucket-sized pieces); smaller
// ones are packed into one bucket per call. A parameter without a gradient
// on every rank keeps none; one without a gradient on some ranks only gets
// zeros there. Device tensors are staged through their host copies.
func AllreduceGrads(g Group, params []nn.Param, bucketBytes int) error {
	has := make([]float64, len(params))
	for i, p := range params {
		if p.Grad != nil {
			has[i] = 1
		}
	}
	if err := g.AllreduceSum64(has); err != nil {
		return err
	}
	bucket := max(1, bucketBytes/4)
	packed := make([]float32, 0, bucket)
	var pending []*tensor.Tensor // the gradients packed into the bucket
	flush := func() error {
		if len(packed) == 0 {
			return nil
		}
		if err := g.AllreduceSum(packed); err != nil {
			return err
		}
		off := 0
		for _, gr := range pending {
			off += copy(gr.Data(), packed[off:])
		}
		packed, pending = packed[:0], pending[:0]
		return nil
	}
	for i := range params {
		if has[i] == 0 {
			continue
		}
		p := &params[i]
		if p.Grad == nil {
			p.Grad = tensor.New(p.Value.Shape()...)
		}
		if 2*p.Grad.Len() >= bucket {
			d := p.Grad.Data()
			for lo := 0; lo < len(d); lo += bucket {
				if err := g.AllreduceSum(d[lo:min(len(d), lo+bucket)]); err != nil {
					return err
				}
			}
			continue
		}
		if len(packed)+p.Grad.Len() > bucket {
			if err := flush(); err != nil {
				return err
			}
		}
		packed = append(packed, p.Grad.Host()...)
		pending = append(pending, p.Grad)
	}
	return flush()
}

// agreeStop reports whether any rank of g asks to stop (so that all stop
// after the same step).
func agreeStop(g Group, stop bool) (bool, error) {
	if _, n := rankOf(g); n == 1 {
		return stop, nil
	}
	x := []float64{0}
	if stop {
		x[0] = 1
	}
	err := g.AllreduceSum64(x)
	return x[0] > 0, err
}

// stopwatch adds up the time spent communicating.
type stopwatch struct{ total time.Duration }

func (s *stopwatch) time(fn func() error) error {
	start := time.Now()
	err := fn()
	s.total += time.Since(start)
	return err
}

// generateShared is Generate with o's samples shared among o.Group's ranks
// (see GenerateOptions.Group).
func (m *Model) generateShared(ctx context.Context, o GenerateOptions) ([]Generation, error) {
	g := o.Group
	rank, n := rankOf(g)
	N := max(o.N, 1)
	seeds := o.Seeds
	if seeds == nil {
		seeds = RowSeeds(o.Seed, N)
	}
	if len(seeds) != N {
		return nil, fmt.Errorf("seeds: %d, want one per sample (%d)", len(seeds), N)
	}
	lo, hi := rank*N/n, (rank+1)*N/n
	var mine []Generation
	if hi > lo {
		sub := o
		sub.Group, sub.OnStep, sub.N, sub.Seeds = nil, nil, hi-lo, seeds[lo:hi]
		var err error
		if mine, err = m.Generate(ctx, sub); err != nil {
			return nil, err
		}
	}
	rows := make([][]int32, len(mine))
	for i, gen := range mine {
		rows[i] = gen.Tokens
	}
	all, err := gatherRows(g, rows, lo, N)
	if err != nil {
		return nil, err
	}
	gens := make([]Generation, N)
	for i, ids := range all {
		gens[i] = Generation{Text: m.Tokenizer.Decode(ids), Tokens: ids}
	}
	return gens, nil
}

// gatherRows returns, on every rank, the N rows of which this rank holds
// rows[i] = row lo+i (rows of any lengths; ids are exact in float64).
func gatherRows(g Group, rows [][]int32, lo, N int) ([][]int32, error) {
	lens := make([]float64, N)
	for i, r := range rows {
		lens[lo+i] = float64(len(r))
	}
	if err := g.AllreduceSum64(lens); err != nil {
		return nil, err
	}
	off := make([]int, N+1)
	for i, l := range lens {
		off[i+1] = off[i] + int(l)
	}
	flat := make([]float64, off[N])
	for i, r := range rows {
		for j, id := range r {
			flat[off[lo+i]+j] = float64(id)
		}
	}
	if err := g.AllreduceSum64(flat); err != nil {
		return nil, err
	}
	out := make([][]int32, N)
	for i := range out {
		out[i] = make([]int32, off[i+1]-off[i])
		for j := range out[i] {
			out[i][j] = int32(flat[off[i]+j])
		}
	}
	return out, nil
}
