#version 450
// reduce_to: sums g over the dimensions that were broadcast (tensor.ReduceTo,
// and the column sums of tensor.LinearBackward and LayerNorm's weight
// gradient). The host collapses g's shape to at most 4 dimensions, each
// either kept (it survives in out) or reduced. One invocation owns one output
// element and adds its inputs in increasing index order (deterministic).
// With ACCUMULATE the sum is added to out instead of replacing it.
layout(local_size_x = 256) in;

layout(constant_id = 0) const bool ACCUMULATE = false;

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float g[]; };

layout(push_constant) uniform Params {
    uvec4 dims;    // g's collapsed shape, innermost last
    uvec4 strides; // g's element strides along dims
    uvec4 reduced; // 1 where the dimension is summed away
    uint nOut;     // product of the kept dimensions
    uint nRed;     // product of the reduced dimensions
} p;

void main() {
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint oi = gl_GlobalInvocationID.x; oi < p.nOut; oi += stride) {
        uint base = 0, r = oi;
        for (int d = 3; d >= 0; d--) {
            if (p.reduced[d] == 0) {
                base += (r % p.dims[d]) * p.strides[d];
                r /= p.dims[d];
            }
        }
        float s = ACCUMULATE ? o[oi] : 0.0;
        for (uint j = 0; j < p.nRed; j++) {
            uint off = 0, q = j;
            for (int d = 3; d >= 0; d--) {
                if (p.reduced[d] != 0) {
                    off += (q % p.dims[d]) * p.strides[d];
                    q /= p.dims[d];
                }
            }
            s += g[base + off];
        }
        o[oi] = s;
    }
}
