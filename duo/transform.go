package duo

import (
	"fmt"
	"math"
	"sync"
)

// Quadrature and table layout for the Diffusion Transformation operator T.
// The integrand phi(z-mu) Phi(z)^(K-1) is smooth on a scale no finer than
// the width of the max of K normals (~0.19 at K = 1e6), so composite
// 10-point Gauss-Legendre on panels of 0.25 reaches ~1e-15. Only panels
// within zTail of the Gaussian bump and above the point where
// Phi^(K-1) < e^logFMin contribute.
const (
	glN     = 10   // Gauss-Legendre nodes per panel
	panelW  = 0.25 // panel width in z
	zTail   = 9.5  // phi(9.5) ~ 5e-21
	logFMin = -60  // Phi(z)^(K-1) below e^-60 ~ 1e-26 is dropped

	tabGMin = -6.0 // tabulated gamma range; outside it T is integrated directly
	tabGMax = 2.0
	tabH    = 0.01 // gamma spacing of the quintic Hermite table
)

var glX, glW = gaussLegendre(glN)

// gaussLegendre returns the n nodes and weights of Gauss-Legendre
// quadrature on [-1, 1] (Newton iteration on P_n).
func gaussLegendre(n int) (x, w []float64) {
	x, w = make([]float64, n), make([]float64, n)
	for i := 0; i < (n+1)/2; i++ {
		r := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for it := 0; it < 100; it++ {
			p0, p1 := 1.0, r
			for j := 2; j <= n; j++ {
				p0, p1 = p1, (float64(2*j-1)*r*p1-float64(j-1)*p0)/float64(j)
			}
			dp = float64(n) * (r*p1 - p0) / (r*r - 1)
			dr := p1 / dp
			r -= dr
			if math.Abs(dr) < 1e-16 {
				break
			}
		}
		x[i], x[n-1-i] = -r, r
		w[i] = 2 / ((1 - r*r) * dp * dp)
		w[n-1-i] = w[i]
	}
	return x, w
}

// LogPhi is log of the standard normal CDF, accurate in both tails.
func LogPhi(z float64) float64 {
	switch {
	case z > 0:
		return math.Log1p(-0.5 * math.Erfc(z/math.Sqrt2))
	case z > -35:
		return math.Log(0.5 * math.Erfc(-z/math.Sqrt2))
	}
	// Mills-ratio asymptotic series; next term < 1e-12 for z <= -35.
	r := 1 / (z * z)
	s := 1 - r*(1-r*(3-r*(15-r*105)))
	return -z*z/2 - math.Log(-z) - 0.5*math.Log(2*math.Pi) + math.Log(s)
}

// Transform is the Diffusion Transformation operator T for one vocabulary
// size K (Eq. 11): the USDM signal level alpha = T that makes argmax of the
// Gaussian latent w = at x + st eps (Eq. 7) follow the USDM marginal (Eqs.
// 10-13). T and its first three gamma-derivatives are tabulated on an even
// gamma grid; T and dT/dgamma are read back by quintic Hermite interpolation
// (errors ~1e-14 absolute, and relative for small T and small dT/dgamma);
// gamma outside [-6, 2] is integrated directly. Safe for concurrent use.
type Transform struct {
	K int

	z0 float64   // start of the first quadrature panel
	np int       // number of precomputed panels
	z  []float64 // quadrature nodes, np*glN
	wf []float64 // nw per node: weight * (F, F1, F2, F3, 1-F), see node

	tab [4][]float64 // T and its gamma-derivatives 1..3 at tabGMin + i*tabH
}

const nw = 5 // values stored per quadrature node

// NewTransform tabulates T for vocabulary size K >= 2.
func NewTransform(K int) *Transform {
	if K < 2 {
		panic(fmt.Sprintf("duo: NewTransform: K = %d < 2", K))
	}
	tr := &Transform{K: K}
	// zc: below it Phi^(K-1) < e^logFMin (bisection; LogPhi is increasing).
	lo, hi := -40.0, 40.0
	for range 100 {
		mid := (lo + hi) / 2
		if float64(K-1)*LogPhi(mid) < logFMin {
			lo = mid
		} else {
			hi = mid
		}
	}
	tr.z0 = panelW * math.Floor(math.Max(lo, -zTail)/panelW)
	top := math.Exp(-tabGMin/2) + zTail
	tr.np = int(math.Ceil((top - tr.z0) / panelW))
	tr.z = make([]float64, tr.np*glN)
	tr.wf = make([]float64, nw*tr.np*glN)
	for k := range tr.np {
		for j := range glN {
			n := k*glN + j
			tr.z[n] = tr.node(k, j, tr.wf[nw*n:nw*n+nw])
		}
	}
	n := int(math.Round((tabGMax-tabGMin)/tabH)) + 1
	for d := range tr.tab {
		tr.tab[d] = make([]float64, n)
	}
	for i := range n {
		v := tr.exact(tabGMin + float64(i)*tabH)
		for d := range tr.tab {
			tr.tab[d][i] = v[d]
		}
	}
	return tr
}

