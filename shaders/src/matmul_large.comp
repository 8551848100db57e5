#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// matmul_large: the large tiling of C = alpha * op(A) op(B) + beta * C (the
// semantics, operands and push constants are in matmul.glsl), for products
// big enough to fill a GPU with 128x128 blocks.
//
// Tiling: a workgroup of 256 invocations computes a 128x128 block of C; each
// invocation keeps 8x8 accumulators, as 2x2 sub-blocks of 4x4 that lie 64
// rows and 64 columns apart. Per k an invocation then reads op(A) rows as
// two vec4 and op(B) columns as two vec4 from shared memory for 64 FMAs (the
// 64x64 kernel reads two vec4 for 16), and because the sub-blocks are
// strided rather than adjacent, the invocations of a subgroup read
// consecutive vec4 of one k row: no bank conflicts, a few broadcasts.
//
// K advances in steps of BK = 8 through two shared-memory stages, both tiles
// stored k-major (As[s][k][m/4] holds op(A)[m..m+3][k]). While the workgroup
// multiplies the tiles of one stage, each invocation has already issued the
// global loads of the next step's tiles into registers (one vec4 of A, one
// of B: 128x8 floats each over 256 invocations) and stores them into the
// other stage afterwards, so global latency hides behind the FMAs and one
// barrier per step suffices: the barrier that publishes stage s^1 also
// guarantees everyone is done reading stage s before it is overwritten.
// Shared memory is 2 stages x 2 tiles x 8 x 128 floats = 16 KiB, the Vulkan
// minimum of maxComputeSharedMemorySize.
layout(local_size_x = 256) in;

#include "matmul.glsl"

const uint BM = 128, BN = 128, BK = 8;
shared vec4 As[2][BK][BM / 4]; // As[s][k][m/4][m%4] = op(A)[m][k]
shared vec4 Bs[2][BK][BN / 4]; // Bs[s][k][n/4][n%4] = op(B)[k][n]

// fetchA returns the vec4 of op(A)'s tile at step k0 that invocation tid
// moves; stashA stores it into stage s. When A is M x K that is 4 k of row
// tid/2 (transposed into As by scalar stores), when A is K x M 4 m of k row
// tid/32 (one vec4 store). Elements outside the matrix are zero.
vec4 fetchA(uint baseA, uint m0, uint k0, uint tid) {
    if (!TRANS_A) {
        uint m = m0 + (tid >> 1), k = k0 + ((tid & 1) << 2);
        return m < p.M ? loadA(baseA + m * p.lda + k, avail(k, p.K)) : vec4(0.0);
    }
    uint k = k0 + (tid >> 5), m = m0 + ((tid & 31) << 2);
    return k < p.K ? loadA(baseA + k * p.lda + m, avail(m, p.M)) : vec4(0.0);
}

void stashA(uint s, uint tid, vec4 v) {
    if (!TRANS_A) {
        uint r = tid >> 1, kq = (tid & 1) << 2;
        As[s][kq + 0][r >> 2][r & 3] = v.x;
        As[s][kq + 1][r >> 2][r & 3] = v.y;
        As[s][kq + 2][r >> 2][r & 3] = v.z;
        As[s][kq + 3][r >> 2][r & 3] = v.w;
    } else {
        As[s][tid >> 5][tid & 31] = v;
    }
}

// fetchB / stashB: the same for op(B): 4 n of k row tid/32 when B is K x N,
// 4 k of row tid/2 when B is N x K.
vec4 fetchB(uint baseB, uint n0, uint k0, uint tid) {
    if (!TRANS_B) {
        uint k = k0 + (tid >> 5), n = n0 + ((tid & 31) << 2);
        return k < p.K ? loadB(baseB + k * p.ldb + n, avail(n, p.N)) : vec4(0.0);
    }
    uint n = n0 + (tid >> 1), k = k0 + ((tid & 1) << 2);
    return n < p.N ? loadB(baseB + n * p.ldb + k, avail(k, p.K)) : vec4(0.0);
}

