#version 450
// adaln: the DiT's adaLN kernels (tensor.Modulate, tensor.GatedAdd and their
// backward) on tensors of shape (B, L, D) and per-sequence vectors (B, D)
// broadcast over the L positions of their sequence.
//   MODULATE:  o = a * (1 + c[b]) + v[b]   a = x, v = shift, c = scale
//   GATED_ADD: o = a + c[b] * v            a = h, v = y (B, L, D), c = gate
//   SCALE1P:   o = a * (1 + c[b])          a = g, c = scale (dx of Modulate)
//   SCALE:     o = a * c[b]                a = g, c = gate (dy of GatedAdd)
//   SUM_L:     o[b, j] = sum_l a[b, l, j]              (dshift)
//   DOT_L:     o[b, j] = sum_l a[b, l, j] * v[b, l, j] (dscale, dgate)
// The sums run over l in increasing order, the order of the CPU loops.
layout(local_size_x = 256) in;

layout(constant_id = 0) const uint MODE = 0;
const uint MODULATE = 0, GATED_ADD = 1, SCALE1P = 2, SCALE = 3, SUM_L = 4, DOT_L = 5;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer A { float a[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };
layout(std430, binding = 3) readonly buffer C { float c[]; };

layout(push_constant) uniform Params {
    uint B, L, D;
} p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (MODE == SUM_L || MODE == DOT_L) {
        uint total = p.B * p.D;
        for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
            uint b = e / p.D, j = e % p.D;
            float s = 0.0;
            for (uint l = 0; l < p.L; l++) {
                uint i = (b * p.L + l) * p.D + j;
                s += MODE == DOT_L ? a[i] * v[i] : a[i];
            }
            o[e] = s;
        }
        return;
    }
    uint total = p.B * p.L * p.D;
    for (uint i = gl_GlobalInvocationID.x; i < total; i += stride) {
        uint bj = (i / (p.L * p.D)) * p.D + i % p.D;
        float x = a[i];
        switch (MODE) {
        case MODULATE: o[i] = x * (1.0 + c[bj]) + v[bj]; break;
        case GATED_ADD: o[i] = x + c[bj] * v[i]; break;
        case SCALE1P: o[i] = x * (1.0 + c[bj]); break;
        case SCALE: o[i] = x * c[bj]; break;
        }
    }
}
