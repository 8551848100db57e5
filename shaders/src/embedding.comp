#version 450
#extension GL_GOOGLE_include_directive : require
// embedding: table (K, D) rows gathered by int32 ids.
//   GATHER: out[i, :] = table[ids[i], :]; an id outside [0, K) gives a zero
//           row (the CPU panics; validate ids on the host).
//   BWD:    dtable[id, :] += g[i, :] for every i (tensor.EmbeddingBackward)
//           without atomics: the workgroup of the first occurrence of an id
//           adds the rows of all its occurrences in increasing i, the order
//           of the CPU loop; later occurrences do nothing.
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 1) const uint MODE = 0;
const uint GATHER = 0, BWD = 1;

layout(std430, binding = 0) buffer Table { float table[]; };
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) buffer Rows { float rows[]; }; // out, or g

layout(push_constant) uniform Params {
    uint nIds, K, D;
} p;

shared uint match[gl_WorkGroupSize.x];

void main() {
    uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    if (MODE == GATHER) {
        uint total = p.nIds * p.D;
        uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y * wg;
        uint first = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * wg + t;
        for (uint e = first; e < total; e += stride) {
            uint i = e / p.D, c = e % p.D;
            int id = ids[i];
            rows[e] = id >= 0 && uint(id) < p.K ? table[uint(id) * p.D + c] : 0.0;
        }
        return;
    }
    uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y;
    for (uint i = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; i < p.nIds; i += groups) {
        int id = ids[i];
        if (id < 0 || uint(id) >= p.K) continue;
        float earlier = 0.0, later = 0.0;
        for (uint j = t; j < p.nIds; j += wg) {
            if (ids[j] == id) {
                if (j < i) earlier = 1.0;
                if (j > i) later = 1.0;
            }
        }
        earlier = wgSum(earlier);
        later = wgSum(later);
        if (earlier > 0.0) continue; // not the first occurrence
        uint dst = uint(id) * p.D;
        if (later == 0.0) { // the only occurrence
            for (uint c = t; c < p.D; c += wg) table[dst + c] += rows[i * p.D + c];
            continue;
        }
        for (uint c0 = 0; c0 < p.D; c0 += wg) {
            uint c = c0 + t;
            float acc = c < p.D ? table[dst + c] : 0.0;
            for (uint j0 = i; j0 < p.nIds; j0 += wg) {
                uint j = j0 + t;
                match[t] = j < p.nIds && ids[j] == id ? 1u : 0u;
                barrier();
                if (c < p.D) {
                    for (uint k = 0; k < wg; k++) {
                        if (match[k] != 0) acc += rows[(j0 + k) * p.D + c];
                    }
                }
                barrier();
            }
            if (c < p.D) table[dst + c] = acc;
        }
    }
}
