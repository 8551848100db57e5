#version 450
#extension GL_GOOGLE_include_directive : require
// argmax: the index of the largest element of each last-axis row, the first
// one on ties (tensor.Argmax), as int32. One workgroup per row.
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { int o[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };

layout(push_constant) uniform Params {
    uint rows, n;
} p;

shared uint bestIdx[gl_WorkGroupSize.x];

void main() {
    uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y;
    for (uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; row < p.rows; row += groups) {
        uint base = row * p.n;
        float bv = NEG_INF;
        uint bi = 0xffffffffu;
        for (uint j = t; j < p.n; j += wg) {
            float v = x[base + j];
            if (bi == 0xffffffffu || v > bv) {
                bv = v;
                bi = j;
            }
        }
        // The maximum value, then the smallest index that holds it.
        float m = wgMax(bi == 0xffffffffu ? NEG_INF : bv);
        bestIdx[t] = bi != 0xffffffffu && bv == m ? bi : 0xffffffffu;
        barrier();
        for (uint s = wg / 2; s > 0; s >>= 1) {
            if (t < s) bestIdx[t] = min(bestIdx[t], bestIdx[t + s]);
            barrier();
        }
        if (t == 0) o[row] = bestIdx[0] == 0xffffffffu ? 0 : int(bestIdx[0]);
        barrier();
    }
}
