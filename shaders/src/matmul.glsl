// matmul.glsl: the interface and operand loads shared by the two matmul
// kernels (matmul.comp, 64x64 tiles; matmul_large.comp, 128x128 tiles), which
// the host picks between per product. #included after the workgroup size,
// by shaders that enable GL_EXT_control_flow_attributes.
//
// Both compute C = alpha * op(A) op(B) + beta * C for a batch of row-major
// matrices (tensor.MatMulInto, gemm.Sgemm). op transposes when TRANS_A /
// TRANS_B is set: A is then stored K x M, B N x K. Every matrix has a leading
// dimension, an element offset and a batch stride (0 shares one matrix).
// VEC_A / VEC_B (set by the host when offsets, strides, leading dimension and
// the contiguous extent are multiples of 4) load global memory as vec4.
// Beta 0 writes C without reading it.

layout(constant_id = 0) const bool TRANS_A = false;
layout(constant_id = 1) const bool TRANS_B = false;
layout(constant_id = 2) const bool VEC_A = false;
layout(constant_id = 3) const bool VEC_B = false;

layout(std430, binding = 0) readonly buffer MatA { float a[]; };
layout(std430, binding = 0) readonly buffer MatA4 { vec4 a4[]; };
layout(std430, binding = 1) readonly buffer MatB { float b[]; };
layout(std430, binding = 1) readonly buffer MatB4 { vec4 b4[]; };
layout(std430, binding = 2) buffer MatC { float c[]; };

layout(push_constant) uniform Params {
    uint M, N, K;
    uint lda, ldb, ldc;
    uint offA, offB, offC;
    uint strideA, strideB, strideC;
    uint batch;
    float alpha, beta;
} p;

// loadA / loadB read 4 consecutive floats of a matrix starting at idx, of
// which the first lim (0..4) exist; the rest read as zero.
vec4 loadA(uint idx, uint lim) {
    if (VEC_A) return lim >= 4 ? a4[idx >> 2] : vec4(0.0);
    vec4 v = vec4(0.0);
    [[unroll]] for (uint i = 0; i < 4; i++) if (i < lim) v[i] = a[idx + i];
    return v;
}

vec4 loadB(uint idx, uint lim) {
    if (VEC_B) return lim >= 4 ? b4[idx >> 2] : vec4(0.0);
    vec4 v = vec4(0.0);
    [[unroll]] for (uint i = 0; i < 4; i++) if (i < lim) v[i] = b[idx + i];
    return v;
}

// avail is how many of the 4 positions from pos lie before end.
uint avail(uint pos, uint end) { return pos < end ? min(end - pos, 4u) : 0u; }

// storeC writes row m, columns n..n+3 (those below N) of the result, acc
// being op(A) op(B) there. The caller checks m < M. The loop has no early
// exit, so it unrolls and the caller's accumulators stay in registers.
void storeC(uint baseC, uint m, uint n, vec4 acc) {
    [[unroll]] for (uint j = 0; j < 4; j++) {
        if (n + j < p.N) {
            uint idx = baseC + m * p.ldc + n + j;
            float r = p.alpha * acc[j];
            if (p.beta != 0.0) r += p.beta * c[idx];
            c[idx] = r;
        }
    }
}
