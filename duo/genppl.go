package duo

import (
	"fmt"
	"math"
	"sort"

	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// GenPPLResult is the quality of a set of samples as the paper measures it
// (spec evaluation.md): generative perplexity under an autoregressive judge,
// always with the samples' unigram entropy, since repetitive text has a low
// Gen PPL too.
type GenPPLResult struct {
	GenPPL  float64 `json:"gen_ppl"` // exp of the judge's mean NLL per scored token
	NLL     float64 `json:"nll"`     // the judge's mean NLL per scored token (nats)
	StdErr  float64 `json:"stderr"`  // standard error of NLL over the samples (each sample's mean NLL one observation)
	Entropy float64 `json:"entropy"` // mean over samples of Entropy (nats)
	Tokens  int     `json:"tokens"`  // tokens scored
	Samples int     `json:"samples"`
}

// GenPPL scores samples with an AR judge. A sample of n tokens is cut into
// consecutive chunks of at most judge.Length+1 tokens; each token of a
// chunk but its first is scored given the ones before it, with the judge's
// log-probabilities in float64.
func GenPPL(judge *nn.DiT, samples [][]int32) (GenPPLResult, error) {
	return GenPPLShared(judge, samples, nil)
}

// GenPPLShared is GenPPL with the judge's batches shared among g's ranks
// (nil: this process alone); every rank returns the one-process result.
func GenPPLShared(judge *nn.DiT, samples [][]int32, g Group) (GenPPLResult, error) {
	var res GenPPLResult
	if !judge.Causal {
		return res, fmt.Errorf("genppl: the judge must be an AR (causal) model")
	}
	if len(samples) == 0 {
		return res, fmt.Errorf("genppl: no samples")
	}
	span := judge.Length + 1
	type chunk struct {
		ids    []int32
		sample int
	}
	byLen := map[int][]chunk{} // chunks of each length, batched together
	for i, s := range samples {
		for _, id := range s {
			if id < 0 || int(id) >= judge.Vocab {
				return res, fmt.Errorf("genppl: sample %d has token id %d outside the judge's vocabulary [0,%d)", i, id, judge.Vocab)
			}
		}
		for lo := 0; lo+1 < len(s); lo += span {
			c := s[lo:min(lo+span, len(s))]
			byLen[len(c)] = append(byLen[len(c)], chunk{c, i})
		}
		res.Entropy += Entropy(s) / float64(len(samples))
	}
	lens := make([]int, 0, len(byLen))
	for n := range byLen {
		lens = append(lens, n)
	}
	sort.Ints(lens)
	// The chunks in scoring order, each chunk's NLL sum, and the batches.
	var chunks []chunk
	var batches [][2]int // [lo, hi) of chunks, one length each
	const batch = 16
	for _, n := range lens {
		for lo := 0; lo < len(byLen[n]); lo += batch {
			part := byLen[n][lo:min(lo+batch, len(byLen[n]))]
			batches = append(batches, [2]int{len(chunks), len(chunks) + len(part)})
			chunks = append(chunks, part...)
		}
	}
	nll := make([]float64, len(chunks))
	rank, ranks := rankOf(g)
	for k := rank; k < len(batches); k += ranks {
		part := chunks[batches[k][0]:batches[k][1]]
		n := len(part[0].ids)
		ids := make([]int32, 0, len(part)*(n-1))
		for _, c := range part {
			ids = append(ids, c.ids[:n-1]...)
		}
		logits, err := judge.Forward(nil, nn.Input{Batch: len(part), IDs: ids})
		if err != nil {
			return res, err
		}
		x, K := logits.Value.Host(), judge.Vocab
		lp := make([]float64, K)
		for b, c := range part {
			for p := 0; p < n-1; p++ {
				r := b*(n-1) + p
				tensor.LogSoftmax64(lp, x[r*K:(r+1)*K])
				nll[batches[k][0]+b] -= lp[c.ids[p+1]]
			}
		}
	}
	if ranks > 1 {
		// The other ranks' chunks are zeros here: the sum gathers them.
		if err := g.AllreduceSum64(nll); err != nil {
			return res, err
		}
	}
	perSample := make([]struct {
		sum float64
		n   int
	}, len(samples))
	for i, c := range chunks {
		perSample[c.sample].sum += nll[i]
		perSample[c.sample].n += len(c.ids) - 1
		res.Tokens += len(c.ids) - 1
	}
	if res.Tokens == 0 {
		return res, fmt.Errorf("genppl: no token to score (samples of one token)")
	}
	var sum float64
	var means []float64
	for _, p := range perSample {
		if p.n > 0 {
			sum += p.sum
			means = append(means, p.sum/float64(p.n))
		}
	}
	res.NLL = sum / float64(res.Tokens)
	res.GenPPL = math.Exp(res.NLL)
	_, res.StdErr = meanStdErr(means)
	res.Samples = len(samples)
	return res, nil
}
