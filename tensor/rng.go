package tensor

import (
	"math"
	"math/rand/v2"
)

// RNG is the engine's seeded, deterministic random generator (PCG). Its state
// can be saved and restored, so a resumed run draws the same numbers as an
// uninterrupted one.
type RNG struct {
	src *rand.PCG
	r   *rand.Rand
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG {
	src := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	return &RNG{src: src, r: rand.New(src)}
}

// State returns the generator's state.
func (g *RNG) State() []byte {
	b, _ := g.src.MarshalBinary() // PCG's MarshalBinary never fails
	return b
}

// SetState restores a state returned by State.
func (g *RNG) SetState(b []byte) error { return g.src.UnmarshalBinary(b) }

// Uint64 returns a uniformly distributed 64-bit value.
func (g *RNG) Uint64() uint64 { return g.r.Uint64() }

// Float64 returns a uniform value in [0, 1).
func (g *RNG) Float64() float64 { return g.r.Float64() }

// IntN returns a uniform value in [0, n).
func (g *RNG) IntN(n int) int { return g.r.IntN(n) }

// NormFloat64 returns a standard normal value.
func (g *RNG) NormFloat64() float64 { return g.r.NormFloat64() }

// ExpFloat64 returns an Exp(1) value.
func (g *RNG) ExpFloat64() float64 { return g.r.ExpFloat64() }

// Uniform fills t with uniform values in [lo, hi).
func (g *RNG) Uniform(t *Tensor, lo, hi float32) {
	d := t.Data()
	for i := range d {
		d[i] = lo + (hi-lo)*float32(g.r.Float64())
	}
}

// Normal fills t with N(mean, std^2) values.
func (g *RNG) Normal(t *Tensor, mean, std float32) {
	d := t.Data()
	for i := range d {
		d[i] = mean + std*float32(g.r.NormFloat64())
	}
}

// Gumbel fills t with standard Gumbel values, -log(-log U).
func (g *RNG) Gumbel(t *Tensor) {
	d := t.Data()
	for i := range d {
		d[i] = float32(-math.Log(g.r.ExpFloat64()))
	}
}
