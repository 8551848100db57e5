package vk

// kernel describes one compute shader of package shaders: its module name,
// how many storage buffers it binds (bindings 0..n-1, in the order of the
// shader's declarations) and whether a subgroup variant (module_sg) exists.
type kernel struct {
	module   string
	bindings int
	subgroup bool
}

var (
	kMatMul       = &kernel{"matmul", 3, false}
	kMatMulLarge  = &kernel{"matmul_large", 3, false}
	kBinary       = &kernel{"binary", 3, false}
	kUnary        = &kernel{"unary", 2, false}
	kReduceTo     = &kernel{"reduce_to", 2, false}
	kReduceAxis   = &kernel{"reduce_axis", 2, true}
	kReduceAll    = &kernel{"reduce_all", 2, true}
	kAxis         = &kernel{"axis", 3, false}
	kSoftmax      = &kernel{"softmax", 3, true}
	kCrossEntropy = &kernel{"cross_entropy", 5, true}
	kLayerNorm    = &kernel{"layernorm", 6, true}
	kLayerNormDW  = &kernel{"layernorm_dw", 5, false}
	kEmbedding    = &kernel{"embedding", 3, true}
	kGatherLast   = &kernel{"gather_last", 3, false}
	kArgmax       = &kernel{"argmax", 2, true}
	kCopy2D       = &kernel{"copy2d", 2, false}
	kTranspose    = &kernel{"transpose", 2, false}
	kRotary       = &kernel{"rotary", 4, false}
	kAttnFwd      = &kernel{"attention_fwd", 3, false}
	kAttnBwdDQ    = &kernel{"attention_bwd_dq", 6, false}
	kAttnBwdDKV   = &kernel{"attention_bwd_dkv", 5, false}
	kAdamW        = &kernel{"adamw", 4, false}
	kAdaLN        = &kernel{"adaln", 4, false}
	kUSDMLoss     = &kernel{"usdm_loss", 6, true}
)

// allKernels lists every kernel (the tests check each has its module).
var allKernels = []*kernel{
	kMatMul, kMatMulLarge, kBinary, kUnary, kReduceTo, kReduceAxis, kReduceAll, kAxis,
	kSoftmax, kCrossEntropy, kLayerNorm, kLayerNormDW, kEmbedding, kGatherLast,
	kArgmax, kCopy2D, kTranspose, kRotary, kAttnFwd, kAttnBwdDQ, kAttnBwdDKV,
	kAdamW, kAdaLN, kUSDMLoss,
}

// b2u turns a boolean specialization constant into its 32-bit value.
func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
