#version 450
// axis: per-lane kernels of a tensor viewed as (outer, n, inner).
//   EXPAND:  out[o,j,i] = scale * g[o,i]     (tensor.ExpandAxis)
//   MAX_BWD: dx[o,j,i] = g[o,i] at the first maximum of x's lane, 0 elsewhere
//            (tensor.MaxBackward)
layout(local_size_x = 256) in;

layout(constant_id = 0) const uint OP = 0;
const uint EXPAND = 0, MAX_BWD = 1;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };

layout(push_constant) uniform Params {
    uint outer, n, inner;
    float scale;
} p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (OP == EXPAND) {
        uint total = p.outer * p.n * p.inner;
        for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
            uint ii = e % p.inner, oo = e / (p.n * p.inner);
            o[e] = p.scale * g[oo * p.inner + ii];
        }
        return;
    }
    uint lanes = p.outer * p.inner;
    for (uint lane = gl_GlobalInvocationID.x; lane < lanes; lane += stride) {
        uint oo = lane / p.inner, ii = lane % p.inner;
        uint base = oo * p.n * p.inner + ii;
        uint best = 0;
        for (uint j = 1; j < p.n; j++) {
            if (x[base + j * p.inner] > x[base + best * p.inner]) best = j;
        }
        for (uint j = 0; j < p.n; j++) o[base + j * p.inner] = j == best ? g[lane] : 0.0;
    }
}
