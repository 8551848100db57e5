#version 450
#extension GL_GOOGLE_include_directive : require
// cross_entropy: the mean over rows of -log softmax(logits)[target], rows
// with a negative target ignored (tensor.CrossEntropy), and its gradient
// (tensor.CrossEntropyBackward).
//   ROWS:  one workgroup per row writes rowloss[2r] = lse - x[t] (or 0) and
//          rowloss[2r+1] = 1 (or 0 when ignored).
//   FINAL: one workgroup sums them: stats = [mean loss, count].
//   BWD:   one workgroup per row: dx = g/count * (softmax(x) - onehot(t)),
//          zero rows for ignored targets or count 0; count is read from
//          stats, so the backward needs no host round trip.
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
const uint ROWS = 0, FINAL = 1, BWD = 2;

layout(std430, binding = 0) readonly buffer Logits { float x[]; };
layout(std430, binding = 1) readonly buffer Targets { int tgt[]; };
layout(std430, binding = 2) buffer RowLoss { float rowloss[]; };
layout(std430, binding = 3) buffer Stats { float stats[]; };
layout(std430, binding = 4) writeonly buffer DX { float dx[]; };

layout(push_constant) uniform Params {
    uint rows, n;
    float g;
} p;

float rowLSE(uint base) {
    uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    float m = NEG_INF;
    for (uint j = t; j < p.n; j += wg) m = max(m, x[base + j]);
    m = wgMax(m);
    if (isinf(m)) return m;
    float s = 0.0;
    for (uint j = t; j < p.n; j += wg) s += exp(x[base + j] - m);
    return m + log(wgSum(s));
}

void main() {
    uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    if (MODE == FINAL) {
        float s = 0.0, c = 0.0;
        for (uint r = t; r < p.rows; r += wg) {
            s += rowloss[2 * r];
            c += rowloss[2 * r + 1];
        }
        s = wgSum(s);
        c = wgSum(c);
        if (t == 0) {
            stats[0] = c > 0.0 ? s / c : 0.0;
            stats[1] = c;
        }
        return;
    }
    uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y;
    for (uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; row < p.rows; row += groups) {
        uint base = row * p.n;
        int target = tgt[row];
        bool valid = target >= 0 && uint(target) < p.n;
        if (MODE == ROWS) {
            float lse = valid ? rowLSE(base) : 0.0;
            if (t == 0) {
                rowloss[2 * row] = valid ? lse - x[base + uint(target)] : 0.0;
                rowloss[2 * row + 1] = valid ? 1.0 : 0.0;
            }
            continue;
        }
        float count = stats[1];
        if (!valid || count == 0.0) {
            for (uint j = t; j < p.n; j += wg) dx[base + j] = 0.0;
            continue;
        }
        float scale = p.g / count;
        float lse = rowLSE(base);
        for (uint j = t; j < p.n; j += wg) {
            float d = scale * exp(x[base + j] - lse);
            if (j == uint(target)) d -= scale;
            dx[base + j] = d;
        }
    }
}
