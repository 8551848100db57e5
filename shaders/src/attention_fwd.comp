#version 450
// attention_fwd: fused multi-head scaled dot-product attention from a packed
// qkv tensor (B, L, 3*H*D) laid out [q | k | v] (tensor.Attention). Writes
// the heads concatenated, out (B, L, H*D), and the per-row log-sum-exp of the
// scaled (and masked) scores, lse (B, H, L).
//
// Workgroup (query block, b*H + h): each invocation owns one query row and
// keeps q, the output accumulator and the running max / sum in registers;
// keys and values stream through shared memory BC rows at a time with the
// online softmax, so no L x L score matrix exists at all.
layout(local_size_x_id = 0) in;             // BR query rows per workgroup
layout(constant_id = 1) const uint D = 64;  // head dimension
layout(constant_id = 2) const uint BC = 32; // keys per shared tile
layout(constant_id = 3) const bool CAUSAL = false;

layout(std430, binding = 0) readonly buffer QKV { float qkv[]; };
layout(std430, binding = 1) writeonly buffer Out { float o[]; };
layout(std430, binding = 2) writeonly buffer LSE { float lse[]; };

layout(push_constant) uniform Params {
    uint B, L, H;
    float scale;
} p;

shared float Ks[BC * D];
shared float Vs[BC * D];

#define NEG_INF uintBitsToFloat(0xff800000u)

void main() {
    uint t = gl_LocalInvocationID.x, BR = gl_WorkGroupSize.x;
    uint Dm = p.H * D, W = 3 * Dm;
    for (uint bh = gl_WorkGroupID.y; bh < p.B * p.H; bh += gl_NumWorkGroups.y) {
        uint b = bh / p.H, hh = bh % p.H;
        uint i0 = gl_WorkGroupID.x * BR;
        uint i = i0 + t;
        bool valid = i < p.L;
        uint qb = (b * p.L + i) * W + hh * D;
        float q[D], acc[D];
        for (uint c = 0; c < D; c++) {
            q[c] = valid ? qkv[qb + c] : 0.0;
            acc[c] = 0.0;
        }
        float m = NEG_INF, l = 0.0;
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
                float sc[BC];
                float mt = NEG_INF;
                for (uint jj = 0; jj < BC; jj++) {
                    uint j = j0 + jj;
                    float s = NEG_INF;
                    if (j < p.L && (!CAUSAL || j <= i)) {
                        s = 0.0;
                        for (uint c = 0; c < D; c++) s += q[c] * Ks[jj * D + c];
                        s *= p.scale;
                    }
                    sc[jj] = s;
                    mt = max(mt, s);
                }
                if (mt > NEG_INF) {
                    float mn = max(m, mt);
                    float corr = exp(m - mn);
                    l *= corr;
                    for (uint c = 0; c < D; c++) acc[c] *= corr;
                    for (uint jj = 0; jj < BC; jj++) {
                        float pj = exp(sc[jj] - mn);
                        if (pj == 0.0) continue;
                        l += pj;
                        for (uint c = 0; c < D; c++) acc[c] += pj * Vs[jj * D + c];
                    }
                    m = mn;
                }
            }
            barrier();
        }
        if (valid) {
            lse[bh * p.L + i] = m + log(l);
            uint ob = (b * p.L + i) * Dm + hh * D;
            for (uint c = 0; c < D; c++) o[ob + c] = acc[c] / l;
        }
    }
}
