package duo

import (
	"math"

	"github.com/duo-go/duo/internal/parallel"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// The efficient curriculum (Duo++, spec section 4): the tempered softmax of
// the Gaussian latent w = at x + st eps (Eq. 7) is negligible outside its
// largest entries, so only they are drawn. The K-1 coordinates other than
// the clean token's are iid N(0, st^2): their k largest come from the
// order statistics of uniforms, three numbers per entry and none per id.

// TopKDraw is the top-k draw of one position's latent.
type TopKDraw struct {
	Others []float64 // the k largest of the K-1 zero-mean coordinates, descending
	IDs    []int32   // their ids: distinct, uniform over the ids other than x
	True   float64   // the clean token's coordinate, at + st * N(0, 1)
}

// DrawTopK draws the k largest of the K-1 zero-mean coordinates of the
// latent of clean token x at (at, st), with their ids, and x's coordinate.
// The j-th largest of n iid uniforms is U_(j) = U_(j-1) u_j^(1/(n-j+1)),
// U_(0) = 1, taken in log space; the coordinate is st Phi^-1(U_(j)), read
// from the upper tail 1 - U_(j) so that values near 1 keep their digits.
func DrawTopK(d *TopKDraw, x int32, K, k int, at, st float64, rng *tensor.RNG) {
	d.Others, d.IDs = d.Others[:0], d.IDs[:0]
	n := K - 1
	logU := 0.0
	for j := 0; j < k; j++ {
		logU += math.Log(1-rng.Float64()) / float64(n-j)
		q := -math.Expm1(logU) // 1 - U_(j)
		d.Others = append(d.Others, st*math.Sqrt2*math.Erfcinv(2*math.Max(q, 1e-300)))
	}
	// Distinct ids by rejection: k is far below K, so a repeat is rare, and
	// every id (and every order of them) is equally likely.
	for len(d.IDs) < k {
		id := int32(rng.IntN(n))
		if id >= x {
			id++
		}
		if !containsID(d.IDs, id) {
			d.IDs = append(d.IDs, id)
		}
	}
	d.True = at + st*rng.NormFloat64()
}

func containsID(ids []int32, id int32) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// Argmax returns z_t = argmax w: x exactly when its coordinate beats the
// largest of all the others (not merely the k-th: the reference's k > 1
// path takes x whenever it enters the top k, which overstates P(z_t = x)).
func (d *TopKDraw) Argmax(x int32) int32 {
	if d.True > d.Others[0] {
		return x
	}
	return d.IDs[0]
}

// Weights writes the softmax of w / tau over the kept entries into dst (k+1
// values: the k others, then x) and returns the expected softmax mass of the
// K-1-k coordinates left out. The normaliser counts those by the closed form
// E[exp(X/tau) | X < c] = exp(s^2/2) Phi((c/tau - s^2)/s) / Phi(c/tau/s),
// X ~ N(0, st^2), s = st/tau, c the k-th largest kept value, times their
// number.
func (d *TopKDraw) Weights(dst []float64, K int, st, tau float64) (tail float64) {
	k := len(d.Others)
	logs := dst[:k+1]
	for j, v := range d.Others {
		logs[j] = v / tau
	}
	logs[k] = d.True / tau
	logTail := math.Inf(-1)
	if nTail := K - 1 - k; nTail > 0 {
		s, c := st/tau, d.Others[k-1]/tau
		logTail = math.Log(float64(nTail)) + s*s/2 + LogPhi((c-s*s)/s) - LogPhi(c/s)
	}
	m := logTail
	for _, l := range logs {
		m = math.Max(m, l)
	}
	z := math.Exp(logTail - m)
	for i, l := range logs {
		logs[i] = math.Exp(l - m)
		z += logs[i]
	}
	for i := range logs {
		logs[i] /= z
	}
	return math.Exp(logTail-m) / z
}

// noiseTopK builds the efficient curriculum's batch: per position the k+1
// kept ids and their softmax weights as the network's input (nn.Mix), z_t
// = argmax w, and alpha, alpha' from the polynomial fit of T over the
// gamma range (spec section 4), at times t; rngOf(b) draws sequence b's.
func (c Curriculum) noiseTopK(x []int32, B, K int, t []float64, rngOf func(b int) *tensor.RNG) *Noised {
	L, k := len(x)/B, c.TopK
	poly := polyFor(K, c.Gamma)
	nb := newNoised(x, B, L)
	n := k + 1
	nb.Mix = &nn.Mix{N: n, IDs: make([]int32, len(x)*n), Weights: make([]float32, len(x)*n)}
	tau := math.Pow(10, c.Log10Tau)
	for b := 0; b < B; b++ {
		a := c.Gamma.AlphaAtT(poly, t[b])
		nb.Alpha[b], nb.AlphaPrime[b], nb.Sigma[b] = a, c.Gamma.AlphaPrimeAtT(poly, t[b]), float32(Sigma(a))
	}
	parallel.For(B, 1, func(lo, hi int) {
		d := &TopKDraw{Others: make([]float64, 0, k), IDs: make([]int32, 0, k)}
		w := make([]float64, n)
		for b := lo; b < hi; b++ {
			at, st := GaussianCoefs(c.Gamma.Gamma(t[b]))
			rng := rngOf(b)
			for i := b * L; i < (b+1)*L; i++ {
				DrawTopK(d, x[i], K, k, at, st, rng)
				nb.Zt[i] = d.Argmax(x[i])
				d.Weights(w, K, st, tau)
				ids, ws := nb.Mix.IDs[i*n:(i+1)*n], nb.Mix.Weights[i*n:(i+1)*n]
				copy(ids, d.IDs)
				ids[k] = x[i]
				for j, v := range w {
					ws[j] = float32(v)
				}
			}
		}
	})
	return nb
}
