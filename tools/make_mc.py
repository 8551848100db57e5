#!/usr/bin/env python3
"""Builds testdata/mc_shakespeare.jsonl, a small multiple-choice set in the
lm-eval convention ({"context", "choices", "answer"}) from Tiny Shakespeare:
each task is 64 characters of the held-out last 10% of the corpus, its true
16-character continuation, and three 16-character passages from elsewhere in
that part, in a seeded random order.

    /usr/bin/python3 tools/make_mc.py [../shared/data/tinyshakespeare.txt]
"""
import json
import os
import random
import sys


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "tinyshakespeare.txt")
    text = open(path, encoding="utf-8").read()
    held = text[len(text) * 9 // 10:]
    rng = random.Random(20261206)
    out = os.path.join(os.path.dirname(__file__), "..", "testdata", "mc_shakespeare.jsonl")
    with open(out, "w", encoding="utf-8") as fh:
        for _ in range(40):
            p = rng.randrange(0, len(held) - 80)
            context, right = held[p:p + 64], held[p + 64:p + 80]
            choices = [right]
            while len(choices) < 4:
                q = rng.randrange(0, len(held) - 16)
                if abs(q - (p + 64)) > 64:
                    choices.append(held[q:q + 16])
            rng.shuffle(choices)
            fh.write(json.dumps({"context": context, "choices": choices, "answer": choices.index(right)}) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
