package duo

import (
	"math"

	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/tensor"
)

// NoiseDiscrete corrupts clean tokens x (B sequences of length L) with the
// USDM forward process (Eq. 1) at antithetic times t in [TimeEps, 1] under
// sched (spec sections 1-2). This is plain Duo / UDLM training and every
// evaluation.
func NoiseDiscrete(x []int32, B, K int, sched Schedule, rng *tensor.RNG) *Noised {
	L := len(x) / B
	t := make([]float64, B)
	AntitheticTimes(t, rng.Float64())
	nb := newNoised(x, B, L)
	for b := 0; b < B; b++ {
		a := sched.Alpha(t[b])
		nb.Alpha[b], nb.AlphaPrime[b], nb.Sigma[b] = a, sched.AlphaPrime(t[b]), float32(Sigma(a))
		copy(nb.Zt[b*L:(b+1)*L], Corrupt(x[b*L:(b+1)*L], K, a, rng))
	}
	return nb
}

// Corrupt draws z_t ~ q_t(. | x) for every token of x at signal level
// alpha = alpha_t (Eq. 1): each token is replaced by a uniform id with
// probability 1 - alpha.
func Corrupt(x []int32, K int, alpha float64, rng RNG) []int32 {
	z := make([]int32, len(x))
	for i, id := range x {
		z[i] = int32(SampleMarginal(rng, int(id), K, alpha))
	}
	return z
}

func newNoised(x []int32, B, L int) *Noised {
	return &Noised{B: B, L: L, X: x, Zt: make([]int32, len(x)),
		Alpha: make([]float64, B), AlphaPrime: make([]float64, B), Sigma: make([]float32, B)}
}

// Curriculum holds the Gaussian-guided curriculum's settings (Sec. 4.1): the
// log-SNR range, the softmax temperature tau = 10^Log10Tau, and TopK, the
// number of latent coordinates kept besides the clean token's by the
// efficient curriculum (0: the full softmax).
type Curriculum struct {
	Gamma    GammaSchedule
	Log10Tau float64
	TopK     int
}

// NoiseCurriculum draws Gaussian latents w = at x + st eps (Eq. 7) at
// antithetic times, and returns z_t = argmax w with alpha = T(at), alpha' =
// dT/dt and the network's input, the soft lookup softmax(w/tau) @ E: as the
// full (B, L, K) w / tau (each latent row built in place) or, with TopK,
// as the k+1 kept rows and their weights (nn.Mix), alpha from the
// polynomial fit of T (spec section 4).
func (c Curriculum) NoiseCurriculum(x []int32, B, K int, rng *tensor.RNG) *Noised {
	t := make([]float64, B)
	AntitheticTimes(t, rng.Float64())
	seeds := make([]uint64, B) // one stream per sequence: results do not depend on the thread count
	for b := range seeds {
		seeds[b] = rng.Uint64()
	}
	if c.TopK > 0 {
		return c.noiseTopK(x, B, K, t, func(b int) *tensor.RNG { return tensor.NewRNG(seeds[b]) })
	}
	return c.noise(x, B, K, t, func(b int) func() float64 { return tensor.NewRNG(seeds[b]).NormFloat64 })
}

// noise builds the curriculum batch at times t, drawing the standard normal
// eps of sequence b, position by position and id by id, from eps(b).
func (c Curriculum) noise(x []int32, B, K int, t []float64, eps func(b int) func() float64) *Noised {
	L := len(x) / B
	tr := TransformFor(K)
	nb := newNoised(x, B, L)
	nb.Soft = tensor.New(B, L, K)
	invTau := float32(math.Pow(10, -c.Log10Tau))
	for b := 0; b < B; b++ {
		a := c.Gamma.AlphaAtT(tr, t[b])
		nb.Alpha[b], nb.AlphaPrime[b], nb.Sigma[b] = a, c.Gamma.AlphaPrimeAtT(tr, t[b]), float32(Sigma(a))
	}
	w := nb.Soft.Data()
	parallel.For(B, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			at, st := GaussianCoefs(c.Gamma.Gamma(t[b]))
			normal := eps(b)
			for i := b * L; i < (b+1)*L; i++ {
				row := w[i*K : (i+1)*K]
				best, bestV := 0, float32(math.Inf(-1))
				for v := range row {
					e := float32(st * normal())
					if v == int(x[i]) {
						e += float32(at)
					}
					row[v] = e
					if e > bestV {
						best, bestV = v, e
					}
				}
				nb.Zt[i] = int32(best)
				for v := range row {
					row[v] *= invTau
				}
			}
		}
	})
	return nb
}
