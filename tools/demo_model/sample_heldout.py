#!/usr/bin/env python3
"""The first N held-out examples of each kind, for the test that runs them (tests/data/demo).

Usage: sample_heldout.py HELDOUT.jsonl N OUT.jsonl
"""
import collections
import json
import sys


def main():
    path, n, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    seen = collections.Counter()
    with open(out_path, "w", encoding="utf-8") as out:
        for line in open(path, encoding="utf-8"):
            kind = json.loads(line)["kind"]
            if seen[kind] < n:
                seen[kind] += 1
                out.write(line)


if __name__ == "__main__":
    main()