void stashB(uint s, uint tid, vec4 v) {
    if (!TRANS_B) {
        Bs[s][tid >> 5][tid & 31] = v;
    } else {
        uint r = tid >> 1, kq = (tid & 1) << 2;
        Bs[s][kq + 0][r >> 2][r & 3] = v.x;
        Bs[s][kq + 1][r >> 2][r & 3] = v.y;
        Bs[s][kq + 2][r >> 2][r & 3] = v.z;
        Bs[s][kq + 3][r >> 2][r & 3] = v.w;
    }
}

// storeRow writes the 8 results of one accumulator row: columns n..n+3
// and n+64..n+67 of row m.
void storeRow(uint baseC, uint m, uint n, vec4 lo, vec4 hi) {
    if (m < p.M) {
        storeC(baseC, m, n, lo);
        storeC(baseC, m, n + 64, hi);
    }
}

void main() {
    uint tid = gl_LocalInvocationIndex;
    // Invocation (tx, ty) of a 16x16 grid owns rows ty*4+i and 64+ty*4+i and
    // columns tx*4+j and 64+tx*4+j of the block. Each group of 32
    // consecutive invocations (a subgroup on NVIDIA) is an 8x4 patch of that
    // grid, so one k step of the inner loop reads 8 distinct vec4 of Bs and
    // 4 of As per subgroup: one shared-memory wavefront each.
    uint lane = tid & 31, warp = tid >> 5;
    uint tx = (warp & 1) * 8 + (lane & 7);
    uint ty = (warp >> 1) * 4 + (lane >> 3);
    uint m0 = gl_WorkGroupID.y * BM, n0 = gl_WorkGroupID.x * BN;
    for (uint bat = gl_WorkGroupID.z; bat < p.batch; bat += gl_NumWorkGroups.z) {
        uint baseA = p.offA + bat * p.strideA;
        uint baseB = p.offB + bat * p.strideB;
        uint baseC = p.offC + bat * p.strideC;
        // acc[h*8 + i*2 + w] holds row h*64 + ty*4 + i, columns
        // w*64 + tx*4 .. +3 of the block.
        vec4 acc[16];
        [[unroll]] for (uint i = 0; i < 16; i++) acc[i] = vec4(0.0);

        vec4 ra = fetchA(baseA, m0, 0, tid), rb = fetchB(baseB, n0, 0, tid);
        stashA(0, tid, ra);
        stashB(0, tid, rb);
        barrier();
        uint s = 0;
        for (uint k0 = 0; k0 < p.K; k0 += BK) {
            bool more = k0 + BK < p.K;
            if (more) { // in flight during the FMAs below
                ra = fetchA(baseA, m0, k0 + BK, tid);
                rb = fetchB(baseB, n0, k0 + BK, tid);
            }
            [[unroll]] for (uint kk = 0; kk < BK; kk++) {
                vec4 a0 = As[s][kk][ty], a1 = As[s][kk][ty + 16];
                vec4 b0 = Bs[s][kk][tx], b1 = Bs[s][kk][tx + 16];
                [[unroll]] for (uint i = 0; i < 4; i++) {
                    acc[i * 2] += a0[i] * b0;
                    acc[i * 2 + 1] += a0[i] * b1;
                    acc[8 + i * 2] += a1[i] * b0;
                    acc[8 + i * 2 + 1] += a1[i] * b1;
                }
            }
            if (more) {
                stashA(s ^ 1, tid, ra);
                stashB(s ^ 1, tid, rb);
            }
            barrier();
            s ^= 1;
        }

        // Written out rather than looped: indexing acc by a loop variable
        // would keep the accumulators in an array instead of registers.
        uint m = m0 + ty * 4, n = n0 + tx * 4;
        storeRow(baseC, m, n, acc[0], acc[1]);
        storeRow(baseC, m + 1, n, acc[2], acc[3]);
        storeRow(baseC, m + 2, n, acc[4], acc[5]);
        storeRow(baseC, m + 3, n, acc[6], acc[7]);
        storeRow(baseC, m + 64, n, acc[8], acc[9]);
        storeRow(baseC, m + 65, n, acc[10], acc[11]);
        storeRow(baseC, m + 66, n, acc[12], acc[13]);
        storeRow(baseC, m + 67, n, acc[14], acc[15]);
    }
}
