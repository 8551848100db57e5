#version 450
// transpose: swaps the last two dimensions of a batch of r x c matrices
// (tensor.Transpose) through a padded 32x32 shared tile so that both the
// reads and the writes are coalesced.
layout(local_size_x = 32, local_size_y = 8) in;

layout(std430, binding = 0) writeonly buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };

layout(push_constant) uniform Params {
    uint batch, r, c;
} p;

shared float tile[32][33];

void main() {
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint c0 = gl_WorkGroupID.x * 32, r0 = gl_WorkGroupID.y * 32;
    for (uint b = gl_WorkGroupID.z; b < p.batch; b += gl_NumWorkGroups.z) {
        uint base = b * p.r * p.c;
        for (uint k = ty; k < 32; k += 8) {
            uint i = r0 + k, j = c0 + tx;
            if (i < p.r && j < p.c) tile[k][tx] = x[base + i * p.c + j];
        }
        barrier();
        for (uint k = ty; k < 32; k += 8) {
            uint j = c0 + k, i = r0 + tx; // out is c x r
            if (i < p.r && j < p.c) o[base + j * p.r + i] = tile[tx][k];
        }
        barrier();
    }
}
