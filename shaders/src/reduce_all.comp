#version 450
#extension GL_GOOGLE_include_directive : require
// reduce_all: the sum (or the sum of squares) of a whole buffer
// (tensor.SumAll, the squared norm inside nn.GradNorm) in two passes: pass 1
// writes one partial sum per workgroup, pass 2 (one workgroup) adds the
// partials in order and stores (or accumulates) the result in out[0].
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };

layout(push_constant) uniform Params {
    uint n;
    uint square;     // square the inputs (pass 1 of a sum of squares)
    uint final;      // pass 2: one workgroup writes o[0]
    uint accumulate; // pass 2: o[0] += sum
} p;

void main() {
    uint t = gl_LocalInvocationID.x;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    // Kahan-compensated partial sum per invocation.
    float s = 0.0, comp = 0.0;
    for (uint i = gl_GlobalInvocationID.x; i < p.n; i += stride) {
        float v = x[i];
        if (p.square != 0) v *= v;
        float y = v - comp;
        float tt = s + y;
        comp = (tt - s) - y;
        s = tt;
    }
    s = wgSum(s);
    if (t == 0) {
        if (p.final == 0) o[gl_WorkGroupID.x] = s;
        else o[0] = p.accumulate != 0 ? o[0] + s : s;
    }
}
