#version 450
#extension GL_GOOGLE_include_directive : require
// softmax: one workgroup per last-axis row.
//   SOFTMAX:     y = exp(x - lse(x))                  (tensor.Softmax)
//   LOG_SOFTMAX: y = x - lse(x)                       (tensor.LogSoftmax)
//   SOFTMAX_BWD: dx = y * (g - sum(g*y))              (tensor.SoftmaxBackward)
//   LOG_SOFTMAX_BWD: dx = g - exp(y) * sum(g)         (tensor.LogSoftmaxBackward)
// For the forward ops binding 2 is unused (the host binds x there again).
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 1) const uint OP = 0;
const uint SOFTMAX = 0, LOG_SOFTMAX = 1, SOFTMAX_BWD = 2, LOG_SOFTMAX_BWD = 3;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; }; // x, or y for the backward
layout(std430, binding = 2) readonly buffer G { float g[]; };

layout(push_constant) uniform Params {
    uint rows, n;
} p;

void main() {
    uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y;
    for (uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; row < p.rows; row += groups) {
        uint base = row * p.n;
        if (OP == SOFTMAX || OP == LOG_SOFTMAX) {
            float m = NEG_INF;
            for (uint j = t; j < p.n; j += wg) m = max(m, x[base + j]);
            m = wgMax(m);
            float s = 0.0;
            for (uint j = t; j < p.n; j += wg) s += exp(x[base + j] - m);
            float lse = isinf(m) ? m : m + log(wgSum(s));
            for (uint j = t; j < p.n; j += wg) {
                float v = x[base + j] - lse;
                o[base + j] = OP == SOFTMAX ? exp(v) : v;
            }
        } else if (OP == SOFTMAX_BWD) {
            float s = 0.0;
            for (uint j = t; j < p.n; j += wg) s += g[base + j] * x[base + j];
            s = wgSum(s);
            for (uint j = t; j < p.n; j += wg) o[base + j] = x[base + j] * (g[base + j] - s);
        } else {
            float s = 0.0;
            for (uint j = t; j < p.n; j += wg) s += g[base + j];
            s = wgSum(s);
            for (uint j = t; j < p.n; j += wg) o[base + j] = g[base + j] - exp(x[base + j]) * s;
        }
    }
}
