#!/usr/bin/env python3
"""Turns the raw results of bench/run-all (a results directory) into the markdown table.

Every ratio compares figures measured in the same run. Medians throughout; for the upload, the peak
RSS is the largest seen over the repetitions.
"""
import json
import os
import re
import statistics
import sys

results = sys.argv[1] if len(sys.argv) > 1 else "build-bench/results"


def path(name):
    return os.path.join(results, name)


def gbench_medians(name):
    """{benchmark name: median aggregate entry} from a google-benchmark JSON file."""
    try:
        with open(path(name)) as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    out = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") == "median":
            out[b["run_name"].split("/")[0]] = b
    if not out:  # a single repetition has no aggregates: use the runs themselves
        for b in data["benchmarks"]:
            if b.get("run_type") == "iteration":
                out[b["run_name"].split("/")[0]] = b
    return out


def to_ns(entry):
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[entry["time_unit"]]
    return entry["cpu_time"] * scale  # CPU time: steadier than wall time on a shared machine


lines = []
emit = lines.append

# --- 1. request building ----------------------------------------------------------------------------
req = gbench_medians("request.json")
if req:
    emit("### 1. Request building (CPU ns and heap allocations per request, median)")
    emit("")
    emit("| request | aihub | nlohmann/json way | plain appends + reserve | aihub vs nlohmann (target ≥5×) | aihub vs plain | allocs aihub / nlohmann / plain (target ≤2) |")
    emit("|---|---|---|---|---|---|---|")
    for op, label in [("create_batch", "createBatch"), ("upload_part", "uploadMultipartPart"),
                      ("commit_100", "commit, 100 parts")]:
        a, n, p = req[op + "_aihub"], req[op + "_nlohmann"], req[op + "_plain"]
        ta, tn, tp = to_ns(a), to_ns(n), to_ns(p)
        vs = f"{tn / ta:.2f}× faster" if tn >= ta else f"{ta / tn:.2f}× slower"
        vp = f"{tp / ta:.2f}× faster" if tp >= ta else f"{ta / tp:.2f}× slower"
        emit(f"| {label} | {ta:,.0f} ns | {tn:,.0f} ns | {tp:,.0f} ns | {vs} | "
             f"{vp} | {a['allocs']:.0f} / {n['allocs']:.0f} / {p['allocs']:.0f} |")
    emit("")
    emit("aihub three ways (`request_build_bench.cpp`): *aihub* = `build_request(op, validated_settings)` "
         "(what the table above shows), *checked* = `build_request(op, settings)` (re-checks the settings "
         "on every call), *reuse* = `build_request_into()` a request kept from call to call:")
    emit("")
    emit("| request | aihub | checked | reuse | nlohmann | reuse vs nlohmann | allocs aihub / checked / reuse |")
    emit("|---|---|---|---|---|---|---|")
    for op, label in [("create_batch", "createBatch"), ("upload_part", "uploadMultipartPart"),
                      ("commit_100", "commit, 100 parts")]:
        a, c, r, n = (req[op + "_aihub"], req[op + "_aihub_checked"], req[op + "_aihub_reuse"],
                      req[op + "_nlohmann"])
        emit(f"| {label} | {to_ns(a):,.0f} ns | {to_ns(c):,.0f} ns | {to_ns(r):,.0f} ns | "
             f"{to_ns(n):,.0f} ns | {to_ns(n) / to_ns(r):.2f}× faster | "
             f"{a['allocs']:.0f} / {c['allocs']:.0f} / {r['allocs']:.0f} |")
    emit("")

# --- 2. decoding ------------------------------------------------------------------------------------
dec = gbench_medians("decode.json")
if dec:
    emit("### 2. Response decoding into the typed results (MB/s = 10^6 bytes/s, median)")
    emit("")
    competitors = ["aihub", "nlohmann", "nlohmann_adapter", "rapidjson", "rapidjson_strict", "simdjson"]
    emit("| payload | " + " | ".join(competitors) + " | aihub / RapidJSON (target >1) | simdjson / aihub (target ≤2) |")
    emit("|---|" + "---|" * (len(competitors) + 2))
    for payload, label in [("files", "listFiles, 10,000 nodes"), ("results", "run results 200×3×40")]:
        row = []
        for c in competitors:
            b = dec.get(f"{payload}_{c}")
            row.append(f"{b['bytes_per_second'] / 1e6:,.0f} MB/s, {b['allocs'] / 1e3:.1f}k allocs" if b else "n/a")
        a = dec[f"{payload}_aihub"]["bytes_per_second"]
        r = dec[f"{payload}_rapidjson"]["bytes_per_second"]
        s = dec[f"{payload}_simdjson"]["bytes_per_second"]
        size = dec[f"{payload}_aihub"]["payload_bytes"] / 1e6
        emit(f"| {label} ({size:.2f} MB) | " + " | ".join(row) + f" | {a / r:.2f}× | {s / a:.2f}× |")
    emit("")

# --- 3. upload --------------------------------------------------------------------------------------
try:
    with open(path("upload.txt")) as f:
        runs = [dict(kv.split("=", 1) for kv in line.split()) for line in f if line.strip()]
except FileNotFoundError:
    runs = None