// node returns quadrature node j of panel k and writes weight * (F, F1, F2,
// F3, 1-F) there into wf: F = Phi^(K-1) and its z-derivatives
// F1 = (K-1) phi Phi^(K-2), F2 = F1 g, F3 = F1 (g^2 + dg/dz) with
// g = -z + (K-2) h, dg/dz = -1 - (K-2) h (z + h), h = phi/Phi; in log space.
func (tr *Transform) node(k, j int, wf []float64) float64 {
	z := tr.z0 + (float64(k)+(1+glX[j])/2)*panelW
	w := glW[j] * panelW / 2
	km1 := float64(tr.K - 1)
	lP := LogPhi(z)
	lphi := -z*z/2 - 0.5*math.Log(2*math.Pi)
	h := math.Exp(lphi - lP)
	g := -z + (km1-1)*h
	f1 := km1 * math.Exp(lphi+(km1-1)*lP)
	wf[0] = w * math.Exp(km1*lP)
	wf[1] = w * f1
	wf[2] = w * f1 * g
	wf[3] = w * f1 * (g*g - 1 - (km1-1)*h*(z+h))
	wf[4] = -w * math.Expm1(km1*lP)
	return z
}

// exact integrates T(gamma) (Eq. 11) and its first three gamma-derivatives
// by quadrature. With p(mu) = integral phi(z-mu) F(z) dz, the n-th
// mu-derivative of p is integral phi(z-mu) Fn(z) dz; for n = 1 this is the
// spec's integral (z-mu) phi(z-mu) F dz integrated by parts, whose integrand
// is positive, so dT/dgamma < 0 holds to full relative precision. Of the
// three forms of alpha (K p - 1, 1 - p, and for mu < 1 the difference
// phi(z-mu) - phi(z)) the one without cancellation is used, so alpha is
// accurate near 0 and near 1.
func (tr *Transform) exact(gamma float64) (v [4]float64) {
	mu := math.Exp(-gamma / 2)
	if math.IsInf(mu, 1) {
		return [4]float64{1, 0, 0, 0}
	}
	K, km1 := float64(tr.K), float64(tr.K-1)
	small := mu < 1 // alpha from phi(z) expm1(mu z - mu^2/2): no cancellation in K p - 1
	lo, hi := mu-zTail, mu+zTail
	if small {
		lo = -zTail
	}
	k0 := max(0, int(math.Floor((lo-tr.z0)/panelW)))
	k1 := int(math.Ceil((hi - tr.z0) / panelW))
	const invSqrt2Pi = 0.3989422804014327
	zs := tr.z0 + float64(k0)*panelW
	q := 0.5 * math.Erfc((mu-zs)/math.Sqrt2) // 1-p: the part below zs, where F ~ 0
	var p [4]float64                         // p and its mu-derivatives
	var d float64
	var buf [nw]float64
	for k := k0; k < k1; k++ {
		for j := range glN {
			var z float64
			wf := buf[:]
			if n := k*glN + j; k < tr.np {
				z, wf = tr.z[n], tr.wf[nw*n:nw*n+nw]
			} else { // beyond the precomputed grid (gamma < tabGMin)
				z = tr.node(k, j, wf)
			}
			u := z - mu
			g := invSqrt2Pi * math.Exp(-u*u/2)
			p[0] += g * wf[0]
			p[1] += g * wf[1]
			p[2] += g * wf[2]
			p[3] += g * wf[3]
			q += g * wf[4]
			if small {
				d += wf[0] * invSqrt2Pi * math.Exp(-z*z/2) * math.Expm1(mu*z-mu*mu/2)
			}
		}
	}
	c := K / km1
	switch {
	case small:
		v[0] = c * d
	case p[0] > 0.5:
		v[0] = 1 - c*q
	default:
		v[0] = (K*p[0] - 1) / km1
	}
	// Chain rule through mu = exp(-gamma/2), whose gamma-derivatives are
	// -mu/2, mu/4, -mu/8.
	v[1] = -c * mu / 2 * p[1]
	v[2] = c * mu / 4 * (p[2]*mu + p[1])
	v[3] = -c * mu / 8 * (p[3]*mu*mu + 3*p[2]*mu + p[1])
	return v
}

// hermite5 evaluates at fraction t in [0,1] the quintic Hermite interpolant
// with values f, first derivatives d and second derivatives s (per unit t)
// at t = 0 and t = 1.
func hermite5(f0, f1, d0, d1, s0, s1, t float64) float64 {
	t2, t3 := t*t, t*t*t
	t4, t5 := t3*t, t3*t2
	return (1-10*t3+15*t4-6*t5)*f0 + (t-6*t3+8*t4-3*t5)*d0 + (t2-3*t3+3*t4-t5)/2*s0 +
		(10*t3-15*t4+6*t5)*f1 + (-4*t3+7*t4-3*t5)*d1 + (t3-2*t4+t5)/2*s1
}

