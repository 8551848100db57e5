#version 450
// attention_bwd_dkv: second half of tensor.AttentionBackward, after
// attention_bwd_dq stored Di. Workgroup (key block, b*H + h), one key row
// per invocation: dV_j = sum_i P_ij dO_i and dK_j = sum_i dS_ij Q_i, with the
// queries, dO rows, lse and Di streaming through shared memory. Each output
// row has exactly one writer: no atomics, deterministic.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint BC = 32;
layout(constant_id = 3) const bool CAUSAL = false;

layout(std430, binding = 0) readonly buffer QKV { float qkv[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) readonly buffer LSE { float lse[]; };
layout(std430, binding = 3) readonly buffer Delta { float delta[]; };
layout(std430, binding = 4) writeonly buffer DQKV { float dqkv[]; };

layout(push_constant) uniform Params {
    uint B, L, H;
    float scale;
} p;

shared float Qs[BC * D];
shared float Gs[BC * D];
shared float Ls[BC];
shared float Ds[BC];

void main() {
    uint t = gl_LocalInvocationID.x, BR = gl_WorkGroupSize.x;
    uint Dm = p.H * D, W = 3 * Dm;
    for (uint bh = gl_WorkGroupID.y; bh < p.B * p.H; bh += gl_NumWorkGroups.y) {
        uint b = bh / p.H, hh = bh % p.H;
        uint j0 = gl_WorkGroupID.x * BR;
        uint j = j0 + t;
        bool valid = j < p.L;
        uint kb = (b * p.L + j) * W + Dm + hh * D;
        float k[D], v[D], dk[D], dv[D];
        for (uint c = 0; c < D; c++) {
            k[c] = valid ? qkv[kb + c] : 0.0;
            v[c] = valid ? qkv[kb + Dm + c] : 0.0;
            dk[c] = 0.0;
            dv[c] = 0.0;
        }
        uint iStart = CAUSAL ? (j0 / BC) * BC : 0;
        for (uint i0 = iStart; i0 < p.L; i0 += BC) {
            for (uint e = t; e < BC * D; e += BR) {
                uint i = i0 + e / D, c = e % D;
                bool in_ = i < p.L;
                Qs[e] = in_ ? qkv[(b * p.L + i) * W + hh * D + c] : 0.0;
                Gs[e] = in_ ? g[(b * p.L + i) * Dm + hh * D + c] : 0.0;
            }
            for (uint e = t; e < BC; e += BR) {
                uint i = i0 + e;
                Ls[e] = i < p.L ? lse[bh * p.L + i] : 0.0;
                Ds[e] = i < p.L ? delta[bh * p.L + i] : 0.0;
            }
            barrier();
            if (valid) {
                for (uint ii = 0; ii < BC; ii++) {
                    uint i = i0 + ii;
                    if (i >= p.L) break;
                    if (CAUSAL && j > i) continue;
                    float s = 0.0, dp = 0.0;
                    for (uint c = 0; c < D; c++) {
                        s += Qs[ii * D + c] * k[c];
                        dp += Gs[ii * D + c] * v[c];
                    }
                    float pij = exp(s * p.scale - Ls[ii]);
                    float ds = p.scale * pij * (dp - Ds[ii]);
                    for (uint c = 0; c < D; c++) {
                        dv[c] += pij * Gs[ii * D + c];
                        dk[c] += ds * Qs[ii * D + c];
                    }
                }
            }
            barrier();
        }
        if (valid) {
            for (uint c = 0; c < D; c++) {
                dqkv[kb + c] = dk[c];
                dqkv[kb + Dm + c] = dv[c];
            }
        }
    }
}
