#version 450
// rotary: rotary position embeddings on the q and k heads of a packed qkv
// tensor (B, L, 3*H*d) laid out [q | k | v] (tensor.Rotary.Apply, the
// "rotate-half" convention). One invocation rotates one (x1[j], x2[j]) pair,
// so out may be qkv itself; with COPY_V the v part is copied too (out is
// then a separate buffer). sign = -1 applies the inverse rotation, the
// backward.
layout(local_size_x = 256) in;

layout(constant_id = 0) const bool COPY_V = true;

layout(std430, binding = 0) buffer Out { float o[]; };
layout(std430, binding = 1) readonly buffer In { float x[]; };
layout(std430, binding = 2) readonly buffer Cos { float cs[]; }; // (maxL, d/2)
layout(std430, binding = 3) readonly buffer Sin { float sn[]; };

layout(push_constant) uniform Params {
    uint rows; // B*L
    uint L, H, d;
    float sign;
} p;

void main() {
    uint h = p.d / 2;
    uint pairs = 2 * p.H * h;            // q and k heads
    uint perRow = pairs + (COPY_V ? p.H * p.d : 0);
    uint W = 3 * p.H * p.d;
    uint total = p.rows * perRow;
    uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint e = gl_GlobalInvocationID.x; e < total; e += stride) {
        uint bl = e / perRow, k = e % perRow;
        uint row = bl * W;
        if (k >= pairs) { // v copy
            uint c = 2 * p.H * p.d + (k - pairs);
            o[row + c] = x[row + c];
            continue;
        }
        uint head = k / h, j = k % h;
        uint pos = bl % p.L;
        float c = cs[pos * h + j], s = p.sign * sn[pos * h + j];
        uint i1 = row + head * p.d + j, i2 = i1 + h;
        float a = x[i1], b = x[i2];
        o[i1] = a * c - b * s;
        o[i2] = b * c + a * s;
    }
}
