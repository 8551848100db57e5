package nn

// MemoryBytes estimates the memory a DiT of c needs to run batch sequences
// of length tokens: its weights (in training also their gradients, the two
// AdamW moments, the EMA and the copy WithEMA keeps: six copies) and the
// activations of one forward pass (in training, those the backward pass
// keeps; at inference, the largest live set, the logits and the sampler's
// float64 rows included). It errs high, to refuse only what cannot fit.
func (c Config) MemoryBytes(batch, length int, training bool) float64 {
	K, D, L := float64(c.Vocab), float64(c.Hidden), float64(length)
	R, H, N := float64(c.MLPRatio), float64(c.Heads), float64(c.Blocks)
	tokens := float64(batch) * L
	weights := 4 * c.paramCount()
	// Per token: the residual stream, norms, q/k/v, attention output and
	// adaLN modulations (about 14 D), the MLP's hidden layer and its GELU
	// (2 R D), and one row of attention scores per head (H L).
	block := 14*D + 2*R*D + H*L
	if training {
		return 6*weights + 4*tokens*(N*block+3*K+4*D)
	}
	return weights + 4*tokens*(block+2*K+4*D) + 16*tokens*K
}
