package duo

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The Psi-samplers (Duo++, spec section 6): each step draws z_s from
//
//	kappa q(z_s | z_t, x_theta) + (1 - kappa) (alpha_s q0 + (1 - alpha_s) prior)
//
// where q0 is the same posterior taken to alpha_s = 1 (a prediction of x
// from z_t) and the second term noises it forward to s: a predictor-
// corrector step, with one network call. kappa = 1 is ancestral sampling.
// kappa is set per step by a mode, separately for the high, middle and low
// parts of the time grid, which may hold a plateau (steps with s = t: pure
// corrector steps, the ReMDM "loop").

// Kappa modes.
const (
	KappaPosterior     = "pure-posterior" // kappa = 1: ancestral
	KappaPC            = "pure-pc"        // kappa = 0: predictor-corrector only
	KappaConstant      = "constant"       // kappa = eta
	KappaConstantReMDM = "constant-remdm" // sigma = eta
	KappaMaxCapped     = "max-capped"     // sigma = min(eta, (1 - alpha_s)/alpha_t)
	KappaMaxRescale    = "max-rescale"    // sigma = min(eta, (1 - alpha_s)/alpha_t) eta
)

// KappaMode is how a part of the time grid sets kappa. The ReMDM-style
// modes set a remasking rate sigma and kappa = clip(1 - sigma/(1 -
// alpha_s), 0, 1).
type KappaMode struct {
	Name string  // one of the Kappa* constants
	Eta  float64 // the mode's parameter (unused by pure-posterior and pure-pc)
}

// ParseKappaMode reads a mode as the reference writes it: "pure-posterior",
// "pure-pc", or a mode name and its parameter, "constant-0.95",
// "constant-remdm-0.01", "max-capped-0.01", "max-rescale-0.05".
func ParseKappaMode(s string) (KappaMode, error) {
	if s == KappaPosterior || s == KappaPC {
		return KappaMode{Name: s}, nil
	}
	i := strings.LastIndexByte(s, '-')
	if i < 0 {
		return KappaMode{}, fmt.Errorf("kappa mode %q: want pure-posterior, pure-pc, constant-K, constant-remdm-ETA, max-capped-ETA or max-rescale-ETA", s)
	}
	eta, err := strconv.ParseFloat(s[i+1:], 64)
	if err != nil {
		return KappaMode{}, fmt.Errorf("kappa mode %q: %q is not a number >= 0", s, s[i+1:])
	}
	k := KappaMode{Name: s[:i], Eta: eta}
	return k, k.validate()
}

// validate reports a mode of an unknown name or an out-of-range parameter.
func (k KappaMode) validate() error {
	switch {
	case k.Name == KappaPosterior || k.Name == KappaPC:
		return nil
	case k.Name != KappaConstant && k.Name != KappaConstantReMDM && k.Name != KappaMaxCapped && k.Name != KappaMaxRescale:
		return fmt.Errorf("kappa mode %q: want pure-posterior, pure-pc, constant-K, constant-remdm-ETA, max-capped-ETA or max-rescale-ETA", k)
	case !(k.Eta >= 0) || math.IsInf(k.Eta, 0):
		return fmt.Errorf("kappa mode %q: %q is not a number >= 0", k, strconv.FormatFloat(k.Eta, 'g', -1, 64))
	case k.Name == KappaConstant && k.Eta > 1:
		return fmt.Errorf("kappa mode %q: a constant kappa must lie in [0, 1]", k)
	}
	return nil
}

// String returns the mode as ParseKappaMode reads it.
func (k KappaMode) String() string {
	if k.Name == KappaPosterior || k.Name == KappaPC {
		return k.Name
	}
	return k.Name + "-" + strconv.FormatFloat(k.Eta, 'g', -1, 64)
}

// kappas returns the mode's kappa at each point of a segment of the time
// grid: for the step from ts[i] to ts[i+1], and 1 at the segment's last
// point (as the reference does).
func (k KappaMode) kappas(ts []float64, sched Schedule) []float64 {
	out := make([]float64, len(ts))
	for i := range ts {
		switch {
		case k.Name == KappaPosterior || i == len(ts)-1 && k.Name != KappaPC && k.Name != KappaConstant:
			out[i] = 1
			continue
		case k.Name == KappaPC:
			continue
		case k.Name == KappaConstant:
			out[i] = k.Eta
			continue
		}
		at, as := sched.Alpha(ts[i]), sched.Alpha(ts[i+1])
		sigma := k.Eta
		capped := k.Eta
		if at > 0 {
			capped = math.Min(k.Eta, (1-as)/at)
		}
		switch k.Name {
		case KappaMaxCapped:
			sigma = capped
		case KappaMaxRescale:
			sigma = capped * k.Eta
			if at <= 0 {
				sigma = k.Eta
			}
		}
		out[i] = 1
		if as < 1 {
			out[i] = math.Min(1, math.Max(0, 1-sigma/(1-as)))
		}
	}
	return out
}

// Psi configures a Psi-sampler: the time profile and the kappa modes of
// the grid's high (first HighFrac of its points), middle (next MiddleFrac)
// and low (the rest) parts.
type Psi struct {
	// Profile is "linear" (the grid of ancestral sampling) or
	// "linear-constant-linear-C": linear from 1 to time C over the high
	// part, C throughout the middle part, linear from C to 1e-5 over the
	// low part; with the suffix "-inv", C is a signal level alpha and the
	// plateau sits at the time where the schedule reaches it.
	Profile              string
	HighFrac, MiddleFrac float64
	High, Middle, Low    KappaMode
}

