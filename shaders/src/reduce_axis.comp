#version 450
#extension GL_GOOGLE_include_directive : require
// reduce_axis: one workgroup per lane of a tensor viewed as (outer, n,
// inner), reducing the n values of the lane (tensor.Sum, Mean, Max,
// LogSumExp over an axis). The invocations stride over the lane and combine
// their partial results with a workgroup reduction.
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 1) const uint OP = 0;
const uint SUM = 0, MEAN = 1, MAX = 2, LSE = 3;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };

layout(push_constant) uniform Params {
    uint outer, n, inner;
} p;

void main() {
    uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint lanes = p.outer * p.inner;
    uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y;
    for (uint lane = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; lane < lanes; lane += groups) {
        uint oo = lane / p.inner, ii = lane % p.inner;
        uint base = oo * p.n * p.inner + ii;
        float r;
        if (OP == SUM || OP == MEAN) {
            float s = 0.0;
            for (uint j = t; j < p.n; j += wg) s += x[base + j * p.inner];
            r = wgSum(s);
            if (OP == MEAN) r /= float(p.n);
        } else {
            float m = NEG_INF;
            for (uint j = t; j < p.n; j += wg) m = max(m, x[base + j * p.inner]);
            m = wgMax(m);
            r = m;
            if (OP == LSE && !isinf(m)) {
                float s = 0.0;
                for (uint j = t; j < p.n; j += wg) s += exp(x[base + j * p.inner] - m);
                r = m + log(wgSum(s));
            }
        }
        if (t == 0) o[lane] = r;
    }
}
