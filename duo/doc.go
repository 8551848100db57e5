// Package duo implements "The Diffusion Duality" (Sahoo et al., ICML 2025):
// uniform-state discrete diffusion language models (USDM) trained with the
// Gaussian-guided curriculum, their samplers and their evaluation, on the
// tensor engine (CPU or a Vulkan device, chosen below this package).
//
// The mathematics, in float64: noise schedules (schedule.go), the forward
// process, posterior and per-token loss (usdm.go, noise.go, Eqs. 1, 4, 17),
// the Diffusion Transformation operator T (transform.go, Eq. 11). The
// algorithms: an Objective (objective.go: Duo, USDM, AR) turns a batch into
// a loss; a Trainer (train.go, run.go) runs the optimiser, EMA, validation
// and crash-consistent checkpoints (checkpoint.go); Sample (sample.go) and
// Evaluate (eval.go) use a trained model. Equation numbers refer to arXiv
// 2506.10892 v3 as listed in shared/spec/duo.md.
package duo
