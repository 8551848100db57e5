#version 450
// matmul: C = alpha * op(A) op(B) + beta * C for a batch of row-major
// matrices (tensor.MatMulInto, gemm.Sgemm). op transposes when TRANS_A /
// TRANS_B is set: A is then stored K x M, B N x K. Every matrix has a leading
// dimension, an element offset and a batch stride (0 shares one matrix).
//
// Tiling: a 16x16 workgroup computes a 64x64 block of C; each invocation
// keeps a 4x4 block of accumulators in registers. K advances in steps of 16
// through shared memory, where both tiles are stored k-major so the inner
// loop reads one vec4 of A and one vec4 of B per step. VEC_A / VEC_B (set by
// the host when offsets, strides, leading dimension and the contiguous extent
// are multiples of 4) load global memory as vec4.
layout(local_size_x = 16, local_size_y = 16) in;

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

const uint BM = 64, BN = 64, BK = 16;
shared vec4 As[BK][BM / 4]; // As[k][m/4][m%4] = op(A)[m][k]
shared vec4 Bs[BK][BN / 4]; // Bs[k][n/4][n%4] = op(B)[k][n]

// load4 reads 4 consecutive floats of a matrix starting at idx, of which the
// first lim (0..4) exist; the rest read as zero.
vec4 loadA(uint idx, uint lim) {
    if (VEC_A) return lim >= 4 ? a4[idx >> 2] : vec4(0.0);
    vec4 v = vec4(0.0);
    for (uint i = 0; i < 4; i++) if (i < lim) v[i] = a[idx + i];
    return v;
}

vec4 loadB(uint idx, uint lim) {
    if (VEC_B) return lim >= 4 ? b4[idx >> 2] : vec4(0.0);
    vec4 v = vec4(0.0);
    for (uint i = 0; i < 4; i++) if (i < lim) v[i] = b[idx + i];
    return v;
}

uint avail(uint pos, uint end) { return pos < end ? min(end - pos, 4u) : 0u; }

void main() {
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint tid = ty * 16 + tx;
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    for (uint bat = gl_WorkGroupID.z; bat < p.batch; bat += gl_NumWorkGroups.z) {
        uint baseA = p.offA + bat * p.strideA;
        uint baseB = p.offB + bat * p.strideB;
        uint baseC = p.offC + bat * p.strideC;
        vec4 acc0 = vec4(0.0), acc1 = vec4(0.0), acc2 = vec4(0.0), acc3 = vec4(0.0);
        for (uint k0 = 0; k0 < p.K; k0 += BK) {
            if (!TRANS_A) { // A is M x K: each invocation loads 4 k of one row
                uint r = tid >> 2, kq = (tid & 3) << 2;
                uint m = m0 + r, k = k0 + kq;
                vec4 v = m < p.M ? loadA(baseA + m * p.lda + k, avail(k, p.K)) : vec4(0.0);
                As[kq + 0][r >> 2][r & 3] = v.x;
                As[kq + 1][r >> 2][r & 3] = v.y;
                As[kq + 2][r >> 2][r & 3] = v.z;
                As[kq + 3][r >> 2][r & 3] = v.w;
            } else { // A is K x M: 4 m of one k row
                uint kr = tid >> 4, mq = (tid & 15) << 2;
                uint k = k0 + kr, m = m0 + mq;
                As[kr][mq >> 2] = k < p.K ? loadA(baseA + k * p.lda + m, avail(m, p.M)) : vec4(0.0);
            }
            if (!TRANS_B) { // B is K x N: 4 n of one k row
                uint kr = tid >> 4, nq = (tid & 15) << 2;
                uint k = k0 + kr, n = n0 + nq;
                Bs[kr][nq >> 2] = k < p.K ? loadB(baseB + k * p.ldb + n, avail(n, p.N)) : vec4(0.0);
            } else { // B is N x K: 4 k of one n row
                uint r = tid >> 2, kq = (tid & 3) << 2;
                uint n = n0 + r, k = k0 + kq;
                vec4 v = n < p.N ? loadB(baseB + n * p.ldb + k, avail(k, p.K)) : vec4(0.0);
                Bs[kq + 0][r >> 2][r & 3] = v.x;
                Bs[kq + 1][r >> 2][r & 3] = v.y;
                Bs[kq + 2][r >> 2][r & 3] = v.z;
                Bs[kq + 3][r >> 2][r & 3] = v.w;
            }
            barrier();
            for (uint kk = 0; kk < BK; kk++) {
                vec4 av = As[kk][ty];
                vec4 bv = Bs[kk][tx];
                acc0 += av.x * bv;
                acc1 += av.y * bv;
                acc2 += av.z * bv;
                acc3 += av.w * bv;
            }
            barrier();
        }
        vec4 acc[4] = vec4[4](acc0, acc1, acc2, acc3);
        for (uint i = 0; i < 4; i++) {
            uint m = m0 + ty * 4 + i;
            if (m >= p.M) break;
            for (uint j = 0; j < 4; j++) {
                uint n = n0 + tx * 4 + j;
                if (n >= p.N) break;
                uint idx = baseC + m * p.ldc + n;
                float r = p.alpha * acc[i][j];
                if (p.beta != 0.0) r += p.beta * c[idx];
                c[idx] = r;
            }
        }
    }
}
