#version 450
// gather_last: one index per last-axis row.
//   FWD: out[r] = t[r, idx[r]] (tensor.GatherLast; an index outside [0, n)
//        gives 0).
//   BWD: dx[r, j] = g[r] where j == idx[r], else 0 (tensor.GatherLastBackward).
layout(local_size_x = 256) in;

layout(constant_id = 0) const uint MODE = 0;
const uint FWD = 0, BWD = 1;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; }; // t, or g
layout(std430, binding = 2) readonly buffer Idx { int idx[]; };

layout(push_constant) uniform Params {
    uint rows, n;
} p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    if (MODE == FWD) {
        for (uint r = gl_GlobalInvocationID.x; r < p.rows; r += stride) {
            int j = idx[r];
            o[r] = j >= 0 && uint(j) < p.n ? x[r * p.n + uint(j)] : 0.0;
        }
        return;
    }
    uint total = p.rows * p.n;
    for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
        uint r = e / p.n, j = e % p.n;
        o[e] = int(j) == idx[r] ? x[r] : 0.0;
    }
}
