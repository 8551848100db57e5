#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// matmul: the small tiling of C = alpha * op(A) op(B) + beta * C (the
// semantics, operands and push constants are in matmul.glsl). The host uses
// it for products too small to fill a GPU with matmul_large's 128x128 blocks.
//
// Tiling: a 16x16 workgroup computes a 64x64 block of C; each invocation
// keeps a 4x4 block of accumulators in registers. K advances in steps of 16
// through shared memory, where both tiles are stored k-major so the inner
// loop reads one vec4 of A and one vec4 of B per step.
layout(local_size_x = 16, local_size_y = 16) in;

#include "matmul.glsl"

const uint BM = 64, BN = 64, BK = 16;
shared vec4 As[BK][BM / 4]; // As[k][m/4][m%4] = op(A)[m][k]
shared vec4 Bs[BK][BN / 4]; // Bs[k][n/4][n%4] = op(B)[k][n]

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
        uint m = m0 + ty * 4, n = n0 + tx * 4;
        if (m < p.M) storeC(baseC, m, n, acc0);
        if (m + 1 < p.M) storeC(baseC, m + 1, n, acc1);
        if (m + 2 < p.M) storeC(baseC, m + 2, n, acc2);
        if (m + 3 < p.M) storeC(baseC, m + 3, n, acc3);
    }
}
