"""Regenerates the bundled offline sample from CC BY / CC BY-SA data in ../shared/data (see ATTRIBUTION.md).

    python factory/corpus/sample/build_sample.py /work/shared/data

Deterministic (seeded). Never reads the non-commercial folders (basse-news, bhtc-argia, ud-basque-bdt).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent


def _jsonl(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _write_jsonl(path: Path, rows: list[dict], extra_lines: list[bytes] = ()) -> None:
    with path.open("wb") as handle:
        for row in rows:
            handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
        for raw in extra_lines:
            handle.write(raw)


def _edit(text: str, rng: random.Random, fraction: float) -> str:
    words = text.split()
    for i in rng.sample(range(len(words)), max(1, int(len(words) * fraction))):
        words[i] = words[i][::-1] if len(words[i]) > 3 else words[i] + "a"
    return " ".join(words)


def main(data: Path) -> None:
    rng = random.Random(20240101)
    flores = _jsonl(data / "flores200-devtest" / "docs.jsonl")
    ntrex = _jsonl(data / "ntrex128" / "docs.jsonl")
    qnli = _jsonl(data / "qnli-eu" / "train.jsonl")
    tatoeba = _jsonl(data / "tatoeba-eus" / "eus-spa.jsonl")

    # Wikipedia: QNLIeu's Wikipedia sentences, 5 distinct sentences a document (CC BY-SA 4.0)
    sentences = list(dict.fromkeys(r["sentence"] for r in qnli))[:400]
    wiki = [
        {
            "id": f"wiki-{i:03d}",
            "text": " ".join(sentences[j : j + 5]),
            "url": f"https://eu.wikipedia.org/?sample={i}",
        }
        for i, j in enumerate(range(0, len(sentences), 5))
    ]
    wiki.append(
        {
            "id": "wiki-redirect",
            "text": "BIRZUZENDU Euskara",
            "url": "https://eu.wikipedia.org/?sample=redirect",
        }
    )
    _write_jsonl(OUT / "wikipedia.jsonl", wiki)

    # EusCrawl: NTREX-128 Basque news documents (CC BY-SA 4.0)
    news = [
        {
            "id": d["id"],
            "text": d["eus"],
            "url": f"https://news.example/{d['doc_id']}",
            "date": "2019",
        }
        for d in ntrex[:30]
    ]
    _write_jsonl(OUT / "euscrawl.jsonl", news)

    # Egunkaria: FLORES-200 Basque documents as blank-line separated blocks (CC BY-SA 4.0)
    egunkaria = OUT / "egunkaria"
    egunkaria.mkdir(exist_ok=True)
    blocks = [d["eus"] for d in flores[:60]]
    (egunkaria / "articles.txt").write_text("\n\n".join(blocks) + "\n", encoding="utf-8")

    # Booktegi: Tatoeba Basque sentences, 40 a file, one document per file (CC BY 2.0 FR)
    booktegi = OUT / "booktegi"
    booktegi.mkdir(exist_ok=True)
    eus = [r["src"] for r in tatoeba]
    for n, i in enumerate(range(0, 240, 40)):
        (booktegi / f"book{n:02d}.txt").write_text(
            "\n".join(eus[i : i + 40]) + "\n", encoding="utf-8"
        )

    # CulturaX (parquet): copies and near copies of preferred sources, plus unique FLORES documents
    rows = []
    for i, d in enumerate(news[:6]):  # exact copies under another URL: EusCrawl keeps them
        rows.append({"id": f"cx-copy-{i}", "text": d["text"], "url": f"https://mirror.example/{i}"})
    for i, d in enumerate(news[6:14]):  # 5-10% of the words edited: near duplicates
        rows.append(
            {
                "id": f"cx-near-{i}",
                "text": _edit(d["text"], rng, 0.05 + 0.05 * (i % 2)),
                "url": f"https://mirror2.example/{i}",
            }
        )
    for i, d in enumerate(wiki[:3]):  # same URL as Wikipedia
        rows.append({"id": f"cx-url-{i}", "text": d["text"] + " Gehiago.", "url": d["url"]})
    for i, d in enumerate(flores[60:100]):
        rows.append({"id": f"cx-{i:03d}", "text": d["eus"], "url": f"https://cx.example/{i}"})
    pq.write_table(pa.Table.from_pylist(rows), OUT / "culturax.parquet")

    # Colossal OSCAR: web noise, each failing one Table 7 rule, plus foreign documents (CC BY-SA 4.0 FLORES)
    oscar = []
    for i, d in enumerate(flores[100:115]):
        oscar.append(
            {"id": f"oscar-es-{i}", "text": d["spa"], "url": f"https://oscar.example/es/{i}"}
        )
    for i, d in enumerate(flores[115:125]):
        oscar.append(
            {"id": f"oscar-eu-{i}", "text": d["eus"], "url": f"https://oscar.example/eu/{i}"}
        )
    noise = {
        "lorem": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Euskara hizkuntza ederra da eta asko maite dugu.",
        "brace": "function kaixo() { return 'Kaixo mundua'; } Hau kode zati bat da euskarazko orri batean.",
        "hashes": "#euskara #kultura #berriak #gaur #bihar #donostia #bilbo #gasteiz Irakurri gure azken albisteak",
        "bullets": "- Etxea\n- Kalea\n- Herria\n- Mendia\n- Itsasoa\n- Ibaia",
        "ellipsis": "Irakurri gehiago...\nIkusi bideoa...\nEntzun irratia...\nJarraitu irakurtzen...",
        "short": "Kaixo zer",
        "digits": "2023 2024 2025 12.5 33.1 45/67 89-90 12:30 13:45 14:00 15:15 16:30 Euskara",
        "longwords": "Euskalerriratzekoarenganakoarekin elkartasunezkoenetarikoarengatik nazioartekotzearenganakoarekin",
    }
    for name, text in noise.items():
        oscar.append(
            {"id": f"oscar-{name}", "text": text, "url": f"https://oscar.example/noise/{name}"}
        )
    _write_jsonl(OUT / "oscar.jsonl", oscar)

    # HPLT (low quality): documents mixing paragraphs of preferred sources with new ones; bad input lines
    hplt = []
    for i in range(20):
        own = ntrex[30 + i]["eus"]
        borrowed = news[i % len(news)]["text"].split("\n")[0]
        hplt.append(
            {
                "id": f"hplt-{i:02d}",
                "text": f"{borrowed}\n{own}\n{borrowed}",
                "url": f"https://hplt.example/{i}",
            }
        )
    hplt.append({"id": "hplt-empty", "text": "   \n  ", "url": "https://hplt.example/empty"})
    hplt.append(
        {
            "id": "hplt-mojibake",
            "text": "EuskarÃ¡ hizkuntzÃ¡ da eta hemen Ã© testu apurtua dago, baina ftfy konpontzen du.",
            "url": "https://hplt.example/moji",
        }
    )
    bad = [
        b'{"id": "hplt-broken", "text": "unterminated\n',
        b'{"id": "hplt-bytes", "text": "Kaixo \xff\xfe mundua"}\n',
        b'["not", "a", "record"]\n',
        b'{"id": "hplt-notext", "body": "testurik ez"}\n',
    ]
    _write_jsonl(OUT / "hplt.jsonl", hplt, bad)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
