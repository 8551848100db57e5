#version 450
// layernorm_dw: partial sums of LayerNorm's weight gradient,
// part[c, j] = sum over the rows r of chunk c of g[r,j] * (x[r,j]-mean[r]) * rstd[r].
// The host then adds the chunks into dw with reduce_to (accumulating), so
// dw += sum over rows as tensor.LayerNormBackward, in a fixed order.
layout(local_size_x = 256) in;

layout(std430, binding = 0) writeonly buffer Part { float part[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
layout(std430, binding = 3) readonly buffer Mean { float mean[]; };
layout(std430, binding = 4) readonly buffer Rstd { float rstd[]; };

layout(push_constant) uniform Params {
    uint rows, n, chunk; // chunk: rows per chunk; gl_WorkGroupID.y is the chunk
} p;

void main() {
    uint j = gl_GlobalInvocationID.x;
    if (j >= p.n) return;
    uint r0 = gl_WorkGroupID.y * p.chunk, r1 = min(r0 + p.chunk, p.rows);
    float s = 0.0;
    for (uint r = r0; r < r1; r++) s += g[r * p.n + j] * (x[r * p.n + j] - mean[r]) * rstd[r];
    part[gl_WorkGroupID.y * p.n + j] = s;
}
