"""Writing a peer script's table into perf/RESULTS.md: between `<!-- NAME:begin -->` and
`<!-- NAME:end -->`, replaced where they are, else added at the top (before the first other table or
the machine's description), written atomically."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def put_section(name, table):
    path = os.path.join(ROOT, "perf", "RESULTS.md")
    text = open(path).read()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = f"{begin}\n{table}{end}"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        firsts = [text.index(m) for m in ("<!-- ", "## Machine and settings") if m in text]
        at = min(firsts)
        text = text[:at] + block + "\n\n" + text[at:]
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
