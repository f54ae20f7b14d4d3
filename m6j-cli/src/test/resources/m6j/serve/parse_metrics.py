"""Reads Prometheus text (format 0.0.4) on stdin with prometheus_client's parser and prints what it read as JSON.

Used by m6j.serve.MetricsTest: a reader that is not ours decides whether /metrics is well-formed (it raises on a
malformed line, exit status 1). Values are strings so that NaN and infinities survive JSON.
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def number(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return repr(v)


families = []
for f in text_string_to_metric_families(sys.stdin.read()):
    families.append({"name": f.name, "type": f.type, "help": f.documentation,
                     "samples": [{"name": s.name, "labels": s.labels, "value": number(s.value)} for s in f.samples]})
json.dump(families, sys.stdout)
