// Package duo implements "The Diffusion Duality" (Sahoo et al., ICML 2025):
// uniform-state discrete diffusion language models (USDM) trained with the
// Gaussian-guided curriculum, distilled for few-step sampling (DCD), their
// samplers and their evaluation, with the AR and MDLM baselines; it runs on
// this module's tensor engine (the CPU, or a Vulkan device chosen below
// this package: nothing here knows which).
//
// To use a trained model from Go, Open a model directory (this project's
// checkpoints, a converted .ckpt, the authors' Hugging Face layout): the
// Model holds the network, its configuration and its tokenizer (package
// tokenizer; GPT-2's BPE is embedded), and generates (Model.Generate, with a
// prompt or infill and a per-step callback), scores and evaluates text; a
// context.Context cancels each between steps. To train, NewTrainer and
// Trainer.Run (a cancelled context checkpoints and returns); to distil,
// NewDistillation.
//
// The mathematics, in float64: noise schedules (schedule.go), the forward
// process, posterior and per-token loss (usdm.go, noise.go, Eqs. 1, 4, 17),
// the Diffusion Transformation operator T (transform.go, Eq. 11). The
// algorithms: an Objective (objective.go: Duo, USDM, AR, MDLM, DCD) turns a
// batch into a loss; a Trainer (train.go, run.go) runs the optimiser, EMA,
// validation and crash-consistent checkpoints (checkpoint.go); Sample
// (sample.go), Score (score.go) and Evaluate (eval.go) use a trained model.
// Equation numbers refer to arXiv 2506.10892 v3 as listed in
// shared/spec/duo.md.
package duo
