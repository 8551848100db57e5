package duo

import (
	"math"
	"sync"
)

// PolyTransform is T (Eq. 11) over one gamma range as a polynomial: the
// efficient curriculum's alpha(t) and alpha'(t) (spec section 4), with no
// table. The fit is the least-squares polynomial of its degree at Chebyshev
// nodes of the range (by their discrete orthogonality, the truncated
// Chebyshev interpolant), stored as monomial coefficients of the range
// mapped to [-1, 1].
type PolyTransform struct {
	Min, Max float64
	Coef     []float64 // alpha = sum_i Coef[i] u^i, u = (2 gamma - Min - Max) / (Max - Min)
}

// PolyDegree is the degree of the efficient curriculum's fit of T.
const PolyDegree = 9

// FitTransform fits T over [g.Min, g.Max] with a polynomial of the given
// degree, from T at 256 Chebyshev nodes.
func FitTransform(tr AlphaOfGamma, g GammaSchedule, degree int) *PolyTransform {
	const nodes = 256
	f := make([]float64, nodes)
	u := make([]float64, nodes)
	for i := range f {
		u[i] = math.Cos(math.Pi * (float64(i) + 0.5) / nodes)
		f[i] = tr.Alpha((g.Min+g.Max)/2 + u[i]*(g.Max-g.Min)/2)
	}
	// Chebyshev coefficients c_j = (2/n) sum_i f(u_i) T_j(u_i), c_0 halved;
	// T_j's monomial coefficients by T_{j+1} = 2u T_j - T_{j-1}.
	p := &PolyTransform{Min: g.Min, Max: g.Max, Coef: make([]float64, degree+1)}
	prev, cur := []float64{1}, []float64{0, 1} // T_0, T_1
	for j := 0; j <= degree; j++ {
		tj := prev
		if j > 0 {
			tj = cur
		}
		var c float64
		for i := range f {
			c += f[i] * math.Cos(float64(j)*math.Acos(u[i]))
		}
		c *= 2.0 / nodes
		if j == 0 {
			c /= 2
		}
		for i, m := range tj {
			p.Coef[i] += c * m
		}
		if j > 0 {
			next := make([]float64, len(cur)+1)
			for i, m := range cur {
				next[i+1] += 2 * m
			}
			for i, m := range prev {
				next[i] -= m
			}
			prev, cur = cur, next
		}
	}
	return p
}

func (p *PolyTransform) u(gamma float64) float64 {
	return (2*gamma - p.Min - p.Max) / (p.Max - p.Min)
}

// Alpha returns the fitted T(gamma).
func (p *PolyTransform) Alpha(gamma float64) float64 {
	u, v := p.u(gamma), 0.0
	for i := len(p.Coef) - 1; i >= 0; i-- {
		v = v*u + p.Coef[i]
	}
	return v
}

// DAlphaDGamma returns the fitted dT/dgamma: the polynomial's derivative.
func (p *PolyTransform) DAlphaDGamma(gamma float64) float64 {
	u, v := p.u(gamma), 0.0
	for i := len(p.Coef) - 1; i >= 1; i-- {
		v = v*u + float64(i)*p.Coef[i]
	}
	return v * 2 / (p.Max - p.Min)
}

// MaxError returns the largest absolute differences of the fit's alpha and
// dalpha/dgamma from tr's over n even points of the range.
func (p *PolyTransform) MaxError(tr AlphaOfGamma, n int) (alpha, dalpha float64) {
	for i := 0; i < n; i++ {
		g := p.Min + (p.Max-p.Min)*float64(i)/float64(n-1)
		alpha = math.Max(alpha, math.Abs(p.Alpha(g)-tr.Alpha(g)))
		dalpha = math.Max(dalpha, math.Abs(p.DAlphaDGamma(g)-tr.DAlphaDGamma(g)))
	}
	return alpha, dalpha
}

var polys sync.Map // polyKey -> *PolyTransform

type polyKey struct {
	K int
	G GammaSchedule
}

// polyFor returns the shared degree-PolyDegree fit of T for K over g.
func polyFor(K int, g GammaSchedule) *PolyTransform {
	key := polyKey{K, g}
	if p, ok := polys.Load(key); ok {
		return p.(*PolyTransform)
	}
	p, _ := polys.LoadOrStore(key, FitTransform(TransformFor(K), g, PolyDegree))
	return p.(*PolyTransform)
}