// Validate reports the first bad setting.
func (p *Psi) Validate() error {
	if _, _, err := p.plateau(LogLinear{}); err != nil {
		return err
	}
	switch {
	case !(p.HighFrac >= 0 && p.MiddleFrac >= 0 && p.HighFrac+p.MiddleFrac <= 1):
		return fmt.Errorf("psi fractions high %g, middle %g: want non-negative, summing to at most 1", p.HighFrac, p.MiddleFrac)
	}
	for _, k := range []KappaMode{p.High, p.Middle, p.Low} {
		if err := k.validate(); err != nil {
			return err
		}
	}
	return nil
}

// plateau returns the profile's plateau time (ok false for "linear").
func (p *Psi) plateau(sched Schedule) (c float64, ok bool, err error) {
	if p.Profile == "" || p.Profile == "linear" {
		return 0, false, nil
	}
	const pre = "linear-constant-linear-"
	rest, found := strings.CutPrefix(p.Profile, pre)
	rest, inv := strings.CutSuffix(rest, "-inv")
	v, perr := strconv.ParseFloat(rest, 64)
	if !found || perr != nil || !(v > 0 && v < 1) {
		return 0, false, fmt.Errorf("psi time profile %q: want linear or linear-constant-linear-C[-inv], C in (0, 1)", p.Profile)
	}
	if inv {
		v = solveDecreasing(sched.Alpha, v, 0, 1) // the reference's 1 - alpha ignores the schedule's eps
	}
	return v, true, nil
}

// Grid returns the steps+1 times of the sampling grid, from 1 to tMin.
func (p *Psi) Grid(steps int, sched Schedule) ([]float64, error) {
	n := steps + 1
	c, ok, err := p.plateau(sched)
	if err != nil {
		return nil, err
	}
	if !ok {
		return linspace(1, tMin, n), nil
	}
	nHi, nMid := p.split(n)
	g := linspace(1, c, nHi)
	for range nMid {
		g = append(g, c)
	}
	return append(g, linspace(c, tMin, n-nHi-nMid)...), nil
}

// split returns the number of grid points in the high and middle parts
// (rounded half to even, as the reference's Python round).
func (p *Psi) split(n int) (nHi, nMid int) {
	nHi = int(math.RoundToEven(p.HighFrac * float64(n)))
	nMid = int(math.RoundToEven(p.MiddleFrac * float64(n)))
	nMid = min(nMid, n-nHi)
	return nHi, nMid
}

// Kappas returns kappa at each point of grid: step i, from grid[i] to
// grid[i+1], mixes with kappas[i].
func (p *Psi) Kappas(grid []float64, sched Schedule) []float64 {
	nHi, nMid := p.split(len(grid))
	k := p.High.kappas(grid[:nHi], sched)
	k = append(k, p.Middle.kappas(grid[nHi:nHi+nMid], sched)...)
	return append(k, p.Low.kappas(grid[nHi+nMid:], sched)...)
}

// linspace returns n evenly spaced values from a to b (a alone when n = 1).
func linspace(a, b float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		if n == 1 {
			out[i] = a
			continue
		}
		out[i] = a + (b-a)*float64(i)/float64(n-1)
	}
	return out
}

// PsiPosterior writes the Psi step's distribution of z_s into dst for a
// uniform-state model: kappa q(z_s | z_t, x) + (1 - kappa) (alpha_s q0 +
// (1 - alpha_s)/K), q0 = q(z_0 | z_t, x) (Posterior at alpha_s = 1). x is
// x_theta over the K = len(x) ids; dst must not alias x. kappa = 1 is
// Posterior exactly.
func PsiPosterior(dst, x []float64, zt int, alphaT, alphaS, kappa float64) {
	Posterior(dst, x, zt, alphaT, alphaS)
	if kappa == 1 {
		return
	}
	// q0 = Posterior(x, zt, alphaT, 1): x reweighted towards z_t.
	K := float64(len(x))
	inv := 1 / (K*alphaT*x[zt] + 1 - alphaT)
	for v, xv := range x {
		q0 := (1 - alphaT) * xv * inv
		if v == zt {
			q0 += K * alphaT * xv * inv
		}
		dst[v] = kappa*dst[v] + (1-kappa)*(alphaS*q0+(1-alphaS)/K)
	}
}

// MDLMPsiPosterior is PsiPosterior for MDLM: dst holds K ids, the last
// [MASK], and x is x_theta over the K-1 others. For an unmasked z_t, q0 is
// z_t itself, so the corrector remasks it with probability (1 - kappa)(1 -
// alpha_s) (ReMDM).
func MDLMPsiPosterior(dst, x []float64, zt int, alphaT, alphaS, kappa float64) {
	MDLMPosterior(dst, x, zt, alphaT, alphaS)
	if kappa == 1 {
		return
	}
	mask := len(dst) - 1
	for v := range dst {
		dst[v] *= kappa
	}
	// q0 = MDLMPosterior(x, zt, alphaT, 1): x itself for a masked z_t.
	if zt == mask {
		for v, xv := range x {
			dst[v] += (1 - kappa) * alphaS * xv
		}
	} else {
		dst[zt] += (1 - kappa) * alphaS
	}
	dst[mask] += (1 - kappa) * (1 - alphaS)
}

// String describes the sampler: its profile, and its modes with the
// fractions of the grid they cover.
func (p *Psi) String() string {
	prof := p.Profile
	if prof == "" {
		prof = "linear"
	}
	if p.HighFrac == 0 && p.MiddleFrac == 0 {
		return fmt.Sprintf("psi %s %s", prof, p.Low)
	}
	return fmt.Sprintf("psi %s %s (%g) / %s (%g) / %s", prof, p.High, p.HighFrac, p.Middle, p.MiddleFrac, p.Low)
}
