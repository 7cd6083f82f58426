"""Render benchmarks/results/*.json into the README's benchmark table (between the two marker comments).

Each result file is written by one benchmark script and holds a list of rows:
{"figure": str, "value": float, "unit": str, "target": str, "device": str, "command": str, "date": str}.
Usage: python benchmarks/render_table.py   (from the repository root)
"""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def rows() -> list[dict]:
    "All result rows, sorted by file name then order of appearance."
    out = []
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        if path.name.endswith(".curve.json"):  # a benchmark's curve behind its rows (e.g. PSNR over time), no rows
            continue
        for row in json.loads(path.read_text()):
            out.append(dict(row, source=path.name))
    return out


def fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def table(results: list[dict]) -> str:
    lines = ["| figure | value | target | device | reproduce |", "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['figure']} | {fmt(r['value'])} {r['unit']} | {r.get('target', '')} | {r['device']} | "
                     f"`{r['command']}` |")
    return "\n".join(lines)


def main():
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START not in text or END not in text: raise SystemExit(f"{readme}: benchmark markers missing")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{table(rows())}\n{END}{tail}")
    print(f"{readme}: {len(rows())} benchmark rows")


if __name__ == "__main__":
    main()
