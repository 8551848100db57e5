#version 450
// attention_bwd_dq: first half of tensor.AttentionBackward. Workgroup (query
// block, b*H + h), one query row per invocation: computes
// Di = rowsum(dO * O) (stored for attention_bwd_dkv) and
// dQ_i = sum_j dS_ij K_j with P_ij = exp(scale q_i.k_j - lse_i) and
// dS_ij = scale * P_ij * (dO_i.v_j - Di), recomputing the scores tile by tile.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint D = 64;
layout(constant_id = 2) const uint BC = 32;
layout(constant_id = 3) const bool CAUSAL = false;

layout(std430, binding = 0) readonly buffer QKV { float qkv[]; };
layout(std430, binding = 1) readonly buffer Out { float o[]; };
layout(std430, binding = 2) readonly buffer G { float g[]; };
layout(std430, binding = 3) readonly buffer LSE { float lse[]; };
layout(std430, binding = 4) writeonly buffer Delta { float delta[]; };
layout(std430, binding = 5) writeonly buffer DQKV { float dqkv[]; };

layout(push_constant) uniform Params {
    uint B, L, H;
    float scale;
} p;

shared float Ks[BC * D];
shared float Vs[BC * D];

void main() {
    uint t = gl_LocalInvocationID.x, BR = gl_WorkGroupSize.x;
    uint Dm = p.H * D, W = 3 * Dm;
    for (uint bh = gl_WorkGroupID.y; bh < p.B * p.H; bh += gl_NumWorkGroups.y) {
        uint b = bh / p.H, hh = bh % p.H;
        uint i0 = gl_WorkGroupID.x * BR;
        uint i = i0 + t;
        bool valid = i < p.L;
        uint qb = (b * p.L + i) * W + hh * D;
        uint gb = (b * p.L + i) * Dm + hh * D;
        float q[D], go[D], dq[D];
        float di = 0.0;
        for (uint c = 0; c < D; c++) {
            q[c] = valid ? qkv[qb + c] : 0.0;
            go[c] = valid ? g[gb + c] : 0.0;
            di += valid ? go[c] * o[gb + c] : 0.0;
            dq[c] = 0.0;
        }
        float li = valid ? lse[bh * p.L + i] : 0.0;
        if (valid) delta[bh * p.L + i] = di;
        uint kEnd = CAUSAL ? min(p.L, i0 + BR) : p.L;
        for (uint j0 = 0; j0 < kEnd; j0 += BC) {
            for (uint e = t; e < BC * D; e += BR) {
                uint j = j0 + e / D, c = e % D;
                uint kb = (b * p.L + j) * W + Dm + hh * D + c;
                Ks[e] = j < p.L ? qkv[kb] : 0.0;
                Vs[e] = j < p.L ? qkv[kb + Dm] : 0.0;
            }
            barrier();
            if (valid) {
                for (uint jj = 0; jj < BC; jj++) {
                    uint j = j0 + jj;
                    if (j >= p.L || (CAUSAL && j > i)) break;
                    float s = 0.0, dp = 0.0;
                    for (uint c = 0; c < D; c++) {
                        s += q[c] * Ks[jj * D + c];
                        dp += go[c] * Vs[jj * D + c];
                    }
                    float pij = exp(s * p.scale - li);
                    float ds = p.scale * pij * (dp - di);
                    for (uint c = 0; c < D; c++) dq[c] += ds * Ks[jj * D + c];
                }
            }
            barrier();
        }
        if (valid) {
            for (uint c = 0; c < D; c++) dqkv[qb + c] = dq[c];
        }
    }
}
