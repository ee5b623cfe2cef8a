#!/usr/bin/env python3
"""Top frames of a JFR recording: self time (top frame) and inclusive, from jdk.ExecutionSample;
allocation by top frame from jdk.ObjectAllocationSample."""
import json, subprocess, sys, collections
f = sys.argv[1]; n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
def events(kind):
    out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "64", "--events", kind, f], capture_output=True, text=True).stdout
    return json.loads(out)["recording"]["events"]
def name(fr):
    m = fr["method"]; return m["type"]["name"].split(".")[-1] + "." + m["name"]
ex = events("jdk.ExecutionSample")
selfc = collections.Counter(); incl = collections.Counter()
for e in ex:
    frames = e["values"]["stackTrace"]["frames"] if e["values"]["stackTrace"] else []
    if not frames: continue
    selfc[name(frames[0])] += 1
    for s in set(name(x) for x in frames): incl[s] += 1
tot = max(1, len(ex))
print(f"# {len(ex)} execution samples\n## self (top frame)")
for k, v in selfc.most_common(n): print(f"{100*v/tot:5.1f}% {k}")
print("## inclusive")
for k, v in incl.most_common(n): print(f"{100*v/tot:5.1f}% {k}")
al = events("jdk.ObjectAllocationSample")
w = collections.Counter(); tw = 0
for e in al:
    v = e["values"]; wt = v.get("weight", 0); tw += wt
    frames = v["stackTrace"]["frames"] if v["stackTrace"] else []
    cls = v["objectClass"]["name"] if v.get("objectClass") else "?"
    site = name(frames[0]) if frames else "?"
    caller = name(frames[1]) if len(frames) > 1 else ""
    w[f"{cls} @ {site} < {caller}"] += wt
print(f"## allocation (sampled weight {tw/1048576:.0f} MiB)")
for k, v in w.most_common(n): print(f"{100*v/max(1,tw):5.1f}% {k}")