if runs:
    groups = {}
    for r in runs:
        key = (r["sink"], r["file"], r["mode"], int(r["parallel"]))
        groups.setdefault(key, []).append(r)

    def med(key, field="gbps"):
        g = groups.get(key)
        return statistics.median(float(r[field]) for r in g) if g else None

    def peak(key):
        g = groups.get(key)
        return max(int(r["peak_rss_kib"]) for r in g) / 1024 if g else None

    emit("### 3. Multipart upload over loopback (10 MiB parts, sink: bench/upload_sink, median GB/s = 10^9 B/s)")
    emit("")
    emit("| file | parallel | raw libcurl | aihub client | aihub / raw (target ≥90%) | client CPU s/GiB raw / aihub | aihub CPU overhead | peak RSS raw / aihub (target ≤24 MiB) | runs |")
    emit("|---|---|---|---|---|---|---|---|---|")
    for file in ["1g", "4g"]:
        for p in [1, 4]:
            raw, hub = ("upload_sink", file, "raw", p), ("upload_sink", file, "aihub", p)
            if raw not in groups or hub not in groups:
                continue
            cr, ch = med(raw, "cpu_s_per_gib"), med(hub, "cpu_s_per_gib")
            emit(f"| {file.upper().replace('G', ' GiB')} | {p} | {med(raw):.2f} GB/s | {med(hub):.2f} GB/s | "
                 f"{100 * med(hub) / med(raw):.0f}% | {cr:.3f} / {ch:.3f} | {100 * (ch / cr - 1):+.0f}% | "
                 f"{peak(raw):.1f} / {peak(hub):.1f} MiB | {len(groups[hub])} |")
    for file in ["1g", "4g"]:
        h1, h4 = ("upload_sink", file, "aihub", 1), ("upload_sink", file, "aihub", 4)
        r1, r4 = ("upload_sink", file, "raw", 1), ("upload_sink", file, "raw", 4)
        if h1 in groups and h4 in groups:
            emit("")
            emit(f"Parallel 4 over 1 part at a time, {file.upper().replace('G', ' GiB')}: aihub {med(h4) / med(h1):.2f}×, "
                 f"raw libcurl {med(r4) / med(r1):.2f}×.")
    sim_raw, sim_hub = ("simulator", "256m", "raw", 1), ("simulator", "256m", "aihub", 1)
    if sim_raw in groups:
        emit("")
        emit(f"Simulator (--discard-content, Release) as the sink, 256 MiB, 1 part at a time: raw libcurl "
             f"{med(sim_raw):.3f} GB/s, aihub {med(sim_hub):.3f} GB/s (the simulator is the bottleneck).")
    emit("")

# --- 4. compile time --------------------------------------------------------------------------------
try:
    with open(path("compile.txt")) as f:
        ct = {}
        for line in f:
            name, opt, wall, cpu = line.split()
            ct[(name, opt)] = (float(wall), float(cpu))
except FileNotFoundError:
    ct = None
if ct:
    emit("### 4. Compile time of one translation unit (g++ -std=c++20 -c; median wall / median CPU = user+sys)")
    emit("")
    emit("| TU | -O0 wall | -O0 CPU | -O2 wall | -O2 CPU |")
    emit("|---|---|---|---|---|")
    labels = {"umbrella": "`#include <aihub/aihub.hpp>`",
              "std_only": "only the standard headers aihub.hpp includes",
              "nlohmann": "`#include <nlohmann/json.hpp>`",
              "use_aihub": "footprint program, aihub (build + decode createBatch)",
              "use_nlohmann": "footprint program, nlohmann/json"}
    for name, label in labels.items():
        if (name, "O0") in ct:
            (w0, c0), (w2, c2) = ct[(name, "O0")], ct[(name, "O2")]
            emit(f"| {label} | {w0:.2f} s | {c0:.2f} s | {w2:.2f} s | {c2:.2f} s |")
    emit("")
    for opt in ["O0", "O2"]:
        u, n, s = ct[("umbrella", opt)], ct[("nlohmann", opt)], ct[("std_only", opt)]
        emit(f"-{opt}: umbrella / nlohmann = {u[0] / n[0]:.2f} wall, {u[1] / n[1]:.2f} CPU (target ≤0.50); "
             f"std-only / nlohmann = {s[1] / n[1]:.2f} CPU; aihub's own code = {u[1] - s[1]:.2f} s CPU.")
        emit("")

# --- 5. footprint -----------------------------------------------------------------------------------
try:
    with open(path("footprint.txt")) as f:
        fp = dict((l.split()[0], int(l.split()[1])) for l in f if l.strip())
except FileNotFoundError:
    fp = None
if fp:
    emit("### 5. Footprint (stripped, -Os, libstdc++ linked dynamically)")
    emit("")
    emit("| program | size | over the baseline |")
    emit("|---|---|---|")
    base = fp.get("baseline", 0)
    for name, label in [("aihub", "aihub: build + decode one createBatch"),
                        ("nlohmann", "nlohmann/json equivalent"),
                        ("baseline", "baseline (std::string + printf)")]:
        if name in fp:
            emit(f"| {label} | {fp[name] / 1024:.1f} KiB | {(fp[name] - base) / 1024:.1f} KiB |")
    emit("")

try:
    with open(path("load.txt")) as f:
        emit("Load: " + " / ".join(l.strip() for l in f))
except FileNotFoundError:
    pass

print("\n".join(lines))
