#version 450
#extension GL_GOOGLE_include_directive : require
// layernorm: one workgroup per last-axis row (the DiT's LayerNorm: weight,
// no bias).
//   FWD: y = (x - mean) * rstd * w, and the row's mean and rstd
//        (tensor.LayerNorm).
//   BWD: dx = rstd * (g*w - mean(g*w) - xhat * mean(g*w*xhat))
//        (the dx of tensor.LayerNormBackward; the weight gradient is
//        layernorm_dw's job).
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
const uint FWD = 0, BWD = 1;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) buffer Mean { float mean[]; };
layout(std430, binding = 3) buffer Rstd { float rstd[]; };
layout(std430, binding = 4) writeonly buffer Y { float y[]; }; // y, or dx
layout(std430, binding = 5) readonly buffer G { float g[]; };

layout(push_constant) uniform Params {
    uint rows, n;
    float eps;
} p;

void main() {
    uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y;
    float fn = float(p.n);
    for (uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; row < p.rows; row += groups) {
        uint base = row * p.n;
        if (MODE == FWD) {
            float s = 0.0;
            for (uint j = t; j < p.n; j += wg) s += x[base + j];
            float mu = wgSum(s) / fn;
            float ss = 0.0;
            for (uint j = t; j < p.n; j += wg) {
                float d = x[base + j] - mu;
                ss += d * d;
            }
            float rs = 1.0 / sqrt(wgSum(ss) / fn + p.eps);
            if (t == 0) {
                mean[row] = mu;
                rstd[row] = rs;
            }
            for (uint j = t; j < p.n; j += wg) y[base + j] = (x[base + j] - mu) * rs * w[j];
        } else {
            float mu = mean[row], rs = rstd[row];
            float a = 0.0, b = 0.0;
            for (uint j = t; j < p.n; j += wg) {
                float dh = g[base + j] * w[j];
                a += dh;
                b += dh * (x[base + j] - mu) * rs;
            }
            a = wgSum(a) / fn;
            b = wgSum(b) / fn;
            for (uint j = t; j < p.n; j += wg) {
                float xh = (x[base + j] - mu) * rs;
                y[base + j] = rs * (g[base + j] * w[j] - a - xh * b);
            }
        }
    }
}
