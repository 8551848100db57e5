package main

import (
	"flag"
	"fmt"

	"github.com/duo-go/duo/duo"
)

// psiFlags are duo sample's Psi-sampler flags (Duo++, spec section 6).
type psiFlags struct {
	mode, profile        string
	high, middle, low    string
	highFrac, middleFrac float64
}

// register registers the flags; the defaults are the authors' OpenWebText
// Duo script (max-capped eta 0.01 throughout a linear grid).
func (f *psiFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.mode, "sampler-mode", "ancestral", "ancestral, or psi: each step mixes the posterior (weight kappa) with a predictor-corrector step, one network call (the --psi-* flags)")
	fs.StringVar(&f.profile, "psi-profile", "linear", "psi time grid: linear, or linear-constant-linear-C[-inv] (a plateau at time C, or with -inv where alpha = C, over the middle fraction)")
	fs.Float64Var(&f.highFrac, "psi-high-frac", 0, "psi: fraction of the grid's points in the high (noisy) part")
	fs.Float64Var(&f.middleFrac, "psi-middle-frac", 0, "psi: fraction in the middle part (the low part is the rest)")
	const modes = "pure-posterior, pure-pc, constant-KAPPA, constant-remdm-ETA, max-capped-ETA or max-rescale-ETA"
	fs.StringVar(&f.high, "psi-high", "max-capped-0.01", "psi kappa mode of the high part: "+modes)
	fs.StringVar(&f.middle, "psi-middle", "max-capped-0.01", "psi kappa mode of the middle part")
	fs.StringVar(&f.low, "psi-low", "max-capped-0.01", "psi kappa mode of the low part")
}

// psi returns the sampler the flags ask for (nil: ancestral).
func (f *psiFlags) psi() (*duo.Psi, error) {
	switch f.mode {
	case "ancestral":
		return nil, nil
	case "psi":
	default:
		return nil, fmt.Errorf("--sampler-mode %s: want ancestral or psi", f.mode)
	}
	p := &duo.Psi{Profile: f.profile, HighFrac: f.highFrac, MiddleFrac: f.middleFrac}
	for _, m := range []struct {
		flag, s string
		dst     *duo.KappaMode
	}{{"psi-high", f.high, &p.High}, {"psi-middle", f.middle, &p.Middle}, {"psi-low", f.low, &p.Low}} {
		k, err := duo.ParseKappaMode(m.s)
		if err != nil {
			return nil, fmt.Errorf("--%s: %w", m.flag, err)
		}
		*m.dst = k
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}
