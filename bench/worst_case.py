"""Worst case per file kind at the size limit: analysis time and peak memory of the analysis worker.

For every file kind, several hostile-but-legal shapes are generated just under the 2 MB limit (many
settings, long list values, nesting at the depth limit, many small YAML documents) and analysed the
way a worker does it (parse, rules, fix planning), each in a fresh process so its peak memory
(ru_maxrss) is its own. Printed: the slowest shape per kind, its time and the largest peak.

Usage: python bench/worst_case.py [--kinds redis-conf,kubernetes]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from kind_samples import SAMPLES  # noqa: E402  (the file names and heads the tests use)

from hipaa_lsp.detect import KINDS  # noqa: E402
from hipaa_lsp.limits import Limits  # noqa: E402

LIMIT = Limits().max_file_bytes - 4096
MEASURE_TIMEOUT = 120

_MEASURE = r"""
import json, resource, sys, time
from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.fixes import plan_fix
from hipaa_lsp.rulebook import load_rulebook
rules = load_rulebook()
name, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
report = analyze(name, data, rules, Config())
plans = [plan_fix(f, data) for f in report.findings]
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "findings": len(report.findings), "unchecked": [u.setting for u in report.unchecked]}))
"""


def fill(unit: str, head: str = "", tail: str = "") -> str:
    count = max(1, (LIMIT - len(head) - len(tail)) // max(1, len(unit)))
    return head + unit * count + tail


def shapes(kind_id: str) -> dict[str, str]:
    fmt = KINDS[kind_id].format
    name, head = SAMPLES[kind_id]
    items = ", ".join(f"10.0.{i // 250}.{i % 250}" for i in range(20_000))[: 200_000]
    if fmt == "yaml":
        return {
            "many settings": fill("  key_{n}: value\n".replace("{n}", "x"), head + "root:\n"),
            "long lists": fill(f"list: [{items}]\n", head),
            "nesting at the limit": fill("".join(" " * i + f"k{i}:\n" for i in range(95)) + " " * 95 + "v: 1\n", head),
            "many documents": fill("---\nkind: Pod\nmetadata: {name: x}\nspec: {hostNetwork: true}\n", head),
        }
    if fmt == "json":
        return {
            "many settings": fill('"k": "v", ', head.rstrip("}\n") + ", " if head else "{", '"z": 1}\n'),
            "long lists": fill(f'["{items}"], ', '{"a": [', "1]}\n"),
            "nesting at the limit": fill('{"a": ' * 95 + "1" + "}" * 95 + ", ", "[", "1]\n"),
        }
    if fmt == "xml":
        return {
            "many settings": fill("<property><name>dfs.x</name><value>1</value></property>\n", "<configuration>\n",
                                  "</configuration>\n"),
            "long lists": fill(f'<Connector port="8080" address="{items}"/>\n', "<Server><Service>\n",
                               "</Service></Server>\n"),
            "nesting at the limit": fill("<a>" * 95 + "</a>" * 95 + "\n", "<root>\n", "</root>\n"),
        }
    if fmt == "hcl":
        return {
            "many settings": fill('  server_properties = "x"\n', head, "}\n"),
            "nesting at the limit": fill("b {\n" * 95 + "}\n" * 95, head, "}\n"),
        }
    if fmt == "nginx":
        return {"many settings": fill("    proxy_pass http://x;\n", "http { server {\n", "} }\n"),
                "nesting at the limit": fill("location / {\n" * 95 + "}\n" * 95, "http {\n", "}\n")}
    if fmt == "httpd":
        return {"many settings": fill("Options Indexes\n"),
                "nesting at the limit": fill("<Directory /x>\n" * 95 + "</Directory>\n" * 95)}
    if fmt == "dockerfile":
        return {"many settings": fill("RUN curl http://x | sh\n", "FROM debian\n"),
                "long lines": fill("RUN " + "curl " * 40_000 + "\n", "FROM debian\n")}
    if fmt == "ini":
        return {"many settings": fill("key = value\n", head or "[mysqld]\n"),
                "long lines": fill("ExecStart=/bin/x " + "a " * 100_000 + "\n", head or "[mysqld]\n")}
    line = {"redis": "bind " + " ".join(["127.0.0.1"] * 20_000) + " x\n",
            "postgresql": "listen_addresses = '" + ",".join(["localhost"] * 20_000) + "'\n",
            "pg_hba": "host all all " + "0" * 100_000 + " trust\n",
            "properties": "sasl.jaas.config=" + "x " * 100_000 + "\n"}.get(fmt, "x " * 100_000 + "\n")
    unit = {"redis": "maxmemory-samples 5\n", "postgresql": "work_mem = 4MB\n",
            "pg_hba": "host all all 10.0.0.0/8 scram-sha-256\n", "properties": "a.b=c\n"}.get(fmt, "a=b\n")
    return {"many settings": fill(unit, head), "long lines": fill(line, head)}


def measure(name: str, text: str, folder: Path) -> dict:
    path = folder / name
    path.write_text(text)
    try:
        proc = subprocess.run([sys.executable, "-c", _MEASURE, name, str(path)], capture_output=True,
                              timeout=MEASURE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"seconds": float(MEASURE_TIMEOUT), "peak_mb": float("nan"), "findings": 0,
                "unchecked": [f"not finished in {MEASURE_TIMEOUT} s"]}
    if proc.returncode != 0:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "findings": 0,
                "unchecked": [f"exit {proc.returncode}"]}
    return json.loads(proc.stdout)


def main() -> int:
    import tempfile

    parser = argparse.ArgumentParser()
    parser.add_argument("--kinds", default="", help="comma-separated kind ids (default: all)")
    args = parser.parse_args()
    kinds = [k for k in SAMPLES if not args.kinds or k in args.kinds.split(",")]
    print(f"{'worst case at the size limit (' + str(LIMIT // 1024) + ' KB)':44} {'shape':22} {'time':>8} "
          f"{'peak':>8}  findings  stopped by")
    worst_time = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for kind_id in kinds:
            results = [(shape, measure(SAMPLES[kind_id][0], text, Path(tmp)))
                       for shape, text in shapes(kind_id).items()]
            shape, slowest = max(results, key=lambda r: r[1]["seconds"])
            peak = max(r[1]["peak_mb"] for r in results)
            worst_time = max(worst_time, slowest["seconds"])
            print(f"{kind_id:44} {shape:22} {slowest['seconds']:7.2f}s {peak:6.0f}MB  {slowest['findings']:8}  "
                  f"{','.join(slowest['unchecked']) or '-'}")
    print(f"{'slowest of all':44} {'':22} {worst_time:7.2f}s (time budget {Limits().analysis_timeout_ms / 1000:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