// lookup returns the n-th gamma-derivative of T (n = 0 or 1), from the table
// when gamma is in range.
func (tr *Transform) lookup(gamma float64, n int) float64 {
	if !(gamma >= tabGMin && gamma <= tabGMax) { // also NaN
		if math.IsNaN(gamma) {
			return gamma
		}
		return tr.exact(gamma)[n]
	}
	u := (gamma - tabGMin) / tabH
	i := min(int(u), len(tr.tab[0])-2)
	f, d, s := tr.tab[n], tr.tab[n+1], tr.tab[n+2]
	const h = tabH
	return hermite5(f[i], f[i+1], h*d[i], h*d[i+1], h*h*s[i], h*h*s[i+1], u-float64(i))
}

// Alpha returns T at log-SNR gamma (Eq. 11): alpha = (K p - 1)/(K - 1),
// p = integral phi(z - mu) Phi(z)^(K-1) dz, mu = exp(-gamma/2).
func (tr *Transform) Alpha(gamma float64) float64 { return tr.lookup(gamma, 0) }

// DAlphaDGamma returns dT/dgamma (spec section 3), negative.
// (Computed in the equivalent integrated-by-parts form; see exact.)
func (tr *Transform) DAlphaDGamma(gamma float64) float64 { return tr.lookup(gamma, 1) }

// GaussianCoefs returns the Gaussian latent's coefficients at log-SNR gamma
// (Eq. 7, spec section 3): at = sqrt(sigmoid(-gamma)), st = sqrt(sigmoid(gamma)).
func GaussianCoefs(gamma float64) (at, st float64) {
	return math.Sqrt(1 / (1 + math.Exp(gamma))), math.Sqrt(1 / (1 + math.Exp(-gamma)))
}

var transforms struct {
	sync.Mutex
	m map[int]*Transform
}

// TransformFor returns the shared Transform for K, building it on first use.
func TransformFor(K int) *Transform {
	transforms.Lock()
	defer transforms.Unlock()
	if tr, ok := transforms.m[K]; ok {
		return tr
	}
	if transforms.m == nil {
		transforms.m = map[int]*Transform{}
	}
	tr := NewTransform(K)
	transforms.m[K] = tr
	return tr
}

// AlphaOfGamma is alpha = T(gamma) and its derivative: the exact Transform,
// or its polynomial fit (PolyTransform).
type AlphaOfGamma interface {
	Alpha(gamma float64) float64
	DAlphaDGamma(gamma float64) float64
}

// GammaSchedule is the linear log-SNR schedule gamma_t = Min + t (Max - Min)
// of the curriculum and of distillation (spec sections 3-5).
type GammaSchedule struct{ Min, Max float64 }

// Gamma returns gamma_t.
func (g GammaSchedule) Gamma(t float64) float64 { return g.Min + t*(g.Max-g.Min) }

// AlphaAtT returns alpha_t = T(gamma_t).
func (g GammaSchedule) AlphaAtT(tr AlphaOfGamma, t float64) float64 { return tr.Alpha(g.Gamma(t)) }

// AlphaPrimeAtT returns d alpha_t / dt = dT/dgamma (Max - Min) (chain rule).
func (g GammaSchedule) AlphaPrimeAtT(tr AlphaOfGamma, t float64) float64 {
	return tr.DAlphaDGamma(g.Gamma(t)) * (g.Max - g.Min)
}

// CurriculumGammaRange returns the log-SNR range over which alpha = T(gamma)
// falls from 0.95 to 0.05 for a vocabulary of K ids: the paper chooses its
// curriculum ranges so ("alpha spans about [0.05, 0.95]"; [-3.55, -1.85]
// for GPT-2's 50257 ids). It depends on K strongly: [-3.05, -0.20] for 256.
func CurriculumGammaRange(K int) GammaSchedule {
	tr := TransformFor(K)
	at := func(alpha float64) float64 {
		return math.Round(solveDecreasing(tr.Alpha, alpha, -20, 20)*100) / 100
	}
	return GammaSchedule{Min: at(0.95), Max: at(0.05)}
}

// solveDecreasing returns x in [lo, hi] with f(x) = y for a decreasing f,
// by bisection to float64 resolution.
func solveDecreasing(f func(float64) float64, y, lo, hi float64) float64 {
	for range 100 {
		mid := (lo + hi) / 2
		if f(mid) > y {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// DualSchedule is the USDM Schedule induced by a Gaussian log-SNR schedule
// through T (Eqs. 10-13): what the curriculum's loss uses.
type DualSchedule struct {
	Gamma GammaSchedule
	T     AlphaOfGamma
}

// Alpha returns T(gamma_t).
func (s DualSchedule) Alpha(t float64) float64 { return s.Gamma.AlphaAtT(s.T, t) }

// AlphaPrime returns dT(gamma_t)/dt.
func (s DualSchedule) AlphaPrime(t float64) float64 { return s.Gamma.AlphaPrimeAtT(s.T, t) }
