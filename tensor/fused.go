package tensor

// The optional fused groups of a Backend. Each group is all or nothing; an
// operation checks for its group at the call (one type assertion) and runs
// its composition of core operations (fallback.go) on a backend without
// it. The CPU and Vulkan backends implement every group.

// RowKernels are the fused row kernels: the softmax family, cross-entropy
// and layer norm.
type RowKernels interface {
	// Softmax runs a row kernel over rows of n: SoftmaxForward and
	// LogSoftmaxForward read x (g is x); the backward ops read y = x and
	// the upstream gradient g.
	Softmax(op SoftmaxOp, out, x, g Buffer, n int)
	// CrossEntropy writes [mean loss, count] into stats (2 elements) for
	// logits (rows, n) and int32 targets (negative: ignored).
	CrossEntropy(stats, logits, targets Buffer, n int)
	// CrossEntropyBackward writes dx = g/count * (softmax - onehot), count
	// read on the device from stats[1].
	CrossEntropyBackward(dx, logits, targets, stats Buffer, n int, g float32)
	// LayerNorm writes y and the per-row mean and 1/std (LayerNorm).
	LayerNorm(y, mean, rstd, x, w Buffer, eps float32)
	// LayerNormBackward writes dx and accumulates dw (when not nil).
	LayerNormBackward(dx, dw, g, x, w, mean, rstd Buffer)
}

// LinearKernels are the fused dense layer: the product with a transposed
// weight, the bias, and the three gradients in one call.
type LinearKernels interface {
	// Linear computes y = x @ w^T (+ bias) for rows of in features.
	Linear(y, x, w, bias Buffer, in int)
	// LinearBackward writes dx = g @ w (when dx is not nil) and accumulates
	// dw += g^T @ x and db += column sums of g (when not nil).
	LinearBackward(dx, g, x, w, dw, db Buffer, in int)
}

// AttentionKernels are rotary embeddings and fused (flash-style)
// attention.
type AttentionKernels interface {
	// Rotary rotates the q and k heads of qkv (B, L, 3*heads*dim) into out
	// (v copied) with cos/sin tables (maxLen, dim/2); inverse rotates back.
	Rotary(out, qkv, cos, sin Buffer, B, L, heads, dim, maxLen int, inverse bool)
	// Attention writes out (B, L, heads*d) and lse (B, heads, L).
	Attention(out, lse, qkv Buffer, B, L, heads int, causal bool)
	// AttentionBackward writes dqkv.
	AttentionBackward(dqkv, g, qkv, out, lse Buffer, B, L, heads int, causal bool)
}

// AdaLNKernels are the DiT's adaptive layer-norm modulation and gated
// residual.
type AdaLNKernels interface {
	// Modulate writes out = x * (1 + scale) + shift for x (B, L, D) and
	// shift, scale (B, D).
	Modulate(out, x, shift, scale Buffer, B, L, D int)
	// ModulateBackward writes dx, dshift and dscale.
	ModulateBackward(dx, dshift, dscale, g, x, scale Buffer, B, L, D int)
	// GatedAdd writes out = h + gate * y for h, y (B, L, D), gate (B, D).
	GatedAdd(out, h, y, gate Buffer, B, L, D int)
	// GatedAddBackward writes dy and dgate.
	GatedAddBackward(dy, dgate, g, y, gate Buffer, B, L, D int)
}

// OptimizerKernels are AdamW, the weight average and gradient clipping.
type OptimizerKernels interface {
	// AdamW applies one AdamW update to w with gradient g and moments m, v.
	AdamW(w, g, m, v Buffer, p AdamWParams)
	// EMA computes shadow -= k * (shadow - w) in place.
	EMA(shadow, w Buffer, k float32)
	// ClipByNorm scales g by maxNorm/(norm+1e-6) when norm = sqrt(sumsq[0])
	// exceeds maxNorm.
	ClipByNorm(g, sumsq Buffer, maxNorm float32)
}

// USDMLossKernel is the Duo loss of Eq. 17 and its gradient in one pass
// over the logits.
type USDMLossKernel interface {
	// USDMLoss writes into losses (rows) the per-row Duo loss of Eq. 17 of
	// logits (rows, n), log x_theta = log_softmax(logits), with int32 ids
	// zt and x0 per row and alpha, alphaPrime per sequence of
	// rows/len(alpha) rows (USDMLoss), and, when grad is not nil,
	// d loss_r / d logits_r into grad (rows, n).
	USDMLoss(losses, grad, logits, zt, x0 Buffer, alpha, alphaPrime []float64, n int)
}
